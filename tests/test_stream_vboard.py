"""The virtual board's analog input: ADC conversion, lead-off pins, playback timing and the load report.

A tiny test firmware (tests/data/adc_sweep.c) converts ADC0 every 1 ms and
writes each code and PINB to UART0; the vboard plays a pin-voltage sweep at
1 kHz. simavr's conversion must equal tinybeat.frontend.analog.adc_code for every mV
from 0 to 5000, which is what the stream tests' Python reference assumes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from projkit import ROOT
from tinybeat.frontend import analog
from tinybeat.device.vboard import vboard_path

VBOARD = vboard_path(ROOT)
pytestmark = [
    pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing"),
    pytest.mark.skipif(not VBOARD.is_file(), reason=f"{VBOARD} is missing (./run.sh setup)"),
]


@pytest.fixture(scope="module")
def sweep_elf(tmp_path_factory) -> Path:
    elf = tmp_path_factory.mktemp("sweep") / "adc_sweep.elf"
    subprocess.run(["avr-gcc", "-mmcu=atmega2560", "-DF_CPU=16000000UL", "-Os", "-o", str(elf),
                    str(ROOT / "tests" / "data" / "adc_sweep.c")], check=True)
    return elf


def _play(elf: Path, tmp: Path, mv: np.ndarray, *extra: str) -> tuple[np.ndarray, np.ndarray, dict, int]:
    adc = tmp / "adc.bin"
    adc.write_bytes(np.asarray(mv, dtype="<u2").tobytes())
    load = tmp / "load.json"
    run = subprocess.run([str(VBOARD), "--adc-file", str(adc), "--adc-rate", "1000", "--adc-tail-s", "0.0105",
                          "--load-report", str(load), "--timeout", "30", *extra, str(elf)],
                         stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    out = np.frombuffer(run.stdout[: len(run.stdout) // 3 * 3], dtype=np.uint8).reshape(-1, 3)
    codes = out[:, 0].astype(np.int64) | (out[:, 1].astype(np.int64) << 8)
    return codes, out[:, 2], json.loads(load.read_text()), run.returncode


def test_adc_conversion_equals_analog_model(sweep_elf: Path, tmp_path: Path) -> None:
    """Every pin voltage 0..5000 mV converts to analog.adc_code(mV); the playback exits 0 after its tail."""
    mv = np.arange(0, 5001)
    codes, pins, load, rc = _play(sweep_elf, tmp_path, mv)
    assert rc == 0
    assert len(codes) >= len(mv), f"{len(codes)} conversions for {len(mv)} samples"
    np.testing.assert_array_equal(codes[: len(mv)], analog.adc_code(mv))
    assert (pins[: len(mv)] & 0x30 == 0).all(), "LO+/LO- must stay low with the leads on"
    # the test firmware never sleeps: every whole 1-s window is 100 % awake
    assert load["recording"] and load["windows"] == 5
    assert load["worst_awake"] == pytest.approx(1.0) and load["mean_awake"] == pytest.approx(1.0)


def test_lead_off_drives_lo_pins_and_holds_the_pin(sweep_elf: Path, tmp_path: Path) -> None:
    """0xFFFF = lead-off: LO+ (D10 = PB4) and LO- (D11 = PB5) go high, the pin keeps its last voltage."""
    mv = np.array([1000, 2000, 0xFFFF, 0xFFFF, 3000, 0xFFFF, 4000])
    codes, pins, _, rc = _play(sweep_elf, tmp_path, mv)
    assert rc == 0
    want_codes = analog.adc_code(np.array([1000, 2000, 2000, 2000, 3000, 3000, 4000]))
    np.testing.assert_array_equal(codes[:7], want_codes)
    np.testing.assert_array_equal(pins[:7] & 0x30, [0, 0, 0x30, 0x30, 0, 0x30, 0])
    # after the last sample the pin holds it until the board stops
    assert (codes[7:15] == want_codes[-1]).all()


def test_other_lead_off_pins_and_channel_errors(sweep_elf: Path, tmp_path: Path) -> None:
    """--lo-pins moves the lead-off pins; bad options fail with one line and status 1."""
    codes, pins, _, rc = _play(sweep_elf, tmp_path, np.array([500, 0xFFFF, 500]), "--lo-pins", "B0,B1")
    assert rc == 0 and list(pins[:3] & 0x03) == [0, 3, 0]
    for bad in (["--lo-pins", "Z9,B1"], ["--adc-channel", "16"]):
        run = subprocess.run([str(VBOARD), "--adc-file", "/dev/null", "--adc-rate", "360", *bad, str(sweep_elf)],
                             capture_output=True, text=True, timeout=30)
        assert run.returncode == 1 and run.stderr.strip(), bad
    odd = tmp_path / "odd.bin"
    odd.write_bytes(b"\x01\x02\x03")
    run = subprocess.run([str(VBOARD), "--adc-file", str(odd), "--adc-rate", "360", str(sweep_elf)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 1 and "3 bytes" in run.stderr
