"""Integer dense models: a small int8 MLP (one ReLU hidden layer) and a linear model.

Integer arithmetic, as the C kernel `tb_dense_score` computes it:

    acc_j    = sum_i w1[j, i] * x[i] + b1[j]                     (int32)
    hidden_j = min(255, (max(acc_j, 0) * m1 + 2**(s1-1)) >> s1)   (uint8)
    score    = sum_j w2[j] * hidden_j + b2                       (int32)

The linear model is the output layer alone over the inputs (no hidden layer).
Weights are symmetric per-layer int8 (scale = max|w| / 127); inputs are the
uint8 bytes of `quantize_inputs` (x_float = x / 255).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np

from tinybeat.core.families.base import CostTable, CSource, FitSpec, check_int32

INT32_MAX = 2**31 - 1


@dataclass
class DenseModel:
    kind: str               # "mlp" or "linear"
    w1: np.ndarray          # int8 (n_hidden, n_inputs); empty (0, n_inputs) for linear
    b1: np.ndarray          # int32 (n_hidden,)
    m1: int                 # requantisation multiplier, 1..255
    s1: int                 # requantisation shift, 1..31
    w2: np.ndarray          # int8 (n_hidden,) or (n_inputs,) for linear
    b2: int
    score_scale: float      # float logit = int score / score_scale

    @property
    def n_hidden(self) -> int:
        return int(self.w1.shape[0])

    @property
    def n_inputs(self) -> int:
        return int(self.w1.shape[1]) if self.w1.size else int(self.w2.size)

    def predict_scores(self, X_u8: np.ndarray) -> np.ndarray:
        return predict_scores(self, X_u8)

    def flash_bytes(self) -> int:
        """int8 weights and int32 biases."""
        return int(self.w1.size + 4 * self.b1.size + self.w2.size)

    def ram_bytes(self) -> int:
        """sizeof(tb_dense_t): n_hidden, three pointers, m1, s1, int32 b2."""
        return 14

    def cycles(self, n_inputs: int, costs: CostTable) -> int:
        c = costs["dense"]
        if self.n_hidden == 0:
            return c["call"] + n_inputs * c["per_mac"]
        return c["call"] + self.n_hidden * (c["per_neuron"] + n_inputs * c["per_mac"])

    def c_source(self) -> CSource:
        check_int32("bias", self.b2)
        return CSource(
            arrays=(("int8_t", "tb_model_w1", self.w1), ("int32_t", "tb_model_b1", self.b1),
                    ("int8_t", "tb_model_w2", self.w2)),
            params_type="tb_dense_t",
            params_init="{ %d, tb_model_w1, tb_model_b1, %d, %d, tb_model_w2, %dL }"
                        % (self.n_hidden, self.m1, self.s1, self.b2),
            kernel="tb_dense_score", family_code=2 if self.kind == "mlp" else 3)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "w1": self.w1.tolist(), "b1": self.b1.tolist(), "m1": int(self.m1),
                "s1": int(self.s1), "w2": self.w2.tolist(), "b2": int(self.b2),
                "score_scale": self.score_scale, "n_inputs": self.n_inputs}

    def describe(self) -> str:
        return f"mlp-{self.n_hidden}" if self.kind == "mlp" else "linear"


def _int8_weights(w: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric int8 weights and their scale (float weight = int weight * scale)."""
    max_abs = float(np.max(np.abs(w))) or 1.0
    scale = max_abs / 127.0
    return np.clip(np.round(w / scale), -127, 127).astype(np.int8), scale


def _multiplier_shift(ratio: float) -> tuple[int, int]:
    """m / 2**s ~= ratio with m in 128..255 (8 significant bits), s in 1..31."""
    if ratio <= 0:
        raise ValueError("requantisation ratio must be positive")
    s = int(np.floor(np.log2(255.0 / ratio)))
    s = max(1, min(31, s))
    m = int(np.clip(np.round(ratio * 2**s), 1, 255))
    return m, s


def _int32_bias_scale(w_scale: float, bias: float, n_inputs: int) -> float:
    """Grow w_scale until bias / w_scale plus the largest possible dot product fits int32."""
    room = INT32_MAX - 127 * 255 * n_inputs
    return max(w_scale, abs(bias) / room)


def from_linear(coef: np.ndarray, intercept: float) -> DenseModel:
    """Linear model trained on inputs x/255: logit = coef . (x/255) + intercept."""
    w_float = np.asarray(coef, dtype=np.float64).ravel() / 255.0
    _, w_scale = _int8_weights(w_float)
    w_scale = _int32_bias_scale(w_scale, intercept, w_float.size)
    w = np.clip(np.round(w_float / w_scale), -127, 127).astype(np.int8)
    b2 = int(np.round(intercept / w_scale))
    n_inputs = w.shape[0]
    return DenseModel("linear", np.zeros((0, n_inputs), np.int8), np.zeros(0, np.int32), 1, 1,
                      w, b2, 1.0 / w_scale)


def from_mlp(coefs: list[np.ndarray], intercepts: list[np.ndarray], X_calib: np.ndarray,
             percentile: float = 99.9) -> DenseModel:
    """One-hidden-layer ReLU MLP trained on inputs x/255 (scikit-learn coefs_ layout).

    X_calib: uint8 (n_rows, n_inputs) used to choose the hidden activation range.
    """
    W1 = np.asarray(coefs[0], dtype=np.float64).T / 255.0   # (n_hidden, n_inputs) on uint8 x
    w1, s_w1 = _int8_weights(W1)
    b1 = np.round(np.asarray(intercepts[0]) / s_w1).astype(np.int64)
    acc = X_calib.astype(np.int64) @ w1.T.astype(np.int64) + b1
    relu = np.maximum(acc, 0)
    top = float(np.percentile(relu[relu > 0], percentile)) if np.any(relu > 0) else 1.0
    m1, s1 = _multiplier_shift(255.0 / max(top, 1.0))
    worst_acc = int(np.abs(w1.astype(np.int64)).sum(axis=1).max() * 255 + np.abs(b1).max())
    if worst_acc * m1 + (1 << (s1 - 1)) > INT32_MAX:
        raise ValueError("MLP accumulator could overflow int32")
    h_scale = s_w1 * 2**s1 / m1     # float hidden = hidden_q * h_scale
    W2 = np.asarray(coefs[1], dtype=np.float64).ravel() * h_scale
    _, s_w2 = _int8_weights(W2)
    b2_float = float(np.ravel(intercepts[1])[0])
    s_w2 = _int32_bias_scale(s_w2, b2_float, W2.size)
    w2 = np.clip(np.round(W2 / s_w2), -127, 127).astype(np.int8)
    b2 = int(np.round(b2_float / s_w2))
    return DenseModel("mlp", w1, b1.astype(np.int32), m1, s1, w2, b2, 1.0 / s_w2)


def predict_scores(model: DenseModel, X: np.ndarray) -> np.ndarray:
    """Integer reference: int64 scores (n_rows,) for uint8 inputs X (n_rows, n_inputs)."""
    X = np.asarray(X, dtype=np.int64)
    if model.n_hidden == 0:
        return X @ model.w2.astype(np.int64) + model.b2
    acc = X @ model.w1.T.astype(np.int64) + model.b1.astype(np.int64)
    hidden = np.minimum((np.maximum(acc, 0) * model.m1 + (1 << (model.s1 - 1))) >> model.s1, 255)
    hidden = np.where(acc > 0, hidden, 0)
    return hidden @ model.w2.astype(np.int64) + model.b2


def dense_from_dict(data: dict) -> DenseModel:
    n_inputs = data["n_inputs"]
    w1 = np.array(data["w1"], dtype=np.int8).reshape(-1, n_inputs) if data["w1"] else np.zeros((0, n_inputs), np.int8)
    return DenseModel(data["kind"], w1, np.array(data["b1"], dtype=np.int32), int(data["m1"]), int(data["s1"]),
                      np.array(data["w2"], dtype=np.int8), int(data["b2"]), float(data["score_scale"]))


def zero_dense(kind: str, n_hidden: int, n_inputs: int) -> DenseModel:
    """All-zero dense model of this shape (costs depend on the shape alone)."""
    w2 = np.zeros(n_hidden if n_hidden else n_inputs, np.int8)
    return DenseModel(kind, np.zeros((n_hidden, n_inputs), np.int8), np.zeros(n_hidden, np.int32), 1, 1, w2, 0, 1.0)


class DenseFamily:
    """What the dense families share: one model per spec, rebuilt from its dict."""

    def from_dict(self, data: dict) -> DenseModel:
        return dense_from_dict(data)


class MultiLayerPerceptron(DenseFamily):
    """Family `mlp`: scikit-learn MLPClassifier, one ReLU hidden layer of 2, 4 or 8 units."""
    name = "mlp"
    title = "int8 MLPs"
    hidden_sizes = (2, 4, 8)

    def grid(self, max_trees: int) -> list[FitSpec]:
        return [FitSpec(self.name, (("hidden", h),)) for h in self.hidden_sizes]

    def fit(self, spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, DenseModel]]:
        from sklearn.neural_network import MLPClassifier

        hidden = spec.param_dict()["hidden"]
        clf = MLPClassifier(hidden_layer_sizes=(hidden,), activation="relu", alpha=1e-3, max_iter=200,
                            early_stopping=True, random_state=seed).fit(X_u8.astype(np.float64) / 255.0, y)
        yield f"mlp-{hidden}", None, from_mlp(clf.coefs_, clf.intercepts_, X_u8)

    def shapes(self, spec: FitSpec, n_inputs: int) -> Iterator[tuple[str, int | None, DenseModel]]:
        hidden = int(spec.param_dict()["hidden"])
        yield f"mlp-{hidden}", None, zero_dense(self.name, hidden, n_inputs)


class Linear(DenseFamily):
    """Family `linear`: scikit-learn LogisticRegression with C = 0.01 or 1."""
    name = "linear"
    title = "linear models"
    cs = (0.01, 1.0)

    def grid(self, max_trees: int) -> list[FitSpec]:
        return [FitSpec(self.name, (("C", c),)) for c in self.cs]

    def fit(self, spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, DenseModel]]:
        from sklearn.linear_model import LogisticRegression

        c = spec.param_dict()["C"]
        clf = LogisticRegression(C=c, max_iter=2000).fit(X_u8.astype(np.float64) / 255.0, y)
        yield f"linear-C{c}", None, from_linear(clf.coef_[0], float(clf.intercept_[0]))

    def shapes(self, spec: FitSpec, n_inputs: int) -> Iterator[tuple[str, int | None, DenseModel]]:
        yield f"linear-C{spec.param_dict()['C']}", None, zero_dense(self.name, 0, n_inputs)


MLP = MultiLayerPerceptron()
LINEAR = Linear()
