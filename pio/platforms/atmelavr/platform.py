"""Offline Atmel AVR dev-platform: the builder lives in builder/main.py."""

from platformio.public import PlatformBase


class AtmelavrPlatform(PlatformBase):
    pass
