"""Give memory freed by one step back to the system before the next step allocates.

A large import goes through steps that each build a new frame and drop the last
one. Two allocators keep what is freed: Arrow's pool (pandas' text columns,
the CSV reader) and the C library's heap (numpy, GEOS, Python). Neither shares
its free memory with the other, so without this the peak of the whole import is
the sum of the steps rather than the largest of them. :func:`release` is cheap
(a few milliseconds) and a no-op where it does not apply (no pyarrow, no glibc).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

__all__ = ["release"]


@functools.cache
def _malloc_trim() -> object | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        return getattr(libc, "malloc_trim", None)  # glibc only
    except OSError:  # pragma: no cover - no C library to load
        return None


def release() -> None:
    """Return the free memory of Arrow's pool and of the C heap to the operating system.

    Call it between steps that drop large objects; it frees nothing that is still referenced.
    """
    try:
        import pyarrow as pa

        pa.default_memory_pool().release_unused()
    except Exception:  # pragma: no cover - pyarrow is a pandas dependency here; this is only an optimisation
        pass
    trim = _malloc_trim()
    if trim is not None:
        trim(0)  # type: ignore[operator]
