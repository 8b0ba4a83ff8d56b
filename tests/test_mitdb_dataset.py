"""The committed default dataset (data/mitbih_*.csv.gz) and its deterministic builder."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

from tinybeat import mitdb  # noqa: E402
from tinybeat.data import check_two_classes, load_csv  # noqa: E402

MITDB = ROOT.parent / "shared/data/mitdb"
DATA = ROOT / "data"
SPLITS = ("train", "test")
EXPECTED_ROWS = {"train": 11_600, "test": 2_900}


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """Build the dataset once per session from the raw records: (summary, output dir)."""
    if not (MITDB / "RECORDS").is_file():
        pytest.skip(f"raw MIT-BIH records not available at {MITDB}")
    out = tmp_path_factory.mktemp("mitbih")
    return mitdb.build_dataset(MITDB, out, progress=False), out


@pytest.fixture(scope="module")
def committed() -> dict:
    """The committed splits loaded with the strict loader (checks [0, 1] and 0/1 labels)."""
    return {
        name: load_csv(DATA / mitdb.FILES[name], target="target", group="record")
        for name in SPLITS
    }


@pytest.mark.parametrize("name", SPLITS)
def test_rebuild_is_byte_identical(rebuilt: tuple[dict, Path], name: str) -> None:
    _, out = rebuilt
    fresh, kept = out / mitdb.FILES[name], DATA / mitdb.FILES[name]
    assert gzip.decompress(fresh.read_bytes()) == gzip.decompress(kept.read_bytes()), (
        f"{kept} content differs from a rebuild; rerun python -m tinybeat.mitdb"
    )
    assert fresh.read_bytes() == kept.read_bytes()


def test_gzip_header_is_reproducible() -> None:
    for name in SPLITS:
        head = (DATA / mitdb.FILES[name]).read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08"
        assert head[3] == 0, "no file name or other optional header fields"
        assert head[4:8] == b"\0\0\0\0", "mtime 0"


def test_records_split_by_patient(rebuilt: tuple[dict, Path]) -> None:
    summary, _ = rebuilt
    train, test = (set(summary[name]["records"]) for name in SPLITS)
    assert not train & test
    assert len(train | test) == 42
    assert {"201", "202"} <= train or {"201", "202"} <= test
    assert sorted(test) == sorted(mitdb.TEST_RECORDS)


def test_committed_record_column_matches_split(committed: dict) -> None:
    groups = {name: set(committed[name].groups.tolist()) for name in SPLITS}
    assert not groups["train"] & groups["test"]
    assert groups["test"] == set(mitdb.TEST_RECORDS)
    assert {"201", "202"} <= groups["train"] or {"201", "202"} <= groups["test"]


def test_several_abnormal_kinds_per_split(rebuilt: tuple[dict, Path]) -> None:
    summary, _ = rebuilt
    for name in SPLITS:
        symbols = summary[name]["symbols"]
        abnormal = [s for s in symbols if s in mitdb.ABNORMAL_SYMBOLS]
        assert len(abnormal) >= 3, (name, symbols)
        assert set(symbols) <= set(mitdb.NORMAL_SYMBOLS + mitdb.ABNORMAL_SYMBOLS)
        n_abnormal = sum(symbols[s] for s in abnormal)
        assert n_abnormal == summary[name]["abnormal"]
        assert sum(symbols.values()) == summary[name]["rows"]
        assert 0.2 <= n_abnormal / summary[name]["rows"] <= 0.45, (name, n_abnormal)


def test_split_sizes(rebuilt: tuple[dict, Path], committed: dict) -> None:
    summary, _ = rebuilt
    for name, expected in EXPECTED_ROWS.items():
        rows = summary[name]["rows"]
        assert abs(rows - expected) <= 0.15 * expected, (name, rows)
        assert len(committed[name].y) == rows
        assert int(committed[name].y.sum()) == summary[name]["abnormal"]


def test_committed_values(committed: dict) -> None:
    for name in SPLITS:
        table = committed[name]
        assert table.feature_names == [f"s{i}" for i in range(mitdb.BEAT_LEN)]
        assert table.X.min() >= 0.0 and table.X.max() <= 1.0
        assert abs(len(table.y) - EXPECTED_ROWS[name]) <= 0.15 * EXPECTED_ROWS[name]
        check_two_classes(table)
        assert set(np.unique(table.y)) == {0, 1}


def test_committed_size_budget() -> None:
    total = sum((DATA / f).stat().st_size for f in mitdb.FILES.values())
    assert total <= 5 * 1024 * 1024


def test_missing_mitdb_dir_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="MIT-BIH directory not found"):
        mitdb.build_dataset(tmp_path / "nowhere", tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_evenly_spaced_and_caps() -> None:
    assert mitdb.evenly_spaced(3, 5).tolist() == [0, 1, 2]
    idx = mitdb.evenly_spaced(1000, 250)
    assert len(set(idx.tolist())) == 250 and idx[0] == 0 and idx[-1] < 1000
    assert np.all(np.diff(idx) == 4)
    symbols = np.array(["N"] * 600 + ["V"] * 200 + ["A"] * 10 + ["~"] * 5)
    kept = symbols[mitdb.cap_beats(symbols)]
    assert (kept == "N").sum() == mitdb.NORMAL_CAP
    assert (kept == "V").sum() == mitdb.ABNORMAL_CAP_PER_SYMBOL
    assert (kept == "A").sum() == 10 and "~" not in kept


def test_segment_beats_window_rules() -> None:
    signal = np.sin(np.linspace(0, 60, mitdb.WINDOW * 2 + 100))  # 2 full windows + a partial one
    peaks = np.array([100, 200, 300, 1240, 1300, 2550])  # last window partial: dropped
    symbols = np.array(["N", "V", "N", "N", "N", "N"])
    beats, kept = mitdb.segment_beats(signal, peaks, symbols)
    # window 0: T = 100 -> 120 samples; the beat at 1240 would cross the window end: skipped.
    # window 1: a single beat (1300): no R-R interval, skipped.
    assert kept.tolist() == ["N", "V", "N"]
    assert beats.shape == (3, mitdb.BEAT_LEN)
    assert np.all(beats[:, 120:] == 0) and np.all(beats[:, :120].max(axis=1) > 0)
    assert beats.min() >= 0 and beats.max() <= 1
