"""Our chosen model against emlearn's peers: ratios per row and the verdict questions."""

from __future__ import annotations

from tinybeat_bench.rows import Row


def add_ratios(rows: list[Row], ours: Row) -> None:
    """Fill each row's vs_ours: AUC and accuracy differences, cost ratios (None when either side is missing)."""
    def ratio(a: float | None, b: float | None) -> float | None:
        return None if a is None or not b else a / b

    for r in rows:
        r.vs_ours = {"auc_diff": r.auc - ours.auc, "accuracy_diff": r.accuracy - ours.accuracy,
                     "cycles": ratio(r.cycles_median, ours.cycles_median), "energy": ratio(r.energy_uj, ours.energy_uj),
                     "flash_over_empty": ratio(r.flash_over_empty, ours.flash_over_empty),
                     "flash_total": ratio(r.flash_total, ours.flash_total), "ram_total": ratio(r.ram_total, ours.ram_total)}


def compare(ours: Row, peer: Row | None) -> dict | None:
    if peer is None:
        return None
    return {"peer": peer.name, "peer_auc": peer.auc, "peer_accuracy": peer.accuracy, "peer_cycles": peer.cycles_median,
            "ours_auc": ours.auc, "ours_accuracy": ours.accuracy, "ours_cycles": ours.cycles_median,
            "auc_at_least_as_good": ours.auc >= peer.auc, "accuracy_at_least_as_good": ours.accuracy >= peer.accuracy,
            "faster": ours.cycles_median < peer.cycles_median, "peer_fits_project_budget": peer.fits_project_budget,
            "cycles_ratio_peer_over_ours": peer.cycles_median / ours.cycles_median}


def verdict(ours: Row, peers: list[Row]) -> dict:
    """The best peers that fit the board (by AUC, by accuracy, within our footprint, fastest) against ours."""
    fit = [p for p in peers if p.fits_board and p.cycles_median is not None]
    same = [p for p in fit if p.flash_total <= ours.flash_total and p.ram_total <= ours.ram_total]
    return {
        "n_peers": len(peers), "n_peers_fitting_board": len(fit), "n_peers_within_our_footprint": len(same),
        "best_auc_fitting_board": compare(ours, max(fit, key=lambda p: (p.auc, p.accuracy), default=None)),
        "best_accuracy_fitting_board": compare(ours, max(fit, key=lambda p: (p.accuracy, p.auc), default=None)),
        "best_auc_within_our_footprint": compare(ours, max(same, key=lambda p: (p.auc, p.accuracy), default=None)),
        "fastest_fitting_board": compare(ours, min(fit, key=lambda p: p.cycles_median, default=None)),
    }
