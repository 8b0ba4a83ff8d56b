"""One measured model (`Row`), the board-fit rule and the energy model.

A Row is flat on purpose: report.py renders its fields and results.json stores
`dataclasses.asdict(row)`. Fields a measurement could not produce stay None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinybeat.core import metrics
from tinybeat.targets.boards import Board


@dataclass
class Row:
    name: str
    engine: str                      # "tinybeat" or "emlearn <version>"
    role: str                        # chosen / front / peer / same-trees / gbt / scaling
    kind: str                        # structure, e.g. "rf 32x7, int16 leaves, uint8 thresholds"
    features: str                    # what the model reads: uint8 / int16 / float
    kernel: str = ""                 # tinybeat: the C kernel (tb_trees_score, tb_etree_score ...)
    series: str = ""                 # the scaling sweep's series
    # quality on the full test split
    auc: float = float("nan")
    accuracy: float = float("nan")
    sensitivity: float | None = None
    specificity: float | None = None
    balanced_accuracy: float | None = None
    decision_threshold: int | None = None
    sklearn_agreement: float | None = None   # emlearn: same class as the scikit-learn model it came from
    # structure
    n_trees: int | None = None
    depth: int | None = None
    leaf_bits: int | None = None
    n_nodes: int | None = None               # emlearn: nodes of the generated forest
    hidden: int | None = None                # MLP hidden units
    nodes_visited_mean: float | None = None  # internal nodes visited per inference, mean over the measured beats
    # the cycle run on the simulated board (per beat: medians and extremes)
    beats_measured: int | None = None
    device_agrees: bool | None = None
    device_check: str = ""
    device_mismatches: int | None = None
    cycles_median: float | None = None
    cycles_min: int | None = None
    cycles_max: int | None = None
    cycles_predict_median: float | None = None        # emlearn: <model>_predict() alone
    cycles_convert_median: float | None = None        # emlearn: bytes -> feature type
    cycles_predict_proba_median: float | None = None  # emlearn: <model>_predict_proba()
    cycles_estimate: int | None = None                # tinybeat's cost model
    stack: int | None = None                          # painted-stack high-water mark, bytes
    stack_assumed: int | None = None                  # when there is no run
    energy_uj: float | None = None
    # sizes from the size probe (bytes)
    flash_total: int | None = None
    flash_over_empty: int | None = None
    model_bytes: int | None = None
    model_code_bytes: int | None = None
    model_data_bytes: int | None = None
    model_ram_bytes: int | None = None
    model_array_bytes: int | None = None              # tinybeat: the model arrays alone
    static_ram: int | None = None
    static_ram_over_empty: int | None = None
    # fit on the board
    ram_total: int | None = None
    fits_flash: bool | None = None
    fits_ram: bool | None = None
    fits_board: bool = False
    fits_project_budget: bool = False
    not_fitting: str = ""
    build_error: str = ""
    vs_ours: dict[str, float | None] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def predict_cycles(self) -> float | None:
        """Cycles of the model call alone (tinybeat: the whole call; emlearn: predict() without conversion)."""
        return self.cycles_predict_median if self.cycles_predict_median is not None else self.cycles_median


def quality(y: np.ndarray, classes: np.ndarray, p1: np.ndarray) -> dict[str, float]:
    """AUC of p1 and the class metrics of `classes` (both (n,)) against labels y (n,)."""
    acc = float(np.mean(classes == y))
    sens = float(np.mean(classes[y == 1] == 1))
    spec = float(np.mean(classes[y == 0] == 0))
    return {"auc": metrics.auc(y, p1.astype(np.float64)), "accuracy": acc, "sensitivity": sens,
            "specificity": spec, "balanced_accuracy": (sens + spec) / 2}


@dataclass(frozen=True)
class FitRule:
    """A model fits the board when program flash <= upload.maximum_size and static RAM + stack <= SRAM;
    it fits the project budget when it also leaves the config's flash and RAM reserves free."""
    board: Board
    flash_reserve: int
    ram_reserve: int

    def apply(self, r: Row) -> None:
        if r.flash_total is None or r.static_ram is None:
            r.fits_board = False
            return
        ram = r.static_ram + (r.stack if r.stack is not None else (r.stack_assumed or 0))
        r.ram_total = ram
        r.fits_flash = r.flash_total <= self.board.flash_bytes
        r.fits_ram = ram <= self.board.ram_bytes
        r.fits_board = r.fits_flash and r.fits_ram
        r.fits_project_budget = (r.fits_board and r.flash_total <= self.board.flash_bytes - self.flash_reserve
                                 and ram <= self.board.ram_bytes - self.ram_reserve)


# Active supply current per MCU, typical, from its datasheet's DC characteristics table:
# (I_CC in mA, at MHz, VCC in V, source). Scaled linearly with the board's clock (the datasheet's
# "Active Supply Current vs. Frequency" curves are linear in this range).
SUPPLY_CURRENT = {
    "atmega2560": (10.0, 8.0, 5.0,
                   "ATmega640/1280/1281/2560/2561 datasheet (Atmel doc 2549), Electrical Characteristics, DC "
                   "Characteristics table, Power Supply Current I_CC 'Active 8 MHz, VCC = 5V' = 10 mA typical "
                   "(14 mA max); scaled linearly with the clock"),
}


@dataclass(frozen=True)
class EnergyModel:
    """Energy per inference = VCC x I_CC(f_cpu) x cycles / f_cpu; None for an MCU without a datasheet entry."""
    mcu: str
    f_cpu: int

    @property
    def known(self) -> bool:
        return self.mcu in SUPPLY_CURRENT

    @property
    def supply_v(self) -> float | None:
        return SUPPLY_CURRENT[self.mcu][2] if self.known else None

    @property
    def icc_ma(self) -> float | None:
        if not self.known:
            return None
        ma, mhz, _, _ = SUPPLY_CURRENT[self.mcu]
        return ma * (self.f_cpu / 1e6) / mhz

    @property
    def source(self) -> str:
        return SUPPLY_CURRENT[self.mcu][3] if self.known else f"no supply-current entry for {self.mcu}"

    def uj(self, cycles: float | None) -> float | None:
        """Microjoules of `cycles` at the board's clock."""
        if cycles is None or not self.known:
            return None
        return self.supply_v * self.icc_ma / 1000.0 * cycles / self.f_cpu * 1e6
