"""Signal state (lead-off, flat, saturated), decided per quarter-second block.

The input is cut into blocks of ``block_len(fs)`` samples from the first
sample. At a block's last sample its state is decided: LEAD_OFF if any sample
had lead-off; else, when the block spans at most FLAT_TOL codes, it is one more
flat block, and from FLAT_BLOCKS flat blocks in a row on the state is
SATURATED (at a rail: min <= RAIL_LO or max >= RAIL_HI) or FLAT; otherwise OK.
A changed state is an event at that sample; the detector does not see that
sample and restarts (relearning) from the next one when the state is OK again.
"""

from __future__ import annotations

import numpy as np

from tinybeat.frontend import params as P


def segments(adc: np.ndarray, fs: int, lead_off: np.ndarray | None) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Return (segments, events) for clamped codes ``adc`` int64 (n,).

    segments: [(start, stop)] input index ranges the detector runs on (stop
    exclusive); events: [(sample_index, state)] state changes.
    """
    n = len(adc)
    b = P.block_len(fs)
    nb = n // b
    blocks = adc[: nb * b].reshape(nb, b)
    bmin = blocks.min(axis=1).tolist() if nb else []
    bmax = blocks.max(axis=1).tolist() if nb else []
    if lead_off is None:
        blo = [False] * nb
    else:
        blo = np.asarray(lead_off[: nb * b], dtype=bool).reshape(nb, b).any(axis=1).tolist() if nb else []
    state = P.SIG_OK
    flat = 0
    segs: list[tuple[int, int]] = []
    events: list[tuple[int, int]] = []
    start: int | None = 0
    for i in range(nb):
        if blo[i]:
            st = P.SIG_LEAD_OFF
            flat = 0
        elif bmax[i] - bmin[i] <= P.FLAT_TOL:
            flat = min(flat + 1, 255)
            st = P.SIG_OK
            if flat >= P.FLAT_BLOCKS:
                st = P.SIG_SATURATED if (bmin[i] <= P.RAIL_LO or bmax[i] >= P.RAIL_HI) else P.SIG_FLAT
        else:
            flat = 0
            st = P.SIG_OK
        if st != state:
            t = (i + 1) * b - 1
            events.append((t, st))
            if state == P.SIG_OK and start is not None:
                segs.append((start, t))
                start = None
            if st == P.SIG_OK:
                start = t + 1
            state = st
    if start is not None and start < n:
        segs.append((start, n))
    return [s for s in segs if s[1] > s[0]], events
