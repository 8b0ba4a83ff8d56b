"""Model search: several families and sizes, scored as QUANTIZED integer models.

Every candidate is cross-validated on the training set (folds grouped by
record/patient when a group column exists): each fold fits a float model on
the quantized uint8 inputs, converts it to the integer model the device runs,
and scores the integer scores on the held-out fold. Tree ensembles are fitted
once at the largest size; smaller sizes are their first trees.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

import numpy as np

from . import models
from .cost import model_cost
from .metrics import best_threshold, score_metric
from .threads import n_threads

# Candidate scores are rounded to this many decimals: the last bits of float sums
# differ across machines and BLAS builds, and must not change which model wins.
SCORE_DECIMALS = 9

TREE_PREFIXES = (4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128)


@dataclass(frozen=True)
class FitSpec:
    """One float fit; it yields one or more integer candidates."""
    family: str              # gbt | rf | mlp | linear
    params: tuple            # sorted (name, value) pairs
    sizes: tuple = ()        # tree-count prefixes for tree families

    def param_dict(self) -> dict:
        return dict(self.params)


@dataclass
class Candidate:
    name: str
    family: str
    params: dict
    n_trees: int | None
    cv_metric: float = float("nan")
    cv_std: float = float("nan")
    threshold: float = 0.0   # operating point in float score units (class 1 when score > threshold)
    flash_bytes: int = 0
    ram_bytes: int = 0
    cycles: int = 0
    fold_metrics: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def default_grid(families: list[str], max_trees: int = 128) -> list[FitSpec]:
    """The search space: a few sizes per family, cheap enough for 2 cores.

    Tree families are fitted once at max_trees; every smaller size in
    TREE_PREFIXES is scored as the first trees of that fit.
    """
    sizes = tuple(s for s in TREE_PREFIXES if s <= max_trees) or (max_trees,)
    grid: list[FitSpec] = []
    if "gbt" in families:
        for depth in (2, 3, 4, 5):
            for lr in (0.05, 0.1, 0.2):
                grid.append(FitSpec("gbt", (("depth", depth), ("learning_rate", lr)), sizes))
    if "rf" in families:
        for depth in (5, 7):
            grid.append(FitSpec("rf", (("depth", depth),), tuple(s for s in sizes if s <= 48)))
    if "mlp" in families:
        for hidden in (2, 4, 8):
            grid.append(FitSpec("mlp", (("hidden", hidden),)))
    if "linear" in families:
        for c in (0.01, 1.0):
            grid.append(FitSpec("linear", (("C", c),)))
    return grid


def fit_integer_models(spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, models.IntModel]]:
    """Fit one float model on uint8 inputs and yield (name, n_trees, integer model) per size."""
    p = spec.param_dict()
    Xf = X_u8.astype(np.float64)
    if spec.family == "gbt":
        from sklearn.ensemble import HistGradientBoostingClassifier

        depth = p["depth"]
        clf = HistGradientBoostingClassifier(
            max_iter=max(spec.sizes), max_depth=depth, max_leaf_nodes=2**depth,
            learning_rate=p["learning_rate"], early_stopping=False, random_state=seed,
            min_samples_leaf=20, l2_regularization=1.0,
        ).fit(Xf, y)
        full = models.trees.from_hist_gbt(clf, depth)
        for n in spec.sizes:
            yield f"gbt-d{depth}-lr{p['learning_rate']}-{n}", n, _first_trees(full, n)
    elif spec.family == "rf":
        from sklearn.ensemble import RandomForestClassifier

        depth = p["depth"]
        clf = RandomForestClassifier(
            n_estimators=max(spec.sizes), max_depth=depth, max_features="sqrt",
            min_samples_leaf=5, n_jobs=n_threads(), random_state=seed,
        ).fit(Xf, y)
        for n in spec.sizes:
            sub = _subforest(clf, n)
            yield f"rf-d{depth}-{n}", n, models.trees.from_random_forest(sub, depth)
    elif spec.family == "mlp":
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(
            hidden_layer_sizes=(p["hidden"],), activation="relu", alpha=1e-3,
            max_iter=200, early_stopping=True, random_state=seed,
        ).fit(Xf / 255.0, y)
        yield f"mlp-{p['hidden']}", None, models.dense.from_mlp(clf.coefs_, clf.intercepts_, X_u8)
    elif spec.family == "linear":
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(C=p["C"], max_iter=2000).fit(Xf / 255.0, y)
        yield f"linear-C{p['C']}", None, models.dense.from_linear(clf.coef_[0], float(clf.intercept_[0]))
    else:
        raise ValueError(f"unknown model family {spec.family!r}")


def refit(cand: Candidate, X_u8: np.ndarray, y: np.ndarray, seed: int) -> models.IntModel:
    """Fit the candidate on all training rows and return its integer model."""
    sizes = (cand.n_trees,) if cand.n_trees else ()
    spec = FitSpec(cand.family, tuple(sorted(cand.params.items())), sizes)
    for name, _, model in fit_integer_models(spec, X_u8, y, seed):
        if name == cand.name:
            return model
    raise RuntimeError(f"refit did not produce {cand.name}")


def _first_trees(model: models.TreeEnsemble, n: int) -> models.TreeEnsemble:
    return models.TreeEnsemble(model.kind, model.depth, model.features[:n], model.thresholds[:n],
                               model.leaves[:n], model.bias, model.score_scale)


def _subforest(clf, n: int):
    import copy

    sub = copy.copy(clf)
    sub.estimators_ = clf.estimators_[:n]
    sub.n_estimators = n
    return sub


def make_folds(y: np.ndarray, groups: np.ndarray | None, n_folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds; grouped (no group in two folds) when groups are given."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    X_dummy = np.zeros((len(y), 1))
    if groups is not None:
        n_groups = len(np.unique(groups))
        k = min(n_folds, n_groups)
        if k < 2:
            raise ValueError("cross-validation needs at least 2 groups")
        splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
        return list(splitter.split(X_dummy, y, groups))
    splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return list(splitter.split(X_dummy, y))


def cross_validate(grid: list[FitSpec], X_u8: np.ndarray, y: np.ndarray, groups: np.ndarray | None,
                   *, metric: str, n_folds: int, seed: int, operating_point: str = "balanced_accuracy",
                   progress: Callable[[str], None] | None = None) -> list[Candidate]:
    """Score every candidate of the grid on grouped CV folds, as integer models.

    The metric is computed on the pooled out-of-fold scores (each in the
    model's float units, int score / score_scale): the device applies one
    fixed threshold to every patient, so scores must be comparable across
    patients, not only rank well within one fold. Per-fold values (AUC, or the
    metric at threshold 0) are kept for the spread (cv_std). The operating
    point (decision threshold) is also chosen on the pooled out-of-fold scores.
    """
    folds = make_folds(y, groups, n_folds, seed)
    by_name: dict[str, Candidate] = {}
    oof: dict[str, np.ndarray] = {}
    n_inputs = X_u8.shape[1]
    for spec in grid:
        for fold, (tr, va) in enumerate(folds):
            if progress:
                progress(f"{spec.family} {spec.param_dict()} fold {fold + 1}/{len(folds)}")
            for name, n_trees, model in fit_integer_models(spec, X_u8[tr], y[tr], seed):
                cand = by_name.get(name)
                if cand is None:
                    cost = model_cost(model, n_inputs)
                    cand = by_name[name] = Candidate(
                        name, spec.family, spec.param_dict(), n_trees,
                        flash_bytes=cost.flash_bytes, ram_bytes=cost.ram_bytes, cycles=cost.cycles,
                    )
                    oof[name] = np.zeros(len(y), dtype=np.float64)
                scores = models.predict_scores(model, X_u8[va])
                oof[name][va] = scores / model.score_scale
                cand.fold_metrics.append(score_metric(metric, y[va], scores))
    for name, cand in by_name.items():
        # the decision threshold is chosen on out-of-fold scores: never on the test split
        cand.threshold = best_threshold(y, oof[name], operating_point)
        cand.cv_metric = round(float(score_metric(metric, y, oof[name], cand.threshold)), SCORE_DECIMALS)
        cand.fold_metrics = [round(float(m), SCORE_DECIMALS) for m in cand.fold_metrics]
        cand.cv_std = round(float(np.std(cand.fold_metrics)), SCORE_DECIMALS)
    return list(by_name.values())


def pareto_front(cands: list[Candidate]) -> list[Candidate]:
    """Candidates no other beats on metric (higher), flash (lower) and cycles (lower) at once."""
    front = []
    for c in cands:
        dominated = any(
            o.cv_metric >= c.cv_metric and o.flash_bytes <= c.flash_bytes and o.cycles <= c.cycles
            and (o.cv_metric > c.cv_metric or o.flash_bytes < c.flash_bytes or o.cycles < c.cycles)
            for o in cands
        )
        if not dominated:
            front.append(c)
    return sorted(front, key=lambda c: (c.flash_bytes, c.cycles))


@dataclass(frozen=True)
class Budget:
    flash_bytes: int
    ram_bytes: int
    cycles: int


def select(cands: list, budget: Budget, tie_tolerance: float):
    """Best metric within the budget; among those within tie_tolerance of it, the smallest, then fastest.

    Works on any objects with cv_metric, flash_bytes, ram_bytes, cycles and name.
    Returns None when nothing fits.
    """
    fits = [c for c in cands if c.flash_bytes <= budget.flash_bytes and c.ram_bytes <= budget.ram_bytes
            and c.cycles <= budget.cycles]
    if not fits:
        return None
    best = max(c.cv_metric for c in fits)
    tied = [c for c in fits if c.cv_metric >= best - tie_tolerance]
    return min(tied, key=lambda c: (c.flash_bytes, c.cycles, c.name))
