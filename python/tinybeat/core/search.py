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

from tinybeat.core import families
from tinybeat.core.families.base import FitSpec, IntModel
from tinybeat.core.metrics import best_threshold, score_metric
from tinybeat.core.parallel import Backend, Task, run_tasks

# Candidate scores are rounded to this many decimals: the last bits of float sums
# differ across machines and BLAS builds, and must not change which model wins.
SCORE_DECIMALS = 9

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


def default_grid(family_names: list[str], max_trees: int = 128) -> list[FitSpec]:
    """The search space: each named family's own grid, in the registry's order.

    Tree families are fitted once at max_trees; smaller sizes are scored as
    the first trees of that fit.
    """
    return [spec for name in families.REGISTRY if name in family_names
            for spec in families.get(name).grid(max_trees)]


def fit_integer_models(spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, IntModel]]:
    """Fit one float model on uint8 inputs and yield (name, n_trees, integer model) per size."""
    return families.get(spec.family).fit(spec, X_u8, y, seed)


def refit(cand: Candidate, X_u8: np.ndarray, y: np.ndarray, seed: int) -> IntModel:
    """Fit the candidate on all training rows and return its integer model."""
    sizes = (cand.n_trees,) if cand.n_trees else ()
    spec = FitSpec(cand.family, tuple(sorted(cand.params.items())), sizes)
    for name, _, model in fit_integer_models(spec, X_u8, y, seed):
        if name == cand.name:
            return model
    raise RuntimeError(f"refit did not produce {cand.name}")


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


def serial_backend() -> Backend:
    """The default for cross_validate and refit_all: in this process, one task after another."""
    from tinybeat.util.threads import n_threads

    return Backend("local", n_jobs=1, threads=n_threads())


def fold_fit(spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, train_rows: np.ndarray, val_rows: np.ndarray,
             seed: int, metric: str) -> list[tuple[str, int | None, IntModel, np.ndarray, float]]:
    """One task of the search: fit `spec` on the training rows of one fold and score the held-out rows.

    Returns (name, n_trees, integer model, int64 scores on val_rows, the fold's metric) per
    candidate of the fit (every tree prefix of a tree ensemble).
    """
    out = []
    for name, n_trees, model in fit_integer_models(spec, X_u8[train_rows], y[train_rows], seed):
        scores = families.predict_scores(model, X_u8[val_rows])
        out.append((name, n_trees, model, scores, float(score_metric(metric, y[val_rows], scores))))
    return out


def fold_tasks(grid: list[FitSpec], X_u8: np.ndarray, y: np.ndarray,
               folds: list[tuple[np.ndarray, np.ndarray]], seed: int, metric: str) -> list[Task]:
    """The cross-validation as independent tasks, spec-major: grid[i] on fold k is task i * len(folds) + k."""
    return [Task(fold_fit, (spec, X_u8, y, tr, va, seed, metric),
                 f"{spec.family} {spec.param_dict()} fold {k + 1}/{len(folds)}")
            for spec in grid for k, (tr, va) in enumerate(folds)]


def score_folds(grid: list[FitSpec], y: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], results: list,
                *, metric: str, operating_point: str, n_inputs: int,
                cost: Callable[[IntModel, int], object]) -> list[Candidate]:
    """Candidates from the fold_tasks results (same order): pooled out-of-fold metric, threshold, cost.

    Everything here is a function of the ordered results alone, so it does
    not depend on where or in which order the tasks ran.
    """
    by_name: dict[str, Candidate] = {}
    oof: dict[str, np.ndarray] = {}
    results = iter(results)
    for spec in grid:
        for _, va in folds:
            for name, n_trees, model, scores, fold_metric in next(results):
                cand = by_name.get(name)
                if cand is None:
                    c = cost(model, n_inputs)
                    cand = by_name[name] = Candidate(
                        name, spec.family, spec.param_dict(), n_trees,
                        flash_bytes=c.flash_bytes, ram_bytes=c.ram_bytes, cycles=c.cycles,
                    )
                    oof[name] = np.zeros(len(y), dtype=np.float64)
                oof[name][va] = scores / model.score_scale
                cand.fold_metrics.append(fold_metric)
    for name, cand in by_name.items():
        # the decision threshold is chosen on out-of-fold scores: never on the test split
        cand.threshold = best_threshold(y, oof[name], operating_point)
        cand.cv_metric = round(float(score_metric(metric, y, oof[name], cand.threshold)), SCORE_DECIMALS)
        cand.fold_metrics = [round(float(m), SCORE_DECIMALS) for m in cand.fold_metrics]
        cand.cv_std = round(float(np.std(cand.fold_metrics)), SCORE_DECIMALS)
    return list(by_name.values())


def cross_validate(grid: list[FitSpec], X_u8: np.ndarray, y: np.ndarray, groups: np.ndarray | None,
                   *, metric: str, n_folds: int, seed: int, operating_point: str = "balanced_accuracy",
                   cost: Callable[[IntModel, int], object],
                   progress: Callable[[str], None] | None = None,
                   backend: Backend | None = None) -> list[Candidate]:
    """Score every candidate of the grid on grouped CV folds, as integer models.

    The metric is computed on the pooled out-of-fold scores (each in the
    model's float units, int score / score_scale): the device applies one
    fixed threshold to every patient, so scores must be comparable across
    patients, not only rank well within one fold. cost(model, n_inputs) gives
    each candidate's flash_bytes, ram_bytes and cycles on the target. Per-fold values (AUC, or the
    metric at threshold 0) are kept for the spread (cv_std). The operating
    point (decision threshold) is also chosen on the pooled out-of-fold scores.
    The (spec, fold) fits run as independent tasks on `backend` (default: one
    process, one after another); progress(label) is called as each one finishes.
    """
    folds = make_folds(y, groups, n_folds, seed)
    tasks = fold_tasks(grid, X_u8, y, folds, seed, metric)
    results = run_tasks(tasks, backend or serial_backend(), progress=(lambda t: progress(t.label)) if progress else None,
                        scatter=(X_u8, y))
    return score_folds(grid, y, folds, results, metric=metric, operating_point=operating_point,
                       n_inputs=X_u8.shape[1], cost=cost)


def refit_tasks(cands: list[Candidate], X_u8: np.ndarray, y: np.ndarray, seed: int) -> list[Task]:
    """One full-data fit per (family, params) among cands, yielding all their sizes (tree prefixes)."""
    groups: dict[tuple, list[int]] = {}
    for c in cands:
        sizes = groups.setdefault((c.family, tuple(sorted(c.params.items()))), [])
        if c.n_trees:
            sizes.append(c.n_trees)
    return [Task(_refit_group, (FitSpec(family, params, tuple(sorted(set(sizes)))), X_u8, y, seed),
                 f"{family} {dict(params)}")
            for (family, params), sizes in groups.items()]


def _refit_group(spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> dict[str, IntModel]:
    return {name: model for name, _, model in fit_integer_models(spec, X_u8, y, seed)}


def refit_all(cands: list[Candidate], X_u8: np.ndarray, y: np.ndarray, seed: int,
              backend: Backend | None = None, progress: Callable[[str], None] | None = None) -> dict[str, IntModel]:
    """Fit every candidate on all training rows: {name: integer model}.

    Candidates of one family and parameter set share one fit (the smaller
    tree ensembles are its first trees, as in cross-validation).
    """
    models: dict[str, IntModel] = {}
    tasks = refit_tasks(cands, X_u8, y, seed)
    for got in run_tasks(tasks, backend or serial_backend(), progress=(lambda t: progress(t.label)) if progress else None,
                         scatter=(X_u8, y)):
        models.update(got)
    missing = [c.name for c in cands if c.name not in models]
    if missing:
        raise RuntimeError(f"refit did not produce {', '.join(missing)}")
    return {c.name: models[c.name] for c in cands}


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
