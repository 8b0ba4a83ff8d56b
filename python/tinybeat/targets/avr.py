"""The 8-bit AVR as a target of the inference engine (lib/tinybeat built by avr-gcc 5.4, -Os).

Cycle constants were fitted to simavr measurements of lib/tinybeat on the
ATmega2560; `pio test -e megaatmega2560` (test_budget) prints measured cycles
beside the estimate and asserts the budget.
"""

from __future__ import annotations

COSTS = {
    # tb_trees_score (inline-assembly tree walk): call overhead, per tree, per tree level.
    # Fitted to random complete trees on simavr (trees x depth: 16x2 1388, 16x4 2132,
    # 64x4 8084, 32x7 6336, 64x3 6608 cycles measured; all within 1 % of this model).
    "trees": {"call": 148, "per_tree": 31, "per_level": 23},
    # tb_dense_score: call overhead, per hidden neuron, per multiply-accumulate
    # (linear 187 inputs: 4690, MLP 2 hidden: 9749, MLP 8 hidden: 37869 cycles measured).
    "dense": {"call": 202, "per_neuron": 285, "per_mac": 24},
}
# stack of the deepest kernel call chain, bytes
KERNEL_STACK_BYTES = 32
# RAM of a model on AVR: sizeof(tb_model_t) (kernel 2 + params 2 + threshold 4 + n_inputs 2 + family 1 = 11)
# plus its family's parameter struct (the largest: tb_dense_t 2+2+2+1+1+2+4 = 14; tb_trees_t 10)
DESCRIPTOR_RAM_BYTES = 25
# The engine reads model arrays with near flash reads (lpm: first 64 KB) and avr-gcc
# allows no array over 32,767 bytes; capping the model at 32 KB keeps both true
# with room for the firmware's and the tests' own flash data.
MAX_MODEL_FLASH = 32 * 1024
