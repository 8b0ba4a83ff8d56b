"""Input quantisation shared by training, the reference model and the device.

The device sees each sample as one unsigned byte. A value v in the declared
input range [lo, hi] becomes round((v - lo) / (hi - lo) * 255), rounding half
away from zero, clipped to 0..255. Models are trained on these bytes, so the
integer model and its training data agree exactly.
"""

from __future__ import annotations

import numpy as np

INPUT_LEVELS = 255


def quantize_inputs(X: np.ndarray, input_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
    """Map float samples (n_rows, n_inputs) in `input_range` to uint8 (n_rows, n_inputs)."""
    lo, hi = float(input_range[0]), float(input_range[1])
    if not hi > lo:
        raise ValueError(f"input_range must have hi > lo, got {input_range}")
    scaled = (np.asarray(X, dtype=np.float64) - lo) * (INPUT_LEVELS / (hi - lo))
    return np.clip(np.floor(scaled + 0.5), 0, INPUT_LEVELS).astype(np.uint8)


def power_of_two_scale(max_abs: float, limit: int) -> int:
    """Largest power of two s (as exponent) with max_abs * 2**s <= limit; may be negative."""
    if max_abs <= 0:
        return 0
    return int(np.floor(np.log2(limit / max_abs)))
