"""Byte links to a board: a serial port (real board, or the virtual board's pty) or an avr-vboard process.

Both offer ``write(data)``, ``read(timeout_s) -> bytes`` (empty on time-out),
``closed()`` and ``close()``; :class:`tinybeat.device.session.Session` speaks
the protocol over either.
"""

from __future__ import annotations

import os
import select
import subprocess
import time

from tinybeat.device.errors import DeviceError


class SerialLink:
    """A serial port (pyserial); ``serial`` is the open port."""

    def __init__(self, port: str, baud: int = 115200):
        import serial

        try:
            self.serial = serial.serial_for_url(port, baudrate=baud, timeout=0)
        except (serial.SerialException, ValueError) as exc:
            raise DeviceError(f"{port}: cannot open the serial port ({exc})") from None

    @property
    def name(self) -> str:
        return str(self.serial.port)

    def write(self, data: bytes) -> None:
        self.serial.write(data)

    def read(self, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.serial.read(self.serial.in_waiting or 1)
            if data or time.monotonic() >= deadline:
                return data
            time.sleep(0.002)

    def closed(self) -> bool:
        return False

    def close(self) -> None:
        self.serial.close()


class ProcessLink:
    """The board's UART0 as the stdin/stdout of an avr-vboard process."""

    name = "the virtual board"

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        os.set_blocking(proc.stdout.fileno(), False)

    def write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise DeviceError(f"the virtual board stopped (exit {self.proc.poll()}): {exc}") from None

    def read(self, timeout_s: float) -> bytes:
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return b""

    def closed(self) -> bool:
        return self.proc.poll() is not None

    def close(self) -> None:
        """The process is the caller's to stop."""
