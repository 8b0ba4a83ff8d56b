"""ANSI/AAMI EC57 beat-by-beat QRS detection scoring, following WFDB ``bxb`` conventions.

* a detection matches a reference beat when they are at most 150 ms apart;
  matching is one-to-one, closest pairs first (ties: earlier detection, then
  earlier reference);
* the comparison interval starts 5 minutes into the record by default (bxb's
  ``-f 0:5``, the EC57 headline) and runs to the end; ``start_s=0`` scores the
  whole record;
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
