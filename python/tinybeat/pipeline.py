"""Train-or-reload: fingerprint the inputs, search models, write model/ and the C headers.

model/trained.json is the saved result of a search: every candidate's CV score
and cost, and the Pareto-front candidates refitted on all training data as
exact integer models. A board's header is selected from it by the board's
budget, so a smaller board gets a smaller model without retraining.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import __version__, codegen, models
from .atomic import write_if_changed, write_text_atomic
from .automl import Budget, select
from .boards import Board, load_board, model_budget
from .config import Config, ConfigError, load_config

PACKAGE_DIR = Path(__file__).resolve().parent
# Modules that do not change what training produces.
NOT_TRAINING = {"cli.py", "pio_hook.py", "report.py", "hosttool.py", "vboard.py", "protocol.py",
                "uploadcheck.py", "checks.py", "predict.py", "stream.py"}
# The raw-signal path: it makes the training rows only for `data.kind: records`; for CSV
# beats (the default) a change here does not change the model.
RECORDS_ONLY = ("frontend", "records.py", "dataset.py", "analog.py")
TRAINED_FILE = "trained.json"
GOLDEN_COUNT = 48


@dataclass(frozen=True)
class Paths:
    project: Path

    @property
    def config(self) -> Path:
        return self.project / "model" / "config.yaml"

    @property
    def model_dir(self) -> Path:
        return self.project / "model"

    @property
    def trained(self) -> Path:
        return self.model_dir / TRAINED_FILE

    @property
    def header(self) -> Path:
        return self.project / "include" / "tinybeat_model.h"

    @property
    def golden(self) -> Path:
        return self.project / "include" / "tinybeat_golden.h"


def pipeline_source_hash(kind: str = "records") -> str:
    """SHA-256 (hex) of the package modules that determine the model for data of this kind."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        if path.name in NOT_TRAINING and path.parent == PACKAGE_DIR:
            continue
        if kind != "records" and path.relative_to(PACKAGE_DIR).parts[0] in RECORDS_ONLY:
            continue
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def data_files(cfg: Config) -> list[str]:
    return list(cfg.data.train) + list(cfg.data.test)


def fingerprint(paths: Paths, cfg: Config) -> str:
    """SHA-256 (hex) of the pipeline sources, the data and search config and every data file's bytes.

    The budget is left out: cross-validation does not depend on it, so a budget
    change only reselects from the saved candidates (see _ensure_model).
    """
    digest = hashlib.sha256(pipeline_source_hash(cfg.data.kind).encode())
    digest.update(json.dumps({"data": cfg.data.__dict__, "search": cfg.search.__dict__},
                             sort_keys=True, default=list).encode())
    for rel in data_files(cfg):
        path = paths.project / rel
        files = [path]
        if cfg.data.kind == "records":
            from .dataset import record_files

            files = record_files(path)
        elif path.is_dir():
            raise ConfigError(f"{paths.config}: data file {rel} is a directory; name a CSV file (.csv or .csv.gz)")
        for file in files:
            if not file.is_file():
                raise ConfigError(f"{paths.config}: data file {os.path.relpath(file, paths.project)} does not exist")
            digest.update(os.path.relpath(file, paths.project).encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()


def load_trained(paths: Paths) -> dict | None:
    """model/trained.json, or None when missing or unreadable."""
    if not paths.trained.is_file():
        return None
    try:
        return json.loads(paths.trained.read_text())
    except (json.JSONDecodeError, OSError):
        return None


def report_in_step(paths: Paths, trained: dict) -> bool:
    """True when model/report.json was written from this trained.json (same fingerprint and budget).

    trained.json is always written last: a step killed half way leaves a
    report newer than the model, which this check catches on the next load.
    """
    try:
        report = json.loads((paths.model_dir / "report.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return (report.get("fingerprint") == trained.get("fingerprint")
            and report.get("budget") == trained.get("budget"))


def budget_dict(cfg: Config) -> dict:
    """The budget section as saved in trained.json and report.json."""
    return dict(sorted(cfg.budget.__dict__.items()))


class _Front:
    """A front entry as an object for automl.select."""

    def __init__(self, entry: dict):
        self.entry = entry
        self.name = entry["name"]
        self.cv_metric = entry["cv_metric"]
        self.flash_bytes = entry["flash_bytes"]
        self.ram_bytes = entry["ram_bytes"]
        self.cycles = entry["cycles"]


def select_for_budget(trained: dict, budget: Budget, tie_tolerance: float) -> dict | None:
    chosen = select([_Front(e) for e in trained["front"]], budget, tie_tolerance)
    return chosen.entry if chosen else None


def select_for_board(trained: dict, board: Board, cfg: Config) -> dict:
    budget = model_budget(board, cfg.budget)
    entry = select_for_budget(trained, budget, cfg.search.tie_tolerance)
    if entry is None:
        smallest = min(trained["front"], key=lambda e: e["flash_bytes"])
        fastest = min(trained["front"], key=lambda e: e["cycles"])
        raise ConfigError(
            f"no model fits board {board.id}: budget flash {budget.flash_bytes} B, RAM {budget.ram_bytes} B, "
            f"{budget.cycles} cycles; the smallest candidate ({smallest['name']}) needs "
            f"{smallest['flash_bytes']} B flash, the fastest ({fastest['name']}) {fastest['cycles']} cycles: "
            "raise budget.max_cycles or lower flash_reserve / ram_reserve"
        )
    return entry


def write_headers(paths: Paths, trained: dict, entry: dict, cycle_budget: int) -> bool:
    """Write the model and golden headers for the chosen front entry; True if any file changed."""
    model = models.from_dict(entry["model"])
    fp = trained["fingerprint"]
    threshold = int(entry["decision_threshold"])
    header = codegen.model_header(
        model, n_inputs=trained["n_inputs"], decision_threshold=threshold,
        fingerprint=hashlib.sha256((fp + entry["name"]).encode()).hexdigest(), cycle_estimate=entry["cycles"], cycle_budget=cycle_budget,
        name=entry["name"], input_range=tuple(trained.get("input_range", (0.0, 1.0))),
    )
    X = np.array(trained["golden_inputs"], dtype=np.uint8)
    scores = models.predict_scores(model, X)
    golden = codegen.golden_header(X, scores, (scores > threshold).astype(np.uint8),
                                   hashlib.sha256((fp + entry["name"]).encode()).hexdigest())
    changed = write_if_changed(paths.header, header)
    return write_if_changed(paths.golden, golden) or changed


def golden_inputs(X_test_u8: np.ndarray, y_test: np.ndarray, count: int = GOLDEN_COUNT) -> np.ndarray:
    """Evenly spaced test beats of both classes plus the all-0 and all-255 extremes."""
    picks = []
    for cls in (0, 1):
        idx = np.flatnonzero(y_test == cls)
        if idx.size:
            picks.extend(idx[np.linspace(0, idx.size - 1, count // 2).astype(int)].tolist())
    n_inputs = X_test_u8.shape[1]
    extremes = np.array([[0] * n_inputs, [255] * n_inputs], dtype=np.uint8)
    return np.vstack([X_test_u8[sorted(set(picks))], extremes])


@contextmanager
def model_lock(paths: Paths):
    """One training at a time per project: a second build waits, then reloads."""
    import fcntl

    paths.model_dir.mkdir(parents=True, exist_ok=True)
    with open(paths.model_dir / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_model(project: Path, board_id: str, *, force_train: bool = False,
                 log: Callable[[str], None] = print) -> dict:
    """Reload (or retrain when inputs changed) and write the headers for board_id.

    Returns {"trained": bool, "entry": chosen front entry, "headers_changed": bool}.
    """
    paths = Paths(Path(project))
    with model_lock(paths):
        return _ensure_model(paths, board_id, force_train, log)


def _ensure_model(paths: Paths, board_id: str, force_train: bool, log: Callable[[str], None]) -> dict:
    cfg = load_config(paths.config)
    board = load_board(paths.project, board_id)
    model_budget(board, cfg.budget)  # reserves that leave no room fail now, not after training
    fp = fingerprint(paths, cfg)
    trained = None if force_train else load_trained(paths)
    did_train = False
    stale = trained is not None and trained.get("fingerprint") == fp and "budget" in trained \
        and trained["budget"] == budget_dict(cfg) and not report_in_step(paths, trained)
    if trained is None or trained.get("fingerprint") != fp or "budget" not in trained or stale:
        reason = ("forced" if force_train else "no saved model" if trained is None
                  else "model/report.json is out of step with model/trained.json (an interrupted write?)" if stale
                  else "data, config or pipeline changed")
        log(f"tinybeat: training ({reason}); this takes a few minutes on 2 cores")
        from .train import train  # heavy imports only when training

        t0 = time.monotonic()
        trained = train(paths, cfg, fp, log=log, board=board,
                        before_save=lambda t: select_for_board(t, board, cfg))
        did_train = True
        log(f"tinybeat: training took {time.monotonic() - t0:.0f} s")
    elif trained["budget"] != budget_dict(cfg):
        entry = select_for_board(trained, board, cfg)  # nothing fits: fail before touching anything
        from .report import refresh_report

        t0 = time.monotonic()
        trained = {**trained, "budget": budget_dict(cfg)}
        refresh_report(paths, cfg, trained)
        save_trained(paths, trained)
        log(f"tinybeat: budget changed: reselected from the saved candidates in {time.monotonic() - t0:.1f} s")
    entry = select_for_board(trained, board, cfg)
    changed = write_headers(paths, trained, entry, cfg.budget.max_cycles)
    log(f"tinybeat: model {entry['name']} for {board.id}: CV {trained['metric']} {entry['cv_metric']:.4f}, "
        f"{entry['flash_bytes']} B flash, ~{entry['cycles']} cycles"
        + ("" if changed else " (header unchanged)"))
    return {"trained": did_train, "entry": entry, "headers_changed": changed}


def save_trained(paths: Paths, trained: dict) -> None:
    write_text_atomic(paths.trained, json.dumps(trained, indent=1, sort_keys=True) + "\n")
