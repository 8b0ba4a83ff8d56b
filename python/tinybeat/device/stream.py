"""`tinybeat stream`: replay an ECG record through the board, beat by beat, and check it.

Every option is checked against the board and the record before anything
runs (exit 2, one line); results go to ``model/stream/<env>/<record>.json/.png``
(``<env>`` defaults to the board id) and replace the previous pair only once
the run completed. The record becomes the board's input (:mod:`tinybeat.device.feed`), the board
streams it (:mod:`tinybeat.device.board_run`: simulated ADC pin, or SAMPLES
frames to a real board), the host recomputes every beat
(:mod:`tinybeat.device.reference`), scores (:mod:`tinybeat.device.stream_scores`) and reports
(:mod:`tinybeat.device.stream_report`):
mismatches, EC57 detection scores, missed sample interrupts, stack, CPU load.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from tinybeat.device.board_run import stream_host, stream_vboard
from tinybeat.device.errors import DeviceError
from tinybeat.device.feed import board_samples, load_signal
from tinybeat.device.link import SerialLink
from tinybeat.device.protocol import BeatEvent, StreamStats
from tinybeat.device.reference import compare, reference
from tinybeat.device.stream_report import beat_line, format_summary, plot, plot_span, summarize
from tinybeat.device.stream_scores import (detection_metrics, flagged_stretches, mask_stretches, merge_stretches,
                                           verdict_scores)


MCU_ADC_CHANNELS = {"atmega2560": 16, "atmega1280": 16, "atmega328p": 6, "atmega168": 6}  # analog pins wired out
VBOARD_ADC_CHANNELS = 8  # measured: on avr-vboard (simavr) channels 8..15 of the ATmega2560 read as saturated


class OptionError(ValueError):
    """A `tinybeat stream` option that cannot work: one line naming the option and what would."""


def default_record(project: Path) -> Path | None:
    """The committed excerpt (the first record in data/records/), or None."""
    committed = sorted((project / "data" / "records").glob("*.hea"))
    return committed[0].with_suffix("") if committed else None


def result_dir(project: Path, out: str | None, board_id: str, env: str | None) -> Path:
    """Where results go: --out, else model/stream/<env> (the board id when no env is named)."""
    return Path(out) if out else project / "model" / "stream" / (env or board_id)


def adc_channels(board) -> int:
    """Analog channels of the board: its Board.adc_channels when set, else by MCU."""
    n = getattr(board, "adc_channels", None) or MCU_ADC_CHANNELS.get(board.mcu.lower())
    if n is None:
        raise OptionError(f"board {board.id} ({board.mcu}): its number of ADC channels is unknown")
    return int(n)


def _parse_span(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        a, b = (float(v) for v in text.split(":"))
    except ValueError:
        raise OptionError(f"--lead-off wants START:END in seconds of the stream, got {text!r}") from None
    return a, b


def board_label(board) -> str:
    """The board's name, with its MCU unless the name already says it."""
    return board.name if board.mcu.lower() in board.name.lower() else f"{board.name} ({board.mcu})"


def check_channel(args, board) -> None:
    """OptionError unless --channel is an analog input of the board (and the simulated board plays on it)."""
    ch = args.channel
    if ch is None:
        return
    n = adc_channels(board)
    if not 0 <= ch < n:
        raise OptionError(f"--channel {ch}: the {board_label(board)} has ADC channels 0..{n - 1}")
    if not args.port and ch >= VBOARD_ADC_CHANNELS:
        raise OptionError(f"--channel {ch}: the simulated board plays recordings on channels "
                          f"0..{VBOARD_ADC_CHANNELS - 1} only (channels 8..15 read as saturated in avr-vboard); "
                          f"use 0..7 (a real board reads A{ch} live: `tinybeat monitor --port PORT --channel {ch}`)")


def check_options(args, board) -> tuple[float | None, tuple[float, float] | None]:
    """The checks that need no record: (duration_s or None, lead-off span or None); else OptionError."""
    if args.port and args.channel is not None:
        raise OptionError(f"--channel {args.channel}: with --port the samples go over serial (SAMPLES frames), "
                          "no ADC pin is read; drop --channel")
    check_channel(args, board)
    if args.start < 0:
        raise OptionError(f"--start {args.start:g}: give the second of the record to start at (0 or more)")
    dur = args.duration
    if dur is not None and not dur > 0:
        raise OptionError(f"--duration {dur:g}: give a positive number of seconds, or leave it out to "
                          "stream to the end of the record")
    lead = _parse_span(args.lead_off)
    if lead is not None and not lead[0] < lead[1]:
        raise OptionError(f"--lead-off {args.lead_off}: START must be before END (seconds of the stream)")
    return dur, lead


def check_against_record(args, rec, dur: float | None, lead: tuple[float, float] | None) -> None:
    """OptionError unless --start lies in the record and --lead-off in the streamed span."""
    seconds = len(rec.adc) / rec.fs
    if not args.start < seconds:
        raise OptionError(f"--start {args.start:g}: the record {rec.name} lasts {seconds:.1f} s "
                          f"(start at 0..{seconds:.1f} s)")
    span = min(seconds - args.start, dur) if dur is not None else seconds - args.start
    if lead is not None and (lead[0] < 0 or lead[1] > span + 1e-9):
        raise OptionError(f"--lead-off {args.lead_off}: outside the stream, which lasts {span:.1f} s: "
                          f"START:END within 0..{span:g} s (counted from --start; this is "
                          f"{args.start:g}..{args.start + span:g} s of the record)")


def load_stream_record(path: Path, project: Path, sample_rate: int | None):
    """The record to stream: WFDB (path without extension) or a CSV recording; RecordError (one line) otherwise."""
    from tinybeat.recordings.labelled import load_any
    from tinybeat.recordings.records import RecordError

    if path.is_dir():
        raise RecordError(f"{path}: is a directory; name one record in it (a WFDB record without extension, "
                          f"e.g. {path / '208'}, or a CSV recording)")
    csv = path.suffix == ".csv" or path.name.endswith(".csv.gz")
    if csv and sample_rate is None:
        from tinybeat.pipeline.config import load_config

        cfg_path = project / "model" / "config.yaml"
        sample_rate = load_config(cfg_path).data.sample_rate if cfg_path.is_file() else None
        if sample_rate is None:
            raise RecordError(f"{path}: a CSV recording needs its sample rate: pass --fs HZ "
                              "(or set data.sample_rate in model/config.yaml)")
    return load_any(path, sample_rate)


def _ann_name(path: Path) -> str:
    if path.suffix == ".csv" or path.name.endswith(".csv.gz"):
        from tinybeat.recordings.labelled import beats_csv_path

        return str(beats_csv_path(path))
    return f"{path}.atr"


def stream_main(args) -> int:
    """`tinybeat stream`: see the module docstring; returns 0 when the board matched the reference.

    Order: the board, the options, the firmware (ELF or port), the record and the
    options that depend on it, then the model are checked before anything runs; the results replace the
    previous ones only once the run completed.
    """
    from tqdm import tqdm

    from tinybeat.device.client import check_firmware_elf, check_port_exists
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.recordings.records import RecordError
    from tinybeat.device.vboard import vboard_path

    project = Path(args.project).resolve()
    paths = Paths(project)
    board = load_board(project, args.board)
    env = args.env or board.id
    record = Path(args.record) if args.record else default_record(project)
    if record is None:
        print(f"error: no record given and none in {project / 'data' / 'records'}: name one, "
              "e.g. tinybeat stream ../shared/data/mitdb/208", file=sys.stderr)
        return 2
    try:
        if record.is_dir():
            load_stream_record(record, project, args.fs)  # names the directory
        duration, lead_off = check_options(args, board)
        if args.port:
            check_port_exists(args.port)
        else:  # first: the firmware left by `pio test` is the most common surprise, and the cheapest check
            elf = Path(args.elf) if args.elf else project / ".pio" / "build" / env / "firmware.elf"
            check_firmware_elf(elf, board, env)
            exe = vboard_path(project)
            if not exe.is_file():
                raise DeviceError(f"{exe} is missing: run ./run.sh setup")
        rec = load_stream_record(record, project, args.fs)
        check_against_record(args, rec, duration, lead_off)
    except (RecordError, OptionError, DeviceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    trained = load_trained(paths)
    if trained is None:
        print("error: no trained model (model/trained.json): run `pio run` first", file=sys.stderr)
        return 2
    sig = load_signal(rec, args.start, duration, lead_off, _ann_name(record))
    out_dir = result_dir(project, args.out, board.id, args.env)
    json_path, png_path = out_dir / f"{sig.name}.json", out_dir / f"{sig.name}.png"
    entry = select_for_board(trained, board, load_config(paths.config))
    model, threshold = entry.model, entry.decision_threshold

    tty = sys.stdout.isatty()
    live = None
    if getattr(args, "live", False):  # `tinybeat monitor --record`: the live view instead of beat lines
        from tinybeat.device.live_view import LiveView

        live = LiveView(sig.fs, sys.stdout, sig.codes, sig.start_s)
    bar = tqdm(total=round(sig.n / sig.fs), unit="s", desc=f"streaming {sig.name}", disable=not tty or live,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s of ECG [{elapsed}<{remaining}]")

    def on_beat(b: BeatEvent) -> None:
        if live:
            live.beat(b)
        elif not args.quiet and b.r_sample < sig.n:
            tqdm.write(beat_line(b, sig.fs)) if tty else print(beat_line(b, sig.fs), flush=False)

    def on_status(st: StreamStats) -> None:
        if live:
            live.status(st)
        bar.update(min(round(sig.n / sig.fs), st.samples // sig.fs) - bar.n)

    on_signal = live.signal if live else None
    try:
        if args.port:
            link = SerialLink(args.port, args.baud)
            try:
                run = stream_host(link, sig, on_beat, on_status, on_signal)
            finally:
                link.close()
        else:
            run = stream_vboard(exe, elf, board.mcu, board.f_cpu, sig, args.channel or 0, on_beat=on_beat,
                                on_status=on_status, on_signal=on_signal)
    except DeviceError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    bar.close()
    if live:
        live.finish(sig.n)
    expect_fp = hashlib.sha256((trained.fingerprint + entry.name).encode()).hexdigest()[:16]
    if run.info and run.info.fingerprint_hex != expect_fp:
        print(f"error: the board runs model {run.info.name} ({run.info.fingerprint_hex}); model/trained.json "
              f"selects {entry.name} ({expect_fp}): rebuild and flash the firmware (`pio run -e {env}"
              f"{' -t upload' if args.port else ''}`)", file=sys.stderr)
        return 1
    codes, lead = board_samples(sig, run.final.samples)
    ref = reference(codes, lead, sig.fs, model, threshold, trained.n_inputs)
    mismatches = compare(run.beats, ref)
    # left out of scoring: what the board flagged (lead-off, flat, saturated, noisy) and the lead-off it was fed
    flagged = merge_stretches(flagged_stretches(run.signals, sig.n), mask_stretches(sig.lead_off))
    verdicts = verdict_scores(sig, run.beats)
    if verdicts["available"]:
        verdicts["record_split"] = record_split(project, sig.name)
    summary = summarize(sig, run, mismatches, detection_metrics(sig, run.beats, flagged), verdicts, flagged)
    summary.update({"model": entry.name, "env": env, "board": {**summary["board"], "id": board.id,
                                                                 "port": args.port or "virtual"}})
    print(format_summary(summary))
    wrong = summary["verdicts_vs_annotations"].get("disagreements") or [None]
    span = plot_span(sig, run.beats, focus=wrong[0]["sample"] if wrong[0] else None)
    try:
        write_results(out_dir, json_path, png_path, summary,
                      lambda p: plot(sig, run.beats, p, *span, flagged=flagged))
    except OSError as exc:
        print(f"error: cannot write {out_dir}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {json_path} and {png_path}")
    if getattr(args, "save", None):  # `tinybeat monitor --save`: the same JSON where the user asked
        from tinybeat.util.atomic import write_text_atomic

        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.save, json.dumps(summary, indent=1) + "\n")
        print(f"wrote {args.save}")
    bad = bool(mismatches) or run.final.missed > 0 or run.final.rx_lost > 0 or run.final.engine_errors > 0
    if bad:
        print("FAIL: the board disagrees with the reference, missed samples, lost received bytes or "
              "refused beats")
    return 1 if bad else 0


def record_split(project: Path, name: str) -> str:
    """Which split of the project's dataset the record's beats are in: "train", "test" or "unknown".

    Read from data/dataset.json (written by `tinybeat dataset`); a record the model trained on gives
    optimistic verdict scores, and the summary says so.
    """
    manifest = project / "data" / "dataset.json"
    try:
        splits = json.loads(manifest.read_text()).get("splits", {})
    except (OSError, ValueError):
        return "unknown"
    for split, info in splits.items():
        if name in info.get("records", []):
            return split
    return "unknown"


def write_results(out_dir: Path, json_path: Path, png_path: Path, summary: dict, draw) -> None:
    """Both files rendered beside their targets first, then moved into place (the old pair stays on failure)."""
    import os

    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_png = png_path.with_name(f".{png_path.name}.new.png")
    tmp_json = json_path.with_name(f".{json_path.name}.new")
    try:
        draw(tmp_png)
        tmp_json.write_text(json.dumps(summary, indent=1) + "\n")
        os.replace(tmp_png, png_path)
        os.replace(tmp_json, json_path)
    finally:
        for t in (tmp_png, tmp_json):
            t.unlink(missing_ok=True)
