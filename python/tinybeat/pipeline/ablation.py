"""What the rhythm features buy: the chosen model's family and size refitted on the beat shape alone.

Both models are scored the same way (grouped cross-validation on the
training patients, then the test split), so the difference is the value of
the RR and amplitude features on patients the model never saw. The work is a
list of independent tasks (`morphology_tasks`: one per fold plus the refit),
so the training step runs them beside the Pareto front's refits.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinybeat.core import families
from tinybeat.core.families.base import FitSpec
from tinybeat.core.metrics import summary
from tinybeat.core.parallel import Task, run_tasks
from tinybeat.core.search import Candidate, fold_tasks, make_folds, refit_tasks, score_folds, serial_backend

RHYTHM_PREFIXES = ("pre_rr", "post_rr", "avg_rr", "pre_ratio", "post_ratio", "amp_ratio")


def morphology_columns(feature_names: list[str]) -> np.ndarray | None:
    """Indices of the beat-shape columns, or None when the table has no rhythm features."""
    rhythm = [j for j, n in enumerate(feature_names) if n in RHYTHM_PREFIXES]
    if not rhythm:
        return None
    return np.array([j for j in range(len(feature_names)) if j not in rhythm], dtype=np.int64)


def _spec(entry: Candidate) -> FitSpec:
    sizes = (entry.n_trees,) if entry.n_trees else ()
    return FitSpec(entry.family, tuple(sorted(entry.params.items())), sizes)


def morphology_tasks(entry: Candidate, Xtr_shape: np.ndarray, ytr: np.ndarray,
                     folds: list[tuple[np.ndarray, np.ndarray]], *, seed: int, metric: str) -> list[Task]:
    """The ablation as tasks: entry's fit on every fold, then on all rows (the last task).

    Xtr_shape: uint8 (n_train, n_shape_columns), the training inputs without the rhythm columns.
    """
    spec = _spec(entry)
    cand = Candidate(entry.name, entry.family, dict(entry.params), entry.n_trees)
    return fold_tasks([spec], Xtr_shape, ytr, folds, seed, metric) + refit_tasks([cand], Xtr_shape, ytr, seed)


def morphology_result(entry: Candidate, ytr: np.ndarray, folds: list[tuple[np.ndarray, np.ndarray]], results: list,
                      Xte_shape: np.ndarray, yte: np.ndarray, *, metric: str, operating_point: str,
                      cost: Callable) -> dict:
    """{"name", "n_inputs", "cv_metric", "test": summary} from the morphology_tasks results (same order)."""
    cands = score_folds([_spec(entry)], ytr, folds, results[:-1], metric=metric, operating_point=operating_point,
                        n_inputs=Xte_shape.shape[1], cost=cost)
    cand = next(c for c in cands if c.name == entry.name)
    model = results[-1][cand.name]
    scores = families.predict_scores(model, Xte_shape)
    threshold = int(np.floor(cand.threshold * model.score_scale))
    return {"name": cand.name, "n_inputs": int(Xte_shape.shape[1]), "cv_metric": cand.cv_metric,
            "test": summary(yte, scores, threshold)}


def morphology_only(entry: Candidate, feature_names: list[str], Xtr: np.ndarray, ytr: np.ndarray,
                    groups: np.ndarray | None, Xte: np.ndarray, yte: np.ndarray, *, metric: str,
                    n_folds: int, seed: int, operating_point: str, cost: Callable) -> dict | None:
    """Cross-validate and refit the chosen candidate's family/size on the shape columns only (in this process).

    entry: a candidate or front entry (name, family, params, n_trees); X*: uint8 (n, n_features);
    cost(model, n_inputs): the candidates' cost on the target (see cross_validate).
    Returns {"name", "n_inputs", "cv_metric", "test": summary} or None without rhythm columns.
    """
    cols = morphology_columns(feature_names)
    if cols is None:
        return None
    folds = make_folds(ytr, groups, n_folds, seed)
    Xs = np.ascontiguousarray(Xtr[:, cols])
    results = run_tasks(morphology_tasks(entry, Xs, ytr, folds, seed=seed, metric=metric), serial_backend())
    return morphology_result(entry, ytr, folds, results, np.ascontiguousarray(Xte[:, cols]), yte, metric=metric,
                             operating_point=operating_point, cost=cost)
