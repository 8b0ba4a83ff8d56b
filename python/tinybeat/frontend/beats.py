"""Beats: RR history, the queue of beats waiting for completion, and the classifier input.

Mirrors add_beat() / emit() of lib/tbfront/tbfront.c. Time is the segment's
125 Hz sample index k; at one k the C code first adds a detected beat, then
reports at most one complete beat (the oldest). :meth:`BeatBuilder.advance`
replays the reports that happen before a given k.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from tinybeat.frontend import params as P


def _sat8(v: int) -> int:
    return 255 if v > 255 else v


def _u16(v: int, cap: int = 0xFFFF) -> int:
    return cap if v > cap else v


def window_len(t: int) -> int:
    """Beat window length for a median RR t (125 Hz samples): round(1.2 t) in 1..187."""
    return max(1, min(P.BEAT_LEN, (t * 12 + 5) // 10))


@dataclass
class Pending:
    """A detected beat waiting for rr_post and a full window (fields as tbf_pending_t)."""

    r: int
    r_in: int
    kd: int
    pre125: int = 0
    pre_in: int = 0
    post125: int = 0
    post_in: int = 0
    post_k: int = -1
    avg_in: int = 0
    sum125: int = 0
    n_rr: int = 0
    length: int = 0
    flags: int = 0
    has_post: bool = False


@dataclass
class Emitted:
    """One reported beat: tbf_beat_t fields plus the input index it was reported at."""

    r_sample: int
    rr_pre: int
    rr_post: int
    rr_avg: int
    hr_x10: int
    flags: int
    x: np.ndarray
    emitted_at: int


@dataclass
class BeatBuilder:
    """Beat state of one segment. win: the beat-window signal (y4) int64 (K,);
    seg_start: input index of the segment's first sample; fs: Hz."""

    win: np.ndarray
    seg_start: int
    fs: int
    rr125: list[int] = field(default_factory=list)   # oldest first, at most RR_N
    rrin: list[int] = field(default_factory=list)
    amps: list[int] = field(default_factory=list)
    queue: deque = field(default_factory=deque)
    have_last: bool = False
    last_r: int = 0
    last_r_in: int = 0
    last_emit: int = -1
    sb_lim: int = field(default_factory=lambda: (125 * P.SB_NUM) >> 5)
    dropped: int = 0
    out: list[Emitted] = field(default_factory=list)

    def _median(self, extra: int | None) -> int:
        v = ([extra] if extra is not None else []) + self.rr125[::-1]
        v = sorted(v[:8])
        return v[(len(v) - 1) // 2] if v else 0

    def _input_index(self, k: int) -> int:
        return (k * self.fs + P.RATE - 1) // P.RATE + self.seg_start

    def advance(self, t_end: int) -> None:
        """Report every beat the C code reports at a 125 Hz index < t_end."""
        while self.queue:
            h = self.queue[0]
            k0 = max(self.last_emit + 1, h.kd)
            if h.has_post:
                ready = max(k0, h.post_k, h.r + P.WIN_DELAY + h.length - 1)
            else:
                ready = max(k0, h.r + P.PAUSE)
            if ready >= t_end:
                return
            self.queue.popleft()
            self._emit(h, ready)
            self.last_emit = ready

    def add(self, k: int, r: int, r_in: int) -> None:
        """A QRS detected at 125 Hz index k with R at r (input index r_in)."""
        self.advance(k)
        had = self.have_last
        rr125, rrin = r - self.last_r, r_in - self.last_r_in
        if had:
            self.rr125 = (self.rr125 + [min(rr125, P.RR_CAP125)])[-P.RR_N:]
            self.rrin = (self.rrin + [min(rrin, P.RR_CAPIN)])[-P.RR_N:]
            last8 = self.rr125[-8:]
            avg = (sum(last8) + len(last8) // 2) // len(last8)
            self.sb_lim = (avg * P.SB_NUM) >> 5
            if self.queue:
                t = self.queue[-1]
                if not t.has_post and t.r == self.last_r:
                    t.post125, t.post_in, t.post_k = _u16(rr125), _u16(rrin), k
                    t.length = window_len(self._median(None))
                    t.has_post = True
                    if t.flags & P.FLAG_NO_PRE:
                        t.sum125, t.n_rr, t.avg_in = self.rr125[-1], 1, self.rrin[-1]
        self.last_r, self.last_r_in, self.have_last = r, r_in, True
        if k - r >= P.PAUSE:  # found by search-back too late: its window has left the ring
            self.dropped += 1
            return
        if len(self.queue) == P.QUEUE:
            self.queue.popleft()
            self.dropped += 1
        e = Pending(r=r, r_in=r_in, kd=k)
        if had:
            n = len(self.rr125)
            e.pre125, e.pre_in = _u16(rr125), _u16(rrin)
            e.sum125, e.n_rr = sum(self.rr125), n
            e.avg_in = (sum(self.rrin) + n // 2) // n
        else:
            e.flags = P.FLAG_NO_PRE
        self.queue.append(e)

    def _emit(self, e: Pending, k: int) -> None:
        flags = e.flags
        n_now = self._input_index(k)
        if not e.has_post:
            e.post125 = _u16(k - e.r)
            e.post_in = _u16(n_now - e.r_in)
            e.length = window_len(self._median(min(e.post125, P.RR_CAP125)))
            if flags & P.FLAG_NO_PRE:
                e.sum125, e.n_rr, e.avg_in = min(e.post125, P.RR_CAP125), 1, min(e.post_in, P.RR_CAPIN)
            flags |= P.FLAG_PAUSE
        start = e.r + P.WIN_DELAY
        w = self.win[start : start + e.length]
        if len(w) != e.length:
            raise AssertionError("beat window past the segment")  # cannot happen: k >= window end
        lo, hi = int(w.min()), int(w.max())
        amp = hi - lo
        x = np.zeros(P.N_INPUTS, dtype=np.uint8)
        if amp:
            inv = (255 << 16) // amp
            x[: e.length] = ((w - lo) * inv + 32768) >> 16
        self.amps = (self.amps + [amp])[-P.AMP_N:]
        asum = sum(self.amps)
        post_c = min(e.post125, P.RR_CAP125)

        def ratio(num: int) -> int:
            return _sat8((num * 64 * e.n_rr + e.sum125 // 2) // e.sum125) if e.sum125 else 0

        x[P.BEAT_LEN + 0] = _sat8(e.pre125)
        x[P.BEAT_LEN + 1] = _sat8(e.post125)
        x[P.BEAT_LEN + 2] = _sat8((e.sum125 + e.n_rr // 2) // e.n_rr) if e.n_rr else 0
        x[P.BEAT_LEN + 3] = 0 if flags & P.FLAG_NO_PRE else ratio(min(e.pre125, P.RR_CAP125))
        x[P.BEAT_LEN + 4] = ratio(post_c)
        x[P.BEAT_LEN + 5] = _sat8((amp * 64 * len(self.amps) + asum // 2) // asum) if asum else 0
        hr = _u16((self.fs * 600 + e.avg_in // 2) // e.avg_in) if e.avg_in else 0
        self.out.append(Emitted(e.r_in, e.pre_in, e.post_in, e.avg_in, hr, flags, x, n_now))
