"""The signal a board is fed in ``tinybeat stream``: a recording as module pin voltages and ADC codes.

The record (WFDB, or a CSV recording as training reads it: loaded by
:func:`tinybeat.recordings.labelled.load_any`, resampled to 360 Hz when faster) becomes pin
voltages of an AD8232-class module (:mod:`tinybeat.frontend.analog`): played on
the simulated board's ADC pin (``avr-vboard --adc-file``), or sent to a real
board as SAMPLES frames of codes (a PC cannot drive the board's analog pin).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.frontend import analog
from tinybeat.device import protocol


@dataclass
class Signal:
    """What the board is fed (n samples at fs Hz).

    pin_mv: int32 (n,) module output in whole mV (the simulated ADC pin);
    lead_off: bool (n,) True where the electrodes are off (LO+/LO- high);
    codes: uint16 (n,) the ADC codes the board reads (analog.adc_code), 0 where lead-off;
    ann_samples / vf_intervals: reference beats and VF episodes, or None;
    ann_note: why detection metrics cannot be computed (empty when they can);
    ann_symbols: str (k,) the reference beats' symbols, or None;
    start_s: where in the record sample 0 lies (s); resampled_from: the record's
    own rate when the host resampled it to fs; non_beats: non-beat annotations left out.
    """

    name: str
    fs: int
    pin_mv: np.ndarray
    lead_off: np.ndarray
    ann_samples: np.ndarray | None = None
    vf_intervals: np.ndarray | None = None
    ann_note: str = ""
    ann_symbols: np.ndarray | None = None
    start_s: float = 0.0
    resampled_from: int | None = None
    non_beats: dict | None = None

    @property
    def codes(self) -> np.ndarray:
        c = analog.adc_code(self.pin_mv)
        c[self.lead_off] = 0
        return c

    @property
    def n(self) -> int:
        return len(self.pin_mv)


def pin_mv_for_codes(codes: np.ndarray, vref_mv: int = analog.VREF_MV) -> np.ndarray:
    """The lowest whole-mV pin voltage the ADC converts to each code (int32, same shape)."""
    c = np.asarray(codes, dtype=np.int64)
    return ((c * vref_mv + analog.ADC_MAX - 1) // analog.ADC_MAX).astype(np.int32)


def load_signal(rec, start_s: float = 0.0, duration_s: float | None = None,
                lead_off_s: tuple[float, float] | None = None, ann_name: str = "") -> Signal:
    """A stretch of a loaded record (:class:`tinybeat.recordings.records.Record`) as a :class:`Signal`.

    start_s / duration_s cut the stretch (None = to the end); lead_off_s
    (start, end) in seconds of that stretch marks electrodes off. The
    options are checked beforehand (:func:`tinybeat.device.stream.check_options`);
    a path instead of a Record is loaded with :func:`tinybeat.recordings.records.load_record`.
    """
    if isinstance(rec, (str, Path)):
        from tinybeat.recordings.records import load_record

        ann_name = ann_name or f"{rec}.atr"
        rec = load_record(rec)
    if duration_s is not None and duration_s <= 0:
        duration_s = None
    fs = rec.fs
    a = int(round(start_s * fs))
    b = len(rec.adc) if duration_s is None else min(len(rec.adc), a + int(round(duration_s * fs)))
    # The ADC pin carries a voltage the board converts itself; records.py gives the codes of the
    # analog model, and the lowest voltage with that code is converted back to it exactly.
    pin = pin_mv_for_codes(rec.adc[a:b])
    assert np.array_equal(analog.adc_code(pin), rec.adc[a:b])
    lead_off = np.zeros(b - a, dtype=bool)
    if lead_off_s is not None:
        lo, hi = (int(round(t * fs)) for t in lead_off_s)
        lead_off[max(lo, 0):min(hi, b - a)] = True
    sig = Signal(rec.name, fs, pin, lead_off, start_s=a / fs, resampled_from=rec.resampled_from,
                 non_beats=rec.non_beats)
    if rec.ann_samples is None:
        sig.ann_note = f"{ann_name or rec.name} not found: no reference beats, detection metrics not computed"
    else:
        keep = (rec.ann_samples >= a) & (rec.ann_samples < b)
        sig.ann_samples = rec.ann_samples[keep] - a
        sig.ann_symbols = None if rec.ann_symbols is None else np.asarray(rec.ann_symbols)[keep]
        if rec.vf_intervals is not None:
            sig.vf_intervals = np.clip(rec.vf_intervals - a, 0, b - a - 1)
    return sig


def adc_file_bytes(sig: Signal) -> bytes:
    """The vboard's --adc-file: little-endian uint16 mV per sample, 0xFFFF where lead-off."""
    mv = np.clip(sig.pin_mv, 0, 0xFFFE).astype("<u2")
    mv[sig.lead_off] = 0xFFFF
    return mv.tobytes()


def host_samples(sig: Signal) -> np.ndarray:
    """The SAMPLES values for a board without the analog front end (uint16 (n,))."""
    s = sig.codes.astype(np.uint16)
    s[sig.lead_off] = protocol.SAMPLE_LEAD_OFF
    return s


def board_samples(sig: Signal, total: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes and lead-off flags the board processed: sig, then its last sample held (vboard tail)."""
    codes, lead = sig.codes, sig.lead_off
    extra = max(0, total - sig.n)
    if extra:
        codes = np.concatenate([codes, np.full(extra, codes[-1], dtype=codes.dtype)])
        lead = np.concatenate([lead, np.full(extra, lead[-1])])
    return codes[:total], lead[:total]
