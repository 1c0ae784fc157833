"""How many CPU cores kcn_gis may use here, for the few steps that split large work over threads.

Several large steps run in two threads where GDAL, GEOS, Arrow or numpy release the GIL: the
GeoPackage read of a big layer, WKB decoding and areas, validity, the park containment test, the
overlap sweep, the areas beside the stages in clearance progress. Each asks :func:`available`
first, which counts the cores this process may run on (its CPU affinity: ``taskset``, a
container's cpuset), not the machine's.

Code that already runs one task per core (a Dask worker thread) wraps its work in
:func:`limit`, so those steps stay in the calling thread instead of adding threads that only
compete with the other workers. The limit is a context variable: it holds for the thread (or
asyncio task) that set it, not for the whole process.

Examples
--------
>>> from kcn_gis import cores
>>> with cores.limit(1):
...     cores.available()
1
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextvars import ContextVar

from kcn_gis.errors import KcnGisError

__all__ = ["available", "limit"]

_LIMIT: ContextVar[int | None] = ContextVar("kcn_gis_cores", default=None)


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        return os.cpu_count() or 1


def available() -> int:
    """Cores this process may run on (its CPU affinity), capped by an enclosing :func:`limit`; at least 1."""
    n = max(1, _affinity())
    cap = _LIMIT.get()
    return n if cap is None else max(1, min(n, cap))


@contextlib.contextmanager
def limit(n: int) -> Iterator[None]:
    """Use at most ``n`` cores (so ``n = 1``: no extra threads) in this thread until the block ends.

    Parameters
    ----------
    n : int
        At least 1. Inside another ``limit`` the smaller of the two holds.

    Raises
    ------
    KcnGisError
        If ``n`` is less than 1.
    """
    if n < 1:
        raise KcnGisError(f"cores.limit({n}): give at least 1 core")
    cap = _LIMIT.get()
    token = _LIMIT.set(n if cap is None else min(cap, n))  # an inner block never widens an outer limit
    try:
        yield
    finally:
        _LIMIT.reset(token)
