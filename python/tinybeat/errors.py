"""Error types shared by every layer: each message names the file or key and the reason."""


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""
