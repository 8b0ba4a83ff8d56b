"""Command line: `tinybeat <command>` (or `python -m tinybeat <command>`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError
from .data import DataError


def _project(args) -> Path:
    return Path(args.project).resolve()


def cmd_train(args) -> int:
    from .pipeline import ensure_model

    ensure_model(_project(args), args.board, force_train=args.force)
    return 0


def cmd_dataset(args) -> int:
    import json

    from .dataset import build_dataset

    try:
        manifest = build_dataset(Path(args.mitdb), Path(args.out), progress=sys.stderr.isatty())
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    det = manifest["detection"]
    for name, split in manifest["splits"].items():
        print(f"{name}: {split['rows']} beats ({split['abnormal']} abnormal) from {len(split['records'])} "
              f"records -> {Path(args.out) / split['file']}")
    print(f"QRS detection (EC57, 150 ms): sensitivity {100 * det['sensitivity']:.2f} %, positive "
          f"predictivity {100 * det['positive_predictivity']:.2f} % over {det['reference_beats']} beats")
    if args.json:
        print(json.dumps(manifest, indent=1))
    return 0


def cmd_evaluate(args) -> int:
    from .hosttool import evaluate_main

    return evaluate_main(args)


def cmd_stream(args) -> int:
    from .stream import stream_main

    return stream_main(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinybeat", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train (or reload) the model and write the C headers")
    p.add_argument("--project", default=".", help="project directory (holds platformio.ini)")
    p.add_argument("--board", default="megaatmega2560", help="board id whose budget the model must fit")
    p.add_argument("--force", action="store_true", help="retrain even if nothing changed")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("dataset", help="rebuild the default dataset from MIT-BIH records with the front end")
    p.add_argument("--mitdb", default="../shared/data/mitdb",
                   help="directory with the raw MIT-BIH records and RECORDS (default: %(default)s)")
    p.add_argument("--out", default="data", help="output directory (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="also print the manifest (per-record counts)")
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("evaluate", help="stream the test split through a board or the simulated board")
    p.add_argument("--project", default=".")
    p.add_argument("--board", default="megaatmega2560")
    p.add_argument("--elf", help="firmware.elf to run on the simulated board (when no --port)")
    p.add_argument("--port", help="serial port of a real board (default: the simulated board)")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--limit", type=int, default=0, help="evaluate only the first N test beats (0 = all)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("stream", help="replay an ECG record through the board's ADC (simulated) or a real "
                       "board, beat by beat, and compare with the Python reference")
    p.add_argument("record", nargs="?", help="WFDB record path without extension (default: the excerpt in "
                   "data/records/, else ../shared/data/mitdb/208)")
    p.add_argument("--project", default=".")
    p.add_argument("--board", default="megaatmega2560")
    p.add_argument("--elf", help="firmware.elf for the simulated board (default .pio/build/<board>/firmware.elf)")
    p.add_argument("--port", help="a real board's serial port: samples go over serial (SAMPLES frames)")
    p.add_argument("--baud", type=int, default=115200)
    p.add_argument("--channel", type=int, default=0, help="ADC channel of the ECG (default 0 = A0)")
    p.add_argument("--start", type=float, default=0.0, help="start at this second of the record")
    p.add_argument("--duration", type=float, default=0.0, help="stream this many seconds (0 = to the end)")
    p.add_argument("--lead-off", metavar="START:END", help="simulate electrodes off between these seconds")
    p.add_argument("--out", help="directory for <record>.json and <record>.png (default model/stream)")
    p.add_argument("--quiet", action="store_true", help="no line per beat")
    p.set_defaults(func=cmd_stream)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (DataError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
