"""`tinybeat predict FILE.csv`: classify your own beats with the saved model, on the PC or a board.

The file is read in the training format of model/config.yaml (same
input_range, target and group columns; a first row of numbers means no
header, the label then last if present). The label column is optional: with it the summary also
gives accuracy, sensitivity and specificity. The PC path runs the integer
reference (`tinybeat.core.families`), which computes exactly what the board does;
`--port` sends every beat to a board over the serial protocol instead.
Output: one CSV row per beat (row, class, score[, label]) and a summary; the
CSV goes to ``--out``, by default ``model/predict/<file name>.csv`` of the
project (git-ignored, like ``model/stream/``), never the project root.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np

from tinybeat.datasets.table import DataError, Table, _read_rows, check_range_use, load_csv


def _unlabelled(path: Path, rows: list[list[str]], lines: list[int], n_inputs: int,
                input_range: tuple[float, float], header: list[str] | None) -> Table:
    """A Table (y = -1) from rows of exactly n_inputs numbers each; DataError at the first bad cell."""
    lo, hi = input_range
    X = np.empty((len(rows), n_inputs), dtype=np.float64)
    for i, row in enumerate(rows):
        if len(row) != n_inputs:
            raise DataError(path, f"expected {n_inputs} columns (the model's inputs), found {len(row)}", row=lines[i])
        for j, text in enumerate(row):
            try:
                v = float(text)
            except ValueError:
                raise DataError(path, f"non-numeric value {text!r}", row=lines[i], column_index=j + 1) from None
            if math.isnan(v) or math.isinf(v):
                raise DataError(path, f"not a finite number: {text!r}", row=lines[i], column_index=j + 1)
            if not lo <= v <= hi:
                raise DataError(path, f"value {v:g} outside input range [{lo:g}, {hi:g}]", row=lines[i],
                                column_index=j + 1)
            X[i, j] = v
    check_range_use(path, X, input_range)
    names = header or [f"x{j}" for j in range(n_inputs)]
    return Table(X, np.full(len(rows), -1, dtype=np.int64), None, names, [str(path)])


def load_beats(path: Path, cfg, n_inputs: int) -> Table:
    """Beats of `path` in the training format; y is -1 for every row when the file has no label column."""
    d = cfg.data
    path = Path(path)
    if path.is_dir():
        raise DataError(path, "is a directory; name a CSV file")
    if not path.is_file():
        raise DataError(path, "file not found")
    rows, lines = _read_rows(path)
    if not rows:
        raise DataError(path, "empty file: no data rows")
    try:  # a first row of numbers is data, whatever the training files looked like
        np.array(rows[0], dtype=np.float64)
        fmt = "kaggle"
    except ValueError:
        fmt = "header"
    kwargs = dict(fmt=fmt, target=d.target, group=d.group, positive_labels=d.positive_labels,
                  input_range=d.input_range)
    if fmt == "header":
        names = [c.strip() for c in rows[0]]
        if d.target in names:
            table = load_csv(path, **kwargs)
        else:
            keep = [j for j, n in enumerate(names) if n != d.group]
            table = _unlabelled(path, [[r[j] for j in keep] if len(r) == len(names) else r for r in rows[1:]],
                                lines[1:], n_inputs, d.input_range, [names[j] for j in keep])
    elif len(rows[0]) == n_inputs:
        table = _unlabelled(path, rows, lines, n_inputs, d.input_range, None)
    elif len(rows[0]) != n_inputs + 1:
        raise DataError(path, f"expected {n_inputs} columns (the model's inputs) or {n_inputs + 1} (inputs, "
                              f"then the label), found {len(rows[0])}", row=lines[0])
    else:
        table = load_csv(path, **kwargs)
    if table.X.shape[1] != n_inputs:
        raise DataError(path, f"{table.X.shape[1]} inputs per beat, but the model takes {n_inputs}", row=lines[0])
    return table


def predictions_csv(classes: np.ndarray, scores: np.ndarray, labels: np.ndarray) -> str:
    """CSV text: row (1-based data row), class (1 abnormal), score (integer), label when known."""
    has_labels = bool(labels.size) and labels.min() >= 0
    out = io.StringIO()
    out.write("row,class,score" + (",label" if has_labels else "") + "\n")
    for i, (c, s) in enumerate(zip(classes, scores), start=1):
        out.write(f"{i},{int(c)},{int(s)}" + (f",{int(labels[i - 1])}" if has_labels else "") + "\n")
    return out.getvalue()


def summary_text(name: str, classes: np.ndarray, scores: np.ndarray, labels: np.ndarray, threshold: int) -> str:
    """A few lines: counts per class and, with labels, accuracy, sensitivity and specificity."""
    n = len(classes)
    ab = int(classes.sum())
    lines = [f"model {name}: {n} beats, {ab} abnormal ({100 * ab / max(n, 1):.1f} %), {n - ab} normal"]
    if n and labels.min() >= 0:
        from tinybeat.core.metrics import summary

        m = summary(labels, scores, threshold)
        lines.append(f"against the file's labels: accuracy {100 * m['accuracy']:.1f} %, sensitivity "
                     f"{100 * m['sensitivity']:.1f} %, specificity {100 * m['specificity']:.1f} %")
    return "\n".join(lines)


def default_output(project: Path, beats_file: Path) -> Path:
    """model/predict/<name>.csv for beats_file (``walk.csv.gz`` -> ``walk.csv``)."""
    name = beats_file.name
    for ext in (".gz", ".csv"):
        name = name[:-len(ext)] if name.endswith(ext) else name
    return project / "model" / "predict" / f"{name}.csv"


def predict_main(args) -> int:
    """`tinybeat predict`: see the module docstring."""
    import sys

    from tinybeat.core import families
    from tinybeat.util.atomic import write_text_atomic
    from tinybeat.targets.boards import load_board
    from tinybeat.pipeline.config import load_config
    from tinybeat.device.client import Device, DeviceError, check_port_exists
    from tinybeat.pipeline.artifacts import Paths, load_trained
    from tinybeat.pipeline.selection import select_for_board
    from tinybeat.core.quantize import quantize_inputs

    paths = Paths(Path(args.project).resolve())
    cfg = load_config(paths.config)
    board = load_board(paths.project, args.board)
    trained = load_trained(paths)
    if trained is None:
        raise DeviceError("no trained model in model/trained.json: run `pio run` first")
    entry = select_for_board(trained, board, cfg)
    model = entry.model
    threshold = entry.decision_threshold
    table = load_beats(Path(args.file), cfg, trained.n_inputs)
    X = quantize_inputs(table.X, cfg.data.input_range)
    if args.port:
        check_port_exists(args.port)
        from tqdm import tqdm

        scores = np.zeros(len(X), dtype=np.int64)
        classes = np.zeros(len(X), dtype=np.int64)
        with Device(args.port, args.baud) as dev:
            info = dev.wait_ready()
            if info.n_inputs != X.shape[1]:
                raise DeviceError(f"the board's model takes {info.n_inputs} inputs, the file has {X.shape[1]}")
            for i in tqdm(range(len(X)), desc="classifying on the board", unit="beat",
                          disable=True if args.quiet else None):
                r = dev.infer(X[i])
                scores[i], classes[i] = r.score, r.klass
    else:
        scores = families.predict_scores(model, X).astype(np.int64)
        classes = (scores > threshold).astype(np.int64)
    text = predictions_csv(classes, scores, table.y)
    out = args.out or default_output(paths.project, Path(args.file))
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out, text)
    summary = summary_text(entry.name, classes, scores, table.y, threshold)
    if args.out != "-":
        summary += f"\nwrote {out}"
    print(summary, file=sys.stderr if args.out == "-" else sys.stdout)
    return 0
