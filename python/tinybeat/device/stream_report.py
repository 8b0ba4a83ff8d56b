"""What ``tinybeat stream`` tells: the summary (JSON and text), live lines, the PNG.

The scores are :mod:`tinybeat.device.stream_scores`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from tinybeat.device import protocol
from tinybeat.device.board_run import BoardRun
from tinybeat.device.feed import Signal
from tinybeat.device.protocol import BeatEvent
from tinybeat.device.stream_scores import (CLASSES, SIGNAL_NAMES, Classes, detection_line, verdict_lines,
                                           verdict_scores)

VERDICTS = {0: "normal", 1: "ABNORMAL", protocol.CLASS_NONE: "unclassified"}


def plot(sig: Signal, beats: list[BeatEvent], path: Path, start_s: float = 0.0, length_s: float = 10.0,
         flagged: list[tuple[int, int]] | None = None, classes: Classes = CLASSES) -> None:
    """PNG: a stretch of the ECG (ADC codes) against record time, the board's beats by verdict, the
    reference label of every annotated beat, each disagreement circled, lead-off and flagged stretches shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fs = sig.fs
    a = int(start_s * fs)
    b = min(sig.n, a + int(length_s * fs))
    t0 = sig.start_s
    t = t0 + np.arange(a, b) / fs
    codes = sig.codes
    top = int(codes[a:b].max()) if b > a else 1023
    fig, ax = plt.subplots(figsize=(12, 3.8))
    ax.plot(t, codes[a:b], lw=0.7, color="0.25")
    style = {0: ("tab:green", "normal"), 1: ("tab:red", "abnormal"), protocol.CLASS_NONE: ("tab:gray", "unclassified")}
    for k, (color, label) in style.items():
        r = np.array([bt.r_sample for bt in beats if bt.klass == k and a <= bt.r_sample < b], dtype=np.int64)
        if r.size:
            ax.scatter(t0 + r / fs, codes[r], color=color, s=30, zorder=3, label=f"board: {label} ({r.size})")
    if sig.ann_samples is not None:
        inside = (sig.ann_samples >= a) & (sig.ann_samples < b)
        r = sig.ann_samples[inside]
        ax.scatter(t0 + r / fs, np.full(r.size, top + 15), marker="v", color="tab:blue", s=14,
                   label="reference beats (label above)")
        if sig.ann_symbols is not None:
            for x, sym in zip(r, np.asarray(sig.ann_symbols)[inside]):
                ax.text(t0 + x / fs, top + 30, str(sym), ha="center", va="bottom", fontsize=7, color="tab:blue")
        v = verdict_scores(sig, beats, classes)
        wrong = [d["sample"] for d in v.get("disagreements", []) if a <= d["sample"] < b]
        if wrong:
            w = np.array(wrong, dtype=np.int64)
            ax.scatter(t0 + w / fs, codes[w], s=160, facecolors="none", edgecolors="magenta", linewidths=1.5,
                       zorder=4, label=f"board disagrees with the reference ({len(wrong)})")
    lo = sig.lead_off[a:b]
    if lo.any():
        ax.fill_between(t, 0, 1023, where=lo, color="orange", alpha=0.2, label="lead-off (fed)")
    for i, (fa, fb) in enumerate(flagged or []):
        if fb >= a and fa < b:
            ax.axvspan(t0 + max(fa, a) / fs, t0 + min(fb, b - 1) / fs, color="purple", alpha=0.08,
                       label="flagged by the board (left out of scoring)" if i == 0 else None)
    ax.set_ylim(0, top + 80)
    ax.set_xlabel("time in the record (s)")
    ax.set_ylabel("ADC code")
    span = f"{t[0]:.1f}-{t[-1]:.1f} s" if b > a else "empty"
    ax.set_title(f"{sig.name}: beats found and classified by the board ({span} of the record)")
    ax.legend(loc="upper right", fontsize=7)
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


def summarize(sig: Signal, run: BoardRun, mismatches: list[str], metrics: dict, verdicts: dict | None = None,
              flagged: list[tuple[int, int]] | None = None) -> dict:
    """The JSON summary of one stream (start_s: where in the record it started)."""
    beats = run.beats
    counts = {VERDICTS[k]: sum(1 for b in beats if b.klass == k) for k in VERDICTS}
    fin = run.final
    cycles = np.array([b.cycles for b in beats], dtype=np.int64)
    out = {
        "record": sig.name, "fs": sig.fs, "resampled_from_hz": sig.resampled_from,
        "start_s": sig.start_s, "samples": sig.n, "seconds": sig.n / sig.fs,
        "beats": len(beats), "verdicts": counts,
        "verdicts_vs_annotations": verdicts if verdicts is not None else {"available": False, "reason": "not scored"},
        "flagged_stretches": [[int(x), int(y)] for x, y in (flagged or [])],
        "non_beat_annotations_left_out": sig.non_beats,
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
    rate = f" (resampled on the host from {s['resampled_from_hz']} Hz)" if s.get("resampled_from_hz") else ""
    lines = [f"{s['record']}: {s['seconds']:.0f} s from {s['start_s']:g} s at {s['fs']} Hz{rate}, {s['beats']} beats: "
             f"{v['normal']} normal, {v['ABNORMAL']} abnormal, {v['unclassified']} unclassified"]
    lines.append(detection_line(s["detection"]))
    lines.extend(verdict_lines(s["verdicts_vs_annotations"]))
    if s.get("non_beat_annotations_left_out"):
        nb = s["non_beat_annotations_left_out"]
        lines.append("non-beat annotations of the record, left out: " + ", ".join(f"{k} {n}" for k, n in nb.items()))
    for e in s["signal_events"]:
        lines.append(f"signal: {e['state']} from {e['sample'] / s['fs']:.2f} s of the stream")
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


def plot_span(sig: Signal, beats: list[BeatEvent], length_s: float = 10.0,
              focus: int | None = None) -> tuple[float, float]:
    """A 10-s stretch (seconds of the stream) around focus (a sample: e.g. the first disagreement), else
    around the first abnormal beat, else the start."""
    abnormal = [b.r_sample for b in beats if b.klass == 1]
    at = focus if focus is not None else abnormal[0] if abnormal else None
    start = max(0.0, at / sig.fs - 3.0) if at is not None else 0.0
    return min(start, max(0.0, sig.n / sig.fs - length_s)), length_s
