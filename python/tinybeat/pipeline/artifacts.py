"""The saved result of a search (model/trained.json) and where the pipeline keeps its files."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from tinybeat.core import families
from tinybeat.core.families.base import IntModel
from tinybeat.core.search import Candidate
from tinybeat.errors import ConfigError
from tinybeat.pipeline.config import Config
from tinybeat.util.atomic import write_text_atomic

TRAINED_FILE = "trained.json"
GOLDEN_COUNT = 48
# Layout of model/trained.json. 1: files written before the field existed (same keys, loaded as is).
FORMAT_VERSION = 2
DEFAULT_ENV = "megaatmega2560"


def default_header_dir(project: Path, env: str = DEFAULT_ENV) -> Path:
    """Where a PlatformIO env's generated headers live: inside its own build directory."""
    return Path(project) / ".pio" / "build" / env / "tinybeat"


@dataclass(frozen=True)
class Paths:
    """The project's files. header_dir: the generated headers' folder, one per PlatformIO env
    (default .pio/build/megaatmega2560/tinybeat), so envs never overwrite each other's."""
    project: Path
    header_dir: Path | None = None

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
    def headers(self) -> Path:
        return self.header_dir if self.header_dir is not None else default_header_dir(self.project)

    @property
    def header(self) -> Path:
        return self.headers / "tinybeat_model.h"

    @property
    def golden(self) -> Path:
        return self.headers / "tinybeat_golden.h"


@dataclass(frozen=True)
class FrontEntry:
    """A Pareto-front candidate refitted on all training rows: its CV record, integer model and test scores."""
    name: str
    family: str
    params: dict
    n_trees: int | None
    cv_metric: float
    cv_std: float
    threshold: float           # operating point in float score units (from CV)
    flash_bytes: int
    ram_bytes: int
    cycles: int                # estimated on the training target
    fold_metrics: list
    model: IntModel
    decision_threshold: int    # integer score above which the class is 1 (abnormal)
    test: dict                 # metrics.summary on the test split

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["model"] = families.to_dict(self.model)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "FrontEntry":
        return cls(**{**{f.name: data[f.name] for f in fields(cls)}, "model": families.from_dict(data["model"])})


@dataclass(frozen=True)
class Trained:
    """The saved result of a search: model/trained.json, typed."""
    fingerprint: str
    version: str
    metric: str
    operating_point: str
    n_inputs: int
    input_range: list
    data: dict                        # row counts, files, groups, split kind
    budget: dict                      # the budget section the front was selected under
    candidates: list[Candidate]       # every candidate's CV score and cost
    front: list[FrontEntry]
    float_reference: dict
    golden_inputs: list               # uint8 rows for the golden header
    feature_names: list
    detection: dict | None = None
    morphology_only: dict | None = None
    search: dict = field(default_factory=dict)   # how the search ran
    format: int = FORMAT_VERSION

    def entry(self, name: str) -> FrontEntry:
        return next(e for e in self.front if e.name == name)

    def with_budget(self, budget: dict) -> "Trained":
        return replace(self, budget=budget)

    def to_dict(self) -> dict:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        out["candidates"] = [asdict(c) for c in self.candidates]
        out["front"] = [e.to_dict() for e in self.front]
        return out

    @classmethod
    def from_dict(cls, data: dict, source: str = TRAINED_FILE) -> "Trained":
        """Rebuild from the JSON dict; ConfigError for a format this version cannot read, KeyError for a missing key."""
        fmt = data.get("format", 1)
        if not isinstance(fmt, int) or fmt > FORMAT_VERSION:
            raise ConfigError(f"{source}: format {fmt!r} is newer than this tinybeat reads ({FORMAT_VERSION}); "
                              "update tinybeat, or delete the file to retrain")
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["candidates"] = [Candidate(**c) for c in data["candidates"]]
        values["front"] = [FrontEntry.from_dict(e) for e in data["front"]]
        values["format"] = FORMAT_VERSION
        return cls(**values)


def load_trained(paths: Paths) -> Trained | None:
    """model/trained.json, or None when missing or unreadable (the caller retrains).

    A file from a newer tinybeat raises ConfigError rather than being overwritten.
    """
    if not paths.trained.is_file():
        return None
    try:
        data = json.loads(paths.trained.read_text())
    except (json.JSONDecodeError, OSError, UnicodeDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    try:
        return Trained.from_dict(data, str(paths.trained))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ConfigError):
            raise
        return None


def report_in_step(paths: Paths, trained: Trained) -> bool:
    """True when model/report.json was written from this trained.json (same fingerprint and budget).

    trained.json is always written last: a step killed half way leaves a
    report newer than the model, which this check catches on the next load.
    """
    try:
        report = json.loads((paths.model_dir / "report.json").read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return report.get("fingerprint") == trained.fingerprint and report.get("budget") == trained.budget


def budget_dict(cfg: Config) -> dict:
    """The budget section as saved in trained.json and report.json."""
    return dict(sorted(cfg.budget.__dict__.items()))


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


def save_trained(paths: Paths, trained: Trained) -> None:
    write_text_atomic(paths.trained, json.dumps(trained.to_dict(), indent=1, sort_keys=True) + "\n")
