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
from pathlib import Path
from typing import Callable

import numpy as np

from tinybeat import __version__
from tinybeat.codegen import c_header
from tinybeat.core import families
from tinybeat.util.atomic import write_if_changed
from tinybeat.pipeline.artifacts import FrontEntry, Paths, Trained, default_header_dir, budget_dict, load_trained, report_in_step, save_trained
from tinybeat.pipeline.selection import model_budget, select_for_board
from tinybeat.targets.boards import load_board
from tinybeat.pipeline.config import RUN_KEYS, Config, ConfigError, load_config

PACKAGE_DIR = Path(__file__).resolve().parents[1]
# The subpackages whose code determines what training produces, by data kind: the
# fingerprint covers every module in them. The rest (codegen, device, integrations,
# the CLI) runs after training and never changes the model.
TRAINING_PACKAGES = {
    "beats": ("util", "core", "targets", "datasets", "pipeline"),
    "records": ("util", "core", "targets", "datasets", "pipeline", "frontend", "recordings"),
}


def pipeline_source_hash(kind: str = "records") -> str:
    """SHA-256 (hex) of the package modules that determine the model for data of this kind."""
    digest = hashlib.sha256(__version__.encode())
    for package in TRAINING_PACKAGES[kind]:
        for path in sorted((PACKAGE_DIR / package).rglob("*.py")):
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
    search = {k: v for k, v in cfg.search.__dict__.items() if k not in RUN_KEYS}
    digest.update(json.dumps({"data": cfg.data.__dict__, "search": search},
                             sort_keys=True, default=list).encode())
    for rel in data_files(cfg):
        path = paths.project / rel
        files = [path]
        if cfg.data.kind == "records":
            from tinybeat.recordings.labelled import record_files

            files = record_files(path)
        elif path.is_dir():
            raise ConfigError(f"{paths.config}: data file {rel} is a directory; name a CSV file (.csv or .csv.gz)")
        for file in files:
            if not file.is_file():
                raise ConfigError(f"{paths.config}: data file {os.path.relpath(file, paths.project)} does not exist")
            digest.update(os.path.relpath(file, paths.project).encode())
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()














def write_headers(paths: Paths, trained: Trained, entry: FrontEntry, cycle_budget: int) -> bool:
    """Write the model and golden headers for the chosen front entry; True if any file changed."""
    model = entry.model
    fp = trained.fingerprint
    threshold = entry.decision_threshold
    header = c_header.model_header(
        model, n_inputs=trained.n_inputs, decision_threshold=threshold,
        fingerprint=hashlib.sha256((fp + entry.name).encode()).hexdigest(), cycle_estimate=entry.cycles,
        cycle_budget=cycle_budget, name=entry.name, input_range=tuple(trained.input_range),
    )
    X = np.array(trained.golden_inputs, dtype=np.uint8)
    scores = families.predict_scores(model, X)
    golden = c_header.golden_header(X, scores, (scores > threshold).astype(np.uint8),
                                   hashlib.sha256((fp + entry.name).encode()).hexdigest())
    changed = write_if_changed(paths.header, header)
    return write_if_changed(paths.golden, golden) or changed


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


QUICK_ENV = "TINYBEAT_QUICK"


def quick_from_env() -> bool:
    """TINYBEAT_QUICK=1 asks `pio run` (or `tinybeat train`) for a quick search; unset, empty or 0: full."""
    raw = os.environ.get(QUICK_ENV, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"environment variable {QUICK_ENV} is {raw!r}; it must be 1 (quick search) or 0 (full search)")


def search_mode(trained: Trained | None) -> str:
    """'quick' or 'full' (saved models from before quick searches existed are full)."""
    return (trained.search if trained is not None else {}).get("mode", "full")


def ensure_model(project: Path, board_id: str, *, header_dir: Path | None = None, force_train: bool = False,
                 quick: bool | None = None, log: Callable[[str], None] = print) -> dict:
    """Reload (or retrain when inputs changed) and write the headers for board_id.

    header_dir: where the headers go (the pre-build hook passes its env's
    $BUILD_DIR/tinybeat); default .pio/build/<board_id>/tinybeat.
    quick: a quick search when (re)training (None: the TINYBEAT_QUICK environment
    variable). A saved full search serves quick requests too; a saved quick one
    is retrained fully when a full search is asked for.
    Returns {"trained": bool, "entry": chosen front entry, "headers_changed": bool}.
    """
    if quick is None:
        quick = quick_from_env()
    project = Path(project)
    paths = Paths(project, header_dir if header_dir is not None else default_header_dir(project, board_id))
    with model_lock(paths):
        return _ensure_model(paths, board_id, force_train, quick, log)


def _ensure_model(paths: Paths, board_id: str, force_train: bool, quick: bool, log: Callable[[str], None]) -> dict:
    cfg = load_config(paths.config)
    board = load_board(paths.project, board_id)
    model_budget(board, cfg.budget)  # reserves that leave no room fail now, not after training
    fp = fingerprint(paths, cfg)
    saved = load_trained(paths)
    trained = None if force_train else saved
    did_train = False
    stale = trained is not None and trained.fingerprint == fp and trained.budget == budget_dict(cfg) \
        and not report_in_step(paths, trained)
    upgrade = trained is not None and not quick and search_mode(trained) == "quick"
    if trained is None or trained.fingerprint != fp or stale or upgrade:
        reason = ("forced" if force_train else "no saved model" if trained is None
                  else "model/report.json is out of step with model/trained.json (an interrupted write?)" if stale
                  else "data, config or pipeline changed" if trained.fingerprint != fp
                  else "the saved model came from a quick search")
        log(f"tinybeat: training ({reason}); " + ("a QUICK search, for iterating on data" if quick
                                                   else "this takes about a minute on 2 cores"))
        if quick and saved is not None and search_mode(saved) == "full":
            log("tinybeat: WARNING: the saved full-search model is replaced by a quick-search one; "
                "train without --quick / TINYBEAT_QUICK to get the full search back")
        from tinybeat.pipeline.train import train  # heavy imports only when training

        t0 = time.monotonic()
        trained = train(paths, cfg, fp, log=log, board=board,
                        before_save=lambda t: select_for_board(t, board, cfg), quick=quick)
        did_train = True
        log(f"tinybeat: training took {time.monotonic() - t0:.0f} s")
    elif trained.budget != budget_dict(cfg):
        entry = select_for_board(trained, board, cfg)  # nothing fits: fail before touching anything
        from tinybeat.pipeline.report import refresh_report

        t0 = time.monotonic()
        trained = trained.with_budget(budget_dict(cfg))
        refresh_report(paths, cfg, trained)
        save_trained(paths, trained)
        log(f"tinybeat: budget changed: reselected from the saved candidates in {time.monotonic() - t0:.1f} s")
    entry = select_for_board(trained, board, cfg)
    changed = write_headers(paths, trained, entry, cfg.budget.max_cycles)
    log(f"tinybeat: model {entry.name} for {board.id}: CV {trained.metric} {entry.cv_metric:.4f}, "
        f"{entry.flash_bytes} B flash, ~{entry.cycles} cycles"
        + ("" if changed else " (header unchanged)")
        + (" -- from a QUICK search, not the full one" if search_mode(trained) == "quick" else ""))
    return {"trained": did_train, "entry": entry, "headers_changed": changed}


