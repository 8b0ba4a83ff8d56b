"""results.json and results.md from one `Report` (every number comes from the run that wrote it)."""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field

from tinybeat.targets.boards import Board

from tinybeat_bench.rows import Row


@dataclass
class RunInfo:
    """How, where and on what the bench ran."""
    command: str
    date: str
    elapsed_s: float
    host: dict
    board: Board
    emlearn_version: str
    avr_gcc: str
    avr_gcc_flags: list[str]
    data: dict                 # files, beat counts
    trained: dict              # fingerprint, chosen, changed_during_run
    seed: int
    n_inputs: int
    energy: dict               # supply_v, icc_ma, nj_per_cycle, source
    empty_app: dict            # flash, static_ram of the size probe with no model
    ram_reserve: int
    quick: bool = False


@dataclass
class Report:
    info: RunInfo
    ours: Row                          # our chosen model
    main: list[Row]                    # ours first, then our front points, then the peers
    same: list[Row]                    # the identical forest through every engine
    gbt: list[Row]                     # one boosted model through our kernels (+ scikit-learn on the host)
    scaling: list[Row]
    verdict: dict
    mlp_boundary: dict
    tree_limits: dict
    same_trees: tuple[int, int]        # (depth, trees)
    same_as_chosen: bool | None
    gbt_entry: str | None
    gbt_same_as_entry: bool | None
    emlearn_gbt: str                   # what emlearn.convert says to a boosted model
    plots: dict[str, str] = field(default_factory=dict)   # name -> PNG file (relative to results.md)
    node_costs: list[dict] = field(default_factory=list)  # plots.per_node_costs of the tree rows

    def to_json(self) -> dict:
        def rows(rs: list[Row]) -> list[dict]:
            return [dataclasses.asdict(r) for r in rs]

        info = dataclasses.asdict(self.info)
        return {**info, "verdict": self.verdict, "mlp_ram_boundary": self.mlp_boundary,
                "tree_flash_limits": self.tree_limits, "same_trees": {"depth": self.same_trees[0],
                "trees": self.same_trees[1], "is_chosen_model": self.same_as_chosen, "rows": rows(self.same)},
                "gbt": {"entry": self.gbt_entry, "refit_is_entry": self.gbt_same_as_entry,
                        "emlearn": self.emlearn_gbt, "rows": rows(self.gbt)},
                "plots": self.plots,
                "cycles_per_node_visited": self.node_costs,
                "models": rows(self.main), "scaling": rows(self.scaling)}


def json_text(report: Report) -> str:
    """results.json: every number of the report (NaN as null)."""
    def default(o):
        return o.item() if hasattr(o, "item") else str(o)

    text = json.dumps(report.to_json(), indent=1, default=default, allow_nan=True)
    return text.replace("NaN", "null") + "\n"


# --------------------------------------------------------------------------- formatting


def fmt_int(v: float | None) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{int(round(v)):,}".replace(",", " ")


def fmt_ratio(v: float | None) -> str:
    if v is None or not math.isfinite(v):
        return "-"
    return f"{v:.2f}x" if v < 10 else f"{v:.0f}x"


def fmt_nodes(v: float | None) -> str:
    return "-" if v is None else (f"{v:.0f}" if v == int(v) else f"{v:.1f}")


def fits_cell(r: Row) -> str:
    if r.fits_board:
        return "yes"
    return f"**no** ({r.not_fitting or ('RAM' if r.fits_ram is False else 'flash')})"


def table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def main_table(rows: list[Row], board: Board) -> list[str]:
    head = ["model", "engine", "features", "test AUC", "test accuracy", "balanced accuracy", "model bytes",
            "flash total (over empty app) B", "static RAM B", "stack B", f"fits {board.id}", "median cycles",
            "of which predict()", "energy µJ", "device = Python", "AUC vs ours", "cycles vs ours", "flash vs ours",
            "RAM vs ours"]
    out = []
    for r in rows:
        v = r.vs_ours
        b = "**" if r.role == "chosen" else ""
        flash = "-" if r.flash_total is None else f"{fmt_int(r.flash_total)} ({fmt_int(r.flash_over_empty)})"
        dev = "-" if r.cycles_median is None else ("yes" if r.device_agrees else "**NO**")
        out.append([f"{b}{r.name}{b}", r.engine, r.features, f"{r.auc:.4f}", f"{100 * r.accuracy:.1f} %",
                    f"{100 * r.balanced_accuracy:.1f} %", fmt_int(r.model_bytes), flash, fmt_int(r.static_ram),
                    fmt_int(r.stack), fits_cell(r), fmt_int(r.cycles_median), fmt_int(r.predict_cycles),
                    "-" if r.energy_uj is None else f"{r.energy_uj:.1f}", dev, f"{v.get('auc_diff', 0):+.4f}",
                    fmt_ratio(v.get("cycles")), fmt_ratio(v.get("flash_over_empty")), fmt_ratio(v.get("ram_total"))])
    return table(head, out)


def kernel_table(rows: list[Row]) -> list[str]:
    """The identical-model tables: one row per engine / kernel."""
    head = ["engine", "kernel / code", "features", "test AUC", "test accuracy", "nodes visited (mean)",
            "median cycles", "of which predict()", "flash total B", "model bytes", "static RAM B", "stack B",
            "device = Python"]
    out = []
    for r in rows:
        kernel = r.kernel or ("inline if/else" if r.engine.startswith("emlearn") else "-")
        dev = "-" if r.cycles_median is None else ("yes" if r.device_agrees else "**NO**")
        out.append([r.name, f"`{kernel}`" if r.kernel else kernel, r.features, f"{r.auc:.4f}",
                    f"{100 * r.accuracy:.1f} %", fmt_nodes(r.nodes_visited_mean), fmt_int(r.cycles_median),
                    fmt_int(r.predict_cycles), fmt_int(r.flash_total), fmt_int(r.model_bytes), fmt_int(r.static_ram),
                    fmt_int(r.stack), dev])
    return table(head, out)


def scaling_table(rows: list[Row]) -> list[str]:
    head = ["engine", "trees", "depth", "nodes (emlearn)", "nodes visited (mean)", "median cycles", "flash total B",
            "model bytes", "test AUC", "fits"]
    return table(head, [[r.series, str(r.n_trees), str(r.depth), fmt_int(r.n_nodes), fmt_nodes(r.nodes_visited_mean),
                         fmt_int(r.cycles_median), fmt_int(r.flash_total), fmt_int(r.model_bytes), f"{r.auc:.4f}",
                         fits_cell(r)] for r in rows])
