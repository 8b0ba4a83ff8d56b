"""PNG plots of the bench: cost against model size, and cycles against nodes visited."""

from __future__ import annotations

import io

from tinybeat.targets.boards import Board

from tinybeat_bench.rows import Row

STYLE = {"tinybeat": ("C0", "o"), "tinybeat early exit": ("C1", "D"), "tinybeat etree complete": ("C4", "v"),
         "emlearn float": ("C3", "s"),
         "emlearn int16": ("C2", "^")}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scaling(rows: list[Row], board: Board, depth_fixed: int, trees_fixed: int) -> bytes:
    """PNG, 2 x 2: median cycles and program flash against trees (depth fixed) and depth (trees fixed)."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 8.6))
    series = [s for s in STYLE if any(r.series == s for r in rows)]
    for col, (xkey, fixed_key, fixed_val, xlabel) in enumerate(
            [("n_trees", "depth", depth_fixed, f"number of trees (depth {depth_fixed})"),
             ("depth", "n_trees", trees_fixed, f"tree depth ({trees_fixed} trees)")]):
        for row, (ykey, ylabel) in enumerate([("cycles_median", "median cycles per inference"),
                                              ("flash_total", "program flash (bytes)")]):
            ax = axes[row, col]
            for s in series:
                pts = sorted((r for r in rows if r.series == s and getattr(r, fixed_key) == fixed_val),
                             key=lambda r: getattr(r, xkey))
                ok = [r for r in pts if getattr(r, ykey) is not None and r.fits_board]
                c, m = STYLE[s]
                ax.plot([getattr(r, xkey) for r in ok], [getattr(r, ykey) for r in ok], marker=m, color=c, label=s)
                if ykey == "cycles_median" and s.startswith("emlearn"):
                    ax.plot([getattr(r, xkey) for r in ok], [r.cycles_predict_median for r in ok], marker=m, color=c,
                            ls="--", mfc="none", alpha=0.7, label=f"{s}: predict() only, without input conversion")
                for r in pts:
                    if not r.fits_board:
                        ax.axvline(getattr(r, xkey), color=c, ls=":", lw=1)
                        ax.text(getattr(r, xkey), 0.5, f"{s}: does not build", transform=ax.get_xaxis_transform(),
                                fontsize=7, color=c, rotation=90, va="center", ha="right")
            if ykey == "flash_total":
                ax.axhline(board.flash_bytes, color="k", ls="--", lw=1)
                ax.text(0.01, board.flash_bytes, f"{board.mcu} flash limit", transform=ax.get_yaxis_transform(),
                        va="bottom", fontsize=8)
            if xkey == "n_trees":
                ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    fig.suptitle(f"Cost against model size on the simulated {board.mcu} at {board.f_cpu / 1e6:g} MHz "
                 "(same random-forest trees, avr-gcc -Os)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _png(plt, fig)


def _png(plt, fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def kernel_label(r: Row) -> str:
    if r.engine.startswith("emlearn"):
        return f"emlearn {r.features} (inline code{', soft vote' if r.leaf_bits else ''})"
    if r.kernel == "tb_etree_score":
        return (f"tinybeat tb_etree_score {'early exit' if 'early exit' in r.name else 'complete layout'}, "
                f"int{r.leaf_bits} leaves")
    return f"tinybeat {r.kernel} (complete trees)"


def plot_nodes(rows: list[Row], board: Board) -> bytes:
    """PNG: median cycles (predict() alone for emlearn) against mean internal nodes visited, one colour per kernel."""
    plt = _pyplot()
    pts = [r for r in rows if r.nodes_visited_mean and r.cycles_median is not None and r.n_trees]
    fig, ax = plt.subplots(figsize=(8.5, 6))
    labels = sorted({kernel_label(r) for r in pts})
    markers = "oDs^vP*X"
    for k, label in enumerate(labels):
        sel = sorted((r for r in pts if kernel_label(r) == label), key=lambda r: r.nodes_visited_mean)
        ax.scatter([r.nodes_visited_mean for r in sel], [r.predict_cycles for r in sel], marker=markers[k % 8],
                   color=f"C{k}", label=label, alpha=0.85)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("internal nodes visited per inference (mean over the measured beats)")
    ax.set_ylabel("median cycles of the model call (emlearn: predict() without input conversion)")
    ax.set_title(f"Tree kernels on the simulated {board.mcu} at {board.f_cpu / 1e6:g} MHz: cycles against nodes visited",
                 fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(plt, fig)


def per_node_costs(rows: list[Row]) -> list[dict]:
    """Per kernel, the least-squares line cycles = intercept + slope x nodes visited over its measured points.

    Only kernels with at least 3 points at 2 or more distinct node counts; cycles of the model call alone.
    """
    import numpy as np

    out = []
    pts = [r for r in rows if r.nodes_visited_mean and r.cycles_median is not None and r.n_trees]
    for label in sorted({kernel_label(r) for r in pts}):
        sel = {(r.nodes_visited_mean, r.predict_cycles) for r in pts if kernel_label(r) == label}
        x, y = np.array(sorted(sel)).T if sel else (np.array([]), np.array([]))
        if len(x) < 3 or len(set(x)) < 2:
            continue
        slope, intercept = np.polyfit(x, y, 1)
        resid = y - (intercept + slope * x)
        out.append({"kernel": label, "points": int(len(x)), "cycles_per_node": float(slope),
                    "intercept": float(intercept), "max_abs_residual_pct": float(np.max(np.abs(resid) / y) * 100)})
    return out
