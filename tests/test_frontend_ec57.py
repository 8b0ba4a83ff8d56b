"""EC57 beat-by-beat matching and scoring (tinybeat.frontend.ec57)."""

from __future__ import annotations

import numpy as np
import pytest

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


def test_named_modes_start_where_documented() -> None:
    """FROM_5_MIN skips the first 5 minutes of a 10-minute recording but scores a shorter one whole."""
    from tinybeat.frontend.ec57 import FROM_5_MIN, WHOLE, score_record

    fs = 100
    ref = np.arange(50, 60000, 100)           # one beat a second for 10 min
    det = ref[(ref > 1000)]                    # the first 10 beats missed (a learning period)
    head = score_record(det, ref, fs, 60000, FROM_5_MIN)
    whole = score_record(det, ref, fs, 60000, WHOLE)
    assert (head.start_s, head.score.fn, head.score.tp) == (300.0, 0, 300)
    assert (whole.start_s, whole.score.fn) == (0.0, 10)
    short = score_record(det[det < 30000], ref[ref < 30000], fs, 30000, FROM_5_MIN)
    assert (short.start_s, short.score.fn) == (0.0, 10)
    with pytest.raises(ValueError, match="not one of"):
        score_record(det, ref, fs, 60000, "from_10min")


def test_flagged_stretches_leave_both_sides_and_are_timed() -> None:
    """A stretch the device flagged (noise, lead-off) drops its beats and false detections; its time is reported."""
    from tinybeat.frontend.ec57 import WHOLE, score_record

    fs = 100
    ref = np.arange(50, 60000, 100)
    det = np.sort(np.concatenate([ref[(ref < 10000) | (ref > 20000)], [12020, 15020]]))  # noise: misses + false beats
    every = score_record(det, ref, fs, 60000, WHOLE)
    assert (every.score.fn, every.score.fp, every.flagged_s) == (100, 2, 0.0)
    clean = score_record(det, ref, fs, 60000, WHOLE, vf_intervals=np.array([[0, 999]]),
                         flagged=np.array([[10000, 19999], [15000, 20999]]))
    assert (clean.score.fn, clean.score.fp) == (0, 0)
    assert clean.flagged_s == 110.0 and clean.scored_s == 600.0 - 110.0 - 10.0


def test_one_record_lister(tmp_path) -> None:
    """RECORDS when present, else every .hea; a listed record without its files is named."""
    from tinybeat.recordings.records import RecordError, list_records

    for name in ("101", "100"):
        for ext in (".hea", ".dat", ".atr"):
            (tmp_path / f"{name}{ext}").write_text("")
    assert list_records(tmp_path) == ["100", "101"]
    (tmp_path / "RECORDS").write_text("101\n102\n")
    with pytest.raises(RecordError, match=r"102\.hea: listed in RECORDS but missing"):
        list_records(tmp_path)
    (tmp_path / "RECORDS").write_text("101\n")
    (tmp_path / "101.atr").unlink()
    assert list_records(tmp_path, annotations=False) == ["101"]
    with pytest.raises(RecordError, match=r"101\.atr"):
        list_records(tmp_path)
    with pytest.raises(RecordError, match="not a directory"):
        list_records(tmp_path / "nowhere")
