"""Compact layer encoding, allow-lists, JSON safety and topology-preserving simplification."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from kcn_gis.errors import CRSError, KcnGisError
from kcn_gis.maps.layers import encode_column, encode_geometry, safe_json, select_fields, simplify_coverage

from ._helpers import decode


def test_encode_geometry_round_trips_at_six_decimals():
    a = shapely.Polygon([(106.1234567, 21.1), (106.2, 21.1), (106.2, 21.2), (106.1234567, 21.2)])
    hole = shapely.Polygon(
        [(106.0, 21.0), (106.5, 21.0), (106.5, 21.5), (106.0, 21.5)],
        holes=[[(106.1, 21.1), (106.2, 21.1), (106.2, 21.2)]],
    )
    multi = shapely.MultiPolygon([a, shapely.box(107.0, 22.0, 107.1, 22.1)])
    g = encode_geometry([a, hole, multi], precision=6)
    assert g["t"] == "polygon"
    assert g["f"] == [1, 1, 2]  # parts per feature
    assert g["r"] == [1, 2, 1, 1]  # rings per part: the second polygon has a hole
    assert g["n"] == [4, 4, 3, 4, 4]  # closing vertex dropped
    rings = decode(g, 3)
    assert rings[0][0][0].tolist() == pytest.approx([106.123457, 21.1], abs=1e-9)
    np.testing.assert_allclose(rings[1][1], [[106.1, 21.1], [106.2, 21.1], [106.2, 21.2]], atol=1e-9)
    np.testing.assert_allclose(rings[2][1], [[107.1, 22.0], [107.1, 22.1], [107.0, 22.1], [107.0, 22.0]], atol=1e-9)
    # delta-coded: after the first vertex every number is small
    assert max(abs(v) for v in g["c"][2:]) < 2_000_000


def test_encode_geometry_compacts_constant_counts_and_lines():
    boxes = [shapely.box(106 + i * 0.001, 21, 106.0005 + i * 0.001, 21.0005) for i in range(10)]
    g = encode_geometry(boxes, precision=5)
    assert (g["f"], g["r"], g["n"]) == (1, 1, 4)
    assert len(g["c"]) == 10 * 4 * 2
    line = encode_geometry([shapely.LineString([(106, 21), (106.1, 21.05), (106.2, 21.0)])], precision=5)
    assert line["t"] == "line" and "r" not in line and line["n"] == 3
    assert decode(line, 1)[0][0][-1].tolist() == pytest.approx([106.2, 21.0])


def test_encode_geometry_refuses_mixed_types():
    with pytest.raises(KcnGisError, match="mixes geometry types"):
        encode_geometry([shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)])])


def test_safe_json_cannot_break_out_of_a_script_element():
    text = safe_json({"tenant": "</script><script>alert(1)</script> & <!-- \u2028"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text)["tenant"] == "</script><script>alert(1)</script> & <!-- \u2028"
    with pytest.raises(ValueError):
        safe_json({"x": float("nan")})


def test_select_fields_refuses_fields_outside_the_allow_list():
    import pandas as pd

    frame = pd.DataFrame({"name": ["A"], "holder_name": ["secret"]})
    assert list(select_fields(frame, ["name"], ["name"]).columns) == ["name"]
    with pytest.raises(KcnGisError, match="holder_name"):
        select_fields(frame, ["name"], ["name", "holder_name"])


def test_encode_column_dictionary_encodes_repeats_and_nulls():
    import pandas as pd

    col = encode_column(["a", "b", "a", "a", None, "a"])
    assert col["d"][col["i"][0]] == "a" and col["d"][col["i"][4]] is None
    assert len(col["d"]) == 3
    uniq = encode_column([1.23456789, 2.0, np.nan, pd.Timestamp("2011-12-26")], digits=3)
    assert uniq == {"v": [1.235, 2, None, "2011-12-26"]}


def _grid(n: int) -> gpd.GeoSeries:
    """n x n 100 m cells whose shared edges carry extra collinear-ish vertices (a coverage)."""
    cells = []
    for i in range(n):
        for j in range(n):
            x0, y0 = 540_000 + i * 100.0, 2_330_000 + j * 100.0
            pts = [(x0 + k * 10, y0) for k in range(10)] + [(x0 + 100, y0 + k * 10) for k in range(10)]
            pts += [(x0 + 100 - k * 10, y0 + 100) for k in range(10)] + [(x0, y0 + 100 - k * 10) for k in range(10)]
            cells.append(shapely.Polygon(pts))
    return gpd.GeoSeries(cells, crs="EPSG:9209")


def test_simplify_coverage_keeps_shared_edges_and_area():
    grid = _grid(3)
    out = simplify_coverage(grid, 1.0)
    assert shapely.get_num_coordinates(out.values).sum() < shapely.get_num_coordinates(grid.values).sum() / 4
    assert bool(shapely.coverage_is_valid(out.values))
    assert out.area.sum() == pytest.approx(9 * 100 * 100)
    assert out.index.equals(grid.index) and out.crs == grid.crs


def test_simplify_coverage_falls_back_on_overlaps_and_refuses_degrees():
    overlapping = gpd.GeoSeries([shapely.box(0, 0, 10, 10), shapely.box(5, 5, 15, 15)], crs="EPSG:9209")
    out = simplify_coverage(overlapping, 0.5)
    assert out.is_valid.all() and out.area.sum() == pytest.approx(200)
    with pytest.raises(CRSError, match="geographic"):
        simplify_coverage(gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs="EPSG:4326"), 1.0)
