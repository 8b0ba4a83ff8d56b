"""The training step: load and check data, search, refit the Pareto front, report, save."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from tinybeat import __version__
from tinybeat.core.search import cross_validate, default_grid, pareto_front, refit
from tinybeat.pipeline.checks import check_feasible, check_n_inputs
from tinybeat.pipeline.config import Config
from tinybeat.datasets.table import Table
from tinybeat.pipeline.tables import load_tables, split_kind
from tinybeat.core.metrics import summary
from tinybeat.pipeline.artifacts import FrontEntry, Paths, Trained, golden_inputs, save_trained
from tinybeat.core.quantize import quantize_inputs
from tinybeat.targets import Target, load_target, target_of
from tinybeat.targets.cost import model_cost










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


def rhythm_ablation(paths: Paths, cfg: Config, trained: Trained, train_t: Table, Xtr: np.ndarray,
                    Xte: np.ndarray, yte: np.ndarray, target: Target) -> dict | None:
    """The default board's model refitted on the beat shape alone (None without rhythm features)."""
    from tinybeat.pipeline.ablation import morphology_columns, morphology_only
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.selection import model_budget, select_for_budget
    from tinybeat.pipeline.report import DEFAULT_BOARD

    if morphology_columns(train_t.feature_names) is None:
        return None
    board = load_board(paths.project, DEFAULT_BOARD)
    entry = select_for_budget(trained, model_budget(board, cfg.budget), cfg.search.tie_tolerance, board) or \
        max(trained.front, key=lambda e: e.cv_metric)
    return morphology_only(entry, train_t.feature_names, Xtr, train_t.y, train_t.groups, Xte, yte,
                           metric=cfg.search.metric, n_folds=cfg.search.cv_folds, seed=cfg.search.seed,
                           operating_point=cfg.search.operating_point,
                           cost=lambda m, n: model_cost(m, n, target)) | {"with_rhythm": entry.name}


def train(paths: Paths, cfg: Config, fp: str, log: Callable[[str], None] = print, *,
          board=None, before_save: Callable[[Trained], object] | None = None) -> Trained:
    """Run the whole search and save model/trained.json (atomically) and the report.

    board: when given, the input count and the search grid are checked against
    it before any fitting. before_save(trained) runs before any artifact is
    written; an exception there leaves model/ untouched.
    """
    from tinybeat.util.threads import training_threads

    with training_threads():
        return _train(paths, cfg, fp, log, board, before_save)


def _train(paths: Paths, cfg: Config, fp: str, log: Callable[[str], None], board,
           before_save: Callable[[Trained], object] | None) -> Trained:
    from tqdm import tqdm

    from tinybeat.pipeline.selection import model_budget
    from tinybeat.pipeline.artifacts import budget_dict

    from tinybeat.pipeline.report import DEFAULT_BOARD

    train_t, test_t = load_tables(paths, cfg)
    check_n_inputs(paths.project, train_t.X.shape[1], train_t.files)
    grid = default_grid(cfg.search.families, cfg.search.max_trees)
    target = target_of(board) if board is not None else load_target(paths.project, DEFAULT_BOARD)
    if board is not None:
        check_feasible(grid, train_t.X.shape[1], model_budget(board, cfg.budget), target)
    Xtr = quantize_inputs(train_t.X, cfg.data.input_range)
    Xte = quantize_inputs(test_t.X, cfg.data.input_range)
    ytr, yte = train_t.y, test_t.y
    log(f"tinybeat: {len(ytr)} training rows ({int(ytr.sum())} abnormal), {len(yte)} test rows, "
        f"{Xtr.shape[1]} inputs")
    n_steps = len(grid) * cfg.search.cv_folds
    with tqdm(total=n_steps, desc="cross-validating", unit="fit", disable=None) as bar:
        def progress(msg: str) -> None:
            bar.set_postfix_str(msg, refresh=False)
            bar.update(1)

        cands = cross_validate(grid, Xtr, ytr, train_t.groups, metric=cfg.search.metric,
                               n_folds=cfg.search.cv_folds, seed=cfg.search.seed,
                               operating_point=cfg.search.operating_point,
                               cost=lambda m, n: model_cost(m, n, target), progress=progress)
    front = pareto_front(cands)
    entries = []
    for cand in tqdm(front, desc="refitting the Pareto front", unit="model", disable=None):
        model = refit(cand, Xtr, ytr, cfg.search.seed)
        # score > threshold: class 1; clipped to int32 (beyond every reachable score anyway)
        threshold = int(np.clip(np.floor(cand.threshold * model.score_scale), -2**31 + 1, 2**31 - 1))
        scores = model.predict_scores(Xte)
        entries.append(FrontEntry(**cand.to_dict(), model=model, decision_threshold=threshold,
                                  test=summary(yte, scores, threshold)))
    ref, ref_scores = float_reference(train_t.X, ytr, test_t.X, yte, cfg.search.seed)
    trained = Trained(
        fingerprint=fp,
        version=__version__,
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
    )
    trained = replace(trained, morphology_only=rhythm_ablation(paths, cfg, trained, train_t, Xtr, Xte, yte, target))
    if before_save is not None:
        before_save(trained)  # e.g. nothing fits the board: raise before any artifact changes
    from tinybeat.pipeline.report import write_report

    write_report(paths, cfg, trained, Xte, yte, ref_scores)
    save_trained(paths, trained)
    return trained
