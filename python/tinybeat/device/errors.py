"""The device layer's one error type."""


class DeviceError(RuntimeError):
    """The board answered with an error, garbage or not at all, or could not be reached; one line."""
