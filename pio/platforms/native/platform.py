"""Offline native (host) dev-platform: the builder lives in builder/main.py."""

from platformio.public import PlatformBase


class NativePlatform(PlatformBase):
    pass
