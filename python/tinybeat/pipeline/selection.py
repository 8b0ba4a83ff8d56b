"""Which saved model a board gets: the budget its manifest and the config leave, and the pick."""

from __future__ import annotations

from dataclasses import replace

from tinybeat.core.search import Budget, select
from tinybeat.errors import ConfigError
from tinybeat.pipeline.artifacts import FrontEntry, Trained
from tinybeat.pipeline.config import BudgetConfig, Config
from tinybeat.targets import target_of
from tinybeat.targets.boards import Board
from tinybeat.targets.cost import model_cost


def front_on(trained: Trained, board: Board | None) -> list[FrontEntry]:
    """The saved front with every model's RAM and cycles estimated on this board's target.

    The search estimated them on one target; a kernel's speed depends on the board (e.g. an
    input buffer aligned for the unrolled tree kernels needs SRAM a 2 KB board does not have).
    board None: the front as saved.
    """
    if board is None:
        return list(trained.front)
    target = target_of(board)
    out = []
    for e in trained.front:
        c = model_cost(e.model, trained.n_inputs, target)
        out.append(replace(e, ram_bytes=c.ram_bytes, cycles=c.cycles))
    return out


def select_for_budget(trained: Trained, budget: Budget, tie_tolerance: float,
                      board: Board | None = None) -> FrontEntry | None:
    """The front entry core.search.select picks within the budget (costs on `board`), or None."""
    return select(front_on(trained, board), budget, tie_tolerance)


def select_for_board(trained: Trained, board: Board, cfg: Config) -> FrontEntry:
    """The model `board` gets; its cycles and RAM are the estimates on that board."""
    budget = model_budget(board, cfg.budget)
    entry = select_for_budget(trained, budget, cfg.search.tie_tolerance, board)
    if entry is None:
        front = front_on(trained, board)
        smallest = min(front, key=lambda e: e.flash_bytes)
        fastest = min(front, key=lambda e: e.cycles)
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
