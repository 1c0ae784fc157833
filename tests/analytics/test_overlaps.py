"""The fast whole-layer overlap search finds exactly the pairs GEOS finds, on tessellations and odd shapes.

The oracle is brute force: GEOS ``overlaps``/``contains`` on every pair of the (small) layer, then the
area of the intersection against the sliver tolerance, i.e. the definition the checks document.
"""

from __future__ import annotations

import itertools

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.affinity import rotate, translate

from kcn_gis.analytics import check_consistency
from kcn_gis.analytics._overlaps import candidate_pairs
from kcn_gis.analytics.checks import _overlap_pairs
from kcn_gis.schema import Col, Layer
from tests.conftest import CRS, E0, N0, make_layers


@pytest.fixture(params=["numba", "numpy"], autouse=True)
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test here runs with the compiled separating-line test and with the numpy blocks."""
    if request.param == "numba":
        pytest.importorskip("numba")
        from kcn_gis.analytics import _overlaps

        monkeypatch.delenv("KCN_GIS_NUMBA", raising=False)
        monkeypatch.setattr(_overlaps, "KERNEL_FROM", 0)  # the compiled test even on these small layers
        monkeypatch.setattr(_overlaps, "LOAD_FROM", 0)
    else:
        monkeypatch.setenv("KCN_GIS_NUMBA", "0")
    return str(request.param)


def brute_force(g: np.ndarray, tol: float) -> set[tuple[int, int]]:
    """Every pair (i < j) with overlaps or containment and an intersection of at least ``tol`` m²."""
    out = set()
    for i, j in itertools.combinations(range(len(g)), 2):
        a, b = g[i], g[j]
        if a is None or b is None or a.is_empty or b.is_empty:
            continue
        if (a.overlaps(b) or a.contains(b) or b.contains(a)) and a.intersection(b).area >= tol:
            out.add((i, j))
    return out


def fast(g: np.ndarray, tol: float = 1.0) -> set[tuple[int, int]]:
    i, j, _ = _overlap_pairs(g, tol)
    return set(zip(i.tolist(), j.tolist(), strict=True))


def tessellation(nx: int, ny: int, *, seed: int, merge_every: int = 3) -> np.ndarray:
    """A jittered grid of ~20 m x 30 m cells sharing their vertices; every ``merge_every``-th pair of
    cells in a row is merged into a hexagon (non-convex when its middle vertices are jittered inward)."""
    rng = np.random.default_rng(seed)
    xs = E0 + np.arange(nx + 1) * 20.0
    ys = N0 + np.arange(ny + 1) * 30.0
    vx = xs[None, :] + rng.uniform(-6, 6, (ny + 1, nx + 1))
    vy = ys[:, None] + rng.uniform(-9, 9, (ny + 1, nx + 1))

    def v(i: int, j: int) -> tuple[float, float]:
        return (float(vx[i, j]), float(vy[i, j]))

    out = []
    for i in range(ny):
        j = 0
        while j < nx:
            if (i + j) % merge_every == 0 and j + 1 < nx:
                out.append(
                    shapely.Polygon([v(i, j), v(i, j + 1), v(i, j + 2), v(i + 1, j + 2), v(i + 1, j + 1), v(i + 1, j)])
                )
                j += 2
            else:
                out.append(shapely.Polygon([v(i, j), v(i, j + 1), v(i + 1, j + 1), v(i + 1, j)]))
                j += 1
    g = np.array(out, dtype=object)
    assert shapely.is_valid(g).all()
    return g


def test_a_clean_tessellation_has_no_overlaps_and_no_candidates():
    g = tessellation(25, 20, seed=1)
    concave = shapely.area(shapely.convex_hull(g)) - shapely.area(g) > 1e-6
    assert concave.sum() > 20  # the test needs non-convex parcels
    assert brute_force(g, 1.0) == set()
    assert fast(g) == set()
    i, _ = candidate_pairs(g)
    assert i.size == 0  # every touching pair (edge or corner) was ruled out without GEOS


@pytest.mark.parametrize("seed", range(6))
def test_planted_overlaps_in_a_tessellation_match_brute_force(seed):
    rng = np.random.default_rng(100 + seed)
    g = tessellation(14, 12, seed=seed)
    n = len(g)
    picks = rng.choice(n, size=8, replace=False)
    g = g.copy()
    g[picks[0]] = translate(g[picks[0]], 3.0, 0.0)  # overlaps its neighbours
    g[picks[1]] = translate(g[picks[1]], 0.0, 0.02)  # a 2 cm shift: slivers below 1 m²
    g[picks[2]] = rotate(g[picks[2]], 7, origin="centroid")
    g[picks[3]] = shapely.buffer(g[picks[3]], 0.5, join_style="mitre")  # grown by 0.5 m: overlaps all around
    g[picks[4]] = shapely.buffer(g[picks[4]], -1.0, join_style="mitre")  # shrunk: touches nobody
    g[picks[5]] = None
    g[picks[6]] = shapely.Polygon()
    extra = [
        g[picks[7]],  # an exact duplicate
        shapely.buffer(g[picks[7]], -2.0),  # strictly inside it
        shapely.box(E0 + 5_000, N0, E0 + 5_010, N0 + 10),  # far away
    ]
    g = np.concatenate([g, np.array(extra, dtype=object)])
    expected = brute_force(g, 1.0)
    assert len(expected) >= 8
    assert fast(g) == expected
    # the sliver pairs are found by GEOS but are below the tolerance; with a tiny tolerance they count
    assert fast(g, 1e-4) == brute_force(g, 1e-4)


def test_touching_versus_overlapping_squares_with_areas():
    a = shapely.box(0, 0, 10, 10)
    g = np.array(
        [
            a,
            shapely.box(10, 0, 20, 10),  # shares an edge
            shapely.box(10, 10, 20, 20),  # shares a corner
            shapely.box(-10, 2, 0.5, 8),  # overlaps a by 0.5 x 6 = 3 m²
            shapely.box(3, -5, 4, -0.05),  # 5 cm below a: no contact
            shapely.box(2, 9.95, 3, 15),  # overlaps a by 1 x 0.05 = 0.05 m²: a sliver
        ],
        dtype=object,
    )
    i, j, area = _overlap_pairs(g, 1.0)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 3)]
    assert area[0] == pytest.approx(3.0)
    i, j, area = _overlap_pairs(g, 0.01)
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == [(0, 3), (0, 5)]
    assert area[1] == pytest.approx(0.05)


def test_concave_shapes_around_each_other():
    ell = shapely.Polygon([(0, 0), (30, 0), (30, 10), (10, 10), (10, 30), (0, 30)])
    notch = shapely.box(10, 10, 30, 30)  # fills the notch: touches along two edges, no overlap
    into = shapely.box(8, 12, 20, 20)  # reaches 2 m into the L's arm: 2 x 8 = 16 m²
    u = shapely.Polygon([(0, 40), (30, 40), (30, 60), (20, 60), (20, 50), (10, 50), (10, 60), (0, 60)])
    inside_u = shapely.box(10, 50, 20, 60)  # the U's gap
    comb = shapely.Polygon(
        [
            (40, 0),
            (70, 0),
            (70, 20),
            (65, 20),
            (65, 5),
            (60, 5),
            (60, 20),
            (55, 20),
            (55, 5),
            (50, 5),
            (50, 20),
            (40, 20),
        ]
    )
    tooth = shapely.box(60, 5, 65, 20)  # between two teeth of the comb
    g = np.array([ell, notch, into, u, inside_u, comb, tooth], dtype=object)
    assert fast(g) == brute_force(g, 1.0) == {(0, 2), (1, 2)}


def test_holes_multipolygons_and_many_vertices_take_the_exact_path():
    ring = shapely.box(0, 0, 30, 30).difference(shapely.box(10, 10, 20, 20))  # a square with a hole
    in_hole = shapely.box(10, 10, 20, 20)  # fills the hole: touches only
    over_hole = shapely.box(9, 12, 15, 18)  # 1 m over the ring: 6 m²
    multi = shapely.MultiPolygon([shapely.box(40, 0, 50, 10), shapely.box(60, 0, 70, 10)])
    between = shapely.box(50, 0, 60, 10)  # touches both parts
    over_multi = shapely.box(68, 0, 75, 10)  # 2 x 10 = 20 m²
    circle = shapely.Point(100, 0).buffer(10, 64)  # 257 vertices
    touching_circle = shapely.box(110, -5, 120, 5)
    over_circle = shapely.box(85, -2, 95, 2)
    g = np.array(
        [ring, in_hole, over_hole, multi, between, over_multi, circle, touching_circle, over_circle], dtype=object
    )
    assert fast(g) == brute_force(g, 1.0) == {(0, 2), (1, 2), (3, 5), (6, 8)}


def test_random_polygons_match_brute_force():
    rng = np.random.default_rng(7)
    shapes = []
    for _ in range(160):
        cx, cy = rng.uniform(0, 200, 2)
        kind = rng.integers(3)
        if kind == 0:  # random star-shaped polygon (often concave)
            k = int(rng.integers(3, 12))
            ang = np.sort(rng.uniform(0, 2 * np.pi, k))
            rad = rng.uniform(3, 15, k)
            p = shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
        elif kind == 1:  # rotated rectangle
            p = rotate(shapely.box(cx, cy, cx + rng.uniform(2, 20), cy + rng.uniform(2, 20)), rng.uniform(0, 90))
        else:  # rectangle on a 10 m grid: many exact touches
            x0, y0 = np.floor(cx / 10) * 10, np.floor(cy / 10) * 10
            p = shapely.box(x0, y0, x0 + 10 * rng.integers(1, 3), y0 + 10 * rng.integers(1, 3))
        shapes.append(shapely.make_valid(p) if not p.is_valid else p)
    g = np.array(shapes, dtype=object)
    g = np.where(shapely.get_type_id(g) == 7, None, g)  # keep polygonal shapes only
    expected = brute_force(g, 1.0)
    assert len(expected) > 50
    assert fast(g) == expected


def test_check_consistency_reports_planted_parcel_overlaps_like_the_focused_path():
    layers = make_layers()
    park = layers[Layer.PARKS].iloc[[1]]  # S1: x 545 000-545 500, y 2 331 000-2 332 000
    x0, y0 = float(park.total_bounds[0]), float(park.total_bounds[1])
    g = tessellation(20, 25, seed=3)
    g = shapely.transform(g, lambda c: c - [E0, N0] + [x0 + 20, y0 + 20])
    g[40] = translate(g[40], 4.0, 0.0)
    g = np.concatenate([g, np.array([g[100]], dtype=object)])  # a duplicate of parcel 100
    parcels = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: [f"T-{k}" for k in range(len(g))],
            Col.PARK_ID: park[Col.PARK_ID].iloc[0],
        },
        geometry=list(g),
        crs=CRS,
    )
    base = layers[Layer.PARCELS]
    for c in base.columns:
        if c not in parcels.columns:
            parcels[c] = pd.Series([base[c].iloc[0]] * len(parcels), dtype=base[c].dtype)
    parcels = parcels[list(base.columns)]
    kw = dict(parks=layers[Layer.PARKS], plots=None, parcels=parcels, projects=None)
    found = [p for p in check_consistency(**kw) if p.check == "overlapping_parcels"]
    # the search for new rows: a few rows new (the STRtree query of those rows), or every row new (the
    # whole-layer search, filtered to pairs with a new row): both give the whole-layer answer here
    few = np.zeros(len(parcels), dtype=bool)
    few[[40, 100, len(g) - 1]] = True
    some = check_consistency(**kw, changed={str(Layer.PARCELS): few})
    focused = check_consistency(**kw, changed={str(Layer.PARCELS): np.ones(len(parcels), dtype=bool)})
    new_ids = {f"T-{k}" for k in (40, 100, len(g) - 1)}

    def pairs(problems: list, *, new_only: bool = False) -> set[frozenset[str]]:
        out = set()
        for p in problems:
            if p.check == "overlapping_parcels":
                ids = frozenset(str(x).split("'")[1] if "'" in str(x) else str(x) for x in p.ids)
                if not new_only or ids & new_ids:
                    out.add(ids)
        return out

    assert pairs(some) == pairs(found, new_only=True) and pairs(some)
    assert [(p.row, p.ids, p.message) for p in found] == [
        (p.row, p.ids, p.message) for p in focused if p.check == "overlapping_parcels"
    ]
    expected = brute_force(np.asarray(parcels.geometry.values), 1.0)
    assert {(p.row - 1, int(p.ids[1].split("-")[1].rstrip("'"))) for p in found} == expected
    assert (100, len(g) - 1) in expected and any(40 in pair for pair in expected)


@pytest.mark.parametrize("share", [0.1, 0.5, 0.9])
def test_focused_search_finds_the_pairs_with_a_focused_polygon_on_either_path(share: float) -> None:
    """Below half the rows focused the STRtree query runs, from half up the whole-layer search: same pairs."""
    g = tessellation(16, 16, seed=7)
    rng = np.random.default_rng(11)
    for k in rng.choice(len(g), 12, replace=False):  # planted overlaps
        g[k] = translate(rotate(g[k], float(rng.uniform(-20, 20))), float(rng.uniform(-5, 5)), 0.0)
    focus = rng.random(len(g)) < share
    i, j, area = _overlap_pairs(g, 1.0, focus)
    expected = {pair for pair in brute_force(g, 1.0) if focus[pair[0]] or focus[pair[1]]}
    assert len(expected) > 5
    assert {(min(a, b), max(a, b)) for a, b in zip(i.tolist(), j.tolist(), strict=True)} == expected
    assert focus[i].all()  # the focused polygon first (it is the one the problem is reported on)
    assert np.allclose(area, shapely.area(shapely.intersection(g[i], g[j])))


@pytest.mark.parametrize("block", [1, 7, 64])
def test_the_search_block_by_block_finds_the_same_pairs(block: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Polygons are queried a block at a time (bounded memory): any block size gives the brute-force pairs."""
    from kcn_gis.analytics import _overlaps

    g = tessellation(12, 12, seed=5)
    rng = np.random.default_rng(3)
    for k in rng.choice(len(g), 10, replace=False):
        g[k] = translate(g[k], float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6)))
    expected = brute_force(g, 1.0)
    monkeypatch.setattr(_overlaps, "_GEOMETRY_BLOCK", block)
    i, j = candidate_pairs(g)
    assert {(a, b) for a, b in zip(i.tolist(), j.tolist(), strict=True)} >= expected
    assert list(zip(i.tolist(), j.tolist(), strict=True)) == sorted(zip(i.tolist(), j.tolist(), strict=True))
    assert fast(g) == expected and len(expected) > 5


def _random_rings(rng: np.random.Generator, n: int) -> np.ndarray:
    """Star-shaped polygons of 3-12 vertices around random centres, some concave, on a small patch."""
    out = []
    for _ in range(n):
        k = int(rng.integers(3, 13))
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radius = rng.uniform(2, 10, k) * np.where(rng.random(k) < 0.3, 0.4, 1.0)
        cx, cy = rng.uniform(0, 40, 2)
        ring = np.c_[cx + radius * np.cos(angles), cy + radius * np.sin(angles)]
        poly = shapely.Polygon(ring)
        if poly.is_valid and poly.area > 1:
            out.append(poly if rng.random() < 0.5 else shapely.Polygon(ring[::-1]))  # both orientations
    return np.array(out, dtype=object)


def test_the_compiled_test_separates_exactly_the_pairs_the_numpy_blocks_separate(engine: str) -> None:
    """Same answer, pair by pair, on padded rings and on the flat rings of a whole layer; and never a wrong one."""
    if engine != "numba":
        pytest.skip("compares both engines; runs once")
    from kcn_gis.analytics import _overlaps
    from kcn_gis.analytics._sat_numba import ring_pairs_separated

    rng = np.random.default_rng(42)
    g = _random_rings(rng, 400)
    r, col = _overlaps._rings(g)
    a, b = np.triu_indices(len(g), 1)
    keep = (col[a] >= 0) & (col[b] >= 0)
    a, b = a[keep], b[keep]
    ra, rb = col[a], col[b]
    blocks = _overlaps._separate(r, ra, rb, None)  # the numpy engine
    flat = _overlaps._flat_rings(g)
    fa, fb = flat.col[a], flat.col[b]
    assert (fa >= 0).all() and (fb >= 0).all()
    compiled = ring_pairs_separated(flat.x, flat.y, flat.start, flat.m, flat.side, flat.support, fa, fb)
    assert compiled.sum() > 1000 and (~compiled).sum() > 1000  # both answers occur
    assert np.array_equal(compiled, blocks)
    # sound: a separated pair never has overlapping interiors
    assert not shapely.overlaps(g[a[compiled]], g[b[compiled]]).any()
    assert not shapely.contains(g[a[compiled]], g[b[compiled]]).any()


def test_block_and_thread_settings_give_the_same_pairs(monkeypatch: pytest.MonkeyPatch) -> None:
    from kcn_gis.analytics import _overlaps

    g = tessellation(14, 12, seed=9)
    rng = np.random.default_rng(8)
    for k in rng.choice(len(g), 10, replace=False):
        g[k] = translate(g[k], float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6)))
    one = candidate_pairs(g)
    monkeypatch.setattr(_overlaps, "_PARALLEL_MIN", 8)
    monkeypatch.setattr(_overlaps, "_GEOMETRY_BLOCK", 16)
    two = candidate_pairs(g)
    assert np.array_equal(one[0], two[0]) and np.array_equal(one[1], two[1])
    assert fast(g) == brute_force(g, 1.0)


def test_warm_up_loads_the_compiled_test_only_for_large_layers(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    if engine != "numba":
        pytest.skip("needs numba")
    from kcn_gis.analytics import _overlaps

    monkeypatch.setattr(_overlaps, "KERNEL_FROM", 20_000)
    monkeypatch.setattr(_overlaps, "_warming", None)
    _overlaps.warm_up(100)
    assert _overlaps._warming is None  # a small layer: nothing started
    _overlaps.warm_up(50_000)
    thread = _overlaps._warming
    assert thread is not None
    thread.join(timeout=120)
    assert not thread.is_alive()
    _overlaps.warm_up(50_000)
    assert _overlaps._warming is thread  # started once


def test_the_compiled_triangles_separate_touching_concave_parcels_and_never_overlapping_ones(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concave neighbours need their convex pieces: the compiled fan triangles do it without the numpy path."""
    if engine != "numba":
        pytest.skip("the compiled path")
    from kcn_gis.analytics import _overlaps
    from kcn_gis.analytics._sat_numba import pieces_separated

    g = tessellation(25, 20, seed=1)
    used = []
    real = _overlaps._separated_by_pieces
    monkeypatch.setattr(_overlaps, "_separated_by_pieces", lambda r, a, b: used.append(a.size) or real(r, a, b))
    assert candidate_pairs(g)[0].size == 0
    assert sum(used) == 0  # every touching pair was ruled out by the compiled tests alone
    # soundness on random star-shaped rings: a pair the triangles separate never overlaps
    rng = np.random.default_rng(7)
    h = _random_rings(rng, 300)
    flat = _overlaps._flat_rings(h)
    a, b = np.triu_indices(len(h), 1)
    ra, rb = flat.col[a], flat.col[b]
    sep = pieces_separated(flat.x, flat.y, flat.start, flat.m, flat.side, flat.apex, ra, rb)
    assert sep.sum() > 1000 and (~sep).sum() > 100
    inter = shapely.area(shapely.intersection(h[a[sep]], h[b[sep]]))
    assert (inter < 1e-9).all()
    assert (flat.apex >= 0).sum() > 50  # non-convex rings were decomposed


def test_the_grid_sweep_meets_every_pair_of_boxes_the_strtree_meets(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Boxes of every size (a park-sized multipolygon, 1 cm squares, far-away ones, missing and empty ones,
    boxes touching at cell edges): the sweep returns exactly the box pairs the STRtree finds among those the
    separating lines cannot rule out, and every pair involving a geometry the test does not take."""
    if engine != "numba":
        pytest.skip("the compiled path")
    from kcn_gis.analytics import _overlaps
    from kcn_gis.analytics._sat_numba import sweep

    g = tessellation(20, 15, seed=3)
    rng = np.random.default_rng(5)
    for k in rng.choice(len(g), 8, replace=False):
        g[k] = translate(g[k], float(rng.uniform(-4, 4)), float(rng.uniform(-4, 4)))
    x0, y0, x1, y1 = shapely.total_bounds(g)
    extra = [
        shapely.MultiPolygon([shapely.box(x0, y0, x1, y1), shapely.box(x1 + 500, y0, x1 + 600, y1)]),  # huge
        shapely.box(x0 + 5, y0 + 5, x0 + 5.01, y0 + 5.01),  # 1 cm
        shapely.box(x0 + 5.01, y0 + 5, x0 + 5.02, y0 + 5.01),  # touches the 1 cm one
        None,
        shapely.Polygon(),
        shapely.box(x1 + 5000, y1 + 5000, x1 + 5010, y1 + 5010),  # far away
    ]
    g = np.concatenate([g, np.array(extra, dtype=object)])
    flat = _overlaps._flat_rings(g)
    i, j, why = sweep(
        shapely.bounds(g), flat.col, flat.x, flat.y, flat.start, flat.m, flat.side, flat.support, flat.apex
    )
    got = set(zip(i.tolist(), j.tolist(), strict=True))
    assert len(got) == i.size and (i < j).all()  # each pair once
    # swept in two threads (each over half of the cells): the same pairs, each still once
    from kcn_gis.analytics import _sat_numba

    monkeypatch.setattr(_sat_numba, "THREADED_FROM", 0)
    i2, j2, why2 = sweep(
        shapely.bounds(g), flat.col, flat.x, flat.y, flat.start, flat.m, flat.side, flat.support, flat.apex
    )
    assert sorted(zip(i2.tolist(), j2.tolist(), why2.tolist(), strict=True)) == sorted(
        zip(i.tolist(), j.tolist(), why.tolist(), strict=True)
    )
    tree = shapely.STRtree(g)
    a, b = tree.query(g)
    boxes = {(int(p), int(q)) for p, q in zip(a, b, strict=True) if p < q}
    assert got <= boxes
    huge = len(g) - 6
    with_huge = {pair for pair in boxes if huge in pair}
    assert len(with_huge) > 200 and with_huge <= got  # not a flat ring: every box pair kept
    touching = (len(g) - 5, len(g) - 4)
    assert touching in boxes and touching not in got  # the two 1 cm squares meet along an edge: ruled out
    assert not any(len(g) - 3 in pair or len(g) - 2 in pair or len(g) - 1 in pair for pair in got)
    assert set(why[np.isin(i, [huge]) | np.isin(j, [huge])].tolist()) == {0}
    assert fast(g) == brute_force(g, 1.0)


def test_numba_is_loaded_on_demand_only_for_very_large_layers(monkeypatch: pytest.MonkeyPatch, engine: str) -> None:
    """A 100 000-parcel import check stays in numpy (loading numba costs a second and 100 MB); validate loads it
    in the background first; a layer of half a million polygons loads it on demand."""
    if engine != "numba":
        pytest.skip("needs numba")
    import sys

    from kcn_gis.analytics import _overlaps

    monkeypatch.setattr(_overlaps, "KERNEL_FROM", 20_000)
    monkeypatch.setattr(_overlaps, "LOAD_FROM", 500_000)
    monkeypatch.setattr(_overlaps, "_warming", None)
    monkeypatch.delitem(sys.modules, "kcn_gis.analytics._sat_numba", raising=False)
    assert not _overlaps._use_compiled(10_000)
    assert not _overlaps._use_compiled(100_000)  # not loaded, not asked for: numpy
    assert "kcn_gis.analytics._sat_numba" not in sys.modules
    assert _overlaps._use_compiled(600_000)  # loads it
    assert _overlaps._use_compiled(100_000)  # loaded now
    monkeypatch.delitem(sys.modules, "kcn_gis.analytics._sat_numba", raising=False)
    monkeypatch.setattr(_overlaps, "_warming", object())  # validate asked for it
    assert _overlaps._use_compiled(100_000)
    monkeypatch.setenv("KCN_GIS_NUMBA", "0")
    assert not _overlaps._use_compiled(600_000)
