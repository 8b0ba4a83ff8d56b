"""The model families: one module each, listed once in REGISTRY.

Everything else (search, cost, codegen, reports) goes through the registry and
the IntModel protocol (`base.py`); adding a family is one module, one C kernel
and one line here.
"""

from __future__ import annotations

import json

import numpy as np

from tinybeat.core.families import dense, trees
from tinybeat.core.families.base import CSource, Family, FitSpec, IntModel
from tinybeat.core.families.dense import DenseModel
from tinybeat.core.families.trees import TreeEnsemble

__all__ = ["REGISTRY", "CSource", "Family", "FitSpec", "IntModel", "DenseModel", "TreeEnsemble",
           "get", "predict_scores", "predict_classes", "to_dict", "from_dict", "dumps"]

REGISTRY: dict[str, Family] = {family.name: family for family in (trees.GBT, trees.RF, dense.MLP, dense.LINEAR)}


def get(name: str) -> Family:
    """The registered family called `name`; ValueError naming the known ones otherwise."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(REGISTRY)}") from None


def predict_scores(model: IntModel, X_u8: np.ndarray) -> np.ndarray:
    """int64 scores (n_rows,) of the integer model on uint8 inputs (n_rows, n_inputs)."""
    return model.predict_scores(X_u8)


def predict_classes(model: IntModel, X_u8: np.ndarray, decision_threshold: int) -> np.ndarray:
    """0/1 classes (n_rows,): 1 when the integer score is above the decision threshold."""
    return (model.predict_scores(X_u8) > decision_threshold).astype(np.int64)


def to_dict(model: IntModel) -> dict:
    """JSON-ready dict of the integer model (exact integers, no floats in the arrays)."""
    return model.to_dict()


def from_dict(data: dict) -> IntModel:
    """Inverse of to_dict: the family named by data["kind"] rebuilds the model."""
    return get(data["kind"]).from_dict(data)


def dumps(model: IntModel) -> str:
    return json.dumps(to_dict(model), separators=(",", ":"), sort_keys=True)
