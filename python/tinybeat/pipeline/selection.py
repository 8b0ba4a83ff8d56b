"""Which saved model a board gets: the budget its manifest and the config leave, and the pick."""

from __future__ import annotations

from tinybeat.core.search import Budget, select
from tinybeat.errors import ConfigError
from tinybeat.pipeline.config import BudgetConfig, Config
from tinybeat.targets import target_of
from tinybeat.targets.boards import Board


class _Front:
    """A front entry as an object for automl.select."""

    def __init__(self, entry: dict):
        self.entry = entry
        self.name = entry["name"]
        self.cv_metric = entry["cv_metric"]
        self.flash_bytes = entry["flash_bytes"]
        self.ram_bytes = entry["ram_bytes"]
        self.cycles = entry["cycles"]


def select_for_budget(trained: dict, budget: Budget, tie_tolerance: float) -> dict | None:
    chosen = select([_Front(e) for e in trained["front"]], budget, tie_tolerance)
    return chosen.entry if chosen else None


def select_for_board(trained: dict, board: Board, cfg: Config) -> dict:
    budget = model_budget(board, cfg.budget)
    entry = select_for_budget(trained, budget, cfg.search.tie_tolerance)
    if entry is None:
        smallest = min(trained["front"], key=lambda e: e["flash_bytes"])
        fastest = min(trained["front"], key=lambda e: e["cycles"])
        raise ConfigError(
            f"no model fits board {board.id}: budget flash {budget.flash_bytes} B, RAM {budget.ram_bytes} B, "
            f"{budget.cycles} cycles; the smallest candidate ({smallest['name']}) needs "
            f"{smallest['flash_bytes']} B flash, the fastest ({fastest['name']}) {fastest['cycles']} cycles: "
            "raise budget.max_cycles or lower flash_reserve / ram_reserve"
        )
    return entry


def model_budget(board: Board, cfg: BudgetConfig) -> Budget:
    """What the model may use on this board: its flash and RAM less the firmware's reserve."""
    if cfg.max_model_flash is not None and cfg.max_model_flash > board.flash_bytes:
        raise ConfigError(
            f"budget.max_model_flash is {cfg.max_model_flash} B, more than board {board.id}'s "
            f"{board.flash_bytes} B of flash; allowed: null or at most {board.flash_bytes - cfg.flash_reserve} B"
        )
    flash = min(board.flash_bytes - cfg.flash_reserve, target_of(board).max_model_flash)
    if cfg.max_model_flash is not None:
        flash = min(flash, cfg.max_model_flash)
    ram = board.ram_bytes - cfg.ram_reserve
    if flash <= 0 or ram <= 0:
        raise ConfigError(
            f"board {board.id}: reserves (flash {cfg.flash_reserve}, RAM {cfg.ram_reserve}) leave no room "
            f"for a model in {board.flash_bytes} bytes of flash and {board.ram_bytes} bytes of RAM"
        )
    return Budget(flash_bytes=flash, ram_bytes=ram, cycles=cfg.max_cycles)
