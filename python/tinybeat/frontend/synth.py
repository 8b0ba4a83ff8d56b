"""Synthetic ECG as ADC codes, for tests (P, QRS and T waves of a lead-II-like beat)."""

from __future__ import annotations

import numpy as np

from tinybeat.frontend.analog import adc_code, ecg_to_pin_mv


def synthetic_ecg(fs: int, seconds: float, bpm: float = 72.0, seed: int = 0, noise_mv: float = 0.02,
                  wander_mv: float = 0.1, rr_jitter: float = 0.03) -> tuple[np.ndarray, np.ndarray]:
    """Return (codes uint16 (n,), r_samples int64 (m,)): a beat train through the analog model.

    Gaussian P (0.15 mV), Q (-0.1), R (1.2), S (-0.25) and T (0.3 mV) waves,
    RR = 60/bpm s with relative jitter, 0.3 Hz baseline wander and white noise.
    """
    rng = np.random.default_rng(seed)
    n = int(round(seconds * fs))
    t = np.arange(n) / fs
    mv = wander_mv * np.sin(2 * np.pi * 0.3 * t) + noise_mv * rng.standard_normal(n)
    waves = ((-0.20, 0.025, 0.15), (-0.03, 0.008, -0.10), (0.0, 0.010, 1.2), (0.03, 0.008, -0.25),
             (0.28, 0.045, 0.30))
    r_times = []
    tr = 0.6
    while tr < seconds - 0.6:
        r_times.append(tr)
        tr += 60.0 / bpm * (1 + rr_jitter * rng.standard_normal())
    for tr in r_times:
        lo, hi = int((tr - 0.4) * fs), int((tr + 0.6) * fs)
        seg = t[lo:hi] - tr
        for off, width, amp in waves:
            mv[lo:hi] += amp * np.exp(-0.5 * ((seg - off) / width) ** 2)
    adu = np.round(mv * 200).astype(np.int64)  # 200 units per mV, zero at 0
    codes = adc_code(ecg_to_pin_mv(adu, 200.0, 0))
    return codes, np.round(np.asarray(r_times) * fs).astype(np.int64)
