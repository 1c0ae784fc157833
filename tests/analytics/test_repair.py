"""repair_geometries: repaired copies, a change per geometry, the input untouched."""

from __future__ import annotations

import pytest
import shapely

from kcn_gis.analytics import repair_geometries
from kcn_gis.analytics.repair import CHANGE_COLUMNS
from kcn_gis.schema import Layer
from tests.conftest import E0, N0, make_layers


def test_bowtie_park_is_repaired_and_listed():
    layers = make_layers()
    # N1 as a bow-tie over 1 000 m x 1 000 m: two triangles of 1 000 m x 500 m / 2 = 25 ha each
    bowtie = shapely.Polygon(
        [(E0 + 1_000, N0 + 6_000), (E0 + 2_000, N0 + 7_000), (E0 + 2_000, N0 + 6_000), (E0 + 1_000, N0 + 7_000)]
    )
    layers[Layer.PARKS].loc[0, "geometry"] = bowtie
    original = layers[Layer.PARKS].copy()
    repaired, changes = repair_geometries(layers)
    assert list(changes.columns) == list(CHANGE_COLUMNS)
    assert len(changes) == 1
    ch = changes.iloc[0]
    assert (ch.layer, ch.row, ch.id) == ("parks", 1, "park_id 'N1'")
    assert "made valid" in ch.action and "Self-intersection" in ch.problem
    assert ch.area_after_ha == pytest.approx(50.0)
    fixed = repaired[str(Layer.PARKS)].geometry.iloc[0]
    assert fixed.is_valid and fixed.area == pytest.approx(500_000.0)
    assert layers[Layer.PARKS].geometry.iloc[0].equals(original.geometry.iloc[0])  # input untouched
    assert repaired[str(Layer.PLOTS)] is layers[Layer.PLOTS]  # unchanged layers passed through


def test_collapsed_geometry_is_left_and_reported():
    layers = make_layers()
    # a zero-area "polygon" (all points on a line) cannot become a polygon
    layers[Layer.PLOTS].loc[2, "geometry"] = shapely.Polygon(
        [(E0 + 1_700, N0 + 6_000), (E0 + 1_800, N0 + 6_000), (E0 + 1_750, N0 + 6_000), (E0 + 1_700, N0 + 6_000)]
    )
    repaired, changes = repair_geometries(layers)
    (ch,) = changes.itertuples()
    assert ch.id == "plot_id 'P3'" and ch.action.startswith("not repaired")
    assert repaired[str(Layer.PLOTS)].geometry.iloc[2].equals(layers[Layer.PLOTS].geometry.iloc[2])


def test_nothing_to_repair():
    repaired, changes = repair_geometries(make_layers())
    assert changes.empty and set(repaired) == {str(x) for x in make_layers()}  # every layer given comes back
