"""model/config.yaml: which data, which search, which budgets. Validated with clear errors."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field
from pathlib import Path

import yaml

from tinybeat.core import families
from tinybeat.core.metrics import METRICS, OPERATING_POINTS
from tinybeat.core.parallel import BACKENDS
from tinybeat.errors import ConfigError

__all__ = ["ConfigError", "Config", "load_config"]

FAMILIES = tuple(families.REGISTRY)  # the default search: every registered family


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
    families: list[str] = field(default_factory=lambda: list(families.REGISTRY))
    cv_folds: int = 4
    seed: int = 0
    tie_tolerance: float = 0.005
    operating_point: str = "balanced_accuracy"
    max_trees: int = 128
    # where the search runs (never what it finds: these keys are not in the training fingerprint)
    backend: str = "local"         # local: this machine's cores | dask: a Dask distributed cluster
    n_jobs: int | None = None      # local worker processes (null: every usable core)
    scheduler: str | None = None   # dask: the scheduler address, e.g. tcp://10.0.0.5:8786

# SearchConfig keys that choose where the search runs, not what it finds: left out of the fingerprint
RUN_KEYS = ("backend", "n_jobs", "scheduler")


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
    for key, value in values.items():
        check_type(path, f"{name}.{key}", value)
    for key, fld in cls.__dataclass_fields__.items():
        if key not in values and fld.default is MISSING and fld.default_factory is MISSING:
            rule = KEY_TYPES.get(f"{name}.{key}")
            raise ConfigError(f"{path}: {name}.{key} is missing" + (f"; it must be {rule[1]}" if rule else ""))
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"{path}: section '{name}': {exc}") from exc


# What each key accepts: (test, description). Keys not listed are checked by their section's rules.
def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and v == v and abs(v) != float("inf")


def _is_str(v) -> bool:
    return isinstance(v, str) and v != ""


def _str_list(v) -> bool:
    return _is_str(v) or (isinstance(v, list) and all(_is_str(x) for x in v))


KEY_TYPES: dict[str, tuple] = {
    "data.train": (_str_list, "a file name or a list of file names"),
    "data.test": (lambda v: v is None or v == [] or _str_list(v), "a file name, a list of file names or []"),
    "data.format": (_is_str, "auto, kaggle or header"),
    "data.target": (lambda v: v is None or _is_str(v), "a column name or null"),
    "data.group": (lambda v: v is None or _is_str(v), "a column name or null"),
    "data.positive_labels": (lambda v: v is None or (isinstance(v, list) and len(v) > 0 and all(_is_num(x) for x in v)),
                             "null or a non-empty list of numbers, e.g. [1, 2]"),
    "data.input_range": (lambda v: isinstance(v, list) and len(v) == 2 and all(_is_num(x) for x in v),
                         "a list of two numbers [low, high]"),
    "data.test_fraction": (lambda v: _is_num(v) and 0 < v < 1, "a number between 0 and 1 (exclusive)"),
    "search.metric": (_is_str, f"one of {', '.join(METRICS)}"),
    "search.operating_point": (_is_str, f"one of {', '.join(OPERATING_POINTS)}"),
    "search.families": (lambda v: isinstance(v, list) and all(_is_str(x) for x in v),
                        f"a list drawn from {', '.join(FAMILIES)}"),
    "search.cv_folds": (lambda v: _is_int(v) and 2 <= v <= 50, "a whole number from 2 to 50"),
    "search.seed": (lambda v: _is_int(v) and 0 <= v < 2**32, "a whole number from 0 to 4294967295"),
    "search.tie_tolerance": (lambda v: _is_num(v) and 0 <= v < 1, "a number from 0 to 1"),
    "search.max_trees": (lambda v: _is_int(v) and 1 <= v <= 255, "a whole number from 1 to 255"),
    "search.backend": (lambda v: v in BACKENDS, f"one of {', '.join(BACKENDS)}"),
    "search.n_jobs": (lambda v: v is None or (_is_int(v) and 1 <= v <= 1024),
                      "null (every core) or a whole number of worker processes from 1 to 1024"),
    "search.scheduler": (lambda v: v is None or (_is_str(v) and " " not in v.strip()),
                         "null or a Dask scheduler address such as tcp://10.0.0.5:8786"),
    "budget.max_cycles": (lambda v: _is_int(v) and v > 0, "a positive whole number of cycles"),
    "budget.flash_reserve": (lambda v: _is_int(v) and v >= 0, "a whole number of bytes, 0 or more"),
    "budget.ram_reserve": (lambda v: _is_int(v) and v >= 0, "a whole number of bytes, 0 or more"),
    "budget.max_model_flash": (lambda v: v is None or (_is_int(v) and v > 0), "null or a positive whole number of bytes"),
}


def check_type(path: Path, key: str, value) -> None:
    """Raise ConfigError naming key, value and what is allowed unless value suits key."""
    rule = KEY_TYPES.get(key)
    if rule is not None and not rule[0](value):
        raise ConfigError(f"{path}: {key} is {value!r} ({type(value).__name__}); it must be {rule[1]}")


def yaml_error_text(exc: Exception) -> str:
    """One line for a YAML error: 'line L, column C: problem' (no '<unicode string>' marks)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
    return f"{where}{problem}" + (f" ({context})" if context else "")


def check_backend_keys(path: Path, search: SearchConfig) -> None:
    """search.backend, search.scheduler and search.n_jobs must agree (one line naming the key otherwise)."""
    if search.backend == "dask":
        if search.scheduler is None:
            raise ConfigError(f"{path}: search.scheduler is missing; search.backend dask needs the scheduler "
                              "address of a running Dask cluster, e.g. tcp://10.0.0.5:8786")
        if search.n_jobs is not None:
            raise ConfigError(f"{path}: search.n_jobs is {search.n_jobs}; it sets local worker processes and must "
                              "be null with search.backend dask (the cluster's workers run the tasks)")
        import importlib.util

        if importlib.util.find_spec("distributed") is None:
            raise ConfigError(f"{path}: search.backend is dask but the Python package `distributed` is not "
                              "installed (pip install distributed)")
    elif search.scheduler is not None:
        raise ConfigError(f"{path}: search.scheduler is {search.scheduler!r} but search.backend is local; "
                          "set search.backend: dask to use that cluster, or remove search.scheduler")


def load_config(path: Path | str) -> Config:
    """Read and validate the YAML config at path."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {yaml_error_text(exc)}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a mapping with data/search/budget")
    unknown = set(raw) - {"data", "search", "budget"}
    if unknown:
        raise ConfigError(f"{path}: unknown section(s): {', '.join(sorted(unknown))}")
    data = _section(raw, "data", DataConfig, path)
    if isinstance(data.train, str):
        data = DataConfig(**{**data.__dict__, "train": [data.train]})
    if data.test is None:
        data = DataConfig(**{**data.__dict__, "test": []})
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
        raise ConfigError(f"{path}: search.metric is {search.metric!r}; it must be one of {', '.join(METRICS)}")
    bad = [f for f in search.families if f not in families.REGISTRY]
    if bad or not search.families:
        raise ConfigError(f"{path}: search.families is {search.families!r}; it must be a non-empty subset of "
                          f"{', '.join(families.REGISTRY)}")
    if search.operating_point not in OPERATING_POINTS:
        raise ConfigError(f"{path}: search.operating_point is {search.operating_point!r}; it must be one of "
                          f"{', '.join(OPERATING_POINTS)}")
    if not 1 <= search.max_trees <= 255:
        raise ConfigError(f"{path}: search.max_trees must be between 1 and 255")
    if search.cv_folds < 2:
        raise ConfigError(f"{path}: search.cv_folds must be at least 2")
    check_backend_keys(path, search)
    budget = _section(raw, "budget", BudgetConfig, path)
    if budget.max_cycles <= 0:
        raise ConfigError(f"{path}: budget.max_cycles must be positive")
    return Config(data, search, budget, str(path))
