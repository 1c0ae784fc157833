"""Give memory freed by one step back to the system before the next step allocates.

A large import goes through steps that each build a new frame and drop the last
one. Two allocators keep what is freed: Arrow's pool (pandas' text columns,
the CSV reader) and the C library's heap (numpy, GEOS, Python). Neither shares
its free memory with the other, so without this the peak of the whole import is
the sum of the steps rather than the largest of them. :func:`release` is cheap
(a few milliseconds) and a no-op where it does not apply (no pyarrow, no glibc).

:func:`lean` goes further for one large job (an import): it makes the two
allocators one, and keeps large temporary arrays out of the heap where the
geometries live, so that what a step frees can be given back at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import threading
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

__all__ = ["fewer_collections", "lean", "leanly", "release", "small_pages_for_numpy"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: glibc's ``mallopt`` parameter number of M_MMAP_THRESHOLD (malloc.h).
_M_MMAP_THRESHOLD = -3
#: Blocks of this size and more are mapped on their own while :func:`lean` runs (and after it: see there).
MMAP_THRESHOLD = 1 << 20
#: The Arrow pool :func:`lean` has set aside while it runs (it still holds what its buffers free).
_set_aside: list = []
#: How many :func:`lean` blocks are running (in any thread), under :data:`_lock`.
_depth = 0
_lock = threading.Lock()


@functools.cache
def _libc_function(name: str) -> object | None:
    lib = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(lib) if lib else None
        return getattr(libc, name, None)  # glibc only
    except OSError:  # pragma: no cover - no C library to load
        return None


def release() -> None:
    """Return the free memory of Arrow's pool and of the C heap to the operating system.

    Call it between steps that drop large objects; it frees nothing that is still referenced.
    """
    try:
        import pyarrow as pa

        for pool in {id(p): p for p in (pa.default_memory_pool(), *_set_aside)}.values():
            pool.release_unused()
    except Exception:  # pragma: no cover - pyarrow is a pandas dependency here; this is only an optimisation
        pass
    trim = _libc_function("malloc_trim")
    if trim is not None:
        trim(0)  # type: ignore[operator]


@functools.cache
def _fix_mmap_threshold() -> bool:
    """Have glibc map every block of :data:`MMAP_THRESHOLD` bytes or more on its own; True if it did."""
    mallopt = _libc_function("mallopt")
    if mallopt is None:
        return False
    return bool(mallopt(ctypes.c_int(_M_MMAP_THRESHOLD), ctypes.c_int(MMAP_THRESHOLD)))  # type: ignore[operator]


@contextlib.contextmanager
def lean() -> Iterator[None]:
    """Run one large job (an import) so that its peak memory is what it holds, not what it has freed.

    Two things make the peak of a multi-step job the sum of its steps (measured on the
    coordinate-table import in ``bench/import_table.py``: 132 MB above the start without
    them, 94 MB with both, for a 32 MB file):

    * Arrow keeps what it frees in its own pool (mimalloc), where numpy and GEOS cannot
      reuse it. Inside the block Arrow allocates from the C heap (its system pool), so
      memory freed by either side serves the other; the pool is put back on exit (each
      buffer is freed to the pool it came from, so this is safe at any time).
    * glibc serves a large temporary array (a column of codes, a coordinate array) from
      the heap once its sliding mmap threshold has grown, and the small GEOS objects
      allocated after it pin the hole it leaves when freed. The threshold is fixed at
      :data:`MMAP_THRESHOLD` (1 MiB), so such arrays are mapped on their own and given
      back when freed. glibc has no way back to its sliding threshold, so this setting
      stays for the rest of the process; its cost is a page fault per 4 KiB of each new
      large array, which ``bench/import_table.py`` includes. The 1M-parcel analytics job of
      ``bench/duckdb_race.py`` (``--child-all``) took the same time with the threshold fixed
      from the start (median of 3: 3.51 s, against 3.46 s without).

    Neither changes a result. Where there is no glibc or no pyarrow the matching part is
    a no-op.
    """
    global _depth
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a pandas dependency here
        pa = None
    _fix_mmap_threshold()
    with _lock:  # the pool is the process's: the first job in sets it, the last one out puts it back
        if pa is not None and _depth == 0:
            _set_aside.append(pa.default_memory_pool())
            pa.set_memory_pool(pa.system_memory_pool())
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if pa is not None and _depth == 0 and _set_aside:
                pa.set_memory_pool(_set_aside.pop())
        release()


def leanly(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate ``fn`` so that each call runs inside :func:`lean`."""

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        with lean():
            return fn(*args, **kwargs)

    return run


#: Young objects allocated between two collections of the cyclic garbage collector in :func:`fewer_collections`
#: (Python's default is 700).
YOUNG_THRESHOLD = 100_000
_gc_depth = 0
_gc_saved: tuple[int, ...] = ()


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Run one large job with Python's cyclic garbage collector running far less often; restored after.

    Shapely geometries are objects the collector tracks. With a million of them alive, each full
    collection walks them all, and the default thresholds trigger one again and again while other
    objects come and go: at a million parcels ``kcn-gis validate`` spent about a second in the
    collector. Here the young generation is collected every :data:`YOUNG_THRESHOLD` allocations
    instead of every 700, and the older ones ten times less often than by default, so cycles are still
    freed, later. Reference counting, which frees almost everything, is unchanged.

    ``kcn-gis validate`` runs inside it (not the imports: their memory is measured, and cycles freed later
    would raise their peak). Nested and concurrent blocks are counted: the first in sets the thresholds
    and the last out puts back the ones it found.
    """
    import gc

    global _gc_depth, _gc_saved
    with _lock:
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(YOUNG_THRESHOLD, 50, 100)
        _gc_depth += 1
    try:
        yield
    finally:
        with _lock:
            _gc_depth -= 1
            if _gc_depth == 0:
                gc.set_threshold(*_gc_saved)


def small_pages_for_numpy() -> bool:
    """Stop numpy asking the kernel for transparent huge pages for its large arrays, in this process.

    numpy advises huge pages (``madvise``) for every array of 4 MB or more. In a short process that
    builds and drops many such arrays once (one ``kcn-gis`` command) the kernel then zeroes 2 MB
    pages on first touch, and on this project's machine (Linux, THP in ``madvise`` mode) that cost
    0.5-1 s of system time per command at 1M parcels: ``bench/duckdb_race.py``'s one-process job on
    GeoParquet took 2.25-2.70 s with them and 1.79-1.92 s without (six runs each, interleaved).
    Long-lived processes (Dask workers, notebooks) reuse their memory and gain from huge pages, so
    only the command line calls this. An explicit ``NUMPY_MADVISE_HUGEPAGE`` in the environment wins.

    Returns
    -------
    bool
        Whether the setting was changed.
    """
    import os

    if "NUMPY_MADVISE_HUGEPAGE" in os.environ:
        return False
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # type: ignore[attr-defined]  # numpy >= 2
    except ImportError:  # pragma: no cover - numpy 1.x keeps it in numpy.core
        try:
            from numpy.core.multiarray import _set_madvise_hugepage  # type: ignore[no-redef]
        except ImportError:
            return False
    _set_madvise_hugepage(False)
    return True
