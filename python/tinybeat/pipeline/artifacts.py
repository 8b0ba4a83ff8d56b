"""The saved result of a search (model/trained.json) and where the pipeline keeps its files."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tinybeat.pipeline.config import Config
from tinybeat.util.atomic import write_text_atomic


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


def save_trained(paths: Paths, trained: dict) -> None:
    write_text_atomic(paths.trained, json.dumps(trained, indent=1, sort_keys=True) + "\n")
