"""Resample a recording above the front end's 360 Hz to 360 Hz on the host, with its beat annotations.

The board's front end takes 125..360 Hz. A faster recording (500 Hz, 1000 Hz
Holter or wearable data) is brought to ``TARGET_FS`` = 360 Hz by rational
polyphase resampling, up by ``L`` and down by ``M`` (``fs * L / M = 360``,
e.g. 1000 Hz: L = 9, M = 25), with numpy only:

- anti-alias filter: a linear-phase low-pass FIR designed by the windowed-sinc
  method (Kaiser window, beta 5.0), ``2 * 10 * max(L, M) + 1`` taps at the
  upsampled rate, cut-off at the lower Nyquist frequency (``fs_out / 2`` when
  going down: 180 Hz), unit gain at DC;
- zero phase: the filter's delay is removed, so sample ``k`` at ``fs`` maps to
  ``k * L / M`` and annotations move by exactly that (rounded to the nearest
  output sample);
- edges: the input is extended by its first and last values, so the output
  does not sag towards zero at the ends.

The same function serves training (``data.kind: records``) and playback
(``tinybeat stream``) through :mod:`tinybeat.recordings.records` and
:mod:`tinybeat.recordings.labelled`, so both see the same samples and beats.
"""

from __future__ import annotations

from math import gcd

import numpy as np

TARGET_FS = 360
KAISER_BETA = 5.0
HALF_TAPS_PER_FACTOR = 10


def ratio(fs_in: int, fs_out: int = TARGET_FS) -> tuple[int, int]:
    """(L, M): up and down factors with fs_in * L / M == fs_out, in lowest terms."""
    g = gcd(int(fs_in), int(fs_out))
    return int(fs_out) // g, int(fs_in) // g


def lowpass(up: int, down: int) -> np.ndarray:
    """The anti-alias FIR (float64 (taps,)) at the upsampled rate, gain ``up`` at DC (interpolation)."""
    half = HALF_TAPS_PER_FACTOR * max(up, down)
    n = np.arange(-half, half + 1, dtype=np.float64)
    cutoff = 1.0 / max(up, down)  # of the upsampled Nyquist frequency
    h = cutoff * np.sinc(cutoff * n) * np.kaiser(2 * half + 1, KAISER_BETA)
    return h * (up / h.sum())


def resample(x: np.ndarray, fs_in: int, fs_out: int = TARGET_FS) -> np.ndarray:
    """x (n,) sampled at fs_in Hz, resampled to fs_out Hz: float64 (ceil(n * L / M),)."""
    x = np.asarray(x, dtype=np.float64)
    up, down = ratio(fs_in, fs_out)
    if up == down:
        return x.copy()
    h = lowpass(up, down)
    half = (len(h) - 1) // 2
    pad = half // up + 2
    xp = np.concatenate([np.full(pad, x[0]), x, np.full(pad, x[-1])])
    n_out = -(-len(x) * up // down)
    # output m sits at upsampled index t = m * down (+ the padding); it sums h[k] * xp[j] over
    # the input samples j with j * up = t + half - k, i.e. one polyphase branch of h per t mod up
    t = np.arange(n_out, dtype=np.int64) * down + pad * up + half
    out = np.empty(n_out, dtype=np.float64)
    for phase in range(up):
        sel = np.flatnonzero(t % up == phase)
        if not sel.size:
            continue
        branch = h[phase::up]  # h[phase + up * i]
        conv = np.convolve(xp, branch)  # conv[q] = sum_i branch[i] * xp[q - i]
        out[sel] = conv[(t[sel] - phase) // up]
    return out


def resample_samples(samples: np.ndarray, fs_in: int, n_out: int, fs_out: int = TARGET_FS) -> np.ndarray:
    """Annotation sample indices at fs_in moved to fs_out (int64, rounded, clipped to 0..n_out-1)."""
    up, down = ratio(fs_in, fs_out)
    s = np.asarray(samples, dtype=np.int64)
    return np.clip((s * up * 2 + down) // (2 * down), 0, max(n_out - 1, 0))
