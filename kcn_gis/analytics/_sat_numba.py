"""The separating-line test of :mod:`kcn_gis.analytics._overlaps`, compiled with numba.

Imported only when numba is installed (the ``fast`` extra); :mod:`~kcn_gis.analytics._overlaps`
falls back to its numpy blocks otherwise, and both give the same answer for every pair (the tests
run the overlap search both ways). Each pair costs a few dozen multiply-adds here, where the numpy
blocks gather every vertex of both rings for every pair: at a million parcels (about 4.6 million
pairs of touching neighbours) the test goes from seconds to a fraction of one.

The compiled code is cached next to this file (``cache=True``), so only the first run on a machine
pays the compilation (about a second).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["pieces_separated", "ring_pairs_separated", "ring_tables", "separated"]


@numba.njit(cache=True, nogil=True)
def _edge_separates(
    x: np.ndarray, y: np.ndarray, nx: np.ndarray, ny: np.ndarray, support: np.ndarray, a: int, b: int
) -> bool:  # pragma: no cover - compiled
    """Some supporting edge of ring ``a`` has every vertex of ring ``b`` on its outer closed side."""
    k = x.shape[1]
    for e in range(k):
        if not support[a, e]:
            continue
        px, py, qx, qy = x[a, e], y[a, e], nx[a, e], ny[a, e]
        outside = True
        for v in range(k):
            # written as "not >= 0" so that a NaN fails the test, as numpy's min(...) >= 0 does
            if not ((x[b, v] - px) * qx + (y[b, v] - py) * qy >= 0.0):
                outside = False
                break
        if outside:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _separated(
    x: np.ndarray,
    y: np.ndarray,
    nx: np.ndarray,
    ny: np.ndarray,
    support: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    for t in range(a.size):
        out[t] = _edge_separates(x, y, nx, ny, support, a[t], b[t]) or _edge_separates(
            x, y, nx, ny, support, b[t], a[t]
        )


def separated(
    x: np.ndarray,
    y: np.ndarray,
    nx: np.ndarray,
    ny: np.ndarray,
    support: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
) -> np.ndarray:
    """For each pair ``(a[t], b[t])`` of rings: does a supporting edge of either ring separate them?

    Parameters
    ----------
    x, y, nx, ny : ndarray of float64, shape (rings, k)
        Ring-major padded vertices (metres, projected CRS) and the outward normal of each edge
        (padding repeats vertex 0 and has a zero normal).
    support : ndarray of bool, shape (rings, k)
        Edge is a supporting line of its ring (every vertex of the ring on its inner closed side).
    a, b : ndarray of int64
        Ring rows of the pairs.

    Returns
    -------
    ndarray of bool
        True where the pair is proven to have disjoint interiors.
    """
    out = np.empty(a.size, dtype=np.bool_)
    if a.size:
        _separated(x, y, nx, ny, support, a.astype(np.int64, copy=False), b.astype(np.int64, copy=False), out)
    return out


@numba.njit(cache=True, nogil=True)
def _ring_tables(
    x: np.ndarray, y: np.ndarray, start: np.ndarray, m: np.ndarray, side: np.ndarray, support: np.ndarray
) -> None:  # pragma: no cover - compiled
    for r in range(start.size):
        s, k = start[r], m[r]
        x0, y0 = x[s], y[s]
        acc = 0.0
        for e in range(k):
            n = s + e + 1 if e + 1 < k else s
            ex, ey = x[n] - x[s + e], y[n] - y[s + e]
            rx, ry = x[s + e] - x0, y[s + e] - y0
            acc += rx * (ry + ey) - ry * (rx + ex)
        sg = 1.0 if acc > 0 else (-1.0 if acc < 0 else 0.0)
        side[r] = sg
        bits = 0
        if sg != 0.0:
            for e in range(k):
                n = s + e + 1 if e + 1 < k else s
                ex, ey = x[n] - x[s + e], y[n] - y[s + e]
                if ex == 0.0 and ey == 0.0:
                    continue
                nx, ny = ey * sg, -ex * sg
                inner = True
                for v in range(k):
                    if not ((x[s + v] - x[s + e]) * nx + (y[s + v] - y[s + e]) * ny <= 0.0):
                        inner = False
                        break
                if inner:
                    bits |= 1 << e
        support[r] = bits


def ring_tables(x: np.ndarray, y: np.ndarray, start: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Orientation and supporting edges of rings stored flat.

    Parameters
    ----------
    x, y : ndarray of float64
        Vertex coordinates (metres), ring after ring; ring ``r`` has its ``m[r]`` distinct vertices
        at ``start[r] ...`` (the closing vertex may follow; it is not read).
    start, m : ndarray of int64
        First vertex and number of distinct vertices of each ring (3 ... 16).

    Returns
    -------
    side : ndarray of float64
        +1 counter-clockwise, -1 clockwise, 0 no area (such a ring separates nothing).
    support : ndarray of uint16
        Bit ``e`` set: edge ``e`` (vertex e to e+1) is a supporting line, every vertex of the ring on
        its inner closed side.
    """
    side = np.zeros(start.size, dtype=np.float64)
    support = np.zeros(start.size, dtype=np.uint16)
    if start.size:
        _ring_tables(x, y, start.astype(np.int64, copy=False), m.astype(np.int64, copy=False), side, support)
    return side, support


@numba.njit(cache=True, nogil=True)
def _flat_edge_separates(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    support: np.ndarray,
    a: int,
    b: int,
) -> bool:  # pragma: no cover - compiled
    sa, ka, sb, kb, sg, bits = start[a], m[a], start[b], m[b], side[a], support[a]
    for e in range(ka):
        if not (bits >> e) & 1:
            continue
        n = sa + e + 1 if e + 1 < ka else sa
        px, py = x[sa + e], y[sa + e]
        nx, ny = (y[n] - py) * sg, -(x[n] - px) * sg
        outside = True
        for v in range(kb):
            if not ((x[sb + v] - px) * nx + (y[sb + v] - py) * ny >= 0.0):
                outside = False
                break
        if outside:
            return True
    return False


@numba.njit(cache=True, nogil=True)
def _ring_pairs(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    support: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    for t in range(a.size):
        out[t] = _flat_edge_separates(x, y, start, m, side, support, a[t], b[t]) or _flat_edge_separates(
            x, y, start, m, side, support, b[t], a[t]
        )


def ring_pairs_separated(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    support: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
) -> np.ndarray:
    """:func:`separated` for rings stored flat (as :func:`ring_tables` takes them): no padded copies.

    Returns
    -------
    ndarray of bool
        True where a supporting edge of ring ``a[t]`` or ``b[t]`` separates the pair.
    """
    out = np.empty(a.size, dtype=np.bool_)
    if a.size:
        _ring_pairs(x, y, start, m, side, support, a.astype(np.int64, copy=False), b.astype(np.int64, copy=False), out)
    return out


@numba.njit(cache=True, nogil=True)
def _apexes(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    support: np.ndarray,
    apex: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Per ring: -1 when convex (every edge of length > 0 supporting), else the fan's apex.

    The apex is a vertex the ring is star-shaped from (no negative fan triangle) when there is one,
    a reflex vertex preferred, as in :func:`kcn_gis.analytics._overlaps._fan_pieces`.
    """
    for r in range(start.size):
        s, k, sg, bits = start[r], m[r], side[r], support[r]
        convex = True
        for e in range(k):
            n = s + e + 1 if e + 1 < k else s
            live = x[n] != x[s + e] or y[n] != y[s + e]
            if live and not (bits >> e) & 1:
                convex = False
                break
        if convex or sg == 0.0:
            apex[r] = -1
            continue
        best, best_score = 0, 1 << 30
        for c in range(k):
            p = s + c - 1 if c > 0 else s + k - 1
            n = s + c + 1 if c + 1 < k else s
            turn = ((x[s + c] - x[p]) * (y[n] - y[s + c]) - (y[s + c] - y[p]) * (x[n] - x[s + c])) * sg
            negative = 0
            for e in range(k):
                n2 = s + e + 1 if e + 1 < k else s
                area = ((x[s + e] - x[s + c]) * (y[n2] - y[s + c]) - (y[s + e] - y[s + c]) * (x[n2] - x[s + c])) * sg
                if area < 0:
                    negative += 1
            score = 2 * negative + (1 if turn >= 0 else 0)
            if score < best_score:
                best, best_score = c, score
        apex[r] = best


@numba.njit(cache=True, nogil=True)
def _piece(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    apex: np.ndarray,
    r: int,
    t: int,
    px: np.ndarray,
    py: np.ndarray,
) -> int:  # pragma: no cover - compiled
    """Vertices of piece ``t`` of ring ``r`` into ``px, py``; their number, 0 when there is no such piece.

    A convex ring is its own single piece; a non-convex ring's pieces are the positively oriented
    triangles ``(apex, v_t, v_t+1)`` of its fan, which cover it (see the module docstring of
    :mod:`kcn_gis.analytics._overlaps`).
    """
    s, k, c = start[r], m[r], apex[r]
    if c < 0:
        if t > 0:
            return 0
        for v in range(k):
            px[v], py[v] = x[s + v], y[s + v]
        return k
    n = t + 1 if t + 1 < k else 0
    if t == c or n == c:
        return 0
    xc, yc = x[s + c], y[s + c]
    xe, ye, xn, yn = x[s + t], y[s + t], x[s + n], y[s + n]
    if not (((xe - xc) * (yn - yc) - (ye - yc) * (xn - xc)) * side[r] > 0):
        return 0
    px[0], py[0], px[1], py[1], px[2], py[2] = xc, yc, xe, ye, xn, yn
    return 3


@numba.njit(cache=True, nogil=True)
def _convex_separated(
    px: np.ndarray, py: np.ndarray, kp: int, sp: float, qx: np.ndarray, qy: np.ndarray, kq: int, sq: float
) -> bool:  # pragma: no cover - compiled
    """Two convex polygons (orientation signs ``sp``, ``sq``) separated by an edge line of either one."""
    for turn in range(2):
        ax, ay, ka, sa, bx, by, kb = (px, py, kp, sp, qx, qy, kq) if turn == 0 else (qx, qy, kq, sq, px, py, kp)
        for e in range(ka):
            n = e + 1 if e + 1 < ka else 0
            ex, ey = ax[n] - ax[e], ay[n] - ay[e]
            if ex == 0.0 and ey == 0.0:
                continue
            nx, ny = ey * sa, -ex * sa
            outside = True
            for v in range(kb):
                if not ((bx[v] - ax[e]) * nx + (by[v] - ay[e]) * ny >= 0.0):
                    outside = False
                    break
            if outside:
                return True
    return False


@numba.njit(cache=True, nogil=True)
def _pieces_pairs(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    apex: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    out: np.ndarray,
) -> None:  # pragma: no cover - compiled
    px, py = np.empty(32), np.empty(32)
    qx, qy = np.empty(32), np.empty(32)
    for t in range(a.size):
        ra, rb = a[t], b[t]
        na = 1 if apex[ra] < 0 else m[ra]
        nb = 1 if apex[rb] < 0 else m[rb]
        separated, used_a, used_b = True, 0, 0
        for i in range(na):
            kp = _piece(x, y, start, m, side, apex, ra, i, px, py)
            if kp == 0:
                continue
            used_a += 1
            for j in range(nb):
                kq = _piece(x, y, start, m, side, apex, rb, j, qx, qy)
                if kq == 0:
                    continue
                used_b += 1
                if not _convex_separated(px, py, kp, side[ra], qx, qy, kq, side[rb]):
                    separated = False
                    break
            if not separated:
                break
        out[t] = separated and used_a > 0 and used_b > 0


def apexes(
    x: np.ndarray, y: np.ndarray, start: np.ndarray, m: np.ndarray, side: np.ndarray, support: np.ndarray
) -> np.ndarray:
    """Per ring (as :func:`ring_tables` gives them): -1 when convex, else the apex of its fan of triangles."""
    apex = np.zeros(start.size, dtype=np.int64)
    if start.size:
        _apexes(x, y, start, m, side, support, apex)
    return apex


def pieces_separated(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    apex: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
) -> np.ndarray:
    """Pairs of rings every convex piece of which is separated from every piece of the other (pairs the
    edges of the whole rings could not separate: non-convex rings).

    Returns
    -------
    ndarray of bool
        True where the pair is proven to have disjoint interiors.
    """
    out = np.empty(a.size, dtype=np.bool_)
    if a.size:
        _pieces_pairs(x, y, start, m, side, apex, a.astype(np.int64, copy=False), b.astype(np.int64, copy=False), out)
    return out
