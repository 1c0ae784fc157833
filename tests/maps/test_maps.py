"""The three map builders: privacy allow-lists, escaping, numbers shown, legends, languages, offline, CLI.

Every test reads the hostile atlas from each backend (``backend_backend_hostile_atlas``: GeoPackage, PostGIS).
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from kcn_gis.errors import KcnGisError
from kcn_gis.maps import clearance_map, investor_map, planning_map, render_html, save_map
from kcn_gis.maps.assets import external_references
from kcn_gis.schema import PlotStatus
from kcn_gis.style import LAND_USE_COLORS, PARK_STATUS_COLORS, PLOT_STATUS_COLORS, STAGE_COLORS

from ._helpers import classes_of, column, layer, page_data
from .conftest import OBRIEN, PLANTED_HOLDERS, XSS

DAY = "2011-12-26"
BUILDERS = {"investor": investor_map, "planning": planning_map, "clearance": clearance_map}


@pytest.fixture(scope="module")
def pages(backend_hostile_atlas):
    """Each map of the hostile atlas rendered online and offline."""
    out = {}
    for kind, fn in BUILDERS.items():
        m = fn(backend_hostile_atlas, as_of=DAY)
        out[kind] = (render_html(m), render_html(m, offline=True))
    return out


def test_investor_map_never_contains_parcel_holder_data(backend_hostile_atlas, pages):
    # the planted names are really in the atlas ...
    assert set(PLANTED_HOLDERS[:2]) <= set(backend_hostile_atlas.parcels["holder_name"])
    assert PLANTED_HOLDERS[2] in set(backend_hostile_atlas.clearance_events["note"].dropna())
    for html in pages["investor"]:
        for secret in (*PLANTED_HOLDERS, "S1-1-1", "Xã Thử", "45/QĐ"):
            assert secret not in html
        data = page_data(html)
        # "services" (parks by services within reach, schema version 2); no "facilities": this atlas has none
        assert {x["id"] for x in data["layers"]} == {"province", "rivers", "parks", "plots", "services"}


@pytest.mark.parametrize("kind", ["planning", "clearance"])
def test_internal_maps_carry_no_personal_fields_either(pages, kind):
    for html in pages[kind]:
        for secret in PLANTED_HOLDERS:
            assert secret not in html
        for lyr in page_data(html)["layers"]:
            assert "holder_name" not in lyr["props"]


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_hostile_text_is_data_not_markup(pages, kind):
    for html in pages[kind]:
        assert "alert(1)" not in re.sub(r"<script type=\"application/json\".*?</script>", "", html, flags=re.S)
        assert "<script>alert" not in html and XSS not in html
        assert OBRIEN not in html  # quotes and & are escaped inside the JSON
    if kind != "clearance":
        plots = layer(page_data(pages[kind][1]), "plots")
        assert XSS + " " + OBRIEN in column(plots, "tenant")


def test_investor_popup_numbers_come_from_fill_rates(backend_hostile_atlas):
    data = page_data(render_html(investor_map(backend_hostile_atlas, as_of=DAY)))
    parks = layer(data, "parks")
    i = column(parks, "park_id").index("N1")
    # N1: P1 40 ha industrial leased 2006, P2 30 ha industrial acquired 2007, P3 green
    assert column(parks, "planned_ha")[i] == pytest.approx(70.0)
    assert column(parks, "available_ha")[i] == pytest.approx(30.0)
    assert column(parks, "leased_ha")[i] == pytest.approx(40.0)
    assert column(parks, "fill_rate_acquired")[i] == pytest.approx(40 / 70, abs=1e-4)
    assert column(parks, "tenants")[i] == [XSS + " " + OBRIEN]
    assert column(parks, "developer")[i] == "Công ty Hạ tầng Một"
    assert column(parks, "name_en")[i] == "North One IP"
    # before P1 was leased and P2 acquired: 40 ha available, nothing leased, no tenants
    early = layer(page_data(render_html(investor_map(backend_hostile_atlas, as_of="2006-01-01"))), "parks")
    assert column(early, "available_ha")[i] == pytest.approx(40.0)
    assert column(early, "leased_ha")[i] == pytest.approx(0.0)
    assert column(early, "tenants")[i] == []


def test_investor_plot_fills_and_legend_use_the_style_mapping(backend_hostile_atlas):
    data = page_data(render_html(investor_map(backend_hostile_atlas, as_of=DAY)))
    plots = layer(data, "plots")
    by_id = dict(zip(column(plots, "plot_id"), classes_of(plots), strict=True))
    assert by_id["P1"]["key"] == "industrial:leased"
    assert by_id["P1"]["style"]["fillColor"] == PLOT_STATUS_COLORS[PlotStatus.LEASED]
    assert by_id["P2"]["key"] == "industrial:acquired"  # available: highlighted
    assert by_id["P2"]["style"]["fillColor"] == PLOT_STATUS_COLORS[PlotStatus.ACQUIRED]
    assert by_id["P2"]["style"]["weight"] > by_id["P1"]["style"]["weight"]
    assert by_id["P3"]["style"]["fillColor"] == LAND_USE_COLORS["green"]
    assert column(plots, "tenant")[column(plots, "plot_id").index("P2")] is None
    parks = layer(data, "parks")
    assert [c["style"]["fillColor"] for c in classes_of(parks)] == [
        PARK_STATUS_COLORS["operating"],
        PARK_STATUS_COLORS["preparing"],
    ]
    # the legend lists the layers' own classes (it has no colours of its own)
    assert {b["layer"] for b in data["legend"]} >= {"parks", "plots"}
    assert all("items" not in b for b in data["legend"])


def test_both_languages_are_in_the_page_and_lang_sets_the_first(backend_hostile_atlas):
    vi = page_data(render_html(investor_map(backend_hostile_atlas, as_of=DAY)))
    en = page_data(render_html(investor_map(backend_hostile_atlas, as_of=DAY, lang="en")))
    assert (vi["lang"], en["lang"]) == ("vi", "en")
    assert vi["title"]["vi"].startswith("Khu công nghiệp") and vi["title"]["en"].startswith("Bắc Ninh industrial parks")
    assert "schematic" in vi["attribution"]["en"] and "sơ đồ" in vi["attribution"]["vi"]
    assert vi["subtitle"] == {"vi": "Tình trạng ngày 26/12/2011", "en": "As of 2011-12-26"}
    with pytest.raises(KcnGisError, match="language 'fr'"):
        investor_map(backend_hostile_atlas, lang="fr")


def test_park_filter_and_unknown_park(backend_hostile_atlas):
    data = page_data(render_html(investor_map(backend_hostile_atlas, as_of=DAY, park="S1")))
    assert column(layer(data, "parks"), "park_id") == ["S1"]
    assert layer(data, "plots")["n"] == 0
    lower = page_data(render_html(investor_map(backend_hostile_atlas, as_of=DAY, park="s1")))
    assert column(layer(lower, "parks"), "park_id") == ["S1"]  # park ids match without case
    with pytest.raises(KcnGisError, match=r"unknown park id\(s\) 'XX'; parks: N1, S1"):
        planning_map(backend_hostile_atlas, park="XX")


def test_planning_map_layers_choropleth_and_problems(backend_hostile_atlas, pages):
    data = page_data(pages["planning"][0])
    ids = [x["id"] for x in data["layers"]]
    assert {"banks", "province", "rivers", "fill", "parks", "plots", "plot_status", "parcels"} <= set(ids)
    assert layer(data, "banks")["n"] == 2
    fill = layer(data, "fill")
    keys = dict(zip(column(fill, "park_id"), [c["key"] for c in classes_of(fill)], strict=True))
    assert keys == {"N1": "fill:2", "S1": "fill:nodata"}  # 57 % is in the 40-60 % class; S1 has no industrial land
    assert [c["label"]["en"] for c in fill["classes"]][:5] == ["0-20 %", "20-40 %", "40-60 %", "60-80 %", "80-100 %"]
    assert data["panels"][0]["title"]["en"] == "Validation problems"
    assert not layer(data, "parcels")["show"]


def test_planning_problems_are_drawn_on_the_features_they_name(backend_hostile_atlas, monkeypatch):
    import kcn_gis.analytics
    from kcn_gis.errors import Problem

    def fake(**kw):
        return [Problem("error", "plot_outside_park", "plot P3 <b>sticks out</b>", layer="plots", ids=("P3",))]

    monkeypatch.setattr(kcn_gis.analytics, "check_consistency", fake)
    html = render_html(planning_map(backend_hostile_atlas, as_of=DAY))
    data = page_data(html)
    probs = layer(data, "problems")
    assert column(probs, "id") == ["P3"] and column(probs, "message") == ["plot P3 <b>sticks out</b>"]
    assert any("sticks out" in item for item in data["panels"][0]["items"])
    assert "<b>sticks out" not in html


def test_clearance_stages_and_time_slider(backend_hostile_atlas):
    data = page_data(render_html(clearance_map(backend_hostile_atlas, as_of=DAY, time_slider=True)))
    parcels = layer(data, "parcels")
    keys = dict(zip(column(parcels, "parcel_id"), [c["key"] for c in classes_of(parcels)], strict=True))
    # S1-1-1: notified, inventoried, then a complaint (open); S1-1-2: notified
    assert keys == {"S1-1-1": "inventoried:complaint", "S1-1-2": "notified"}
    by_key = {c["key"]: c for c in parcels["classes"]}
    assert by_key["notified"]["style"]["fillColor"] == STAGE_COLORS["notified"]
    assert by_key["inventoried:complaint"]["style"]["fillColor"] == STAGE_COLORS["inventoried"]
    s = data["slider"]
    assert s["dates"] == ["2011-03-01", "2011-05-01", "2011-06-01", "2011-07-01", "2011-12-26"]
    state = np.array(s["base"])
    assert [parcels["classes"][c]["key"] for c in state] == ["notified", "not_started"]
    for ch in s["changes"][1:]:
        state[ch[0::2]] = ch[1::2]
    assert state.tolist() == parcels["cls"]
    early = layer(page_data(render_html(clearance_map(backend_hostile_atlas, as_of="2011-04-01"))), "parcels")
    assert [c["key"] for c in classes_of(early)] == ["notified", "not_started"]


@pytest.mark.parametrize("kind", list(BUILDERS))
def test_offline_page_has_no_network_reference(pages, kind):
    online, offline = pages[kind]
    assert "tile.openstreetmap.org" in online and "cdn.jsdelivr.net" in online
    assert external_references(offline) == []
    assert not re.search(r"(?:src|href)\s*=\s*[\"']?https?://|url\(\s*[\"']?https?://", offline)
    assert "tile.openstreetmap.org" not in offline


def test_save_map_writes_atomically(backend_hostile_atlas, tmp_path, monkeypatch):
    m = investor_map(backend_hostile_atlas, as_of=DAY)
    out = save_map(m, tmp_path / "sub" / "investor.html", offline=True)
    before = out.read_text(encoding="utf-8")
    assert page_data(before)["layers"]
    import kcn_gis.maps._page as page

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(page.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        save_map(investor_map(backend_hostile_atlas, as_of=DAY, lang="en"), out)
    assert out.read_text(encoding="utf-8") == before  # the previous map is intact
    assert [p.name for p in out.parent.iterdir()] == ["investor.html"]  # no temporary file left


def test_cli_writes_each_map(backend_hostile_atlas, tmp_path):
    from kcn_gis.cli import main

    where = str(backend_hostile_atlas.location)
    for kind in BUILDERS:
        out = tmp_path / f"{kind}.html"
        argv = ["map", kind, "--atlas", where, "--as-of", DAY, "--lang", "en", "--offline"]
        assert main([*argv, "--out", str(out), "--quiet"]) == 0
        data = page_data(out.read_text(encoding="utf-8"))
        assert data["lang"] == "en" and external_references(out.read_text(encoding="utf-8")) == []
    assert (
        main(
            [
                "map",
                "investor",
                "--atlas",
                where,
                "--park",
                "XX",
                "--out",
                str(tmp_path / "x.html"),
            ]
        )
        == 2
    )
    assert not (tmp_path / "x.html").exists()
