"""What every model family provides: the protocol the search, the cost model and codegen use.

A family is one module: a float learner's candidate grid and fit, the
conversion to an integer model, and that integer model's own operations
(integer predict, flash size, cycle cost on a target, C arrays, to/from dict).
Its C kernel is one file in lib/tinybeat. `tinybeat.core.families.REGISTRY`
lists the families; nothing else dispatches on a family name or model type.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping, Protocol, runtime_checkable

import numpy as np

# Cycle constants of one target, per kernel: {"trees": {"call": 148, ...}, ...}.
CostTable = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class FitSpec:
    """One float fit; it yields one or more integer candidates."""
    family: str              # a REGISTRY key
    params: tuple            # sorted (name, value) pairs
    sizes: tuple = ()        # tree-count prefixes for tree families

    def param_dict(self) -> dict:
        return dict(self.params)


@dataclass(frozen=True)
class CSource:
    """The integer model as C: flash arrays plus the kernel's parameter struct.

    arrays: (C element type, array name, values) each, emitted as
    `static const <type> <name>[] TB_FLASH`; params_type / params_init: the
    kernel's parameter struct (e.g. tb_trees_t) and its initializer text;
    kernel: the C function that scores it; family_code: its tb_family_t value;
    definitions: C text emitted after the arrays (e.g. flash data with its own placement
    macro, tables), for a family whose data is not plain TB_FLASH arrays.
    """
    arrays: tuple[tuple[str, str, np.ndarray], ...]
    params_type: str
    params_init: str
    kernel: str
    family_code: int
    definitions: str = ""


@runtime_checkable
class IntModel(Protocol):
    """An integer model exactly as the device runs it."""
    kind: str            # the family name (a REGISTRY key)
    score_scale: float   # float score = integer score / score_scale

    def predict_scores(self, X_u8: np.ndarray) -> np.ndarray:
        """int64 scores (n_rows,) for uint8 inputs (n_rows, n_inputs): the device's arithmetic."""

    def flash_bytes(self) -> int:
        """Bytes of model data in flash."""

    def ram_bytes(self) -> int:
        """Static RAM of the kernel's parameter struct and tables (AVR sizes: 2-byte pointers)."""

    def cycles(self, n_inputs: int, costs: CostTable) -> int:
        """Estimated cycles of one inference with the target's cycle constants (targets/avr.py)."""

    def c_source(self) -> CSource:
        """Arrays and parameter struct for the generated header."""

    def to_dict(self) -> dict:
        """JSON-ready dict with exact integers; `kind` names the family."""

    def describe(self) -> str:
        """Short structural name, e.g. 'gbt-24x4' or 'mlp-8'."""


class Family(Protocol):
    """A model family: how to search, fit and rebuild its integer models."""
    name: str     # the config's and the registry's key, e.g. "gbt"
    title: str    # for people, plural, e.g. "gradient-boosted trees"

    def grid(self, max_trees: int) -> list[FitSpec]:
        """The candidate fits of this family in the search."""

    def fit(self, spec: FitSpec, X_u8: np.ndarray, y: np.ndarray, seed: int) -> Iterator[tuple[str, int | None, IntModel]]:
        """Fit one float model on uint8 inputs; yield (candidate name, n_trees or None, integer model)."""

    def shapes(self, spec: FitSpec, n_inputs: int) -> Iterator[tuple[str, int | None, IntModel]]:
        """What fit would yield, as zero-valued models of the same structure, without fitting
        (a candidate's cost depends on its structure alone)."""

    def from_dict(self, data: dict) -> IntModel:
        """Inverse of the model's to_dict."""


def check_int32(name: str, value: int) -> None:
    """Raise ValueError when value does not fit a C int32_t."""
    if not -(2**31) < int(value) < 2**31:
        raise ValueError(f"{name} = {value} does not fit int32")
