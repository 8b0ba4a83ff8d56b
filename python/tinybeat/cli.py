"""Command line: `tinybeat <command>` (or `python -m tinybeat <command>`).

Errors print one line on stderr (`error: ...`) and exit with status 2; a
device that disagrees with the Python reference exits with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError
from .data import DataError

EXAMPLES = """\
examples:
  tinybeat train                        reload (or retrain when data/config changed) and write the headers
  tinybeat train --force --board uno    retrain and size the model for an Arduino Uno
  tinybeat predict beats.csv            classify your beats on the PC -> predictions.csv + a summary
  tinybeat predict beats.csv --port /dev/ttyACM0 --out -   the same on a board, CSV to stdout
  tinybeat evaluate                     the test split through the simulated board (.pio/build/<board>/firmware.elf)
  tinybeat evaluate --port /dev/ttyACM0 the test split through a real board
  tinybeat dataset                      rebuild data/ from the MIT-BIH records
"""


def _project(args) -> Path:
    return Path(args.project).resolve()


def _log(args):
    return (lambda msg: None) if getattr(args, "quiet", False) else print


def cmd_train(args) -> int:
    from .pipeline import ensure_model

    ensure_model(_project(args), args.board, force_train=args.force, log=_log(args))
    return 0


def cmd_dataset(args) -> int:
    from .mitdb import main as mitdb_main

    return mitdb_main(["--mitdb", args.mitdb, "--out", args.out]) or 0


def cmd_evaluate(args) -> int:
    from .hosttool import evaluate_main

    return evaluate_main(args)


def cmd_predict(args) -> int:
    from .predict import predict_main

    return predict_main(args)


def _common(p: argparse.ArgumentParser, board: bool = True) -> None:
    p.add_argument("--project", default=".", metavar="DIR",
                   help="project directory holding platformio.ini and model/ (default: the current directory)")
    if board:
        p.add_argument("--board", default="megaatmega2560", metavar="ID",
                       help="board id whose budget the model follows: megaatmega2560 (default) or uno")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final result")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinybeat", description=__doc__.splitlines()[0],
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tinybeat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train (or reload) the model and write the C headers",
                       description="Reload model/trained.json, or retrain when data, config or pipeline "
                                   "code changed, and write include/tinybeat_model.h for the board.")
    _common(p)
    p.add_argument("--force", action="store_true", help="retrain even if nothing changed")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="classify the beats of a CSV file (on the PC, or on a board with --port)",
                       description="Classify every beat of FILE (the training CSV format of model/config.yaml; "
                                   "the label column is optional) with the saved model. Writes row, class "
                                   "(1 = abnormal), score (and label) per beat, and prints a summary.")
    p.add_argument("file", metavar="FILE", help="CSV file (plain or .gz) of beats in the training format")
    _common(p)
    p.add_argument("--out", default="predictions.csv", metavar="PATH",
                   help="where to write the per-beat CSV; '-' for stdout (default: predictions.csv)")
    p.add_argument("--port", metavar="PORT", help="classify on a board on this serial port instead of the PC")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default: 115200)")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="stream the test split through a board or the simulated board",
                       description="Send every test beat to the board (or the simulated board) and compare "
                                   "each reply with the Python integer reference; exit 1 on any mismatch.")
    _common(p)
    p.add_argument("--elf", metavar="PATH",
                   help="firmware to run on the simulated board (default: .pio/build/<board>/firmware.elf)")
    p.add_argument("--port", metavar="PORT", help="serial port of a real board (default: the simulated board)")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default: 115200)")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="evaluate only the first N test beats (0 = all)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("dataset", help="rebuild the default dataset from MIT-BIH records",
                       description="Rebuild data/ (beats of 42 MIT-BIH records, split by patient).")
    p.add_argument("--mitdb", default="../shared/data/mitdb", metavar="DIR",
                   help="directory of MIT-BIH records (.dat/.hea/.atr) (default: ../shared/data/mitdb)")
    p.add_argument("--out", default="data", metavar="DIR", help="output directory (default: data)")
    p.set_defaults(func=cmd_dataset)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        os.environ["TQDM_DISABLE"] = "1"
    from .hosttool import DeviceError

    errors: tuple[type[BaseException], ...] = (DataError, ConfigError, DeviceError, OSError)
    try:
        import serial

        errors += (serial.SerialException,)
    except ImportError:  # pragma: no cover
        pass
    try:
        return args.func(args)
    except errors as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
