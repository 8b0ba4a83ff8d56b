"""ANSI/AAMI EC57 beat-by-beat QRS detection scoring, following WFDB ``bxb`` conventions.

* a detection matches a reference beat when they are at most 150 ms apart;
  matching is one-to-one, closest pairs first (ties: earlier detection, then
  earlier reference);
* where the comparison starts is a named mode (:func:`score_record`, the one
  helper every tool scores with): ``FROM_5_MIN`` starts 5 minutes into the
  record (bxb's ``-f 0:5``, the EC57 headline: the detector's learning is left
  out) when the recording lasts at least 10 minutes, else it scores the whole
  (shorter) recording; ``WHOLE`` scores every beat from the first sample;
* stretches the device flagged (lead-off, noisy: ``flagged`` intervals) can be
  left out like VF episodes: ``flagged=None`` counts every detection;
* reference beats and detections inside ventricular flutter/fibrillation
  episodes (``[`` ... ``]``, e.g. MIT-BIH 207) are left out, as bxb does;
* every reference beat annotation counts (N L R B A a J S V r F e j n E / f Q ?).

Se = TP / (TP + FN), +P = TP / (TP + FP); gross figures pool the counts over records.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

MATCH_S = 0.150
START_S = 300.0


def match(det: np.ndarray, ref: np.ndarray, fs: float, window_s: float = MATCH_S) -> np.ndarray:
    """For each detection (int64 sample indices, sorted) the index of its matched reference
    beat in ``ref`` (sorted), or -1. One-to-one, closest pairs first, |det - ref| <= window."""
    det = np.asarray(det, dtype=np.int64)
    ref = np.asarray(ref, dtype=np.int64)
    out = np.full(len(det), -1, dtype=np.int64)
    if len(det) == 0 or len(ref) == 0:
        return out
    w = int(np.floor(window_s * fs + 1e-9))
    lo = np.searchsorted(ref, det - w, side="left")
    hi = np.searchsorted(ref, det + w, side="right")
    di, rj = [], []
    for off in range(int((hi - lo).max(initial=0))):
        sel = lo + off < hi
        di.append(np.flatnonzero(sel))
        rj.append(lo[sel] + off)
    if not di:
        return out
    di_a = np.concatenate(di)
    rj_a = np.concatenate(rj)
    dist = np.abs(det[di_a] - ref[rj_a])
    order = np.lexsort((rj_a, di_a, dist))
    used = np.zeros(len(ref), dtype=bool)
    for p in order.tolist():
        i, j = int(di_a[p]), int(rj_a[p])
        if out[i] < 0 and not used[j]:
            out[i] = j
            used[j] = True
    return out


def _in_intervals(x: np.ndarray, intervals: np.ndarray | None) -> np.ndarray:
    m = np.zeros(len(x), dtype=bool)
    if intervals is not None:
        for a, b in np.asarray(intervals, dtype=np.int64).reshape(-1, 2):
            m |= (x >= a) & (x <= b)
    return m


@dataclass(frozen=True)
class Score:
    """Beat-by-beat counts of one record (or pooled)."""

    tp: int
    fn: int
    fp: int

    @property
    def se(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    def __add__(self, other: "Score") -> "Score":
        return Score(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp)

    def as_dict(self) -> dict:
        return {**asdict(self), "se": self.se, "ppv": self.ppv}


def score(det: np.ndarray, ref: np.ndarray, fs: float, vf_intervals: np.ndarray | None = None,
          start_s: float = START_S, window_s: float = MATCH_S) -> Score:
    """EC57 counts for detections ``det`` against reference beats ``ref`` (sample indices).

    Only beats at or after ``start_s`` seconds and outside ``vf_intervals``
    ([start, end] samples, inclusive) are compared.
    """
    det = np.sort(np.asarray(det, dtype=np.int64))
    ref = np.sort(np.asarray(ref, dtype=np.int64))
    start = int(np.ceil(start_s * fs - 1e-9))
    det = det[(det >= start) & ~_in_intervals(det, vf_intervals)]
    ref = ref[(ref >= start) & ~_in_intervals(ref, vf_intervals)]
    m = match(det, ref, fs, window_s)
    tp = int((m >= 0).sum())
    return Score(tp=tp, fn=len(ref) - tp, fp=len(det) - tp)


FROM_5_MIN = "from_5min"
WHOLE = "whole"
MODES = (FROM_5_MIN, WHOLE)


def start_for(mode: str, seconds: float) -> float:
    """Seconds into a recording of ``seconds`` s where scoring in ``mode`` starts.

    FROM_5_MIN: 300 s when the recording lasts at least 600 s, else 0 (a short
    recording has no 5 minutes to spare: it is scored whole); WHOLE: 0.
    """
    if mode == FROM_5_MIN:
        return START_S if seconds >= 2 * START_S else 0.0
    if mode == WHOLE:
        return 0.0
    raise ValueError(f"EC57 scoring mode {mode!r} is not one of {', '.join(MODES)}")


def _overlap(intervals: np.ndarray | None, a: int, b: int) -> int:
    """Samples of [a, b) covered by the (inclusive, possibly overlapping) intervals."""
    if intervals is None or len(intervals) == 0:
        return 0
    cover = np.zeros(max(0, b - a), dtype=bool)
    for lo, hi in np.asarray(intervals, dtype=np.int64).reshape(-1, 2):
        cover[max(lo, a) - a:max(min(hi + 1, b), a) - a] = True
    return int(cover.sum())


@dataclass(frozen=True)
class Scored:
    """One record scored in a named mode.

    mode: FROM_5_MIN or WHOLE; start_s: where scoring started (s);
    scored_s: seconds compared (after start_s, VF episodes and flagged
    stretches left out); flagged_s: seconds left out because the device
    flagged them (0 when every detection counts); score: the counts.
    """

    mode: str
    start_s: float
    scored_s: float
    flagged_s: float
    score: Score

    def as_dict(self) -> dict:
        return {"mode": self.mode, "start_s": self.start_s, "scored_s": self.scored_s,
                "flagged_s": self.flagged_s, **self.score.as_dict()}


def score_record(det: np.ndarray, ref: np.ndarray, fs: float, n_samples: int, mode: str = FROM_5_MIN,
                 vf_intervals: np.ndarray | None = None, flagged: np.ndarray | None = None,
                 window_s: float = MATCH_S) -> Scored:
    """EC57 beat-by-beat scores of a recording of ``n_samples`` samples in a named ``mode``.

    det / ref: detection and reference-beat sample indices; vf_intervals:
    [start, end] samples (inclusive) of ventricular flutter episodes, always
    left out; flagged: [start, end] samples (inclusive) the device marked as
    unusable (lead-off, noise), left out of both sides when given.
    """
    start_s = start_for(mode, n_samples / fs)
    parts = [np.asarray(v, dtype=np.int64).reshape(-1, 2) for v in (vf_intervals, flagged) if v is not None]
    excluded = np.concatenate(parts) if parts else None
    sc = score(det, ref, fs, excluded, start_s=start_s, window_s=window_s)
    start = int(np.ceil(start_s * fs - 1e-9))
    vf = _overlap(vf_intervals, start, n_samples)
    both = _overlap(excluded, start, n_samples)
    return Scored(mode, start_s, (n_samples - start - both) / fs, (both - vf) / fs, sc)
