"""`tinybeat stream`: replay an ECG record through the board, beat by beat, and check it.

The record (WFDB, loaded by :mod:`tinybeat.recordings.records`) becomes pin voltages of
an AD8232-class module (:mod:`tinybeat.frontend.analog`). By default they are played on
the simulated board's ADC pin (``avr-vboard --adc-file``, sample k at k / fs
seconds of simulated time); with ``port`` they go to a real board as SAMPLES
frames (codes), since a PC cannot drive the board's analog pin. Either way the
firmware finds and classifies the beats (stream mode, README "Stream mode").

The host then runs the Python reference on exactly the samples the board saw
(:func:`tinybeat.frontend.run` + :func:`tinybeat.core.families.predict_scores` with
the model that :mod:`tinybeat.pipeline.ensure` selects from ``model/trained.json``)
and compares every beat: position, RR fields, features, a checksum of all 193
classifier inputs, score and class. It also scores beat detection against the
record's annotations (ANSI/AAMI EC57 Se / +P), and reports the board's missed
sample interrupts, stack high-water and (simulated board) CPU load.
"""

from __future__ import annotations

import hashlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from tinybeat.frontend import analog
from tinybeat.device import protocol
from tinybeat.device.protocol import BeatEvent, Frame, SignalEvent, StreamStats

STALL_S = 20.0  # wall-clock seconds without a STATUS event before the host gives up
SIGNAL_NAMES = {0: "ok", 1: "lead-off", 2: "flat", 3: "saturated"}
VERDICTS = {0: "normal", 1: "ABNORMAL", protocol.CLASS_NONE: "unclassified"}


class StreamError(RuntimeError):
    """The stream could not run or the board misbehaved; the message is one line."""


# ---- the signal fed to the board ------------------------------------------------------------

@dataclass
class Signal:
    """What the board is fed (n samples at fs Hz).

    pin_mv: int32 (n,) module output in whole mV (the simulated ADC pin);
    lead_off: bool (n,) True where the electrodes are off (LO+/LO- high);
    codes: uint16 (n,) the ADC codes the board reads (analog.adc_code), 0 where lead-off;
    ann_samples / vf_intervals: reference beats and VF episodes, or None;
    ann_note: why detection metrics cannot be computed (empty when they can).
    """

    name: str
    fs: int
    pin_mv: np.ndarray
    lead_off: np.ndarray
    ann_samples: np.ndarray | None = None
    vf_intervals: np.ndarray | None = None
    ann_note: str = ""

    @property
    def codes(self) -> np.ndarray:
        c = analog.adc_code(self.pin_mv)
        c[self.lead_off] = 0
        return c

    @property
    def n(self) -> int:
        return len(self.pin_mv)


def pin_mv_for_codes(codes: np.ndarray, vref_mv: int = analog.VREF_MV) -> np.ndarray:
    """The lowest whole-mV pin voltage the ADC converts to each code (int32, same shape)."""
    c = np.asarray(codes, dtype=np.int64)
    return ((c * vref_mv + analog.ADC_MAX - 1) // analog.ADC_MAX).astype(np.int32)


def load_signal(path: str | Path, start_s: float = 0.0, duration_s: float = 0.0,
                lead_off_s: tuple[float, float] | None = None) -> Signal:
    """A WFDB record (path without extension) as a :class:`Signal`.

    start_s / duration_s cut a stretch (duration 0 = to the end); lead_off_s
    (start, end) in seconds of that stretch marks electrodes off. Raises
    records.RecordError or ValueError with one line naming the file and reason.
    """
    from tinybeat.recordings.records import load_record

    rec = load_record(path)
    fs = rec.fs
    a = int(round(start_s * fs))
    b = len(rec.adc) if duration_s <= 0 else min(len(rec.adc), a + int(round(duration_s * fs)))
    if not 0 <= a < b:
        raise ValueError(f"{path}: the stretch {start_s:g} s + {duration_s:g} s is outside the record "
                         f"({len(rec.adc) / fs:.1f} s)")
    # The ADC pin carries a voltage the board converts itself; records.py gives the codes of the
    # analog model, and the lowest voltage with that code is converted back to it exactly.
    pin = pin_mv_for_codes(rec.adc[a:b])
    assert np.array_equal(analog.adc_code(pin), rec.adc[a:b])
    lead_off = np.zeros(b - a, dtype=bool)
    if lead_off_s is not None:
        lo, hi = (int(round(t * fs)) for t in lead_off_s)
        if not 0 <= lo < hi <= b - a:
            raise ValueError(f"lead-off {lead_off_s[0]:g}..{lead_off_s[1]:g} s is outside the "
                             f"{(b - a) / fs:.1f} s streamed")
        lead_off[lo:hi] = True
    sig = Signal(rec.name, fs, pin, lead_off)
    if rec.ann_samples is None:
        sig.ann_note = f"{Path(str(path) + '.atr')} not found: no reference beats, detection metrics not computed"
    else:
        keep = (rec.ann_samples >= a) & (rec.ann_samples < b)
        sig.ann_samples = rec.ann_samples[keep] - a
        if rec.vf_intervals is not None:
            sig.vf_intervals = np.clip(rec.vf_intervals - a, 0, b - a - 1)
    return sig


def adc_file_bytes(sig: Signal) -> bytes:
    """The vboard's --adc-file: little-endian uint16 mV per sample, 0xFFFF where lead-off."""
    mv = np.clip(sig.pin_mv, 0, 0xFFFE).astype("<u2")
    mv[sig.lead_off] = 0xFFFF
    return mv.tobytes()


def host_samples(sig: Signal) -> np.ndarray:
    """The SAMPLES values for a board without the analog front end (uint16 (n,))."""
    s = sig.codes.astype(np.uint16)
    s[sig.lead_off] = protocol.SAMPLE_LEAD_OFF
    return s


# ---- links: a vboard process or a serial port -------------------------------------------------

class ProcessLink:
    """The board's UART0 as the stdin/stdout of an avr-vboard process."""

    def __init__(self, proc: subprocess.Popen):
        self.proc = proc
        os.set_blocking(proc.stdout.fileno(), False)

    def write(self, data: bytes) -> None:
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise StreamError(f"the virtual board stopped (exit {self.proc.poll()}): {exc}") from None

    def read(self, timeout_s: float) -> bytes:
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(fd, 65536)
        except BlockingIOError:
            return b""

    def closed(self) -> bool:
        return self.proc.poll() is not None


class SerialLink:
    """A real board's serial port (pyserial)."""

    def __init__(self, port: str, baud: int = 115200):
        import serial

        try:
            self.serial = serial.serial_for_url(port, baudrate=baud, timeout=0)
        except (serial.SerialException, ValueError) as exc:
            raise StreamError(f"{port}: cannot open the serial port ({exc})") from None

    def write(self, data: bytes) -> None:
        self.serial.write(data)

    def read(self, timeout_s: float) -> bytes:
        deadline = time.monotonic() + timeout_s
        while True:
            data = self.serial.read(self.serial.in_waiting or 1)
            if data or time.monotonic() >= deadline:
                return data
            time.sleep(0.002)

    def closed(self) -> bool:
        return False

    def close(self) -> None:
        self.serial.close()


# ---- the board's stream -----------------------------------------------------------------------

@dataclass
class BoardRun:
    """What the board reported: events in order, the final stream stats, the vboard's load report."""

    beats: list[BeatEvent] = field(default_factory=list)
    signals: list[SignalEvent] = field(default_factory=list)
    status: list[StreamStats] = field(default_factory=list)
    final: StreamStats | None = None
    info: protocol.DeviceInfo | None = None
    load: dict | None = None
    lost_events: int = 0
    wall_s: float = 0.0


class Session:
    """Frames over a link: requests with replies, and the device's events on the side."""

    def __init__(self, link, run: BoardRun, on_beat: Callable[[BeatEvent], None] | None = None,
                 on_status: Callable[[StreamStats], None] | None = None):
        self.link = link
        self.run = run
        self.parser = protocol.FrameParser()
        self.seq = 0
        self.on_beat = on_beat
        self.on_status = on_status
        self._event_seq: int | None = None

    def _event(self, f: Frame) -> None:
        if self._event_seq is not None and f.seq != self._event_seq:
            self.run.lost_events += (f.seq - self._event_seq) & 0xFF
        self._event_seq = (f.seq + 1) & 0xFF
        try:
            if f.type == protocol.EV_BEAT:
                beat = protocol.decode_beat(f.payload)
                self.run.beats.append(beat)
                if self.on_beat:
                    self.on_beat(beat)
            elif f.type == protocol.EV_SIGNAL:
                self.run.signals.append(protocol.decode_signal(f.payload))
            elif f.type == protocol.EV_STATUS:
                st = protocol.decode_stream_stats(f.payload)
                self.run.status.append(st)
                if self.on_status:
                    self.on_status(st)
        except protocol.PayloadError as exc:
            raise StreamError(f"the board sent a malformed event: {exc}") from None

    def pump(self, timeout_s: float) -> list[Frame]:
        """Read for up to timeout_s; handle events; return the non-event frames."""
        data = self.link.read(timeout_s)
        out = []
        for item in self.parser.feed(data):
            if isinstance(item, Frame):
                if protocol.is_event(item.type):
                    self._event(item)
                else:
                    out.append(item)
        return out

    def request(self, type_: int, payload: bytes = b"", timeout_s: float = 5.0) -> Frame:
        seq = self.seq
        self.seq = (seq + 1) & 0xFF
        self.link.write(protocol.encode_frame(type_, seq, payload))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for f in self.pump(0.05):
                if f.seq != seq:
                    continue
                if f.is_error:
                    raise StreamError(f"the board replied {protocol.describe_error(f)} to request {type_:#04x}")
                if f.type != protocol.reply_type(type_):
                    raise StreamError(f"unexpected reply {f.type:#04x} to request {type_:#04x}")
                return f
            if self.link.closed():
                raise StreamError(f"the board stopped before replying to request {type_:#04x}")
        raise StreamError(f"no reply to request {type_:#04x} within {timeout_s:.0f} s")

    def wait_ready(self, timeout_s: float = 10.0) -> protocol.DeviceInfo:
        deadline = time.monotonic() + timeout_s
        while True:
            self.seq = 0
            try:
                return protocol.decode_info_reply(self.request(protocol.INFO, timeout_s=1.0).payload)
            except StreamError:
                if time.monotonic() > deadline or self.link.closed():
                    raise StreamError(f"the board did not answer INFO within {timeout_s:.0f} s") from None


def _check_info(info: protocol.DeviceInfo) -> None:
    if info.proto_version != protocol.PROTO_VERSION:
        raise StreamError(f"the board speaks protocol {info.proto_version}, this host {protocol.PROTO_VERSION}: "
                          "flash the current firmware")


def stream_vboard(exe: Path, elf: Path, mcu: str, f_cpu: int, sig: Signal, channel: int = 0,
                  tail_s: float = 4.0, on_beat=None, on_status=None) -> BoardRun:
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
            ses = Session(ProcessLink(proc), run, on_beat, on_status)
            run.info = ses.wait_ready()
            _check_info(run.info)
            ses.request(protocol.STREAM_START, protocol.encode_stream_start(protocol.SRC_ADC, channel, sig.fs))
            # the recording plays; STATUS events come once per second of samples
            last, seen = time.monotonic(), 0
            while not (run.status and run.status[-1].samples >= sig.n):
                ses.pump(0.2)
                if proc.poll() is not None:
                    break
                if len(run.status) != seen:
                    last, seen = time.monotonic(), len(run.status)
                elif time.monotonic() - last > STALL_S:
                    raise StreamError(f"the board processed no samples for {STALL_S:.0f} s (last status: "
                                      f"{run.status[-1] if run.status else 'none'})")
            if proc.poll() is None:
                run.final = protocol.decode_stream_stats(ses.request(protocol.STREAM_STOP).payload)
            try:
                rc = proc.wait(timeout=tail_s + 30)
            except subprocess.TimeoutExpired:
                raise StreamError("the virtual board did not stop after the recording") from None
            ses.pump(0.0)  # whatever the board sent last
            if rc != 0:
                err = proc.stderr.read().decode(errors="replace").strip().splitlines()
                raise StreamError(f"the virtual board exited with status {rc}: {err[-1] if err else ''}")
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
        raise StreamError("the board's final stream stats did not arrive before the virtual board stopped")
    return run


def stream_host(link, sig: Signal, on_beat=None, on_status=None) -> BoardRun:
    """Send sig as SAMPLES frames (a board with no analog front end, or the bench); returns the run."""
    run = BoardRun()
    t0 = time.monotonic()
    ses = Session(link, run, on_beat, on_status)
    run.info = ses.wait_ready()
    _check_info(run.info)
    ses.request(protocol.STREAM_START, protocol.encode_stream_start(protocol.SRC_HOST, 0, sig.fs))
    values = host_samples(sig)
    for i in range(0, len(values), protocol.SAMPLES_MAX):
        block = values[i:i + protocol.SAMPLES_MAX]
        reply = ses.request(protocol.SAMPLES, protocol.encode_samples(block))
        got = protocol.decode_samples_reply(reply.payload)
        if got != i + len(block):
            raise StreamError(f"the board counted {got} samples, the host sent {i + len(block)}")
    run.final = protocol.decode_stream_stats(ses.request(protocol.STREAM_STOP).payload)
    ses.pump(0.05)
    run.wall_s = time.monotonic() - t0
    return run


# ---- the Python reference and the comparison -------------------------------------------------

@dataclass
class Reference:
    """The Python reference on the board's samples: front-end result, scores and classes per beat."""

    front: object  # frontend.FrontendResult
    scores: np.ndarray
    classes: np.ndarray


def reference(codes: np.ndarray, lead_off: np.ndarray, fs: int, model, threshold: int,
              n_inputs: int) -> Reference:
    """frontend.run on the codes, then the model on every beat with rhythm context (no NO_PRE flag), as the firmware."""
    from tinybeat import frontend
    from tinybeat.core import families

    res = frontend.run(codes, fs, lead_off)
    n = res.n_beats
    scores = np.zeros(n, dtype=np.int64)
    classes = np.full(n, protocol.CLASS_NONE, dtype=np.int64)
    ok = (res.flags & frontend.params.FLAG_NO_PRE) == 0
    if n_inputs in (res.x.shape[1], 187) and ok.any():
        s = families.predict_scores(model, res.x[ok][:, :n_inputs])
        scores[ok] = s
        classes[ok] = (s > threshold).astype(np.int64)
    return Reference(res, scores, classes)


def compare(beats: list[BeatEvent], ref: Reference) -> list[str]:
    """One line per difference between the board's beats and the reference (empty = identical)."""
    fr = ref.front
    out = []
    if len(beats) != fr.n_beats:
        out.append(f"the board reported {len(beats)} beats, the reference {fr.n_beats}")
    for i, b in enumerate(beats[:fr.n_beats]):
        x = fr.x[i]
        want = (int(fr.r_sample[i]), int(fr.rr_pre[i]), int(fr.rr_post[i]), int(fr.rr_avg[i]),
                int(fr.hr_x10[i]), int(fr.flags[i]), bytes(x[187:193]), protocol.fletcher16(bytes(x)),
                int(ref.classes[i]), int(ref.scores[i]))
        got = (b.r_sample, b.rr_pre, b.rr_post, b.rr_avg, b.hr_x10, b.flags, bytes(b.features), b.checksum,
               b.klass, b.score)
        if got != want:
            names = ("r_sample", "rr_pre", "rr_post", "rr_avg", "hr_x10", "flags", "features", "checksum",
                     "class", "score")
            diff = ", ".join(f"{n} board {g!r} ref {w!r}" for n, g, w in zip(names, got, want) if g != w)
            out.append(f"beat {i}: {diff}")
    return out


def board_samples(sig: Signal, total: int) -> tuple[np.ndarray, np.ndarray]:
    """The codes and lead-off flags the board processed: sig, then its last sample held (vboard tail)."""
    codes, lead = sig.codes, sig.lead_off
    extra = max(0, total - sig.n)
    if extra:
        codes = np.concatenate([codes, np.full(extra, codes[-1], dtype=codes.dtype)])
        lead = np.concatenate([lead, np.full(extra, lead[-1])])
    return codes[:total], lead[:total]


# ---- reports ------------------------------------------------------------------------------------

def detection_metrics(sig: Signal, beats: list[BeatEvent]) -> dict:
    """EC57 beat detection Se / +P of the board's beats against the annotations, or why not."""
    if sig.ann_samples is None:
        return {"available": False, "reason": sig.ann_note}
    from tinybeat.frontend import ec57

    det = np.array([b.r_sample for b in beats if b.r_sample < sig.n], dtype=np.int64)
    # EC57 leaves the first 5 minutes to the detector's learning; a shorter stream is scored from 10 s
    start_s = ec57.START_S if sig.n / sig.fs >= 2 * ec57.START_S else 10.0
    sc = ec57.score(det, sig.ann_samples, sig.fs, sig.vf_intervals, start_s=start_s)
    return {"available": True, "scored_from_s": start_s, **sc.as_dict()}


def plot(sig: Signal, beats: list[BeatEvent], path: Path, start_s: float = 0.0, length_s: float = 10.0) -> None:
    """PNG: a stretch of the ECG (ADC codes) with the board's beats marked by verdict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fs = sig.fs
    a = int(start_s * fs)
    b = min(sig.n, a + int(length_s * fs))
    t = np.arange(a, b) / fs
    codes = sig.codes
    fig, ax = plt.subplots(figsize=(12, 3.6))
    ax.plot(t, codes[a:b], lw=0.7, color="0.25")
    style = {0: ("tab:green", "normal"), 1: ("tab:red", "abnormal"), protocol.CLASS_NONE: ("tab:gray", "unclassified")}
    for k, (color, label) in style.items():
        r = np.array([bt.r_sample for bt in beats if bt.klass == k and a <= bt.r_sample < b], dtype=np.int64)
        if r.size:
            ax.scatter(r / fs, codes[r], color=color, s=30, zorder=3, label=f"{label} ({r.size})")
    if sig.ann_samples is not None:
        r = sig.ann_samples[(sig.ann_samples >= a) & (sig.ann_samples < b)]
        ax.scatter(r / fs, np.full(r.size, codes[a:b].max() + 15), marker="v", color="tab:blue", s=14,
                   label="annotated beats")
    lo = sig.lead_off[a:b]
    if lo.any():
        ax.fill_between(t, 0, 1023, where=lo, color="orange", alpha=0.2, label="lead-off")
    ax.set_xlabel("time (s)")
    ax.set_ylabel("ADC code")
    ax.set_title(f"{sig.name}: beats found and classified by the board ({t[0]:.0f}-{t[-1]:.0f} s)")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    os.replace(tmp, path)


def beat_line(b: BeatEvent, fs: int) -> str:
    """One live line: time, RR, heart rate, verdict, score."""
    rr = f"{1000 * b.rr_pre / fs:5.0f} ms" if b.rr_pre else "    - ms"
    hr = f"{b.hr_x10 / 10:5.1f} bpm" if b.hr_x10 else "   -  bpm"
    return (f"{b.r_sample / fs:9.2f} s  RR {rr}  HR {hr}  {VERDICTS.get(b.klass, '?'):<12}"
            f" score {b.score:>7}" + (f"  flags {b.flags:#04x}" if b.flags else ""))


def summarize(sig: Signal, run: BoardRun, mismatches: list[str], metrics: dict) -> dict:
    """The JSON summary of one stream."""
    beats = run.beats
    counts = {VERDICTS[k]: sum(1 for b in beats if b.klass == k) for k in VERDICTS}
    fin = run.final
    cycles = np.array([b.cycles for b in beats], dtype=np.int64)
    out = {
        "record": sig.name, "fs": sig.fs, "samples": sig.n, "seconds": sig.n / sig.fs,
        "beats": len(beats), "verdicts": counts,
        "signal_events": [{"sample": e.sample, "state": SIGNAL_NAMES.get(e.signal, str(e.signal))}
                          for e in run.signals],
        "detection": metrics,
        "mismatches": len(mismatches), "mismatch_details": mismatches[:20],
        "board": {"samples_processed": fin.samples, "missed_sample_interrupts": fin.missed,
                  "max_cycles_one_sample": fin.max_cycles, "ring_high_water": fin.ring_max,
                  "stack_high_water_bytes": fin.stack_max_bytes,
                  "static_ram_bytes": run.info.firmware_static_ram_bytes if run.info else None,
                  "lost_events": run.lost_events,
                  "serial_bytes_lost": fin.rx_lost, "front_end_dropped_beats": fin.front_dropped,
                  "engine_errors": fin.engine_errors, "transmit_waits": fin.tx_waits,
                  "rx_ring_high_water_bytes": fin.rx_ring_max, "tx_ring_high_water_bytes": fin.tx_ring_max,
                  "beat_cycles": {"median": float(np.median(cycles)), "max": int(cycles.max())} if cycles.size else None},
        "wall_seconds": run.wall_s,
    }
    if run.load:
        out["cpu_load"] = {"windows": run.load["windows"], "worst_1s": run.load["worst_awake"],
                           "worst_window_s": run.load["worst_window"], "mean": run.load["mean_awake"]}
    return out


def format_summary(s: dict) -> str:
    v = s["verdicts"]
    lines = [f"{s['record']}: {s['seconds']:.0f} s at {s['fs']} Hz, {s['beats']} beats: "
             f"{v['normal']} normal, {v['ABNORMAL']} abnormal, {v['unclassified']} unclassified"]
    d = s["detection"]
    if d["available"]:
        lines.append(f"beat detection vs annotations (EC57, from {d['scored_from_s']:g} s): Se {100 * d['se']:.2f} %, "
                     f"+P {100 * d['ppv']:.2f} % (TP {d['tp']}, FN {d['fn']}, FP {d['fp']})")
    else:
        lines.append(f"beat detection metrics: not computed: {d['reason']}")
    for e in s["signal_events"]:
        lines.append(f"signal: {e['state']} from {e['sample'] / s['fs']:.2f} s")
    b = s["board"]
    lines.append(f"board vs Python reference (positions, features, inputs checksum, scores, classes): "
                 f"{s['mismatches']} mismatches")
    lines.extend("  " + m for m in s["mismatch_details"][:5])
    lines.append(f"missed sample interrupts: {b['missed_sample_interrupts']}; ring high-water "
                 f"{b['ring_high_water']} samples; worst sample {b['max_cycles_one_sample']} cycles; "
                 f"stack high-water {b['stack_high_water_bytes']} B, static RAM {b['static_ram_bytes']} B")
    lines.append(f"serial: {b['serial_bytes_lost']} received bytes lost (receive ring high-water "
                 f"{b['rx_ring_high_water_bytes']} B), {b['transmit_waits']} transmit waits; beats dropped by the "
                 f"front end: {b['front_end_dropped_beats']}; beats the engine refused: {b['engine_errors']}")
    if b["lost_events"]:
        lines.append(f"events lost on the link: {b['lost_events']}")
    if "cpu_load" in s:
        c = s["cpu_load"]
        lines.append(f"CPU load (simulated): worst 1-s window {100 * c['worst_1s']:.2f} % (second "
                     f"{c['worst_window_s']}), mean duty cycle {100 * c['mean']:.2f} % over {c['windows']} s")
    return "\n".join(lines)


# ---- the command ------------------------------------------------------------------------------

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
                    raise StreamError(f"{p} is missing: {hint}")
            run = stream_vboard(exe, elf, board.mcu, board.f_cpu, sig, args.channel, on_beat=on_beat,
                                on_status=on_status)
    except StreamError as exc:
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
        plot(sig, run.beats, png_path, *_plot_span(sig, run.beats))
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


def _plot_span(sig: Signal, beats: list[BeatEvent], length_s: float = 10.0) -> tuple[float, float]:
    """A 10-s stretch around the first abnormal beat (else the start)."""
    abnormal = [b.r_sample for b in beats if b.klass == 1]
    start = max(0.0, abnormal[0] / sig.fs - 3.0) if abnormal else 0.0
    return min(start, max(0.0, sig.n / sig.fs - length_s)), length_s
