"""The 8-bit AVR as a target of the inference engine (lib/tinybeat built by avr-gcc 5.4, -Os).

Cycle constants were fitted to simavr measurements of lib/tinybeat on the
ATmega2560; `pio test -e megaatmega2560` (test_budget) prints measured cycles
beside the estimate and asserts the budget.
"""

from __future__ import annotations

from tinybeat.core.families.early_exit import COST as ETREE_COST

COSTS = {
    # tb_trees_score (inline-assembly tree walk): call overhead, per tree, per tree level.
    # Fitted to random complete trees on simavr (trees x depth: 16x2 1388, 16x4 2132,
    # 64x4 8084, 32x7 6336, 64x3 6608 cycles measured; all within 1 % of this model).
    "trees": {"call": 148, "per_tree": 31, "per_level": 23},
    # tb_dense_score: call overhead, per hidden neuron, per multiply-accumulate
    # (linear 187 inputs: 4690, MLP 2 hidden: 9749, MLP 8 hidden: 37869 cycles measured).
    "dense": {"call": 202, "per_neuron": 285, "per_mac": 24},
    # tb_model_predict around the family's kernel: argument checks, the checked kernel's range checks
    # and the indirect call (gbt-d3-lr0.2-48: 5,224 cycles through tb_model_predict on test_budget,
    # 4,992 for tb_trees_score alone in bench/).
    "engine": {"call": 232},
}
# tb_etree_score (early-exit trees): call, per tree, per node going left / right, for each kernel and leaf
# size ("fast": unrolled, input 256-byte aligned; "loop": any input): calibrated on the simulated MCU by
# tinybeat.core.families.early_exit.calibrate_cost, which keeps the measured table.
COSTS["etree"] = {f"{kernel}{bits}": c for (kernel, bits), c in ETREE_COST.items()}
# The firmware puts its input buffer on a 256-byte boundary (TB_ETREE_INPUT_ALIGN, src/avr/board.h) on
# boards with at least this much SRAM: the padding does not fit a 2 KB board.
ALIGNED_INPUT_MIN_RAM = 4096
# stack of the deepest kernel call chain through tb_model_predict, bytes (32 for the kernel, 22 for the
# checked entry points)
KERNEL_STACK_BYTES = 54
# sizeof(tb_model_t) on AVR: kernel 2 + params 2 + threshold 4 + n_inputs 2 + family 1 = 11; a model's
# RAM is this plus its family's parameter struct and tables (IntModel.ram_bytes)
DESCRIPTOR_RAM_BYTES = 11
# Model bytes the engine may use when a board manifest does not say (its "tinybeat":
# {"max_model_flash": N}): tb_trees and the dense kernels read flash with 16-bit lpm (the first
# 64 KB; past it the engine answers TB_ERR_FLASH, never a score) and avr-gcc allows no array over
# 32,767 bytes, so 32 KB leaves room for the firmware's own flash data. tb_etree models may lie
# anywhere in flash (elpm), but one budget serves every family.
MAX_MODEL_FLASH = 32 * 1024
