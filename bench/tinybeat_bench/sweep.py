"""What the bench measures: the scikit-learn fits, the jobs per section, and the fit boundaries.

Sections (each a list of Rows):
- main: our chosen model and other Pareto-front points against emlearn's peers;
- same: one random forest through every tree kernel of ours and through emlearn;
- gbt: one HistGradientBoosting model through our kernels (emlearn has no boosted trees);
- scaling: the same forests at several sizes through every engine.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from tinybeat.core import families
from tinybeat.core.families import early_exit
from tinybeat.core.families.trees import first_estimators

from tinybeat_bench import data as bd
from tinybeat_bench.emlearn_adapter import Emlearn
from tinybeat_bench.ours import Ours
from tinybeat_bench.rows import Row, quality

DEPTHS = (2, 3, 4, 5, 6, 7)
TREES_SWEEP = (4, 8, 16, 32, 64, 128)
SCALE_DEPTH, SCALE_TREES = 7, 16
BOUNDARY_TREES = 320      # depth-7 forest size for finding where emlearn's inline trees overflow the flash
DEFAULT_SAME = (7, 32)    # (depth, trees) of the identical-forest section when our chosen model is no forest


@dataclass
class Plan:
    """The choices of one run (from trained.json and the options)."""
    seed: int
    chosen: dict                   # the front entry chosen for the board
    front: list[dict]              # other front entries measured
    same: tuple[int, int]          # (depth, trees) of the identical forest
    gbt_entry: dict | None         # the front entry whose trees the gbt section refits
    quick: bool = False            # fewer models: for iterating on the bench itself

    @property
    def depths(self) -> tuple[int, ...]:
        return (5, 7) if self.quick else DEPTHS

    @property
    def trees_sweep(self) -> tuple[int, ...]:
        return (4, 16, 64) if self.quick else TREES_SWEEP


@dataclass
class Fits:
    """scikit-learn models shared by both engines; forests[d] = (fitted on x/255, fitted on the bytes)."""
    forests: dict[int, tuple] = field(default_factory=dict)
    extra_trees: tuple | None = None
    mlps: dict[int, object] = field(default_factory=dict)
    hgb: object | None = None
    same_as_chosen: bool | None = None       # the identical forest IS our chosen model
    hgb_same_as_entry: bool | None = None    # the refitted HGB gives exactly the gbt entry's integer model


def fit_all(plan: Plan, d: bd.Data, hidden_sizes: list[int], log: Callable[[str], None]) -> Fits:
    """Fit every scikit-learn model once, at its largest size (smaller ones are its first trees)."""
    f = Fits()
    cd, cn = plan.same
    X01, Xb = d.as_float("train", unit=True), d.as_float("train", unit=False)
    for depth in sorted(set(plan.depths) | {cd, 5}):
        n = max([SCALE_TREES, cn if depth == cd else 0, 12 if depth == 5 else 0,
                 (BOUNDARY_TREES if not plan.quick else max(plan.trees_sweep)) if depth == SCALE_DEPTH else 0])
        f.forests[depth] = (bd.random_forest(depth, n, plan.seed, X01, d.ytr), bd.random_forest(depth, n, plan.seed, Xb, d.ytr))
        log(f"  RandomForest depth {depth} x {n} trees (on x/255 and on the bytes): same trees "
            f"{bd.same_structure(*f.forests[depth])}")
    f.extra_trees = (bd.extra_trees(cd, cn, plan.seed, X01, d.ytr), bd.extra_trees(cd, cn, plan.seed, Xb, d.ytr))
    f.mlps = {h: bd.mlp(h, plan.seed, X01, d.ytr) for h in hidden_sizes}
    if plan.chosen["family"] == "rf":
        again = families.trees.from_random_forest(first_estimators(f.forests[cd][1], cn), cd)
        f.same_as_chosen = bd.same_int_model(again, families.from_dict(plan.chosen["model"]))
        log(f"  the d{cd}x{cn} forest is exactly our chosen model: {f.same_as_chosen}")
    if plan.gbt_entry is not None:
        p, m = plan.gbt_entry["params"], plan.gbt_entry["model"]
        n = n_trees_of(m)
        f.hgb = bd.hist_gbt(int(p["depth"]), float(p["learning_rate"]), n, plan.seed, d.Xtr, d.ytr)
        if m.get("family") == "early_exit":  # the entry is an early-exit encoding of these trees
            again = early_exit.from_hist_gbt(f.hgb, n, int(m["leaf_bits"]), m["layout"])
            f.hgb_same_as_entry = early_exit.to_dict(again) == m
        else:
            f.hgb_same_as_entry = bd.same_int_model(families.trees.from_hist_gbt(f.hgb, int(p["depth"])),
                                                    families.from_dict(m))
        log(f"  HistGradientBoosting {plan.gbt_entry['name']} refitted: same integer model "
            f"{f.hgb_same_as_entry}")
    return f


def n_trees_of(model: dict) -> int:
    """Trees of a saved tree model (complete tb_trees arrays or an early-exit encoding)."""
    return int(model["n_trees"]) if "n_trees" in model else len(model["features"])


Job = tuple[str, Callable[[], Row]]   # (section, measurement)


def main_jobs(plan: Plan, fits: Fits, ours: Ours, em: Emlearn, d: bd.Data, idx: np.ndarray) -> list[Job]:
    cd, cn = plan.same
    jobs: list[Job] = []
    for role, e in [("chosen", plan.chosen)] + [("front", e) for e in plan.front]:
        thr = int(e.get("decision_threshold", 0))
        jobs.append(("main", lambda e=e, role=role, thr=thr: ours.complete(
            e["name"], families.from_dict(e["model"]), role, idx, thr,
            {"cv_metric": e["cv_metric"], "stored_test": e.get("test")})))
    X01, Xb = d.as_float("test", unit=True), d.as_float("test", unit=False)
    sizes = sorted({(5, 12), (7, 16), (cd, cn)} if plan.quick else {(5, 12), (7, 16), (7, 32), (cd, cn)})
    for depth, n in sizes:
        f01, fb = (first_estimators(c, n) for c in fits.forests[depth])
        jobs.append(("main", lambda f=f01, depth=depth, n=n: em.trees(f"emlearn RF d{depth}x{n} float", f, "float", 0,
                                                                    "peer", idx, X01)))
        jobs.append(("main", lambda f=fb, depth=depth, n=n: em.trees(f"emlearn RF d{depth}x{n} int16", f, "int16", 0,
                                                                   "peer", idx, Xb)))
    c01, cb = (first_estimators(c, cn) for c in fits.forests[cd])
    jobs.append(("main", lambda: em.trees(f"emlearn RF d{cd}x{cn} float soft", c01, "float", 8, "peer", idx, X01)))
    jobs.append(("main", lambda: em.trees(f"emlearn RF d{cd}x{cn} int16 soft", cb, "int16", 8, "peer", idx, Xb)))
    e01, eb = fits.extra_trees
    jobs.append(("main", lambda: em.trees(f"emlearn ExtraTrees d{cd}x{cn} float", e01, "float", 0, "peer", idx, X01)))
    jobs.append(("main", lambda: em.trees(f"emlearn ExtraTrees d{cd}x{cn} int16", eb, "int16", 0, "peer", idx, Xb)))
    for h, clf in fits.mlps.items():
        jobs.append(("main", lambda h=h, clf=clf: em.mlp(f"emlearn MLP-{h} float", clf, "peer", idx)))
    return jobs


def early_exit_jobs(section: str, name: str, ours: Ours, convert: Callable, idx: np.ndarray,
                    series: str = "") -> list[Job]:
    """Our early-exit kernel on one model: its sparse (early exit) and complete layouts with int16 leaves, and
    outside the scaling sweep the complete layout with int8 leaves too.

    convert(layout, leaf_bits) -> the early-exit model.
    """
    variants = [("sparse", 16, "early exit"), ("complete", 16, "etree complete")]
    if section != "scaling":
        variants.append(("complete", 8, "etree complete int8"))
    out: list[Job] = []
    for layout, bits, label in variants:
        def job(layout=layout, bits=bits, label=label) -> Row:
            r = ours.early_exit(f"{name} {label}", convert(layout, bits), section, idx)
            r.series = f"{series} {label}" if series else ""
            return r
        out.append((section, job))
    return out


def same_jobs(plan: Plan, fits: Fits, ours: Ours, idx: np.ndarray) -> list[Job]:
    """The identical forest through each of our tree kernels (emlearn's rows come from the main section)."""
    cd, cn = plan.same
    fb = first_estimators(fits.forests[cd][1], cn)
    model = families.trees.from_random_forest(fb, cd)
    jobs: list[Job] = [("same", lambda: ours.complete(f"tinybeat rf d{cd}x{cn} complete", model, "same-trees", idx))]
    return jobs + early_exit_jobs("same", f"tinybeat rf d{cd}x{cn}", ours,
                                  lambda layout, bits: early_exit.from_random_forest(fb, leaf_bits=bits, layout=layout), idx)


def gbt_jobs(plan: Plan, fits: Fits, ours: Ours, d: bd.Data, idx: np.ndarray) -> list[Job]:
    """One HistGradientBoosting model: scikit-learn's float reference on the host, then our kernels."""
    if fits.hgb is None:
        return []
    e, hgb = plan.gbt_entry, fits.hgb
    depth = int(e["params"]["depth"])

    def host() -> Row:
        p1 = hgb.predict_proba(d.Xte.astype(np.float64))[:, 1]
        return Row(name=f"scikit-learn {e['name']} (float, host)", engine="scikit-learn", role="gbt",
                   kind=f"HistGradientBoostingClassifier {n_trees_of(e['model'])}x{depth}", features="float",
                   n_trees=n_trees_of(e["model"]), depth=depth, **quality(d.yte, (p1 > 0.5).astype(int), p1))

    model = families.trees.from_hist_gbt(hgb, depth)
    jobs: list[Job] = [("gbt", host), ("gbt", lambda: ours.complete(f"tinybeat {e['name']} complete", model, "gbt", idx))]
    return jobs + early_exit_jobs("gbt", f"tinybeat {e['name']}", ours,
                                  lambda layout, bits: early_exit.from_hist_gbt(hgb, leaf_bits=bits, layout=layout), idx)


def scaling_jobs(plan: Plan, fits: Fits, ours: Ours, em: Emlearn, d: bd.Data,
                 idx: np.ndarray) -> list[Job]:
    """The same forests at every sweep point through every engine."""
    X01, Xb = d.as_float("test", unit=True), d.as_float("test", unit=False)
    points = sorted({(SCALE_DEPTH, n) for n in plan.trees_sweep} | {(dd, SCALE_TREES) for dd in plan.depths})
    jobs: list[Job] = []

    def tag(row: Row, series: str) -> Row:
        row.series = series
        return row

    for depth, n in points:
        f01, fb = (first_estimators(c, n) for c in fits.forests[depth])
        tb = families.trees.from_random_forest(fb, depth)
        jobs.append(("scaling", lambda tb=tb, depth=depth, n=n: tag(
            ours.complete(f"tinybeat rf d{depth}x{n}", tb, "scaling", idx), "tinybeat")))
        jobs.append(("scaling", lambda f=f01, depth=depth, n=n: tag(
            em.trees(f"emlearn RF d{depth}x{n} float", f, "float", 0, "scaling", idx, X01), "emlearn float")))
        jobs.append(("scaling", lambda f=fb, depth=depth, n=n: tag(
            em.trees(f"emlearn RF d{depth}x{n} int16", f, "int16", 0, "scaling", idx, Xb), "emlearn int16")))
        jobs += early_exit_jobs("scaling", f"tinybeat rf d{depth}x{n}", ours,
                                lambda layout, bits, fb=fb: early_exit.from_random_forest(fb, leaf_bits=bits, layout=layout), idx,
                                "tinybeat")
    return jobs


def run_jobs(jobs: list[Job], workers: int) -> dict[str, list[Row]]:
    """Run the measurements on `workers` threads (each builds and simulates on its own); rows by section."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [(section, pool.submit(fn)) for section, fn in jobs]
        out: dict[str, list[Row]] = {}
        for section, fut in futures:
            out.setdefault(section, []).append(fut.result())
    return out


def fit_limits(fits: Fits, ours: Ours, em: Emlearn, scaling: list[Row], workers: int,
               log: Callable[[str], None]) -> dict:
    """Where depth-SCALE_DEPTH forests stop fitting: emlearn by linking, our complete kernel by running."""
    log(f"finding where depth-{SCALE_DEPTH} forests stop fitting ...")
    at = {s: [r for r in scaling if r.series == s and r.depth == SCALE_DEPTH]
          for s in ("tinybeat", "emlearn float", "emlearn int16")}
    ok = [r.n_trees for r in at["tinybeat"] if r.fits_board]
    bad = [r.n_trees for r in at["tinybeat"] if not r.fits_board]
    f01, fb = fits.forests[SCALE_DEPTH]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {"emlearn float": pool.submit(em.tree_boundary, f01, "float", at["emlearn float"]),
                   "emlearn int16": pool.submit(em.tree_boundary, fb, "int16", at["emlearn int16"]),
                   "tinybeat": pool.submit(ours.tree_boundary, fb, max(ok), min(bad, default=BOUNDARY_TREES))}
        limits = {k: f.result() for k, f in futures.items()}
    for k, lim in limits.items():
        log(f"  {k}: {lim}")
    return limits
