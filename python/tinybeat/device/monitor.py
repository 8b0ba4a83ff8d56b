"""`tinybeat monitor`: watch a board's stream live in a terminal, and save what it saw.

Two sources:

- ``--port PORT``: a board running the tinybeat firmware reads its own ADC (an
  AD8232 on a person): the host starts an ADC stream (STREAM_START, source ADC,
  channel, 360 Hz) and shows every event as it arrives until Ctrl-C or
  ``--seconds``, then stops the stream (STREAM_STOP) and can save a JSON of
  what it saw (``--save``). The board sends beats, signal states and status,
  not raw samples, so this view has no ECG trace: one line per second with
  the heart rate and each beat's verdict at its place in that second.
- ``--record REC``: the simulated board plays a record on its ADC pin exactly
  as ``tinybeat stream`` does (the same checks, comparison and JSON under
  ``model/stream/<env>/``); the host knows the samples it fed, so each second
  also shows the ECG as a line of block characters.

The view itself is :mod:`tinybeat.device.live_view`.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import TextIO

from tinybeat.device import protocol
from tinybeat.device.live_view import LiveView

def monitor_port(port: str, baud: int, channel: int, seconds: float, view_out: TextIO | None = None) -> dict:
    """Stream from a board's own ADC on ``port`` until Ctrl-C or ``seconds`` (0: no limit); the saved JSON (dict)."""
    from tinybeat.device.board_run import BoardRun, Recorder, start_stream
    from tinybeat.device.link import SerialLink
    from tinybeat.device.session import Session, check_protocol
    from tinybeat.device.stream_report import VERDICTS
    from tinybeat.device.stream_scores import SIGNAL_NAMES

    fs = 360
    view = LiveView(fs, view_out)
    run = BoardRun()
    link = SerialLink(port, baud)
    t0 = time.monotonic()
    try:
        ses = Session(link, Recorder(run, view.beat, view.status, view.signal))
        run.info = ses.wait_ready(10.0, "check the port, that the board runs the tinybeat firmware and the baud rate")
        check_protocol(run.info)
        start_stream(ses, protocol.SRC_ADC, channel, fs)
        try:
            while not seconds or time.monotonic() - t0 < seconds:
                ses.pump(0.2)
        except KeyboardInterrupt:
            pass
        run.final = protocol.decode_stream_stats(ses.request(protocol.STREAM_STOP).payload)
        ses.pump(0.1)
        run.lost_events = ses.lost_events
    finally:
        link.close()
    run.wall_s = time.monotonic() - t0
    view.finish(run.final.samples)
    fin = run.final
    return {
        "record": f"live on {port}", "fs": fs, "start_s": 0.0, "samples": fin.samples, "seconds": fin.samples / fs,
        "beats": len(run.beats),
        "verdicts": {VERDICTS[k]: sum(1 for b in run.beats if b.klass == k) for k in VERDICTS},
        "signal_events": [{"sample": e.sample, "state": SIGNAL_NAMES.get(e.signal, str(e.signal))}
                          for e in run.signals],
        "detection": {"available": False, "reason": "a live stream has no reference annotations"},
        "verdicts_vs_annotations": {"available": False, "reason": "a live stream has no reference annotations"},
        "board": {"samples_processed": fin.samples, "missed_sample_interrupts": fin.missed,
                  "max_cycles_one_sample": fin.max_cycles, "ring_high_water": fin.ring_max,
                  "stack_high_water_bytes": fin.stack_max_bytes, "lost_events": run.lost_events,
                  "port": port, "model": run.info.name, "fingerprint": run.info.fingerprint_hex},
        "beat_events": [b.__dict__ | {"features": list(b.features)} for b in run.beats],
        "wall_seconds": run.wall_s,
    }


def monitor_main(args) -> int:
    """`tinybeat monitor`: see the module docstring."""
    if bool(args.port) == bool(args.record):
        print("error: name one source: --port PORT (a board reading its own ADC) or --record REC (the simulated "
              "board playing a record)", file=sys.stderr)
        return 2
    if args.record:
        from tinybeat.device.stream import stream_main

        args.live = True
        return stream_main(args)
    from tinybeat.device.client import check_port_exists
    from tinybeat.device.stream import OptionError, check_channel
    from tinybeat.targets.boards import load_board

    board = load_board(Path(args.project).resolve(), args.board)
    try:
        check_channel(args, board)
    except OptionError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    channel = 0 if args.channel is None else args.channel
    if args.seconds < 0:
        print(f"error: --seconds {args.seconds:g}: give a positive number, or 0 to watch until Ctrl-C",
              file=sys.stderr)
        return 2
    check_port_exists(args.port)
    saved = monitor_port(args.port, args.baud, channel, args.seconds)
    if args.save:
        from tinybeat.util.atomic import write_text_atomic

        Path(args.save).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(args.save, json.dumps(saved, indent=1) + "\n")
        print(f"wrote {args.save}")
    return 0
