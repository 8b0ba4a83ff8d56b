"""`tinybeat simulate` for every sketch: a recording on the simulated ADC pin, binary frames on the link.

HeartMonitor runs on a record from one command, as it would on a person wearing
the electrodes; `--raw` carries the framed protocol unchanged both ways. The
firmware is built in temporary copies (tests/streamkit.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import streamkit
from projkit import ROOT
from tinybeat.device import protocol
from tinybeat.device.vboard import vboard_path

RECORD = ROOT / "data" / "records" / "208_5min"
pytestmark = [
    pytest.mark.skipif(shutil.which("avr-gcc") is None, reason="avr-gcc missing"),
    pytest.mark.skipif(not vboard_path(ROOT).is_file(), reason=f"{vboard_path(ROOT)} is missing (./run.sh setup)"),
    pytest.mark.skipif(not streamkit.PIO.is_file(), reason=f"{streamkit.PIO} is missing"),
    pytest.mark.skipif(not (ROOT / "model" / "trained.json").is_file(), reason="no saved model"),
    pytest.mark.skipif(not (ROOT / ".platformio" / "packages" / "framework-arduino-avr").is_dir(),
                       reason="framework-arduino-avr is not installed (./run.sh setup)"),
]


def simulate(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    return subprocess.run([sys.executable, "-m", "tinybeat", "simulate", "--project", str(ROOT), *args],
                          input=stdin, capture_output=True, env=env, timeout=300)


@pytest.fixture(scope="module")
def monitor(tmp_path_factory) -> Path:
    return streamkit.build_firmware(tmp_path_factory.mktemp("mon"), env="megaatmega2560-arduino-monitor",
                                    board_id="megaatmega2560")


@pytest.mark.skipif(not Path(str(RECORD) + ".dat").is_file(), reason=f"{RECORD}.dat is missing")
def test_heart_monitor_runs_on_a_record_from_one_command(monitor: Path) -> None:
    run = simulate("--elf", str(monitor), "--record", str(RECORD), "--duration", "20", "--lead-off", "12:14",
                   "--fast")
    out = run.stdout.decode()
    assert run.returncode == 0, out + run.stderr.decode()
    beats = re.findall(r"^beat t=(\d+\.\d{3})s rr=\d+ms hr=\d+bpm (normal|ABNORMAL|\(first beat)", out, re.M)
    assert len(beats) >= 15, out
    assert {"normal", "ABNORMAL"} <= {b[1] for b in beats}  # record 208: both verdicts
    assert "signal: lead off" in out and "signal: ok" in out  # the --lead-off stretch, then the signal back
    assert not any(12.0 <= float(t) < 14.0 for t, _ in beats)  # no beat while the leads are off
    assert "simulation ended (the recording has played)" in out
    assert "saturated" not in out.split("signal: lead off")[0]  # the ADC sees the record, not a floating pin


def test_missing_record_is_one_line(monitor: Path, tmp_path: Path) -> None:
    run = simulate("--elf", str(monitor), "--record", str(tmp_path / "nothere"))
    err = run.stderr.decode().strip().splitlines()
    assert run.returncode == 2 and len(err) == 1 and "nothere" in err[0], err
    assert "Traceback" not in run.stderr.decode()


def test_raw_mode_carries_binary_frames(tmp_path: Path) -> None:
    """--raw: an INFO and a STATS request piped in as frames; the replies come back as frames on stdout."""
    elf = streamkit.build_firmware(tmp_path / "bare")
    frames = protocol.encode_frame(protocol.INFO, 0, b"") + protocol.encode_frame(protocol.STATS, 1, b"")
    run = simulate("--elf", str(elf), "--raw", stdin=frames)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    replies = [f for f in protocol.FrameParser().feed(run.stdout) if isinstance(f, protocol.Frame)]
    assert [f.type for f in replies] == [protocol.INFO | protocol.REPLY, protocol.STATS | protocol.REPLY], replies
    assert protocol.decode_info_reply(replies[0].payload).proto_version == protocol.PROTO_VERSION
    assert b"\\x" not in run.stdout  # bytes, not the terminal's \xNN escapes
    assert "simulation ended" in run.stderr.decode()


@pytest.mark.skipif(not Path(str(RECORD) + ".dat").is_file(), reason=f"{RECORD}.dat is missing")
def test_heart_monitor_serial_plotter_output(tmp_path: Path) -> None:
    """HeartMonitor with PLOTTER = true: only Serial Plotter lines (ecg, beat marker, heart rate), one per 2nd
    sample, a marker for every beat the text mode reports."""
    plotter = streamkit.build_firmware(tmp_path / "plot", env="megaatmega2560-arduino-monitor",
                                       board_id="megaatmega2560",
                                       ino_patch=lambda t: t.replace("const bool PLOTTER = false;",
                                                                     "const bool PLOTTER = true;"))
    run = simulate("--elf", str(plotter), "--record", str(RECORD), "--duration", "20", "--fast")
    out = run.stdout.decode()
    assert run.returncode == 0, out[-2000:]
    board_out = out.split("-" * 72 + "\n")[1]
    lines = [ln for ln in board_out.splitlines() if ln.strip()]
    parsed = [re.fullmatch(r"ecg:(\d+) beat:(\d+) hr:(\d+)", ln.strip()) for ln in lines]
    assert all(parsed), [ln for ln, m in zip(lines, parsed) if not m][:5]  # nothing but plotter lines
    ecg, beat, hr = (np.array([int(m.group(k)) for m in parsed]) for k in (1, 2, 3))
    assert abs(len(ecg) - 23 * 180) <= 180  # 20 s + the 3-s tail, every 2nd sample at 360 Hz
    assert ecg.max() <= 1023 and ecg.std() > 10  # an ECG, not a flat or floating pin
    onsets = int(np.sum((beat[1:] > 0) & (beat[:-1] == 0)) + (beat[0] > 0))
    assert 20 <= onsets <= 40  # 208 at ~95 bpm: one marker per reported beat
    assert set(np.unique(beat)) <= {0, 600, 800, 1000} and {800, 1000} <= set(np.unique(beat))
    assert 60 <= int(np.median(hr[hr > 0])) <= 130
