"""Cost of an integer model on a target: flash, RAM and cycles per inference.

The cycle constants of each kernel are the target's (see targets.avr); each
model family turns them into an estimate for its own structure
(IntModel.cycles), so adding a family adds no branch here.
"""

from __future__ import annotations

from dataclasses import dataclass

from tinybeat.core.families import IntModel
from tinybeat.targets import Target


@dataclass(frozen=True)
class Cost:
    flash_bytes: int   # model arrays in flash
    ram_bytes: int     # descriptor, parameter struct and tables in RAM, plus kernel stack (input buffer excluded)
    cycles: int        # estimated cycles per inference (tb_model_predict: the engine's checks and the kernel)


def model_cost(model: IntModel, n_inputs: int, target: Target) -> Cost:
    """What `model` costs on `target` for inputs of n_inputs bytes."""
    return Cost(
        flash_bytes=model.flash_bytes(),
        ram_bytes=target.descriptor_ram_bytes + model.ram_bytes() + target.kernel_stack_bytes,
        cycles=target.costs["engine"]["call"] + model.cycles(n_inputs, target.costs),
    )
