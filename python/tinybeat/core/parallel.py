"""Independent training tasks on a joblib backend: this machine's cores or a Dask cluster.

The search is a list of independent tasks (one model fit on one fold, one
refit, the float reference). `run_tasks` runs them on

- `local`: joblib's loky worker processes, `n_jobs` of them (default: the
  cores this process may use), each limited to `threads` OpenMP/BLAS threads
  (training uses 1 on purpose: see `tinybeat.util.threads`);
- `dask`: an existing Dask distributed cluster, through joblib's `dask`
  backend, given its scheduler address (e.g. `tcp://10.0.0.5:8786`).

Results come back in task order whatever the backend, worker count or
completion order, and every task is deterministic (fixed seeds), so the
chosen model does not depend on where it ran. With `n_jobs: 1` the tasks run
one after another in this process (no worker start-up).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

BACKENDS = ("local", "dask")


@dataclass(frozen=True)
class Backend:
    """Where tasks run. kind: local | dask; n_jobs: local worker processes (None: every usable core);
    scheduler: the Dask scheduler address (dask only); threads: OpenMP/BLAS threads inside each task."""
    kind: str = "local"
    n_jobs: int | None = None
    scheduler: str | None = None
    threads: int = 1

    def workers(self) -> int:
        """Local worker processes this backend uses (1 for dask: the cluster decides)."""
        if self.kind != "local":
            return 1
        return self.n_jobs if self.n_jobs is not None else usable_cores()

    def describe(self) -> str:
        if self.kind == "dask":
            return f"Dask cluster at {self.scheduler}"
        n = self.workers()
        return f"{n} local process{'es' if n != 1 else ''}"


@dataclass(frozen=True)
class Task:
    """One unit of work: fn(*args). label names it in progress messages."""
    fn: Callable[..., Any]
    args: tuple
    label: str = ""


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, else os.cpu_count())."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover (not Linux)
        return max(1, os.cpu_count() or 1)


def _warm() -> None:
    """A task that loads what the search's tasks use (a worker's first task pays for it)."""
    import sklearn.ensemble  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    import sklearn.neural_network  # noqa: F401

    import tinybeat.core.families  # noqa: F401
    import tinybeat.core.metrics  # noqa: F401


def warm_up(backend: Backend) -> Callable[[], None]:
    """Start the local worker processes in the background (they import scikit-learn meanwhile, ~1.5 s),
    e.g. while this process loads the data; returns a function that waits until they are ready."""
    if backend.kind != "local" or backend.workers() == 1:
        return lambda: None
    import threading

    def run() -> None:
        try:
            run_tasks([Task(_warm, (), "start")] * backend.workers(), backend)
        except Exception:  # noqa: BLE001  (the real tasks report any worker problem)
            pass

    thread = threading.Thread(target=run, name="tinybeat-warm-up", daemon=True)
    thread.start()
    return thread.join


def _call(index: int, fn: Callable[..., Any], args: tuple, threads: int) -> tuple[int, Any]:
    """Run one task with `threads` OpenMP/BLAS threads; returns (index, result)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=threads):
        return index, fn(*args)


def run_tasks(tasks: Sequence[Task], backend: Backend | None = None, *,
              progress: Callable[[Task], None] | None = None,
              scatter: Iterable[Any] = ()) -> list[Any]:
    """Run every task and return their results in task order.

    progress(task) is called in this process as each task finishes (in
    completion order). scatter: large arguments shared by many tasks (e.g. the
    training matrix) that a Dask cluster should receive once, not per task;
    local workers get them through joblib's automatic memory mapping.
    """
    backend = backend or Backend()
    results: list[Any] = [None] * len(tasks)
    if not tasks:
        return results
    if backend.kind == "local" and (backend.workers() == 1 or len(tasks) == 1):
        for i, task in enumerate(tasks):
            results[i] = _call(i, task.fn, task.args, backend.threads)[1]
            if progress:
                progress(task)
        return results
    from joblib import Parallel, delayed, parallel_config

    if backend.kind == "local":
        config = parallel_config(backend="loky", n_jobs=backend.workers(),
                                 inner_max_num_threads=backend.threads)
    elif backend.kind == "dask":
        config = parallel_config(backend="dask", scheduler_host=backend.scheduler, scatter=list(scatter))
    else:
        raise ValueError(f"unknown search backend {backend.kind!r}; known: {', '.join(BACKENDS)}")
    with config:
        outputs = Parallel(return_as="generator_unordered")(
            delayed(_call)(i, task.fn, task.args, backend.threads) for i, task in enumerate(tasks))
        for i, result in outputs:
            results[i] = result
            if progress:
                progress(tasks[i])
    return results
