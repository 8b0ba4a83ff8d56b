"""The model report in model/: report.md for people, report.json for machines, two PNGs."""

from __future__ import annotations

import json

import numpy as np

from tinybeat.core import families
from tinybeat.util.atomic import write_bytes_atomic, write_text_atomic
from tinybeat.targets.boards import board_manifests, load_board
from tinybeat.pipeline.config import Config, ConfigError
from tinybeat.pipeline.artifacts import FrontEntry, Paths, Trained
from tinybeat.pipeline.selection import model_budget, select_for_budget

DEFAULT_BOARD = "megaatmega2560"
ANCHOR = {"name": "Neuton heartbeat model (seed tutorial)", "auc": 0.973, "accuracy": 0.929,
          "cycles": 148000, "flash_bytes": 4096, "ram_bytes": 1100}


def board_choices(paths: Paths, cfg: Config, trained: Trained) -> list[dict]:
    """The model each known board gets under its budget."""
    out = []
    for board_id in board_manifests(paths.project):
        board = load_board(paths.project, board_id)
        try:
            budget = model_budget(board, cfg.budget)
        except ConfigError as exc:  # the reserves leave this board no room: say so, go on
            out.append({"board": board.id, "name": board.name, "f_cpu": board.f_cpu,
                        "budget": None, "model": None, "reason": str(exc)})
            continue
        entry = select_for_budget(trained, budget, cfg.search.tie_tolerance, board)
        out.append({"board": board.id, "name": board.name, "f_cpu": board.f_cpu,
                    "budget": budget.__dict__, "model": entry.name if entry else None,
                    "reason": None if entry else "no candidate fits this budget"})
    return out


def _png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    return buf.getvalue()


SPLIT_TEXT = {  # data.split.test -> (what the test beats are, ROC title)
    "patients": ("beats of patients the model never saw (no group value on both sides)", "new patients"),
    "shared-groups": ("separate test files that share group values (patients) with training", "shared patients"),
    "files": ("separate test files; without a group column it cannot be checked whether the same "
              "patients appear in training", "test files"),
    "rows": ("beats held out at random, row by row", "random rows"),
}
SPLIT_WARNING = ("**Warning: beats of one patient can sit on both sides of this split** "
                 "(no group column, or shared groups), so these numbers are optimistic for new patients: "
                 "set `data.group` to a patient/record column to split by patient.")


def split_info(trained: Trained) -> dict:
    """{"test": phrase, "roc": ROC title part, "cv": CV phrase, "warning": text or ""} from trained.data."""
    d = trained.data
    split = d.get("split") or {"test": "patients" if d.get("groups") else "rows",
                               "cv": "grouped" if d.get("groups") else "rows"}
    test, roc = SPLIT_TEXT[split["test"]]
    cv = ("grouped cross-validation (no group in two folds)" if split["cv"] == "grouped"
          else "cross-validation on random row folds")
    return {"test": test, "roc": roc, "cv": cv, "warning": "" if split["test"] == "patients" else SPLIT_WARNING}


def roc_points(y: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ROC curve (fpr, tpr), one point per distinct score plus (0, 0); numpy only (no sklearn import)."""
    y = np.asarray(y)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    s, t = np.asarray(scores, dtype=np.float64)[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tp, fp = np.cumsum(t == 1)[last], np.cumsum(t == 0)[last]
    return (np.r_[0.0, fp / max(fp[-1], 1)], np.r_[0.0, tp / max(tp[-1], 1)])


def plot_roc(entry: FrontEntry, ref_scores: np.ndarray | None, y: np.ndarray, scores: np.ndarray,
             title: str = "new patients", ref_curve: list | None = None) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    fpr, tpr = roc_points(y, scores)
    ax.plot(fpr, tpr, label=f"{entry.name} (integer) AUC {entry.test['auc']:.4f}")
    fpr, tpr = (roc_points(y, ref_scores) if ref_scores is not None else ref_curve)
    ax.plot(fpr, tpr, "--", label="float HistGradientBoosting reference")
    ax.plot([0, 1], [0, 1], ":", color="grey")
    ax.set_xlabel("false positive rate (normal beats flagged)")
    ax.set_ylabel("true positive rate (abnormal beats caught)")
    ax.set_title(f"ROC on the test split ({title})")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def plot_pareto(trained: Trained, chosen: str) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    front = {e.name for e in trained.front}
    for ax, key, label in ((axes[0], "flash_bytes", "model flash (bytes)"), (axes[1], "cycles", "estimated cycles per inference")):
        for fam, marker in zip(dict.fromkeys(c.family for c in trained.candidates), "os^Dv<>ph*"):
            cs = [c for c in trained.candidates if c.family == fam]
            if cs:
                ax.scatter([getattr(c, key) for c in cs], [c.cv_metric for c in cs], marker=marker, alpha=0.5, label=fam)
        fc = sorted((c for c in trained.candidates if c.name in front), key=lambda c: getattr(c, key))
        ax.plot([getattr(c, key) for c in fc], [c.cv_metric for c in fc], "k-", lw=0.8, label="Pareto front")
        sel = [c for c in trained.candidates if c.name == chosen]
        ax.scatter([getattr(c, key) for c in sel], [c.cv_metric for c in sel], s=160, facecolors="none",
                   edgecolors="red", label=f"chosen: {chosen}")
        ax.set_xscale("log")
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel(f"cross-validated {trained.metric} (integer model)")
    values = [c.cv_metric for c in trained.candidates]
    axes[0].set_ylim(max(np.percentile(values, 10), 0.5) - 0.01, min(max(values) + 0.02, 1.0))
    axes[1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle("Every candidate: accuracy against cost")
    fig.tight_layout()
    data = _png(fig)
    plt.close(fig)
    return data


def family_titles(trained: Trained) -> str:
    """The searched families as words, e.g. 'gradient-boosted trees, int8 MLPs'."""
    return ", ".join(families.get(f).title if f in families.REGISTRY else f
                     for f in dict.fromkeys(c.family for c in trained.candidates))


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def markdown(trained: Trained, choices: list[dict], default_board: str) -> str:
    entries = {e.name: e for e in trained.front}
    choice = next(c for c in choices if c["board"] == default_board)
    chosen = choice["model"]
    f_cpu = choice["f_cpu"]
    e = entries[chosen]
    t, ref = e.test, trained.float_reference["test"]
    c = t["confusion"]
    d = trained.data
    split = split_info(trained)
    lines = [
        "# Heartbeat model report",
        "",
        f"Generated by tinybeat {trained.version} (fingerprint `{trained.fingerprint[:16]}`). "
        "Every number below is measured on the **integer** model the board runs, "
        f"on the test split: {split['test']}.",
        "",
        *([split["warning"], ""] if split["warning"] else []),
        *quick_notice(trained),
        f"## The chosen model for `{default_board}`: `{chosen}`",
        "",
        f"- Out of 100 abnormal beats it catches **{100 * t['sensitivity']:.0f}** (sensitivity {_pct(t['sensitivity'])}).",
        f"- Out of 100 normal beats it wrongly flags **{100 * (1 - t['specificity']):.0f}** (specificity {_pct(t['specificity'])}).",
        f"- Accuracy {_pct(t['accuracy'])}, AUC {t['auc']:.4f}, F1 {t['f1']:.3f}, on {t['n']} test beats.",
        f"- Cost on the board: {e.flash_bytes} bytes of flash, about {e.cycles} cycles per beat "
        f"({1000 * e.cycles / f_cpu:.2f} ms at {f_cpu / 1e6:g} MHz), no heap, no floating point.",
        "",
        "| | predicted normal | predicted abnormal |",
        "|---|---|---|",
        f"| **normal** | {c['tn']} | {c['fp']} |",
        f"| **abnormal** | {c['fn']} | {c['tp']} |",
        "",
        "## Against references",
        "",
        "| model | test AUC | test accuracy | flash | cycles |",
        "|---|---|---|---|---|",
        f"| **{chosen}** (this project, integer) | {t['auc']:.4f} | {_pct(t['accuracy'])} | {e.flash_bytes} B | ~{e.cycles} |",
        f"| float HistGradientBoosting, unconstrained (same split) | {ref['auc']:.4f} | {_pct(ref['accuracy'])} | n/a | n/a |",
        f"| {ANCHOR['name']}, on its own holdout | {ANCHOR['auc']:.3f} | {_pct(ANCHOR['accuracy'])} | ~4 KB | ~{ANCHOR['cycles']} |",
        "",
        f"The integer model's test AUC is {ref['auc'] - t['auc']:.4f} {'below' if ref['auc'] >= t['auc'] else 'above'} "
        "the unconstrained float reference (quantisation plus the board's size and cycle limits). "
        f"Its decision threshold was chosen on cross-validation ({trained.operating_point}), "
        "never on the test split.",
        "",
        "## Which board gets which model",
        "",
        "| board | model budget (flash / RAM / cycles) | model |",
        "|---|---|---|",
    ]
    for ch in choices:
        b = ch["budget"]
        budget = f"{b['flash_bytes']} B / {b['ram_bytes']} B / {b['cycles']}" if b else "none"
        lines.append(f"| {ch['board']} ({ch['name']}) | {budget} | {ch['model'] or ch['reason']} |")
    lines += rhythm_section(trained, e) + detection_section(trained)
    lines += [
        "",
        "## How it was chosen",
        "",
        f"{len(trained.candidates)} candidates ({family_titles(trained)}) were "
        f"scored by {trained.metric} on {split['cv']} of {d['train_rows']} training beats, "
        "each as its quantized integer model. The best one inside the board's budget wins; candidates "
        "within the tie tolerance of it count as equal and the smallest, then fastest, of those is taken. "
        "![Pareto front](pareto.png)",
        "",
        "![ROC curve](roc.png)",
        "",
        "## Pareto front (test split)",
        "",
        "| model | CV metric | test AUC | test accuracy | flash B | cycles (est.) |",
        "|---|---|---|---|---|---|",
    ]
    for fe in trained.front:
        lines.append(f"| {fe.name} | {fe.cv_metric:.4f} | {fe.test['auc']:.4f} | "
                     f"{_pct(fe.test['accuracy'])} | {fe.flash_bytes} | {fe.cycles} |")
    lines.append("")
    return "\n".join(lines)


def quick_notice(trained: Trained) -> list[str]:
    """A paragraph saying the model came from a quick search (none for a full one)."""
    s = trained.search or {}
    if s.get("mode") != "quick":
        return []
    return [f"**This model came from a QUICK search**: {s['cv_folds']}-fold cross-validation on "
            f"{s['train_rows_used']} of the {s['train_rows']} training beats, at most {s.get('max_trees')} trees, "
            "front refitted on those beats, no rhythm ablation. It is for iterating on data; `tinybeat train` "
            "(without --quick) runs the full search.",
            ""]


def rhythm_section(trained: Trained, entry: FrontEntry) -> list[str]:
    """Morphology-only vs with-rhythm model of the same family and size, same test patients."""
    m = trained.morphology_only
    if not m:
        return []
    t, mt = entry.test, m["test"]
    row = "| {} | {} | {:.4f} | {:.4f} | {} | {} | {} |"
    return [
        "",
        "## What the rhythm features add",
        "",
        f"The same family and size as `{m['with_rhythm']}`, refitted on the beat shape alone "
        f"({m['n_inputs']} inputs), scored the same way on the same test beats:",
        "",
        "| model | inputs | CV metric | test AUC | accuracy | sensitivity | specificity |",
        "|---|---|---|---|---|---|---|",
        row.format("beat shape only", m["n_inputs"], m["cv_metric"], mt["auc"], _pct(mt["accuracy"]),
                   _pct(mt["sensitivity"]), _pct(mt["specificity"])),
        row.format("shape + RR and amplitude features", trained.n_inputs, entry.cv_metric, t["auc"],
                   _pct(t["accuracy"]), _pct(t["sensitivity"]), _pct(t["specificity"])),
        "",
        f"Test AUC gain from the rhythm features: **{t['auc'] - mt['auc']:+.4f}**.",
    ]


def detection_section(trained: Trained) -> list[str]:
    """Per-record and gross QRS detection of the front end that cut the beats (EC57, 150 ms)."""
    det = trained.detection
    if not det or not det.get("gross"):
        return []
    g = det["gross"]
    lines = [
        "",
        "## Beat detection (the board's front end on the raw records)",
        "",
        f"ANSI/AAMI EC57 beat-by-beat comparison with the reference annotations (match window 150 ms): "
        f"sensitivity **{_pct(g['sensitivity'])}**, positive predictivity **{_pct(g['positive_predictivity'])}** "
        f"over {g['reference_beats']} reference beats ({g['fn']} missed, {g['fp']} false detections). "
        f"{g.get('note', '')}",
        "",
        "| record | reference beats | missed (FN) | false (FP) | sensitivity | +P | rows kept |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in sorted(det["records"].items()):
        d, c = r.get("detection"), r.get("counts", {})
        if not d:
            lines.append(f"| {name} | - | - | - | - | - | {c.get('reason', 'no annotations')} |")
            continue
        lines.append(f"| {name} | {d['reference_beats']} | {d['fn']} | {d['fp']} | {_pct(d['sensitivity'])} | "
                     f"{_pct(d['positive_predictivity'])} | {c.get('kept', c.get('labelled', ''))} |")
    return lines


def report_choice(paths: Paths, cfg: Config, trained: Trained,
                  default_board: str = DEFAULT_BOARD) -> tuple[list[dict], str, str]:
    """(board choices, the model the report describes, the default board's label)."""
    choices = board_choices(paths, cfg, trained)
    chosen = next((c["model"] for c in choices if c["board"] == default_board), None)
    if chosen is None:  # report on the most accurate front model instead
        chosen = max(trained.front, key=lambda e: e.cv_metric).name
        f_cpu = next((c["f_cpu"] for c in choices if c["board"] == default_board), None)
        default_board = f"{default_board} (nothing fits its budget; showing the most accurate candidate)"
        choices = [*choices, {"board": default_board, "name": "", "f_cpu": f_cpu, "budget": None, "model": chosen,
                              "reason": None}]
    return choices, chosen, default_board


def write_report(paths: Paths, cfg: Config, trained: Trained, X_test_u8: np.ndarray | None, y_test: np.ndarray | None,
                 ref_scores: np.ndarray | None, default_board: str = "megaatmega2560") -> None:
    """Write report.md, report.json, roc.png and pareto.png into model/ (each atomically).

    ref_scores: the float reference's test probabilities, or None to draw its
    saved curve (trained.float_reference["roc"]). X_test_u8 None: keep the
    PNGs (they show a model that did not change). report.json is written last;
    the caller writes trained.json after it.
    """
    choices, chosen, default_board = report_choice(paths, cfg, trained, default_board)
    entry = trained.entry(chosen)
    out = paths.model_dir
    split = split_info(trained)
    if X_test_u8 is not None:
        scores = entry.model.predict_scores(X_test_u8)
        write_bytes_atomic(out / "roc.png", plot_roc(entry, None if ref_scores is None else np.asarray(ref_scores),
                                                     y_test, scores, split["roc"],
                                                     trained.float_reference.get("roc")))
        write_bytes_atomic(out / "pareto.png", plot_pareto(trained, chosen))
    write_text_atomic(out / "report.md", markdown(trained, choices, default_board))
    report = {
        "version": trained.version, "fingerprint": trained.fingerprint, "metric": trained.metric,
        "budget": trained.budget, "split": split, "search": trained.search or {"mode": "full"},
        "data": trained.data, "boards": choices,
        "chosen": {k: getattr(entry, k) for k in ("name", "family", "params", "cv_metric", "flash_bytes", "ram_bytes", "cycles", "test")},
        "float_reference": {k: v for k, v in trained.float_reference.items() if k != "roc"}, "anchor": ANCHOR,
        "front": [{k: getattr(e, k) for k in ("name", "cv_metric", "flash_bytes", "ram_bytes", "cycles", "test")}
                  for e in trained.front],
        "candidates": [{k: getattr(c, k) for k in ("name", "family", "cv_metric", "cv_std", "flash_bytes", "ram_bytes", "cycles")}
                       for c in trained.candidates],
    }
    write_text_atomic(out / "report.json", json.dumps(report, indent=1, sort_keys=True) + "\n")


def refresh_report(paths: Paths, cfg: Config, trained: Trained) -> None:
    """Rewrite the report for a new budget from the saved search (no fitting).

    When the model the report describes is unchanged only report.md and
    report.json change (well under a second). Otherwise the test split is
    reloaded to redraw the ROC and Pareto plots (the float reference's curve
    comes from trained.json).
    """
    from tinybeat.core.quantize import quantize_inputs

    try:
        previous = json.loads((paths.model_dir / "report.json").read_text())["chosen"]["name"]
    except (OSError, ValueError, KeyError, TypeError):
        previous = None
    _, chosen, _ = report_choice(paths, cfg, trained)
    if chosen == previous and (paths.model_dir / "roc.png").is_file():
        write_report(paths, cfg, trained, None, None, None)
        return
    test = _test_table(paths, cfg)
    write_report(paths, cfg, trained, quantize_inputs(test.X, cfg.data.input_range), test.y, None)


def _test_table(paths: Paths, cfg: Config):
    """The test split: the test files alone when given (fast), else the hold-out of the training files."""
    d = cfg.data
    if d.test:
        from tinybeat.datasets.table import load_files

        return load_files([paths.project / f for f in d.test], fmt=d.format, target=d.target, group=d.group,
                          positive_labels=d.positive_labels, input_range=d.input_range)
    from tinybeat.pipeline.tables import load_tables

    return load_tables(paths, cfg)[1]
