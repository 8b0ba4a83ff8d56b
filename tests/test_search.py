"""The search's execution: the same model whatever runs it (1 or 2 local processes, a Dask
cluster), the quick mode's labelling, and the backend keys' validation.

Small synthetic projects (projkit), each trained in a few seconds.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import yaml

from projkit import header_config, header_csv, make_project, single_threaded, synthetic_table
from tinybeat.core.parallel import Backend, Task, run_tasks
from tinybeat.core.quantize import quantize_inputs
from tinybeat.core.search import cross_validate, default_grid, pareto_front, refit, refit_all
from tinybeat.pipeline.artifacts import Paths, load_trained
from tinybeat.pipeline.config import ConfigError, load_config
from tinybeat.pipeline.ensure import QUICK_ENV, ensure_model, fingerprint
from tinybeat.pipeline.train import QUICK_FOLDS, quick_rows
from tinybeat.targets import load_target
from tinybeat.targets.cost import model_cost

MEGA = "megaatmega2560"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="module")
def _one_thread() -> Iterator[None]:
    with single_threaded():
        yield


def quiet(_: str) -> None:
    """A log function that drops the pipeline's messages."""


def project(dest: Path, **search) -> Path:
    """The standard small header-format project (300 rows x 20 features, 10 groups), search overridden."""
    X, y, groups = synthetic_table()
    return make_project(dest, header_config(search=search), {"data/train.csv": header_csv(X, y, groups)})


def header_bytes(proj: Path) -> bytes:
    return Paths(proj).header.read_bytes()


def _square(x: int) -> int:
    return x * x


def test_run_tasks_returns_results_in_task_order_on_every_backend():
    tasks = [Task(_square, (i,), f"square {i}") for i in range(7)]
    done: list[str] = []
    assert run_tasks(tasks, Backend(n_jobs=1)) == [i * i for i in range(7)]
    assert run_tasks(tasks, Backend(n_jobs=2), progress=lambda t: done.append(t.label)) == [i * i for i in range(7)]
    assert sorted(done) == sorted(t.label for t in tasks)  # one progress call per finished task
    assert run_tasks([], Backend(n_jobs=2)) == []


def _pool_threads() -> list[int]:
    import sklearn.ensemble  # noqa: F401  (loads libgomp)
    from threadpoolctl import threadpool_info

    return [p["num_threads"] for p in threadpool_info()]


def test_every_task_runs_with_the_configured_thread_count_in_every_worker():
    """Training uses 1 OpenMP/BLAS thread per process on purpose (util/threads.py): worker processes too."""
    for backend in (Backend(n_jobs=2, threads=1), Backend(n_jobs=1, threads=1)):
        seen = run_tasks([Task(_pool_threads, ())] * 4, backend)
        assert all(seen) and {n for s in seen for n in s} == {1}, seen


def test_cross_validation_and_refits_do_not_depend_on_the_worker_count():
    X, y, groups = synthetic_table()
    Xu = quantize_inputs(X, (0.0, 1.0))
    grid = default_grid(["gbt", "rf", "linear"], 8)
    cost = functools.partial(model_cost, target=load_target(ROOT, MEGA))
    runs = [cross_validate(grid, Xu, y, groups, metric="auc", n_folds=3, seed=0, cost=cost, backend=b)
            for b in (Backend(n_jobs=1), Backend(n_jobs=2))]
    assert [c.to_dict() for c in runs[0]] == [c.to_dict() for c in runs[1]]
    front = pareto_front(runs[0])
    serial, parallel = (refit_all(front, Xu, y, 0, backend=b) for b in (Backend(n_jobs=1), Backend(n_jobs=2)))
    assert list(serial) == [c.name for c in front]
    for c in front:
        # one fit per family and parameters gives every front size: the same model as fitting that size alone
        assert serial[c.name].to_dict() == parallel[c.name].to_dict() == refit(c, Xu, y, 0).to_dict()


def test_same_model_and_header_bytes_from_one_or_two_local_processes(tmp_path):
    one, two = project(tmp_path / "one", n_jobs=1), project(tmp_path / "two", n_jobs=2)
    assert fingerprint(Paths(one), load_config(Paths(one).config)) == \
        fingerprint(Paths(two), load_config(Paths(two).config))  # where it runs is not what it finds
    a, b = (ensure_model(p, MEGA, log=quiet) for p in (one, two))
    assert a["entry"].name == b["entry"].name
    assert header_bytes(one) == header_bytes(two)
    assert load_trained(Paths(one)).candidates == load_trained(Paths(two)).candidates


def test_same_model_and_header_bytes_from_a_dask_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    local = project(tmp_path / "local")
    ensure_model(local, MEGA, log=quiet)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        remote = project(tmp_path / "dask", backend="dask", scheduler=cluster.scheduler_address)
        logs: list[str] = []
        result = ensure_model(remote, MEGA, log=logs.append)
    assert any("Dask cluster at " + cluster.scheduler_address in line for line in logs)
    assert result["entry"].to_dict() == ensure_model(local, MEGA, log=quiet)["entry"].to_dict()
    assert header_bytes(remote) == header_bytes(local)
    assert load_trained(Paths(remote)).candidates == load_trained(Paths(local)).candidates


def test_an_unreachable_dask_scheduler_fails_in_one_line_before_any_fitting(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import tinybeat.pipeline.train

    monkeypatch.setattr(tinybeat.pipeline.train, "DASK_CONNECT_TIMEOUT_S", 2)
    proj = project(tmp_path, backend="dask", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match=r"search\.scheduler tcp://127\.0\.0\.1:9: cannot reach the Dask scheduler"):
        ensure_model(proj, MEGA, log=quiet)
    assert not Paths(proj).trained.exists()


@pytest.mark.parametrize("search, key", [
    ({"backend": "spark"}, "search.backend"),
    ({"backend": "dask"}, "search.scheduler is missing"),
    ({"scheduler": "tcp://10.0.0.5:8786"}, "search.scheduler"),
    ({"n_jobs": 0}, "search.n_jobs"),
    ({"n_jobs": "all"}, "search.n_jobs"),
    ({"backend": "dask", "scheduler": "tcp://10.0.0.5:8786", "n_jobs": 2}, "search.n_jobs"),
])
def test_backend_keys_are_checked_in_one_line_naming_the_key(tmp_path, search, key):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(header_config(search=search)))
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert key in str(info.value) and "\n" not in str(info.value)


def test_quick_rows_keep_every_group_and_both_labels():
    X, y, groups = synthetic_table(n_rows=3000)
    rows = quick_rows(y, groups, 600, seed=0)
    assert 500 <= len(rows) <= 700 and np.all(np.diff(rows) > 0)
    assert set(groups[rows]) == set(groups) and set(y[rows]) == {0, 1}
    for g in set(groups):  # every patient keeps about the same share of its beats
        assert abs(np.mean(groups[rows] == g) - np.mean(groups == g)) < 0.02
    assert np.array_equal(rows, quick_rows(y, groups, 600, seed=0))
    assert np.array_equal(quick_rows(y, groups, 5000, seed=0), np.arange(3000))


def test_a_quick_search_says_so_and_never_silently_stands_in_for_the_full_one(tmp_path, monkeypatch):
    proj = project(tmp_path, cv_folds=4)
    paths = Paths(proj)
    logs: list[str] = []
    assert ensure_model(proj, MEGA, quick=True, log=logs.append)["trained"]
    trained = load_trained(paths)
    assert trained.search["mode"] == "quick" and trained.search["cv_folds"] == QUICK_FOLDS < 4
    assert trained.morphology_only is None
    assert "QUICK search" in (paths.model_dir / "report.md").read_text()
    assert any("QUICK search" in line for line in logs)
    assert "from a QUICK search" in logs[-1]
    # the same request reloads the quick model, saying again where it came from
    logs.clear()
    assert not ensure_model(proj, MEGA, quick=True, log=logs.append)["trained"]
    assert "from a QUICK search" in logs[-1]
    # a full request (pio run without TINYBEAT_QUICK) does not take the quick model: it retrains fully
    logs.clear()
    monkeypatch.delenv(QUICK_ENV, raising=False)
    assert ensure_model(proj, MEGA, log=logs.append)["trained"]
    assert any("the saved model came from a quick search" in line for line in logs)
    assert load_trained(paths).search["mode"] == "full"
    assert "QUICK" not in (paths.model_dir / "report.md").read_text()
    # a quick request is served by the saved full model (better, and already there)
    monkeypatch.setenv(QUICK_ENV, "1")
    assert not ensure_model(proj, MEGA, log=quiet)["trained"]
    # forcing a quick search over a full model warns in the build log
    logs.clear()
    ensure_model(proj, MEGA, force_train=True, log=logs.append)
    assert any("WARNING: the saved full-search model is replaced" in line for line in logs)
    assert load_trained(paths).search["mode"] == "quick"


def test_a_bad_quick_environment_variable_is_one_line(tmp_path, monkeypatch):
    proj = project(tmp_path)
    monkeypatch.setenv(QUICK_ENV, "maybe")
    with pytest.raises(ConfigError, match="TINYBEAT_QUICK is 'maybe'; it must be 1"):
        ensure_model(proj, MEGA, log=quiet)
    assert not Paths(proj).trained.exists()


def test_cli_train_quick(tmp_path, capsys):
    from tinybeat.cli import main

    proj = project(tmp_path)
    assert main(["train", "--quick", "--project", str(proj)]) == 0
    out = capsys.readouterr().out
    assert "QUICK search" in out and load_trained(Paths(proj)).search["mode"] == "quick"
