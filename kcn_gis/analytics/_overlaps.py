"""Candidate pairs of overlapping polygons, with touching neighbours ruled out in numpy first.

A cadastre is a tessellation: every parcel touches its eight or so neighbours and overlaps none.
Asking GEOS ``overlaps``/``contains`` about every pair of neighbouring bounding boxes costs
microseconds per pair (minutes at a million parcels). Here a pair is dropped only when a *separating
line* is found: the line through an edge of one polygon with every vertex of that polygon on its
inner closed side and every vertex of the other polygon on its outer closed side. A polygon lies in
the convex hull of its vertices, so such a pair has disjoint interiors (it may touch along the line):
the test never drops a pair that overlaps. Two convex polygons that share an edge or a corner are
always separated by one of their edges. A non-convex polygon is covered by the positively oriented
triangles of a fan from one of its vertices (the winding number of its ring is the signed sum of the
fan's triangles, so every interior point lies in a positive one), and its pairs are tested triangle
by triangle. Everything not proven separated (multipolygons, polygons with more than
:data:`MAX_VERTICES` vertices, near-degenerate cases) is left to the caller's exact GEOS test.

Arithmetic: the test evaluates ``(v - p) · n`` with ``p`` a vertex of the edge and ``n`` its normal;
for a vertex shared by both polygons this is exactly 0, so touching neighbours are separated exactly.
Elsewhere a wrong sign needs the vertex within about 1e-12 m of the line, so a dropped pair could
overlap by far less than a square millimetre; callers use the test only with a sliver tolerance of
at least :data:`MIN_TOLERANCE_M2`.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely

__all__ = ["MAX_VERTICES", "MIN_TOLERANCE_M2", "candidate_pairs", "parallel"]

#: Polygons with more distinct vertices than this go to GEOS (the test costs vertices² per pair).
MAX_VERTICES = 12
#: The separating-line test is used only for sliver tolerances of at least this many m².
MIN_TOLERANCE_M2 = 1e-6
#: Pairs per numpy block (bounded memory: a block holds a few arrays of block x vertices floats).
_BLOCK = 65_536
#: Below this many pairs the test runs in one thread.
_PARALLEL_MIN = 4 * _BLOCK


@dataclass
class _Rings:
    """Rings padded to ``k`` vertices (padding repeats vertex 0), one row per ring."""

    x: np.ndarray  # (p, k) vertex coordinates
    y: np.ndarray
    nx: np.ndarray  # (p, k) outward normal of edge v_k -> v_k+1 (not normalised; 0 for padding)
    ny: np.ndarray
    support: np.ndarray  # (p, k) edge k is a supporting line: every vertex on its inner closed side
    cx: np.ndarray  # (p,) mean of the distinct vertices
    cy: np.ndarray
    m: np.ndarray  # (p,) distinct vertices
    side: np.ndarray  # (p,) +1 counter-clockwise, -1 clockwise, 0 no area

    def take(self, rows: np.ndarray) -> _Rings:
        return _Rings(*(getattr(self, f)[rows] for f in self.__dataclass_fields__))


def _padded(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> _Rings:
    """Normals, supporting edges and centres of rings given as padded vertex arrays ``(p, k)``."""
    p, k = x.shape
    nxt = np.where(np.arange(1, k + 1) < m[:, None], np.arange(1, k + 1), 0)
    rows = np.arange(p)[:, None]
    ex, ey = x[rows, nxt] - x, y[rows, nxt] - y  # zero for padding and for repeated vertices
    rx, ry = x - x[:, :1], y - y[:, :1]
    side = np.sign(np.sum(rx * (ry + ey) - ry * (rx + ex), axis=1))
    nx, ny = ey * side[:, None], -ex * side[:, None]
    support = ((ex != 0) | (ey != 0)) & (side != 0)[:, None]
    for e in range(k):
        d = (x - x[:, e : e + 1]) * nx[:, e : e + 1] + (y - y[:, e : e + 1]) * ny[:, e : e + 1]
        support[:, e] &= np.all(d <= 0, axis=1)
    live = np.arange(k) < m[:, None]
    cx = np.sum(np.where(live, x, 0.0), axis=1) / m
    cy = np.sum(np.where(live, y, 0.0), axis=1) / m
    return _Rings(x, y, nx, ny, support, cx, cy, m, side)


def _rings(g: np.ndarray) -> tuple[_Rings, np.ndarray]:
    """Padded exterior rings of the polygons of ``g`` with 3..MAX_VERTICES distinct vertices and an area.

    Returns the rings and, per geometry of ``g``, its row (-1 where the test does not apply).
    """
    polygon = shapely.get_type_id(g) == 3
    holes = np.zeros(len(g), dtype=bool)
    holes[polygon] = shapely.get_num_interior_rings(g[polygon]) > 0
    pos = np.flatnonzero(polygon)
    rings = g[pos].copy()
    rings[holes[pos]] = shapely.get_exterior_ring(rings[holes[pos]])  # a polygon lies within its shell
    m = shapely.get_num_coordinates(rings) - 1  # the closing vertex repeats the first
    keep = (m >= 3) & (m <= MAX_VERTICES)
    pos, rings, m = pos[keep], rings[keep], m[keep]
    k = int(m.max()) if m.size else 3
    coords = shapely.get_coordinates(rings)
    start = np.zeros(m.size, dtype=np.int64)
    start[1:] = np.cumsum(m + 1)[:-1]
    idx = start[:, None] + np.where(np.arange(k) < m[:, None], np.arange(k), 0)
    r = _padded(coords[idx, 0], coords[idx, 1], m)
    ok = r.side != 0
    row = np.full(len(g), -1, dtype=np.int64)
    row[pos[ok]] = np.arange(int(ok.sum()))
    return r.take(np.flatnonzero(ok)), row


def _outside(r: _Rings, a: np.ndarray, b: np.ndarray, e: np.ndarray) -> np.ndarray:
    """Rings ``b`` lie on the outer closed side of edge ``e`` of rings ``a``, a supporting edge."""
    px, py, nx, ny = r.x[a, e], r.y[a, e], r.nx[a, e], r.ny[a, e]
    t = (r.x[b] - px[:, None]) * nx[:, None] + (r.y[b] - py[:, None]) * ny[:, None]
    return r.support[a, e] & (t.min(axis=1) >= 0)


def _separated_guess(r: _Rings, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The edge of one ring that faces the other (by their centres) separates them."""
    dx, dy = r.cx[b] - r.cx[a], r.cy[b] - r.cy[a]
    out = np.zeros(a.size, dtype=bool)
    for x, y, s in ((a, b, 1.0), (b, a, -1.0)):
        todo = np.flatnonzero(~out)
        xt, yt = x[todo], y[todo]
        score = r.nx[xt] * (s * dx[todo, None]) + r.ny[xt] * (s * dy[todo, None])
        score[~r.support[xt]] = -np.inf
        out[todo] = _outside(r, xt, yt, np.argmax(score, axis=1))
    return out


def _separated_full(r: _Rings, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Some supporting edge of either ring separates them (the separating-axis test)."""
    out = np.zeros(a.size, dtype=bool)
    for x, y in ((a, b), (b, a)):
        for e in range(r.x.shape[1]):
            todo = np.flatnonzero(~out & r.support[x, e])
            if todo.size:
                out[todo] = _outside(r, x[todo], y[todo], np.full(todo.size, e))
    return out


def _blocks(
    fn: Callable[[_Rings, np.ndarray, np.ndarray], np.ndarray],
    r: _Rings,
    a: np.ndarray,
    b: np.ndarray,
    pool: ThreadPoolExecutor | None,
) -> np.ndarray:
    """``fn(r, a, b)`` block by block; numpy releases the GIL in its loops, so blocks run two at a time."""
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    spans = [slice(s, s + _BLOCK) for s in range(0, a.size, _BLOCK)]

    def run(span: slice) -> np.ndarray:
        return fn(r, a[span], b[span])

    parts = list(pool.map(run, spans)) if pool is not None and a.size >= _PARALLEL_MIN else [run(s) for s in spans]
    return np.concatenate(parts)


def _fan_pieces(r: _Rings) -> tuple[_Rings, np.ndarray]:
    """Convex pieces covering each ring: itself when convex, else the positive triangles of a vertex fan.

    Returns the pieces and the ring each piece belongs to (sorted by ring).
    """
    k = r.x.shape[1]
    live_edge = (r.nx != 0) | (r.ny != 0)
    convex = np.all(r.support | ~live_edge, axis=1)
    concave = np.flatnonzero(~convex)
    x, y, m, side = r.x[concave], r.y[concave], r.m[concave], r.side[concave]
    kk = np.arange(k)
    nxt = np.where(kk + 1 < m[:, None], kk + 1, 0)
    rows = np.arange(concave.size)[:, None]
    x1, y1, x2, y2 = x, y, x[rows, nxt], y[rows, nxt]
    # twice the signed area of triangle (apex c, v_e, v_e+1), oriented like the ring: (q, c, e)
    ax, ay = x[:, :, None], y[:, :, None]
    area = ((x1[:, None, :] - ax) * (y2[:, None, :] - ay) - (y1[:, None, :] - ay) * (x2[:, None, :] - ax)) * side[
        :, None, None
    ]
    valid = (kk[None, :, None] < m[:, None, None]) & (kk[None, None, :] < m[:, None, None])
    negative = np.sum((area < 0) & valid, axis=2)
    negative[kk[None, :] >= m[:, None]] = k + 1  # padding is no apex
    apex = np.argmin(negative, axis=1)  # a vertex the ring is star-shaped from, if there is one
    tri_area = area[np.arange(concave.size), apex]
    q, e = np.nonzero((tri_area > 0) & (kk[None, :] < m[:, None]))
    c = apex[q]
    tx = np.stack([x[q, c], x1[q, e], x2[q, e]], axis=1)
    ty = np.stack([y[q, c], y1[q, e], y2[q, e]], axis=1)
    tx = np.concatenate([tx, np.repeat(tx[:, :1], k - 3, axis=1)], axis=1)  # padding repeats vertex 0
    ty = np.concatenate([ty, np.repeat(ty[:, :1], k - 3, axis=1)], axis=1)
    tri = _padded(tx, ty, np.full(q.size, 3))
    whole = np.flatnonzero(convex)
    pieces = _Rings(*(np.concatenate([getattr(r, f)[whole], getattr(tri, f)]) for f in r.__dataclass_fields__))
    owner = np.concatenate([whole, concave[q]])
    order = np.argsort(owner, kind="stable")
    return pieces.take(order), owner[order]


def _separated_by_pieces(r: _Rings, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs of rings all of whose convex pieces are pairwise separated."""
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    used = np.unique(np.concatenate([a, b]))
    pieces, owner = _fan_pieces(r.take(used))  # owner: positions in ``used``
    first = np.searchsorted(owner, np.arange(used.size))
    count = np.searchsorted(owner, np.arange(used.size), side="right") - first
    ua, ub = np.searchsorted(used, a), np.searchsorted(used, b)
    fa, ca, fb, cb = first[ua], count[ua], first[ub], count[ub]
    n = ca * cb
    rep = np.repeat(np.arange(a.size), n)
    local = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    pa = fa[rep] + local // cb[rep]
    pb = fb[rep] + local % cb[rep]
    sep = _separated_full(pieces, pa, pb)
    failed = np.bincount(rep[~sep], minlength=a.size)
    return (failed == 0) & (n > 0)


def candidate_pairs(g: np.ndarray, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of geometries of ``g`` whose interiors may intersect.

    Every pair whose interiors intersect is returned; pairs that only touch, or whose bounding
    boxes merely overlap, mostly are not. Coordinates in a projected CRS (metres); ``None`` and
    empty geometries take part in no pair.

    Parameters
    ----------
    g : ndarray of shapely geometries
        Valid geometries (repair invalid ones first).
    threads : int, optional
        Threads for the numpy blocks (default: up to 2, from ``os.cpu_count()``).

    Returns
    -------
    i, j : ndarray of int64
        Positions in ``g``, sorted by ``i`` then ``j``.
    """
    pairs = shapely.STRtree(g).query(g)
    keep = pairs[0] < pairs[1]
    i, j = pairs[0][keep], pairs[1][keep]
    order = np.lexsort((j, i))
    i, j = i[order], j[order]
    if i.size == 0:
        return i, j
    r, row = _rings(g)
    ri, rj = row[i], row[j]
    sep = np.zeros(i.size, dtype=bool)
    both = np.flatnonzero((ri >= 0) & (rj >= 0))
    n_threads = threads if threads is not None else min(2, os.cpu_count() or 1)
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
    try:
        sep[both] = _blocks(_separated_guess, r, ri[both], rj[both], pool)
        rest = both[~sep[both]]
        sep[rest] = _blocks(_separated_full, r, ri[rest], rj[rest], pool)
    finally:
        if pool is not None:
            pool.shutdown()
    rest = both[~sep[both]]
    sep[rest] = _separated_by_pieces(r, ri[rest], rj[rest])
    return i[~sep], j[~sep]


def parallel(fn: Callable[..., np.ndarray], *arrays: np.ndarray, threads: int | None = None) -> np.ndarray:
    """``fn(*arrays)`` for a vectorised shapely function, split over up to two threads (GEOS releases the GIL)."""
    n = len(arrays[0]) if arrays else 0
    n_threads = threads if threads is not None else min(2, os.cpu_count() or 1)
    if n_threads < 2 or n < 20_000:
        return fn(*arrays)
    cuts = np.linspace(0, n, n_threads + 1).astype(int)
    with ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(lambda s: fn(*(a[s[0] : s[1]] for a in arrays)), itertools.pairwise(cuts)))
    return np.concatenate(parts)
