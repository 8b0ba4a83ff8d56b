"""Beats from ECG records, cut by the device's own front end: the training data.

`tinybeat dataset` runs the streaming front end (tinybeat.frontend, bit-exact
with the firmware's lib/tbfront) over raw records and turns every detected,
complete beat into one row: the 187 window bytes and 6 rhythm/amplitude bytes
the board feeds its classifier, plus the label and the record. So the model is
trained on exactly what the board computes from its ADC.

Labels come from the reference annotations: each detected beat takes the
symbol of the reference beat it matches one-to-one within 150 ms (EC57 rule,
tinybeat.frontend.ec57). Nothing is dropped silently; every record's counts
are kept in the manifest (``dataset.json``):

- reference beats, detections, matched (TP), missed (FN), false detections (FP);
- beats without rhythm context (the first after the start or after signal loss:
  flag NO_PRE; not classified on the board either);
- beats before a pause of 2 s or more (flag PAUSE: post-RR is the 2 s waited;
  they are classified, on the board as here);
- detections never completed as a beat (the last one of the record);
- complete beats with no reference beat within 150 ms (false detections: no label);
- complete beats matched to an unclassifiable reference beat (``?``: no label);
- kept rows after the per-record caps.

Labels: 0 = N L R e j B, 1 = A a J S n V E r F / f Q. For the default MIT-BIH
dataset, normal beats are thinned per record to ``NORMAL_CAP`` and each
abnormal symbol to ``ABNORMAL_CAP_PER_SYMBOL`` (evenly spaced, no RNG), and
records are split by patient into ``TEST_RECORDS`` and the rest.
"""

from __future__ import annotations

import gzip
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from tinybeat import frontend
from tinybeat.util.atomic import write_bytes_atomic
from tinybeat.frontend import ec57
from tinybeat.recordings.records import Record, list_records, load_record

NORMAL_SYMBOLS = ("N", "L", "R", "e", "j", "B")
ABNORMAL_SYMBOLS = ("A", "a", "J", "S", "n", "V", "E", "r", "F", "/", "f", "Q")
WINDOW_COLUMNS = [f"s{i}" for i in range(187)]
FEATURE_COLUMNS = ["pre_rr", "post_rr", "avg_rr", "pre_ratio", "post_ratio", "amp_ratio"]
COLUMNS = WINDOW_COLUMNS + FEATURE_COLUMNS
NORMAL_CAP = 250
ABNORMAL_CAP_PER_SYMBOL = 150
# ~20 % of the beats, ~1/3 abnormal: paced (104), ventricular (105, 210, 223), supraventricular
# (222, 223), junctional (222, 234), clean normal rhythm (115, 122). Records 201 and 202 (one
# patient) both train.
TEST_RECORDS = ("104", "105", "115", "122", "210", "222", "223", "234")
SAME_PATIENT = (("201", "202"),)
GZIP_LEVEL = 6
FILES = {"train": "mitbih_train.csv.gz", "test": "mitbih_test.csv.gz"}
MANIFEST = "dataset.json"


@dataclass
class RecordBeats:
    """The labelled beats of one record and what happened to every detection.

    x: uint8 (n, 193) classifier inputs; symbols: (n,) str reference symbols;
    counts: see the module docstring; detection: EC57 scores of the record.
    """

    record: str
    x: np.ndarray
    symbols: np.ndarray
    counts: dict = field(default_factory=dict)
    detection: dict | None = None

    @property
    def labels(self) -> np.ndarray:
        """int64 (n,): 0 normal, 1 abnormal."""
        return np.isin(self.symbols, ABNORMAL_SYMBOLS).astype(np.int64)

    def take(self, idx: np.ndarray) -> "RecordBeats":
        return RecordBeats(self.record, self.x[idx], self.symbols[idx], dict(self.counts), self.detection)


def detection_scores(det: np.ndarray, rec: Record) -> dict:
    """EC57 scores of detections against the record's reference beats (:func:`ec57.score_record`).

    The headline is mode FROM_5_MIN (bxb's default: from 5 minutes into a
    record of at least 10 minutes, else the whole record), ventricular
    flutter episodes left out; ``whole`` holds the WHOLE-mode counts.
    """
    head, whole = (ec57.score_record(det, rec.ann_samples, rec.fs, len(rec.adc), mode, rec.vf_intervals)
                   for mode in (ec57.FROM_5_MIN, ec57.WHOLE))
    return {**score_dict(head.score), "start_s": head.start_s, "whole": score_dict(whole.score)}


def score_dict(s: "ec57.Score") -> dict:
    return {"reference_beats": s.tp + s.fn, "tp": s.tp, "fn": s.fn, "fp": s.fp,
            "sensitivity": s.se, "positive_predictivity": s.ppv}


def gross(scores: Sequence[dict]) -> dict:
    """Pooled counts over records (headline and whole-record)."""
    def pool(key: str | None) -> dict:
        parts = [d if key is None else d[key] for d in scores]
        total = ec57.Score(0, 0, 0)
        for d in parts:
            total = total + ec57.Score(d["tp"], d["fn"], d["fp"])
        return score_dict(total)

    if not scores:
        return {}
    return {**pool(None), "records": len(scores), "whole": pool("whole"),
            "note": "Headline from 5 minutes into each 30-minute record (WFDB bxb's default), "
                    "ventricular flutter episodes excluded; `whole` counts every beat."}


def label_record(rec: Record) -> RecordBeats:
    """Run the front end over a record and label its complete beats from the annotations.

    A record without annotations yields no rows (its counts say why).
    """
    res = frontend.run(rec.adc, rec.fs)
    n_complete = res.n_beats
    context = (res.flags & frontend.params.FLAG_NO_PRE) == 0  # a beat before a pause is classified too
    counts: dict = {"detections": int(len(res.detections)), "beats": n_complete,
                    "no_rhythm_context": int((~context).sum()),
                    "before_pause": int(((res.flags & frontend.params.FLAG_PAUSE) != 0).sum()),
                    "not_completed": int(len(res.detections) - n_complete)}
    if rec.ann_samples is None:
        counts["reason"] = "no reference annotations: beats cannot be labelled"
        empty = np.zeros((0, frontend.params.N_INPUTS), dtype=np.uint8)
        return RecordBeats(rec.name, empty, np.zeros(0, dtype=str), counts, None)
    detection = detection_scores(res.detections, rec)
    match = ec57.match(res.r_sample, rec.ann_samples, rec.fs)  # reference index per beat, -1 if none
    matched = match >= 0
    symbols = np.asarray(rec.ann_symbols, dtype=str)
    known = np.zeros(len(match), dtype=bool)
    known[matched] = np.isin(symbols[match[matched]], NORMAL_SYMBOLS + ABNORMAL_SYMBOLS)
    keep = context & matched & known
    counts.update({"reference_beats": int(len(rec.ann_samples)),
                   "unmatched_beats": int((context & ~matched).sum()),
                   "unclassifiable_reference": int((context & matched & ~known).sum()),
                   "labelled": int(keep.sum())})
    return RecordBeats(rec.name, res.x[keep], symbols[match[keep]], counts, detection)


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


def split_records(records: Sequence[str]) -> dict[str, list[str]]:
    """Fixed split by patient: ``TEST_RECORDS`` vs the rest; same-patient records stay together."""
    missing = sorted(set(TEST_RECORDS) - set(records))
    if missing:
        raise FileNotFoundError(f"test records missing from RECORDS: {missing}")
    split = {"train": sorted(r for r in records if r not in TEST_RECORDS), "test": sorted(TEST_RECORDS)}
    for group in SAME_PATIENT:
        homes = {name for name, recs in split.items() for r in group if r in recs}
        if len(homes) > 1:
            raise AssertionError(f"records {group} (same patient) split across {homes}")
    return split


def to_csv_bytes(parts: Sequence[RecordBeats]) -> bytes:
    """CSV with the header ``s0..s186,pre_rr,...,amp_ratio,target,record``; integer bytes, LF ends."""
    out = io.StringIO()
    out.write(",".join(COLUMNS + ["target", "record"]) + "\n")
    for part in parts:
        for row, label in zip(part.x.tolist(), part.labels.tolist()):
            out.write(",".join(map(str, row)) + f",{label},{part.record}\n")
    return out.getvalue().encode("ascii")


def gzip_bytes(data: bytes) -> bytes:
    """Reproducible gzip: mtime 0, no file name, fixed level."""
    buf = io.BytesIO()
    with gzip.GzipFile("", "wb", GZIP_LEVEL, buf, mtime=0) as gz:
        gz.write(data)
    return buf.getvalue()


def summarize(parts: Sequence[RecordBeats]) -> dict:
    """Rows, normal/abnormal counts, records and per-symbol counts of one split."""
    symbols = Counter(s for p in parts for s in p.symbols.tolist())
    abnormal = sum(int(p.labels.sum()) for p in parts)
    rows = sum(len(p.symbols) for p in parts)
    return {"records": [p.record for p in parts], "rows": rows, "normal": rows - abnormal,
            "abnormal": abnormal,
            "symbols": {s: symbols[s] for s in NORMAL_SYMBOLS + ABNORMAL_SYMBOLS if symbols[s]}}


def label_records(paths: Sequence[str], *, progress: bool = True, workers: int = 2,
                  desc: str = "records") -> list[RecordBeats]:
    """label_record over many records (in `workers` processes), in the order given."""
    from tqdm import tqdm

    if workers <= 1 or len(paths) <= 1:
        return [label_file(p) for p in tqdm(paths, desc=desc, unit="rec", disable=not progress)]
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(tqdm(pool.map(label_file, paths), total=len(paths), desc=desc, unit="rec",
                         disable=not progress))


def build_dataset(mitdb_dir: Path, out_dir: Path, *, progress: bool = True, workers: int = 2,
                  log: Callable[[str], None] = print) -> dict:
    """Build both splits and the manifest into ``out_dir``; return the manifest.

    The manifest holds per split the file, bytes, records, rows, class and
    symbol counts; per record the counts and EC57 detection scores; and the
    gross detection scores over all records.
    """
    split = split_records(list_records(mitdb_dir))
    order = sorted(r for recs in split.values() for r in recs)
    labelled = label_records([str(Path(mitdb_dir) / r) for r in order], progress=progress, workers=workers)
    parts = {}
    for part in labelled:
        kept = part.take(cap_beats(part.symbols))
        kept.counts["kept"] = int(len(kept.symbols))
        parts[part.record] = kept
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest: dict = {"splits": {}, "records": {}, "detection": {}}
    for name, recs in split.items():
        chosen = [parts[r] for r in recs]
        data = gzip_bytes(to_csv_bytes(chosen))
        manifest["splits"][name] = {"file": FILES[name], "bytes": len(data), **summarize(chosen)}
        write_bytes_atomic(out_dir / FILES[name], data)
    for rec in order:
        manifest["records"][rec] = {"counts": parts[rec].counts, "detection": parts[rec].detection}
    manifest["detection"] = gross([parts[r].detection for r in order if parts[r].detection])
    write_bytes_atomic(out_dir / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    return manifest


# ---- records as training data (data.kind: records) ----

def record_files(path: Path) -> list[Path]:
    """The files a record consists of: WFDB ``.hea``/``.dat``/``.atr``, or a samples CSV and its beats CSV."""
    path = Path(path)
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        return [path, *[p for p in [beats_csv_path(path)] if p.is_file()]]
    return [p for p in (path.with_name(path.name + ext) for ext in (".hea", ".dat", ".atr"))
            if p.is_file() or p.suffix != ".atr"]


def records_table(paths: Sequence[Path], *, sample_rate: int | None = None):
    """A labelled Table (X: bytes as float64 (n, 193), y, groups = record names) from records.

    Every complete beat with rhythm context that matches a reference beat
    becomes a row (no caps). Raises DataError for an unreadable record.
    """
    from tinybeat.datasets.table import DataError, Table
    from tinybeat.recordings.records import RecordError

    parts = []
    for path in paths:
        try:
            part = label_file(str(path), sample_rate)
        except RecordError as exc:  # its message starts with the file it names
            file, _, reason = str(exc).partition(": ")
            raise DataError(file, reason) from None
        if part.detection is None:
            raise DataError(path, f"record {part.record} has no beat annotations: its beats cannot be labelled "
                                  "for training (annotations: WFDB .atr, or a beats CSV beside a samples CSV)")
        parts.append(part)
    X = np.concatenate([p.x for p in parts]).astype(np.float64)
    y = np.concatenate([p.labels for p in parts])
    groups = np.array([p.record for p in parts for _ in range(len(p.symbols))], dtype=object)
    return Table(X, y, groups, list(COLUMNS), [str(p) for p in paths]), parts


@lru_cache(maxsize=64)
def label_file(path: str, sample_rate: int | None = None) -> RecordBeats:
    """label_record of the record at path (cached per process: training reads records twice)."""
    return label_record(load_any(Path(path), sample_rate))


def records_detection(paths: Sequence[Path], sample_rate: int | None = None) -> dict:
    """EC57 detection scores of records (per record and gross), for the report."""
    parts = [label_file(str(p), sample_rate) for p in paths]
    per = {p.record: {"counts": p.counts, "detection": p.detection} for p in parts}
    return {"records": per, "gross": gross([p.detection for p in parts if p.detection])}


def beats_csv_path(samples_csv: Path) -> Path:
    """``walk.csv`` -> ``walk_beats.csv`` (also for ``.csv.gz``)."""
    name = samples_csv.name
    stem = name[:-len(".csv.gz")] if name.endswith(".csv.gz") else name[:-len(".csv")]
    return samples_csv.with_name(stem + "_beats.csv")


def load_any(path: Path, sample_rate: int | None = None) -> Record:
    """A WFDB record (path without extension) or a raw-sample CSV with its beats CSV."""
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        return load_csv_record(path, sample_rate)
    return load_record(str(path))


def load_csv_record(path: Path, sample_rate: int | None) -> Record:
    """A raw ECG as CSV: header ``ecg_mv``, one sample (millivolts) a row, at ``sample_rate`` Hz.

    Beat annotations, optional, sit beside it in ``<name>_beats.csv`` with the
    header ``sample,symbol`` (0-based sample index, MIT-BIH beat symbol;
    WFDB's non-beat marks such as ``+``, ``~``, ``|`` are left out and counted
    in ``Record.non_beats``, any other symbol is an error naming its row) or
    ``sample,label`` (0 normal, 1 abnormal; stored as symbols N and Q). Above
    360 Hz the samples and beats are resampled to 360 Hz
    (:mod:`tinybeat.recordings.resample`).
    """
    from tinybeat.frontend import analog
    from tinybeat.recordings import resample as rs
    from tinybeat.recordings.records import RecordError, check_rate

    if sample_rate is None:
        raise RecordError(f"{path}: a CSV record needs data.sample_rate (samples per second) in the config")
    fs = check_rate(path, sample_rate)
    mv = np.asarray(_read_csv_column(path, "ecg_mv", float))
    n_in = len(mv)
    if fs > rs.TARGET_FS:
        mv = rs.resample(mv, fs)
    adu = np.round(mv * 1000.0)  # microvolts as integer units: 1000 per mV
    adc = analog.adc_code(analog.ecg_to_pin_mv(adu, 1000.0, 0))
    ann_samples = ann_symbols = non_beats = None
    beats = beats_csv_path(path)
    if beats.is_file():
        ann_samples, ann_symbols, non_beats = _read_beats_csv(beats, n_in)
        if fs > rs.TARGET_FS:
            ann_samples = rs.resample_samples(ann_samples, fs, len(adc))
    name = path.name.split(".")[0]
    return Record(name=name, fs=min(fs, rs.TARGET_FS), lead="csv", adc=adc, ann_samples=ann_samples,
                  ann_symbols=ann_symbols, vf_intervals=None,
                  resampled_from=fs if fs > rs.TARGET_FS else None, non_beats=non_beats)


def _read_beats_csv(beats: Path, n: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """(samples int64, symbols str, non-beat counts) of a beats CSV for a record of n samples, sorted by sample."""
    from tinybeat.recordings.records import BEAT_SYMBOLS, NON_BEAT_SYMBOLS, RecordError

    header = _csv_header(beats)
    kind = "symbol" if "symbol" in header else "label"
    samples = np.asarray(_read_csv_column(beats, "sample", int), dtype=np.int64)
    values = _read_csv_column(beats, kind, str)
    rows = np.arange(len(values)) + 2  # file line of each value (blank lines aside)
    if kind == "label":
        bad = [i for i, v in enumerate(values) if v not in ("0", "1")]
        if bad:
            raise RecordError(f"{beats}: row {bad[0] + 2}, column 'label': {values[bad[0]]!r} is not 0 or 1")
        values = ["Q" if v == "1" else "N" for v in values]
    non_beats: dict = {}
    keep = []
    for i, v in enumerate(values):
        if v in BEAT_SYMBOLS:
            keep.append(i)
        elif v in NON_BEAT_SYMBOLS:
            non_beats[v] = non_beats.get(v, 0) + 1
        else:
            raise RecordError(f"{beats}: row {rows[i]}, column 'symbol': {v!r} is not a beat symbol "
                              f"({' '.join(BEAT_SYMBOLS)}) nor a WFDB non-beat mark ({' '.join(NON_BEAT_SYMBOLS)})")
    out = np.flatnonzero((samples < 0) | (samples >= n))
    if out.size:
        raise RecordError(f"{beats}: row {out[0] + 2}, column 'sample': {samples[out[0]]} is outside "
                          f"the record's 0..{n - 1}")
    samples = samples[keep]
    kept = [values[i] for i in keep]
    order = np.argsort(samples, kind="stable")
    return samples[order], np.asarray([kept[i] for i in order], dtype=str), non_beats


def _open_text(path: Path):
    return gzip.open(path, "rt", newline="") if path.name.endswith(".gz") else open(path, newline="")


def _csv_header(path: Path) -> list[str]:
    with _open_text(path) as fh:
        return [c.strip() for c in fh.readline().split(",")]


def _read_csv_column(path: Path, column: str, convert: Callable) -> list:
    """One column of a CSV with a header, converted; errors name file, row and column."""
    import csv
    import math

    from tinybeat.recordings.records import RecordError

    if not path.is_file():
        raise RecordError(f"{path}: file not found")
    with _open_text(path) as fh:
        reader = csv.reader(fh)
        header = [c.strip() for c in next(reader, [])]
        if column not in header:
            raise RecordError(f"{path}: row 1: no column '{column}' (header: {','.join(header) or 'empty'})")
        j = header.index(column)
        values = []
        for line, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                v = convert(row[j].strip())
            except (ValueError, IndexError):
                raise RecordError(f"{path}: row {line}, column '{column}': "
                                  f"{row[j] if j < len(row) else 'missing'!r} is not a valid {convert.__name__}") from None
            if isinstance(v, float) and not math.isfinite(v):
                raise RecordError(f"{path}: row {line}, column '{column}': {v} is not a finite number")
            values.append(v)
    if not values:
        raise RecordError(f"{path}: no data rows")
    return values
