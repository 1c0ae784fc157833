"""Candidate pairs of overlapping polygons, with touching neighbours ruled out before any GEOS test.

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

Two engines give the same pairs: numpy blocks over the STRtree's box pairs, and, for layers of at
least :data:`KERNEL_FROM` geometries when numba is installed (the ``fast`` extra), the compiled
:mod:`kcn_gis.analytics._sat_numba` (a grid sweep that tests each box pair where it meets it).
``KCN_GIS_NUMBA=0`` forces the numpy engine.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import shapely

from kcn_gis import cores

__all__ = ["MAX_VERTICES", "MIN_TOLERANCE_M2", "candidate_pairs", "parallel"]

#: Polygons with more distinct vertices than this go to GEOS (the test costs vertices² per pair).
MAX_VERTICES = 12
#: The separating-line test is used only for sliver tolerances of at least this many m².
MIN_TOLERANCE_M2 = 1e-6
#: Pairs per numpy block (bounded memory: a block holds a few arrays of block x vertices floats).
_BLOCK = 16_384
#: Polygons queried against the tree at a time (their pairs and padded rings are held for one block only).
_GEOMETRY_BLOCK = 8_192  # 100k boxes: transient 20 MB instead of 33 MB at 25k, same time
#: Below this many pairs the test runs in one thread.
_PARALLEL_MIN = 4 * _BLOCK
#: Layers of at least this many geometries use the compiled test when numba is installed and already loaded
#: (or being loaded: :func:`warm_up`); smaller ones are done in numpy in well under a second.
KERNEL_FROM = 20_000
#: From this many geometries on, numba is loaded on demand for the search: below it, loading it (about a
#: second and 100 MB of LLVM) costs more than it saves, e.g. in the check of a 100 000-parcel import.
LOAD_FROM = 500_000


@dataclass
class _Rings:
    """Rings padded to ``k`` vertices (padding repeats vertex 0), one column per ring.

    Vertex-major ``(k, p)`` arrays, so that reductions over a ring's vertices run along the outer axis.
    """

    x: np.ndarray  # (k, p) vertex coordinates
    y: np.ndarray
    nx: np.ndarray  # (k, p) outward normal of edge v_k -> v_k+1 (not normalised; 0 for padding)
    ny: np.ndarray
    support: np.ndarray  # (k, p) edge k is a supporting line: every vertex on its inner closed side
    cx: np.ndarray  # (p,) mean of the distinct vertices
    cy: np.ndarray
    m: np.ndarray  # (p,) distinct vertices
    side: np.ndarray  # (p,) +1 counter-clockwise, -1 clockwise, 0 no area
    _rows: np.ndarray | None = None

    _PER_VERTEX = ("x", "y", "nx", "ny", "support")

    @property
    def rows(self) -> np.ndarray:
        """(p, 2k): each ring's x then y coordinates in one row (built once, for gathers)."""
        if self._rows is None:
            self._rows = np.ascontiguousarray(np.concatenate([self.x, self.y]).T)
        return self._rows

    def take(self, cols: np.ndarray) -> _Rings:
        return _Rings(
            *(getattr(self, f)[:, cols] if f in self._PER_VERTEX else getattr(self, f)[cols] for f in _FIELDS)
        )


_FIELDS = ("x", "y", "nx", "ny", "support", "cx", "cy", "m", "side")


def _concat(parts: list[_Rings], empty: _Rings) -> _Rings:
    if not parts:
        return empty
    if len(parts) == 1:
        return parts[0]
    return _Rings(
        *(np.concatenate([getattr(p, f) for p in parts], axis=1 if f in _Rings._PER_VERTEX else 0) for f in _FIELDS)
    )


def _spans(n: int) -> list[slice]:
    return [slice(s, s + _BLOCK) for s in range(0, n, _BLOCK)]


def _padded(x: np.ndarray, y: np.ndarray, m: np.ndarray) -> _Rings:
    """Normals, supporting edges and centres of rings given as padded vertex arrays ``(k, p)``."""
    k = x.shape[0]
    # the next vertex: padding repeats vertex 0, so a roll closes every ring (padding edges have length 0)
    ex, ey = np.roll(x, -1, axis=0) - x, np.roll(y, -1, axis=0) - y
    rx, ry = x - x[0], y - y[0]
    side = np.sign(np.sum(rx * (ry + ey) - ry * (rx + ex), axis=0))
    nx, ny = ey * side, -ex * side
    support = ((ex != 0) | (ey != 0)) & (side != 0)
    for e in range(k):
        d = (x - x[e]) * nx[e] + (y - y[e]) * ny[e]
        support[e] &= np.all(d <= 0, axis=0)
    live = np.arange(k)[:, None] < m
    cx = np.sum(np.where(live, x, 0.0), axis=0) / m
    cy = np.sum(np.where(live, y, 0.0), axis=0) / m
    return _Rings(x, y, nx, ny, support, cx, cy, m, side)


def _rings(g: np.ndarray) -> tuple[_Rings, np.ndarray]:
    """Padded exterior rings of the polygons of ``g`` with 3..MAX_VERTICES distinct vertices and an area.

    Returns the rings and, per geometry of ``g``, its column (-1 where the test does not apply).
    """
    polygon = shapely.get_type_id(g) == 3
    holes = np.zeros(len(g), dtype=bool)
    holes[polygon] = shapely.get_num_interior_rings(g[polygon]) > 0
    pos = np.flatnonzero(polygon)
    rings = g[pos]
    if holes.any():
        rings = rings.copy()
        rings[holes[pos]] = shapely.get_exterior_ring(rings[holes[pos]])  # a polygon lies within its shell
    m = shapely.get_num_coordinates(rings) - 1  # the closing vertex repeats the first
    keep = (m >= 3) & (m <= MAX_VERTICES)
    pos, rings, m = pos[keep], rings[keep], m[keep]
    k = int(m.max()) if m.size else 3
    coords = shapely.get_coordinates(rings)
    start = np.zeros(m.size, dtype=np.int64)
    start[1:] = np.cumsum(m + 1)[:-1]
    kk = np.arange(k)[:, None]
    idx = start + np.where(kk < m, kk, 0)
    # in blocks: a few dozen temporaries of (k, block) floats stay in cache instead of faulting in fresh pages
    r = _concat(
        [_padded(coords[idx[:, b], 0], coords[idx[:, b], 1], m[b]) for b in _spans(m.size)],
        _Rings(*(np.zeros((k, 0)) if f in _Rings._PER_VERTEX else np.zeros(0) for f in _FIELDS)),
    )
    ok = r.side != 0
    col = np.full(len(g), -1, dtype=np.int64)
    col[pos[ok]] = np.arange(int(ok.sum()))
    return (r if ok.all() else r.take(np.flatnonzero(ok))), col


def _outside(r: _Rings, a: np.ndarray, b: np.ndarray, e: np.ndarray | int) -> np.ndarray:
    """Rings ``b`` lie on the outer closed side of edge ``e`` of rings ``a``, a supporting edge."""
    px, py, nx, ny = r.x[e, a], r.y[e, a], r.nx[e, a], r.ny[e, a]
    k = r.x.shape[0]
    v = np.ascontiguousarray(r.rows[b].T)  # one contiguous gather per ring, then vertex-major
    t = (v[:k] - px) * nx + (v[k:] - py) * ny
    return r.support[e, a] & (np.min(t, axis=0) >= 0)


def _separated_guess(r: _Rings, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The edge of one ring that faces the other (by their centres) separates them."""
    dx, dy = r.cx[b] - r.cx[a], r.cy[b] - r.cy[a]
    out = np.zeros(a.size, dtype=bool)
    for x, y, s in ((a, b, 1.0), (b, a, -1.0)):
        todo = np.flatnonzero(~out)
        xt, yt = x[todo], y[todo]
        ux, uy = s * dx[todo], s * dy[todo]
        best = np.full(todo.size, -np.inf)
        edge = np.zeros(todo.size, dtype=np.int64)
        for e in range(r.x.shape[0]):
            score = np.where(r.support[e, xt], r.nx[e, xt] * ux + r.ny[e, xt] * uy, -np.inf)
            better = score > best
            best = np.where(better, score, best)
            edge[better] = e
        out[todo] = _outside(r, xt, yt, edge)
    return out


def _separated_full(r: _Rings, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Some supporting edge of either ring separates them (the separating-axis test)."""
    out = np.zeros(a.size, dtype=bool)
    for x, y in ((a, b), (b, a)):
        for e in range(r.x.shape[0]):
            todo = np.flatnonzero(~out & r.support[e, x])
            if todo.size:
                out[todo] = _outside(r, x[todo], y[todo], e)
    return out


def _blocks(
    fn: Callable[[_Rings, np.ndarray, np.ndarray], np.ndarray],
    r: _Rings,
    a: np.ndarray,
    b: np.ndarray,
    pool: ThreadPoolExecutor | None,
) -> np.ndarray:
    """``fn(r, a, b)`` block by block (bounded temporaries), in a thread pool when one is given."""
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    spans = _spans(a.size)

    def run(span: slice) -> np.ndarray:
        return fn(r, a[span], b[span])

    parts = list(pool.map(run, spans)) if pool is not None and a.size >= _PARALLEL_MIN else [run(s) for s in spans]
    return np.concatenate(parts)


def _numba_available() -> bool:
    """Whether the compiled search (:mod:`kcn_gis.analytics._sat_numba`) can be used.

    False when numba is not installed (it comes with the ``fast`` extra) or when the environment
    variable ``KCN_GIS_NUMBA`` is ``0``; the numpy engine then gives the same answer, more slowly.
    """
    if os.environ.get("KCN_GIS_NUMBA", "1") == "0":
        return False
    try:
        import kcn_gis.analytics._sat_numba  # noqa: F401
    except ImportError:
        return False
    return True


_warming: threading.Thread | None = None
_warming_lock = threading.Lock()


def _use_compiled(n: int) -> bool:
    """Whether a search over ``n`` geometries (or pairs) takes the compiled engine."""
    if n < KERNEL_FROM or os.environ.get("KCN_GIS_NUMBA", "1") == "0":
        return False
    loaded = _warming is not None or "kcn_gis.analytics._sat_numba" in sys.modules
    return (loaded or n >= LOAD_FROM) and _numba_available()


def warm_up(n: int) -> None:
    """Start loading the compiled test in the background when a layer of ``n`` geometries will be searched.

    Importing numba and loading its cached machine code takes about a second; started before the
    geometries are checked for validity, it runs while GEOS works. Nothing happens for small layers,
    without numba, or when it was already started.
    """
    global _warming
    if n < KERNEL_FROM or os.environ.get("KCN_GIS_NUMBA", "1") == "0":
        return
    with _warming_lock:
        if _warming is None:
            _warming = threading.Thread(target=_load_kernels, name="kcn_gis-numba-warm-up")
            _warming.start()


def _load_kernels() -> None:
    """Call each compiled function once on a tiny input of the real types (loads them from the cache)."""
    try:
        from kcn_gis.analytics import _sat_numba as k
    except ImportError:
        return
    xy = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [5.0, 5.0], [6.0, 5.0], [5.0, 6.0]])
    x, y = xy[:, 0], xy[:, 1]  # strided, as _flat_rings passes them
    start, m = np.array([0, 3], dtype=np.int64), np.array([3, 3], dtype=np.int64)
    side, support = k.ring_tables(x, y, start, m)
    pair = np.array([0], dtype=np.int64), np.array([1], dtype=np.int64)
    k.ring_pairs_separated(x, y, start, m, side, support, *pair)
    apex = k.apexes(x, y, start, m, side, support)
    k.pieces_separated(x, y, start, m, side, apex, *pair)
    bounds = np.array([[0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 6.0, 6.0]])
    k.sweep(bounds, np.array([0, 1], dtype=np.int64), x, y, start, m, side, support, apex)


def _separate(r: _Rings, a: np.ndarray, b: np.ndarray, pool: ThreadPoolExecutor | None) -> np.ndarray:
    """Pairs ``(a, b)`` of padded rings separated by a supporting edge of either one (the numpy engine)."""
    sep = _blocks(_separated_guess, r, a, b, pool)
    rest = np.flatnonzero(~sep)
    sep[rest] = _blocks(_separated_full, r, a[rest], b[rest], pool)
    return sep


def _fan_pieces(r: _Rings) -> tuple[_Rings, np.ndarray]:
    """Convex pieces covering each ring: itself when convex, else runs of positive triangles of a vertex fan.

    The fan from apex ``c`` has triangles ``(c, v_e, v_e+1)``; the positively oriented ones cover the
    ring (its winding number is their signed sum). Consecutive ones are merged while the piece stays
    convex (the shared vertex is convex in the ring and the piece's angle at ``c`` stays below 180°), so
    a hexagon with one reflex vertex becomes two pieces, not four triangles. Each triangle's vertices
    are among its piece's vertices, so a line with the piece on one side has the triangle there too:
    the test stays sound whatever the merge.

    Returns the pieces and the ring each piece belongs to (sorted by ring).
    """
    k = r.x.shape[0]
    live_edge = (r.nx != 0) | (r.ny != 0)
    convex = np.all(r.support | ~live_edge, axis=0)
    concave = np.flatnonzero(~convex)
    x, y, m, side = r.x[:, concave], r.y[:, concave], r.m[concave], r.side[concave]
    nq = concave.size
    cols = np.arange(nq)
    kk = np.arange(k)[:, None]
    x2, y2 = np.roll(x, -1, axis=0), np.roll(y, -1, axis=0)  # next vertex (padding repeats vertex 0)
    prv = np.where(kk > 0, kk - 1, m - 1)
    x0, y0 = np.take_along_axis(x, prv, axis=0), np.take_along_axis(y, prv, axis=0)
    live = kk < m
    turn = ((x - x0) * (y2 - y) - (y - y0) * (x2 - x)) * side  # > 0: convex vertex, < 0: reflex
    # apex: a vertex the ring is star-shaped from (no negative fan triangle), preferably a reflex one
    score = np.full((k, nq), 2 * k + 2, dtype=np.int64)
    for c in range(k):
        area = ((x - x[c]) * (y2 - y[c]) - (y - y[c]) * (x2 - x[c])) * side
        score[c] = 2 * np.sum((area < 0) & live, axis=0) + (turn[c] >= 0)
    score[~live] = 2 * k + 2  # padding is no apex
    c = np.argmin(score, axis=0)
    xc, yc = x[c, cols], y[c, cols]
    pieces_q: list[np.ndarray] = []
    pieces_s: list[np.ndarray] = []
    pieces_n: list[np.ndarray] = []  # triangles in the piece
    start = np.full(nq, -1)
    count = np.zeros(nq, dtype=np.int64)
    for t in range(k):
        e = (c + 1 + t) % m
        xe, ye, xn, yn = x[e, cols], y[e, cols], x2[e, cols], y2[e, cols]
        tri = (t < m - 2) & (((xe - xc) * (yn - yc) - (ye - yc) * (xn - xc)) * side > 0)
        open_ = start >= 0
        s_ = np.where(open_, start, 0)
        xs, ys = x[s_, cols], y[s_, cols]
        below_180 = ((xs - xc) * (yn - yc) - (ys - yc) * (xn - xc)) * side > 0
        extend = open_ & tri & (turn[e, cols] >= 0) & below_180
        done = np.flatnonzero(open_ & ~extend)
        pieces_q.append(done)
        pieces_s.append(start[done])
        pieces_n.append(count[done])
        start[done] = -1
        count[extend] += 1
        begin = tri & ~extend
        start[begin] = e[begin]
        count[begin] = 1
    done = np.flatnonzero(start >= 0)
    pieces_q.append(done)
    pieces_s.append(start[done])
    pieces_n.append(count[done])
    q, s0, nt = np.concatenate(pieces_q), np.concatenate(pieces_s), np.concatenate(pieces_n)
    # piece vertices: c, v_s, v_s+1, ..., v_s+nt (mod m), padded with c
    j = np.arange(k)[:, None]
    idx = np.where((j >= 1) & (j <= nt + 1), (s0 + j - 1) % m[q], c[q])
    made = _padded(x[idx, q], y[idx, q], nt + 2)
    whole = np.flatnonzero(convex)
    pieces = _concat([r.take(whole), made], made)
    owner = np.concatenate([whole, concave[q]])
    order = np.argsort(owner, kind="stable")
    return pieces.take(order), owner[order]


def _separated_by_pieces(r: _Rings, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairs of rings all of whose convex pieces are pairwise separated."""
    if a.size == 0:
        return np.zeros(0, dtype=bool)
    used = np.unique(np.concatenate([a, b]))
    blocks = [(span.start, _fan_pieces(r.take(used[span]))) for span in _spans(used.size)]
    pieces = _concat([p for _, (p, _) in blocks], r.take(used[:0]))
    owner = np.concatenate([start + o for start, (_, o) in blocks])  # positions in ``used``, sorted
    first = np.searchsorted(owner, np.arange(used.size))
    count = np.searchsorted(owner, np.arange(used.size), side="right") - first
    ua, ub = np.searchsorted(used, a), np.searchsorted(used, b)
    fa, ca, fb, cb = first[ua], count[ua], first[ub], count[ub]
    n = ca * cb
    rep = np.repeat(np.arange(a.size), n)
    local = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    pa = fa[rep] + local // cb[rep]
    pb = fb[rep] + local % cb[rep]
    sep = _separate(pieces, pa, pb, None)
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
        Threads for the numpy blocks (default 1: on two cores, two threads were slower, as numpy's
        gathers hold the GIL).

    Returns
    -------
    i, j : ndarray of int64
        Positions in ``g``, sorted by ``i`` then ``j``.
    """
    if _use_compiled(len(g)):
        return _compiled_pairs(g)
    tree = shapely.STRtree(g)
    found_i: list[np.ndarray] = []
    found_j: list[np.ndarray] = []
    # a block of polygons at a time against the whole tree: the padded rings and the pair lists exist
    # for one block only, so memory stays bounded however large the layer
    for start in range(0, len(g), _GEOMETRY_BLOCK):
        pairs = tree.query(g[start : start + _GEOMETRY_BLOCK])
        i, j = pairs[0] + start, pairs[1]
        keep = i < j
        i, j = i[keep], j[keep]
        if i.size == 0:
            continue
        order = np.lexsort((j, i))
        ci, cj = _not_separated(g, i[order], j[order], threads)
        found_i.append(ci)
        found_j.append(cj)
    if not found_i:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    return np.concatenate(found_i), np.concatenate(found_j)


def _compiled_pairs(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`candidate_pairs` in compiled code: a grid of cells instead of the STRtree, and every pair
    tested where it is found (:func:`kcn_gis.analytics._sat_numba.sweep`); the few pairs of non-convex
    rings the triangles leave go to the numpy path's merged convex pieces."""
    from kcn_gis.analytics._sat_numba import sweep

    flat = _flat_rings(g)
    i, j, why = sweep(
        shapely.bounds(g), flat.col, flat.x, flat.y, flat.start, flat.m, flat.side, flat.support, flat.apex
    )
    keep = np.ones(i.size, dtype=bool)
    rest = np.flatnonzero(why == 1)
    if rest.size:
        involved = np.unique(np.concatenate([i[rest], j[rest]]))
        r, row_of = _rings(g[involved])
        a, b = row_of[np.searchsorted(involved, i[rest])], row_of[np.searchsorted(involved, j[rest])]
        ok = (a >= 0) & (b >= 0)
        keep[rest[ok]] = ~_separated_by_pieces(r, a[ok], b[ok])
    i, j = i[keep], j[keep]
    order = np.lexsort((j, i))
    return i[order], j[order]


@dataclass
class _FlatRings:
    """The exterior rings of a whole layer, flat (see :func:`kcn_gis.analytics._sat_numba.ring_tables`)."""

    x: np.ndarray
    y: np.ndarray
    start: np.ndarray
    m: np.ndarray
    side: np.ndarray
    support: np.ndarray
    apex: np.ndarray  # -1: convex; else the apex of the ring's fan of triangles
    col: np.ndarray  # per geometry: its ring, -1 where the test does not apply (as in :func:`_rings`)


def _flat_rings(g: np.ndarray) -> _FlatRings:
    """Exterior rings of the polygons of ``g`` with 3..MAX_VERTICES distinct vertices and an area, flat.

    About 40 bytes per vertex for the whole layer (a million parcels: about 250 MB while the search runs).
    """
    from kcn_gis.analytics._sat_numba import apexes, ring_tables

    pos = np.flatnonzero(shapely.get_type_id(g) == 3)
    rings = g[pos]
    holes = shapely.get_num_interior_rings(rings) > 0
    if holes.any():
        rings[holes] = shapely.get_exterior_ring(rings[holes])  # a polygon lies within its shell
    count = shapely.get_num_coordinates(rings)
    m = count - 1  # the closing vertex repeats the first
    keep = (m >= 3) & (m <= MAX_VERTICES)
    pos, rings, m, count = pos[keep], rings[keep], m[keep], count[keep]
    coords = shapely.get_coordinates(rings)
    del rings
    x, y = coords[:, 0], coords[:, 1]  # strided views (the compiled code takes them as they are): no copies
    start = np.zeros(m.size, dtype=np.int64)
    start[1:] = np.cumsum(count)[:-1]
    m = m.astype(np.int64)
    side, support = ring_tables(x, y, start, m)
    col = np.full(len(g), -1, dtype=np.int64)
    ok = side != 0
    col[pos[ok]] = np.flatnonzero(ok)
    return _FlatRings(x, y, start, m, side, support, apexes(x, y, start, m, side, support), col)


def _not_separated(g: np.ndarray, i: np.ndarray, j: np.ndarray, threads: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The pairs ``(i, j)`` (bounding boxes meet) that no separating line rules out."""
    involved = np.unique(np.concatenate([i, j]))
    r, row_of = _rings(g[involved])
    ri, rj = row_of[np.searchsorted(involved, i)], row_of[np.searchsorted(involved, j)]
    sep = np.zeros(i.size, dtype=bool)
    both = np.flatnonzero((ri >= 0) & (rj >= 0))
    n_threads = threads if threads is not None else 1  # two threads measured slower: fancy indexing holds the GIL
    pool = ThreadPoolExecutor(n_threads) if n_threads > 1 else None
    try:
        sep[both] = _separate(r, ri[both], rj[both], pool)
    finally:
        if pool is not None:
            pool.shutdown()
    rest = both[~sep[both]]
    sep[rest] = _separated_by_pieces(r, ri[rest], rj[rest])
    return i[~sep], j[~sep]


def parallel(fn: Callable[..., np.ndarray], *arrays: np.ndarray, threads: int | None = None) -> np.ndarray:
    """``fn(*arrays)`` for a vectorised shapely function, split over up to two threads (GEOS releases the GIL).

    Prepared geometries build their indexes lazily and are not shared between threads: with any
    prepared input the call runs in one thread.
    """
    n = len(arrays[0]) if arrays else 0
    n_threads = threads if threads is not None else min(2, cores.available())
    if n_threads < 2 or n < 20_000 or any(shapely.is_prepared(a).any() for a in arrays):
        return fn(*arrays)
    cuts = np.linspace(0, n, n_threads + 1).astype(int)
    with ThreadPoolExecutor(n_threads) as pool:
        parts = list(pool.map(lambda s: fn(*(a[s[0] : s[1]] for a in arrays)), itertools.pairwise(cuts)))
    return np.concatenate(parts)
