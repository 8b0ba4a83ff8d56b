"""emlearn's C semantics reproduced in numpy, to score emlearn models on the full test split.

float32 arithmetic step by step and the thresholds exactly as emlearn prints them into
its C code; the device's class and probability are checked against these on every
simulated beat (emlearn_adapter).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONVERT = {
    # x / 255 as a float: one multiply by the float constant 1/255 per input
    "float": "(d)[i_] = (float)(s)[i_] * (1.0f / 255.0f)",
    # the bytes as int16 features, unscaled
    "int16": "(d)[i_] = (int16_t)(s)[i_]",
}
CTYPE = {"float": "float", "int16": "int16_t"}


def c_float(value: float) -> np.float32:
    """A float constant exactly as emlearn prints it into C ("%.6f" then 'f')."""
    from emlearn import cgen

    return np.float32(float(cgen.constant(float(value), dtype="float").rstrip("f")))


def c_int(value: float) -> int:
    from emlearn import cgen

    return int(cgen.constant(float(value), dtype="int16_t"))


def features(X_u8: np.ndarray, dtype: str) -> np.ndarray:
    """What the device's CONVERT[dtype] computes on the input bytes (n, n_inputs)."""
    if dtype == "float":
        return X_u8.astype(np.float32) * (np.float32(1.0) / np.float32(255.0))
    return X_u8.astype(np.int64)


def emulate_trees(forest, dtype: str, leaf_bits: int, n_trees: int,
                  X_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes from <model>_predict, float32 out[1] from <model>_predict_proba, internal nodes visited
    over all trees), each (n,), of an inline forest.

    forest: emlearn's (nodes, roots, leaves) of the converted model (`Wrapper.forest_`).
    """
    nodes, roots, leaves = forest
    feat = np.array([int(n[0]) for n in nodes], dtype=np.int64)
    left = np.array([int(n[2]) for n in nodes], dtype=np.int64)
    right = np.array([int(n[3]) for n in nodes], dtype=np.int64)
    if dtype == "float":
        thr = np.array([c_float(n[1]) for n in nodes], dtype=np.float32)
    else:
        thr = np.array([c_int(n[1]) for n in nodes], dtype=np.int64)
    x = features(X_u8, dtype)
    rows = np.arange(len(X_u8))
    leaf_of_tree = []
    visited = np.zeros(len(X_u8), dtype=np.int64)
    for root in roots:
        idx = np.full(len(X_u8), int(root), dtype=np.int64)
        active = idx >= 0
        while active.any():
            i = idx[active]
            visited[active] += 1
            go_left = x[rows[active], feat[i]] < thr[i]
            idx[active] = np.where(go_left, left[i], right[i])
            active = idx >= 0
        leaf_of_tree.append(-idx - 1)
    n = np.float32(n_trees)
    if leaf_bits == 0:
        cls_of_leaf = np.array([int(v) for v in leaves], dtype=np.int64)
        votes1 = sum((cls_of_leaf[l] == 1).astype(np.int64) for l in leaf_of_tree)
        votes0 = len(roots) - votes1
        # argmax over int votes starting at (class -1, 0 votes), strictly larger wins: ties -> class 0
        classes = np.where(votes1 > votes0, 1, 0)
        return classes.astype(np.int64), (votes1.astype(np.float32) / n).astype(np.float32), visited
    table = np.array([np.asarray(v, dtype=np.uint8) for v in leaves])  # (n_unique, 2) bytes
    out0 = np.zeros(len(X_u8), dtype=np.float32)
    out1 = np.zeros(len(X_u8), dtype=np.float32)
    c255 = np.float32(255.0)
    for l in leaf_of_tree:
        out0 = (out0 + table[l, 0].astype(np.float32) / c255).astype(np.float32)
        out1 = (out1 + table[l, 1].astype(np.float32) / c255).astype(np.float32)
    # argmax as emlearn writes it: start at class -1 with 0.0, take strictly larger
    classes = np.where(out0 > 0, 0, -1)
    best = np.maximum(out0, np.float32(0))
    classes = np.where(out1 > best, 1, classes)
    return classes.astype(np.int64), (out1 / n).astype(np.float32), visited


@dataclass
class MlpParams:
    w1: np.ndarray   # float32 (n_inputs, n_hidden), as printed into C
    b1: np.ndarray   # float32 (n_hidden,)
    w2: np.ndarray   # float32 (n_hidden, 1)
    b2: np.ndarray   # float32 (1,)


def mlp_params(coefs: list[np.ndarray], intercepts: list[np.ndarray]) -> MlpParams:
    f = np.vectorize(lambda v: c_float(v), otypes=[np.float32])
    return MlpParams(f(coefs[0]), f(intercepts[0]), f(coefs[1]), f(intercepts[1]))


def emulate_mlp(p: MlpParams, X_u8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """eml_net (loadable, float): one ReLU hidden layer, one logistic output; float32 step by step.

    Returns (classes (n,), float32 probability of class 1 (n,)); expf may differ by an ulp on the device.
    """
    x = features(X_u8, "float")
    _, n_hidden = p.w1.shape
    hidden = np.zeros((len(X_u8), n_hidden), dtype=np.float32)
    for o in range(n_hidden):
        s = np.zeros(len(X_u8), dtype=np.float32)
        for i in range(p.w1.shape[0]):
            s = (s + (p.w1[i, o] * x[:, i]).astype(np.float32)).astype(np.float32)
        s = (s + p.b1[o]).astype(np.float32)
        hidden[:, o] = np.where(s <= 0, np.float32(0), s)
    s = np.zeros(len(X_u8), dtype=np.float32)
    for i in range(n_hidden):
        s = (s + (p.w2[i, 0] * hidden[:, i]).astype(np.float32)).astype(np.float32)
    s = (s + p.b2[0]).astype(np.float32)
    one = np.float32(1.0)
    p1 = (one / (one + np.exp(-s).astype(np.float32))).astype(np.float32)
    return (p1 > np.float32(0.5)).astype(np.int64), p1
