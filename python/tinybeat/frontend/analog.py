"""The analog path from an ECG recording to the AVR's 10-bit ADC codes.

One model, used by the dataset builder (training data), by the virtual board's
feed (simulated hardware) and by the reference front end, so that the three
see the same integers:

1. an AD8232-class module: output = REF + GAIN * ECG, clipped to its supply
   rails (0 .. SUPPLY_MV). REF is the module's mid-supply reference. The gain
   is set by the module's resistors; the common breakout boards use about
   1100 V/V, which clips many MIT-BIH beats (R waves up to 3 mV), so tinybeat
   assumes a module configured for GAIN_V_PER_V = 500 (±3.3 mV range).
2. the AVR ADC with AVcc = VREF_MV as reference: code = pin_mv * 1023 // VREF_MV
   clamped to 1023 (the conversion simavr performs; a real ATmega2560 computes
   Vin * 1024 / Vref, at most one code apart).

Pin voltages are whole millivolts (the virtual board's unit).
"""

from __future__ import annotations

import numpy as np

SUPPLY_MV = 3300      # AD8232 supply: output rails
REF_MV = 1650         # AD8232 REFOUT: mid supply
GAIN_V_PER_V = 500    # module gain (in-amp 100 x op-amp 5)
VREF_MV = 5000        # ADC reference: AVcc of a 5 V Arduino
ADC_MAX = 1023


def ecg_to_pin_mv(adu: np.ndarray, adc_gain: float, adc_zero: int, gain: int = GAIN_V_PER_V) -> np.ndarray:
    """Module output in whole mV (int32, same shape) for digitised ECG samples.

    adu: raw integer samples of a recording (e.g. WFDB d_signal), adc_gain
    units per mV, adc_zero the code of 0 mV. Rounded half away from zero,
    then clipped to 0..SUPPLY_MV.
    """
    mv_ecg = (np.asarray(adu, dtype=np.float64) - adc_zero) / float(adc_gain)
    out = REF_MV + mv_ecg * gain
    rounded = np.sign(out) * np.floor(np.abs(out) + 0.5)
    return np.clip(rounded, 0, SUPPLY_MV).astype(np.int32)


def adc_code(pin_mv: np.ndarray, vref_mv: int = VREF_MV) -> np.ndarray:
    """10-bit ADC codes (uint16, same shape) for pin voltages in whole mV."""
    mv = np.clip(np.asarray(pin_mv, dtype=np.int64), 0, None)
    return np.minimum(mv * ADC_MAX // vref_mv, ADC_MAX).astype(np.uint16)
