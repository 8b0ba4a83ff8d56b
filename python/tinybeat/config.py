"""model/config.yaml: which data, which search, which budgets. Validated with clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .metrics import METRICS, OPERATING_POINTS

FAMILIES = ("gbt", "rf", "mlp", "linear")


class ConfigError(ValueError):
    """A configuration problem; the message names the file and the key."""


KINDS = ("beats", "records")


@dataclass(frozen=True)
class DataConfig:
    train: list[str]
    test: list[str] = field(default_factory=list)
    format: str = "auto"
    target: str | None = "target"
    group: str | None = None
    positive_labels: list[float] | None = None
    input_range: tuple[float, float] = (0.0, 1.0)
    test_fraction: float = 0.2
    kind: str = "beats"            # beats: CSV rows of beats | records: raw ECG records (front end cuts beats)
    sample_rate: int | None = None # records given as CSV: samples per second


@dataclass(frozen=True)
class SearchConfig:
    metric: str = "auc"
    families: list[str] = field(default_factory=lambda: list(FAMILIES))
    cv_folds: int = 4
    seed: int = 0
    tie_tolerance: float = 0.005
    operating_point: str = "balanced_accuracy"
    max_trees: int = 128


@dataclass(frozen=True)
class BudgetConfig:
    max_cycles: int = 15000
    flash_reserve: int = 16384
    ram_reserve: int = 1024
    max_model_flash: int | None = None


@dataclass(frozen=True)
class Config:
    data: DataConfig
    search: SearchConfig
    budget: BudgetConfig
    path: str


def _section(raw: dict, name: str, cls, path: Path):
    values = raw.get(name) or {}
    if not isinstance(values, dict):
        raise ConfigError(f"{path}: '{name}' must be a mapping")
    known = set(cls.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{path}: unknown key(s) in '{name}': {', '.join(sorted(unknown))}; "
                          f"known: {', '.join(sorted(known))}")
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{path}: section '{name}': {exc}") from exc


def load_config(path: Path | str) -> Config:
    """Read and validate the YAML config at path."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping with data/search/budget")
    unknown = set(raw) - {"data", "search", "budget"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s): {', '.join(sorted(unknown))}")
    data = _section(raw, "data", DataConfig, path)
    if isinstance(data.train, str):
        data = DataConfig(**{**data.__dict__, "train": [data.train]})
    if isinstance(data.test, str):
        data = DataConfig(**{**data.__dict__, "test": [data.test]})
    if not data.train:
        raise ConfigError(f"{path}: data.train must name at least one CSV file")
    if data.kind not in KINDS:
        raise ConfigError(f"{path}: data.kind must be beats or records, not {data.kind!r}")
    if data.kind == "records":
        # the front end makes byte inputs: the range is fixed, and the record name is the group
        data = DataConfig(**{**data.__dict__, "input_range": (0.0, 255.0), "group": "record"})
    if data.format not in ("auto", "kaggle", "header"):
        raise ConfigError(f"{path}: data.format must be auto, kaggle or header, not {data.format!r}")
    rng = tuple(float(v) for v in data.input_range)
    if len(rng) != 2 or not rng[1] > rng[0]:
        raise ConfigError(f"{path}: data.input_range must be [low, high] with high > low")
    data = DataConfig(**{**data.__dict__, "input_range": rng})
    if not 0 < data.test_fraction < 1:
        raise ConfigError(f"{path}: data.test_fraction must be between 0 and 1")
    search = _section(raw, "search", SearchConfig, path)
    if search.metric not in METRICS:
        raise ConfigError(f"{path}: search.metric must be one of {', '.join(METRICS)}")
    bad = [f for f in search.families if f not in FAMILIES]
    if bad or not search.families:
        raise ConfigError(f"{path}: search.families must be a non-empty subset of {', '.join(FAMILIES)}")
    if search.operating_point not in OPERATING_POINTS:
        raise ConfigError(f"{path}: search.operating_point must be one of {', '.join(OPERATING_POINTS)}")
    if not 1 <= search.max_trees <= 255:
        raise ConfigError(f"{path}: search.max_trees must be between 1 and 255")
    if search.cv_folds < 2:
        raise ConfigError(f"{path}: search.cv_folds must be at least 2")
    budget = _section(raw, "budget", BudgetConfig, path)
    if budget.max_cycles <= 0:
        raise ConfigError(f"{path}: budget.max_cycles must be positive")
    return Config(data, search, budget, str(path))
