"""The Python front end (tinybeat.frontend.run): detections, beat fields, input checks, speed,
and its constants agree with lib/tbfront/tbfront.c."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from tinybeat.frontend import params, run
from tinybeat.frontend.ec57 import match, score
from tinybeat.frontend.synth import synthetic_ecg

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("fs", [125, 250, 360])
def test_synthetic_detection(fs: int) -> None:
    adc, r_true = synthetic_ecg(fs, 120, bpm=70, seed=fs)
    res = run(adc, fs)
    s = score(res.detections, r_true, fs, start_s=3)  # after the 2 s learning
    assert (s.fn, s.fp) == (0, 0)
    m = match(res.r_sample, r_true, fs)
    assert (m >= 0).all()
    err_ms = np.abs(res.r_sample - r_true[m]) * 1000 / fs
    assert err_ms.max() <= 16  # R located within two 125 Hz samples
    assert res.x.shape == (res.n_beats, params.N_INPUTS) and res.x.dtype == np.uint8
    ok = res.flags == 0
    assert ok.sum() >= res.n_beats - 1
    rr = np.diff(r_true).mean()
    assert np.all(np.abs(res.rr_pre[ok] - rr) < 0.15 * rr)
    assert np.all(np.abs(res.hr_x10[ok] - 700) < 80)  # 3 % RR jitter, short means at first
    assert (res.x[:, : params.BEAT_LEN].max(axis=1) == 255).all()  # min-max scaled
    assert (res.emitted_at > res.r_sample).all()


def test_signal_loss_gives_events_not_beats() -> None:
    fs = 250
    ecg, _ = synthetic_ecg(fs, 20, seed=1)
    adc = np.concatenate([ecg, np.full(10 * fs, 512), ecg])
    res = run(adc, fs)
    assert [s for _, s in res.signal_events] == [params.SIG_FLAT, params.SIG_OK]
    t_flat, t_ok = (t for t, _ in res.signal_events)
    assert len(ecg) + 2 * fs - 1 <= t_flat <= len(ecg) + 3 * fs   # 8 flat quarter-seconds
    assert not ((res.r_sample > len(ecg)) & (res.r_sample < t_ok)).any()
    assert ((res.r_sample > t_ok) & (res.flags == params.FLAG_NO_PRE)).sum() == 1  # relearned


def test_input_checks() -> None:
    with pytest.raises(ValueError, match="124 Hz"):
        run(np.zeros(10, dtype=np.uint16), 124)
    with pytest.raises(ValueError, match="lead_off"):
        run(np.zeros(10, dtype=np.uint16), 360, np.zeros(9, dtype=bool))
    res = run(np.zeros(0, dtype=np.uint16), 360)
    assert res.n_beats == 0 and res.signal_events == []


def test_thirty_minutes_runs_through() -> None:
    """A whole 30-minute recording in one call (its time is in the suite's --durations, not asserted)."""
    adc, _ = synthetic_ecg(360, 1800, bpm=80, seed=3)
    res = run(adc, 360)
    assert res.n_beats > 2300


def c_defines() -> dict[str, int]:
    text = (ROOT / "lib" / "tbfront" / "tbfront.c").read_text()
    return {m[1]: int(m[2]) for m in re.finditer(r"^#define (\w+) (\d+)u?\b", text, re.M)}


def test_constants_match_c() -> None:
    c = c_defines()
    for name in ("LEARN", "REFRACT", "TWAVE", "PAUSE", "QUIET", "HOLD", "TH_NUM", "SB_NUM", "MWI_N", "R_SEARCH",
                 "BP_DELAY", "WIN_DELAY", "RR_CAP125", "RR_CAPIN", "FLAT_TOL", "FLAT_BLOCKS", "RAIL_LO", "RAIL_HI"):
        assert c[name] == getattr(params, name), name
    state = (ROOT / "lib" / "tbfront" / "tbfront_state.h").read_text()
    for name, py in (("TBF_RING", params.RING), ("TBF_QUEUE", params.QUEUE), ("TBF_RR_N", params.RR_N),
                     ("TBF_AMP_N", params.AMP_N)):
        assert re.search(rf"#define {name} (\d+)u", state)[1] == str(py), name
