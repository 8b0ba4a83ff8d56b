"""Integer reference of the streaming ECG front end (lib/tbfront), bit-exact with the C code.

``run(adc, fs, lead_off=None)`` returns what ``tbf_push`` reports when the
samples are pushed one by one after ``tbf_init(fs)``: the beats (R sample,
RR fields, flags and the 193 classifier input bytes), every R-peak detection
(also the ones never completed as beats) and the signal-state events.
The filters run vectorised over each stretch of good signal; the decisions
loop over candidate peaks only (see filters.py, detector.py, beats.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tinybeat.frontend import params
from tinybeat.frontend.beats import BeatBuilder, Emitted
from tinybeat.frontend.detector import detect
from tinybeat.frontend.filters import chain, resample
from tinybeat.frontend.signal import segments

__all__ = ["run", "FrontendResult", "params"]


@dataclass(frozen=True)
class FrontendResult:
    """Output of :func:`run` (n_beats beats, m detections).

    Beat columns (int64 (n_beats,)): r_sample (input sample of the R peak),
    rr_pre, rr_post, rr_avg (input samples), hr_x10 (bpm x 10), flags
    (params.FLAG_*), emitted_at (input sample at which tbf_push reported it);
    x: uint8 (n_beats, 193) classifier input.
    detections: int64 (m,) input sample of every detected R peak, in order.
    signal_events: [(sample_index, state)] signal-state changes (params.SIG_*).
    dropped: beats detected but never reported (signal lost or queue full),
    as tbf_dropped() counts them (beats still pending at the end are not counted).
    """

    r_sample: np.ndarray
    rr_pre: np.ndarray
    rr_post: np.ndarray
    rr_avg: np.ndarray
    hr_x10: np.ndarray
    flags: np.ndarray
    emitted_at: np.ndarray
    x: np.ndarray
    detections: np.ndarray
    signal_events: list[tuple[int, int]]
    dropped: int

    @property
    def n_beats(self) -> int:
        return len(self.r_sample)


def run(adc: np.ndarray, fs: int, lead_off: np.ndarray | None = None) -> FrontendResult:
    """Run the front end over ADC codes ``adc`` (n,) at ``fs`` Hz (125..360).

    ``lead_off``: optional bool (n,), True where the analog front end reports
    lead-off. Codes above 1023 are clamped to 1023, as the C code does.
    """
    fs = int(fs)
    if not params.FS_MIN <= fs <= params.FS_MAX:
        raise ValueError(f"sample rate {fs} Hz outside {params.FS_MIN}..{params.FS_MAX}")
    codes = np.minimum(np.asarray(adc).astype(np.int64), params.ADC_MAX)
    if codes.ndim != 1:
        raise ValueError(f"adc must be one-dimensional, got shape {codes.shape}")
    if np.any(codes < 0):
        raise ValueError("adc codes must be non-negative (uint16)")
    if lead_off is not None and len(lead_off) != len(codes):
        raise ValueError(f"lead_off has {len(lead_off)} samples, adc {len(codes)}")
    segs, events = segments(codes, fs, lead_off)
    pre125 = params.pre_delay125(fs)
    beats: list[Emitted] = []
    dets: list[int] = []
    dropped = 0
    for start, stop in segs:
        rs = resample(codes[start:stop], fs)
        ch = chain(rs.y4)
        n_out = len(rs.y4)
        bb = BeatBuilder(rs.y4, start, fs)

        def to_input(r: int, start: int = start) -> int:
            return (r * fs - pre125 + 62) // params.RATE + start

        found = detect(ch, bb, to_input, n_out)
        bb.advance(n_out)
        beats.extend(bb.out)
        dets.extend(d[2] for d in found)
        dropped += bb.dropped
        if stop < len(codes):  # the signal was lost: waiting beats are dropped
            dropped += len(bb.queue)

    def col(name: str) -> np.ndarray:
        return np.asarray([getattr(b, name) for b in beats], dtype=np.int64)

    x = np.stack([b.x for b in beats]) if beats else np.zeros((0, params.N_INPUTS), dtype=np.uint8)
    return FrontendResult(
        col("r_sample"), col("rr_pre"), col("rr_post"), col("rr_avg"), col("hr_x10"), col("flags"),
        col("emitted_at"), x, np.asarray(dets, dtype=np.int64), events, min(dropped, 0xFFFF),
    )
