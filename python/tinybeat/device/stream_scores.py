"""How a stream is scored against its annotations: beat detection (EC57) and the board's verdicts.

Detection is scored with :func:`tinybeat.frontend.ec57.score_record` (mode
FROM_5_MIN), leaving out the stretches the board flagged (lead-off, flat,
saturated and, once the front end reports it, noisy): a beat inside one is not
missed. Verdicts are scored on the board's beats matched one-to-one (150 ms)
to a reference beat whose symbol has a class (:data:`CLASSES`): a K x K
confusion matrix (reference rows, board columns), per-class sensitivity,
and for two classes Se, Sp and the AUC of the board's scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinybeat.device.feed import Signal
from tinybeat.device.protocol import BeatEvent
from tinybeat.frontend.params import SIG_OK

SIGNAL_NAMES = {0: "ok", 1: "lead-off", 2: "flat", 3: "saturated"}  # a state added later shows as its number


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
    split = v.get("record_split", "unknown")
    where = {"train": "a training record: optimistic", "test": "a held-out test record"}.get(split, "split unknown")
    line = f"verdicts vs annotations ({v['compared']} matched beats, every one of the stream; {where}): "
    if "se" in v:
        auc = "-" if v["auc"] is None else f"{v['auc']:.4f}"
        line += f"Se {pct(v['se'])}, Sp {pct(v['sp'])}, AUC {auc}"
    else:
        line += ", ".join(f"{n} Se {pct(d['sensitivity'])}" for n, d in v["per_class"].items())
    conf = "; ".join(f"{r}->{c} {counts[i][j]}" for i, r in enumerate(names) for j, c in enumerate(names))
    return [line, f"  confusion (reference->board): {conf}; disagreements: {len(v['disagreements'])}"]
