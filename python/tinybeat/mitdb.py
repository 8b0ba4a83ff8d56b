"""Build the default heartbeat dataset from the raw MIT-BIH Arrhythmia Database.

Reproduces the preprocessing behind the Kaggle "ECG Heartbeat Categorization"
dataset (Kachuee, Fazeli & Sarrafzadeh, ECG Heartbeat Classification: A Deep
Transferable Representation, IEEE ICHI 2018, arXiv:1805.00794), with the
reference beat annotations instead of an R-peak detector:

1. lead MLII (V5 for records 102 and 104), chosen by name from the header;
2. resample 360 Hz -> 125 Hz with ``scipy.signal.resample_poly(x, 25, 72)``;
3. cut the signal into consecutive, non-overlapping 10 s windows (1250
   samples); the trailing partial window is dropped; each window is min-max
   normalised to [0, 1] (flat windows are skipped);
4. in each window, T = median R-R interval of the annotated beats (windows with
   fewer than 2 beats are skipped: T is undefined); every beat yields the
   segment starting at its R-peak (annotation sample ``s`` -> ``round(s*25/72)``)
   of length ``round(1.2*T)`` capped at 187 samples, zero-padded to 187. Beats
   whose segment would run past the window's end are skipped (no cropped beats);
5. labels: 0 = N L R e j, 1 = A a J S V E F / f Q; other symbols are not beats;
6. per record, normal beats are thinned to at most ``NORMAL_CAP`` and each
   abnormal symbol to at most ``ABNORMAL_CAP_PER_SYMBOL`` by evenly spaced,
   integer-exact index selection (no RNG), so long normal records don't dominate
   and rare abnormal kinds are kept;
7. split by record (patient) into the fixed ``TEST_RECORDS`` and everything
   else (records 201 and 202, the same patient, are both in train).

Outputs ``mitbih_train.csv.gz`` and ``mitbih_test.csv.gz`` with the header
``s0,...,s186,target,record``; values are written with ``DECIMALS`` decimals,
gzip with mtime 0 and no file name, written atomically: the files are
byte-for-byte reproducible.

The raw records are not downloaded automatically; when online,
``wfdb.dl_database("mitdb", dir)`` fetches them from PhysioNet.

Usage: ``python -m tinybeat.mitdb --mitdb ../shared/data/mitdb --out data``
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import sys
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from scipy.signal import resample_poly
from tqdm import tqdm

with warnings.catch_warnings():  # wfdb 4.3.1 uses set_index(inplace=True), deprecated by pandas
    warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
    import wfdb

from .atomic import write_bytes_atomic

FS_IN = 360  # Hz, MIT-BIH sampling rate
UP, DOWN = 25, 72  # 360 Hz * 25 / 72 = 125 Hz
WINDOW = 1250  # samples at 125 Hz (10 s)
BEAT_LEN = 187  # samples at 125 Hz (1.496 s), Kaggle row length
SPAN = 1.2  # beat length as a multiple of the window's median R-R interval
LEADS = ("MLII", "V5")  # in order of preference
NORMAL_SYMBOLS = ("N", "L", "R", "e", "j")
ABNORMAL_SYMBOLS = ("A", "a", "J", "S", "V", "E", "F", "/", "f", "Q")
NORMAL_CAP = 250  # max normal beats kept per record
ABNORMAL_CAP_PER_SYMBOL = 150  # max beats kept per abnormal symbol per record
# ~20 % of the beats, ~1/3 abnormal, 9 abnormal kinds: paced (104: / f Q), ventricular
# (105, 210, 223: V F E), supraventricular (222, 223: A a), junctional (222, 234: J j),
# clean normal rhythm (115, 122). Every other record (incl. 201+202, one patient) trains.
TEST_RECORDS = ("104", "105", "115", "122", "210", "222", "223", "234")
SAME_PATIENT = (("201", "202"),)
DECIMALS = 3
GZIP_LEVEL = 6  # level 9 is ~10x slower for ~8 % smaller files
FILES = {"train": "mitbih_train.csv.gz", "test": "mitbih_test.csv.gz"}


@dataclass(frozen=True)
class RecordBeats:
    """Beats of one record: ``beats`` float64 (n, 187) in [0, 1]; ``symbols`` (n,) str."""

    record: str
    beats: np.ndarray
    symbols: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        """int64 (n,): 0 normal, 1 abnormal."""
        return np.isin(self.symbols, ABNORMAL_SYMBOLS).astype(np.int64)


def list_records(mitdb_dir: Path) -> list[str]:
    """Record names from ``mitdb_dir/RECORDS``; clear error if the directory is absent."""
    mitdb_dir = Path(mitdb_dir)
    if not mitdb_dir.is_dir():
        raise FileNotFoundError(
            f"MIT-BIH directory not found: {mitdb_dir} (expected NNN.dat/.hea/.atr and "
            "RECORDS; when online, wfdb.dl_database('mitdb', dir) downloads them from PhysioNet)"
        )
    listing = mitdb_dir / "RECORDS"
    if not listing.is_file():
        raise FileNotFoundError(f"{listing}: RECORDS file missing from the MIT-BIH directory")
    records = listing.read_text().split()
    for rec in records:
        for ext in (".dat", ".hea", ".atr"):
            if not (mitdb_dir / f"{rec}{ext}").is_file():
                raise FileNotFoundError(f"{mitdb_dir / (rec + ext)}: listed in RECORDS but missing")
    return records


def pick_lead(sig_names: Sequence[str]) -> str:
    """First of ``LEADS`` present in the header's signal names."""
    for lead in LEADS:
        if lead in sig_names:
            return lead
    raise ValueError(f"none of the leads {LEADS} in signals {list(sig_names)}")


def read_record(mitdb_dir: Path, record: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (signal float64 (n,) at 125 Hz in mV, R-peaks int64 (k,) at 125 Hz, symbols (k,) str).

    Only beat annotations (normal or abnormal symbols) are returned.
    """
    path = str(Path(mitdb_dir) / record)
    header = wfdb.rdheader(path)
    if header.fs != FS_IN:
        raise ValueError(f"{path}: sampling rate {header.fs} Hz, expected {FS_IN}")
    lead = pick_lead(header.sig_name)
    signal = wfdb.rdrecord(path, channel_names=[lead]).p_signal[:, 0]
    signal = resample_poly(signal, UP, DOWN)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
        ann = wfdb.rdann(path, "atr")
    symbols = np.asarray(ann.symbol)
    is_beat = np.isin(symbols, NORMAL_SYMBOLS + ABNORMAL_SYMBOLS)
    peaks = (np.asarray(ann.sample, dtype=np.int64)[is_beat] * UP + DOWN // 2) // DOWN
    return signal, peaks, symbols[is_beat]


def segment_beats(
    signal: np.ndarray, peaks: np.ndarray, symbols: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cut beats as in Kachuee et al.: returns (beats float64 (m, 187) in [0, 1], symbols (m,))."""
    beats: list[np.ndarray] = []
    kept: list[str] = []
    for lo in range(0, len(signal) - WINDOW + 1, WINDOW):
        in_win = (peaks >= lo) & (peaks < lo + WINDOW)
        if in_win.sum() < 2:
            continue
        seg = signal[lo : lo + WINDOW]
        low, high = seg.min(), seg.max()
        if high <= low:
            continue
        seg = (seg - low) / (high - low)
        starts = peaks[in_win] - lo
        length = min(int(np.rint(SPAN * np.median(np.diff(starts)))), BEAT_LEN)
        for start, sym in zip(starts, symbols[in_win]):
            if start + length > WINDOW:
                continue
            beat = np.zeros(BEAT_LEN)
            beat[:length] = seg[start : start + length]
            beats.append(beat)
            kept.append(str(sym))
    return np.asarray(beats, dtype=np.float64).reshape(-1, BEAT_LEN), np.asarray(kept, dtype=str)


def evenly_spaced(n: int, k: int) -> np.ndarray:
    """Sorted int64 indices of ``min(n, k)`` evenly spaced items out of ``n`` (integer-exact)."""
    if n <= k:
        return np.arange(n, dtype=np.int64)
    return (np.arange(k, dtype=np.int64) * n) // k


def cap_beats(symbols: np.ndarray) -> np.ndarray:
    """Sorted indices kept: normals capped at NORMAL_CAP, each abnormal symbol at its own cap."""
    groups = [np.flatnonzero(np.isin(symbols, NORMAL_SYMBOLS))]
    caps = [NORMAL_CAP]
    for sym in ABNORMAL_SYMBOLS:
        groups.append(np.flatnonzero(symbols == sym))
        caps.append(ABNORMAL_CAP_PER_SYMBOL)
    keep = [idx[evenly_spaced(len(idx), cap)] for idx, cap in zip(groups, caps)]
    return np.sort(np.concatenate(keep))


def record_beats(mitdb_dir: Path, record: str) -> RecordBeats:
    """Read, segment and cap one record."""
    beats, symbols = segment_beats(*read_record(mitdb_dir, record))
    keep = cap_beats(symbols)
    return RecordBeats(record, beats[keep], symbols[keep])


def split_records(records: Sequence[str]) -> dict[str, list[str]]:
    """Fixed split: ``TEST_RECORDS`` vs the rest; same-patient records must stay together."""
    missing = sorted(set(TEST_RECORDS) - set(records))
    if missing:
        raise FileNotFoundError(f"test records missing from RECORDS: {missing}")
    split = {
        "train": sorted(r for r in records if r not in TEST_RECORDS),
        "test": sorted(TEST_RECORDS),
    }
    for group in SAME_PATIENT:
        homes = {name for name, recs in split.items() for r in group if r in recs}
        if len(homes) > 1:
            raise AssertionError(f"records {group} (same patient) split across {homes}")
    return split


def to_csv_bytes(parts: Sequence[RecordBeats]) -> bytes:
    """CSV (header ``s0..s186,target,record``) with ``DECIMALS`` fixed decimals, LF line ends."""
    out = io.StringIO()
    out.write(",".join([f"s{i}" for i in range(BEAT_LEN)] + ["target", "record"]) + "\n")
    fmt = f"{{:.{DECIMALS}f}}".format
    for part in parts:
        tail = [f",{label},{part.record}\n" for label in (0, 1)]
        for beat, label in zip(part.beats, part.labels):
            out.write(",".join(map(fmt, beat.tolist())) + tail[label])
    return out.getvalue().encode("ascii")


def gzip_bytes(data: bytes) -> bytes:
    """Reproducible gzip: mtime 0, no file name, fixed level."""
    buf = io.BytesIO()
    with gzip.GzipFile("", "wb", GZIP_LEVEL, buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def summarize(parts: Sequence[RecordBeats]) -> dict:
    """rows, normal/abnormal counts, records and per-symbol counts of one split."""
    symbols = Counter(s for p in parts for s in p.symbols.tolist())
    abnormal = sum(int(p.labels.sum()) for p in parts)
    rows = sum(len(p.symbols) for p in parts)
    return {
        "records": [p.record for p in parts],
        "rows": rows,
        "normal": rows - abnormal,
        "abnormal": abnormal,
        "symbols": {s: symbols[s] for s in NORMAL_SYMBOLS + ABNORMAL_SYMBOLS if symbols[s]},
    }


def build_dataset(mitdb_dir: Path, out_dir: Path, *, progress: bool = True) -> dict:
    """Build both splits into ``out_dir``; return ``{"train": {...}, "test": {...}}`` summaries.

    Each summary holds ``file``, ``bytes``, ``records``, ``rows``, ``normal``,
    ``abnormal`` and ``symbols`` (beat symbol -> count).
    """
    split = split_records(list_records(mitdb_dir))
    order = sorted(r for recs in split.values() for r in recs)
    parts = {
        rec: record_beats(mitdb_dir, rec)
        for rec in tqdm(order, desc="mitdb records", unit="rec", disable=not progress)
    }
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    summary: dict = {}
    for name, recs in split.items():
        chosen = [parts[r] for r in recs]
        path = out_dir / FILES[name]
        write_bytes_atomic(path, gzip_bytes(to_csv_bytes(chosen)))
        summary[name] = {"file": str(path), "bytes": path.stat().st_size, **summarize(chosen)}
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    """CLI: build the dataset and print the summary as JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m tinybeat.mitdb", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--mitdb",
        type=Path,
        default=Path("../shared/data/mitdb"),
        help="directory with the raw MIT-BIH records (default: %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path("data"), help="output directory (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    try:
        summary = build_dataset(args.mitdb, args.out, progress=not args.quiet)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
