"""One sampler, one pipeline: the bare firmware and the Arduino library see the same beats.

Both sample the ECG and classify beats with lib/tbsampler (the Timer1 + ADC
interrupt sampler and the per-sample pipeline). The same record (60 s of
MIT-BIH 208 with 3 s of lead-off) is played on the simulated ADC pin of the
bare firmware (stream mode, BEAT frames) and of the HeartMonitor sketch (text
lines); every beat both report within the recording must agree in time, RR,
heart rate, verdict and score: 0 differences. Both are built in temporary
copies (tests/streamkit.py), on the Mega and on the Uno.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import streamkit
from projkit import ROOT
from tinybeat.device import board_run, feed, protocol
from tinybeat.device.vboard import vboard_path
from tinybeat.targets.boards import load_board

VBOARD = vboard_path(ROOT)
RECORD = ROOT / "data" / "records" / "208_5min"
BEAT_RE = re.compile(r"^beat t=(\d+)\.(\d{3})s rr=(\d+)ms hr=(\d+)bpm (?:(normal|ABNORMAL) score=(-?\d+)|\((.*)\))$")
pytestmark = [
    pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing"),
    pytest.mark.skipif(not VBOARD.is_file(), reason=f"{VBOARD} is missing (./run.sh setup)"),
    pytest.mark.skipif(not streamkit.PIO.is_file(), reason=f"{streamkit.PIO} is missing"),
    pytest.mark.skipif(not (ROOT / "model" / "trained.json").is_file(), reason="no saved model"),
    pytest.mark.skipif(not Path(str(RECORD) + ".dat").is_file(), reason=f"{RECORD}.dat is missing"),
    pytest.mark.skipif(not (ROOT / ".platformio" / "packages" / "framework-arduino-avr").is_dir(),
                       reason="framework-arduino-avr is not installed (./run.sh setup)"),
]


def ms(n: int, fs: int) -> int:
    """Samples to milliseconds as the library rounds them (TinyBeatSensor.cpp samples_to_ms)."""
    return (n // fs) * 1000 + ((n % fs) * 1000 + fs // 2) // fs


def as_seen(b: protocol.BeatEvent, fs: int) -> tuple:
    """A bare-firmware BEAT in the units of a HeartMonitor line: (ms, rr ms, bpm, verdict, score)."""
    if b.klass == protocol.CLASS_NONE:
        return ms(b.r_sample, fs), ms(b.rr_pre, fs), (b.hr_x10 + 5) // 10, None, None
    return ms(b.r_sample, fs), ms(b.rr_pre, fs), (b.hr_x10 + 5) // 10, b.klass, b.score


def parse_line(m: re.Match) -> tuple:
    verdict = None if m.group(5) is None else int(m.group(5) == "ABNORMAL")
    score = None if m.group(6) is None else int(m.group(6))
    return int(m.group(1)) * 1000 + int(m.group(2)), int(m.group(3)), int(m.group(4)), verdict, score


@pytest.mark.parametrize("board_id", ["megaatmega2560", "uno"])
def test_bare_firmware_and_heart_monitor_report_the_same_beats(board_id: str, tmp_path: Path) -> None:
    board = load_board(ROOT, board_id)
    bare = streamkit.build_firmware(tmp_path / "bare", env=board_id)
    sketch_env = "megaatmega2560-arduino-monitor" if board_id == "megaatmega2560" else "uno-arduino-monitor"
    monitor = streamkit.build_firmware(tmp_path / "monitor", env=sketch_env, board_id=board_id)
    sig = feed.load_signal(RECORD, 0, 60, lead_off_s=(30, 33))

    run = board_run.stream_vboard(VBOARD, bare, board.mcu, board.f_cpu, sig)
    adc = tmp_path / "adc.bin"
    adc.write_bytes(feed.adc_file_bytes(sig))
    out = subprocess.run([str(VBOARD), "--mcu", board.mcu, "--freq", str(board.f_cpu), "--timeout", "300",
                          "--adc-file", str(adc), "--adc-rate", str(sig.fs), "--adc-tail-s", "3", str(monitor)],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [m for m in (BEAT_RE.match(ln.strip()) for ln in out.stdout.splitlines()) if m]

    fs = sig.fs
    firmware = [as_seen(b, fs) for b in run.beats if b.r_sample < sig.n]
    arduino = [parse_line(m) for m in lines if parse_line(m)[0] < ms(sig.n, fs)]
    n = min(len(firmware), len(arduino))
    assert n >= 60, (len(firmware), len(arduino))
    # a beat is reported about one RR + 0.4 s after its R peak: the last ones may fall in the tail,
    # which the two runs play for different times; every beat both reported must agree
    assert abs(len(firmware) - len(arduino)) <= 2, (len(firmware), len(arduino))
    differences = [(i, f, a) for i, (f, a) in enumerate(zip(firmware[:n], arduino[:n])) if f != a]
    assert differences == [], differences[:5]
    assert any(v is not None and v[3] is not None for v in firmware)
    assert run.final.missed == 0 and not any("samples lost" in ln for ln in out.stdout.splitlines())
    assert np.sum([f[3] == 1 for f in firmware]) > 0  # 208 has abnormal beats: verdicts are compared, not only times
