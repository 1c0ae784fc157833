"""The scenarios on the bundled Bắc Ninh 2011 atlas: the baseline reproduces today, the examples apply cleanly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import kcn_gis
from kcn_gis.scenario import backtest_projection, compare_states, load_scenario, project_scenarios

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "data" / "scenarios").glob("*.yaml"))


@pytest.fixture(scope="module")
def atlas():
    return kcn_gis.open_atlas()


@pytest.fixture(scope="module")
def states(atlas):
    return project_scenarios(atlas, EXAMPLES, horizon=2020)


def test_baseline_reproduces_today_exactly(atlas):
    day = "2011-12-26"
    base = kcn_gis.apply_scenario(atlas, None, as_of=day)
    got = kcn_gis.fill_rates(base.plots, base.parks, as_of=day, by="province").iloc[0]
    want = kcn_gis.fill_rates(atlas.plots, atlas.parks, as_of=day, by="province").iloc[0]
    assert round(got.fill_rate_planned * 100, 2) == 58.16
    assert round(got.fill_rate_acquired * 100, 2) == 75.38
    for c in ("planned_ha", "acquired_ha", "leased_ha"):
        assert got[c] == pytest.approx(want[c], rel=1e-12)
    args = (atlas.province, atlas.rivers)
    pd.testing.assert_frame_equal(
        kcn_gis.river_balance(*args, base.parks, base.plots, base.projects, as_of=day),
        kcn_gis.river_balance(*args, atlas.parks, atlas.plots, atlas.projects, as_of=day),
        rtol=1e-12,
    )


def test_baseline_for_2011_is_the_computed_2011(atlas, states):
    cmp = compare_states(states[:1], [2011])
    rb = kcn_gis.river_balance(
        atlas.province, atlas.rivers, atlas.parks, atlas.plots, atlas.projects, as_of="2011-12-31"
    ).set_index("bank")
    for bank in ("north", "south"):
        row = cmp[cmp.bank == bank].iloc[0]
        for c in ("park_count", "planned_ha", "acquired_ha", "leased_ha", "balance_index"):
            assert row[c] == pytest.approx(rb.loc[bank, c], rel=1e-12), c
        assert row.leased_ha_low == pytest.approx(row.leased_ha) and row.leased_ha_high == pytest.approx(row.leased_ha)


def test_the_three_examples_apply_inside_the_province_and_help_the_south(atlas, states):
    assert [p.name for p in EXAMPLES] == [
        "gia_binh_2013.yaml",
        "luong_tai_new_park.yaml",
        "thuan_thanh_2_plus_200.yaml",
    ]
    for path in EXAMPLES:
        text = path.read_text(encoding="utf-8")
        assert text.count("#") >= 5 and "Assumes" in text  # each says what it assumes
        assert load_scenario(path).changes
    cmp = compare_states(states, [2015, 2020])
    south = cmp[cmp.bank == "south"].set_index(["scenario", "year"])
    for s in states[1:]:
        for year in (2015, 2020):
            assert south.loc[(s.name, year), "leased_ha"] > south.loc[("baseline", year), "leased_ha"] + 50
            assert south.loc[(s.name, year), "balance_index"] > south.loc[("baseline", year), "balance_index"]
    lt = next(s for s in states if s.name == "Khu Nam 2013")
    park = lt.layers["parks"].set_index("park_id").geometry["LT"]
    assert park.area / 10_000 == pytest.approx(500.0)
    banks = kcn_gis.split_banks(atlas.province, atlas.rivers).set_index("bank")
    assert banks.geometry["south"].covers(park)
    tt2 = next(s for s in states if s.name.startswith("Thuận Thành II"))
    added = (
        tt2.layers["parks"].set_index("park_id").geometry["TT2"].area
        - atlas.parks.set_index("park_id").geometry["TT2"].area
    )
    assert added / 10_000 == pytest.approx(200.0, abs=0.5)


def test_in_memory_scenario_atlas_validates(states):
    atlas = states[-1].to_atlas(as_of="2020-12-31")
    errors = [p for p in atlas.validate() if p.severity == "error"]
    assert errors == []


def test_backtest_is_reported_as_computed(atlas):
    bt = backtest_projection(atlas, fit_until="2008-12-31", target_year=2011).set_index("bank")
    doc = (ROOT / "docs" / "scenarios.md").read_text(encoding="utf-8")
    for bank in ("north", "south", "province"):
        r = bt.loc[bank]
        line = (
            f"| {bank} | {r.actual_leased_ha:,.1f} | {r.leased_ha:,.1f} | {r.leased_ha_low:,.1f}–{r.leased_ha_high:,.1f} "
            f"| {'yes' if r.within_range else 'no'} |"
        )
        assert line in doc, line
