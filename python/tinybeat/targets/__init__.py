"""Targets: a board (from its PlatformIO manifest) plus what the engine costs on its architecture.

Everything that differs between boards or architectures is read here, from one
place: the manifest (MCU, clock, flash, RAM), the architecture's cycle table,
descriptor size, kernel stack and the model flash the engine can address.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from tinybeat.core.families.base import CostTable
from tinybeat.targets import avr
from tinybeat.targets.boards import Board, load_board

# architecture (the PlatformIO platform a board manifest belongs to) -> its engine costs
ARCHITECTURES = {"atmelavr": avr}


@dataclass(frozen=True)
class Target:
    board: Board
    architecture: str            # PlatformIO platform, e.g. "atmelavr"
    costs: CostTable             # cycle constants per kernel
    descriptor_ram_bytes: int    # sizeof(tb_model_t)
    kernel_stack_bytes: int      # deepest kernel call chain
    max_model_flash: int         # model bytes the engine can address

    def cycles_to_ms(self, cycles: int) -> float:
        """Milliseconds of `cycles` at this board's own clock."""
        return 1000.0 * cycles / self.board.f_cpu


def target_of(board: Board) -> Target:
    """The target a board makes with its architecture's engine costs."""
    arch = ARCHITECTURES[board.platform]
    aligned = {"aligned": int(board.ram_bytes >= arch.ALIGNED_INPUT_MIN_RAM)}
    return Target(board=board, architecture=board.platform, costs=MappingProxyType({**arch.COSTS, "input": aligned}),
                  descriptor_ram_bytes=arch.DESCRIPTOR_RAM_BYTES, kernel_stack_bytes=arch.KERNEL_STACK_BYTES,
                  max_model_flash=board.max_model_flash or arch.MAX_MODEL_FLASH)


def load_target(project_dir: Path, board_id: str) -> Target:
    """The target of board `board_id` (ConfigError naming the known boards when unknown)."""
    return target_of(load_board(project_dir, board_id))
