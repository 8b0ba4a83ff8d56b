"""The family registry: every family honours the protocol, and a new family needs only its own module.

`tests/test_engine_equivalence.py` checks each family's integer reference
against the C kernels; here the Python side of the protocol is checked for
every registered family, and a toy family is plugged in by one registry line
to show that search, cost, serialisation and code generation need nothing else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

import numpy as np
import pytest

from tinybeat.codegen import c_header
from tinybeat.core import families
from tinybeat.core.families.base import CSource, FitSpec, IntModel
from tinybeat.core.search import cross_validate, default_grid, pareto_front
from tinybeat.targets import avr
from tinybeat.targets.boards import Board
from tinybeat.targets import target_of
from tinybeat.targets.cost import model_cost

MEGA = target_of(Board("megaatmega2560", "Arduino Mega", "atmelavr", "atmega2560", 16_000_000, 253_952, 8192))


def toy_data(n: int = 240, n_inputs: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """uint8 rows whose class depends on inputs 0 and 3, in 8 groups."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, n_inputs)).astype(np.uint8)
    y = ((X[:, 0].astype(int) + X[:, 3] + rng.integers(-60, 60, n)) > 255).astype(np.int64)
    return X, y, np.arange(n) % 8


def small_spec(family: families.Family) -> FitSpec:
    """The family's first grid entry, with at most two small tree sizes."""
    spec = family.grid(8)[0]
    return FitSpec(spec.family, spec.params, spec.sizes[:2])


@pytest.mark.parametrize("name", list(families.REGISTRY))
def test_family_honours_the_protocol(name: str) -> None:
    family = families.get(name)
    assert family.name == name and family.title
    assert all(spec.family == name for spec in family.grid(128)) and family.grid(128)
    X, y, _ = toy_data()
    spec = small_spec(family)
    fitted = list(family.fit(spec, X, y, seed=0))
    shapes = list(family.shapes(spec, X.shape[1]))
    assert [(n, t) for n, t, _ in fitted] == [(n, t) for n, t, _ in shapes], "shapes() must name what fit() yields"
    for (cand_name, _, model), (_, _, shape) in zip(fitted, shapes):
        assert isinstance(model, IntModel) and model.kind == name
        scores = model.predict_scores(X)
        assert scores.dtype == np.int64 and scores.shape == (len(X),)
        again = families.from_dict(model.to_dict())
        np.testing.assert_array_equal(again.predict_scores(X), scores)
        assert model.flash_bytes() == shape.flash_bytes() > 0, cand_name
        assert model.cycles(X.shape[1], MEGA.costs) == shape.cycles(X.shape[1], MEGA.costs) > 0
        src = model.c_source()
        array_bytes = sum(np.asarray(values).size * np.dtype(ctype.removesuffix("_t")).itemsize
                          for ctype, _, values in src.arrays)
        # data the family places itself (its own flash macro): byte initializers in `definitions`
        own_bytes = sum(len(body.split(",")) for body in re.findall(r"\) = \{([^}]*)\};", src.definitions))
        assert array_bytes + own_bytes == model.flash_bytes()
        assert src.kernel.startswith("tb_") and src.params_type.endswith("_t")


def test_unknown_family_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown model family 'nope'; known: gbt"):
        families.get("nope")
    with pytest.raises(ValueError, match="unknown model family"):
        families.from_dict({"kind": "nope"})


# ---- a toy family: one module's worth of code and one registry line -------------------------


@dataclass
class ThresholdSum:
    """score = sum over the chosen inputs of (x > 127), minus a bias."""
    kind: str
    inputs: np.ndarray   # uint8 indices
    bias: int
    score_scale: float = 1.0

    def predict_scores(self, X_u8: np.ndarray) -> np.ndarray:
        return (np.asarray(X_u8)[:, self.inputs] > 127).sum(axis=1).astype(np.int64) - self.bias

    def flash_bytes(self) -> int:
        return int(self.inputs.size)

    def ram_bytes(self) -> int:
        return 5

    def cycles(self, n_inputs: int, costs) -> int:
        return 40 + 6 * int(self.inputs.size)

    def c_source(self) -> CSource:
        return CSource((("uint8_t", "tb_model_inputs", self.inputs),), "tb_toy_t",
                       "{ %d, tb_model_inputs, %d }" % (self.inputs.size, self.bias), "tb_toy_score", 9)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "inputs": self.inputs.tolist(), "bias": self.bias}

    def describe(self) -> str:
        return f"toy-{self.inputs.size}"


class ToyFamily:
    name = "toy"
    title = "toy threshold sums"

    def grid(self, max_trees: int) -> list[FitSpec]:
        return [FitSpec(self.name, (("k", k),)) for k in (1, 2, 4)]

    def _model(self, spec: FitSpec, inputs: np.ndarray) -> ThresholdSum:
        return ThresholdSum(self.name, inputs.astype(np.uint8), int(spec.param_dict()["k"]) // 2)

    def fit(self, spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, None, ThresholdSum]]:
        corr = [abs(np.corrcoef(X_u8[:, j], y)[0, 1]) for j in range(X_u8.shape[1])]
        yield f"toy-{spec.param_dict()['k']}", None, self._model(spec, np.argsort(corr)[::-1][:spec.param_dict()["k"]])

    def shapes(self, spec: FitSpec, n_inputs: int) -> Iterator[tuple[str, None, ThresholdSum]]:
        yield f"toy-{spec.param_dict()['k']}", None, self._model(spec, np.zeros(spec.param_dict()["k"]))

    def from_dict(self, data: dict) -> ThresholdSum:
        return ThresholdSum(data["kind"], np.array(data["inputs"], np.uint8), int(data["bias"]))


def test_a_toy_family_plugs_in_by_one_registry_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(families.REGISTRY, "toy", ToyFamily())   # the one line a new family adds
    X, y, groups = toy_data()
    grid = default_grid(["toy", "linear"])
    assert {spec.family for spec in grid} == {"toy", "linear"}
    cands = cross_validate(grid, X, y, groups, metric="auc", n_folds=4, seed=0,
                           cost=lambda m, n: model_cost(m, n, MEGA))
    toys = {c.name: c for c in cands if c.family == "toy"}
    assert set(toys) == {"toy-1", "toy-2", "toy-4"}
    assert toys["toy-2"].cv_metric > 0.7 and toys["toy-4"].cycles == MEGA.costs["engine"]["call"] + 40 + 6 * 4
    assert pareto_front(cands)
    model = next(m for _, _, m in ToyFamily().fit(ToyFamily().grid(8)[1], X, y, 0))
    assert families.from_dict(families.to_dict(model)).predict_scores(X).tolist() == model.predict_scores(X).tolist()
    header = c_header.model_header(model, n_inputs=X.shape[1], decision_threshold=0, fingerprint="ab" * 32,
                                   cycle_estimate=52, cycle_budget=1000)
    assert "tb_model_inputs[2] TB_FLASH" in header and '#include "tb_toy.h"' in header
    assert "tb_toy_score_checked" in header and "#define TB_MODEL_FAMILY 9" in header
