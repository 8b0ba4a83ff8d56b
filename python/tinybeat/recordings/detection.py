"""Per-record QRS detection table of the front end on a WFDB database (EC57, 150 ms).

``python -m tinybeat.recordings.detection ../shared/data/mitdb [--out frontend_eval.json]``
prints, per record, TP / FN / FP, Se and +P from 5 minutes on (the EC57/bxb
headline) and over the whole record, the gross totals, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from tinybeat.util.atomic import write_text_atomic
from tinybeat.frontend import run
from tinybeat.frontend.ec57 import FROM_5_MIN, WHOLE, Score, score_record
from tinybeat.recordings.records import list_records


def evaluate_record(path: str) -> dict:
    """Load, run and score one record (top-level so that a process pool can call it)."""
    from tinybeat.recordings.records import load_record

    rec = load_record(path)
    t0 = time.perf_counter()
    res = run(rec.adc, rec.fs)
    seconds = time.perf_counter() - t0
    row = {"record": rec.name, "fs": rec.fs, "lead": rec.lead, "n_samples": int(len(rec.adc)),
           "beats": res.n_beats, "detections": int(len(res.detections)), "run_s": seconds}
    if rec.ann_samples is not None:
        for mode in (FROM_5_MIN, WHOLE):
            row[mode] = score_record(res.detections, rec.ann_samples, rec.fs, len(rec.adc), mode,
                                     rec.vf_intervals).as_dict()
    return row


def _gross(rows: list[dict], key: str) -> Score:
    total = Score(0, 0, 0)
    for r in rows:
        if key in r:
            total = total + Score(r[key]["tp"], r[key]["fn"], r[key]["fp"])
    return total


def table(rows: list[dict]) -> str:
    """Plain-text table: one line per record, then the gross totals."""
    lines = [f"{'record':>6} {'TP':>6} {'FN':>4} {'FP':>4} {'Se%':>7} {'+P%':>7} | whole: {'FN':>4} {'FP':>4} {'Se%':>7} {'+P%':>7}"]
    for r in rows:
        a, w = r.get("from_5min"), r.get("whole")
        if a is None:
            lines.append(f"{r['record']:>6}  (no annotations)")
            continue
        lines.append(f"{r['record']:>6} {a['tp']:>6} {a['fn']:>4} {a['fp']:>4} {100*a['se']:>7.2f} {100*a['ppv']:>7.2f} |"
                     f"        {w['fn']:>4} {w['fp']:>4} {100*w['se']:>7.2f} {100*w['ppv']:>7.2f}")
    g, gw = _gross(rows, "from_5min"), _gross(rows, "whole")
    lines.append(f"{'gross':>6} {g.tp:>6} {g.fn:>4} {g.fp:>4} {100*g.se:>7.3f} {100*g.ppv:>7.3f} |"
                 f"        {gw.fn:>4} {gw.fp:>4} {100*gw.se:>7.3f} {100*gw.ppv:>7.3f}")
    return "\n".join(lines)


def evaluate(wfdb_dir: Path, records: list[str] | None = None, workers: int = 2) -> dict:
    """Score every record; returns {"records": [...], "gross_from_5min": {...}, "gross_whole": {...}}."""
    from tqdm import tqdm

    names = records or list_records(wfdb_dir, annotations=False)
    paths = [str(wfdb_dir / n) for n in names]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        rows = list(tqdm(pool.map(evaluate_record, paths), total=len(paths), disable=not sys.stderr.isatty(),
                         desc="records"))
    return {"window_s": 0.150, "headline": "from_5min", "records": rows,
            "gross_from_5min": _gross(rows, "from_5min").as_dict(), "gross_whole": _gross(rows, "whole").as_dict()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("wfdb_dir", type=Path)
    ap.add_argument("--records", nargs="*")
    ap.add_argument("--out", type=Path, default=Path("frontend_eval.json"))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    from tinybeat.recordings.records import RecordError

    try:
        result = evaluate(args.wfdb_dir, args.records, args.workers)
    except RecordError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(table(result["records"]))
    write_text_atomic(args.out, json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
