"""The offline AVR platform fails a build that does not fit the board, with a clear message."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
PIO = PROJECT / ".venv" / "bin" / "pio"
CORE = PROJECT / ".platformio"

pytestmark = pytest.mark.skipif(
    not (PIO.exists() and (CORE / "platforms" / "atmelavr").is_dir() and shutil.which("avr-gcc")),
    reason="needs ./run.sh setup (pio, the offline atmelavr platform and avr-gcc)",
)

MAIN_C = """
#include <avr/pgmspace.h>
#include <stdint.h>
%s
int main(void) { volatile uint8_t s = 0; for (;;) { s += %s; } }
"""


def build(tmp_path: Path, declaration: str, use: str, board: str = "uno", extra: str = "") -> subprocess.CompletedProcess:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "main.c").write_text(MAIN_C % (declaration, use))
    (tmp_path / "platformio.ini").write_text(
        f"[platformio]\ncore_dir = {CORE}\n\n[env:{board}]\nplatform = atmelavr\nboard = {board}\n{extra}"
    )
    return subprocess.run([str(PIO), "run", "-d", str(tmp_path)], capture_output=True, text=True, timeout=300)


def test_small_program_builds_and_reports_sizes(tmp_path: Path) -> None:
    run = build(tmp_path, "static const uint8_t table[16] PROGMEM = {1};", "pgm_read_byte(&table[s & 15])")
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    assert "RAM:" in out and "Flash:" in out and "from 32256 bytes" in out
    assert (tmp_path / ".pio" / "build" / "uno" / "firmware.hex").is_file()


# The linker knows the chip (256 KB flash on the ATmega2560), the board manifest
# knows the bootloader takes 8 KB of it: only the platform's check stops this build.
FLASH_FILLER = "\n".join(
    f"static const uint8_t table{i}[31800] PROGMEM = {{{i}}};" for i in range(8)
)  # 254,400 bytes


def test_flash_overflow_fails_with_a_clear_message(tmp_path: Path) -> None:
    use = " + ".join(f"pgm_read_byte(&table{i}[s])" for i in range(8))
    run = build(tmp_path, FLASH_FILLER, use, board="megaatmega2560")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "program size" in out and "greater than maximum allowed (253952 bytes)" in out


def test_ram_overflow_fails_with_a_clear_message(tmp_path: Path) -> None:
    # a board declaring less RAM than the chip: the linker accepts 5000 bytes, the check does not
    run = build(tmp_path, "static volatile uint8_t buffer[5000];", "buffer[s * 11u]", board="megaatmega2560",
                extra="board_upload.maximum_ram_size = 4096\n")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "static RAM size" in out and "maximum_ram_size (4096 bytes)" in out


def test_gross_ram_overflow_is_stopped_by_the_linker(tmp_path: Path) -> None:
    run = build(tmp_path, "static volatile uint8_t buffer[3000];", "buffer[s * 11u]", board="uno")
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "is not within region `data'" in out
