"""The bench's data (the board's input bytes) and the scikit-learn fits both engines share.

The forests use tinybeat's own settings (tinybeat.core.families.trees.RandomForest /
GradientBoostedTrees build the same estimators inside their `fit`, which does not
return them); `check_same_*` prove node by node that a refit is the very model the
search saved.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.core.families import trees
from tinybeat.core.quantize import quantize_inputs
from tinybeat.datasets.table import load_files
from tinybeat.pipeline.config import Config


@dataclass
class Data:
    """Train and test beats as the device's input bytes."""
    train: str                 # file names, relative to the project
    test: str
    Xtr: np.ndarray            # uint8 (n_train, n_inputs)
    ytr: np.ndarray            # int (n_train,)
    Xte: np.ndarray            # uint8 (n_test, n_inputs)
    yte: np.ndarray            # int (n_test,)

    @property
    def n_inputs(self) -> int:
        return int(self.Xte.shape[1])

    def as_float(self, split: str, unit: bool) -> np.ndarray:
        """float64 features of the train or test split: the bytes (unit=False) or x/255 (unit=True)."""
        X = (self.Xtr if split == "train" else self.Xte).astype(np.float64)
        return X / 255.0 if unit else X


def load_data(project: Path, cfg: Config, train: str, test: str, target: str, group: str) -> Data:
    """Train and test files as bytes, with the project config's input range."""
    rng = cfg.data.input_range
    kw = dict(target=target, group=group, input_range=rng)
    tr = load_files([project / train], **kw)
    te = load_files([project / test], **kw)
    return Data(train, test, quantize_inputs(tr.X, rng), tr.y, quantize_inputs(te.X, rng), te.y)


def evenly_spaced(n_total: int, k: int) -> np.ndarray:
    """Indices of min(k, n_total) evenly spaced rows of 0..n_total-1."""
    return np.unique(np.linspace(0, n_total - 1, min(k, n_total)).astype(int))


def random_forest(depth: int, n_trees: int, seed: int, X: np.ndarray, y: np.ndarray, jobs: int = 2):
    """RandomForestClassifier with tinybeat's forest settings (family "rf")."""
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=n_trees, max_depth=depth, max_features="sqrt", min_samples_leaf=5,
                                  n_jobs=jobs, random_state=seed).fit(X, y)


def extra_trees(depth: int, n_trees: int, seed: int, X: np.ndarray, y: np.ndarray, jobs: int = 2):
    from sklearn.ensemble import ExtraTreesClassifier

    return ExtraTreesClassifier(n_estimators=n_trees, max_depth=depth, max_features="sqrt", min_samples_leaf=5,
                                n_jobs=jobs, random_state=seed).fit(X, y)


def hist_gbt(depth: int, learning_rate: float, n_trees: int, seed: int, X_u8: np.ndarray, y: np.ndarray):
    """HistGradientBoostingClassifier with tinybeat's settings (family "gbt"), fitted on the bytes."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=n_trees, max_depth=depth, max_leaf_nodes=2**depth, learning_rate=learning_rate,
        early_stopping=False, random_state=seed, min_samples_leaf=20, l2_regularization=1.0,
    ).fit(X_u8.astype(np.float64), y)


def mlp(hidden: int, seed: int, X01: np.ndarray, y: np.ndarray):
    """The float network tinybeat's search fits before int8 quantisation (family "mlp")."""
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", alpha=1e-3, max_iter=200,
                         early_stopping=True, random_state=seed).fit(X01, y)


def same_structure(a, b) -> bool:
    """Two fitted forests with the same trees (features and children, node by node)."""
    return all(np.array_equal(x.tree_.feature, z.tree_.feature)
               and np.array_equal(x.tree_.children_left, z.tree_.children_left)
               and np.array_equal(x.tree_.children_right, z.tree_.children_right)
               for x, z in zip(a.estimators_, b.estimators_))


def same_int_model(a: trees.TreeEnsemble, b: trees.TreeEnsemble) -> bool:
    """Two integer tree ensembles with identical arrays and bias."""
    return (a.depth == b.depth and a.bias == b.bias and np.array_equal(a.features, b.features)
            and np.array_equal(a.thresholds, b.thresholds) and np.array_equal(a.leaves, b.leaves))


def pick_front_points(front: list[dict], chosen: str, k: int) -> list[dict]:
    """k other Pareto-front entries spread over flash size; an MLP among them if the front has one."""
    rest = sorted((e for e in front if e["name"] != chosen), key=lambda e: (e["flash_bytes"], e["cycles"]))
    if not rest or k <= 0:
        return []
    picks = [rest[i] for i in sorted({round(q * (len(rest) - 1)) for q in np.linspace(0.1, 1.0, k)})]
    mlps = [e for e in rest if e["family"] == "mlp"]
    if mlps and not any(e["family"] == "mlp" for e in picks):
        best = max(mlps, key=lambda e: e["cv_metric"])
        nearest = min(range(len(picks)), key=lambda i: abs(picks[i]["flash_bytes"] - best["flash_bytes"]))
        picks[nearest] = best
    return sorted(picks, key=lambda e: e["flash_bytes"])
