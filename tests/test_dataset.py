"""Beats cut from raw records by the front end: labelling, the default dataset, `data.kind: records`.

The committed excerpt (data/records/208_5min, 5 minutes of MIT-BIH record 208)
exercises every path on every run; the full-database checks need
../shared/data/mitdb and skip cleanly without it.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest

from projkit import SMALL_SEARCH, make_project, single_threaded
from tinybeat.recordings import labelled
from tinybeat import frontend
from tinybeat.datasets.table import DataError, check_two_classes, load_csv
from tinybeat.pipeline.ensure import ensure_model
from tinybeat.recordings.records import RecordError, load_record

ROOT = Path(__file__).resolve().parents[1]
EXCERPT = ROOT / "data" / "records" / "208_5min"
MITDB = ROOT.parent / "shared" / "data" / "mitdb"
DATA = ROOT / "data"


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    with single_threaded():
        yield


@pytest.fixture(scope="module")
def excerpt() -> labelled.RecordBeats:
    return labelled.label_record(load_record(EXCERPT))


def test_excerpt_beats_are_labelled_from_the_annotations(excerpt: labelled.RecordBeats) -> None:
    c = excerpt.counts
    rec = load_record(EXCERPT)
    assert c["reference_beats"] == len(rec.ann_samples) == 518  # 278 N + 168 V + 72 F
    # every detection is accounted for: complete beats + the open one(s) at the end
    assert c["beats"] + c["not_completed"] == c["detections"]
    assert c["labelled"] + c["unmatched_beats"] + c["no_rhythm_context"] + c["unclassifiable_reference"] \
        == c["beats"]
    assert c["labelled"] == len(excerpt.symbols) == excerpt.x.shape[0]
    assert excerpt.x.shape[1] == frontend.params.N_INPUTS == 193
    assert excerpt.detection["sensitivity"] > 0.97 and excerpt.detection["positive_predictivity"] > 0.97
    labels = excerpt.labels
    assert set(np.unique(excerpt.symbols)) <= {"N", "V", "F"}
    assert labels.sum() == np.isin(excerpt.symbols, ["V", "F"]).sum() > 150


def test_rhythm_features_separate_premature_beats(excerpt: labelled.RecordBeats) -> None:
    """Ventricular beats in 208 come early: their pre-RR ratio (x[190], 64 = average) is lower."""
    pre_ratio = excerpt.x[:, 190].astype(int)
    v = pre_ratio[excerpt.symbols == "V"]
    n = pre_ratio[excerpt.symbols == "N"]
    assert np.median(v) < np.median(n) - 5


def test_caps_keep_rare_kinds() -> None:
    symbols = np.array(["N"] * 600 + ["V"] * 200 + ["A"] * 10 + ["?"] * 5)
    kept = symbols[labelled.cap_beats(symbols)]
    assert (kept == "N").sum() == labelled.NORMAL_CAP
    assert (kept == "V").sum() == labelled.ABNORMAL_CAP_PER_SYMBOL
    assert (kept == "A").sum() == 10 and "?" not in kept
    idx = labelled.evenly_spaced(1000, 250)
    assert len(set(idx.tolist())) == 250 and np.all(np.diff(idx) == 4)


def _csv_record(dest: Path, name: str, start: int, stop: int) -> Path:
    """Samples start..stop of the excerpt as a samples CSV (mV) plus a beats CSV (symbols)."""
    import wfdb

    rec = wfdb.rdrecord(str(EXCERPT), physical=False)
    adu = rec.d_signal[start:stop, 0]
    mv = (adu - 1024) / 200.0
    path = dest / f"{name}.csv"
    path.write_text("ecg_mv\n" + "".join(f"{v:.3f}\n" for v in mv))
    full = load_record(EXCERPT)
    inside = (full.ann_samples >= start) & (full.ann_samples < stop)
    lines = [f"{s - start},{sym}\n" for s, sym in zip(full.ann_samples[inside], full.ann_symbols[inside])]
    (dest / f"{name}_beats.csv").write_text("sample,symbol\n" + "".join(lines))
    return path


def test_csv_record_gives_the_same_adc_codes_as_wfdb(tmp_path: Path) -> None:
    path = _csv_record(tmp_path, "part", 0, 36_000)
    csv_rec = labelled.load_csv_record(path, 360)
    wfdb_rec = load_record(EXCERPT)
    assert np.array_equal(csv_rec.adc, wfdb_rec.adc[:36_000])
    assert csv_rec.ann_symbols.tolist() == wfdb_rec.ann_symbols[wfdb_rec.ann_samples < 36_000].tolist()


@pytest.mark.parametrize("body,expect", [
    ("ecg_mv\n0.1\nabc\n", "row 3, column 'ecg_mv'"),
    ("ecg_mv\n0.1\nnan\n", "not a finite number"),
    ("volts\n0.1\n", "no column 'ecg_mv'"),
    ("ecg_mv\n", "no data rows"),
])
def test_bad_csv_records_are_one_line_errors(tmp_path: Path, body: str, expect: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(RecordError, match=expect) as err:
        labelled.load_csv_record(path, 360)
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_csv_record_needs_a_sample_rate_in_range(tmp_path: Path) -> None:
    path = _csv_record(tmp_path, "part", 0, 3600)
    with pytest.raises(RecordError, match="data.sample_rate"):
        labelled.load_csv_record(path, None)
    with pytest.raises(RecordError, match="below the front end's 125 Hz"):
        labelled.load_csv_record(path, 100)
    assert labelled.load_csv_record(path, 720).fs == 360  # faster: resampled to 360 Hz


def test_records_kind_trains_end_to_end(tmp_path: Path) -> None:
    """data.kind: records: CSV records in, a 193-input model out, detection and rhythm sections in the report."""
    (tmp_path / "data").mkdir()
    for name, (a, b) in {"a": (0, 36_000), "b": (36_000, 72_000), "c": (72_000, 108_000)}.items():
        _csv_record(tmp_path / "data", name, a, b)
    config = {"data": {"kind": "records", "train": ["data/a.csv", "data/b.csv"], "test": ["data/c.csv"],
                       "sample_rate": 360},
              "search": {**SMALL_SEARCH, "cv_folds": 2}}
    project = make_project(tmp_path, config, {})
    result = ensure_model(project, "megaatmega2560", log=lambda _: None)
    assert result["trained"]
    trained = json.loads((project / "model" / "trained.json").read_text())
    assert trained["n_inputs"] == 193
    assert set(trained["detection"]["records"]) == {"a", "b", "c"}
    assert trained["morphology_only"]["n_inputs"] == 187
    report = (project / "model" / "report.md").read_text()
    assert "What the rhythm features add" in report and "Beat detection" in report


def test_records_kind_without_annotations_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    path = _csv_record(tmp_path / "data", "a", 0, 36_000)
    (tmp_path / "data" / "a_beats.csv").unlink()
    with pytest.raises(DataError, match="no beat annotations"):
        labelled.records_table([path], sample_rate=360)


def test_committed_dataset_matches_the_manifest() -> None:
    manifest = json.loads((DATA / labelled.MANIFEST).read_text())
    for name, split in manifest["splits"].items():
        table = load_csv(DATA / split["file"], target="target", group="record", input_range=(0, 255))
        check_two_classes(table)
        assert table.feature_names == labelled.COLUMNS
        assert len(table.y) == split["rows"] and int(table.y.sum()) == split["abnormal"]
        assert set(table.groups.tolist()) == set(split["records"])
        assert np.all(table.X == np.round(table.X))
        head = (DATA / split["file"]).read_bytes()[:10]
        assert head[:3] == b"\x1f\x8b\x08" and head[4:8] == b"\0\0\0\0"  # reproducible gzip
    train, test = (set(manifest["splits"][s]["records"]) for s in ("train", "test"))
    assert not train & test and test == set(labelled.TEST_RECORDS)
    assert len(train | test) == 42


@pytest.mark.skipif(not (MITDB / "RECORDS").is_file(), reason=f"raw MIT-BIH records not at {MITDB}")
def test_committed_dataset_rebuilds_byte_identical(tmp_path: Path) -> None:
    manifest = labelled.build_dataset(MITDB, tmp_path, progress=False)
    for split in manifest["splits"].values():
        fresh, kept = tmp_path / split["file"], DATA / split["file"]
        assert gzip.decompress(fresh.read_bytes()) == gzip.decompress(kept.read_bytes())
    assert json.loads((tmp_path / labelled.MANIFEST).read_text()) == json.loads((DATA / labelled.MANIFEST).read_text())


def test_missing_mitdb_dir_is_a_clear_error(tmp_path: Path) -> None:
    from tinybeat.recordings.records import RecordError

    with pytest.raises(RecordError, match="not a directory of WFDB records"):
        labelled.build_dataset(tmp_path / "nowhere", tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_front_end_code_counts_for_records_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Editing the front end retrains a records-kind project, not a CSV-beats one."""
    import shutil

    from tinybeat.pipeline import ensure

    pkg = tmp_path / "tinybeat"
    shutil.copytree(Path(ensure.__file__).parents[1], pkg, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(ensure, "PACKAGE_DIR", pkg)
    before = {k: ensure.pipeline_source_hash(k) for k in ("beats", "records")}
    with open(pkg / "frontend" / "detector.py", "a") as fh:
        fh.write("\n# edited\n")
    after = {k: ensure.pipeline_source_hash(k) for k in ("beats", "records")}
    assert after["beats"] == before["beats"] and after["records"] != before["records"]
    with open(pkg / "core" / "search.py", "a") as fh:
        fh.write("\n# edited\n")
    trained_by = {k: ensure.pipeline_source_hash(k) for k in ("beats", "records")}
    assert trained_by["beats"] != after["beats"]
    for not_training in ("device/stream.py", "codegen/c_header.py", "cli.py"):  # run after training only
        with open(pkg / not_training, "a") as fh:
            fh.write("\n# edited\n")
    assert {k: ensure.pipeline_source_hash(k) for k in ("beats", "records")} == trained_by
