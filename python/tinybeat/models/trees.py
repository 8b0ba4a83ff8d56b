"""Integer tree ensembles: complete trees with uint8 thresholds and int16 leaves.

Both gradient-boosted trees (scikit-learn HistGradientBoostingClassifier) and
random forests (RandomForestClassifier) become the same integer structure,
which the C kernel `tb_trees_score` evaluates:

- every tree is complete, of depth `depth`, stored breadth-first; node i holds
  (feature, threshold) and goes to child 2i+1 when x[feature] <= threshold;
- shallower sklearn leaves are padded (threshold 255: always left);
- leaf values are int16, a common power-of-two scale of the float leaves;
- score = bias + sum over trees of the reached leaf.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..quantize import power_of_two_scale

MAX_DEPTH = 7
ALWAYS_LEFT = 255


@dataclass
class TreeEnsemble:
    kind: str              # "gbt" or "rf"
    depth: int
    features: np.ndarray   # uint8 (n_trees, 2**depth - 1)
    thresholds: np.ndarray # uint8 (n_trees, 2**depth - 1)
    leaves: np.ndarray     # int16 (n_trees, 2**depth)
    bias: int
    score_scale: float     # float score (logit for gbt, summed probability for rf) = int score / score_scale

    @property
    def n_trees(self) -> int:
        return int(self.features.shape[0])


def _complete_tree(get_node, depth: int):
    """Lay out one tree breadth-first as a complete tree of `depth`.

    get_node(node_id) -> ("leaf", value) or ("split", feature, threshold_float, left_id, right_id).
    Returns (features, thresholds, leaf_values) with leaf_values float.
    """
    n_internal = 2**depth - 1
    features = np.zeros(n_internal, dtype=np.uint8)
    thresholds = np.full(n_internal, ALWAYS_LEFT, dtype=np.uint8)
    leaves = np.zeros(2**depth, dtype=np.float64)

    def place(node_id, slot: int, level: int) -> None:
        node = get_node(node_id)
        if node[0] == "split":
            _, feat, thr, left, right = node
            t = int(np.floor(thr))
            if t < 0:            # x <= thr never holds: only the right side matters
                return place(right, slot, level)
            if t >= ALWAYS_LEFT:  # always holds for a byte: only the left side matters
                return place(left, slot, level)
            if level == depth:
                raise ValueError(f"tree deeper than {depth}")
            features[slot], thresholds[slot] = feat, t
            place(left, 2 * slot + 1, level + 1)
            place(right, 2 * slot + 2, level + 1)
            return None
        value = node[1]
        if level == depth:
            leaves[slot - n_internal] = value
            return None
        # pad: a leaf above the last level fills its whole subtree (always-left nodes)
        features[slot], thresholds[slot] = 0, ALWAYS_LEFT
        place(node_id, 2 * slot + 1, level + 1)
        place(node_id, 2 * slot + 2, level + 1)
        return None

    place(0, 0, 0)
    return features, thresholds, leaves


def _quantize_leaves(leaf_values: np.ndarray, bias: float, n_trees: int):
    """int16 leaves and int32 bias with one power-of-two scale; the sum cannot overflow."""
    max_leaf = float(np.max(np.abs(leaf_values))) if leaf_values.size else 0.0
    shift = power_of_two_scale(max_leaf, 32767) if max_leaf > 0 else 8
    # keep |bias| + n_trees * 32767 within int32 comfortably
    shift = min(shift, power_of_two_scale(abs(bias), 2**30) if bias else shift)
    scale = float(2.0**shift)
    leaves = np.clip(np.round(leaf_values * scale), -32767, 32767).astype(np.int16)
    return leaves, int(np.round(bias * scale)), scale


def from_hist_gbt(model, depth: int) -> TreeEnsemble:
    """Convert a fitted binary HistGradientBoostingClassifier trained on uint8 inputs."""
    trees = [p[0] for p in model._predictors]
    feats, thrs, leafs = [], [], []
    for predictor in trees:
        nodes = predictor.nodes

        def get_node(i, nodes=nodes):
            n = nodes[i]
            if n["is_leaf"]:
                return ("leaf", float(n["value"]))
            return ("split", int(n["feature_idx"]), float(n["num_threshold"]), int(n["left"]), int(n["right"]))

        f, t, l = _complete_tree(get_node, depth)
        feats.append(f), thrs.append(t), leafs.append(l)
    baseline = float(np.ravel(model._baseline_prediction)[0])
    leaves, bias, scale = _quantize_leaves(np.array(leafs), baseline, len(trees))
    return TreeEnsemble("gbt", depth, np.array(feats), np.array(thrs), leaves, bias, scale)


def from_random_forest(model, depth: int) -> TreeEnsemble:
    """Convert a fitted binary RandomForestClassifier trained on uint8 inputs.

    Leaves hold each tree's probability of class 1; the score is their sum,
    centred so that score > 0 means an average probability above 0.5.
    """
    feats, thrs, leafs = [], [], []
    for est in model.estimators_:
        tr = est.tree_
        value = tr.value[:, 0, :]
        prob1 = value[:, 1] / np.maximum(value.sum(axis=1), 1e-12)

        def get_node(i, tr=tr, prob1=prob1):
            if tr.children_left[i] == -1:
                return ("leaf", float(prob1[i]) - 0.5)
            return ("split", int(tr.feature[i]), float(tr.threshold[i]),
                    int(tr.children_left[i]), int(tr.children_right[i]))

        f, t, l = _complete_tree(get_node, depth)
        feats.append(f), thrs.append(t), leafs.append(l)
    n = len(model.estimators_)
    # probabilities in [-0.5, 0.5]: a fixed scale keeps the sum within int32
    scale = float(2 ** int(np.floor(np.log2(32767 / 0.5))))
    leaves = np.clip(np.round(np.array(leafs) * scale), -32767, 32767).astype(np.int16)
    return TreeEnsemble("rf", depth, np.array(feats), np.array(thrs), leaves, 0, scale * n)


def predict_scores(model: TreeEnsemble, X: np.ndarray) -> np.ndarray:
    """Integer reference: int64 scores (n_rows,) for uint8 inputs X (n_rows, n_inputs)."""
    X = np.asarray(X, dtype=np.uint8)
    n_internal = 2**model.depth - 1
    score = np.full(X.shape[0], model.bias, dtype=np.int64)
    rows = np.arange(X.shape[0])
    for t in range(model.n_trees):
        i = np.zeros(X.shape[0], dtype=np.int64)
        for _ in range(model.depth):
            f = model.features[t][i]
            go_right = X[rows, f] > model.thresholds[t][i]
            i = 2 * i + 1 + go_right
        score += model.leaves[t][i - n_internal].astype(np.int64)
    return score


def flash_bytes(model: TreeEnsemble) -> int:
    """Model data in flash: node pairs, int16 leaves and the descriptor."""
    n_internal = 2**model.depth - 1
    return model.n_trees * (2 * n_internal + 2 * (n_internal + 1))
