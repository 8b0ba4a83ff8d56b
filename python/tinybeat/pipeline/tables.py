"""The training and test tables a config names: CSV beats or raw records, and the hold-out split."""

from __future__ import annotations

import numpy as np

from tinybeat.datasets.table import Table, check_two_classes, load_files
from tinybeat.pipeline.artifacts import Paths
from tinybeat.pipeline.checks import check_same_columns
from tinybeat.pipeline.config import Config


def load_tables(paths: Paths, cfg: Config) -> tuple[Table, Table]:
    """Training and test tables; a grouped (or stratified) hold-out when no test files are given."""
    d = cfg.data
    if d.kind == "records":
        return load_record_tables(paths, cfg)
    kwargs = dict(fmt=d.format, target=d.target, group=d.group, positive_labels=d.positive_labels,
                  input_range=d.input_range)
    train = load_files([paths.project / f for f in d.train], **kwargs)
    check_two_classes(train)
    if d.test:
        test = load_files([paths.project / f for f in d.test], **kwargs)
        check_same_columns(train, test)
        check_two_classes(test)  # AUC and sensitivity need both classes
        return train, test
    return holdout_split(train, d.test_fraction, cfg.search.seed)


def load_record_tables(paths: Paths, cfg: Config) -> tuple[Table, Table]:
    """Beats cut from raw records by the front end (tinybeat.recordings.labelled), split like CSV tables."""
    from tinybeat.recordings.labelled import records_table

    d = cfg.data
    train, _ = records_table([paths.project / f for f in d.train], sample_rate=d.sample_rate)
    check_two_classes(train)
    if d.test:
        test, _ = records_table([paths.project / f for f in d.test], sample_rate=d.sample_rate)
        check_two_classes(test)
        return train, test
    return holdout_split(train, d.test_fraction, cfg.search.seed)


def split_kind(cfg: Config, train_t: Table, test_t: Table) -> dict:
    """How the test split and the CV folds were made (for the report).

    {"test": "patients" (groups never on both sides), "shared-groups" (test files
    share group values with training), "files" (separate test files, no group
    column: overlap unknown) or "rows" (random rows held out); "cv": "grouped" or "rows"}.
    """
    if train_t.groups is not None and test_t.groups is not None:
        shared = set(train_t.groups.tolist()) & set(test_t.groups.tolist())
        test = "shared-groups" if shared else "patients"
    else:
        test = "files" if cfg.data.test else "rows"
    return {"test": test, "cv": "grouped" if train_t.groups is not None else "rows"}


def holdout_split(table: Table, fraction: float, seed: int) -> tuple[Table, Table]:
    """Split rows into train/test; groups never straddle the two."""
    from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit

    n = len(table.y)
    if table.groups is not None:
        splitter = GroupShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        tr, te = next(splitter.split(np.zeros((n, 1)), table.y, table.groups))
    else:
        splitter = StratifiedShuffleSplit(n_splits=1, test_size=fraction, random_state=seed)
        tr, te = next(splitter.split(np.zeros((n, 1)), table.y))

    def take(idx):
        return Table(table.X[idx], table.y[idx], None if table.groups is None else table.groups[idx],
                     table.feature_names, table.files)

    return take(tr), take(te)
