"""The virtual board: firmware.elf on a simulated MCU (avr-vboard on simavr).

`VirtualBoard` puts UART0 on a pty for the host tool; `simulate` puts it in
the user's terminal (`pio run -t simulate`, `tinybeat simulate`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from tinybeat.targets.boards import Board


def vboard_path(project: Path) -> Path:
    """avr-vboard in the project's core (.platformio), else in the core of the repository holding this package."""
    rel = Path(".platformio") / "packages" / "tool-simavr" / "bin" / "avr-vboard"
    own = Path(project) / rel
    if own.is_file():
        return own
    repo = Path(__file__).resolve().parents[3] / rel
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


def _printable(data: bytes) -> str:
    """Board output for a terminal: text as is, binary protocol bytes as \\xNN escapes."""
    out = []
    for b in data:
        if b in (0x0A, 0x0D, 0x09) or 0x20 <= b < 0x7F:
            out.append(chr(b))
        else:
            out.append(f"\\x{b:02x}")
    return "".join(out)


@dataclass(frozen=True)
class AdcPlayback:
    """A recording for the simulated ADC pin (avr-vboard --adc-file).

    path: little-endian uint16 mV per sample, 0xFFFF where the leads are off
    (stream.adc_file_bytes writes it); rate_hz: its samples per second;
    channel: the ADC channel (0 = A0); realtime: played at the wall clock's pace
    (False: as fast as the simulation runs).
    """

    path: Path
    rate_hz: int
    channel: int = 0
    realtime: bool = True

    def args(self) -> list[str]:
        """avr-vboard's options: the board stops (status 0) 3 s after the last sample."""
        return (["--adc-file", str(self.path), "--adc-rate", str(self.rate_hz), "--adc-channel", str(self.channel),
                 "--adc-tail-s", "3"] + (["--adc-realtime"] if self.realtime else []))


def simulate(project: Path, elf: Path, board: Board, seconds: float = 0.0,
             stdin: IO[str] | None = None, stdout: IO[str] | None = None, quiet_after_eof_s: float = 1.0,
             adc: AdcPlayback | None = None, raw: bool = False) -> int:
    """Run `elf` on the virtual board with its serial port (UART0) in this terminal.

    The board boots only once its output is connected here, so the banner is
    never lost. Each line typed (read from `stdin`) is sent to the board with a
    newline; the board's output is written to `stdout` as it comes (bytes that
    are not text, e.g. protocol frames, as \\xNN). Stops on Ctrl-C, on end of
    input (Ctrl-D) when stdin is a terminal, after `seconds` (0 = no limit), or
    when the firmware stops. When stdin is not a terminal (a pipe or a file),
    end of input stops the run once the board has answered the last line and
    then been quiet for `quiet_after_eof_s` seconds (at most 30 s after the
    end of input), so `tinybeat beat | tinybeat simulate ...` prints the
    verdict and returns. With `adc` the recording plays on the ADC pin (as an ECG
    module would) and the run ends 3 s after its last sample, whatever the input
    does. raw: bytes pass unchanged both ways (protocol frames from a pipe in, the
    board's bytes to stdout's binary buffer; the framing text goes to stderr).
    Returns 0, or avr-vboard's status when the firmware crashed (2)
    or could not be loaded (1).
    """
    import select
    import threading

    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    exe = vboard_path(project)
    if not exe.is_file():
        raise FileNotFoundError(f"{exe} is missing: run ./run.sh setup")
    if not Path(elf).is_file():
        raise FileNotFoundError(f"{elf} is missing: build it with `pio run`")
    interactive = stdin.isatty() and not raw
    text_out = sys.stderr if raw else stdout
    text_out.write(
        f"Simulated {board.name}: {board.mcu} at {board.f_cpu / 1e6:g} MHz running {elf}\n"
        "Its serial port (115200 baud) is this terminal: type a line and Enter sends it.\n"
        + (f"Its ADC pin A{adc.channel} plays {adc.path.name} at {adc.rate_hz} Hz"
           f"{' in real time' if adc.realtime else ' as fast as the simulation runs'}.\n" if adc else "")
        + ("Quit: Ctrl-D (or Ctrl-C).\n" if interactive else "")
        + "-" * 72 + "\n")
    text_out.flush()
    proc = subprocess.Popen(
        [str(exe), "--mcu", board.mcu, "--freq", str(board.f_cpu), "--timeout", "0", *(adc.args() if adc else []),
         str(elf)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True,
    )
    last_output = [0.0]
    sent_at = time.monotonic()

    def pump() -> None:
        assert proc.stdout is not None
        while True:
            data = os.read(proc.stdout.fileno(), 4096)
            if not data:
                return
            last_output[0] = time.monotonic()
            if raw:
                stdout.buffer.write(data)
            else:
                stdout.write(_printable(data))
            stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    start = time.monotonic()
    eof_at: float | None = None
    reason = ""
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if seconds and now - start >= seconds:
                reason = f"stopped after {seconds:g} s"
                break
            if eof_at is not None and adc is not None:
                time.sleep(0.05)  # the recording decides when the run ends
                continue
            if eof_at is not None:
                answered = last_output[0] > sent_at and now - last_output[0] >= quiet_after_eof_s
                if answered or now - eof_at >= 30:
                    reason = "end of input" if answered else "end of input; no answer within 30 s"
                    break
                time.sleep(0.05)
                continue
            if not interactive and (now - start < 3 and (not last_output[0] or now - last_output[0] < 0.3)):
                time.sleep(0.05)  # piped input waits for the banner (at most 3 s), as a person would
                continue
            if not select.select([stdin], [], [], 0.1)[0]:
                continue
            if raw:  # bytes as they come, no line editing
                chunk = os.read(stdin.fileno(), 4096)
                if not chunk:
                    eof_at = time.monotonic()
                    continue
                assert proc.stdin is not None
                try:
                    proc.stdin.write(chunk)
                    proc.stdin.flush()
                    sent_at = time.monotonic()
                except BrokenPipeError:
                    break
                continue
            line = stdin.readline()
            if not line:
                if interactive:
                    reason = "Ctrl-D"
                    break
                eof_at = time.monotonic()
                continue
            assert proc.stdin is not None
            try:
                proc.stdin.write(line.rstrip("\r\n").encode("ascii", "replace") + b"\n")
                proc.stdin.flush()
                sent_at = time.monotonic()
            except BrokenPipeError:
                break
    except KeyboardInterrupt:
        reason = "Ctrl-C"
    finally:
        status = proc.poll()
        if status is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            status = 0
        reader.join(timeout=2)
        err = proc.stderr.read().decode(errors="replace").strip() if proc.stderr else ""
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
    stdout.flush()
    text_out.write("\n" + "-" * 72 + "\n")
    if err and status:
        text_out.write(err + "\n")
    if not reason and adc is not None and status == 0:
        reason = "the recording has played"
    text_out.write(f"simulation ended ({reason or f'the firmware stopped, avr-vboard status {status}'})\n")
    text_out.flush()
    return 0 if status in (0, 3) else status
