"""The overlap search of :mod:`kcn_gis.analytics._overlaps` (box pairs, separating lines), compiled with numba.

Imported only when numba is installed (the ``fast`` extra); :mod:`~kcn_gis.analytics._overlaps`
falls back to its numpy blocks otherwise, and both give the same answer for every pair (the tests
run the overlap search both ways). Three parts:

* :func:`ring_tables` and :func:`apexes`: each ring's orientation, supporting edges and, for a
  non-convex ring, the apex of its fan of triangles, from the layer's coordinates stored flat;
* :func:`sweep`: a grid of cells instead of the STRtree; each pair of boxes sharing a cell is
  tested where it is met (edges, then triangles), so the 9 million box pairs of a million parcels
  are never listed; large layers are swept in two threads, each over half of the cells;
* :func:`ring_pairs_separated` and :func:`pieces_separated`: the same tests on given pairs.

Each pair costs a few dozen multiply-adds here, where the numpy blocks gather every vertex of both
rings for every pair: at a million parcels the search goes from about 5 s to about 1.3 s.

The compiled code is cached next to this file (``cache=True``), so only the first run on a machine
pays the compilation (a few seconds).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numba
import numpy as np

from kcn_gis import cores

__all__ = ["apexes", "pieces_separated", "ring_pairs_separated", "ring_tables", "sweep"]


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
def _all_outside(
    x: np.ndarray, y: np.ndarray, s: int, k: int, px: float, py: float, nx: float, ny: float
) -> bool:  # pragma: no cover - compiled
    """Vertices ``s ... s+k-1`` all on the outer closed side of the line through ``p`` with normal ``n``.

    Written as "not >= 0" so that a NaN fails the test, as numpy's ``min(...) >= 0`` does.
    """
    for v in range(s, s + k):  # noqa: SIM110 - a loop compiles to a loop; numba does not compile all(<generator>)
        if not ((x[v] - px) * nx + (y[v] - py) * ny >= 0.0):
            return False
    return True


@numba.njit(cache=True, nogil=True)
def _cells(
    bounds: np.ndarray, k: int, x0: float, y0: float, cell: float, nx: int, ny: int
) -> tuple[int, int, int, int]:  # pragma: no cover - compiled
    """The cell columns and rows ``cx0, cx1, cy0, cy1`` that box ``k`` covers."""
    return (
        min(int((bounds[k, 0] - x0) / cell), nx - 1),
        min(int((bounds[k, 2] - x0) / cell), nx - 1),
        min(int((bounds[k, 1] - y0) / cell), ny - 1),
        min(int((bounds[k, 3] - y0) / cell), ny - 1),
    )


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
        if _all_outside(x, y, sb, kb, px, py, (y[n] - py) * sg, -(x[n] - px) * sg):
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
    """For each pair ``(a[t], b[t])`` of rings stored flat (as :func:`ring_tables` takes them): does a
    supporting edge of either ring separate them?

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
            if _all_outside(bx, by, 0, kb, ax[e], ay[e], ey * sa, -ex * sa):
                return True
    return False


@numba.njit(cache=True, nogil=True)
def _pair_by_pieces(
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    apex: np.ndarray,
    ra: int,
    rb: int,
    px: np.ndarray,
    py: np.ndarray,
    qx: np.ndarray,
    qy: np.ndarray,
) -> bool:  # pragma: no cover - compiled
    """Every piece of ring ``ra`` is separated from every piece of ring ``rb`` (buffers: 4 x 32 floats)."""
    na = 1 if apex[ra] < 0 else m[ra]
    nb = 1 if apex[rb] < 0 else m[rb]
    used_a, used_b = 0, 0
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
                return False
    return used_a > 0 and used_b > 0


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
        out[t] = _pair_by_pieces(x, y, start, m, side, apex, a[t], b[t], px, py, qx, qy)


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


@numba.njit(cache=True, nogil=True)
def _grow(buf: np.ndarray, size: int) -> np.ndarray:  # pragma: no cover - compiled
    out = np.empty(max(2 * buf.size, 1024), dtype=buf.dtype)
    out[:size] = buf[:size]
    return out


@numba.njit(cache=True, nogil=True)
def _grid(
    bounds: np.ndarray, cell: float, nx: int, ny: int
) -> tuple[float, float, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The boxes of each cell: a counting sort of (cell, box), boxes in increasing order within a cell.

    Returns the grid origin and ``counts`` (cell ``c`` holds ``boxes[counts[c]:counts[c + 1]]``).
    """
    n = bounds.shape[0]
    x0, y0 = np.inf, np.inf
    for k in range(n):
        if not np.isnan(bounds[k, 0]):
            x0, y0 = min(x0, bounds[k, 0]), min(y0, bounds[k, 1])
    counts = np.zeros(nx * ny + 1, dtype=np.int64)
    for k in range(n):
        if np.isnan(bounds[k, 0]):
            continue
        cx0, cx1, cy0, cy1 = _cells(bounds, k, x0, y0, cell, nx, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                counts[cy * nx + cx + 1] += 1
    for c in range(nx * ny):
        counts[c + 1] += counts[c]
    fill = counts[:-1].copy()
    boxes = np.empty(counts[-1], dtype=np.int64)
    for k in range(n):
        if np.isnan(bounds[k, 0]):
            continue
        cx0, cx1, cy0, cy1 = _cells(bounds, k, x0, y0, cell, nx, ny)
        for cy in range(cy0, cy1 + 1):
            for cx in range(cx0, cx1 + 1):
                c = cy * nx + cx
                boxes[fill[c]] = k
                fill[c] += 1
    return x0, y0, counts, boxes


@numba.njit(cache=True, nogil=True)
def _sweep_cells(
    bounds: np.ndarray,
    cell: float,
    nx: int,
    ny: int,
    x0: float,
    y0: float,
    counts: np.ndarray,
    boxes: np.ndarray,
    c_lo: int,
    c_hi: int,
    col: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    support: np.ndarray,
    apex: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The pairs met in cells ``c_lo .. c_hi - 1`` (each pair belongs to exactly one cell: see below)."""
    out_i = np.empty(1024, dtype=np.int64)
    out_j = np.empty(1024, dtype=np.int64)
    why = np.empty(1024, dtype=np.int8)
    px, py = np.empty(32), np.empty(32)
    qx, qy = np.empty(32), np.empty(32)
    found = 0
    for c in range(c_lo, c_hi):
        lo, hi = counts[c], counts[c + 1]
        for p in range(lo, hi):
            i = boxes[p]
            for q in range(p + 1, hi):
                j = boxes[q]
                if bounds[i, 0] > bounds[j, 2] or bounds[j, 0] > bounds[i, 2]:
                    continue
                if bounds[i, 1] > bounds[j, 3] or bounds[j, 1] > bounds[i, 3]:
                    continue
                # the pair is met in every cell both boxes share: keep it in the one holding the lower-left
                # corner of their common box (both boxes are registered there)
                ix, iy = max(bounds[i, 0], bounds[j, 0]), max(bounds[i, 1], bounds[j, 1])
                if min(int((iy - y0) / cell), ny - 1) * nx + min(int((ix - x0) / cell), nx - 1) != c:
                    continue
                ri, rj = col[i], col[j]
                reason = 0
                if ri >= 0 and rj >= 0:
                    if _flat_edge_separates(x, y, start, m, side, support, ri, rj) or _flat_edge_separates(
                        x, y, start, m, side, support, rj, ri
                    ):
                        continue
                    if (apex[ri] >= 0 or apex[rj] >= 0) and _pair_by_pieces(
                        x, y, start, m, side, apex, ri, rj, px, py, qx, qy
                    ):
                        continue
                    reason = 1
                if found == out_i.size:
                    out_i, out_j, why = _grow(out_i, found), _grow(out_j, found), _grow(why, found)
                out_i[found], out_j[found], why[found] = i, j, reason
                found += 1
    return out_i[:found], out_j[:found], why[:found]


#: From this many boxes the cells are swept in two threads, halves of about equal work (the kernels
#: release the GIL); below it one thread (tests set it to 0 to run the split on small layers).
THREADED_FROM = 100_000


def sweep(
    bounds: np.ndarray,
    col: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    start: np.ndarray,
    m: np.ndarray,
    side: np.ndarray,
    support: np.ndarray,
    apex: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair of geometries whose bounding boxes meet and that the separating lines do not rule out.

    A uniform grid of cells about twice the typical box holds each box in the cells it covers; each pair
    of boxes sharing a cell is tested once (in the cell of the lower-left corner of their common box),
    with the edge test and, for non-convex rings, the triangle test, without listing the pairs first.

    Parameters
    ----------
    bounds : ndarray, shape (n, 4)
        ``xmin, ymin, xmax, ymax`` of each geometry (metres); NaN rows (missing, empty) take part in no pair.
    col : ndarray of int64
        Each geometry's ring in the flat tables, -1 where the test does not apply (then every pair
        with a meeting box is returned).
    x, y, start, m, side, support, apex : ndarray
        The flat rings (:func:`ring_tables`, :func:`apexes`).

    Returns
    -------
    i, j : ndarray of int64
        The pairs, ``i < j``, in no particular order.
    why : ndarray of int8
        0: a geometry of the pair is not a flat ring; 1: both are, and neither test separated them.
    """
    b = np.ascontiguousarray(bounds, dtype=np.float64)
    ok = ~np.isnan(b[:, 0])
    empty = np.zeros(0, dtype=np.int64)
    if ok.sum() < 2:
        return empty, empty.copy(), np.zeros(0, dtype=np.int8)
    v = b[ok]
    w, h = v[:, 2] - v[:, 0], v[:, 3] - v[:, 1]
    span_x = float(v[:, 2].max() - v[:, 0].min())
    span_y = float(v[:, 3].max() - v[:, 1].min())
    cell = 2.0 * float(max(np.median(w), np.median(h)))
    # at most about 4 cells per box, and never a zero cell (boxes of points)
    floor = max(span_x, span_y, 1.0) / max(2.0 * np.sqrt(ok.sum()), 1.0)
    cell = max(cell, floor, 1e-9)
    nx, ny = int(span_x / cell) + 1, int(span_y / cell) + 1
    x0, y0, counts, boxes = _grid(b, cell, nx, ny)
    rest = (col.astype(np.int64, copy=False), x, y, start, m, side, support, apex)
    cells = nx * ny
    if ok.sum() < THREADED_FROM or cores.available() < 2 or cells < 2:
        return _sweep_cells(b, cell, nx, ny, x0, y0, counts, boxes, 0, cells, *rest)
    # the work of a cell grows with its boxes: cut where half of the (cell, box) entries are behind
    mid = int(np.searchsorted(counts, counts[-1] // 2))
    mid = min(max(mid, 1), cells - 1)
    with ThreadPoolExecutor(2, thread_name_prefix="kcn_gis-sweep") as pool:
        halves = list(
            pool.map(
                lambda r: _sweep_cells(b, cell, nx, ny, x0, y0, counts, boxes, r[0], r[1], *rest),
                [(0, mid), (mid, cells)],
            )
        )
    return tuple(np.concatenate([h[k] for h in halves]) for k in range(3))  # type: ignore[return-value]
