"""Thread counts for training, chosen on purpose.

scikit-learn's HistGradientBoosting uses OpenMP, whose threads spin-wait. On a
small machine shared with other work (the build itself, another training, a
browser) extra threads oversubscribe the cores: measured on 2 cores, the
default data trained in 26 s alone, 68 s beside one busy process, and 26 s
again with one OpenMP thread. One thread is therefore the default; set
TINYBEAT_THREADS=N to use N (e.g. on an idle many-core machine). The search
itself spreads over the cores as worker processes (search.n_jobs, default one
per core; tinybeat.core.parallel), each of which runs its fits with this
many threads.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

ENV_VAR = "TINYBEAT_THREADS"


def n_threads() -> int:
    """Threads for OpenMP/BLAS and scikit-learn's n_jobs during training (TINYBEAT_THREADS, default 1)."""
    raw = os.environ.get(ENV_VAR, "1").strip()
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        from tinybeat.errors import ConfigError

        raise ConfigError(f"environment variable {ENV_VAR} is {raw!r}; it must be a whole number of threads, 1 or more")
    return n


@contextmanager
def training_threads() -> Iterator[int]:
    """Limit OpenMP and BLAS pools to n_threads() for the duration; yields that count."""
    import sklearn.ensemble  # noqa: F401  (loads libgomp, so the limit reaches it)
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    n = n_threads()
    with threadpool_limits(limits=n):
        yield n
