"""Stream a :class:`~tinybeat.device.feed.Signal` through a board and collect what it reports.

``stream_vboard`` plays it on the simulated board's ADC pin (``avr-vboard
--adc-file``, sample k at k / fs seconds of simulated time); ``stream_host``
sends it to any board as SAMPLES frames. Either way the firmware finds and
classifies the beats (stream mode, README "Stream mode") and the events come
back as a :class:`BoardRun`.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tinybeat.device import protocol
from tinybeat.device.errors import DeviceError
from tinybeat.device.feed import Signal, adc_file_bytes, host_samples
from tinybeat.device.link import ProcessLink
from tinybeat.device.protocol import BeatEvent, Frame, SignalEvent, StreamStats
from tinybeat.device.session import Session, check_protocol

STALL_S = 20.0  # wall-clock seconds without a STATUS event before the host gives up


@dataclass
class BoardRun:
    """What the board reported: events in order, the final stream stats, the vboard's load report."""

    beats: list[BeatEvent] = field(default_factory=list)
    signals: list[SignalEvent] = field(default_factory=list)
    status: list[StreamStats] = field(default_factory=list)
    final: StreamStats | None = None
    info: protocol.DeviceInfo | None = None
    load: dict | None = None
    lost_events: int = 0  # gaps in the events' sequence numbers (Session.lost_events)
    wall_s: float = 0.0


class Recorder:
    """A session's event handler: decodes BEAT / SIGNAL / STATUS frames into a :class:`BoardRun`."""

    def __init__(self, run: BoardRun, on_beat: Callable[[BeatEvent], None] | None = None,
                 on_status: Callable[[StreamStats], None] | None = None,
                 on_signal: Callable[[SignalEvent], None] | None = None):
        self.run, self.on_beat, self.on_status, self.on_signal = run, on_beat, on_status, on_signal

    def __call__(self, f: Frame) -> None:
        try:
            if f.type == protocol.EV_BEAT:
                beat = protocol.decode_beat(f.payload)
                self.run.beats.append(beat)
                if self.on_beat:
                    self.on_beat(beat)
            elif f.type == protocol.EV_SIGNAL:
                ev = protocol.decode_signal(f.payload)
                self.run.signals.append(ev)
                if self.on_signal:
                    self.on_signal(ev)
            elif f.type == protocol.EV_STATUS:
                st = protocol.decode_stream_stats(f.payload)
                self.run.status.append(st)
                if self.on_status:
                    self.on_status(st)
        except protocol.PayloadError as exc:
            raise DeviceError(f"the board sent a malformed event: {exc}") from None


def start_stream(ses: Session, source: int, channel: int, fs: int) -> None:
    """STREAM_START; a board that does not know the request (E_TYPE: a sketch without stream mode) is named."""
    try:
        ses.request(protocol.STREAM_START, protocol.encode_stream_start(source, channel, fs))
    except DeviceError as exc:
        if "E_TYPE" not in str(exc):
            raise
        raise DeviceError("the board answers INFO but has no stream mode (STREAM_START: E_TYPE): it runs other "
                          "firmware, e.g. the SerialClassifier sketch; flash the tinybeat firmware "
                          "(`pio run -e <board> -t upload`)") from None


def stream_vboard(exe: Path, elf: Path, mcu: str, f_cpu: int, sig: Signal, channel: int = 0,
                  tail_s: float = 4.0, on_beat=None, on_status=None, on_signal=None) -> BoardRun:
    """Play sig on the simulated board's ADC pin; returns what the board reported.

    The vboard runs as fast as it can while the recording plays and in real
    time before and after it (the host asks for the final stats in the tail).
    """
    run = BoardRun()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tinybeat-stream-") as tmp:
        adc_path, load_path = Path(tmp) / "adc.bin", Path(tmp) / "load.json"
        adc_path.write_bytes(adc_file_bytes(sig))
        timeout = int(sig.n / sig.fs + tail_s + 120)
        cmd = [str(exe), "--mcu", mcu, "--freq", str(f_cpu), "--timeout", str(timeout),
               "--adc-file", str(adc_path), "--adc-rate", str(sig.fs), "--adc-channel", str(channel),
               "--adc-tail-s", str(tail_s), "--load-report", str(load_path), str(elf)]
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            ses = Session(ProcessLink(proc), Recorder(run, on_beat, on_status, on_signal))
            run.info = ses.wait_ready()
            check_protocol(run.info)
            start_stream(ses, protocol.SRC_ADC, channel, sig.fs)
            # the recording plays; STATUS events come once per second of samples
            last, seen = time.monotonic(), 0
            while not (run.status and run.status[-1].samples >= sig.n):
                ses.pump(0.2)
                if proc.poll() is not None:
                    break
                if len(run.status) != seen:
                    last, seen = time.monotonic(), len(run.status)
                elif time.monotonic() - last > STALL_S:
                    raise DeviceError(f"the board processed no samples for {STALL_S:.0f} s (last status: "
                                      f"{run.status[-1] if run.status else 'none'})")
            if proc.poll() is None:
                run.final = protocol.decode_stream_stats(ses.request(protocol.STREAM_STOP).payload)
            try:
                rc = proc.wait(timeout=tail_s + 30)
            except subprocess.TimeoutExpired:
                raise DeviceError("the virtual board did not stop after the recording") from None
            ses.pump(0.0)  # whatever the board sent last
            run.lost_events = ses.lost_events
            if rc != 0:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise DeviceError(f"the virtual board exited with status {rc}: {err[-1] if err else ''}")
            if load_path.is_file():
                run.load = json.loads(load_path.read_text())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdin, proc.stdout, proc.stderr):
                try:
                    pipe.close()
                except OSError:
                    pass
    run.wall_s = time.monotonic() - t0
    if run.final is None:
        raise DeviceError("the board's final stream stats did not arrive before the virtual board stopped")
    return run


def stream_host(link, sig: Signal, on_beat=None, on_status=None, on_signal=None) -> BoardRun:
    """Send sig as SAMPLES frames (a board with no analog front end, or the bench); returns the run."""
    run = BoardRun()
    t0 = time.monotonic()
    ses = Session(link, Recorder(run, on_beat, on_status, on_signal))
    run.info = ses.wait_ready()
    check_protocol(run.info)
    start_stream(ses, protocol.SRC_HOST, 0, sig.fs)
    values = host_samples(sig)
    for i in range(0, len(values), protocol.SAMPLES_MAX):
        block = values[i:i + protocol.SAMPLES_MAX]
        reply = ses.request(protocol.SAMPLES, protocol.encode_samples(block))
        got = protocol.decode_samples_reply(reply.payload)
        if got != i + len(block):
            raise DeviceError(f"the board counted {got} samples, the host sent {i + len(block)}")
    run.final = protocol.decode_stream_stats(ses.request(protocol.STREAM_STOP).payload)
    ses.pump(0.05)
    run.lost_events = ses.lost_events
    run.wall_s = time.monotonic() - t0
    return run
