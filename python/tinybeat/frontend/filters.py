"""The integer filter chain, computed for a whole segment at once (numpy, int64).

The C code runs the same FIR filters recursively, one sample at a time; moving
sums computed with int64 cumsum here are the same integers. Every filter starts
as if the segment's first value had been there forever (warm start).

Chain (k = 125 Hz sample index, y4 in ADC codes x 4):
  resample   input fs -> 125 Hz: moving sum of L0 = round(fs/125) codes, linear
             interpolation with weights f/125, scaled to codes x 4
  lp1[k]   = y4[k-4] + ... + y4[k]                 (y4 is also the beat-window signal)
  lp[k]    = (lp1[k-4] + ... + lp1[k]) >> 3         (low-pass, nulls at 25/50 Hz)
  bp[k]    = (21 lp[k-10] - (lp[k-20] + ... + lp[k])) >> 4   (high-pass, delay 14 in all)
  d[k]     = 2 bp[k] + bp[k-1] - bp[k-3] - 2 bp[k-4]
  sq[k]    = min(65535, ((|d[k]| >> 3)^2) >> 6)
  mwi[k]   = sq[k-18] + ... + sq[k]                 (152 ms integration)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinybeat.frontend import params as P

WARM = 64  # prepended copies of the first value: longer than every filter's memory


@dataclass(frozen=True)
class Resampled:
    """125 Hz samples of one segment: y4 int64 (K,), n int64 (K,) the local input index
    at which each was produced, f int64 (K,) its interpolation weight in 1/125 (1..125)."""

    y4: np.ndarray
    n: np.ndarray
    f: np.ndarray


def resample(codes: np.ndarray, fs: int) -> Resampled:
    """Resample clamped ADC codes int64 (N,) of one segment to 125 Hz (codes x 4)."""
    codes = np.asarray(codes, dtype=np.int64)
    N = len(codes)
    if N == 0:
        e = np.zeros(0, dtype=np.int64)
        return Resampled(e, e, e)
    L0 = P.pre_len(fs)
    ext = np.concatenate([np.full(2, codes[0], dtype=np.int64), codes])
    pre = ext[2:].copy()
    for j in range(1, L0):
        pre += ext[2 - j : 2 - j + N]
    K = (N - 1) * P.RATE // fs + 1
    k = np.arange(K, dtype=np.int64)
    n = (k * fs + P.RATE - 1) // P.RATE
    f = k * fs - (n - 1) * P.RATE
    prev = np.where(n > 0, pre[np.maximum(n - 1, 0)], L0 * codes[0])
    num = prev * (P.RATE - f) + pre[n] * f
    y4 = (num * P.resample_gain(fs) + 32768) >> 16
    return Resampled(y4, n, f)


def moving_sum(x: np.ndarray, length: int) -> np.ndarray:
    """s[i] = x[i-length+1] + ... + x[i] for i >= length - 1; earlier entries are partial sums."""
    c = np.cumsum(x, dtype=np.int64)
    out = c.copy()
    out[length:] = c[length:] - c[:-length]
    return out


@dataclass(frozen=True)
class Chain:
    """Filter outputs at 125 Hz, each int64 (K,): see the module docstring."""

    lp1: np.ndarray
    bp: np.ndarray
    sq: np.ndarray
    mwi: np.ndarray


def chain(y4: np.ndarray) -> Chain:
    """Run the detector filters over y4 int64 (K,) with a warm start."""
    K = len(y4)
    if K == 0:
        e = np.zeros(0, dtype=np.int64)
        return Chain(e, e, e, e)
    x = np.concatenate([np.full(WARM, y4[0], dtype=np.int64), np.asarray(y4, dtype=np.int64)])
    lp1 = moving_sum(x, 5)
    lp = moving_sum(lp1, 5) >> 3
    s21 = moving_sum(lp, 21)
    bp = np.zeros_like(lp)
    bp[10:] = (21 * lp[:-10] - s21[10:]) >> 4
    d = np.zeros_like(bp)
    d[4:] = 2 * bp[4:] + bp[3:-1] - bp[1:-3] - 2 * bp[:-4]
    a = np.abs(d) >> 3
    sq = np.minimum((a * a) >> 6, 65535)
    mwi = moving_sum(sq, P.MWI_N)
    cut = slice(WARM, None)
    return Chain(lp1[cut], bp[cut], sq[cut], mwi[cut])
