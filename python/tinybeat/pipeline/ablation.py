"""What the rhythm features buy: the chosen model's family and size refitted on the beat shape alone.

Both models are scored the same way (grouped cross-validation on the
training patients, then the test split), so the difference is the value of
the RR and amplitude features on patients the model never saw.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from tinybeat.core import families
from tinybeat.core.families.base import FitSpec
from tinybeat.core.search import cross_validate, refit
from tinybeat.core.metrics import summary
from tinybeat.pipeline.artifacts import FrontEntry

RHYTHM_PREFIXES = ("pre_rr", "post_rr", "avg_rr", "pre_ratio", "post_ratio", "amp_ratio")


def morphology_columns(feature_names: list[str]) -> np.ndarray | None:
    """Indices of the beat-shape columns, or None when the table has no rhythm features."""
    rhythm = [j for j, n in enumerate(feature_names) if n in RHYTHM_PREFIXES]
    if not rhythm:
        return None
    return np.array([j for j in range(len(feature_names)) if j not in rhythm], dtype=np.int64)


def morphology_only(entry: FrontEntry, feature_names: list[str], Xtr: np.ndarray, ytr: np.ndarray,
                    groups: np.ndarray | None, Xte: np.ndarray, yte: np.ndarray, *, metric: str,
                    n_folds: int, seed: int, operating_point: str, cost: Callable) -> dict | None:
    """Cross-validate and refit the chosen candidate's family/size on the shape columns only.

    entry: a front entry (name, family, params, n_trees); X*: uint8 (n, n_features);
    cost(model, n_inputs): the candidates' cost on the target (see cross_validate).
    Returns {"name", "n_inputs", "cv_metric", "test": summary} or None without rhythm columns.
    """
    cols = morphology_columns(feature_names)
    if cols is None:
        return None
    sizes = (entry.n_trees,) if entry.n_trees else ()
    spec = FitSpec(entry.family, tuple(sorted(entry.params.items())), sizes)
    cands = cross_validate([spec], Xtr[:, cols], ytr, groups, metric=metric, n_folds=n_folds, seed=seed,
                           operating_point=operating_point, cost=cost)
    cand = next(c for c in cands if c.name == entry.name)
    model = refit(cand, Xtr[:, cols], ytr, seed)
    scores = families.predict_scores(model, Xte[:, cols])
    threshold = int(np.floor(cand.threshold * model.score_scale))
    return {"name": cand.name, "n_inputs": int(len(cols)), "cv_metric": cand.cv_metric,
            "test": summary(yte, scores, threshold)}
