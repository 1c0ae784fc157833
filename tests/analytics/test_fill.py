"""fill_rates on hand-built rectangles: exact hectares and rates."""

from __future__ import annotations

import logging
import math

import pandas as pd
import pytest
import shapely

from kcn_gis.analytics import fill_rates, split_banks
from kcn_gis.errors import CRSError, KcnGisError
from kcn_gis.schema import Col, Layer
from tests.analytics.conftest import add_rows, park_row, plot_row
from tests.conftest import box, make_layers, ts

DAY = "2011-12-26"
COLUMNS = ["planned_ha", "acquired_ha", "leased_ha", "fill_rate_planned", "fill_rate_acquired"]


def row(frame, key, value):
    hit = frame[frame[frame.columns[0]] == value]
    assert len(hit) == 1, f"no single row {key}={value}"
    return hit.iloc[0]


def test_tiny_atlas_by_park():
    layers = make_layers()
    out = fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=DAY)
    assert list(out.columns) == ["park_id", "name", "name_en", *COLUMNS]
    assert list(out["park_id"]) == ["N1"]  # S1 is preparing: not in the official definition
    parks = layers[Layer.PARKS].set_index("park_id")
    assert out.loc[0, "name"] == parks.loc["N1", "name"]
    en = parks.loc["N1", "name_en"] if isinstance(parks.loc["N1", "name_en"], str) else parks.loc["N1", "name"]
    assert out.loc[0, "name_en"] == en
    r = out.iloc[0]
    # P1 40 ha leased, P2 30 ha acquired; P3 is green land
    assert (r.planned_ha, r.acquired_ha, r.leased_ha) == pytest.approx((70.0, 70.0, 40.0))
    assert r.fill_rate_planned == pytest.approx(40 / 70)
    assert r.fill_rate_acquired == pytest.approx(40 / 70)
    assert isinstance(out.index, pd.RangeIndex)


def test_history_on_any_date():
    layers = make_layers()
    plots, parks = layers[Layer.PLOTS], layers[Layer.PARKS]
    before = fill_rates(plots, parks, as_of="2006-05-31").iloc[0]
    assert (before.acquired_ha, before.leased_ha) == pytest.approx((40.0, 0.0))
    assert before.fill_rate_acquired == 0.0
    on = fill_rates(plots, parks, as_of=pd.Timestamp("2006-06-01")).iloc[0]
    assert on.leased_ha == pytest.approx(40.0)
    early = fill_rates(plots, parks, as_of="2000-01-01").iloc[0]
    assert early.acquired_ha == 0.0 and math.isnan(early.fill_rate_acquired)


def test_ended_lease_no_longer_counts():
    layers = make_layers()
    plots = layers[Layer.PLOTS]
    plots.loc[0, Col.LEASE_ENDED_ON] = ts("2010-01-01")
    assert fill_rates(plots, layers[Layer.PARKS], as_of="2009-12-31").iloc[0].leased_ha == pytest.approx(40.0)
    assert fill_rates(plots, layers[Layer.PARKS], as_of="2010-01-01").iloc[0].leased_ha == 0.0


def test_plot_crossing_its_park_boundary_counts_only_inside():
    layers = make_layers()
    # P4: x 1 800-2 200 in park N1 (x 1 000-2 000): 40 ha, of which 20 ha inside
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS],
        [plot_row("P4", "N1", box(1_800, 6_000, 2_200, 7_000), acquired="2008-01-01", leased="2008-02-01")],
    )
    r = fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=DAY).iloc[0]
    assert (r.planned_ha, r.acquired_ha, r.leased_ha) == pytest.approx((90.0, 90.0, 60.0))
    assert r.fill_rate_planned == pytest.approx(60 / 90)


def test_plot_inside_another_park_counts_only_in_its_own():
    layers = make_layers()
    # a plot of N1 drawn inside S1 (operating here): nothing of it is inside its own park
    layers[Layer.PARKS].loc[1, Col.STATUS] = "operating"
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS], [plot_row("PX", "N1", box(5_000, 1_000, 5_100, 1_100), acquired="2008-01-01")]
    )
    out = fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=DAY)
    assert list(out["planned_ha"]) == pytest.approx([70.0, 0.0])


def test_multipolygons_with_holes():
    layers = make_layers()
    # park M1: a 100 ha square with a 4 ha hole (200 m x 200 m) plus a detached 25 ha square = 121 ha
    square = shapely.Polygon(
        box(6_000, 6_000, 7_000, 7_000).exterior.coords, [box(6_400, 6_400, 6_600, 6_600).exterior.coords]
    )
    park = shapely.MultiPolygon([square, box(8_000, 6_000, 8_500, 6_500)])
    layers[Layer.PARKS] = add_rows(layers[Layer.PARKS], [park_row("M1", park, district="Yên Phong")])
    # plot MP1 covers the hole too (a drawing error): 100 + 25 ha drawn, 96 + 25 = 121 ha inside its park
    plot = shapely.MultiPolygon([box(6_000, 6_000, 7_000, 7_000), box(8_000, 6_000, 8_500, 6_500)])
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS], [plot_row("MP1", "M1", plot, acquired="2009-01-01", leased="2010-01-01")]
    )
    out = fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=DAY)
    r = row(out, "park_id", "M1")
    assert (r.planned_ha, r.acquired_ha, r.leased_ha) == pytest.approx((121.0, 121.0, 121.0))
    assert r.fill_rate_planned == pytest.approx(1.0)


def test_empty_groups_have_zero_ha_and_nan_rates():
    layers = make_layers()
    plots, parks = layers[Layer.PLOTS], layers[Layer.PARKS]
    by_district = fill_rates(plots, parks, as_of=DAY, by="district")
    assert list(by_district["district"]) == ["Tiên Du", "Thuận Thành"]
    empty = row(by_district, "district", "Thuận Thành")
    assert (empty.planned_ha, empty.acquired_ha, empty.leased_ha) == (0.0, 0.0, 0.0)
    assert math.isnan(empty.fill_rate_planned) and math.isnan(empty.fill_rate_acquired)
    all_parks = fill_rates(plots, parks, as_of=DAY, parks_included="all")
    assert list(all_parks["park_id"]) == ["N1", "S1"]
    assert row(all_parks, "park_id", "S1").planned_ha == 0.0
    assert math.isnan(row(all_parks, "park_id", "S1").fill_rate_planned)


def test_land_uses_are_selectable():
    layers = make_layers()
    r = fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=DAY, land_uses=("industrial", "green")).iloc[0]
    assert (r.planned_ha, r.acquired_ha, r.leased_ha) == pytest.approx((80.0, 80.0, 40.0))
    with pytest.raises(KcnGisError, match="land_uses"):
        fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], land_uses=("factory",))


def test_by_bank_splits_straddling_plots(straddle):
    banks = split_banks(straddle[Layer.PROVINCE], straddle[Layer.RIVERS])
    out = fill_rates(straddle[Layer.PLOTS], straddle[Layer.PARKS], as_of=DAY, by="bank", banks=banks)
    assert list(out.columns) == ["bank", *COLUMNS]
    assert list(out["bank"]) == ["north", "south"]
    north, south = out.iloc[0], out.iloc[1]
    assert (north.planned_ha, north.acquired_ha, north.leased_ha) == pytest.approx((100.0, 100.0, 70.0))
    assert (south.planned_ha, south.acquired_ha, south.leased_ha) == pytest.approx((50.0, 50.0, 30.0))
    assert north.fill_rate_planned == pytest.approx(0.7)
    assert south.fill_rate_acquired == pytest.approx(0.6)


def test_by_bank_needs_banks(straddle):
    with pytest.raises(KcnGisError, match="split_banks"):
        fill_rates(straddle[Layer.PLOTS], straddle[Layer.PARKS], by="bank")


def test_by_province_one_row(straddle):
    out = fill_rates(straddle[Layer.PLOTS], straddle[Layer.PARKS], as_of=DAY, by="province")
    assert list(out.columns) == ["province", *COLUMNS]
    assert list(out["province"]) == ["all"]
    assert (out.iloc[0].planned_ha, out.iloc[0].leased_ha) == pytest.approx((150.0, 100.0))
    named = fill_rates(straddle[Layer.PLOTS], straddle[Layer.PARKS], as_of=DAY, by="province", province_name="Bắc Ninh")
    assert list(named["province"]) == ["Bắc Ninh"]


def test_unknown_park_is_not_counted_but_logged(caplog):
    layers = make_layers()
    layers[Layer.PLOTS].loc[1, Col.PARK_ID] = "ZZ"
    with caplog.at_level(logging.WARNING):
        r = fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=DAY).iloc[0]
    assert r.planned_ha == pytest.approx(40.0)
    assert "1 plot(s) have a park_id that is not in the parks layer" in caplog.text


def test_invalid_options_and_crs():
    layers = make_layers()
    plots, parks = layers[Layer.PLOTS], layers[Layer.PARKS]
    with pytest.raises(KcnGisError, match="parks_included"):
        fill_rates(plots, parks, parks_included="some")
    with pytest.raises(KcnGisError, match="by="):
        fill_rates(plots, parks, by="commune")
    with pytest.raises(CRSError, match="geographic"):
        fill_rates(plots.to_crs("EPSG:4326"), parks)
    with pytest.raises(CRSError, match="no CRS"):
        fill_rates(plots.set_crs(None, allow_override=True), parks)


def test_inputs_untouched(straddle):
    plots, parks = straddle[Layer.PLOTS], straddle[Layer.PARKS]
    p0, k0 = plots.copy(), parks.copy()
    banks = split_banks(straddle[Layer.PROVINCE], straddle[Layer.RIVERS])
    fill_rates(plots, parks, as_of=DAY, by="bank", banks=banks)
    pd.testing.assert_frame_equal(plots, p0)
    pd.testing.assert_frame_equal(parks, k0)
