"""QRS decisions (Pan-Tompkins family), event-driven over the peaks of the integrated signal.

Mirrors step125() of lib/tbfront/tbfront.c. A candidate is a local maximum of
mwi at k - 1 (mwi[k-1] > mwi[k-2] and >= mwi[k]), confirmed at k. During the
first LEARN samples candidates only feed the learning maximum; at k == LEARN
SPKI = max/2 and NPKI = max/16. Afterwards, per candidate of height h, R peak r
(the largest |bp| of the 25 samples before k, minus the band-pass delay) and
slope (largest sq of the 19 samples before k):

  TH1 = NPKI + (SPKI - NPKI) / 4, TH2 = TH1 / 2 (floor shifts)
  r within 200 ms of the last R              -> ignored
  h > TH1: within 360 ms and slope < half the last QRS's -> T wave (noise)
           else QRS:   SPKI += (h - SPKI) >> 3
  else: noise, NPKI += (h - NPKI) >> 3; if h > TH2 it may become the search-back candidate
Per sample after the candidate: search-back when k - (last QRS time) > 1.66 x mean RR
(the stored candidate becomes a QRS, SPKI += (h - SPKI) >> 2); after 3 s without a QRS
both thresholds halve.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import params as P
from .beats import BeatBuilder
from .filters import Chain


def candidates(mwi: np.ndarray) -> np.ndarray:
    """int64 confirmation indices k of the mwi peaks at k - 1."""
    m = np.concatenate([np.zeros(2, dtype=np.int64), np.asarray(mwi, dtype=np.int64)])
    # at k: prev1 = mwi[k-1] = m[k+1], prev2 = mwi[k-2] = m[k], cur = m[k+2]
    prev1, prev2, cur = m[1:-1], m[:-2], m[2:]
    return np.flatnonzero((prev1 > prev2) & (prev1 >= cur)).astype(np.int64)


def features(ch: Chain, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For confirmation indices ks >= LEARN: (h, r, slope) int64 arrays."""
    if len(ks) == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e, e
    h = ch.mwi[ks - 1]
    bpw = sliding_window_view(np.abs(ch.bp), P.R_SEARCH)      # row i: |bp|[i : i+25]
    r = ks - P.R_SEARCH + np.argmax(bpw[ks - P.R_SEARCH], axis=1) - P.BP_DELAY
    sqw = sliding_window_view(ch.sq, P.MWI_N)
    slope = sqw[ks - P.MWI_N].max(axis=1)
    return h, r, slope


def detect(ch: Chain, beats: BeatBuilder, to_input, n_out: int) -> list[tuple[int, int, int]]:
    """Run the decisions over a segment of n_out 125 Hz samples.

    to_input(r) -> input index of the 125 Hz index r. Every QRS is passed to
    beats.add(k, r, r_in). Returns [(k, r, r_in)] of all QRS detections.
    """
    dets: list[tuple[int, int, int]] = []
    if n_out <= P.LEARN:
        return dets
    ks = candidates(ch.mwi)
    early = ks[ks < P.LEARN]
    lmax = int(ch.mwi[early - 1].max()) if len(early) else 0
    ks = ks[ks >= P.LEARN]
    hs, rs, slopes = (a.tolist() for a in features(ch, ks))
    ks = ks.tolist()

    spki, npki = lmax >> 1, lmax >> 4
    last_conf = quiet_ref = P.LEARN
    have_last, last_r, last_slope = False, 0, 0
    sb_valid, sb_h, sb_r, sb_slope = False, 0, 0, 0
    t = P.LEARN
    i, nc = 0, len(ks)
    INF = 1 << 62

    def qrs(k: int, r: int, h: int, slope: int, shift: int) -> None:
        nonlocal spki, have_last, last_r, last_slope, last_conf, quiet_ref, sb_valid
        spki += (h - spki) >> shift
        r_in = to_input(r)
        beats.add(k, r, r_in)
        dets.append((k, r, r_in))
        have_last, last_r, last_slope = True, r, slope
        last_conf = quiet_ref = k
        sb_valid = False

    while True:
        kc = ks[i] if i < nc else n_out
        ts = max(t, last_conf + beats.sb_lim + 1) if sb_valid else INF
        td = max(t, quiet_ref + P.QUIET)
        if min(ts, td) < kc:
            if ts <= td:
                t = ts
                qrs(t, sb_r, sb_h, sb_slope, 2)
            else:
                t = td
                spki -= spki >> 1
                npki -= npki >> 1
                quiet_ref = t
            continue
        if i >= nc:
            break
        t, h, r, slope = kc, hs[i], rs[i], slopes[i]
        i += 1
        th1 = npki + ((spki - npki) >> 2)
        if have_last and r - last_r < P.REFRACT:
            pass
        elif h > th1:
            if have_last and r - last_r < P.TWAVE and slope < last_slope // 2:
                npki += (h - npki) >> 3
            else:
                qrs(t, r, h, slope, 3)
        else:
            npki += (h - npki) >> 3
            if h > (th1 >> 1) and (not sb_valid or h > sb_h):
                sb_valid, sb_h, sb_r, sb_slope = True, h, r, slope
    return dets
