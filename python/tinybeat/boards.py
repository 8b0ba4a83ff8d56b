"""Board limits from PlatformIO board manifests, and the model budget they leave."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .automl import Budget
from .config import BudgetConfig, ConfigError


@dataclass(frozen=True)
class Board:
    id: str
    name: str
    mcu: str
    f_cpu: int
    flash_bytes: int   # upload.maximum_size
    ram_bytes: int     # upload.maximum_ram_size

    @classmethod
    def from_manifest(cls, board_id: str, manifest: dict) -> "Board":
        build, upload = manifest.get("build", {}), manifest.get("upload", {})
        return cls(
            id=board_id, name=manifest.get("name", board_id), mcu=build.get("mcu", "?"),
            f_cpu=int(str(build.get("f_cpu", "16000000")).rstrip("UL")),
            flash_bytes=int(upload.get("maximum_size", 0)), ram_bytes=int(upload.get("maximum_ram_size", 0)),
        )


def boards_dir(project_dir: Path) -> Path:
    return project_dir / "pio" / "platforms" / "atmelavr" / "boards"


def load_board(project_dir: Path, board_id: str) -> Board:
    """Board limits from the project's own AVR platform manifests."""
    path = boards_dir(project_dir) / f"{board_id}.json"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in boards_dir(project_dir).glob("*.json")))
        raise ConfigError(f"unknown board {board_id!r} (no {path}); known boards: {known}")
    return Board.from_manifest(board_id, json.loads(path.read_text()))


# The engine reads model arrays with near flash reads (lpm: first 64 KB) and avr-gcc
# allows no array over 32,767 bytes; capping the model at 32 KB keeps both true
# with room for the firmware's and the tests' own flash data.
MAX_MODEL_FLASH_AVR = 32 * 1024


def model_budget(board: Board, cfg: BudgetConfig) -> Budget:
    """What the model may use on this board: its flash and RAM less the firmware's reserve."""
    if cfg.max_model_flash is not None and cfg.max_model_flash > board.flash_bytes:
        raise ConfigError(
            f"budget.max_model_flash is {cfg.max_model_flash} B, more than board {board.id}'s "
            f"{board.flash_bytes} B of flash; allowed: null or at most {board.flash_bytes - cfg.flash_reserve} B"
        )
    flash = min(board.flash_bytes - cfg.flash_reserve, MAX_MODEL_FLASH_AVR)
    if cfg.max_model_flash is not None:
        flash = min(flash, cfg.max_model_flash)
    ram = board.ram_bytes - cfg.ram_reserve
    if flash <= 0 or ram <= 0:
        raise ConfigError(
            f"board {board.id}: reserves (flash {cfg.flash_reserve}, RAM {cfg.ram_reserve}) leave no room "
            f"for a model in {board.flash_bytes} bytes of flash and {board.ram_bytes} bytes of RAM"
        )
    return Budget(flash_bytes=flash, ram_bytes=ram, cycles=cfg.max_cycles)
