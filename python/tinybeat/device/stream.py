"""`tinybeat stream`: replay an ECG record through the board, beat by beat, and check it.

The record becomes the board's input (:mod:`tinybeat.device.feed`), the board
streams it (:mod:`tinybeat.device.board_run`: simulated ADC pin, or SAMPLES
frames to a real board), the host recomputes every beat
(:mod:`tinybeat.device.reference`) and reports (:mod:`tinybeat.device.stream_report`):
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
from tinybeat.device.stream_report import beat_line, detection_metrics, format_summary, plot, plot_span, summarize


def default_record(project: Path) -> Path | None:
    """The committed excerpt (the first record in data/records/), or None."""
    committed = sorted((project / "data" / "records").glob("*.hea"))
    return committed[0].with_suffix("") if committed else None


def _parse_span(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        a, b = (float(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"--lead-off wants START:END in seconds, got {text!r}") from None
    return a, b


def stream_main(args) -> int:
    """`tinybeat stream`: see the module docstring; returns 0 when the board matched the reference."""
    from tqdm import tqdm

    from tinybeat.util.atomic import write_text_atomic
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.recordings.records import RecordError
    from tinybeat.device.vboard import vboard_path

    project = Path(args.project).resolve()
    paths = Paths(project)
    record = Path(args.record) if args.record else default_record(project)
    if record is None:
        print(f"error: no record given and none in {project / 'data' / 'records'}: name one, "
              "e.g. tinybeat stream ../shared/data/mitdb/208", file=sys.stderr)
        return 2
    out_dir = Path(args.out) if args.out else paths.model_dir / "stream"
    json_path, png_path = out_dir / f"{record.name}.json", out_dir / f"{record.name}.png"
    for stale in (json_path, png_path):  # a failed run leaves no stale result behind
        stale.unlink(missing_ok=True)
    try:
        sig = load_signal(record, args.start, args.duration, _parse_span(args.lead_off))
    except (RecordError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    board = load_board(project, args.board)
    trained = load_trained(paths)
    if trained is None:
        print("error: no trained model (model/trained.json): run `pio run` first", file=sys.stderr)
        return 2
    entry = select_for_board(trained, board, load_config(paths.config))
    model, threshold = entry.model, entry.decision_threshold

    tty = sys.stdout.isatty()
    bar = tqdm(total=round(sig.n / sig.fs), unit="s", desc=f"streaming {sig.name}", disable=not tty,
               bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} s of ECG [{elapsed}<{remaining}]")

    def on_beat(b: BeatEvent) -> None:
        if not args.quiet and b.r_sample < sig.n:
            tqdm.write(beat_line(b, sig.fs)) if tty else print(beat_line(b, sig.fs), flush=False)

    def on_status(st: StreamStats) -> None:
        bar.update(min(round(sig.n / sig.fs), st.samples // sig.fs) - bar.n)

    try:
        if args.port:
            link = SerialLink(args.port, args.baud)
            try:
                run = stream_host(link, sig, on_beat, on_status)
            finally:
                link.close()
        else:
            elf = Path(args.elf) if args.elf else project / ".pio" / "build" / args.board / "firmware.elf"
            exe = vboard_path(project)
            for p, hint in ((exe, "run ./run.sh setup"), (elf, "build it with `pio run`")):
                if not p.is_file():
                    raise DeviceError(f"{p} is missing: {hint}")
            run = stream_vboard(exe, elf, board.mcu, board.f_cpu, sig, args.channel, on_beat=on_beat,
                                on_status=on_status)
    except DeviceError as exc:
        bar.close()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    bar.close()
    expect_fp = hashlib.sha256((trained.fingerprint + entry.name).encode()).hexdigest()[:16]
    if run.info and run.info.fingerprint_hex != expect_fp:
        print(f"error: the board runs model {run.info.name} ({run.info.fingerprint_hex}); model/trained.json "
              f"selects {entry.name} ({expect_fp}): rebuild and flash the firmware", file=sys.stderr)
        return 1
    codes, lead = board_samples(sig, run.final.samples)
    ref = reference(codes, lead, sig.fs, model, threshold, trained.n_inputs)
    mismatches = compare(run.beats, ref)
    summary = summarize(sig, run, mismatches, detection_metrics(sig, run.beats))
    summary.update({"model": entry.name, "board": {**summary["board"], "id": board.id,
                                                       "port": args.port or "virtual"}})
    print(format_summary(summary))
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        plot(sig, run.beats, png_path, *plot_span(sig, run.beats))
        write_text_atomic(json_path, json.dumps(summary, indent=1) + "\n")
    except OSError as exc:
        print(f"error: cannot write {out_dir}: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {json_path} and {png_path}")
    bad = bool(mismatches) or run.final.missed > 0 or run.final.rx_lost > 0 or run.final.engine_errors > 0
    if bad:
        print("FAIL: the board disagrees with the reference, missed samples, lost received bytes or "
              "refused beats")
    return 1 if bad else 0
