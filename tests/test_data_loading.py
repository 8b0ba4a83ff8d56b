"""tinybeat.datasets.table: CSV loading, format detection and strict validation with precise locations."""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "python"))

from tinybeat.datasets.table import DataError, Table, check_two_classes, load_csv, load_files  # noqa: E402

HEADER = "s0,s1,s2,target,record\n"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def kaggle_text(n_rows: int = 6, n_features: int = 187, seed: int = 0) -> str:
    """Rows like the Kaggle ptbdb files: %.18e values, label 0.0/1.0 as a float in the last column."""
    rng = np.random.default_rng(seed)
    X = rng.random((n_rows, n_features))
    y = np.arange(n_rows) % 2
    return "".join(",".join(f"{v:.18e}" for v in [*row, float(label)]) + "\n" for row, label in zip(X, y))


def assert_error(exc: DataError, path: Path, row: int | None, column: str | None,
                 index: int | None, reason: str) -> None:
    """The message and the attributes name the file, row, column and reason."""
    msg = str(exc)
    assert msg.startswith(f"{path}: "), msg
    assert exc.file == str(path)
    assert exc.row == row and exc.column == column and exc.column_index == index, msg
    if row is not None:
        assert f"row {row}" in msg
    if column is not None:
        assert f"'{column}'" in msg
    if index is not None:
        assert f"({index})" in msg
    assert reason in msg and reason in exc.reason, msg


def load_error(path: Path, **kwargs) -> DataError:
    with pytest.raises(DataError) as info:
        load_csv(path, **kwargs)
    return info.value


# ---- formats that load -------------------------------------------------------------


def test_kaggle_format_like_ptbdb(tmp_path: Path) -> None:
    path = write(tmp_path / "ptbdb_normal.csv", kaggle_text())
    table = load_csv(path)
    assert isinstance(table, Table)
    assert table.X.shape == (6, 187) and table.X.dtype == np.float64
    assert table.y.dtype == np.int64 and table.y.tolist() == [0, 1, 0, 1, 0, 1]
    assert table.groups is None
    assert table.feature_names == [f"x{i}" for i in range(187)]
    assert table.files == [str(path)]
    expected = np.loadtxt(path, delimiter=",")
    np.testing.assert_array_equal(table.X, expected[:, :-1])


def test_header_format_with_group(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", HEADER + "0.1,0.2,0.3,0,100\n1,0,0.5,1.0,201\n")
    table = load_csv(path, target="target", group="record")
    np.testing.assert_array_equal(table.X, [[0.1, 0.2, 0.3], [1.0, 0.0, 0.5]])
    assert table.y.tolist() == [0, 1]
    assert table.groups.dtype == object and table.groups.tolist() == ["100", "201"]
    assert table.feature_names == ["s0", "s1", "s2"]


def test_header_target_in_the_middle_and_no_group(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "a,label,b\n0.25,1,0.75\n0.5,0,1\n")
    table = load_csv(path, target="label")
    assert table.feature_names == ["a", "b"]
    np.testing.assert_array_equal(table.X, [[0.25, 0.75], [0.5, 1.0]])
    assert table.y.tolist() == [1, 0] and table.groups is None


def test_gzip_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "h.csv.gz"
    path.write_bytes(gzip.compress((HEADER + "0.1,0.2,0.3,1,7\n0,0,0,0,8\n").replace("\n", "\r\n").encode()))
    table = load_csv(path, target="target", group="record")
    assert table.y.tolist() == [1, 0] and table.groups.tolist() == ["7", "8"]


def test_quoted_fields_use_the_csv_parser(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 's0,s1,s2,target,record\n"0.1",0.2,0.3,1,"rec, 1"\n0,0,0,0,r2\n')
    table = load_csv(path, target="target", group="record")
    assert table.groups.tolist() == ["rec, 1", "r2"]


@pytest.mark.parametrize(
    ("text", "kwargs", "names"),
    [
        ("0.1,0.2,1\n0.3,0.4,0\n", {}, ["x0", "x1"]),
        ("a,b,target\n0.1,0.2,1\n", {"target": "target"}, ["a", "b"]),
        ("0.5,nope,1\n0.3,0.4,0\n", {"target": "1"}, []),  # a header: not all numbers
    ],
)
def test_auto_detection(tmp_path: Path, text: str, kwargs: dict, names: list[str]) -> None:
    path = write(tmp_path / "auto.csv", text)
    if names:
        assert load_csv(path, **kwargs).feature_names == names
    else:  # detected as header: the row "0.5,nope,1" holds names, "0.3,0.4,0" data
        table = load_csv(path, **kwargs, input_range=None)
        assert table.feature_names == ["0.5", "nope"] and table.y.tolist() == [0]


def test_explicit_format_overrides_detection(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", "0.1,0.2,1\n0.3,0.4,0\n")
    table = load_csv(path, fmt="header", target="1")
    assert table.feature_names == ["0.1", "0.2"] and table.y.tolist() == [0]
    bad = write(tmp_path / "h.csv", "a,b,target\n0.1,0.2,1\n")
    assert_error(load_error(bad, fmt="kaggle"), bad, 1, "x0", 1, "non-numeric value 'a'")


def test_kaggle_ignores_target_and_group(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", "0.1,0.2,1\n")
    table = load_csv(path, target="target", group="record")
    assert table.groups is None and table.y.tolist() == [1]


def test_positive_labels_mapping(tmp_path: Path) -> None:
    path = write(tmp_path / "mitbih.csv", "".join(f"0.5,0.5,{c}.0\n" for c in (0, 1, 2, 3, 4, 0)))
    table = load_csv(path, positive_labels=[1, 2, 3, 4])
    assert table.y.tolist() == [0, 1, 1, 1, 1, 0]
    table = load_csv(path, positive_labels=[2])
    assert table.y.tolist() == [0, 0, 1, 0, 0, 0]


def test_input_range_is_inclusive_and_configurable(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", "0,1,1\n-2,5,0\n")
    assert load_csv(path, input_range=(-2.0, 5.0)).X.tolist() == [[0.0, 1.0], [-2.0, 5.0]]
    assert load_csv(path, input_range=None).X.shape == (2, 2)


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "k.csv", "0.1,0.2,1\n\n0.3,0.4,0\n\n0.5,x,1\n")
    assert_error(load_error(path), path, 5, "x1", 2, "non-numeric value 'x'")


# ---- bad input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "row", "column", "index", "reason"),
    [
        ("0.1,0.2,1\n0.1,0.2\n", 2, "label", 3, "expected 3 columns, found 2"),
        ("0.1,0.2,1\n0.1,0.2,0,0.4\n", 2, None, 4, "expected 3 columns, found 4"),
        ("0.1,0.2,1\n0.1,abc,0\n", 2, "x1", 2, "non-numeric value 'abc'"),
        ("0.1,0.2,1\n0.1,,0\n", 2, "x1", 2, "non-numeric value ''"),
        ("0.1,0.2,1\n0.1,0.2,0\nnan,0.2,1\n", 3, "x0", 1, "NaN value 'nan'"),
        ("0.1,0.2,1\n0.1,NaN,1\n", 2, "x1", 2, "NaN value 'NaN'"),
        ("0.1,0.2,1\n0.1,inf,1\n", 2, "x1", 2, "infinite value 'inf'"),
        ("0.1,0.2,1\n0.1,-Infinity,1\n", 2, "x1", 2, "infinite value '-Infinity'"),
        ("0.1,0.2,1\n0.1,1e999,1\n", 2, "x1", 2, "infinite value '1e999'"),
        ("0.1,0.2,1\n0.1,0.2,nan\n", 2, "label", 3, "NaN value 'nan'"),
        ("0.1,0.2,1\n0.1,1.5,1\n", 2, "x1", 2, "value 1.5 outside input range [0, 1]"),
        ("0.1,0.2,1\n-0.01,0.5,1\n", 2, "x0", 1, "value -0.01 outside input range [0, 1]"),
        ("0.1,0.2,1\n0.1,0.2,2\n", 2, "label", 3, "label must be 0 or 1, got 2"),
        ("0.1,0.2,1\n0.1,0.2,0.5\n", 2, "label", 3, "label must be 0 or 1, got 0.5"),
        ("0.1,0.2,1\n0.1,0.2,-1\n", 2, "label", 3, "label must be 0 or 1, got -1"),
    ],
)
def test_kaggle_bad_cells(tmp_path: Path, text: str, row: int, column: str | None,
                          index: int, reason: str) -> None:
    path = write(tmp_path / "bad.csv", text)
    assert_error(load_error(path), path, row, column, index, reason)


@pytest.mark.parametrize(
    ("body", "row", "column", "index", "reason"),
    [
        ("0.1,0.2,0.3,1,100\n0.1,0.2,0.3,1\n", 3, "record", 5, "expected 5 columns, found 4"),
        ("0.1,0.2,0.3,1,100\n0.1,x,0.3,1,100\n", 3, "s1", 2, "non-numeric value 'x'"),
        ("0.1,0.2,0.3,1,100\n0.1,0.2,0.3,one,100\n", 3, "target", 4, "non-numeric value 'one'"),
        ("0.1,0.2,0.3,1,100\n0.1,0.2,inf,1,100\n", 3, "s2", 3, "infinite value 'inf'"),
        ("0.1,0.2,0.3,1,100\n0.1,0.2,1.01,1,100\n", 3, "s2", 3, "outside input range"),
        ("0.1,0.2,0.3,1,100\n0.1,0.2,0.3,3,100\n", 3, "target", 4, "label must be 0 or 1, got 3"),
        ("0.1,0.2,0.3,1,100\n0.1,0.2,0.3,1, \n", 3, "record", 5, "empty group value"),
    ],
)
def test_header_bad_cells(tmp_path: Path, body: str, row: int, column: str, index: int,
                          reason: str) -> None:
    path = write(tmp_path / "bad.csv", HEADER + body)
    assert_error(load_error(path, target="target", group="record"), path, row, column, index, reason)


def test_first_error_in_file_order(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "0.1,0.2,1\n0.1,7,1\n0.1,nan,1\n")
    assert_error(load_error(path), path, 2, "x1", 2, "outside input range")
    path = write(tmp_path / "bad2.csv", "0.1,0.2,1\n0.1,nan,1\n0.1,abc,1\n")
    assert_error(load_error(path), path, 2, "x1", 2, "NaN value")


@pytest.mark.parametrize("text", ["", "\n\n", "s0,s1,target\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "empty.csv", text)
    exc = load_error(path, target="target")
    assert_error(exc, path, None, None, None, "empty file")
    assert "no data rows" in str(exc)


def test_empty_gzip_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    assert_error(load_error(path), path, None, None, None, "empty file: no data rows")


def test_missing_target_column(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "s0,s1,label\n0.1,0.2,1\n")
    exc = load_error(path, target="target")
    assert_error(exc, path, 1, "target", None, "target column missing from the header row")
    assert "s0, s1, label" in str(exc)


def test_missing_group_column(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "s0,s1,target\n0.1,0.2,1\n")
    exc = load_error(path, target="target", group="record")
    assert_error(exc, path, 1, "record", None, "group column missing from the header row")


def test_header_needs_a_target(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "s0,s1,target\n0.1,0.2,1\n")
    assert_error(load_error(path), path, 1, None, None, "target=<label column name> is required")


def test_duplicate_header_name(tmp_path: Path) -> None:
    path = write(tmp_path / "h.csv", "s0,s0,target\n0.1,0.2,1\n")
    assert_error(load_error(path, target="target"), path, 1, "s0", 2, "duplicate column name")


def test_single_class(tmp_path: Path) -> None:
    a = write(tmp_path / "normal.csv", "0.1,0.2,0\n0.3,0.4,0.0\n")
    b = write(tmp_path / "normal2.csv", "0.5,0.6,0\n")
    table = load_files([a, b])
    with pytest.raises(DataError) as info:
        check_two_classes(table)
    msg = str(info.value)
    assert str(a) in msg and str(b) in msg
    assert "only one class present: 0 (normal) in all 3 rows" in msg
    only_abnormal = load_csv(write(tmp_path / "abn.csv", "0.1,0.2,1\n"))
    with pytest.raises(DataError, match=r"only one class present: 1 \(abnormal\)"):
        check_two_classes(only_abnormal)
    check_two_classes(load_files([a, tmp_path / "abn.csv"]))  # both classes: fine


def test_load_files_concatenates(tmp_path: Path) -> None:
    a = write(tmp_path / "ptbdb_normal.csv", kaggle_text(4, seed=1))
    b = tmp_path / "ptbdb_abnormal.csv.gz"
    b.write_bytes(gzip.compress(kaggle_text(3, seed=2).encode()))
    table = load_files([a, b])
    assert table.X.shape == (7, 187) and table.y.shape == (7,)
    assert table.files == [str(a), str(b)]
    np.testing.assert_array_equal(table.X[:4], load_csv(a).X)


def test_load_files_feature_count_mismatch(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "0.1,0.2,1\n")
    b = write(tmp_path / "b.csv", "0.1,0.2,0.3,0\n")
    with pytest.raises(DataError) as info:
        load_files([a, b])
    assert_error(info.value, b, 1, None, None, f"3 feature columns, but {a} has 2")


def test_load_files_feature_name_mismatch(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "s0,s1,target\n0.1,0.2,1\n")
    b = write(tmp_path / "b.csv", "s0,t1,target\n0.1,0.2,0\n")
    with pytest.raises(DataError) as info:
        load_files([a, b], target="target")
    assert_error(info.value, b, 1, "t1", 2, f"feature name differs from {a} ('s1')")


def test_load_files_reports_the_bad_file(tmp_path: Path) -> None:
    a = write(tmp_path / "a.csv", "0.1,0.2,1\n")
    b = write(tmp_path / "b.csv", "0.1,0.2,1\n0.3,oops,0\n")
    with pytest.raises(DataError) as info:
        load_files([a, b])
    assert_error(info.value, b, 2, "x1", 2, "non-numeric value 'oops'")


def test_values_using_a_tiny_part_of_the_input_range_stop(tmp_path: Path) -> None:
    """Kaggle values in [0, 1] under input_range [0, 255] would quantise to codes 0 and 1: an error naming the key."""
    path = write(tmp_path / "ptb.csv", kaggle_text(n_rows=8))
    with pytest.raises(DataError) as err:
        load_csv(path, input_range=(0.0, 255.0))
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "data.input_range" in msg and "[0, 255]" in msg, msg
    assert "\n" not in msg
    # the same file under a range it fills, or bytes under [0, 255], load
    assert load_csv(path, input_range=(0.0, 1.0)).X.shape == (8, 187)
    byte_rows = "".join(",".join(str(v) for v in [*range(0, 187), 1]) + "\n" for _ in range(3))
    assert load_csv(write(tmp_path / "bytes.csv", byte_rows), input_range=(0.0, 255.0)).X.shape == (3, 187)
