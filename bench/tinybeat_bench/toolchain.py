"""avr-gcc, avr-size/avr-nm and the simulated board, for one board of the project.

The MCU and clock always come from the board manifest (`tinybeat.targets.load_target`);
the compiler flags are the firmware's (`tinybeat.device.measure.CFLAGS / LDFLAGS`).
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinybeat.device import measure
from tinybeat.device.vboard import vboard_path
from tinybeat.targets.boards import Board

BENCH_DIR = Path(__file__).resolve().parents[1]
FIRMWARE_DIR = BENCH_DIR / "firmware"

Symbol = tuple[str, int, str]  # (name, size in bytes, avr-nm type letter)


@dataclass
class Build:
    """One link: sizes of the sections (bytes) and the sized symbols, or the errors when it failed."""
    ok: bool
    elf: Path | None
    log: str                                   # compiler/linker errors (warnings dropped) when not ok
    sizes: dict[str, int] = field(default_factory=dict)   # avr-size sections
    symbols: list[Symbol] = field(default_factory=list)   # avr-nm -S
    data_start: int | None = None              # the linker's RAM origin (0x80xxxx: SRAM start + 0x800000)

    @property
    def flash(self) -> int:
        return self.sizes.get(".text", 0) + self.sizes.get(".data", 0)

    @property
    def static_ram(self) -> int:
        return self.sizes.get(".data", 0) + self.sizes.get(".bss", 0)

    def symbol_bytes(self, match: Callable[[str], bool]) -> dict[str, int]:
        """Bytes of the symbols whose name satisfies `match`, by kind (code / flash_data / ram_data / bss)."""
        out = {"code": 0, "flash_data": 0, "ram_data": 0, "bss": 0}
        for name, size, kind in self.symbols:
            if match(name):
                k = kind.lower()
                out[{"t": "code", "d": "ram_data", "b": "bss"}.get(k, "flash_data")] += size
        return out


class Toolchain:
    """avr-gcc and the simulated board for `board` (MCU and F_CPU from its manifest)."""

    def __init__(self, project: Path, board: Board):
        self.project = Path(project)
        self.board = board

    @property
    def flags(self) -> list[str]:
        """The complete avr-gcc flags, as the firmware builds."""
        return [f"-mmcu={self.board.mcu}", f"-DF_CPU={self.board.f_cpu}L", *measure.CFLAGS, *measure.LDFLAGS]

    def compile(self, sources: list[Path], include_dirs: list[Path], elf: Path,
                defines: tuple[str, ...] = ()) -> Build:
        """Compile and link `sources` into `elf`; a failed link is a Build with ok=False, not an exception."""
        cmd = ["avr-gcc", f"-mmcu={self.board.mcu}", f"-DF_CPU={self.board.f_cpu}L", *measure.CFLAGS,
               *[f"-D{d}" for d in defines], *[x for d in include_dirs for x in ("-I", str(d))],
               *map(str, sources), *measure.LDFLAGS, "-o", str(elf)]
        run = subprocess.run(cmd, capture_output=True, text=True)
        if run.returncode != 0:
            errors = [l for l in run.stderr.splitlines() if "error" in l.lower() or "overflow" in l.lower()
                      or "will not fit" in l.lower() or "not within region" in l]
            return Build(False, None, "\n".join(errors[:8]) or run.stderr[-2000:])
        symbols, data_start = nm_symbols(elf)
        return Build(True, elf, "", measure.avr_size(elf), symbols, data_start)

    def run(self, elf: Path, timeout_s: float = 120) -> str:
        """Run `elf` on the simulated board (avr-vboard, this board's MCU and clock); its UART0 output."""
        run = subprocess.run([str(vboard_path(self.project)), "--mcu", self.board.mcu, "--freq",
                              str(self.board.f_cpu), "--timeout", str(timeout_s), str(elf)],
                             capture_output=True, text=True, stdin=subprocess.DEVNULL)
        if run.returncode != 0:
            raise RuntimeError(f"simulated board failed ({run.returncode}): {run.stderr.strip()[-500:]}")
        return run.stdout

    def size_probe(self, header: str, n_inputs: int, extra_sources: tuple[Path, ...] = (),
                   extra_includes: tuple[Path, ...] = (), extra_files: dict[str, str] | None = None) -> Build:
        """Link bench/firmware/size_main.c around `header` (as bench_model.h) and measure it (never run)."""
        with tempfile.TemporaryDirectory(prefix="tinybeat-bench-size-") as name:
            tmp = Path(name)
            (tmp / "bench_model.h").write_text(header)
            for fname, text in (extra_files or {}).items():
                (tmp / fname).write_text(text)
            build = self.compile([FIRMWARE_DIR / "size_main.c", *extra_sources], [tmp, *extra_includes],
                                 tmp / "size.elf", defines=("BENCH_SIZE_PROBE", f"BENCH_N_INPUTS={n_inputs}"))
            build.elf = None  # measured; the file goes with the directory
        return build

    def avr_gcc_version(self) -> str:
        return subprocess.run(["avr-gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[0]


def nm_symbols(elf: Path) -> tuple[list[Symbol], int | None]:
    """Sized symbols of `elf` and the linker's RAM origin `__DATA_REGION_ORIGIN__` (None when absent)."""
    out = subprocess.run(["avr-nm", "-S", "-t", "d", str(elf)], check=True, capture_output=True, text=True).stdout
    syms, data_start = [], None
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 4:
            syms.append((parts[3], int(parts[1]), parts[2]))
        elif len(parts) == 3 and parts[2] == "__DATA_REGION_ORIGIN__":
            data_start = int(parts[0])
    return syms, data_start


def is_ram_overflow(log: str) -> bool:
    return "region `data'" in log


def is_flash_overflow(log: str) -> bool:
    return ("overflow" in log or "will not fit" in log or "region `text'" in log) and not is_ram_overflow(log)


def ram_end_from_log(log: str, data_start: int) -> int | None:
    """Static RAM (bytes) implied by ld's "address 0x80xxxx of ... not within region `data'".

    data_start: the address of .data in the linker's RAM space, from a build that links (Build.data_start).
    """
    found = [int(a, 16) for a in re.findall(r"address 0x(80[0-9a-fA-F]{4})", log)]
    return max(found) - data_start if found else None


def link_failure(build: Build, board: Board, data_start: int | None) -> tuple[str, int | None]:
    """Why a size probe did not link, in one phrase, and the static RAM it needed (bytes) when RAM overflowed."""
    if is_ram_overflow(build.log):
        ram = ram_end_from_log(build.log, data_start) if data_start is not None else None
        return f"RAM: link fails, static RAM {ram} B > {board.ram_bytes} B", ram
    return ("flash: link fails" if is_flash_overflow(build.log) else "build error"), None
