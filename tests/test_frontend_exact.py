"""lib/tbfront (C, host gcc with ASan/UBSan) is bit-exact with python/tinybeat/frontend.

Every signal is pushed sample by sample through tbf_push by the driver
lib/tbfront/examples/tbf_driver.c; the Python reference must report the same
signal events and the same beats (reporting sample, R sample, RR fields, heart
rate, flags and all 193 input bytes) and the same number of dropped beats.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tinybeat.frontend import params, run
from tinybeat.device.frontend_exact import build_driver, compare, run_driver
from tinybeat.frontend.synth import synthetic_ecg

ROOT = Path(__file__).resolve().parents[1]
MITDB = ROOT.parent / "shared" / "data" / "mitdb"

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="the host gcc is not installed")


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_driver(tmp_path_factory.mktemp("tbf"), sanitize=True)


def check(driver: Path, adc: np.ndarray, fs: int, lead_off: np.ndarray | None = None) -> tuple:
    py = run(adc, fs, lead_off)
    c = run_driver(driver, adc, fs, lead_off)
    assert c.n_samples == len(adc)
    diffs = compare(py, c)
    assert diffs == [], diffs[:5]
    return py, c


@pytest.mark.parametrize("fs", [125, 250, 360, 187, 188, 313])
def test_synthetic_ecg(driver: Path, fs: int) -> None:
    adc, r_true = synthetic_ecg(fs, 40, bpm=75, seed=fs)
    py, _ = check(driver, adc, fs)
    assert py.n_beats >= len(r_true) - 5  # learning (2 s) + the last, never completed
    assert py.signal_events == []


@pytest.mark.parametrize("fs", [125, 360])
def test_fast_and_slow_rhythms(driver: Path, fs: int) -> None:
    fast, _ = synthetic_ecg(fs, 20, bpm=190, seed=1)
    slow, _ = synthetic_ecg(fs, 30, bpm=28, seed=2)  # RR > 2 s: beats with the PAUSE flag
    py, _ = check(driver, np.concatenate([fast, slow]), fs)
    assert (py.flags & params.FLAG_PAUSE).any()


def test_flat_saturated_and_out_of_range(driver: Path) -> None:
    fs = 360
    ecg, _ = synthetic_ecg(fs, 15, seed=3)
    parts = [ecg, np.full(5 * fs, 400), ecg, np.full(4 * fs, 0), ecg, np.full(3 * fs, 65535),
             np.full(3 * fs, 1023), ecg, np.full(3 * fs, 2000) + np.arange(3 * fs) % 2, ecg]
    adc = np.concatenate(parts).astype(np.int64)
    py, c = check(driver, adc, fs)
    states = [s for _, s in py.signal_events]
    assert params.SIG_FLAT in states and params.SIG_SATURATED in states and states[-1] == params.SIG_OK
    assert py.dropped > 0


def test_lead_off_toggles(driver: Path) -> None:
    fs = 250
    adc, _ = synthetic_ecg(fs, 60, seed=4)
    rng = np.random.default_rng(5)
    lead_off = np.zeros(len(adc), dtype=bool)
    lead_off[5000:5003] = True                                   # a glitch
    lead_off[8000:9000] = rng.random(1000) < 0.5                 # toggling every sample
    lead_off[11000:11400:7] = True                               # sparse toggles
    py, _ = check(driver, adc, fs, lead_off)
    assert [s for _, s in py.signal_events].count(params.SIG_LEAD_OFF) >= 2
    assert py.n_beats > 30


@pytest.mark.parametrize("fs", [125, 360])
def test_noise_and_random_codes(driver: Path, fs: int) -> None:
    rng = np.random.default_rng(fs)
    ecg, _ = synthetic_ecg(fs, 20, seed=6, noise_mv=0.3)
    adc = np.concatenate([rng.integers(0, 1024, 10 * fs), ecg, rng.integers(0, 65536, 5 * fs),
                          rng.integers(500, 510, 10 * fs), ecg])
    check(driver, adc, fs)


def test_tiny_inputs(driver: Path) -> None:
    for n in (1, 2, 89, 90, 91, 500):
        check(driver, np.full(n, 512), 360)
        check(driver, np.arange(n) % 1024, 125)


def test_real_record_excerpt(driver: Path) -> None:
    """Two minutes of MIT-BIH 208 (PVCs, couplets) and 203 (noise, multiform PVCs)."""
    if not (MITDB / "208.dat").is_file():
        pytest.skip(f"raw MIT-BIH records not available at {MITDB}")
    from tinybeat.recordings.records import load_record

    for name in ("208", "203"):
        rec = load_record(MITDB / name)
        adc = rec.adc[600 * rec.fs : 720 * rec.fs]
        py, _ = check(driver, adc, rec.fs)
        assert py.n_beats > 150
