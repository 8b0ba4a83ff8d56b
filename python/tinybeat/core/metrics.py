"""Binary classification metrics on integer scores and 0/1 classes."""

from __future__ import annotations

import numpy as np

METRICS = ("auc", "accuracy", "balanced_accuracy", "f1")
OPERATING_POINTS = ("balanced_accuracy", "accuracy", "f1")


def auc(y: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half), from scores of any scale."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores))


def confusion(y: np.ndarray, pred: np.ndarray) -> dict[str, int]:
    y, pred = np.asarray(y), np.asarray(pred)
    return {
        "tn": int(np.sum((y == 0) & (pred == 0))), "fp": int(np.sum((y == 0) & (pred == 1))),
        "fn": int(np.sum((y == 1) & (pred == 0))), "tp": int(np.sum((y == 1) & (pred == 1))),
    }


def summary(y: np.ndarray, scores: np.ndarray, decision_threshold: float) -> dict:
    """AUC, accuracy, sensitivity, specificity, F1, balanced accuracy and the confusion matrix."""
    pred = (np.asarray(scores) > decision_threshold).astype(np.int64)
    c = confusion(y, pred)
    sens = c["tp"] / max(c["tp"] + c["fn"], 1)
    spec = c["tn"] / max(c["tn"] + c["fp"], 1)
    prec = c["tp"] / max(c["tp"] + c["fp"], 1)
    return {
        "n": int(len(y)),
        "auc": auc(y, scores),
        "accuracy": (c["tp"] + c["tn"]) / max(len(y), 1),
        "sensitivity": sens,
        "specificity": spec,
        "balanced_accuracy": (sens + spec) / 2,
        "f1": 2 * prec * sens / max(prec + sens, 1e-12),
        "confusion": c,
    }


def score_metric(name: str, y: np.ndarray, scores: np.ndarray, decision_threshold: float = 0.0) -> float:
    """One metric by name (see METRICS): higher is better."""
    if name not in METRICS:
        raise ValueError(f"unknown metric {name!r}; choose one of {', '.join(METRICS)}")
    if name == "auc":
        return auc(y, scores)
    return float(summary(y, scores, decision_threshold)[name])


def best_threshold(y: np.ndarray, scores: np.ndarray, objective: str = "balanced_accuracy") -> float:
    """Decision threshold t (class 1 when score > t) that maximises `objective` on (y, scores).

    Candidates are midpoints between consecutive distinct scores, plus both ends.
    """
    if objective not in OPERATING_POINTS:
        raise ValueError(f"unknown operating point {objective!r}; choose one of {', '.join(OPERATING_POINTS)}")
    y = np.asarray(y)
    s = np.unique(np.asarray(scores, dtype=np.float64))
    cands = np.concatenate([[s[0] - 1.0], (s[:-1] + s[1:]) / 2, [s[-1] + 1.0]])
    pos = np.sort(np.asarray(scores, dtype=np.float64)[y == 1])
    neg = np.sort(np.asarray(scores, dtype=np.float64)[y == 0])
    tp = pos.size - np.searchsorted(pos, cands, side="right")
    fp = neg.size - np.searchsorted(neg, cands, side="right")
    tn, fn = neg.size - fp, pos.size - tp
    if objective == "balanced_accuracy":
        value = (tp / max(pos.size, 1) + tn / max(neg.size, 1)) / 2
    elif objective == "accuracy":
        value = (tp + tn) / max(y.size, 1)
    else:
        value = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
    return float(cands[int(np.argmax(value))])
