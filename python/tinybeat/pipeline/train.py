"""The training step: load and check data, search, refit the Pareto front, report, save.

The work runs as independent tasks on the configured backend (search.backend:
this machine's cores, or a Dask cluster; see tinybeat.core.parallel) in two
batches: the float reference with every (fit, fold) of the cross-validation,
then the Pareto front's refits with the rhythm ablation. A quick search
(`tinybeat train --quick`, TINYBEAT_QUICK=1) cross-validates on QUICK_FOLDS
folds of at most QUICK_ROWS training rows, with at most QUICK_MAX_TREES trees,
and says so in trained.json, the report and the build log.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np

from tinybeat import __version__
from tinybeat.core.parallel import Backend, Task, run_tasks, warm_up
from tinybeat.pipeline.ablation import morphology_columns, morphology_result, morphology_tasks
from tinybeat.core.search import (Candidate, default_grid, fold_tasks, make_folds, pareto_front, refit_tasks,
                                  score_folds)
from tinybeat.pipeline.checks import check_feasible, check_n_inputs
from tinybeat.pipeline.config import Config
from tinybeat.pipeline.tables import load_tables, split_kind
from tinybeat.core.metrics import summary
from tinybeat.pipeline.artifacts import FrontEntry, Paths, Trained, golden_inputs, save_trained
from tinybeat.core.quantize import quantize_inputs
from tinybeat.targets import load_target, target_of
from tinybeat.targets.cost import model_cost

# A quick search: this many grouped folds on at most this many training rows (every group and
# label keeps its share), tree ensembles of at most QUICK_MAX_TREES, no rhythm ablation. For
# iterating on data, never as "the" model silently.
QUICK_FOLDS = 2
QUICK_ROWS = 2000
QUICK_MAX_TREES = 32
DASK_CONNECT_TIMEOUT_S = 10  # how long to wait for the Dask scheduler before failing


@dataclass(frozen=True)
class SearchPlan:
    """How much of the data the search uses: all of it (full) or a quick share."""
    quick: bool
    n_folds: int
    rows: np.ndarray   # indices of the training rows used, sorted (n_used,)
    max_trees: int     # largest tree ensemble tried

    def describe(self, n_train: int) -> dict:
        return {"mode": "quick" if self.quick else "full", "cv_folds": self.n_folds, "max_trees": self.max_trees,
                "train_rows_used": int(len(self.rows)), "train_rows": int(n_train)}


def quick_rows(y: np.ndarray, groups: np.ndarray | None, max_rows: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ~max_rows rows: the same share of every (group, label) stratum
    (at least one row each), so every patient and both classes stay in the quick search."""
    n = len(y)
    if n <= max_rows:
        return np.arange(n)
    codes = np.zeros(n, dtype=np.int64) if groups is None else np.unique(groups, return_inverse=True)[1].ravel()
    keys = codes * 2 + (np.asarray(y) != 0)
    rng = np.random.default_rng(seed)
    picked = []
    for key in np.unique(keys):
        rows = np.flatnonzero(keys == key)
        picked.append(rng.permutation(rows)[:max(1, int(round(len(rows) * max_rows / n)))])
    return np.sort(np.concatenate(picked))


# Below this many training cells (rows x inputs) the default local backend uses one process: the fits
# take milliseconds and starting worker processes (about 1.5 s) would cost more than it saves.
SMALL_SEARCH_CELLS = 100_000


def search_backend(cfg: Config, n_cells: int | None = None) -> Backend:
    """The configured backend, each task limited to TINYBEAT_THREADS OpenMP/BLAS threads (default 1).

    n_cells: training rows x inputs, when known: a small search on the default
    local backend (search.n_jobs null) runs in this process.
    """
    from tinybeat.util.threads import n_threads

    n_jobs = cfg.search.n_jobs
    if cfg.search.backend == "local" and n_jobs is None and n_cells is not None and n_cells < SMALL_SEARCH_CELLS:
        n_jobs = 1
    return Backend(cfg.search.backend, n_jobs=n_jobs, scheduler=cfg.search.scheduler, threads=n_threads())


def _train_bytes(paths: Paths, cfg: Config) -> int:
    """Bytes of the training files on disk (0 when unknown): a hint of the search's size before loading."""
    total = 0
    for rel in cfg.data.train:
        try:
            total += (paths.project / rel).stat().st_size
        except OSError:
            pass
    return total


def check_backend(backend: Backend) -> None:
    """Fail in one line, before any fitting, when the Dask scheduler cannot be reached."""
    if backend.kind != "dask":
        return
    from tinybeat.errors import ConfigError

    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("search.backend is dask but the Python package `distributed` is not "
                          "installed (pip install distributed)") from None
    try:
        Client(backend.scheduler, timeout=f"{DASK_CONNECT_TIMEOUT_S}s", set_as_default=False).close()
    except (OSError, TimeoutError, ValueError) as exc:
        detail = str(exc).splitlines()[0] if str(exc) else "no reply"
        raise ConfigError(f"search.scheduler {backend.scheduler}: cannot reach the Dask scheduler "
                          f"({type(exc).__name__}: {detail})") from None


def float_reference(Xtr: np.ndarray, ytr: np.ndarray, Xte: np.ndarray, yte: np.ndarray,
                    seed: int) -> tuple[dict, np.ndarray]:
    """Unconstrained float scikit-learn HistGradientBoosting on float inputs: the accuracy anchor.

    Returns its test summary (with "roc": [fpr, tpr], rounded to 5 decimals, so the
    report can be redrawn without refitting) and its test probabilities (n_test,).
    """
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_curve

    clf = HistGradientBoostingClassifier(random_state=seed).fit(Xtr, ytr)
    proba = clf.predict_proba(Xte)[:, 1]
    fpr, tpr, _ = roc_curve(yte, proba)
    roc = [[round(float(v), 5) for v in fpr], [round(float(v), 5) for v in tpr]]
    return {"name": "HistGradientBoostingClassifier (float, default parameters)",
            "test": summary(yte, proba, 0.5), "roc": roc}, proba


def detection_summary(paths: Paths, cfg: Config) -> dict | None:
    """QRS detection scores behind the data: of the records (records kind), or from the
    manifest `dataset.json` that `tinybeat dataset` writes beside the CSVs it made."""
    import json

    if cfg.data.kind == "records":
        from tinybeat.recordings.labelled import records_detection

        return records_detection([paths.project / f for f in [*cfg.data.train, *cfg.data.test]],
                                 cfg.data.sample_rate)
    first = paths.project / cfg.data.train[0]
    manifest = first.parent / "dataset.json"
    if not manifest.is_file():
        return None
    data = json.loads(manifest.read_text())
    made = {s["file"] for s in data.get("splits", {}).values()}
    if first.name not in made:
        return None
    return {"records": data["records"], "gross": data["detection"]}


def ablation_entry(paths: Paths, cfg: Config, front: list[Candidate]) -> Candidate:
    """The front candidate the default board gets (the best-scoring one when nothing fits it)."""
    from tinybeat.core.search import select
    from tinybeat.pipeline.report import DEFAULT_BOARD
    from tinybeat.pipeline.selection import model_budget
    from tinybeat.targets.boards import load_board

    budget = model_budget(load_board(paths.project, DEFAULT_BOARD), cfg.budget)
    return select(front, budget, cfg.search.tie_tolerance) or max(front, key=lambda c: c.cv_metric)


def train(paths: Paths, cfg: Config, fp: str, log: Callable[[str], None] = print, *,
          board=None, before_save: Callable[[Trained], object] | None = None, quick: bool = False) -> Trained:
    """Run the whole search and save model/trained.json (atomically) and the report.

    board: when given, the input count and the search grid are checked against
    it before any fitting. before_save(trained) runs before any artifact is
    written; an exception there leaves model/ untouched. quick: a quick search
    (QUICK_FOLDS folds on at most QUICK_ROWS rows, at most QUICK_MAX_TREES
    trees, no rhythm ablation), marked as such in trained.json["search"] and
    the report.
    """
    from tinybeat.util.threads import training_threads

    with training_threads():
        return _train(paths, cfg, fp, log, board, before_save, quick)


def _progress_bar(total: int, desc: str, unit: str):
    """A tqdm bar (off when not a terminal) and a callback advancing it by one finished task."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit=unit, disable=None)

    def advance(task: Task) -> None:
        bar.set_postfix_str(task.label, refresh=False)
        bar.update(1)

    return bar, advance


def _train(paths: Paths, cfg: Config, fp: str, log: Callable[[str], None], board,
           before_save: Callable[[Trained], object] | None, quick: bool) -> Trained:
    from tinybeat.pipeline.selection import model_budget
    from tinybeat.pipeline.artifacts import budget_dict

    from tinybeat.pipeline.report import DEFAULT_BOARD

    backend = search_backend(cfg)
    check_backend(backend)
    # worker processes start while the data loads, unless the training files are small (under
    # 200 KB: at most ~100,000 cells, a search run in this process; see SMALL_SEARCH_CELLS)
    workers_ready = warm_up(backend) if _train_bytes(paths, cfg) > 200_000 else (lambda: None)
    train_t, test_t = load_tables(paths, cfg)
    check_n_inputs(paths.project, train_t.X.shape[1], train_t.files)
    max_trees = min(cfg.search.max_trees, QUICK_MAX_TREES) if quick else cfg.search.max_trees
    grid = default_grid(cfg.search.families, max_trees)
    target = target_of(board) if board is not None else load_target(paths.project, DEFAULT_BOARD)
    if board is not None:
        check_feasible(grid, train_t.X.shape[1], model_budget(board, cfg.budget), target)
    Xtr_all = quantize_inputs(train_t.X, cfg.data.input_range)
    Xte = quantize_inputs(test_t.X, cfg.data.input_range)
    plan = (SearchPlan(True, min(cfg.search.cv_folds, QUICK_FOLDS),
                       quick_rows(train_t.y, train_t.groups, QUICK_ROWS, cfg.search.seed), max_trees) if quick
            else SearchPlan(False, cfg.search.cv_folds, np.arange(len(train_t.y)), max_trees))
    rows = plan.rows
    Xtr, ytr, yte = Xtr_all[rows], train_t.y[rows], test_t.y
    groups = None if train_t.groups is None else train_t.groups[rows]
    log(f"tinybeat: {len(train_t.y)} training rows ({int(train_t.y.sum())} abnormal), {len(yte)} test rows, "
        f"{Xtr.shape[1]} inputs")
    if quick:
        log(f"tinybeat: QUICK search: {plan.n_folds} folds on {len(rows)} of {len(train_t.y)} training rows, at "
            f"most {max_trees} trees, no rhythm ablation; for iterating on data, not the full search (train "
            "without --quick / TINYBEAT_QUICK for that)")
    folds = make_folds(ytr, groups, plan.n_folds, cfg.search.seed)
    backend = search_backend(cfg, n_cells=int(Xtr.size))
    log(f"tinybeat: cross-validating {len(grid)} fits x {len(folds)} folds on {backend.describe()}")
    # batch 1: the float reference (needs nothing else) and every (fit, fold) of the search
    ref_task = Task(float_reference, (train_t.X[rows], ytr, test_t.X, yte, cfg.search.seed), "float reference")
    tasks = [ref_task] + fold_tasks(grid, Xtr, ytr, folds, cfg.search.seed, cfg.search.metric)
    workers_ready()
    bar, advance = _progress_bar(len(tasks), "cross-validating", "fit")
    with bar:
        results = run_tasks(tasks, backend, progress=advance, scatter=(Xtr, ytr))
    ref, ref_scores = results[0]
    cands = score_folds(grid, ytr, folds, results[1:], metric=cfg.search.metric,
                        operating_point=cfg.search.operating_point, n_inputs=Xtr.shape[1],
                        cost=functools.partial(model_cost, target=target))
    front = pareto_front(cands)
    # batch 2: the front refitted on all (used) training rows, and the rhythm ablation of the default pick
    tasks = refit_tasks(front, Xtr, ytr, cfg.search.seed)
    n_refits = len(tasks)
    shape_cols = None if quick else morphology_columns(train_t.feature_names)
    if shape_cols is not None:
        entry = ablation_entry(paths, cfg, front)
        Xtr_shape = np.ascontiguousarray(Xtr[:, shape_cols])
        tasks += morphology_tasks(entry, Xtr_shape, ytr, folds, seed=cfg.search.seed, metric=cfg.search.metric)
    bar, advance = _progress_bar(len(tasks), "refitting the Pareto front", "fit")
    with bar:
        results = run_tasks(tasks, backend, progress=advance, scatter=(Xtr, ytr))
    models = {name: model for got in results[:n_refits] for name, model in got.items()}
    morphology = None
    if shape_cols is not None:
        morphology = morphology_result(
            entry, ytr, folds, results[n_refits:], np.ascontiguousarray(Xte[:, shape_cols]), yte,
            metric=cfg.search.metric, operating_point=cfg.search.operating_point,
            cost=functools.partial(model_cost, target=target)) | {"with_rhythm": entry.name}
    entries = []
    for cand in front:
        model = models[cand.name]
        # score > threshold: class 1; clipped to int32 (beyond every reachable score anyway)
        threshold = int(np.clip(np.floor(cand.threshold * model.score_scale), -2**31 + 1, 2**31 - 1))
        scores = model.predict_scores(Xte)
        entries.append(FrontEntry(**cand.to_dict(), model=model, decision_threshold=threshold,
                                  test=summary(yte, scores, threshold)))
    trained = Trained(
        fingerprint=fp,
        version=__version__,
        search=plan.describe(len(train_t.y)),
        metric=cfg.search.metric,
        operating_point=cfg.search.operating_point,
        n_inputs=int(Xtr.shape[1]),
        input_range=list(cfg.data.input_range),
        data={"train_rows": int(len(ytr)), "test_rows": int(len(yte)),
              "train_abnormal": int(ytr.sum()), "test_abnormal": int(yte.sum()),
              "train_files": list(cfg.data.train), "test_files": list(cfg.data.test),
              "groups": train_t.groups is not None,
              "split": split_kind(cfg, train_t, test_t)},
        budget=budget_dict(cfg),
        candidates=sorted(cands, key=lambda c: c.name),
        front=entries,
        float_reference=ref,
        golden_inputs=golden_inputs(Xte, yte).tolist(),
        feature_names=list(train_t.feature_names),
        detection=detection_summary(paths, cfg),
        morphology_only=morphology,
    )
    if before_save is not None:
        before_save(trained)  # e.g. nothing fits the board: raise before any artifact changes
    from tinybeat.pipeline.report import write_report

    write_report(paths, cfg, trained, Xte, yte, ref_scores)
    save_trained(paths, trained)
    return trained
