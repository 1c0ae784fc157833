"""Polygon areas straight from WKB bytes, compiled with numba (the ``fast`` extra).

:func:`kcn_gis.store.arrow.wkb_polygon_area` uses this when numba is installed; without it, a numpy
path measures simple one-ring polygons only. Here every little-endian 2D ``Polygon`` and
``MultiPolygon`` is measured in one pass over the bytes, with GEOS's own operations in GEOS's order,
so the results are the same bits as ``shapely.area``:

* a ring (``Area::ofRingSigned``): with ``x0`` its first x, the sum over ``i = 1 .. n-2`` of
  ``(x[i] - x0) * (y[i-1] - y[i+1])``, accumulated from 0.0 in that order, divided by 2; rings of
  fewer than 3 points measure 0;
* a polygon: ``0.0 + |shell|``, then ``- |hole|`` for each hole in order;
* a multipolygon: ``0.0 +`` each polygon's area in order.

Anything else (big-endian, Z/M, other types, a value whose length does not match its header) is
reported as not measured, and the caller asks GEOS. The compiled code is cached next to this file.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

__all__ = ["polygon_areas"]


@numba.njit(cache=True, nogil=True, inline="always")
def _u32(data: np.ndarray, p: int) -> Any:  # pragma: no cover - compiled
    return (
        np.int64(data[p]) | (np.int64(data[p + 1]) << 8) | (np.int64(data[p + 2]) << 16) | (np.int64(data[p + 3]) << 24)
    )


@numba.njit(cache=True, nogil=True, inline="always")
def _ring(x: np.ndarray, b: int, n: int) -> float:  # pragma: no cover - compiled
    """GEOS's signed area of the ring of ``n`` points whose first x is ``x[b]`` (x, y interleaved)."""
    x0 = x[b]
    acc = 0.0
    for i in range(1, n - 1):
        acc += (x[b + 2 * i] - x0) * (x[b + 2 * i - 1] - x[b + 2 * i + 3])
    return acc / 2.0


@numba.njit(cache=True, nogil=True)
def _areas(
    data: np.ndarray,
    v0: np.ndarray,
    v1: np.ndarray,
    v2: np.ndarray,
    v3: np.ndarray,
    v4: np.ndarray,
    v5: np.ndarray,
    v6: np.ndarray,
    v7: np.ndarray,
    offs: np.ndarray,
    valid: np.ndarray,
    area: np.ndarray,
    ok: np.ndarray,
) -> None:  # pragma: no cover - compiled
    # one loop, written out: a helper per polygon returning (area, next byte) compiled five times slower
    for i in range(offs.size - 1):
        s, end = offs[i], offs[i + 1]
        if not valid[i] or end - s < 9 or data[s] != 1:
            continue
        typ = _u32(data, s + 1)
        if typ == 3:  # a polygon: one part, its header at s
            parts, p = 1, s
        elif typ == 6:  # a multipolygon: its parts follow, each a whole WKB polygon
            parts, p = _u32(data, s + 5), s + 9
        else:
            continue
        total = 0.0
        good = True
        for _ in range(parts):
            if p + 9 > end or data[p] != 1 or _u32(data, p + 1) != 3:
                good = False
                break
            rings = _u32(data, p + 5)
            p += 9
            one = 0.0
            for r in range(rings):
                if p + 4 > end:
                    good = False
                    break
                n = _u32(data, p)
                c = p + 4
                p = c + 16 * n
                if p > end:
                    good = False
                    break
                signed = 0.0
                if n >= 3:  # the ring's first x is element c // 8 of the float64 view starting at byte c % 8
                    a, b = c & 7, c >> 3
                    if a == 0:
                        signed = _ring(v0, b, n)
                    elif a == 1:
                        signed = _ring(v1, b, n)
                    elif a == 2:
                        signed = _ring(v2, b, n)
                    elif a == 3:
                        signed = _ring(v3, b, n)
                    elif a == 4:
                        signed = _ring(v4, b, n)
                    elif a == 5:
                        signed = _ring(v5, b, n)
                    elif a == 6:
                        signed = _ring(v6, b, n)
                    else:
                        signed = _ring(v7, b, n)
                if r == 0:
                    one += abs(signed)
                else:
                    one -= abs(signed)
            if not good:
                break
            total += one
        if good and p == end:
            area[i] = total
            ok[i] = True


def polygon_areas(
    data: np.ndarray, buffer: Any, offsets: np.ndarray, valid: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Area of each WKB value of a binary array, from its buffers.

    Parameters
    ----------
    data : numpy uint8 array
        The array's value bytes.
    buffer : buffer
        The same bytes as a buffer object (``data`` is viewed as float64 at each of the 8 offsets).
    offsets : numpy int64 array
        ``n + 1`` byte offsets into ``data``, value ``i`` being ``data[offsets[i]:offsets[i + 1]]``.
    valid : numpy bool array
        ``n`` flags, False for nulls.

    Returns
    -------
    (area, ok) : numpy arrays
        Areas in the square units of the coordinates (m² in EPSG:9209) and where they were measured;
        elsewhere the area is 0.
    """
    n = offsets.size - 1
    area = np.zeros(n, dtype=np.float64)
    ok = np.zeros(n, dtype=np.bool_)
    size = data.size
    views = [
        np.frombuffer(buffer, dtype="<f8", offset=a, count=max((size - a) // 8, 0)) if size > a else np.zeros(0)
        for a in range(8)
    ]
    v0, v1, v2, v3, v4, v5, v6, v7 = views
    _areas(data, v0, v1, v2, v3, v4, v5, v6, v7, offsets, valid, area, ok)
    return area, ok
