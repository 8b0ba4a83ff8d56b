"""The Arduino side: example sketches built with framework = arduino, the
SerialClassifier sketch on the virtual board (protocol and text mode), and
`tinybeat simulate` showing a firmware's serial port in a terminal.

Builds in a snapshot of the project (projkit.project_copy) when its saved model
is current, else in a throw-away copy with a tiny synthetic dataset (as
tests/test_firmware.py does); never in the checkout.
"""

from __future__ import annotations

import json
import re
import os
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from projkit import ROOT, c_define, project_copy
from test_firmware import PIO, TOOLS, _fallback_project, _main_model_state, _test_beats
from tinybeat.device import client
from tinybeat.core import families
from tinybeat.targets.boards import Board, load_board
from tinybeat.pipeline.config import load_config
from tinybeat.pipeline.artifacts import Paths, load_trained
from tinybeat.pipeline.selection import select_for_board
from tinybeat.device.vboard import VirtualBoard, vboard_path

ENV = "megaatmega2560-arduino"
pytestmark = [
    pytest.mark.skipif(not all(TOOLS.values()), reason="AVR toolchain missing"),
    pytest.mark.skipif(not vboard_path(ROOT).is_file(), reason=f"{vboard_path(ROOT)} is missing (./run.sh setup)"),
    pytest.mark.skipif(not (ROOT / ".platformio" / "packages" / "framework-arduino-avr").is_dir(),
                       reason="framework-arduino-avr is not installed (./run.sh setup)"),
]


@dataclass
class Sketch:
    project: Path
    elf: Path
    board: Board
    model: families.IntModel
    threshold: int


def _build(project: Path, env_name: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PLATFORMIO_NO_ANSI": "true"}
    return subprocess.run([str(PIO), "run", "-e", env_name], cwd=project, capture_output=True, text=True,
                          env=env, timeout=900)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = "TINYBEAT_TEST_FIRMWARE_COPY is set" if os.environ.get("TINYBEAT_TEST_FIRMWARE_COPY") else \
        _main_model_state()
    if reason is None:  # a snapshot, not the checkout: a `pio run` there cannot lock or retrain under us
        return project_copy(tmp_path_factory.mktemp("ard") / "proj")
    warnings.warn(f"test_arduino built a synthetic copy of the project: {reason}", stacklevel=1)
    return _fallback_project(tmp_path_factory.mktemp("ard") / "proj")


@pytest.fixture(scope="module")
def sketch(project: Path, tmp_path_factory: pytest.TempPathFactory) -> Sketch:
    run = _build(project, ENV)
    assert run.returncode == 0, f"pio run -e {ENV} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    elf = tmp_path_factory.mktemp("ard_elf") / "firmware.elf"
    shutil.copy2(project / ".pio" / "build" / ENV / "firmware.elf", elf)
    paths = Paths(project)
    board = load_board(project, "megaatmega2560")
    entry = select_for_board(load_trained(paths), board, load_config(paths.config))
    return Sketch(project, elf, board, entry.model, entry.decision_threshold)


def test_sketch_is_an_arduino_build(sketch: Sketch) -> None:
    """The sketch links the Arduino core (Serial, the millis() timer) and the library, not the bare firmware.

    (Link-time optimisation inlines most functions: the check is on data symbols.)"""
    symbols = set(subprocess.run(["avr-nm", "-C", str(sketch.elf)], capture_output=True, text=True,
                                 check=True).stdout.split())
    assert {"Serial", "timer0_millis", "TinyBeat"} <= symbols
    assert not {"uart_init", "g_parser"} & symbols  # src/avr is not part of it
    client.check_firmware_elf(sketch.elf, sketch.board, ENV)  # `tinybeat evaluate --elf` accepts it


def test_serial_classifier_matches_reference(sketch: Sketch) -> None:
    """The sketch over the framed protocol: every score and class equal to the Python reference."""
    X, y = _test_beats(sketch.project, 40)
    with VirtualBoard(ROOT, sketch.elf, sketch.board) as vb, client.Device(vb.port) as dev:
        ev = client.evaluate(dev, X, y, sketch.model, sketch.threshold, progress=False)
    assert ev.n == len(y) and ev.mismatches == 0
    assert ev.info.n_inputs == X.shape[1]
    assert ev.stats.count == len(y)
    assert ev.info.version.startswith("arduino-")  # the sketch answered, not a bare firmware
    assert 0 < int(np.median(ev.cycles)) <= int(load_config(Paths(sketch.project).config).budget.max_cycles)


def _simulate(project: Path, elf: Path, board: str, stdin: str, seconds: float = 0) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "python")}
    cmd = [sys.executable, "-m", "tinybeat", "simulate", "--project", str(ROOT), "--elf", str(elf),
           "--board", board]
    if seconds:
        cmd += ["--seconds", str(seconds)]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, env=env, timeout=60)


def test_simulate_shows_banner_and_text_verdict(sketch: Sketch) -> None:
    """`tinybeat simulate`: the banner, then a pasted beat line answered with the reference verdict."""
    X, _ = _test_beats(sketch.project, 4)
    expected = int(families.predict_scores(sketch.model, X[:1])[0])
    verdict = "ABNORMAL" if expected > sketch.threshold else "normal"
    run = _simulate(sketch.project, sketch.elf, "megaatmega2560", ",".join(str(int(v)) for v in X[0]) + "\n")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "tinybeat SerialClassifier: heartbeat classifier, model" in run.stdout
    assert f"beat 1: {verdict} (score {expected}," in run.stdout
    assert "simulation ended (end of input)" in run.stdout


def test_simulate_rejects_a_bad_line(sketch: Sketch) -> None:
    run = _simulate(sketch.project, sketch.elf, "megaatmega2560", "1,2,oops\n")
    assert "error: only integers 0..255 separated by commas or spaces" in run.stdout


def test_simulate_bare_firmware_banner(project: Path, tmp_path: Path) -> None:
    """The bare firmware in the same terminal: its banner, nothing lost before the terminal attached."""
    run = _build(project, "megaatmega2560")
    assert run.returncode == 0, run.stdout[-3000:]
    elf = tmp_path / "firmware.elf"
    shutil.copy2(project / ".pio" / "build" / "megaatmega2560" / "firmware.elf", elf)
    out = _simulate(project, elf, "megaatmega2560", "", seconds=2)
    assert "tinybeat 0.1.0: heartbeat classifier, model" in out.stdout


def test_simulate_missing_elf_is_one_line(tmp_path: Path) -> None:
    out = _simulate(ROOT, tmp_path / "nope.elf", "megaatmega2560", "")
    assert out.returncode != 0
    assert "nope.elf is missing: build it with `pio run`" in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize("env_name", ["megaatmega2560-arduino-monitor", "uno-arduino", "uno-arduino-monitor"])
def test_other_examples_build(project: Path, env_name: str) -> None:
    """Every example sketch builds for the Mega and the Uno and fits the board."""
    run = _build(project, env_name)
    assert run.returncode == 0, f"pio run -e {env_name} failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
    elf = project / ".pio" / "build" / env_name / "firmware.elf"
    sizes = subprocess.run(["avr-size", "-A", "-d", str(elf)], capture_output=True, text=True, check=True).stdout
    print(env_name, json.dumps({line.split()[0]: int(line.split()[1]) for line in sizes.splitlines()
                                if line.startswith((".text", ".data", ".bss"))}))


# ---- HeartMonitor: an ECG record on the simulated ADC, beat lines against the Python reference ----

BEAT_RE = re.compile(r"^beat t=(\d+)\.(\d{3})s rr=(\d+)ms hr=(\d+)bpm (?:(normal|ABNORMAL) score=(-?\d+)|\((.*)\))$")


def _ms(n: int, fs: int) -> int:
    """The sketch's samples -> milliseconds (TinyBeatSensor.cpp samples_to_ms)."""
    return (n // fs) * 1000 + ((n % fs) * 1000 + fs // 2) // fs


@pytest.mark.parametrize("env_name", ["megaatmega2560-arduino-monitor", "uno-arduino-monitor"])
def test_heart_monitor_matches_reference(project: Path, env_name: str, tmp_path: Path) -> None:
    """30 s of MIT-BIH 208 (3 s of lead-off) on the ADC pin: every beat line equals the reference."""
    from tinybeat.device import feed
    from tinybeat.device import reference as refmod

    record = ROOT / "data" / "records" / "208_5min"
    if not Path(str(record) + ".dat").is_file():
        pytest.skip(f"{record}.dat is missing")
    run = _build(project, env_name)
    assert run.returncode == 0, run.stdout[-3000:]
    elf = project / ".pio" / "build" / env_name / "firmware.elf"
    board = load_board(project, "uno" if env_name.startswith("uno") else "megaatmega2560")
    paths = Paths(project)
    entry = select_for_board(load_trained(paths), board, load_config(paths.config))
    model, threshold = entry.model, entry.decision_threshold

    sig = feed.load_signal(record, 0, 30, lead_off_s=(15, 18))
    adc = tmp_path / "adc.bin"
    adc.write_bytes(feed.adc_file_bytes(sig))
    out = subprocess.run([str(vboard_path(ROOT)), "--mcu", board.mcu, "--freq", str(board.f_cpu), "--timeout", "120",
                          "--adc-file", str(adc), "--adc-rate", str(sig.fs), "--adc-tail-s", "3", str(elf)],
                         stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [ln.strip() for ln in out.stdout.splitlines()]
    beats = [m for m in (BEAT_RE.match(ln) for ln in lines) if m]
    n_inputs = int(c_define((elf.parent / "tinybeat" / "tinybeat_model.h").read_text(), "TB_MODEL_N_INPUTS"))
    # the board also saw the vboard's 3-s tail (the last sample held): the reference gets it too,
    # and the board must report every beat the reference emits within the recording, in order
    codes, lead_off = feed.board_samples(sig, sig.n + 3 * sig.fs)
    ref = refmod.reference(codes, lead_off, sig.fs, model, threshold, n_inputs)
    front = ref.front
    within = int(np.sum(front.emitted_at < sig.n))
    assert within > 20 and within <= len(beats) <= len(front.r_sample), (len(beats), within, len(front.r_sample))
    for i, m in enumerate(beats):
        assert int(m.group(1)) * 1000 + int(m.group(2)) == _ms(int(front.r_sample[i]), sig.fs), lines
        assert int(m.group(3)) == _ms(int(front.rr_pre[i]), sig.fs)
        assert int(m.group(4)) == (int(front.hr_x10[i]) + 5) // 10
        if front.flags[i] & 1:  # TBF_BEAT_NO_PRE: no verdict; a PAUSE beat is classified
            assert m.group(7) == "first beat: no verdict yet"
        else:
            assert m.group(5) == ("ABNORMAL" if ref.classes[i] == 1 else "normal"), m.group(0)
            assert int(m.group(6)) == int(ref.scores[i])
    assert any(ln.startswith("signal: lead off") for ln in lines)
    free = [int(x) for x in re.findall(r"free RAM low-water (\d+) B", out.stdout)]
    assert free and min(free) > 64, f"{env_name}: free RAM low-water {free}"
