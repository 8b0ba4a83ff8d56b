"""Checks before `pio run -t upload`: a missing or wrong port fails in seconds, with what to check.

PlatformIO's own path (port auto-detection, then avrdude) can take 30 s to
fail, or never end when avrdude spins on a port with nothing behind it. The
tinybeat pre-build hook runs `check_upload_port` as a pre-action of the
`upload` target (so it works on PlatformIO's official atmelavr platform too)
and bounds avrdude's run time with `timeout` where that exists.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys

ALLOW_ANY_PORT = "TINYBEAT_ALLOW_ANY_PORT"  # set to 1 to upload through a non-USB port (e.g. a UART adapter)
UPLOAD_TIMEOUT_S = 90  # a Mega 2560 flashes 256 KB in about 40 s at 115200 baud
HELP = ("check that the board is plugged in by USB and powered, that the port is the board's "
        "(`pio device list`), and that you may use it (Linux: the `dialout` group)")


class UploadPortError(RuntimeError):
    """The upload port is missing, not a serial device, or cannot be opened."""


def usb_serial_ports() -> list[str]:
    """Serial ports backed by a USB device (where an Arduino shows up), sorted."""
    from serial.tools import list_ports

    return sorted(p.device for p in list_ports.comports() if p.vid is not None)


def check_port(port: str | None) -> str | None:
    """Raise UploadPortError when `port` cannot be a board; returns the port (None: let PlatformIO detect).

    Without a port, at least one USB serial port must exist (POSIX only:
    elsewhere PlatformIO's detection is left alone).
    """
    if not port:
        if os.name != "posix":
            return None
        found = usb_serial_ports()
        if not found:
            raise UploadPortError(f"no board found: no USB serial port is present; {HELP}, "
                                  "or pass --upload-port /dev/ttyACM0")
        return None
    if "://" in port or os.name != "posix":  # pyserial URLs, Windows COM ports: nothing to stat
        return port
    try:
        mode = os.stat(port).st_mode
    except FileNotFoundError:
        raise UploadPortError(f"upload port {port} does not exist; {HELP}") from None
    except OSError as exc:
        raise UploadPortError(f"upload port {port}: {exc.strerror}; {HELP}") from None
    if not stat.S_ISCHR(mode):
        raise UploadPortError(f"upload port {port} is not a serial device; {HELP}")
    try:
        fd = os.open(port, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError as exc:
        raise UploadPortError(f"upload port {port} cannot be opened ({exc.strerror}); {HELP}") from None
    os.close(fd)
    if sys.platform.startswith("linux") and not os.environ.get(ALLOW_ANY_PORT):
        usb = usb_serial_ports()
        if os.path.realpath(port) not in {os.path.realpath(p) for p in usb}:
            found = f"USB serial ports present: {', '.join(usb)}" if usb else "no USB serial port is present"
            raise UploadPortError(
                f"upload port {port} is not a USB serial port (an Arduino appears as /dev/ttyACM* or "
                f"/dev/ttyUSB*; {found}); {HELP}. Set {ALLOW_ANY_PORT}=1 to upload through it anyway")
    return port


def bounded(cmd: str, seconds: int = UPLOAD_TIMEOUT_S) -> str:
    """cmd prefixed with `timeout` (coreutils) when available, so avrdude cannot run forever."""
    if shutil.which("timeout") and not cmd.lstrip().startswith("timeout "):
        return f"timeout --kill-after=5 {seconds} {cmd}"
    return cmd


def pre_upload(target, source, env) -> None:  # SCons action signature
    """SCons pre-action of `upload`: check the port, bound avrdude; exit 1 with one line on a bad port."""
    try:
        check_port(env.subst("$UPLOAD_PORT"))
    except UploadPortError as exc:
        sys.stderr.write(f"\nError: {exc}\n\n")
        env.Exit(1)
    if env.get("UPLOADCMD"):
        env.Replace(UPLOADCMD=bounded(env["UPLOADCMD"]))
