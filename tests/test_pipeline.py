"""tinybeat.pipeline.ensure end to end on tiny synthetic projects: train, reload, fail safely, fit the board.

Every project here is a minimal copy in tmp_path (model/config.yaml, a data CSV
and the board manifests) trained with a small search, so each training takes a
couple of seconds. OpenMP is limited to one thread (see projkit.single_threaded).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pytest
import yaml

from projkit import (c_define, header_config, header_csv, kaggle_csv, make_project, parse_c_array,
                     single_threaded, synthetic_table)
from tinybeat.core import families
from tinybeat.core.search import FitSpec, fit_integer_models, make_folds
from tinybeat.pipeline.selection import model_budget
from tinybeat.targets import target_of
from tinybeat.targets.boards import load_board
from tinybeat.pipeline.config import ConfigError, load_config
from tinybeat.datasets.table import DataError, Table
from tinybeat.pipeline.artifacts import Paths, default_header_dir, load_trained
from tinybeat.pipeline.ensure import ensure_model, fingerprint
from tinybeat.core.quantize import quantize_inputs
from tinybeat.pipeline.tables import holdout_split

MEGA, UNO = "megaatmega2560", "uno"
OLD_MTIME = 1_000_000_000  # a clearly past mtime: a rewrite would change it


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    with single_threaded():
        yield


def quiet(_: str) -> None:
    """A log function that drops the pipeline's messages."""


def train(project: Path, board: str = MEGA, **kwargs) -> dict:
    """ensure_model for a board, quietly."""
    return ensure_model(project, board, log=quiet, **kwargs)


def artifacts(project: Path) -> dict[str, bytes]:
    """The bytes of everything a training or reload may write."""
    paths = Paths(project)
    return {p.name: p.read_bytes() for p in (paths.header, paths.golden, paths.trained)}


def header_project(dest: Path, **config_overrides) -> Path:
    """The standard header-format project: 300 rows x 20 features, 10 groups, grouped hold-out."""
    X, y, groups = synthetic_table()
    return make_project(dest, header_config(**config_overrides), {"data/train.csv": header_csv(X, y, groups)})


@pytest.fixture(scope="module")
def trained_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A header-format project trained once for the module."""
    project = header_project(tmp_path_factory.mktemp("template") / "proj")
    assert train(project)["trained"]
    return project


@pytest.fixture
def trained_copy(trained_template: Path, tmp_path: Path) -> Path:
    """A copy of the trained template (mtimes kept) whose saved model is up to date.

    Other engineers edit python/tinybeat while tests run; if that changed the
    fingerprint since the template was trained, retrain the template first.
    """
    paths = Paths(trained_template)
    if fingerprint(paths, load_config(paths.config)) != load_trained(paths).fingerprint:
        train(trained_template)
    dest = tmp_path / "proj"
    shutil.copytree(trained_template, dest)
    return dest


def check_headers_match_trained(project: Path, board: str = MEGA) -> dict:
    """The headers hold the chosen entry: name, inputs, golden scores/classes of its integer model."""
    paths = Paths(project, default_header_dir(project, board))
    trained = load_trained(paths)
    header, golden = paths.header.read_text(), paths.golden.read_text()
    name = json.loads(c_define(header, "TB_MODEL_NAME"))
    entries = [e for e in trained.front if e.name == name]
    assert entries, f"header model {name} is not on the saved front"
    entry = entries[0]
    model = entry.model
    assert int(c_define(header, "TB_MODEL_N_INPUTS")) == trained.n_inputs
    n_inputs = int(c_define(golden, "TB_GOLDEN_N_INPUTS"))
    X = parse_c_array(golden, "tb_golden_inputs").reshape(-1, n_inputs).astype(np.uint8)
    scores = families.predict_scores(model, X)
    np.testing.assert_array_equal(parse_c_array(golden, "tb_golden_scores"), scores)
    threshold = entry.decision_threshold
    np.testing.assert_array_equal(parse_c_array(golden, "tb_golden_classes"), (scores > threshold).astype(int))
    # the all-0 and all-255 extremes are always among the golden vectors
    assert (X == 0).all(axis=1).any() and (X == 255).all(axis=1).any()
    return entry


# ---- determinism and reload -------------------------------------------------------------------

def test_same_inputs_train_byte_identical(tmp_path: Path) -> None:
    """Two trainings of the same data, config and seed in two project copies give identical outputs."""
    a = header_project(tmp_path / "a")
    b = header_project(tmp_path / "b")
    assert train(a)["trained"] and train(b)["trained"]
    out_a, out_b = artifacts(a), artifacts(b)
    assert out_a["tinybeat_model.h"] == out_b["tinybeat_model.h"]
    assert out_a["tinybeat_golden.h"] == out_b["tinybeat_golden.h"]
    assert json.loads(out_a["trained.json"]) == json.loads(out_b["trained.json"])
    assert out_a["trained.json"] == out_b["trained.json"]


def test_reload_does_not_train_or_rewrite(trained_copy: Path) -> None:
    """Nothing changed: no training, and the headers keep their bytes and mtime."""
    paths = Paths(trained_copy)
    for p in (paths.header, paths.golden, paths.trained):
        os.utime(p, (OLD_MTIME, OLD_MTIME))
    before = artifacts(trained_copy)
    result = train(trained_copy)
    assert result["trained"] is False
    assert result["headers_changed"] is False
    assert artifacts(trained_copy) == before
    for p in (paths.header, paths.golden, paths.trained):
        assert p.stat().st_mtime == OLD_MTIME, f"{p.name} was rewritten"
    check_headers_match_trained(trained_copy)


def test_deleted_header_is_rewritten_without_training(trained_copy: Path) -> None:
    """A missing header is regenerated from model/trained.json, byte-identical, without training."""
    paths = Paths(trained_copy)
    before = artifacts(trained_copy)
    paths.header.unlink()
    result = train(trained_copy)
    assert result["trained"] is False and result["headers_changed"] is True
    assert artifacts(trained_copy) == before


def test_changed_data_byte_retrains(trained_copy: Path) -> None:
    """Changing a single byte of the data retrains; the next build reloads."""
    data = trained_copy / "data" / "train.csv"
    text = data.read_text()
    line_end = text.index("\n")
    i = line_end + 5  # a digit of the first data row's first value (e.g. 0.6370 -> 0.6371)
    assert text[i].isdigit()
    data.write_text(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:])
    old_fp = load_trained(Paths(trained_copy)).fingerprint
    assert train(trained_copy)["trained"] is True
    assert load_trained(Paths(trained_copy)).fingerprint != old_fp
    assert train(trained_copy)["trained"] is False
    check_headers_match_trained(trained_copy)


def test_changed_config_retrains(trained_copy: Path) -> None:
    """Changing a config value retrains."""
    cfg_path = trained_copy / "model" / "config.yaml"
    config = yaml.safe_load(cfg_path.read_text())
    config["search"]["tie_tolerance"] = 0.0123
    cfg_path.write_text(yaml.safe_dump(config))
    assert train(trained_copy)["trained"] is True
    assert train(trained_copy)["trained"] is False


# ---- bad input leaves the previous model alone ---------------------------------------------------

def _edit_cell(text: str, row: int, col: int, value: str) -> str:
    lines = text.split("\n")
    cells = lines[row].split(",")
    cells[col] = value
    lines[row] = ",".join(cells)
    return "\n".join(lines)


def _drop_cell(text: str, row: int) -> str:
    lines = text.split("\n")
    lines[row] = ",".join(lines[row].split(",")[:-2] + lines[row].split(",")[-1:])
    return "\n".join(lines)


def _single_class(text: str) -> str:
    lines = text.split("\n")
    target = lines[0].split(",").index("target")
    out = [lines[0]]
    for line in lines[1:]:
        if line:
            cells = line.split(",")
            cells[target] = "0"
            line = ",".join(cells)
        out.append(line)
    return "\n".join(out)


BROKEN_DATA: dict[str, tuple[Callable[[str], str], str]] = {
    "non-numeric": (lambda t: _edit_cell(t, 7, 3, "abc"), "non-numeric value 'abc'"),
    "nan": (lambda t: _edit_cell(t, 7, 3, "nan"), "NaN value"),
    "infinite": (lambda t: _edit_cell(t, 9, 0, "inf"), "infinite value"),
    "wrong-column-count": (lambda t: _drop_cell(t, 11), "expected 22 columns, found 21"),
    "outside-input-range": (lambda t: _edit_cell(t, 4, 2, "1.5"), "outside input range"),
    "bad-label": (lambda t: _edit_cell(t, 4, 20, "2"), "label must be 0 or 1"),
    "single-class": (_single_class, "only one class present"),
    "empty-file": (lambda t: "", "empty file"),
    "header-only": (lambda t: t.split("\n")[0] + "\n", "header but no data rows"),
}


@pytest.mark.parametrize("variant", list(BROKEN_DATA))
def test_bad_data_keeps_previous_model(trained_copy: Path, variant: str) -> None:
    """Broken data raises DataError naming the file; headers and trained.json are untouched."""
    data = trained_copy / "data" / "train.csv"
    good = data.read_text()
    before = artifacts(trained_copy)
    breaker, reason = BROKEN_DATA[variant]
    data.write_text(breaker(good))
    with pytest.raises(DataError) as info:
        train(trained_copy)
    message = str(info.value)
    assert str(data) in message, message
    assert reason in message, message
    assert artifacts(trained_copy) == before
    # the saved model is still the valid one: restoring the data reloads it without training
    data.write_text(good)
    assert train(trained_copy)["trained"] is False
    assert artifacts(trained_copy) == before


@pytest.mark.parametrize("variant", ["missing-data-file", "invalid-yaml", "unknown-key", "bad-family"])
def test_bad_config_keeps_previous_model(trained_copy: Path, variant: str) -> None:
    """A broken config raises ConfigError naming the config file; nothing is rewritten."""
    cfg_path = trained_copy / "model" / "config.yaml"
    good = cfg_path.read_text()
    config = yaml.safe_load(good)
    before = artifacts(trained_copy)
    if variant == "missing-data-file":
        config["data"]["train"] = ["data/missing.csv"]
        expected = "data/missing.csv"
    elif variant == "unknown-key":
        config["search"]["max_tress"] = 8
        expected = "max_tress"
    elif variant == "bad-family":
        config["search"]["families"] = ["gbt", "svm"]
        expected = "search.families"
    if variant == "invalid-yaml":
        cfg_path.write_text("data: [unclosed\n")
        expected = "not valid YAML"
    else:
        cfg_path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as info:
        train(trained_copy)
    message = str(info.value)
    assert str(cfg_path) in message and expected in message, message
    assert artifacts(trained_copy) == before
    cfg_path.write_text(good)
    assert train(trained_copy)["trained"] is False


# ---- budgets come from the board ----------------------------------------------------------------

def test_small_board_gets_a_model_within_its_budget(tmp_path: Path) -> None:
    """With 30 B of model flash left on the uno, its model fits; the mega gets a bigger, better one."""
    project = header_project(tmp_path / "proj", budget={"flash_reserve": 32256 - 30})
    cfg = load_config(Paths(project).config)
    uno, mega = load_board(project, UNO), load_board(project, MEGA)
    assert (uno.flash_bytes, uno.ram_bytes) == (32256, 2048)
    uno_budget, mega_budget = model_budget(uno, cfg.budget), model_budget(mega, cfg.budget)
    assert uno_budget.flash_bytes == 30 < mega_budget.flash_bytes == min(mega.flash_bytes - (32256 - 30),
                                                                         target_of(mega).max_model_flash)
    assert uno_budget.ram_bytes < mega_budget.ram_bytes

    r_uno = train(project, UNO)
    assert r_uno["trained"] is True
    e_uno = r_uno["entry"]
    uno_header = Paths(project, default_header_dir(project, UNO)).header
    header = uno_header.read_text()
    assert int(c_define(header, "TB_MODEL_FLASH_BYTES").rstrip("UL")) == e_uno.flash_bytes <= 30
    assert e_uno.ram_bytes <= uno_budget.ram_bytes and e_uno.cycles <= uno_budget.cycles
    front = load_trained(Paths(project)).front
    assert any(e.flash_bytes > 30 for e in front), "the budget must exclude part of the front"
    # the choice is the best CV metric within the budget (up to the tie tolerance)
    fitting = [e for e in front if e.flash_bytes <= 30 and e.cycles <= uno_budget.cycles]
    assert e_uno.cv_metric >= max(e.cv_metric for e in fitting) - cfg.search.tie_tolerance
    check_headers_match_trained(project, UNO)

    r_mega = train(project, MEGA)  # same trained.json, another board: no retraining
    assert r_mega["trained"] is False
    e_mega = r_mega["entry"]
    assert e_mega.flash_bytes > uno_budget.flash_bytes
    assert e_mega.cv_metric > e_uno.cv_metric
    assert r_mega["headers_changed"] is True
    check_headers_match_trained(project, MEGA)
    assert uno_header.read_text() == header, "each board's build keeps its own header"
    assert train(project, UNO)["headers_changed"] is False


def test_budget_nothing_fits_raises_config_error(tmp_path: Path) -> None:
    """15 B left on the uno: no candidate fits, a ConfigError says so before training; the mega still trains."""
    project = header_project(tmp_path / "proj", budget={"flash_reserve": 32256 - 15})
    with pytest.raises(ConfigError) as info:
        train(project, UNO)
    message = str(info.value)
    assert "no model fits board uno" in message and "budget flash 15 B" in message, message
    assert "smallest candidate" in message and "B flash" in message, message
    assert not Paths(project).header.exists()
    assert not Paths(project).trained.exists(), "nothing fits: known before training, nothing is written"
    result = train(project, MEGA)
    assert result["trained"] is True and Paths(project).header.exists()


def test_reserve_leaving_no_room_raises_config_error(tmp_path: Path) -> None:
    """A flash reserve as large as the uno's flash: ConfigError naming the board and the reserve."""
    project = header_project(tmp_path / "proj", budget={"flash_reserve": 32256})
    with pytest.raises(ConfigError) as info:
        train(project, UNO)
    message = str(info.value)
    assert "board uno" in message and "leave no room" in message and "32256" in message, message
    assert not Paths(project).header.exists()


def test_budget_nothing_fits_on_any_board_raises_config_error(tmp_path: Path) -> None:
    """max_model_flash below every candidate: a ConfigError, not a crash."""
    project = header_project(tmp_path / "proj", budget={"max_model_flash": 10})
    with pytest.raises(ConfigError) as info:
        train(project, MEGA)
    message = str(info.value)
    assert "no model fits board megaatmega2560" in message and "budget flash 10 B" in message, message


def test_reserve_too_big_for_uno_still_trains_mega(tmp_path: Path) -> None:
    """A 40000 B firmware reserve leaves 213952 B on the mega: training for the mega works."""
    project = header_project(tmp_path / "proj", budget={"flash_reserve": 40000})
    result = train(project, MEGA)
    assert result["trained"] and result["entry"].flash_bytes <= 253952 - 40000


# ---- the integer models agree with the float models they come from ------------------------------

def _uint8_task(n_rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y, _ = synthetic_table(n_rows=n_rows, n_features=20, seed=seed)
    return quantize_inputs(X), y


def _fit_capturing(monkeypatch: pytest.MonkeyPatch, module, class_name: str, spec: FitSpec,
                   X: np.ndarray, y: np.ndarray) -> tuple[families.IntModel, object]:
    """Run fit_integer_models and also return the float scikit-learn model it fitted."""
    base = getattr(module, class_name)
    fitted = []

    class Recording(base):  # type: ignore[misc, valid-type]
        def fit(self, *args, **kwargs) -> object:
            out = super().fit(*args, **kwargs)
            fitted.append(self)
            return out

    monkeypatch.setattr(module, class_name, Recording)
    out = list(fit_integer_models(spec, X, y, seed=0))
    monkeypatch.undo()
    assert len(fitted) == 1
    return out[-1][2], fitted[0]


def _agreement(y: np.ndarray, float_scores: np.ndarray, int_scores: np.ndarray) -> tuple[float, float]:
    """(share of rows with the same decision at 0, |AUC difference|)."""
    from sklearn.metrics import roc_auc_score

    agree = float(np.mean((float_scores > 0) == (int_scores > 0)))
    return agree, abs(roc_auc_score(y, float_scores) - roc_auc_score(y, int_scores))


def test_gbt_integer_model_matches_float(monkeypatch: pytest.MonkeyPatch) -> None:
    """gbt: |int/scale - float logit| <= rounding bound; >= 99 % same decisions; AUC within 0.01."""
    import sklearn.ensemble

    Xtr, ytr = _uint8_task(800, seed=1)
    Xte, yte = _uint8_task(600, seed=2)
    spec = FitSpec("gbt", (("depth", 3), ("learning_rate", 0.1)), (32,))
    model, clf = _fit_capturing(monkeypatch, sklearn.ensemble, "HistGradientBoostingClassifier", spec, Xtr, ytr)
    float_scores = clf.decision_function(Xte.astype(np.float64))
    int_scores = families.predict_scores(model, Xte)
    # every leaf and the bias are rounded to the nearest 1/scale: nothing else may differ
    bound = (model.n_trees + 1) * 0.5 / model.score_scale + 1e-9
    assert np.max(np.abs(int_scores / model.score_scale - float_scores)) <= bound
    agree, dauc = _agreement(yte, float_scores, int_scores)
    assert agree >= 0.99 and dauc < 0.01, (agree, dauc)


def test_rf_integer_model_matches_float(monkeypatch: pytest.MonkeyPatch) -> None:
    """rf: int/scale = mean tree probability - 0.5 up to rounding; >= 99 % same decisions; AUC within 0.01."""
    import sklearn.ensemble

    Xtr, ytr = _uint8_task(800, seed=1)
    Xte, yte = _uint8_task(600, seed=2)
    spec = FitSpec("rf", (("depth", 5),), (16,))
    model, clf = _fit_capturing(monkeypatch, sklearn.ensemble, "RandomForestClassifier", spec, Xtr, ytr)
    float_scores = clf.predict_proba(Xte.astype(np.float64))[:, 1] - 0.5
    int_scores = families.predict_scores(model, Xte)
    per_tree_scale = model.score_scale / model.n_trees
    assert np.max(np.abs(int_scores / model.score_scale - float_scores)) <= 0.5 / per_tree_scale + 1e-9
    agree, dauc = _agreement(yte, float_scores, int_scores)
    assert agree >= 0.99 and dauc < 0.01, (agree, dauc)


def test_linear_integer_model_matches_float(monkeypatch: pytest.MonkeyPatch) -> None:
    """linear: int8 weights move the logit by at most s/2 * (sum(x) + 1); >= 98 % same decisions.

    The bound: each weight is rounded to the nearest multiple of the int8 scale s
    (error <= s/2 per unit of input byte), the bias likewise; it is checked row by
    row. Rows closer than that bound to the decision boundary may flip, hence
    98 % rather than 99 % (measured: 99.8 %).
    """
    import sklearn.linear_model

    Xtr, ytr = _uint8_task(800, seed=1)
    Xte, yte = _uint8_task(600, seed=2)
    spec = FitSpec("linear", (("C", 1.0),))
    model, clf = _fit_capturing(monkeypatch, sklearn.linear_model, "LogisticRegression", spec, Xtr, ytr)
    float_scores = clf.decision_function(Xte / 255.0)
    int_scores = families.predict_scores(model, Xte)
    s = 1.0 / model.score_scale
    bound = s / 2 * (Xte.astype(np.float64).sum(axis=1) + 1) + 1e-9
    assert np.all(np.abs(int_scores * s - float_scores) <= bound)
    agree, dauc = _agreement(yte, float_scores, int_scores)
    assert agree >= 0.98 and dauc < 0.01, (agree, dauc)


def test_mlp_integer_model_matches_float(monkeypatch: pytest.MonkeyPatch) -> None:
    """mlp: >= 97 % same decisions and AUC within 0.01.

    Looser than trees: both layers have int8 weights, and the hidden activations
    are requantised to 8 bits (steps of 1/255 of the 99.9th percentile, clipped
    above it), so the logit error has no tight closed form; rows near the
    boundary can flip (measured: 99.8 % agreement, AUC difference < 1e-4).
    """
    import sklearn.neural_network

    Xtr, ytr = _uint8_task(800, seed=1)
    Xte, yte = _uint8_task(600, seed=2)
    spec = FitSpec("mlp", (("hidden", 8),))
    model, clf = _fit_capturing(monkeypatch, sklearn.neural_network, "MLPClassifier", spec, Xtr, ytr)
    proba = np.clip(clf.predict_proba(Xte / 255.0)[:, 1], 1e-12, 1 - 1e-12)
    float_scores = np.log(proba / (1 - proba))
    int_scores = families.predict_scores(model, Xte)
    agree, dauc = _agreement(yte, float_scores, int_scores)
    assert agree >= 0.97 and dauc < 0.01, (agree, dauc)
    # and the score scale really maps back to the logit (not just its sign)
    assert np.corrcoef(int_scores / model.score_scale, float_scores)[0, 1] > 0.98


# ---- grouped splits never mix records -----------------------------------------------------------

def _grouped_task(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(5, 60, size=14)  # unequal groups
    groups = np.concatenate([np.full(n, f"rec{g}", dtype=object) for g, n in enumerate(sizes)])
    y = (rng.random(len(groups)) < 0.3).astype(np.int64)
    return y, groups


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_folds", [2, 4])
def test_make_folds_never_split_a_group(seed: int, n_folds: int) -> None:
    """Every validation fold holds whole groups; each row is validated exactly once."""
    y, groups = _grouped_task(seed)
    folds = make_folds(y, groups, n_folds, seed)
    assert len(folds) == n_folds
    seen = np.zeros(len(y), dtype=int)
    for tr, va in folds:
        assert set(groups[tr]).isdisjoint(set(groups[va]))
        assert len(tr) + len(va) == len(y)
        seen[va] += 1
    assert (seen == 1).all()


def test_make_folds_with_fewer_groups_than_folds() -> None:
    """Three groups and four folds: three folds, still never mixing a group."""
    y = np.array([0, 1] * 30)
    groups = np.array(["a"] * 20 + ["b"] * 20 + ["c"] * 20, dtype=object)
    folds = make_folds(y, groups, 4, 0)
    assert len(folds) == 3
    for tr, va in folds:
        assert set(groups[tr]).isdisjoint(set(groups[va]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_holdout_split_never_splits_a_group(seed: int) -> None:
    """train.holdout_split puts each group wholly on one side, keeping every row once."""
    y, groups = _grouped_task(seed)
    X = np.arange(len(y) * 2, dtype=np.float64).reshape(-1, 2)
    table = Table(X, y, groups, ["a", "b"], ["f.csv"])
    tr, te = holdout_split(table, 0.25, seed)
    assert set(tr.groups).isdisjoint(set(te.groups))
    assert len(tr.y) + len(te.y) == len(y) and len(te.y) > 0
    rows = np.concatenate([tr.X[:, 0], te.X[:, 0]])
    assert sorted(rows.tolist()) == X[:, 0].tolist()  # each row once; X, y, groups stay aligned
    for part in (tr, te):
        idx = (part.X[:, 0] / 2).astype(int)
        np.testing.assert_array_equal(part.y, y[idx])
        np.testing.assert_array_equal(part.groups, groups[idx])


# ---- both CSV layouts train end to end -----------------------------------------------------------

def test_header_format_trains_end_to_end(trained_template: Path) -> None:
    """A header CSV with a group column: grouped hold-out, headers for the chosen model."""
    trained = load_trained(Paths(trained_template))
    assert trained.n_inputs == 20
    assert trained.data["groups"] is True
    assert trained.data["train_rows"] + trained.data["test_rows"] == 300
    entry = check_headers_match_trained(trained_template)
    assert entry.cv_metric > 0.8  # the synthetic signal is learnable


def test_kaggle_format_trains_end_to_end(tmp_path: Path) -> None:
    """Kaggle CSVs (no header, label last, no group) with a separate test file train end to end."""
    X, y, _ = synthetic_table(seed=3)
    Xt, yt, _ = synthetic_table(n_rows=120, seed=4)
    config = {"data": {"train": ["data/k_train.csv"], "test": ["data/k_test.csv"], "format": "kaggle"},
              "search": header_config()["search"]}
    project = make_project(tmp_path / "proj", config,
                           {"data/k_train.csv": kaggle_csv(X, y), "data/k_test.csv": kaggle_csv(Xt, yt)})
    assert train(project)["trained"] is True
    trained = load_trained(Paths(project))
    assert trained.n_inputs == 20
    assert trained.data["groups"] is False
    assert (trained.data["train_rows"], trained.data["test_rows"]) == (300, 120)
    check_headers_match_trained(project)
    # the golden vectors come from the test file (plus the two extremes)
    golden = np.array(trained.golden_inputs, dtype=np.uint8)
    test_rows = {bytes(r) for r in quantize_inputs(Xt)}
    assert all(bytes(r) in test_rows for r in golden[:-2])


def test_the_board_manifest_states_the_model_flash_budget(tmp_path: Path) -> None:
    """tinybeat.max_model_flash in a board manifest caps the model's flash on that board."""
    import json as _json

    project = header_project(tmp_path / "proj")
    manifest = project / "pio" / "platforms" / "atmelavr" / "boards" / f"{MEGA}.json"
    data = _json.loads(manifest.read_text())
    assert data["tinybeat"]["max_model_flash"] == 32768 == target_of(load_board(project, MEGA)).max_model_flash
    data["tinybeat"]["max_model_flash"] = 1000
    manifest.write_text(_json.dumps(data))
    budget = model_budget(load_board(project, MEGA), load_config(Paths(project).config).budget)
    assert budget.flash_bytes == 1000
