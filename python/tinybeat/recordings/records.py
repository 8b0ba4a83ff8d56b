"""Read one WFDB record as the board would see it: 10-bit ADC codes plus reference beats.

``load_record("../shared/data/mitdb/100")`` reads ``100.hea``, ``100.dat`` and,
when present, ``100.atr``; picks lead MLII by name (else the first signal, e.g.
V5 for MIT-BIH 102 and 104); turns the digitised samples into the ADC codes of
the AVR through the shared analog model (``tinybeat.frontend.analog``:
``adc_code(ecg_to_pin_mv(adu, adc_gain, baseline))``); keeps only the BEAT
annotations (``BEAT_SYMBOLS``; the others are counted in ``non_beats``) and the
ventricular flutter/fibrillation episodes (``[`` ... ``]`` marks) that ANSI/AAMI
EC57 excludes from beat-by-beat scoring. A record sampled above 360 Hz is
resampled to 360 Hz with its annotations (:mod:`tinybeat.recordings.resample`).

Every problem raises :class:`RecordError` (a ``ValueError``) with one line
naming the file and the reason.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.frontend.analog import adc_code, ecg_to_pin_mv
from tinybeat.recordings import resample as rs

# WFDB beat annotation codes (wfdb's ann_label_table, "is beat"); everything else is a
# rhythm, noise or comment mark.
BEAT_SYMBOLS = ("N", "L", "R", "B", "A", "a", "J", "S", "V", "r", "F", "e", "j", "n", "E", "/", "f", "Q", "?")
# WFDB's non-beat annotation codes (rhythm `+`, noise `~`, artifact `|`, VF `[ ! ]`, waves, comments):
# not reference beats; left out and counted
NON_BEAT_SYMBOLS = ("+", "~", "|", "[", "]", "!", "x", "(", ")", "p", "t", "u", "`", "'", "^", "s", "T",
                    "*", "D", "=", '"', "@")
PREFERRED_LEAD = "MLII"
FS_MIN, FS_MAX = 125, 360


def _wfdb():
    """The wfdb package, imported on first use (it imports pandas: about a second that error paths and
    commands without records should not pay)."""
    with warnings.catch_warnings():  # wfdb 4.3.1 uses set_index(inplace=True), deprecated by pandas
        warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
        import wfdb
    return wfdb


class RecordError(ValueError):
    """A WFDB record that cannot be used; the message names the file and the reason."""


@dataclass(frozen=True)
class Record:
    """One record as ADC codes.

    name: record name (file stem); fs: sampling rate in Hz (int);
    lead: name of the signal used; adc: uint16 (n,) 10-bit codes;
    ann_samples: int64 (k,) sample index of each reference beat, or None without .atr;
    ann_symbols: str (k,) their WFDB symbols, or None;
    vf_intervals: int64 (m, 2) [start, end] sample of each ventricular flutter /
    fibrillation episode (``[`` to ``]``, an open ``[`` runs to the end), or None;
    resampled_from: the original rate (Hz) when the record was resampled to fs;
    non_beats: the non-beat annotations left out, symbol -> count (None without annotations).
    """

    name: str
    fs: int
    lead: str
    adc: np.ndarray
    ann_samples: np.ndarray | None
    ann_symbols: np.ndarray | None
    vf_intervals: np.ndarray | None
    resampled_from: int | None = None  # the recording's own rate when it was resampled to fs
    non_beats: dict | None = None  # non-beat annotations left out: symbol -> count


def _vf_intervals(samples: np.ndarray, symbols: np.ndarray, n: int) -> np.ndarray:
    """[start, end] pairs of the ``[``/``]`` episodes (an unclosed one ends at n - 1)."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for s, sym in zip(samples.tolist(), symbols.tolist()):
        if sym == "[" and start is None:
            start = s
        elif sym == "]" and start is not None:
            out.append((start, s))
            start = None
    if start is not None:
        out.append((start, n - 1))
    return np.asarray(out, dtype=np.int64).reshape(-1, 2)


def list_records(directory: str | Path, annotations: bool = True) -> list[str]:
    """Record names of a WFDB directory: its ``RECORDS`` file, else every ``.hea`` stem, sorted.

    Raises RecordError (one line) when the directory is missing, holds no
    record, or a listed record lacks its ``.hea`` / ``.dat`` (or ``.atr`` when
    ``annotations``) file.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise RecordError(f"{directory}: not a directory of WFDB records (NNN.hea/.dat/.atr)")
    listing = directory / "RECORDS"
    names = listing.read_text().split() if listing.is_file() else sorted(p.stem for p in directory.glob("*.hea"))
    if not names:
        raise RecordError(f"{directory}: no WFDB record (no RECORDS file and no .hea file)")
    for name in names:
        for ext in (".hea", ".dat") + ((".atr",) if annotations else ()):
            if not (directory / f"{name}{ext}").is_file():
                raise RecordError(f"{directory / (name + ext)}: listed in {listing.name if listing.is_file() else 'the directory'} but missing")
    return names


def load_record(path: str | Path) -> Record:
    """Load ``path`` (without extension) as a :class:`Record`; raise :class:`RecordError`."""
    path = Path(path)
    hea = path.with_name(path.name + ".hea")
    if not hea.is_file():
        raise RecordError(f"{hea}: header file missing")
    wfdb = _wfdb()
    try:
        header = wfdb.rdheader(str(path))
    except Exception as exc:  # wfdb raises many types for a malformed header
        raise RecordError(f"{hea}: unreadable header ({exc})") from None
    fs = check_rate(hea, header.fs)
    names = list(header.sig_name or [])
    if not names:
        raise RecordError(f"{hea}: no signals")
    lead = PREFERRED_LEAD if PREFERRED_LEAD in names else names[0]
    index = names.index(lead)
    dat = path.with_name(header.file_name[index]) if header.file_name else path.with_suffix(".dat")
    if not dat.is_file():
        raise RecordError(f"{dat}: signal file missing")
    sig_len = header.sig_len
    if not sig_len:
        raise RecordError(f"{hea}: signal length missing or zero")
    check_dat_size(dat, header, index)
    try:
        rec = wfdb.rdrecord(str(path), channels=[index], physical=False)
        adu = rec.d_signal[:, 0]
    except Exception as exc:
        raise RecordError(f"{dat}: unreadable signal ({type(exc).__name__})") from None
    if len(adu) != sig_len:
        raise RecordError(f"{dat}: truncated: {len(adu)} samples, header says {sig_len}")
    gain = float(header.adc_gain[index])
    if not gain > 0:
        raise RecordError(f"{hea}: signal {lead} has ADC gain {gain}")
    if fs > FS_MAX:
        adu = rs.resample(adu, fs)
    adc = adc_code(ecg_to_pin_mv(adu, gain, int(header.baseline[index])))

    ann_samples = ann_symbols = vf = None
    atr = path.with_name(path.name + ".atr")
    if atr.is_file():
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
                ann = wfdb.rdann(str(path), "atr")
        except Exception as exc:
            raise RecordError(f"{atr}: unreadable annotations ({type(exc).__name__}: {exc})") from None
        samples = np.asarray(ann.sample, dtype=np.int64)
        if fs > FS_MAX:
            samples = rs.resample_samples(samples, fs, len(adc))
        symbols = np.asarray(ann.symbol, dtype=str)
        is_beat = np.isin(symbols, BEAT_SYMBOLS)
        ann_samples, ann_symbols = samples[is_beat], symbols[is_beat]
        vf = _vf_intervals(samples, symbols, len(adc))
        non_beats = count_symbols(symbols[~is_beat])
    else:
        non_beats = None
    if fs > FS_MAX:
        return Record(path.name, rs.TARGET_FS, lead, adc, ann_samples, ann_symbols, vf, fs, non_beats)
    return Record(path.name, fs, lead, adc, ann_samples, ann_symbols, vf, None, non_beats)


def count_symbols(symbols) -> dict:
    """symbol -> count, in first-seen order."""
    out: dict = {}
    for s in list(symbols):
        out[str(s)] = out.get(str(s), 0) + 1
    return out


def check_rate(where: str | Path, fs) -> int:
    """The sampling rate as an int Hz: FS_MIN..FS_MAX as is, above FS_MAX resampled later; else RecordError."""
    if fs is None:
        raise RecordError(f"{where}: no sampling rate")
    if float(fs) != int(fs):
        raise RecordError(f"{where}: sampling rate {fs} Hz is not a whole number of Hz")
    if int(fs) < FS_MIN:
        raise RecordError(f"{where}: sampling rate {int(fs)} Hz is below the front end's {FS_MIN} Hz")
    return int(fs)


# bytes per sample of the WFDB storage formats (one signal)
_FORMAT_BYTES = {"8": 1.0, "16": 2.0, "61": 2.0, "80": 1.0, "160": 2.0, "212": 1.5, "24": 3.0, "32": 4.0,
                 "310": 4 / 3, "311": 4 / 3}


def check_dat_size(dat: Path, header, index: int) -> None:
    """RecordError naming dat when it holds fewer bytes than the header's samples need."""
    fmt = str(header.fmt[index])
    per = _FORMAT_BYTES.get(fmt)
    if per is None:
        return  # a format this check does not know: wfdb reads or refuses it
    name = header.file_name[index]
    n_sig = sum(1 for f in header.file_name if f == name)
    offset = int((header.byte_offset or [0] * len(header.file_name))[index] or 0)
    need = offset + int(np.ceil(header.sig_len * n_sig * per))
    have = dat.stat().st_size
    if have < need:
        raise RecordError(f"{dat}: truncated: {have} bytes, the header's {header.sig_len} samples x {n_sig} "
                          f"signal(s) in format {fmt} need {need}")
