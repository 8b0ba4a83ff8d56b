"""Reading fitted scikit-learn trees node by node, for every tree encoding (trees.py, early_exit.py).

A node reader is a function node_id -> ("leaf", value) or ("split", feature, threshold, left, right)
with scikit-learn's threshold (go left when x <= threshold) and node ids.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

NodeReader = Callable[[int], tuple]


def hist_gbt_readers(clf) -> list[NodeReader]:
    """One reader per tree of a fitted binary HistGradientBoostingClassifier; leaves are logit terms."""
    if len(clf._predictors[0]) != 1:
        raise ValueError(f"a binary classifier is needed, this one has {len(clf._predictors[0])} outputs per iteration")

    def reader(nodes) -> NodeReader:
        def get_node(i: int) -> tuple:
            n = nodes[i]
            if n["is_leaf"]:
                return ("leaf", float(n["value"]))
            return ("split", int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]))
        return get_node

    return [reader(p[0].nodes) for p in clf._predictors]


def hist_gbt_baseline(clf) -> float:
    """The model's constant term (the logit every tree adds to)."""
    return float(np.ravel(clf._baseline_prediction)[0])


def forest_readers(clf) -> list[NodeReader]:
    """One reader per tree of a fitted binary forest; a leaf is its probability of class 1 minus 0.5."""
    if len(clf.classes_) != 2:
        raise ValueError(f"a binary classifier is needed, this one has {len(clf.classes_)} classes")

    def reader(tr) -> NodeReader:
        value = tr.value[:, 0, :]
        prob1 = value[:, 1] / np.maximum(value.sum(axis=1), 1e-12)

        def get_node(i: int) -> tuple:
            if tr.children_left[i] == -1:
                return ("leaf", float(prob1[i]) - 0.5)
            return ("split", int(tr.feature[i]), float(tr.threshold[i]),
                    int(tr.children_left[i]), int(tr.children_right[i]))
        return get_node

    return [reader(est.tree_) for est in clf.estimators_]
