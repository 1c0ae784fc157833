"""Scenario figures on the hand-built atlas (tests/scenario/conftest.py) against numbers derived by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from kcn_gis.scenario import apply_scenario, compare_scenarios
from tests.conftest import box
from tests.scenario.conftest import SOUTH_PARK_WKT

BANK_SHARE = 0.5  # each bank is 5 000 of the 10 000 ha


def _row(df: pd.DataFrame, scenario: str, year: int, bank: str) -> pd.Series:
    hit = df[(df.scenario == scenario) & (df.year == year) & (df.bank == bank)]
    assert len(hit) == 1, (scenario, year, bank)
    return hit.iloc[0]


def _south_park(schedule=None, share=0.8) -> dict:
    body = {
        "park_id": "C",
        "name": "KCN Lương Tài Thử",
        "district": "Lương Tài",
        "boundary": SOUTH_PARK_WKT,
        "status": {"construction": "2012-06-01", "operating": "2013-01-01"},
        "industrial_share": share,
    }
    if schedule is not None:
        body["schedule"] = schedule
    return {"name": "Khu Nam", "changes": [{"add_park": body}]}


# Baseline by hand: A is fully leased (80 ha) and stays flat. B leased 30 ha by 2011 at 10 ha a year (all three
# increments 10, so every quartile is 10) with 40 ha free: 40, 50, 60, 70 ha in 2012-2015, then full.
BASE_NORTH = {2011: 110.0, 2012: 120.0, 2013: 130.0, 2014: 140.0, 2015: 150.0, 2020: 150.0}


def test_baseline_follows_the_recent_pace_and_full_parks_stay_flat(hand_atlas):
    df = compare_scenarios(hand_atlas, [], years=[2011, 2012, 2013, 2014, 2015, 2020])
    assert set(df.scenario) == {"baseline"}
    for year, north in BASE_NORTH.items():
        r = _row(df, "baseline", year, "north")
        assert r.leased_ha == pytest.approx(north, abs=1e-6)
        assert r.leased_ha_low == pytest.approx(north, abs=1e-6)  # B's quartiles are all 10 ha/year
        assert r.leased_ha_high == pytest.approx(north, abs=1e-6)
        assert r.planned_ha == pytest.approx(80 + 70)
        assert r.park_count == pytest.approx(2.0)
    # A alone: fully leased, flat in every band
    base = apply_scenario(hand_atlas, None, band="high")
    from kcn_gis import fill_rates

    for year in (2012, 2015, 2020):
        fr = fill_rates(base.plots, base.parks, as_of=f"{year}-12-31").set_index("park_id")
        assert fr.loc["A", "leased_ha"] == pytest.approx(80.0)
        assert fr.loc["A", "fill_rate_planned"] == pytest.approx(1.0)


def test_added_south_park_with_a_schedule(hand_atlas):
    schedule = {"leased_ha": {y: 10 * (y - 2012) for y in range(2013, 2021)}}  # 10 ha a year from 2013
    df = compare_scenarios(hand_atlas, [_south_park(schedule)], years=[2012, 2015, 2020])
    for year, extra in ((2012, 0.0), (2015, 30.0), (2020, 80.0)):
        south = _row(df, "Khu Nam", year, "south")
        base_south = _row(df, "baseline", year, "south")
        north = _row(df, "Khu Nam", year, "north")
        assert south.leased_ha - base_south.leased_ha == pytest.approx(extra, abs=1e-6)
        # an explicit schedule has no range
        assert south.leased_ha_low == pytest.approx(extra, abs=1e-6)
        assert south.leased_ha_high == pytest.approx(extra, abs=1e-6)
        assert north.leased_ha == pytest.approx(BASE_NORTH[year], abs=1e-6)
        total = BASE_NORTH[year] + extra
        share = extra / total
        assert south.leased_ha_share == pytest.approx(share, abs=1e-9)
        assert south.balance_index == pytest.approx(share / BANK_SHARE, abs=1e-9)
        assert north.balance_index == pytest.approx((1 - share) / BANK_SHARE, abs=1e-9)
        prov = _row(df, "Khu Nam", year, "province")
        assert prov.leased_ha == pytest.approx(total, abs=1e-6)
        assert prov.balance_index == pytest.approx(1.0)
    # the park opens in 2013: not counted in 2012, one park (100 ha, 80 ha planned) afterwards
    assert _row(df, "Khu Nam", 2012, "south").park_count == 0
    s2015 = _row(df, "Khu Nam", 2015, "south")
    assert s2015.park_count == pytest.approx(1.0)
    assert s2015.park_area_ha == pytest.approx(100.0)
    assert s2015.planned_ha == pytest.approx(80.0, abs=1e-6)
    assert s2015.acquired_ha == pytest.approx(30.0, abs=1e-6)  # no acquisition schedule: acquired when leased
    assert s2015.fill_rate_planned == pytest.approx(30 / 80, abs=1e-9)


def test_step_function_between_schedule_years_and_flat_after_the_last(hand_atlas):
    schedule = {"acquired_ha": {2013: 60, 2016: 80}, "leased_ha": {2013: 10, 2016: 40}}
    df = compare_scenarios(hand_atlas, [_south_park(schedule)], years=[2013, 2014, 2015, 2016, 2020])
    for year, leased, acquired in ((2013, 10, 60), (2014, 10, 60), (2015, 10, 60), (2016, 40, 80), (2020, 40, 80)):
        r = _row(df, "Khu Nam", year, "south")
        assert r.leased_ha == pytest.approx(leased, abs=1e-6)
        assert r.acquired_ha == pytest.approx(acquired, abs=1e-6)


def test_added_park_without_schedule_uses_the_ramp_up_pace_of_the_started_parks(hand_atlas):
    # ramp-up pace of A and B: leased by 31 Dec of their third year / years since their first date
    t_a = (pd.Timestamp("2011-12-31") - pd.Timestamp("2009-01-01")).days / 365.25
    t_b = (pd.Timestamp("2011-12-31") - pd.Timestamp("2009-02-01")).days / 365.25
    low, mid, high = np.percentile([80 / t_a, 30 / t_b], [25, 50, 75])
    df = compare_scenarios(hand_atlas, [_south_park(None, share=0.8)], years=[2015, 2020])
    t = (pd.Timestamp("2015-12-31") - pd.Timestamp("2012-06-01")).days / 365.25  # from its construction date
    r = _row(df, "Khu Nam", 2015, "south")
    assert r.leased_ha == pytest.approx(min(80, mid * t), abs=1e-6)
    assert r.leased_ha_low == pytest.approx(min(80, low * t), abs=1e-6)
    assert r.leased_ha_high == pytest.approx(min(80, high * t), abs=1e-6)
    assert _row(df, "Khu Nam", 2020, "south").leased_ha == pytest.approx(80.0, abs=1e-6)  # capped by planned land


def test_drop_park(hand_atlas):
    sc = {"name": "no B", "changes": [{"drop_park": {"park_id": "B"}}]}
    df = compare_scenarios(hand_atlas, [sc], years=[2011, 2015])
    for year in (2011, 2015):
        r = _row(df, "no B", year, "north")
        assert r.leased_ha == pytest.approx(80.0)  # A only
        assert r.planned_ha == pytest.approx(80.0)
        assert r.park_count == pytest.approx(1.0)
        assert r.park_area_ha == pytest.approx(100.0)
    assert _row(df, "baseline", 2015, "north").leased_ha == pytest.approx(150.0, abs=1e-6)


def test_resize_park_across_the_river(hand_atlas):
    # A grows from y 6 000-7 000 down to y 4 000: +100 ha north (y 5 000-6 000) and +100 ha south (y 4 000-5 000).
    # Half of the new land is industrial: 100 ha, 50 on each bank, leased at A's pace (quartiles of 40, 20, 20:
    # low 20, mid 20, high 30 ha/year) from 2012, taken from each bank in proportion (1:1).
    new = shapely.to_wkt(box(1_000, 4_000, 2_000, 7_000))
    sc = {"name": "A grande", "changes": [{"resize_park": {"park_id": "A", "boundary": new, "industrial_share": 0.5}}]}
    df = compare_scenarios(hand_atlas, [sc], years=[2011, 2013, 2015, 2020])
    for year, mid, high in ((2011, 0, 0), (2013, 40, 60), (2015, 80, 100), (2020, 100, 100)):
        south = _row(df, "A grande", year, "south")
        north = _row(df, "A grande", year, "north")
        assert south.leased_ha == pytest.approx(mid / 2, abs=1e-6)
        assert south.leased_ha_high == pytest.approx(high / 2, abs=1e-6)
        assert north.leased_ha - _row(df, "baseline", year, "north").leased_ha == pytest.approx(mid / 2, abs=1e-6)
        assert south.park_area_ha == pytest.approx(100.0)
        assert south.planned_ha == pytest.approx(50.0, abs=1e-6)
        assert south.park_count == pytest.approx(1 / 3)
        assert north.park_count == pytest.approx(1 + 2 / 3)
        assert north.park_area_ha == pytest.approx(300.0)
        total = north.leased_ha + south.leased_ha
        assert south.balance_index == pytest.approx((south.leased_ha / total) / BANK_SHARE, abs=1e-9)


def test_resize_by_buffer(hand_atlas):
    sc = {"name": "E+", "changes": [{"resize_park": {"park_id": "E", "buffer_m": 100}}]}
    atlas = apply_scenario(hand_atlas, sc)
    e = atlas.parks.set_index("park_id").geometry["E"]
    assert e.area / 10_000 == pytest.approx((500 + 200) * (1000 + 200) / 10_000)  # mitred corners: a rectangle


def test_set_status_and_rephase(hand_atlas):
    # E (50 ha, no plots) opens on 2013-01-01. Its planned industrial share is the median of the operating parks'
    # (A 80/100, B 70/100): 0.75, so 37.5 ha; it leases at the ramp-up pace from 2013-01-01.
    t_a = (pd.Timestamp("2011-12-31") - pd.Timestamp("2009-01-01")).days / 365.25
    t_b = (pd.Timestamp("2011-12-31") - pd.Timestamp("2009-02-01")).days / 365.25
    mid = float(np.median([80 / t_a, 30 / t_b]))
    sc = {"name": "E 2013", "changes": [{"set_status": {"park_id": "E", "status": "operating", "on": "2013-01-01"}}]}
    later = {"name": "E 2014", "changes": [*sc["changes"], {"rephase": {"park_id": "E", "shift_months": 12}}]}
    df = compare_scenarios(hand_atlas, [sc, later], years=[2013, 2014])
    t13 = (pd.Timestamp("2013-12-31") - pd.Timestamp("2013-01-01")).days / 365.25
    assert _row(df, "E 2013", 2013, "south").leased_ha == pytest.approx(min(37.5, mid * t13), abs=1e-6)
    assert _row(df, "E 2013", 2013, "south").planned_ha == pytest.approx(37.5, abs=1e-6)
    assert _row(df, "E 2014", 2013, "south").park_count == 0  # not open yet
    t14 = (pd.Timestamp("2014-12-31") - pd.Timestamp("2014-01-01")).days / 365.25
    assert _row(df, "E 2014", 2014, "south").leased_ha == pytest.approx(min(37.5, mid * t14), abs=1e-6)


def test_apply_scenario_returns_a_valid_in_memory_atlas_and_writes_nothing(hand_atlas, hand_atlas_path):
    from tests.conftest import atlas_snapshot

    before = atlas_snapshot(hand_atlas_path)
    atlas = apply_scenario(hand_atlas, _south_park({"leased_ha": {2013: 10}}), as_of="2015-12-31")
    assert atlas.location.startswith("memory:")
    assert [p for p in atlas.validate() if p.severity == "error"] == []
    assert set(atlas.parks.park_id) == {"A", "B", "E", "C"}
    assert atlas.parks.set_index("park_id").status["C"] == "operating"
    assert atlas.plots.plot_id.is_unique
    assert atlas_snapshot(hand_atlas_path) == before


def test_projected_pieces_partition_the_free_land(hand_atlas):
    atlas = apply_scenario(hand_atlas, None)
    b = atlas.plots[atlas.plots.park_id == "B"]
    assert b.area.sum() / 10_000 == pytest.approx(100.0)  # B1-B5 still cover the park exactly
    assert shapely.union_all(b.geometry.values).area / 10_000 == pytest.approx(100.0)
    leased_2013 = b[b.leased_on <= pd.Timestamp("2013-12-31")]
    assert leased_2013.area.sum() / 10_000 == pytest.approx(50.0)
