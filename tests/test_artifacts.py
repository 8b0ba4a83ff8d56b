"""model/trained.json as a typed artifact: round trip, old files, newer files, damaged files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tinybeat.core import families
from tinybeat.core.families.trees import TreeEnsemble
from tinybeat.core.search import Candidate
from tinybeat.errors import ConfigError
from tinybeat.pipeline.artifacts import FORMAT_VERSION, FrontEntry, Paths, Trained, load_trained, save_trained


def small_trained() -> Trained:
    rng = np.random.default_rng(1)
    model = TreeEnsemble("gbt", 2, rng.integers(0, 4, (3, 3)).astype(np.uint8),
                         rng.integers(0, 255, (3, 3)).astype(np.uint8),
                         rng.integers(-900, 900, (3, 4)).astype(np.int16), -17, 256.0)
    cand = Candidate("gbt-d2-lr0.1-3", "gbt", {"depth": 2, "learning_rate": 0.1}, 3, 0.91, 0.02, 0.1,
                     132, 53, 900, [0.9, 0.92])
    entry = FrontEntry(**cand.to_dict(), model=model, decision_threshold=25, test={"auc": 0.9, "n": 10})
    return Trained(fingerprint="f" * 64, version="0.0", metric="auc", operating_point="balanced_accuracy",
                   n_inputs=4, input_range=[0.0, 1.0], data={"train_rows": 10}, budget={"max_cycles": 15000},
                   candidates=[cand], front=[entry], float_reference={"test": {"auc": 0.95}},
                   golden_inputs=[[0, 1, 2, 3]], feature_names=["a", "b", "c", "d"])


def test_round_trip_is_exact(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    trained = small_trained()
    save_trained(paths, trained)
    again = load_trained(paths)
    assert again is not None and again.to_dict() == trained.to_dict()
    X = np.random.default_rng(2).integers(0, 256, (50, 4)).astype(np.uint8)
    np.testing.assert_array_equal(again.front[0].model.predict_scores(X), trained.front[0].model.predict_scores(X))
    assert json.loads(paths.trained.read_text())["format"] == FORMAT_VERSION


def test_a_file_from_before_the_format_field_loads(tmp_path: Path) -> None:
    """Format 1 (no `format` key, the same layout otherwise): read as it is."""
    paths = Paths(tmp_path)
    data = small_trained().to_dict()
    del data["format"], data["search"]
    paths.trained.parent.mkdir(parents=True)
    paths.trained.write_text(json.dumps(data))
    loaded = load_trained(paths)
    assert loaded is not None and loaded.front[0].name == "gbt-d2-lr0.1-3"
    assert families.dumps(loaded.front[0].model) == families.dumps(small_trained().front[0].model)


def test_a_file_from_a_newer_tinybeat_is_refused_not_overwritten(tmp_path: Path) -> None:
    paths = Paths(tmp_path)
    data = small_trained().to_dict() | {"format": FORMAT_VERSION + 1}
    paths.trained.parent.mkdir(parents=True)
    paths.trained.write_text(json.dumps(data))
    with pytest.raises(ConfigError, match=rf"trained.json: format {FORMAT_VERSION + 1} is newer than this tinybeat"):
        load_trained(paths)


@pytest.mark.parametrize("text", ["{", "[]", '{"front": []}', json.dumps({"format": 2})])
def test_a_damaged_file_reads_as_no_saved_model(tmp_path: Path, text: str) -> None:
    """Unreadable or incomplete: None, so the pipeline retrains (it is a cache of the search)."""
    paths = Paths(tmp_path)
    paths.trained.parent.mkdir(parents=True)
    paths.trained.write_text(text)
    assert load_trained(paths) is None
