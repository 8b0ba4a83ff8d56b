"""Integer model families and the single integer reference for what the device computes."""

from __future__ import annotations

import json
from typing import Union

import numpy as np

from . import dense, trees
from .dense import DenseModel
from .trees import TreeEnsemble

IntModel = Union[TreeEnsemble, DenseModel]

FAMILY_CODE = {"gbt": 1, "rf": 1, "mlp": 2, "linear": 3}  # matches tb_family_t


def predict_scores(model: IntModel, X_u8: np.ndarray) -> np.ndarray:
    """int64 scores (n_rows,) of the integer model on uint8 inputs (n_rows, n_inputs)."""
    if isinstance(model, TreeEnsemble):
        return trees.predict_scores(model, X_u8)
    return dense.predict_scores(model, X_u8)


def predict_classes(model: IntModel, X_u8: np.ndarray, decision_threshold: int) -> np.ndarray:
    """0/1 classes (n_rows,): 1 when the integer score is above the decision threshold."""
    return (predict_scores(model, X_u8) > decision_threshold).astype(np.int64)


def model_flash_bytes(model: IntModel) -> int:
    """Bytes of model data in flash (arrays only; the descriptor sits in RAM)."""
    if isinstance(model, TreeEnsemble):
        return trees.flash_bytes(model)
    return dense.flash_bytes(model)


def describe(model: IntModel) -> str:
    """Short name, e.g. 'gbt-24x4' (trees x depth) or 'mlp-8'."""
    if isinstance(model, TreeEnsemble):
        return f"{model.kind}-{model.n_trees}x{model.depth}"
    if model.kind == "mlp":
        return f"mlp-{model.n_hidden}"
    return "linear"


def to_dict(model: IntModel) -> dict:
    """JSON-ready dict of the integer model (exact integers, no floats in the arrays)."""
    if isinstance(model, TreeEnsemble):
        return {
            "kind": model.kind, "depth": model.depth,
            "features": model.features.tolist(), "thresholds": model.thresholds.tolist(),
            "leaves": model.leaves.tolist(), "bias": int(model.bias), "score_scale": model.score_scale,
        }
    return {
        "kind": model.kind, "w1": model.w1.tolist(), "b1": model.b1.tolist(),
        "m1": int(model.m1), "s1": int(model.s1), "w2": model.w2.tolist(), "b2": int(model.b2),
        "score_scale": model.score_scale, "n_inputs": int(model.w1.shape[1]) if model.w1.size else int(model.w2.size),
    }


def from_dict(data: dict) -> IntModel:
    """Inverse of to_dict."""
    if data["kind"] in ("gbt", "rf"):
        return TreeEnsemble(
            data["kind"], int(data["depth"]),
            np.array(data["features"], dtype=np.uint8), np.array(data["thresholds"], dtype=np.uint8),
            np.array(data["leaves"], dtype=np.int16), int(data["bias"]), float(data["score_scale"]),
        )
    w1 = np.array(data["w1"], dtype=np.int8).reshape(-1, data["n_inputs"]) if data["w1"] else \
        np.zeros((0, data["n_inputs"]), np.int8)
    return DenseModel(
        data["kind"], w1, np.array(data["b1"], dtype=np.int32), int(data["m1"]), int(data["s1"]),
        np.array(data["w2"], dtype=np.int8), int(data["b2"]), float(data["score_scale"]),
    )


def dumps(model: IntModel) -> str:
    return json.dumps(to_dict(model), separators=(",", ":"), sort_keys=True)
