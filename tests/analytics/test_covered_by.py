"""``covered_by``: the covering test of plots and parcels by their own park, in two threads.

Each thread prepares its own copies of the parks; the answer must be the one of the one-thread
``covered`` on the aligned parks, for plots inside, on the boundary, across it, outside and missing.
"""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from kcn_gis.analytics import pieces


def _case() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    parks = np.array(
        [
            shapely.box(0, 0, 100, 100),
            shapely.Polygon([(200, 0), (300, 0), (300, 100), (250, 50), (200, 100)]),  # a notch at the top
            None,
        ],
        dtype=object,
    )
    rng = np.random.default_rng(4)
    which = rng.integers(0, 2, 600)
    x0 = rng.uniform(-20, 110, 600) + 200 * which
    y0 = rng.uniform(-20, 110, 600)
    size = rng.uniform(1, 15, 600)
    g = shapely.box(x0, y0, x0 + size, y0 + size)
    g[:3] = [shapely.box(0, 0, 10, 10), shapely.box(90, 90, 100, 100), None]  # on the boundary (covered), missing
    which[:3] = 0
    which[3] = 2  # a missing park
    todo = ~shapely.is_missing(g) & ~shapely.is_missing(parks[which])
    return parks, which, g, todo


@pytest.mark.parametrize("threaded_from", [1, 10**9])
def test_covered_by_equals_covered_on_aligned_parks(monkeypatch: pytest.MonkeyPatch, threaded_from: int) -> None:
    parks, which, g, todo = _case()
    aligned = parks[which]
    shapely.prepare(aligned)
    expected = pieces.covered(aligned, g, todo)
    monkeypatch.setattr(pieces, "_THREADED_COVER", threaded_from)
    got = pieces.covered_by(parks, which, g, todo)
    assert got.tolist() == expected.tolist()
    assert got[:2].all() and not got[2:4].any()  # boundary boxes are covered; missing ones are not tested
    assert 50 < got.sum() < 550  # inside and outside both occur
    # independent oracle: GEOS covers pair by pair
    oracle = [bool(t) and parks[w].covers(x) for w, x, t in zip(which, g, todo, strict=True)]
    assert got.tolist() == oracle


def test_clip_to_own_park_with_distinct_parks_equals_aligned(monkeypatch: pytest.MonkeyPatch) -> None:
    parks, which, g, _ = _case()
    ok = which < 2
    monkeypatch.setattr(pieces, "_THREADED_COVER", 1)
    area_a, clip_a = pieces.clip_to_own_park(g[ok], parks[which[ok]], keep_geometry=True)
    area_d, clip_d = pieces.clip_to_own_park(g[ok], parks[:2], keep_geometry=True, which=which[ok])
    assert np.array_equal(area_a, area_d)
    inside = shapely.area(shapely.intersection(g[ok], parks[which[ok]]))
    assert np.allclose(area_d, np.nan_to_num(inside))
    assert shapely.equals(clip_a[~shapely.is_missing(clip_a)], clip_d[~shapely.is_missing(clip_d)]).all()
