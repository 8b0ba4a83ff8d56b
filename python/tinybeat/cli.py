"""Command line: `tinybeat <command>` (or `python -m tinybeat <command>`).

Errors print one line on stderr (`error: ...`) and exit with status 2; a
device that disagrees with the Python reference exits with 1.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tinybeat import __version__
from tinybeat.pipeline.config import ConfigError
from tinybeat.datasets.table import DataError

EXAMPLES = """\
examples:
  tinybeat train                        reload (or retrain when data/config changed) and write the headers
  tinybeat train --force --board uno    retrain and size the model for an Arduino Uno
  tinybeat train --quick                a quick search while iterating on data (TINYBEAT_QUICK=1 pio run)
  tinybeat predict beats.csv            classify your beats on the PC -> model/predict/beats.csv + a summary
  tinybeat predict beats.csv --port /dev/ttyACM0 --out -   the same on a board, CSV to stdout
  tinybeat evaluate                     the test split through the simulated board (.pio/build/<board>/firmware.elf)
  tinybeat evaluate --port /dev/ttyACM0 the test split through a real board
  tinybeat stream                       replay a raw ECG record through the simulated board's ADC
  tinybeat stream ../shared/data/mitdb/208 --port /dev/ttyACM0   the same through a real board
  tinybeat monitor --port /dev/ttyACM0  a board's own ADC live: heart rate and verdicts per second (Ctrl-C stops)
  tinybeat monitor --record data/records/208_5min   the same on the simulated board playing a record
  tinybeat dataset ../shared/data/mitdb  rebuild data/ from the MIT-BIH records with the front end
  tinybeat simulate --elf .pio/build/megaatmega2560-arduino/firmware.elf
                                        a firmware on the simulated board, its serial port in this terminal
  tinybeat beat --index 5               test beat 5 as a text line (for the SerialClassifier sketch)
"""


def _project(args) -> Path:
    return Path(args.project).resolve()


def _log(args):
    return (lambda msg: None) if getattr(args, "quiet", False) else print


def cmd_train(args) -> int:
    from tinybeat.pipeline.ensure import ensure_model

    ensure_model(_project(args), args.board, force_train=args.force, quick=True if args.quick else None,
                 log=_log(args))
    return 0


def cmd_dataset(args) -> int:
    import json

    from tinybeat.recordings.labelled import build_dataset

    manifest = build_dataset(Path(args.mitdb), Path(args.out), progress=not args.quiet and sys.stderr.isatty())
    det = manifest["detection"]
    for name, split in manifest["splits"].items():
        print(f"{name}: {split['rows']} beats ({split['abnormal']} abnormal) from {len(split['records'])} "
              f"records -> {Path(args.out) / split['file']}")
    print(f"QRS detection (EC57, 150 ms, from 5 min): sensitivity {100 * det['sensitivity']:.2f} %, positive "
          f"predictivity {100 * det['positive_predictivity']:.2f} % over {det['reference_beats']} beats")
    if args.json:
        print(json.dumps(manifest, indent=1))
    return 0


def cmd_stream(args) -> int:
    from tinybeat.device.stream import stream_main

    return stream_main(args)


def cmd_monitor(args) -> int:
    from tinybeat.device.monitor import monitor_main

    return monitor_main(args)


def cmd_evaluate(args) -> int:
    from tinybeat.device.client import evaluate_main

    return evaluate_main(args)


def cmd_predict(args) -> int:
    from tinybeat.device.predict import predict_main

    return predict_main(args)


def cmd_simulate(args) -> int:
    import tempfile

    from tinybeat.targets.boards import load_board
    from tinybeat.device.vboard import AdcPlayback, simulate

    project = _project(args)
    board = load_board(project, args.board)
    if args.record is None:
        return simulate(project, Path(args.elf), board, seconds=args.seconds, raw=args.raw)
    from tinybeat.device import feed
    from tinybeat.device.stream import _parse_span
    from tinybeat.recordings.records import RecordError

    if args.start < 0 or args.duration < 0:
        print(f"error: --start and --duration must be >= 0 seconds, got {args.start:g} and {args.duration:g}",
              file=sys.stderr)
        return 2
    try:
        lead_off = _parse_span(args.lead_off)
        sig = feed.load_signal(args.record, args.start, args.duration, lead_off)
    except (RecordError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="tinybeat-simulate-") as tmp:
        adc_path = Path(tmp) / f"{sig.name}.adc"
        adc_path.write_bytes(feed.adc_file_bytes(sig))
        return simulate(project, Path(args.elf), board, seconds=args.seconds,
                        adc=AdcPlayback(adc_path, sig.fs, realtime=not args.fast), raw=args.raw)


def cmd_beat(args) -> int:
    """Print test-split beats as text lines for the SerialClassifier sketch (Serial Monitor, simulate)."""
    from tinybeat.core import families
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.core.quantize import quantize_inputs
    from tinybeat.pipeline.tables import load_tables

    paths = Paths(_project(args))
    cfg = load_config(paths.config)
    trained = load_trained(paths)
    if trained is None:
        print("error: no trained model: run `pio run` first", file=sys.stderr)
        return 2
    entry = select_for_board(trained, load_board(paths.project, args.board), cfg)
    _, test = load_tables(paths, cfg)
    if not 0 <= args.index < len(test.y) or args.count < 1:
        print(f"error: --index must be 0..{len(test.y) - 1} and --count at least 1", file=sys.stderr)
        return 2
    X = quantize_inputs(test.X[args.index:args.index + args.count], cfg.data.input_range)
    scores = families.predict_scores(entry.model, X)
    for k, (row, score) in enumerate(zip(X, scores)):
        verdict = "ABNORMAL" if score > entry.decision_threshold else "normal"
        print(f"test beat {args.index + k}: label {int(test.y[args.index + k])}, reference {verdict} "
              f"(score {int(score)})", file=sys.stderr)
        print(",".join(str(int(v)) for v in row))
    return 0


def _common(p: argparse.ArgumentParser, board: bool = True) -> None:
    p.add_argument("--project", default=".", metavar="DIR",
                   help="project directory holding platformio.ini and model/ (default: the current directory)")
    if board:
        p.add_argument("--board", default="megaatmega2560", metavar="ID",
                       help="board id whose budget the model follows: megaatmega2560 (default) or uno")
    p.add_argument("-q", "--quiet", action="store_true", help="print only errors and the final result")


def _env(p: argparse.ArgumentParser) -> None:
    p.add_argument("--env", metavar="NAME", help="PlatformIO env whose firmware and results these are "
                   "(default: the board id; `pio run -e NAME -t ...` passes it)")


def _serial(p: argparse.ArgumentParser, port_help: str) -> None:
    p.add_argument("--port", metavar="PORT", help=port_help)
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate (default: 115200)")


def _stream_options(p: argparse.ArgumentParser,
                    port_help: str = "a real board's serial port: samples go over serial (SAMPLES frames)") -> None:
    """The options `tinybeat stream` and `tinybeat monitor` share."""
    _common(p)
    _env(p)
    p.add_argument("--elf", metavar="PATH",
                   help="firmware.elf for the simulated board (default .pio/build/<env>/firmware.elf)")
    _serial(p, port_help)
    p.add_argument("--channel", type=int, default=None,
                   help="ADC channel the board reads the ECG on (default 0 = A0; Mega 0..15, Uno 0..5)")
    p.add_argument("--start", type=float, default=0.0, metavar="S", help="start at this second of the record")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stream this many seconds (default: to the end of the record)")
    p.add_argument("--lead-off", metavar="START:END",
                   help="simulate electrodes off between these seconds of the stream (counted from --start)")
    p.add_argument("--fs", type=int, default=None, metavar="HZ",
                   help="sample rate of a CSV recording (default: data.sample_rate of model/config.yaml); "
                        "above 360 Hz it is resampled on the host")
    p.add_argument("--out", metavar="DIR",
                   help="directory for <record>.json and <record>.png (default model/stream/<env>)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tinybeat", description=__doc__.splitlines()[0],
                                     epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"tinybeat {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("train", help="train (or reload) the model and write the C headers",
                       description="Reload model/trained.json, or retrain when data, config or pipeline "
                                   "code changed, and write the board's headers "
                                   "(.pio/build/<board>/tinybeat/tinybeat_model.h).")
    _common(p)
    p.add_argument("--force", action="store_true", help="retrain even if nothing changed")
    p.add_argument("--quick", action="store_true",
                   help="when (re)training, a quick search (2 folds on about 2,000 rows, at most 32 trees: "
                        "seconds instead of a minute) for iterating on data; marked as quick in model/ and the "
                        "build log; a later build without it retrains fully (`pio run` users: TINYBEAT_QUICK=1)")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("predict", help="classify the beats of a CSV file (on the PC, or on a board with --port)",
                       description="Classify every beat of FILE (the training CSV format of model/config.yaml; "
                                   "the label column is optional) with the saved model. Writes row, class "
                                   "(1 = abnormal), score (and label) per beat, and prints a summary.")
    p.add_argument("file", metavar="FILE", help="CSV file (plain or .gz) of beats in the training format")
    _common(p)
    p.add_argument("--out", default=None, metavar="PATH",
                   help="where to write the per-beat CSV; '-' for stdout (default: model/predict/<FILE name>.csv "
                        "in the project, git-ignored)")
    _serial(p, "classify on a board on this serial port instead of the PC")
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("evaluate", help="stream the test split through a board or the simulated board",
                       description="Send every test beat to the board (or the simulated board) and compare "
                                   "each reply with the Python integer reference; exit 1 on any mismatch.")
    _common(p)
    _env(p)
    p.add_argument("--elf", metavar="PATH",
                   help="firmware to run on the simulated board (default: .pio/build/<env>/firmware.elf)")
    _serial(p, "serial port of a real board (default: the simulated board)")
    p.add_argument("--limit", type=int, default=0, metavar="N", help="evaluate only the first N test beats (0 = all)")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("dataset", help="rebuild the default dataset from MIT-BIH records with the front end",
                       description="Run the board's front end over the 42 MIT-BIH records, label every detected "
                                   "beat from the reference annotations (150 ms) and rebuild data/ (split by "
                                   "patient) and data/dataset.json (per-record counts and detection scores).")
    p.add_argument("mitdb", metavar="DIR", help="directory of the MIT-BIH records (.dat/.hea/.atr) and RECORDS")
    p.add_argument("--out", default="data", metavar="DIR", help="output directory (default: data)")
    p.add_argument("--json", action="store_true", help="also print the manifest (per-record counts)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_dataset)

    p = sub.add_parser("stream", help="replay an ECG record through the board's ADC (simulated) or a real "
                       "board, beat by beat, and compare with the Python reference",
                       description="Play a raw ECG record into the simulated board's ADC at its own rate (or "
                                   "send its samples to a real board), print a line per beat, then a summary: "
                                   "detection vs annotations, board vs Python reference, CPU load; writes "
                                   "<record>.json and <record>.png.")
    p.add_argument("record", nargs="?", help="WFDB record path without extension, or a CSV recording (ecg_mv "
                   "column, beats in <name>_beats.csv, as training reads it) (default: the excerpt in data/records/)")
    _stream_options(p)
    p.set_defaults(func=cmd_stream)

    p = sub.add_parser("monitor", help="watch a board's stream live (beats, verdicts, heart rate) in this terminal",
                       description="Show a stream as it arrives, a line per second: the heart rate and each beat's "
                                   "verdict (N normal, A abnormal, ? unclassified) at its place in the second, and "
                                   "with --record the ECG itself. --port: a board running the tinybeat firmware "
                                   "reads its own ADC until Ctrl-C or --seconds. --record: the simulated board plays "
                                   "a record as `tinybeat stream` does (same checks and JSON).")
    p.add_argument("--record", metavar="REC", help="play this record on the simulated board (as `tinybeat stream REC`)")
    _stream_options(p, "a board running the tinybeat firmware: it streams from its own ADC (an ECG module on A0)")
    p.add_argument("--seconds", type=float, default=0.0, help="with --port: stop after this many seconds "
                   "(default 0: until Ctrl-C)")
    p.add_argument("--save", metavar="PATH", help="also write what was seen as JSON (the `tinybeat stream` summary "
                   "format) to PATH")
    p.set_defaults(func=cmd_monitor)

    p = sub.add_parser("simulate", help="run a firmware on the simulated board, its serial port in this terminal",
                       description="Run firmware.elf on avr-vboard with UART0 in this terminal: lines you type "
                                   "are sent to the board, its output is shown (non-text bytes as \\xNN). "
                                   "Quit with Ctrl-D (or Ctrl-C). `pio run -t simulate` does this for an env.")
    _common(p)
    p.add_argument("--elf", required=True, help="firmware.elf (pio run builds .pio/build/<env>/firmware.elf)")
    p.add_argument("--seconds", type=float, default=0.0, help="stop after this many seconds (0 = until you quit)")
    p.add_argument("--record", metavar="RECORD",
                   help="play this WFDB record (path without extension) on the ADC pin A0, as an ECG module "
                        "would (e.g. for the HeartMonitor sketch); the run ends 3 s after its last sample")
    p.add_argument("--start", type=float, default=0.0, metavar="S", help="with --record: start at S seconds")
    p.add_argument("--duration", type=float, default=0.0, metavar="S",
                   help="with --record: play S seconds (0 = to the end)")
    p.add_argument("--lead-off", metavar="START:END", help="with --record: electrodes off between these seconds")
    p.add_argument("--raw", action="store_true",
                   help="carry bytes unchanged both ways (binary protocol frames on stdin and stdout; "
                        "the banner and end lines go to stderr)")
    p.add_argument("--fast", action="store_true",
                   help="with --record: play as fast as the simulation runs instead of in real time")
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("beat", help="print test-split beats as comma-separated lines (for a sketch's text mode)")
    _common(p)
    p.add_argument("--index", type=int, default=0, help="first test beat (0-based)")
    p.add_argument("--count", type=int, default=1, help="how many beats, one line each (default 1)")
    p.set_defaults(func=cmd_beat)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "quiet", False):
        os.environ["TQDM_DISABLE"] = "1"
    from tinybeat.device.client import DeviceError
    from tinybeat.recordings.records import RecordError

    errors: tuple[type[BaseException], ...] = (DataError, ConfigError, DeviceError, RecordError, OSError)
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
