"""river_balance on hand-built layers: a park straddling the river, projects placed through their plots."""

from __future__ import annotations

import math

import pytest

from kcn_gis.analytics import BALANCE_COLUMNS, river_balance
from kcn_gis.errors import CRSError, RiverSplitError
from kcn_gis.schema import Layer
from tests.analytics.conftest import straddle_layers

DAY = "2011-12-26"


def balance(layers, **kw):
    return river_balance(
        layers[Layer.PROVINCE],
        layers[Layer.RIVERS],
        layers[Layer.PARKS],
        layers[Layer.PLOTS],
        layers[Layer.PROJECTS],
        as_of=kw.pop("as_of", DAY),
        **kw,
    )


def test_columns_and_rows():
    out = balance(straddle_layers())
    assert list(out.columns) == list(BALANCE_COLUMNS)
    assert list(out["bank"]) == ["north", "south"]
    for c in (
        "park_count",
        "park_area_ha",
        "planned_ha",
        "acquired_ha",
        "leased_ha",
        "fill_rate_planned",
        "fill_rate_acquired",
        "valid_projects",
        "registered_capital_usd",
        "workers",
        "province_area_ha",
        "balance_index",
        "leased_ha_share",
        "province_area_ha_share",
    ):
        assert c in out.columns


def test_operating_parks_straddling_split_by_area_share():
    out = balance(straddle_layers()).set_index("bank")
    n, s = out.loc["north"], out.loc["south"]
    # operating parks: N1 (100 ha north) and X1 (100 ha, half on each bank)
    assert (n.park_count, s.park_count) == pytest.approx((1.5, 0.5))
    assert (n.park_area_ha, s.park_area_ha) == pytest.approx((150.0, 50.0))
    assert (n.planned_ha, n.acquired_ha, n.leased_ha) == pytest.approx((100.0, 100.0, 70.0))
    assert (s.planned_ha, s.acquired_ha, s.leased_ha) == pytest.approx((50.0, 50.0, 30.0))
    assert (n.fill_rate_planned, s.fill_rate_planned) == pytest.approx((0.7, 0.6))
    assert (n.province_area_ha, s.province_area_ha) == pytest.approx((5_000.0, 5_000.0))
    assert (n.leased_ha_share, s.leased_ha_share) == pytest.approx((0.7, 0.3))
    assert (n.park_count_share, s.park_count_share) == pytest.approx((0.75, 0.25))
    # balance index = leased share / area share
    assert (n.balance_index, s.balance_index) == pytest.approx((1.4, 0.6))


def test_projects_follow_their_plots_and_validity_dates():
    out = balance(straddle_layers()).set_index("bank")
    n, s = out.loc["north"], out.loc["south"]
    # PRJ1 on P1 (north); PRJ2 on XA (30 ha each bank: half each); PRJ3 on XB (south) was revoked 2010-06-01
    assert (n.valid_projects, s.valid_projects) == pytest.approx((1.5, 0.5))
    assert (n.registered_capital_usd, s.registered_capital_usd) == pytest.approx((20e6, 10e6))
    assert (n.workers, s.workers) == pytest.approx((200.0, 100.0))
    assert n.valid_projects_share == pytest.approx(0.75)
    # before PRJ3's revocation it counts on the south bank; before any licence nothing counts
    mid = balance(straddle_layers(), as_of="2010-01-01").set_index("bank")
    assert mid.loc["south", "valid_projects"] == pytest.approx(1.5)
    assert mid.loc["south", "registered_capital_usd"] == pytest.approx(15e6)
    early = balance(straddle_layers(), as_of="2006-01-01")
    assert list(early["valid_projects"]) == [0.0, 0.0]
    assert math.isnan(early["valid_projects_share"].iloc[0])


def test_all_parks():
    out = balance(straddle_layers(), parks_included="all").set_index("bank")
    # S1 (50 ha, preparing, south) joins
    assert (out.loc["north", "park_count"], out.loc["south", "park_count"]) == pytest.approx((1.5, 1.5))
    assert (out.loc["north", "park_area_ha"], out.loc["south", "park_area_ha"]) == pytest.approx((150.0, 100.0))


def test_unknown_river_and_crs():
    layers = straddle_layers()
    with pytest.raises(RiverSplitError, match="available names: 'Sông Đuống'"):
        balance(layers, river="Sông Cầu")
    layers[Layer.PARKS] = layers[Layer.PARKS].to_crs("EPSG:4326")
    with pytest.raises(CRSError):
        balance(layers)
