"""Constants shared with lib/tbfront/tbfront.c (keep both in step)."""

from __future__ import annotations

FS_MIN, FS_MAX = 125, 360  # Hz, supported input rates
ADC_MAX = 1023
RATE = 125                 # Hz, internal rate (detector and beat window)
BEAT_LEN = 187             # beat window, 125 Hz samples
N_FEATURES = 6
N_INPUTS = BEAT_LEN + N_FEATURES  # 193


def takes_beats(n_inputs: int) -> bool:
    """Whether a model of ``n_inputs`` inputs can classify the front end's beats: all N_INPUTS
    bytes, or the BEAT_LEN-byte window alone (the C twin is TBF_MODEL_TAKES_BEATS in tbfront.h)."""
    return n_inputs in (N_INPUTS, BEAT_LEN)

# 125 Hz timing
LEARN = 250     # 2 s learning after every (re)start
REFRACT = 25    # 200 ms refractory period
TWAVE = 45      # 360 ms: closer peaks may be T waves
PAUSE = 250     # 2 s without a next R: beat reported with FLAG_PAUSE
QUIET = 375     # 3 s without a QRS: thresholds halve
MWI_N = 19      # moving-window integration, 152 ms
R_SEARCH = 25   # band-pass samples searched for the R peak
BP_DELAY = 14   # band-pass group delay, 125 Hz samples
WIN_DELAY = 0   # beat-window signal (y4) delay
RR_CAP125 = 1000  # RR values kept in the history are clamped (8 s)
RR_CAPIN = 6000
QUEUE = 6       # beats waiting for completion
RR_N = 10
AMP_N = 8
RING = 256

# signal check (input rate)
FLAT_TOL = 2
FLAT_BLOCKS = 8
RAIL_LO = 1
RAIL_HI = 1022

# signal states (tbf_signal_t) and beat flags
SIG_OK, SIG_LEAD_OFF, SIG_FLAT, SIG_SATURATED = 0, 1, 2, 3
FLAG_NO_PRE = 0x01
FLAG_PAUSE = 0x02


def pre_len(fs: int) -> int:
    """Pre-filter (moving sum) length in input samples: round(fs / 125), 1..3."""
    return (fs + 62) // RATE


def resample_gain(fs: int) -> int:
    """Resampler gain G = round(m0 * 65536 / 375), m0 = 12 / pre_len: y4 = num * G >> 16."""
    m0 = 12 // pre_len(fs)
    return (m0 * 65536 + 187) // 375


def pre_delay125(fs: int) -> int:
    """Pre-filter group delay in 1/125 input samples."""
    return (pre_len(fs) - 1) * 125 // 2


def block_len(fs: int) -> int:
    """Signal-check block, input samples (a quarter second)."""
    return (fs + 2) // 4

HOLD = 25       # pre-blanking: a peak is released 200 ms after it was taken
TH_NUM = 3      # detection threshold: noise + TH_NUM/16 (qrs - noise)
SB_NUM = 53     # search-back after SB_NUM/32 (1.66) x the mean RR without a QRS
