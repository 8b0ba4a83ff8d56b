"""The virtual board: firmware.elf on a simulated MCU (avr-vboard on simavr), UART0 on a pty."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from .boards import Board


def vboard_path(project: Path) -> Path:
    """avr-vboard in the project's core (.platformio), else in the core of the repository holding this package."""
    rel = Path(".platformio") / "packages" / "tool-simavr" / "bin" / "avr-vboard"
    own = Path(project) / rel
    if own.is_file():
        return own
    repo = Path(__file__).resolve().parents[2] / rel
    return repo if repo.is_file() else own


class VirtualBoard:
    """Context manager: starts avr-vboard with UART0 on a pseudo-terminal; `.port` is its path."""

    def __init__(self, project: Path, elf: Path, board: Board, timeout_s: float = 0):
        self.exe = vboard_path(project)
        self.elf = Path(elf)
        self.board = board
        self.timeout_s = timeout_s
        self.port: str | None = None
        self._proc: subprocess.Popen | None = None
        self._tmp: tempfile.TemporaryDirectory | None = None

    def __enter__(self) -> "VirtualBoard":
        if not self.exe.is_file():
            raise FileNotFoundError(f"{self.exe} is missing: run ./run.sh setup")
        if not self.elf.is_file():
            raise FileNotFoundError(f"{self.elf} is missing: build it with `pio run`")
        self._tmp = tempfile.TemporaryDirectory(prefix="tinybeat-vboard-")
        link = Path(self._tmp.name) / "uart0"
        self._proc = subprocess.Popen(
            [str(self.exe), "--mcu", self.board.mcu, "--freq", str(self.board.f_cpu),
             "--timeout", str(self.timeout_s), "--pty", "--pty-link", str(link), str(self.elf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 10
        while not link.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                err = self._proc.stderr.read() if self._proc.stderr else ""
                self.__exit__(None, None, None)
                raise RuntimeError(f"the virtual board did not start: {err.strip()}")
            time.sleep(0.02)
        self.port = os.path.realpath(link)
        return self

    def __exit__(self, *exc) -> None:
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc and self._proc.stderr:
            self._proc.stderr.close()
        if self._tmp:
            self._tmp.cleanup()
