"""QRS decisions (Hamilton-Tompkins / Pan-Tompkins family), event-driven over peaks.

Mirrors step125() of lib/tbfront/tbfront.c; k is the segment's 125 Hz index.

1. Candidates: a local maximum of mwi at k - 1 (mwi[k-1] > mwi[k-2] and
   mwi[k-1] >= mwi[k]), confirmed at k, of height h = mwi[k-1].
2. Pre-blanking (200 ms): a candidate is held; a higher candidate within
   HOLD samples replaces it (and restarts the wait), lower ones are ignored;
   the held peak is released HOLD samples after it was taken. Its R peak r is
   the largest |bp| of the 25 samples before its confirmation minus the
   band-pass delay; its slope the largest sq of the 19 samples before.
3. Learning: peaks released before LEARN only update the maximum; at
   k == LEARN the QRS-peak buffer is filled with max/2, the noise buffer with max/16.
4. Each released peak (h, r, slope), with TH = nm + 5/16 (qm - nm) (qm, nm the
   medians of the last 8 QRS / noise peaks, saturated to 16 bits):
     r within 200 ms of the last R                       -> ignored
     h > TH: within 360 ms and slope < half the last QRS's -> T wave: noise
             else QRS
     else noise; if h > TH/2 it may become the search-back candidate (the largest).
5. Every sample: search-back when k - (time of the last QRS) > 1.66 x mean RR
   (mean of the last 8): the candidate becomes a QRS. After QUIET samples
   without a QRS, both buffers halve.
"""

from __future__ import annotations

import numpy as np

from tinybeat.frontend import params as P
from tinybeat.frontend.beats import BeatBuilder
from tinybeat.frontend.filters import Chain


def candidates(mwi: np.ndarray) -> np.ndarray:
    """int64 confirmation indices k of the mwi peaks at k - 1."""
    m = np.concatenate([np.zeros(2, dtype=np.int64), np.asarray(mwi, dtype=np.int64)])
    prev1, prev2, cur = m[1:-1], m[:-2], m[2:]
    return np.flatnonzero((prev1 > prev2) & (prev1 >= cur)).astype(np.int64)


def features(ch: Chain, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(r, slope) int64 for confirmation indices ks; (0, 0) where k < R_SEARCH."""
    ks = np.asarray(ks, dtype=np.int64)
    r = np.zeros(len(ks), dtype=np.int64)
    slope = np.zeros(len(ks), dtype=np.int64)
    ok = ks >= P.R_SEARCH
    if ok.any():
        kk = ks[ok]
        idx = kk[:, None] - P.R_SEARCH + np.arange(P.R_SEARCH)[None, :]
        r[ok] = kk - P.R_SEARCH + np.argmax(np.abs(ch.bp[idx]), axis=1) - P.BP_DELAY
        idx = kk[:, None] - P.MWI_N + np.arange(P.MWI_N)[None, :]
        slope[ok] = ch.sq[idx].max(axis=1)
    return r, slope


def released(ks: list[int], hs: list[int], n_out: int) -> list[tuple[int, int]]:
    """Pre-blanking: [(release index k, candidate number)] of the held peaks, in order."""
    out: list[tuple[int, int]] = []
    hold = -1
    until = 0
    for i, (k, h) in enumerate(zip(ks, hs)):
        if hold >= 0 and until < k:
            out.append((until, hold))
            hold = -1
        if hold < 0 or h > hs[hold]:
            hold, until = i, k + P.HOLD
    if hold >= 0 and until < n_out:
        out.append((until, hold))
    return out


def median8(buf: list[int]) -> int:
    """Lower median of the (8) values."""
    return sorted(buf)[(len(buf) - 1) // 2]


def detect(ch: Chain, beats: BeatBuilder, to_input, n_out: int) -> list[tuple[int, int, int]]:
    """Run the decisions over a segment of n_out 125 Hz samples.

    to_input(r) -> input index of the 125 Hz index r. Every QRS is passed to
    beats.add(k, r, r_in). Returns [(k, r, r_in)] of all QRS detections.
    """
    dets: list[tuple[int, int, int]] = []
    if n_out <= P.LEARN:
        return dets
    ks_a = candidates(ch.mwi)
    hs_a = ch.mwi[ks_a - 1]
    rel = released(ks_a.tolist(), hs_a.tolist(), n_out)
    if not rel:
        return dets
    rel_k = np.asarray([k for k, _ in rel], dtype=np.int64)
    idx = np.asarray([i for _, i in rel], dtype=np.int64)
    h_a = hs_a[idx]
    early = rel_k < P.LEARN
    lmax = int(h_a[early].max()) if early.any() else 0
    r_a, s_a = features(ch, ks_a[idx[~early]])
    ks, hs, rs, slopes = rel_k[~early].tolist(), h_a[~early].tolist(), r_a.tolist(), s_a.tolist()

    qbuf = [min(lmax >> 1, 0xFFFF)] * 8
    nbuf = [min(lmax >> 4, 0xFFFF)] * 8
    qpos = npos = 0
    last_conf = quiet_ref = P.LEARN
    have_last, last_r, last_slope = False, 0, 0
    sb_valid, sb_h, sb_r, sb_slope = False, 0, 0, 0
    t = P.LEARN
    i, nc = 0, len(ks)
    INF = 1 << 62

    def qrs(k: int, r: int, h: int, slope: int) -> None:
        nonlocal have_last, last_r, last_slope, last_conf, quiet_ref, sb_valid, qpos
        qbuf[qpos] = min(h, 0xFFFF)
        qpos = (qpos + 1) & 7
        r_in = to_input(r)
        beats.add(k, r, r_in)
        dets.append((k, r, r_in))
        have_last, last_r, last_slope = True, r, slope
        last_conf = quiet_ref = k
        sb_valid = False

    def noise(h: int) -> None:
        nonlocal npos
        nbuf[npos] = min(h, 0xFFFF)
        npos = (npos + 1) & 7

    while True:
        kc = ks[i] if i < nc else n_out
        ts = max(t, last_conf + beats.sb_lim + 1) if sb_valid else INF
        td = max(t, quiet_ref + P.QUIET)
        if min(ts, td) < kc:
            if ts <= td:
                t = ts
                qrs(t, sb_r, sb_h, sb_slope)
            else:
                t = td
                qbuf = [v >> 1 for v in qbuf]
                nbuf = [v >> 1 for v in nbuf]
                quiet_ref = t
            continue
        if i >= nc:
            break
        t, h, r, slope = kc, hs[i], rs[i], slopes[i]
        i += 1
        qm, nm = median8(qbuf), median8(nbuf)
        th = nm + (((qm - nm) * P.TH_NUM) >> 4)
        if have_last and r - last_r < P.REFRACT:
            pass
        elif h > th:
            if have_last and r - last_r < P.TWAVE and slope < last_slope // 2:
                noise(h)
            else:
                qrs(t, r, h, slope)
        else:
            noise(h)
            if h > (th >> 1) and (not sb_valid or h > sb_h):
                sb_valid, sb_h, sb_r, sb_slope = True, h, r, slope
    return dets
