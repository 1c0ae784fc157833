"""The scenario map: changed parks drawn by kind, the balance panel from the comparison, escaping, offline in chromium."""

from __future__ import annotations

import pytest

from kcn_gis.maps import render_html, save_map
from kcn_gis.maps.scenario import scenario_map
from kcn_gis.scenario import compare_states, project_scenarios
from tests.scenario.conftest import SOUTH_PARK_WKT, hand_layers

from ._helpers import classes_of, layer, page_data

XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def projected(tmp_path_factory):
    from kcn_gis import open_atlas, write_atlas

    path = tmp_path_factory.mktemp("scen") / "hand.gpkg"
    write_atlas(path, hand_layers())
    sc = {
        "name": f"Nam {XSS}",
        "changes": [
            {
                "add_park": {
                    "park_id": "C",
                    "name": f"KCN C {XSS}",
                    "district": "Lương Tài",
                    "boundary": SOUTH_PARK_WKT,
                    "status": {"operating": "2013-01-01"},
                    "industrial_share": 0.8,
                    "schedule": {"leased_ha": {2013: 10, 2014: 20, 2015: 30}},
                }
            },
            {"resize_park": {"park_id": "E", "buffer_m": 100}},
            {"drop_park": {"park_id": "B"}},
        ],
    }
    states = project_scenarios(open_atlas(path), [sc], horizon=2015)
    return states, compare_states(states, [2013, 2015])


def test_changed_parks_by_kind_and_the_balance_panel(projected):
    states, cmp = projected
    html = render_html(scenario_map(states[1], cmp, lang="en"), offline=True)
    data = page_data(html)
    changes = layer(data, "scenario_changes")
    keys = sorted(c["key"] for c in classes_of(changes))
    assert keys == ["added", "dropped", "enlarged", "old_boundary"]  # C, B, E and E's former boundary
    panel = data["panels"][0]
    assert panel["title"] == {"vi": "Cân đối hai bờ sông Đuống theo năm", "en": "Balance of the Đuống banks per year"}
    assert len(panel["items"]) == 2 * 2  # 2 years x (baseline, scenario)
    south = cmp[(cmp.scenario == states[1].name) & (cmp.year == 2015) & (cmp.bank == "south")].iloc[0]
    assert south.leased_ha == pytest.approx(30.0, abs=1e-6)
    item = next(i for i in panel["items"] if i["en"].startswith(f"2015 · {states[1].name}"))
    assert "south bank 30 ha (30–30)" in item["en"] and "bờ Nam 30 ha" in item["vi"]
    assert f"south balance index {south.balance_index:.2f}" in item["en"]
    assert data["title"]["en"].endswith(states[1].name)
    assert XSS not in html  # names are data: JSON-escaped, put in the page with textContent; alt text escaped
    assert 'src="data:image/png;base64,' in html


@pytest.mark.requires_chromium
def test_scenario_map_offline_in_chromium(browser, projected, tmp_path, artifacts):
    from .test_browser import _Page

    states, cmp = projected
    path = save_map(scenario_map(states[1], cmp), tmp_path / "scenario.html", offline=True)
    p = _Page(browser, path)
    try:
        page = p.page
        assert page.evaluate("kcnGis.count('scenario_changes')") == 4
        assert page.evaluate("document.querySelector('.kcn-scenario-chart img').naturalWidth") > 100
        assert "Cân đối hai bờ sông Đuống theo năm" in page.inner_text(".kcn-panels")
        assert "Thay đổi của kịch bản" in page.inner_text(".kcn-legend")
        page.click('button[data-lang="en"]')
        assert "Changes in the scenario" in page.inner_text(".kcn-legend")
        page.screenshot(path=str(artifacts / "map-scenario.png"))
        assert p.errors == [] and p.blocked == [] and p.dialogs == []
    finally:
        page.close()
