"""Load labelled heartbeat CSVs with strict validation and precise error locations.

Two layouts are understood (plain or gzip-compressed, detected by content):

* ``"kaggle"``: no header, every column numeric, the LAST column is the label
  (Kaggle "ECG Heartbeat Categorization" files such as ``ptbdb_normal.csv``);
  features are named ``x0 .. x{n-2}``, the label column ``label``. ``target``
  and ``group`` only apply to header files and are ignored here (no groups).
* ``"header"``: the first row names the columns; ``target`` names the label
  column (required), optional ``group`` a group column (kept as text, e.g. a
  record id, not a feature); every other column is a numeric feature.

``"auto"`` picks kaggle when the first row parses entirely as numbers.
Every problem raises :class:`DataError` naming the file, the 1-based line, the
column (name and 1-based index) and the reason. Nothing is silently dropped;
only completely blank lines are skipped. Numbers are anything Python's
``float()`` accepts except NaN and infinities.
"""

from __future__ import annotations

import csv
import gzip
import io
import math
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

StrPath = str | PathLike
LABEL_NAME = "label"  # name given to the last column of kaggle files
FORMATS = ("auto", "kaggle", "header")


class DataError(ValueError):
    """Bad input: message names file, row (1-based line number in the file), column and reason.

    Attributes: ``file``, ``row`` (or None), ``column`` (name or None),
    ``column_index`` (1-based or None) and ``reason``.
    """

    def __init__(self, file: StrPath, reason: str, *, row: int | None = None,
                 column: str | None = None, column_index: int | None = None) -> None:
        self.file, self.row, self.reason = str(file), row, reason
        self.column, self.column_index = column, column_index
        where = [] if row is None else [f"row {row}"]
        col = [f"'{column}'"] if column is not None else []
        col += [f"({column_index})"] if column_index is not None else []
        where += [" ".join(["column", *col])] if col else []
        location = ", ".join(where) + ": " if where else ""
        super().__init__(f"{self.file}: {location}{reason}")


@dataclass(frozen=True)
class Table:
    """A labelled table.

    X: float64 (n_rows, n_features), values as read; y: int64 (n_rows,), 0 normal,
    1 abnormal; groups: object (n_rows,) of str, or None without a group column.
    """

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray | None
    feature_names: list[str]
    files: list[str]


@dataclass(frozen=True)
class _Layout:
    """One file: column names (file order), 1-based line of each data row, column roles, rules."""

    path: Path
    names: list[str]
    lines: list[int]
    target: int  # 0-based file column of the label
    group: int | None  # 0-based file column of the group, if any
    bounds: tuple[float, float] | None
    positive: Sequence[float] | None

    @property
    def numeric(self) -> list[int]:
        """File columns holding numbers (features and label), ascending."""
        return [j for j in range(len(self.names)) if j != self.group]

    def error(self, reason: str, i: int | None = None, j: int | None = None) -> DataError:
        """DataError at data row ``i`` and file column ``j`` (both 0-based, optional)."""
        name = self.names[j] if j is not None and j < len(self.names) else None
        return DataError(self.path, reason, row=None if i is None else self.lines[i], column=name,
                         column_index=None if j is None else j + 1)

    def problem(self, j: int, text: str) -> str | None:
        """Why cell ``text`` of file column ``j`` is invalid, or None if it is fine."""
        if j == self.group:
            return None if text.strip() else "empty group value"
        try:
            value = float(text)
        except ValueError:
            return f"non-numeric value {text!r}"
        if math.isnan(value):
            return f"NaN value {text!r}"
        if math.isinf(value):
            return f"infinite value {text!r}"
        if j == self.target:
            if self.positive is None and value not in (0.0, 1.0):
                return f"label must be 0 or 1, got {value:g} (pass positive_labels to map classes)"
        elif self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            return f"value {value:g} outside input range [{self.bounds[0]:g}, {self.bounds[1]:g}]"
        return None

    def bad_mask(self, values: np.ndarray) -> np.ndarray:
        """bool (n_rows, n_numeric): cells of parsed ``values`` that :meth:`problem` rejects."""
        bad = ~np.isfinite(values)
        cols = self.numeric
        t = cols.index(self.target)
        if self.positive is None:
            bad[:, t] |= (values[:, t] != 0) & (values[:, t] != 1)
        if self.bounds is not None:
            feats = [k for k in range(len(cols)) if k != t]
            low, high = self.bounds
            bad[:, feats] |= (values[:, feats] < low) | (values[:, feats] > high)
        return bad


def _read_rows(path: Path) -> tuple[list[list[str]], list[int]]:
    """All non-blank rows of a (gzip) CSV as strings, with their 1-based line numbers."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(path, f"cannot read file ({exc.strerror or exc})") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DataError(path, f"corrupt gzip data ({exc})") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(path, f"not UTF-8 text (byte offset {exc.start})") from exc
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if '"' not in text and "\r" not in text:  # plain CSV: a fast split gives the same rows
        split = text.split("\n")
        return [r.split(",") for r in split if r], [n for n, r in enumerate(split, 1) if r]
    reader = csv.reader(io.StringIO(text, newline=""))
    rows, lines = [], []
    try:
        for row in reader:
            if row:
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as exc:
        raise DataError(path, f"malformed CSV ({exc})", row=reader.line_num) from exc
    return rows, lines


def _header_names(path: Path, header: list[str], line: int, target: str | None,
                  group: str | None) -> list[str]:
    """Validated header names (stripped): no empty or duplicate names, target/group present."""
    names = [name.strip() for name in header]
    seen: dict[str, int] = {}
    for j, name in enumerate(names, start=1):
        if not name:
            raise DataError(path, "empty column name in header", row=line, column_index=j)
        if name in seen:
            reason = f"duplicate column name (also column {seen[name]})"
            raise DataError(path, reason, row=line, column=name, column_index=j)
        seen[name] = j
    if target is None:
        raise DataError(path, "file has a header: target=<label column name> is required", row=line)
    for role, name in (("target", target), ("group", group)):
        if name is not None and name not in seen:
            shown = names if len(names) <= 8 else [*names[:4], "...", *names[-3:]]
            reason = (f"{role} column missing from the header row ({len(names)} columns: {', '.join(shown)}); "
                      f"set data.{role} to one of them, or `format: kaggle` if this file has no header "
                      "(label in the last column)")
            raise DataError(path, reason, row=line, column=name)
    if group == target:
        raise DataError(path, "group and target name the same column", row=line, column=group)
    if len(names) - 1 - (group is not None) < 1:
        raise DataError(path, "no feature columns", row=line)
    return names


def _width_error(layout: _Layout, rows: list[list[str]]) -> tuple[int, DataError | None]:
    """(index of the first row with a wrong column count or len(rows), its error or None)."""
    width = len(layout.names)
    for i, row in enumerate(rows):
        if len(row) != width:
            what = "missing" if len(row) < width else "unexpected extra column"
            reason = f"expected {width} columns, found {len(row)} ({what})"
            return i, layout.error(reason, i, min(len(row), width))
    return len(rows), None


def _parse_prefix(cells: list[list[str]], n_cols: int) -> tuple[np.ndarray, int | None]:
    """float64 (n, n_cols) of all rows, or of the rows before the first unparsable row ``n``.

    Returns (values, None) when every row parses, else (values of rows[:n], n).
    """
    try:
        return np.array(cells, dtype=np.float64).reshape(len(cells), n_cols), None
    except ValueError:
        for n, row in enumerate(cells):
            try:
                np.array(row, dtype=np.float64)
            except ValueError:
                return np.array(cells[:n], dtype=np.float64).reshape(n, n_cols), n
    raise AssertionError("numpy parsed every row separately but not together")  # pragma: no cover


def _validate(layout: _Layout, rows: list[list[str]]) -> np.ndarray:
    """Parse and check all rows; raise at the first problem in file order.

    Returns float64 (n_rows, len(layout.numeric)): the numeric columns in file order.
    """
    end, width_error = _width_error(layout, rows)
    cols = layout.numeric
    cells = [[r[j] for j in cols] for r in rows[:end]] if layout.group is not None else rows[:end]
    values, start = _parse_prefix(cells, len(cols))
    bad = layout.bad_mask(values)
    mask = np.zeros((len(bad), len(layout.names)), dtype=bool)
    mask[:, cols] = bad
    if layout.group is not None:
        mask[:, layout.group] = [not r[layout.group].strip() for r in rows[: len(bad)]]
    hits = np.argwhere(mask)
    scan = [(int(hits[0, 0]), int(hits[0, 1]))] if hits.size else []
    if start is not None:
        scan += [(start, j) for j in range(len(layout.names))]
    for i, j in scan:  # first problem: a flagged cell, else a cell of the unparsable row
        problem = layout.problem(j, rows[i][j])
        if problem:
            raise layout.error(problem, i, j)
    if scan:  # numpy and float() disagree: still never accept the row
        raise layout.error("row cannot be parsed as numbers", scan[0][0])
    if width_error is not None:
        raise width_error
    return values


def _detect(rows: list[list[str]], fmt: str) -> str:
    """Resolve ``fmt="auto"``: kaggle if the first row is all numbers, else header."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {FORMATS}, not {fmt!r}")
    if fmt != "auto":
        return fmt
    try:  # float parsing, NaN and infinities included
        np.array(rows[0], dtype=np.float64)
    except ValueError:
        return "header"
    return "kaggle"


def load_csv(
    path: StrPath,
    *,
    fmt: str = "auto",
    target: str | None = None,
    group: str | None = None,
    positive_labels: Sequence[float] | None = None,
    input_range: tuple[float, float] | None = (0.0, 1.0),
) -> Table:
    """Load one labelled CSV (plain or gzip); see the module docstring for layouts.

    ``positive_labels``: label values mapped to 1 (any other number to 0);
    without it labels must be 0 or 1. ``input_range``: inclusive bounds for
    every feature value (None: no check). Raises :class:`DataError`.
    """
    path = Path(path)
    rows, lines = _read_rows(path)
    if not rows:
        raise DataError(path, "empty file: no data rows")
    if _detect(rows, fmt) == "header":
        names = _header_names(path, rows[0], lines[0], target, group)
        rows, lines = rows[1:], lines[1:]
    else:
        if len(rows[0]) < 2:
            raise DataError(path, "need at least one feature and a label column", row=lines[0])
        names = [f"x{j}" for j in range(len(rows[0]) - 1)] + [LABEL_NAME]
        target, group = LABEL_NAME, None
    if not rows:
        raise DataError(path, "empty file: header but no data rows")
    t, g = names.index(target), None if group is None else names.index(group)
    layout = _Layout(path, names, lines, t, g, input_range, positive_labels)
    values = _validate(layout, rows)
    numeric = layout.numeric
    feats = [j for j in numeric if j != t]
    X = np.ascontiguousarray(values[:, [k for k, j in enumerate(numeric) if j != t]])
    raw = values[:, numeric.index(t)]
    if positive_labels is None:
        y = raw.astype(np.int64)
    else:
        y = np.isin(raw, np.asarray(list(positive_labels), dtype=np.float64)).astype(np.int64)
    groups = None if g is None else np.array([r[g].strip() for r in rows], dtype=object)
    if input_range is not None:
        check_range_use(path, X, input_range)
    return Table(X, y, groups, [names[j] for j in feats], [str(path)])


MIN_RANGE_USE = 1 / 32  # values spanning less of input_range than this keep under 8 of the 256 byte codes


def check_range_use(path: StrPath, X: np.ndarray, input_range: tuple[float, float]) -> None:
    """Raise DataError when the values of X (n, d) span under MIN_RANGE_USE of ``input_range``.

    Inputs are quantised from [low, high] to bytes 0..255 for the board; e.g.
    Kaggle values in [0, 1] under [0, 255] would become codes 0 and 1 only.
    """
    if X.size == 0:
        return
    lo, hi = input_range
    a, b = float(X.min()), float(X.max())
    if b == a or (b - a) >= MIN_RANGE_USE * (hi - lo):  # constant values: no range would help
        return
    levels = int(np.floor((b - lo) * 255 / (hi - lo))) - int(np.floor((a - lo) * 255 / (hi - lo))) + 1
    raise DataError(path, f"the values span only [{a:g}, {b:g}] of the declared input range [{lo:g}, {hi:g}] "
                          f"(about {levels} of the 256 byte codes the board sees): set data.input_range in "
                          f"model/config.yaml to the data's range, e.g. [{math.floor(a):g}, {math.ceil(b):g}]")


def load_files(paths: Iterable[StrPath], **kwargs) -> Table:
    """Load several CSVs with the same ``load_csv`` options and concatenate them (file order).

    All files must have the same feature names (hence count) and all or none
    a group column; otherwise a :class:`DataError` names the offending file.
    """
    tables = [load_csv(p, **kwargs) for p in paths]
    if not tables:
        raise ValueError("load_files: no files given")
    first = tables[0]
    ref = first.files[0]
    for table in tables[1:]:
        file, names = table.files[0], table.feature_names
        if len(names) != len(first.feature_names):
            reason = f"{len(names)} feature columns, but {ref} has {len(first.feature_names)}"
            raise DataError(file, reason, row=1)
        for j, (a, b) in enumerate(zip(names, first.feature_names), start=1):
            if a != b:
                reason = f"feature name differs from {ref} ({b!r})"
                raise DataError(file, reason, row=1, column=a, column_index=j)
        if (table.groups is None) != (first.groups is None):
            raise DataError(file, f"group column present in only one of this file and {ref}")
    groups = None if first.groups is None else np.concatenate([t.groups for t in tables])
    return Table(np.concatenate([t.X for t in tables]), np.concatenate([t.y for t in tables]),
                 groups, list(first.feature_names), [f for t in tables for f in t.files])


def check_two_classes(table: Table) -> None:
    """Raise :class:`DataError` (naming the files) unless ``table.y`` holds both 0 and 1."""
    present = np.unique(table.y).tolist()
    if len(present) == 2:
        return
    files = ", ".join(table.files)
    if not present:
        raise DataError(files, "no rows: training needs normal (0) and abnormal (1) rows")
    kind = {0: "normal", 1: "abnormal"}.get(present[0], "unknown")
    reason = f"only one class present: {present[0]} ({kind}) in all {len(table.y)} rows"
    raise DataError(files, reason + "; training needs normal (0) and abnormal (1) rows")
