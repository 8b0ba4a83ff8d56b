"""Shared helpers for the pipeline, engine and firmware tests: tiny synthetic projects.

Not a test module (pytest collects only test_*.py); imported by the tests.
"""

from __future__ import annotations

import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
BOARDS_DIR = ROOT / "pio" / "platforms" / "atmelavr" / "boards"

# A search small enough for a test: two families, 2 folds, at most 8 trees.
# Never copied: build output and byte code (a copy builds afresh); in model/, also stream results and the lock.
_IGNORE = shutil.ignore_patterns(".pio", "__pycache__", "*.pyc")
_IGNORE_MODEL = shutil.ignore_patterns("stream", ".lock")

SMALL_SEARCH = {"families": ["gbt", "linear"], "cv_folds": 2, "max_trees": 8, "seed": 0}


@contextmanager
def single_threaded() -> Iterator[None]:
    """Limit OpenMP/BLAS to one thread.

    On this 2-core machine, with another training running, scikit-learn's
    OpenMP HistGradientBoosting spin-waits: a tiny training then takes a minute
    instead of two seconds. The libraries must be loaded before the limit applies.
    """
    import sklearn.ensemble  # noqa: F401  (loads libgomp)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def synthetic_table(n_rows: int = 300, n_features: int = 20, n_groups: int = 10,
                    seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features in [0, 1], a label that trees learn better than a linear model, and groups.

    Returns X float (n_rows, n_features), y int (n_rows,), groups str (n_rows,).
    """
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, n_features))
    signal = 3.0 * ((X[:, 0] > 0.5) & (X[:, 1] > 0.4)) + 2.5 * (X[:, 2] > 0.7) - 2.0
    y = (signal + rng.normal(0, 0.6, n_rows) > 0).astype(np.int64)
    groups = np.array([f"rec{g}" for g in rng.integers(0, n_groups, n_rows)], dtype=object)
    return X, y, groups


def header_csv(X: np.ndarray, y: np.ndarray, groups: np.ndarray | None = None) -> str:
    """A header CSV: s0..s{n-1}, target (and record when groups are given)."""
    names = [f"s{i}" for i in range(X.shape[1])] + ["target"] + (["record"] if groups is not None else [])
    lines = [",".join(names)]
    for i, row in enumerate(X):
        cells = [f"{v:.4f}" for v in row] + [str(int(y[i]))] + ([str(groups[i])] if groups is not None else [])
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


def kaggle_csv(X: np.ndarray, y: np.ndarray) -> str:
    """A Kaggle-style CSV: no header, every column numeric, the label (0.0/1.0) last."""
    return "".join(",".join(f"{v:.18e}" for v in [*row, float(label)]) + "\n" for row, label in zip(X, y))


def make_project(dest: Path, config: dict, files: dict[str, str]) -> Path:
    """A minimal project for tinybeat.pipeline.ensure.ensure_model: config, data files, board manifests."""
    (dest / "model").mkdir(parents=True, exist_ok=True)
    (dest / "model" / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    for rel, text in files.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    boards = dest / "pio" / "platforms" / "atmelavr" / "boards"
    if not boards.exists():
        shutil.copytree(BOARDS_DIR, boards)
    return dest


def header_config(**overrides) -> dict:
    """Config of the header-format project (grouped hold-out, small search); sections overridable."""
    config = {
        "data": {"train": ["data/train.csv"], "test": [], "format": "header", "target": "target",
                 "group": "record"},
        "search": dict(SMALL_SEARCH),
    }
    for section, values in overrides.items():
        config[section] = {**config.get(section, {}), **values}
    return config


def parse_c_array(text: str, name: str) -> np.ndarray:
    """Values of `static const T name[N] TB_FLASH = {...};` in generated C text (int64)."""
    match = re.search(r"\b%s\[(\d+)\][^=]*=\s*\{(.*?)\};" % re.escape(name), text, flags=re.S)
    assert match, f"array {name} not found"
    values = np.array([int(v) for v in match.group(2).replace("\n", " ").split(",") if v.strip()],
                      dtype=np.int64)
    assert values.size == int(match.group(1)), f"{name}: {values.size} values, declared {match.group(1)}"
    return values


def c_define(text: str, name: str) -> str:
    """The value text of `#define NAME value` (quotes and UL/L suffixes kept)."""
    match = re.search(r"^#define %s (.+)$" % re.escape(name), text, flags=re.M)
    assert match, f"#define {name} not found"
    return match.group(1).strip()


def _copy_platformio_ini(dest: Path) -> None:
    """platformio.ini in dest, sharing the repository's offline core (.platformio), so `pio` works there offline."""
    ini = (ROOT / "platformio.ini").read_text()
    ini, n = re.subn(r"(?m)^core_dir\s*=.*$", f"core_dir = {ROOT / '.platformio'}", ini)
    assert n == 1, "platformio.ini has no core_dir line to point at the project's core"
    (dest / "platformio.ini").write_text(ini)


def pio_project(dest: Path, with_tests: bool = False) -> Path:
    """A PlatformIO project: a copy of the firmware sources with a tiny synthetic dataset of 187 inputs.

    with_tests: also copy test/ (the pio test suites).
    """
    for name in ("src", "lib", "extra_scripts", *(("test",) if with_tests else ())):
        shutil.copytree(ROOT / name, dest / name, ignore=_IGNORE)
    _copy_platformio_ini(dest)
    X, y, groups = synthetic_table(n_rows=400, n_features=187, seed=5)
    Xt, yt, gt = synthetic_table(n_rows=120, n_features=187, seed=6)
    config = {"data": {"train": ["data/train.csv"], "test": ["data/test.csv"], "format": "header",
                       "target": "target", "group": "record"},
              "search": {"families": ["gbt", "linear"], "cv_folds": 2, "max_trees": 8, "seed": 0}}
    return make_project(dest, config, {"data/train.csv": header_csv(X, y, groups),
                                       "data/test.csv": header_csv(Xt, yt, gt)})


def main_model_state() -> str | None:
    """None when `pio run` in the project would only reload the model, else why it would train."""
    import fcntl

    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.config import load_config
    from tinybeat.pipeline.ensure import fingerprint

    paths = Paths(ROOT)
    try:
        trained = load_trained(paths)
        if trained is None:
            return "the project has no trained model"
        if fingerprint(paths, load_config(paths.config)) != trained.fingerprint:
            return "the project's model is stale (sources, config or data changed)"
    except Exception as exc:  # a half-edited config or package: do not build there
        return f"the project's model cannot be checked ({exc})"
    with open(paths.model_dir / ".lock", "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return "someone is training the project's model right now"
        fcntl.flock(fh, fcntl.LOCK_UN)
    return None


def project_copy(dest: Path) -> Path:
    """A snapshot of this project to build outside the checkout, so a `pio run` there can neither lock
    the env nor retrain under a test: the sources, python/, test/, model/ (config and the saved model:
    the pre-build hook reloads it when main_model_state() is None); data/ and pio/ are symlinked (read
    only); the offline core (.platformio) is shared. Returns dest.
    """
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("src", "lib", "extra_scripts", "python", "test"):
        shutil.copytree(ROOT / name, dest / name, ignore=_IGNORE)
    shutil.copytree(ROOT / "model", dest / "model", ignore=_IGNORE_MODEL)
    for name in ("data", "pio"):
        (dest / name).symlink_to(ROOT / name, target_is_directory=True)
    _copy_platformio_ini(dest)
    return dest


def buildable_copy(dest: Path) -> tuple[Path, str]:
    """(project, where): project_copy of this project when its model is fresh ("project"), else (why)
    a pio_project with test/ (a tiny synthetic model: seconds to train instead of minutes)."""
    reason = "TINYBEAT_TEST_FIRMWARE_COPY is set" if os.environ.get("TINYBEAT_TEST_FIRMWARE_COPY") else \
        main_model_state()
    if reason is None:
        return project_copy(dest), "project"
    return pio_project(dest, with_tests=True), reason
