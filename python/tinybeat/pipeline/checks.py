"""Checks that run before training, so a doomed build fails in seconds with one clear line.

* the number of inputs against the serial protocol (one INFER frame carries at
  most TBP_MAX_PAYLOAD bytes, read from lib/tbproto/tbproto.h) and the tree
  kernel (uint8 feature index);
* train and test files with different column counts;
* whether any candidate of the search grid can fit the board's budget: a
  candidate's flash, RAM and cycles follow from its structure alone (trees x
  depth, hidden units, inputs), so this is known before anything is fitted.
"""

from __future__ import annotations

import re
from pathlib import Path

from tinybeat.core import families
from tinybeat.core.families.base import FitSpec
from tinybeat.core.search import Budget
from tinybeat.pipeline.config import ConfigError
from tinybeat.targets import Target
from tinybeat.targets.cost import Cost, model_cost
from tinybeat.datasets.table import DataError, Table

PROTOCOL_HEADER = Path("lib") / "tbproto" / "tbproto.h"
TREE_MAX_INPUTS = 256  # the tree kernel stores feature indices as uint8


def protocol_max_payload(project: Path) -> int:
    """TBP_MAX_PAYLOAD (bytes) parsed from the project's lib/tbproto/tbproto.h.

    A project without lib/ (e.g. a data-only test project) uses the header that
    ships beside this package (<repo>/lib/tbproto/tbproto.h).
    """
    path = Path(project) / PROTOCOL_HEADER
    if not path.is_file():
        path = Path(__file__).resolve().parents[3] / PROTOCOL_HEADER
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the protocol header ({exc.strerror or exc})") from exc
    match = re.search(r"^\s*#\s*define\s+TBP_MAX_PAYLOAD\s+\(?\s*(\d+)u?\s*\)?", text, flags=re.M | re.I)
    if not match:
        raise ConfigError(f"{path}: no `#define TBP_MAX_PAYLOAD <bytes>` found")
    return int(match.group(1))


def check_n_inputs(project: Path, n_inputs: int, files: list[str]) -> None:
    """Raise DataError unless n_inputs samples per beat fit one INFER frame and the tree kernel.

    The board side follows: the firmware's frame buffer is TBP_MAX_PAYLOAD
    bytes whatever the model, so its RAM is in the firmware's static RAM.
    """
    limit = protocol_max_payload(project)
    where = ", ".join(files)
    if n_inputs > limit:
        raise DataError(where, f"{n_inputs} inputs per beat, but one INFER frame carries at most {limit} "
                               f"(TBP_MAX_PAYLOAD in {PROTOCOL_HEADER}); use at most {limit} samples a row")
    if n_inputs > TREE_MAX_INPUTS:
        raise DataError(where, f"{n_inputs} inputs per beat, but the tree kernel indexes at most {TREE_MAX_INPUTS}")


def check_same_columns(train: Table, test: Table) -> None:
    """Raise DataError when the test files do not have the training files' feature columns."""
    a, b = len(train.feature_names), len(test.feature_names)
    if a != b:
        raise DataError(", ".join(test.files), f"{b} feature columns, but the training file(s) "
                        f"{', '.join(train.files)} have {a}: train and test must have the same columns", row=1)
    for j, (x, y) in enumerate(zip(train.feature_names, test.feature_names), start=1):
        if x != y:
            raise DataError(", ".join(test.files), f"feature name differs from the training file(s) ({x!r})",
                            row=1, column=y, column_index=j)


def grid_costs(grid: list[FitSpec], n_inputs: int, target: Target) -> dict[str, Cost]:
    """The cost on `target` of every candidate the grid will produce (by name), without fitting anything."""
    return {name: model_cost(model, n_inputs, target)
            for spec in grid for name, _, model in families.get(spec.family).shapes(spec, n_inputs)}


def check_feasible(grid: list[FitSpec], n_inputs: int, budget: Budget, target: Target) -> None:
    """Raise ConfigError when no candidate of the grid can fit the budget (before any training)."""
    costs = list(grid_costs(grid, n_inputs, target).values())
    board_id = target.board.id
    if any(c.flash_bytes <= budget.flash_bytes and c.ram_bytes <= budget.ram_bytes and c.cycles <= budget.cycles
           for c in costs):
        return
    fastest = min(costs, key=lambda c: c.cycles)
    smallest = min(costs, key=lambda c: c.flash_bytes)
    raise ConfigError(
        f"no model fits board {board_id}: budget flash {budget.flash_bytes} B, RAM {budget.ram_bytes} B, "
        f"{budget.cycles} cycles; the fastest candidate needs {fastest.cycles} cycles, the smallest candidate "
        f"{smallest.flash_bytes} B flash: raise budget.max_cycles or lower flash_reserve / ram_reserve "
        "(nothing was trained or changed)"
    )
