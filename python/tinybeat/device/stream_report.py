"""What ``tinybeat stream`` tells: EC57 detection scores, verdicts against the annotations, the summary, the PNG.

Detection is scored with :func:`tinybeat.frontend.ec57.score_record` (mode
FROM_5_MIN), leaving out the stretches the board flagged (lead-off, flat,
saturated and, once the front end reports it, noisy): a beat inside one is not
missed. Verdicts are scored on the board's beats matched one-to-one (150 ms)
to a reference beat whose symbol has a class (:data:`CLASSES`): a K x K
confusion matrix (reference rows, board columns), per-class sensitivity,
and for two classes Se, Sp and the AUC of the board's scores.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from tinybeat.device import protocol
from tinybeat.device.board_run import BoardRun
from tinybeat.device.feed import Signal
from tinybeat.device.protocol import BeatEvent
from tinybeat.frontend.params import SIG_OK

SIGNAL_NAMES = {0: "ok", 1: "lead-off", 2: "flat", 3: "saturated"}  # a state added later shows as its number
VERDICTS = {0: "normal", 1: "ABNORMAL", protocol.CLASS_NONE: "unclassified"}


@dataclass(frozen=True)
class Classes:
    """The board's classes: names[k] for class k, and the class of a reference symbol (-1: none)."""

    names: tuple[str, ...]
    of_symbol: Callable[[str], int]


def _binary_class(symbol: str) -> int:
    from tinybeat.recordings.labelled import ABNORMAL_SYMBOLS, NORMAL_SYMBOLS

    return 0 if symbol in NORMAL_SYMBOLS else 1 if symbol in ABNORMAL_SYMBOLS else -1


CLASSES = Classes(("normal", "abnormal"), _binary_class)  # a K-class model brings its own Classes


def flagged_stretches(signals, n: int) -> list[tuple[int, int]]:
    """[start, end] samples (inclusive) where the board reported a state other than ok (from SIGNAL events)."""
    out, start = [], None
    for e in signals:
        if e.signal != SIG_OK and start is None:
            start = e.sample
        elif e.signal == SIG_OK and start is not None:
            out.append((start, max(start, e.sample - 1)))
            start = None
    if start is not None and start < n:
        out.append((start, n - 1))
    return out


def mask_stretches(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end] samples (inclusive) of the True runs of a bool mask."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return [(int(a), int(b) - 1) for a, b in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1))]


def merge_stretches(*groups: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The union of [start, end] stretches, sorted, overlapping or touching ones merged."""
    out: list[tuple[int, int]] = []
    for a, b in sorted(x for g in groups for x in g):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def detection_metrics(sig: Signal, beats: list[BeatEvent], flagged: list[tuple[int, int]] | None = None) -> dict:
    """EC57 beat detection Se / +P of the board's beats against the annotations, or why not.

    flagged: [start, end] sample stretches left out of both sides (lead-off, noise).
    """
    if sig.ann_samples is None:
        return {"available": False, "reason": sig.ann_note}
    from tinybeat.frontend import ec57

    det = np.array([b.r_sample for b in beats if b.r_sample < sig.n], dtype=np.int64)
    fl = np.asarray(flagged, dtype=np.int64).reshape(-1, 2) if flagged else None
    scored = ec57.score_record(det, sig.ann_samples, sig.fs, sig.n, ec57.FROM_5_MIN, sig.vf_intervals, fl)
    return {"available": True, "scored_from_s": scored.start_s, **scored.as_dict()}


def detection_line(d: dict) -> str:
    """The summary line of the detection scores (never 'nan')."""
    if not d["available"]:
        return f"beat detection metrics: not computed: {d['reason']}"
    head = f"beat detection vs annotations (EC57, from {d['scored_from_s']:g} s"
    head += f", {d['flagged_s']:.1f} s of lead-off or flagged signal left out)" if d.get("flagged_s") else ")"
    if d["tp"] + d["fn"] == 0:
        return f"{head}: no reference beats in the scored span ({d['fp']} beats found there)"
    ppv = f"{100 * d['ppv']:.2f} %" if d["tp"] + d["fp"] else "- (no beats found)"
    return f"{head}: Se {100 * d['se']:.2f} %, +P {ppv} (TP {d['tp']}, FN {d['fn']}, FP {d['fp']})"


def verdict_scores(sig: Signal, beats: list[BeatEvent], classes: Classes = CLASSES) -> dict:
    """The board's verdicts against the reference labels of the beats it found (see the module docstring)."""
    if sig.ann_samples is None or sig.ann_symbols is None:
        return {"available": False, "reason": sig.ann_note or "no reference symbols"}
    from tinybeat.frontend import ec57

    found = [b for b in beats if b.r_sample < sig.n]
    det = np.array([b.r_sample for b in found], dtype=np.int64)
    match = ec57.match(det, sig.ann_samples, sig.fs) if det.size else np.zeros(0, dtype=np.int64)
    k = len(classes.names)
    counts = np.zeros((k, k), dtype=np.int64)
    ref_cls, board_cls, scores, disagreements = [], [], [], []
    skipped = {"unmatched": 0, "unclassified_by_board": 0, "reference_without_class": 0}
    for b, m in zip(found, match.tolist()):
        if m < 0:
            skipped["unmatched"] += 1
            continue
        sym = str(sig.ann_symbols[m])
        r = classes.of_symbol(sym)
        if r < 0:
            skipped["reference_without_class"] += 1
            continue
        if not 0 <= b.klass < k:
            skipped["unclassified_by_board"] += 1
            continue
        counts[r, b.klass] += 1
        ref_cls.append(r)
        board_cls.append(b.klass)
        scores.append(b.score)
        if r != b.klass:
            disagreements.append({"sample": b.r_sample, "reference": sym, "board": classes.names[b.klass]})
    n = int(counts.sum())
    per_class = {name: {"reference": int(counts[i].sum()), "correct": int(counts[i, i]),
                        "sensitivity": float(counts[i, i] / counts[i].sum()) if counts[i].sum() else None}
                 for i, name in enumerate(classes.names)}
    out = {"available": True, "compared": n, "skipped": skipped,
           "confusion": {"classes": list(classes.names), "counts": counts.tolist()},
           "per_class": per_class, "disagreements": disagreements}
    if k == 2:
        pos, neg = counts[1].sum(), counts[0].sum()
        out["se"] = float(counts[1, 1] / pos) if pos else None
        out["sp"] = float(counts[0, 0] / neg) if neg else None
        both = len(set(ref_cls)) == 2
        if both:
            from tinybeat.core.metrics import auc

            out["auc"] = auc(np.array(ref_cls), np.array(scores, dtype=np.float64))
        else:
            out["auc"] = None
    return out


def verdict_lines(v: dict) -> list[str]:
    """Summary lines of :func:`verdict_scores`."""
    if not v["available"]:
        return [f"verdicts vs annotations: not computed: {v['reason']}"]
    if not v["compared"]:
        return ["verdicts vs annotations: no classified beat matched a labelled reference beat"]
    pct = lambda x: "-" if x is None else f"{100 * x:.2f} %"  # noqa: E731
    names, counts = v["confusion"]["classes"], v["confusion"]["counts"]
    line = f"verdicts vs annotations ({v['compared']} matched beats): "
    if "se" in v:
        auc = "-" if v["auc"] is None else f"{v['auc']:.4f}"
        line += f"Se {pct(v['se'])}, Sp {pct(v['sp'])}, AUC {auc}"
    else:
        line += ", ".join(f"{n} Se {pct(d['sensitivity'])}" for n, d in v["per_class"].items())
    conf = "; ".join(f"{r}->{c} {counts[i][j]}" for i, r in enumerate(names) for j, c in enumerate(names))
    return [line, f"  confusion (reference->board): {conf}; disagreements: {len(v['disagreements'])}"]


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
