"""Cost model of the integer kernels on an 8-bit AVR: flash, RAM and cycles.

Cycle constants were fitted to simavr measurements of lib/tinybeat on the
ATmega2560 (avr-gcc 5.4, -Os); see `pio test -e megaatmega2560` (test_budget)
which prints measured cycles beside this estimate, and asserts the budget.
"""

from __future__ import annotations

from dataclasses import dataclass

from .codegen import DESCRIPTOR_RAM_BYTES_AVR
from .models import DenseModel, IntModel, TreeEnsemble, model_flash_bytes

# tb_trees_score (inline-assembly tree walk): call overhead, per tree, per tree level.
# Fitted to random complete trees on simavr (trees x depth: 16x2 1388, 16x4 2132,
# 64x4 8084, 32x7 6336, 64x3 6608 cycles measured; all within 1 % of this model).
TREE_CALL, TREE_PER_TREE, TREE_PER_LEVEL = 148, 31, 23
# tb_dense_score: call overhead, per hidden neuron, per multiply-accumulate
# (linear 187 inputs: 4690, MLP 2 hidden: 9749, MLP 8 hidden: 37869 cycles measured).
DENSE_CALL, DENSE_PER_NEURON, DENSE_PER_MAC = 202, 285, 24
# stack of the deepest kernel call chain, bytes
KERNEL_STACK_BYTES = 32


@dataclass(frozen=True)
class Cost:
    flash_bytes: int   # model arrays in flash
    ram_bytes: int     # descriptor in RAM plus kernel stack (input buffer excluded)
    cycles: int        # estimated cycles per inference


def estimate_cycles(model: IntModel, n_inputs: int) -> int:
    """Estimated AVR cycles for one inference of `model` on `n_inputs` bytes."""
    if isinstance(model, TreeEnsemble):
        return TREE_CALL + model.n_trees * (TREE_PER_TREE + model.depth * TREE_PER_LEVEL)
    assert isinstance(model, DenseModel)
    if model.n_hidden == 0:
        return DENSE_CALL + n_inputs * DENSE_PER_MAC
    return DENSE_CALL + model.n_hidden * (DENSE_PER_NEURON + n_inputs * DENSE_PER_MAC)


def model_cost(model: IntModel, n_inputs: int) -> Cost:
    return Cost(
        flash_bytes=model_flash_bytes(model),
        ram_bytes=DESCRIPTOR_RAM_BYTES_AVR + KERNEL_STACK_BYTES,
        cycles=estimate_cycles(model, n_inputs),
    )
