"""Which saved model a board gets: the budget its manifest and the config leave, and the pick."""

from __future__ import annotations

from tinybeat.core.search import Budget, select
from tinybeat.errors import ConfigError
from tinybeat.pipeline.artifacts import FrontEntry, Trained
from tinybeat.pipeline.config import BudgetConfig, Config
from tinybeat.targets import target_of
from tinybeat.targets.boards import Board


def select_for_budget(trained: Trained, budget: Budget, tie_tolerance: float) -> FrontEntry | None:
    """The front entry core.search.select picks within the budget, or None."""
    return select(trained.front, budget, tie_tolerance)


def select_for_board(trained: Trained, board: Board, cfg: Config) -> FrontEntry:
    budget = model_budget(board, cfg.budget)
    entry = select_for_budget(trained, budget, cfg.search.tie_tolerance)
    if entry is None:
        smallest = min(trained.front, key=lambda e: e.flash_bytes)
        fastest = min(trained.front, key=lambda e: e.cycles)
        raise ConfigError(
            f"no model fits board {board.id}: budget flash {budget.flash_bytes} B, RAM {budget.ram_bytes} B, "
            f"{budget.cycles} cycles; the smallest candidate ({smallest.name}) needs "
            f"{smallest.flash_bytes} B flash, the fastest ({fastest.name}) {fastest.cycles} cycles: "
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
