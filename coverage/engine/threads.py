"""How many threads the engine's parallel steps may use.

The nearest-road index answers its queries on every core by default (SciPy's
``cKDTree.query(workers=-1)``). A process that is one of several sharing a machine (a Dask
worker of :mod:`coverage.batch`, given one core by its scheduler) must keep to its share,
or the workers compete for the same cores and each runs slower: :func:`limit_threads`
sets the share for the current thread's work (a context variable, so concurrent callers
in one process do not see each other's limit).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from ..errors import ParameterError

__all__ = ["engine_threads", "limit_threads"]

_THREADS: contextvars.ContextVar[int] = contextvars.ContextVar("coverage_engine_threads", default=-1)


def engine_threads() -> int:
    """The number of threads for the engine's parallel queries (``-1``: every core)."""
    return _THREADS.get()


@contextlib.contextmanager
def limit_threads(n: int | None) -> Iterator[None]:
    """Run the enclosed work with at most ``n`` threads in the engine's parallel steps
    (``None`` or ``-1``: every core). Results do not depend on it, only speed."""
    if n is not None and (not isinstance(n, int) or isinstance(n, bool) or (n < 1 and n != -1)):
        raise ParameterError(f"threads={n!r} must be a whole number of at least 1 (or -1 for every core)")
    token = _THREADS.set(-1 if n is None else n)
    try:
        yield
    finally:
        _THREADS.reset(token)
