"""EC57 beat-by-beat matching and scoring (tinybeat.frontend.ec57)."""

from __future__ import annotations

import numpy as np

from tinybeat.frontend.ec57 import match, score


def test_match_window_and_one_to_one() -> None:
    fs = 360  # 150 ms = 54 samples
    ref = np.array([1000, 1300, 2000])
    det = np.array([946, 1250, 1260, 2055])
    m = match(det, ref, fs)
    # 946 is 54 away (inside), 1250/1260: 1260 is closer to 1300 and wins, 2055 is 55 away (outside)
    assert m.tolist() == [0, -1, 1, -1]


def test_closest_pair_first() -> None:
    ref = np.array([100, 140])
    det = np.array([125])
    assert match(det, ref, 360).tolist() == [1]  # 15 from 140, 25 from 100


def test_score_start_and_vf_exclusion() -> None:
    fs = 100
    ref = np.arange(0, 60000, 100)          # one beat a second for 10 min
    det = ref[ref != 40000] + 3              # one missed beat after 5 min
    det = np.sort(np.concatenate([det, [45050]]))  # one false detection
    s = score(det, ref, fs)
    assert (s.tp, s.fn, s.fp) == (299, 1, 1)   # from 5 min: 300 beats 30000..59900
    s0 = score(det, ref, fs, start_s=0)
    assert (s0.tp, s0.fn, s0.fp) == (599, 1, 1)
    vf = np.array([[39000, 45995]])          # the miss and the false one fall into VF: not scored
    s1 = score(det, ref, fs, vf_intervals=vf)
    assert (s1.fn, s1.fp) == (0, 0) and s1.tp == 300 - 70
    assert abs(s.se - 299 / 300) < 1e-12 and abs(s.ppv - 299 / 300) < 1e-12


def test_empty_inputs() -> None:
    assert match(np.array([], dtype=np.int64), np.array([5]), 360).tolist() == []
    assert match(np.array([5]), np.array([], dtype=np.int64), 360).tolist() == [-1]
    s = score(np.array([], dtype=np.int64), np.array([40000]), 100)
    assert (s.tp, s.fn, s.fp) == (0, 1, 0)
