"""What ``tinybeat stream`` tells: EC57 detection scores, the summary (JSON and text), live lines, the PNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinybeat.device import protocol
from tinybeat.device.board_run import BoardRun
from tinybeat.device.feed import Signal
from tinybeat.device.protocol import BeatEvent

SIGNAL_NAMES = {0: "ok", 1: "lead-off", 2: "flat", 3: "saturated"}
VERDICTS = {0: "normal", 1: "ABNORMAL", protocol.CLASS_NONE: "unclassified"}


def detection_metrics(sig: Signal, beats: list[BeatEvent]) -> dict:
    """EC57 beat detection Se / +P of the board's beats against the annotations, or why not."""
    if sig.ann_samples is None:
        return {"available": False, "reason": sig.ann_note}
    from tinybeat.frontend import ec57

    det = np.array([b.r_sample for b in beats if b.r_sample < sig.n], dtype=np.int64)
    scored = ec57.score_record(det, sig.ann_samples, sig.fs, sig.n, ec57.FROM_5_MIN, sig.vf_intervals)
    return {"available": True, "scored_from_s": scored.start_s, **scored.as_dict()}


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


def plot_span(sig: Signal, beats: list[BeatEvent], length_s: float = 10.0) -> tuple[float, float]:
    """A 10-s stretch around the first abnormal beat (else the start)."""
    abnormal = [b.r_sample for b in beats if b.klass == 1]
    start = max(0.0, abnormal[0] / sig.fs - 3.0) if abnormal else 0.0
    return min(start, max(0.0, sig.n / sig.fs - length_s)), length_s
