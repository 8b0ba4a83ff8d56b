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

import copy
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from tinybeat.core.families import early_exit
from tinybeat.core.families.sklearn_nodes import forest_readers, hist_gbt_baseline, hist_gbt_readers
from tinybeat.core.families.base import CostTable, CSource, FitSpec, IntModel, check_int32
from tinybeat.core.quantize import power_of_two_scale
from tinybeat.util.threads import n_threads

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

    def predict_scores(self, X_u8: np.ndarray) -> np.ndarray:
        return predict_scores(self, X_u8)

    def flash_bytes(self) -> int:
        """Node pairs and int16 leaves."""
        n_internal = 2**self.depth - 1
        return self.n_trees * (2 * n_internal + 2 * (n_internal + 1))

    def ram_bytes(self) -> int:
        """sizeof(tb_trees_t): n_trees, depth, two pointers, int32 bias."""
        return 10

    def cycles(self, n_inputs: int, costs: CostTable) -> int:
        c = costs["trees"]
        return c["call"] + self.n_trees * (c["per_tree"] + self.depth * c["per_level"])

    def c_source(self) -> CSource:
        check_int32("bias", self.bias)
        pairs = np.stack([self.features, self.thresholds], axis=-1)  # (trees, nodes, 2)
        return CSource(
            arrays=(("uint8_t", "tb_model_nodes", pairs), ("int16_t", "tb_model_leaves", self.leaves)),
            params_type="tb_trees_t",
            params_init="{ %d, %d, tb_model_nodes, tb_model_leaves, %dL }" % (self.n_trees, self.depth, self.bias),
            kernel="tb_trees_score", family_code=1)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "depth": self.depth, "features": self.features.tolist(),
                "thresholds": self.thresholds.tolist(), "leaves": self.leaves.tolist(),
                "bias": int(self.bias), "score_scale": self.score_scale}

    def describe(self) -> str:
        return f"{self.kind}-{self.n_trees}x{self.depth}"

    def first_trees(self, n: int) -> "TreeEnsemble":
        """The ensemble of the first n trees (a boosted model's prefix is itself a model)."""
        return TreeEnsemble(self.kind, self.depth, self.features[:n], self.thresholds[:n],
                            self.leaves[:n], self.bias, self.score_scale)


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
    readers = hist_gbt_readers(model)
    feats, thrs, leafs = [], [], []
    for get_node in readers:
        f, t, l = _complete_tree(get_node, depth)
        feats.append(f), thrs.append(t), leafs.append(l)
    leaves, bias, scale = _quantize_leaves(np.array(leafs), hist_gbt_baseline(model), len(readers))
    return TreeEnsemble("gbt", depth, np.array(feats), np.array(thrs), leaves, bias, scale)


def from_random_forest(model, depth: int) -> TreeEnsemble:
    """Convert a fitted binary RandomForestClassifier trained on uint8 inputs.

    Leaves hold each tree's probability of class 1; the score is their sum,
    centred so that score > 0 means an average probability above 0.5.
    """
    feats, thrs, leafs = [], [], []
    for get_node in forest_readers(model):
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


def tree_ensemble_from_dict(data: dict) -> TreeEnsemble:
    return TreeEnsemble(
        data["kind"], int(data["depth"]),
        np.array(data["features"], dtype=np.uint8), np.array(data["thresholds"], dtype=np.uint8),
        np.array(data["leaves"], dtype=np.int16), int(data["bias"]), float(data["score_scale"]),
    )


def zero_ensemble(kind: str, depth: int, n_trees: int) -> TreeEnsemble:
    """All-zero ensemble of this shape (costs depend on the shape alone)."""
    n_internal = 2**depth - 1
    return TreeEnsemble(kind, depth, np.zeros((n_trees, n_internal), np.uint8),
                        np.zeros((n_trees, n_internal), np.uint8), np.zeros((n_trees, n_internal + 1), np.int16),
                        0, 1.0)


def first_estimators(clf, n: int):
    """A shallow copy of a fitted scikit-learn forest keeping its first n trees."""
    sub = copy.copy(clf)
    sub.estimators_ = clf.estimators_[:n]
    sub.n_estimators = n
    return sub


# Early-exit encodings (core/families/early_exit.py, kernel tb_etree) each tree-ensemble size is also
# scored in: the complete preorder layout with int16 or int8 leaves. The search weighs them against the
# breadth-first tb_trees kernel by their measured AUC, flash and estimated cycles on the target.
EARLY_EXIT_LEAF_BITS = (16, 8)


def _complete_zero_node(depth: int) -> tuple:
    return ("leaf", 0.0) if depth == 0 else \
        ("split", 0, 0, _complete_zero_node(depth - 1), _complete_zero_node(depth - 1))


class TreeFamily:
    """What the tree families share: one fit per spec at its largest size, one candidate per prefix
    size and encoding (tb_trees complete trees, and tb_etree with int16 or int8 leaves)."""
    name: str

    def candidate_name(self, spec: FitSpec, n_trees: int) -> str:
        raise NotImplementedError

    def variants(self, spec: FitSpec, n: int, complete: TreeEnsemble,
                 early: Callable[[int], IntModel]) -> Iterator[tuple[str, int, IntModel]]:
        """(name, n, model) of every encoding of one ensemble; early(leaf_bits) encodes it for tb_etree."""
        name = self.candidate_name(spec, n)
        yield name, n, complete
        for bits in EARLY_EXIT_LEAF_BITS:
            yield f"{name}-ee{bits}", n, early(bits)

    def shapes(self, spec: FitSpec, n_inputs: int) -> Iterator[tuple[str, int | None, IntModel]]:
        depth = int(spec.param_dict()["depth"])
        for n in spec.sizes:
            zeros = [_complete_zero_node(depth)] * n
            yield from self.variants(spec, n, zero_ensemble(self.name, depth, n),
                                     lambda bits: early_exit.encode(self.name, zeros, 0.0, bits, "complete"))

    def from_dict(self, data: dict) -> IntModel:
        if data.get("family") == "early_exit":
            return early_exit.from_dict(data)
        return tree_ensemble_from_dict(data)


class GradientBoostedTrees(TreeFamily):
    """Family `gbt`: scikit-learn HistGradientBoostingClassifier, complete trees of depth 2..5."""
    name = "gbt"
    title = "gradient-boosted trees"
    depths = (2, 3, 4, 5)
    # 0.05 was dropped: with at most 128 trees it underfits; on the default data every lr-0.05
    # candidate was dominated by the lr-0.2 one of the same depth and size (CV AUC 0.02-0.03 lower),
    # and its fits were a third of the search time.
    learning_rates = (0.1, 0.2)

    def grid(self, max_trees: int) -> list[FitSpec]:
        sizes = tree_sizes(max_trees)
        return [FitSpec(self.name, (("depth", d), ("learning_rate", lr)), sizes)
                for d in self.depths for lr in self.learning_rates]

    def fit(self, spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, TreeEnsemble]]:
        from sklearn.ensemble import HistGradientBoostingClassifier

        p = spec.param_dict()
        depth = p["depth"]
        clf = HistGradientBoostingClassifier(
            max_iter=max(spec.sizes), max_depth=depth, max_leaf_nodes=2**depth,
            learning_rate=p["learning_rate"], early_stopping=False, random_state=seed,
            min_samples_leaf=20, l2_regularization=1.0,
        ).fit(X_u8.astype(np.float64), y)
        full = from_hist_gbt(clf, depth)
        for n in spec.sizes:
            yield from self.variants(spec, n, full.first_trees(n),
                                     lambda bits, n=n: early_exit.from_hist_gbt(clf, n, bits, "complete"))

    def candidate_name(self, spec: FitSpec, n_trees: int) -> str:
        p = spec.param_dict()
        return f"gbt-d{p['depth']}-lr{p['learning_rate']}-{n_trees}"


class RandomForest(TreeFamily):
    """Family `rf`: scikit-learn RandomForestClassifier, complete trees of depth 5 or 7, up to 48 trees."""
    name = "rf"
    title = "random forests"
    depths = (5, 7)
    max_size = 48

    def grid(self, max_trees: int) -> list[FitSpec]:
        sizes = tuple(s for s in tree_sizes(max_trees) if s <= self.max_size)
        return [FitSpec(self.name, (("depth", d),), sizes) for d in self.depths]

    def fit(self, spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, TreeEnsemble]]:
        from sklearn.ensemble import RandomForestClassifier

        depth = spec.param_dict()["depth"]
        clf = RandomForestClassifier(
            n_estimators=max(spec.sizes), max_depth=depth, max_features="sqrt",
            min_samples_leaf=5, n_jobs=n_threads(), random_state=seed,
        ).fit(X_u8.astype(np.float64), y)
        for n in spec.sizes:
            yield from self.variants(spec, n, from_random_forest(first_estimators(clf, n), depth),
                                     lambda bits, n=n: early_exit.from_random_forest(clf, n, bits, "complete"))

    def candidate_name(self, spec: FitSpec, n_trees: int) -> str:
        return f"rf-d{spec.param_dict()['depth']}-{n_trees}"


TREE_PREFIXES = (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


def tree_sizes(max_trees: int) -> tuple[int, ...]:
    """Tree counts scored per fit: every TREE_PREFIXES size up to max_trees (one fit at the largest)."""
    return tuple(s for s in TREE_PREFIXES if s <= max_trees) or (max_trees,)


GBT = GradientBoostedTrees()
RF = RandomForest()
