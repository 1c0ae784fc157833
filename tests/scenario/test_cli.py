"""``kcn-gis scenario``: JSON records, located errors with nothing written, the map file."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import atlas_snapshot
from tests.scenario.conftest import SOUTH_PARK_WKT

FIELDS = {
    "scenario",
    "year",
    "bank",
    "park_count",
    "park_area_ha",
    "planned_ha",
    "acquired_ha",
    "leased_ha",
    "leased_ha_low",
    "leased_ha_high",
    "fill_rate_planned",
    "fill_rate_acquired",
    "leased_ha_share",
    "balance_index",
}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kcn_gis", *args], capture_output=True, text=True, encoding="utf-8", check=False
    )


def _scenario(tmp_path, body: str, name: str = "s.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


GOOD = f"""
name: "Khu Nam"
changes:
  - add_park:
      park_id: C
      name: KCN Nam "C" <b>&</b>
      district: Lương Tài
      boundary: "{SOUTH_PARK_WKT}"
      status: {{construction: 2012-06-01, operating: 2013-01-01}}
      industrial_share: 0.8
      schedule:
        leased_ha: {{2013: 10, 2014: 20, 2015: 30}}
"""


def test_compare_json_records(tmp_path, hand_atlas_path):
    scen = _scenario(tmp_path, GOOD)
    r = _cli(
        "scenario", "compare", str(scen), "--atlas", str(hand_atlas_path), "--years", "2015,2020", "--format", "json"
    )
    assert r.returncode == 0, r.stderr
    recs = json.loads(r.stdout)
    assert len(recs) == 2 * 2 * 3  # scenarios x years x (north, south, province)
    assert all(set(x) == FIELDS for x in recs)
    assert {x["scenario"] for x in recs} == {"baseline", "Khu Nam"}
    assert {x["bank"] for x in recs} == {"north", "south", "province"}
    south = {(x["scenario"], x["year"]): x for x in recs if x["bank"] == "south"}
    assert south[("Khu Nam", 2015)]["leased_ha"] == pytest.approx(30.0, abs=1e-6)
    assert south[("Khu Nam", 2020)]["leased_ha"] == pytest.approx(30.0, abs=1e-6)  # flat after the last year
    assert south[("baseline", 2015)]["leased_ha"] == 0
    north_2015 = 150.0  # see tests/scenario/conftest.py and test_compare.py
    assert south[("Khu Nam", 2015)]["balance_index"] == pytest.approx((30 / (30 + north_2015)) / 0.5, abs=1e-9)


def test_errors_name_the_change_and_field_and_write_nothing(tmp_path, hand_atlas_path):
    scen = _scenario(
        tmp_path, GOOD + "  - drop_park: {park_id: NOPE}\n  - set_status: {park_id: E, status: shut, on: 2013-01-01}\n"
    )
    out = tmp_path / "out.json"
    before = atlas_snapshot(hand_atlas_path)
    r = _cli("scenario", "compare", str(scen), "--atlas", str(hand_atlas_path), "--format", "json", "--out", str(out))
    assert r.returncode == 1  # a problem in the scenario file (data), not in the command line
    assert "change 3 (set_status E) field 'status'" in r.stderr and "not a park status" in r.stderr
    assert not out.exists()
    scen2 = _scenario(tmp_path, GOOD + "  - drop_park: {park_id: NOPE}\n", "s2.yaml")
    html = tmp_path / "map.html"
    r = _cli("scenario", "map", str(scen2), "--atlas", str(hand_atlas_path), "--out", str(html), "--offline")
    assert r.returncode == 1
    assert "change 2 (drop_park NOPE) field 'park_id'" in r.stderr and "unknown park 'NOPE'" in r.stderr
    assert not html.exists()
    assert list(tmp_path.glob("*.html")) == [] and list(tmp_path.glob(".*.tmp")) == []
    assert atlas_snapshot(hand_atlas_path) == before


def test_map_and_chart(tmp_path, hand_atlas_path):
    scen = _scenario(tmp_path, GOOD)
    html = tmp_path / "map.html"
    png = tmp_path / "chart.png"
    r = _cli(
        "scenario",
        "map",
        str(scen),
        "--atlas",
        str(hand_atlas_path),
        "--out",
        str(html),
        "--offline",
        "--chart",
        str(png),
        "--years",
        "2013,2015",
    )
    assert r.returncode == 0, r.stderr
    text = html.read_text(encoding="utf-8")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert 'src="data:image/png;base64,' in text
    assert "scenario_changes" in text and "KCN mới" in text and "New park" in text
    assert "Cân đối hai bờ sông Đuống theo năm" in text and "Balance of the Đuống banks per year" in text
    assert "2015 · Khu Nam" in text
    assert "<b>&</b>" not in text  # the park name is data, escaped in the page JSON
    assert "tile.openstreetmap.org" not in text  # offline: no tiles


def test_milestones_and_backtest(tmp_path, hand_atlas_path):
    scen = _scenario(tmp_path, GOOD)
    r = _cli(
        "scenario", "milestones", str(scen), "--atlas", str(hand_atlas_path), "--format", "json", "--horizon", "2020"
    )
    assert r.returncode == 0, r.stderr
    rows = {(x["scenario"], x["park_id"]): x for x in json.loads(r.stdout)}
    # B: 30 of its 70 ha leased by 2011 at 10 ha a year -> 35 ha (50 %) in 2012 (40 ha), 70 ha in 2015
    assert rows[("baseline", "B")]["leased_50_on"] == "2012-12-31"
    assert rows[("baseline", "B")]["leased_100_on"] == "2015-12-31"
    # A: 80 ha planned; 40 ha leased on 2009-06-01 is 50 %, all 80 on 2011-06-01
    assert rows[("baseline", "A")]["leased_50_on"] == "2009-06-01"
    assert rows[("baseline", "A")]["leased_100_on"] == "2011-06-01"
    # C: 80 ha planned, 30 ha leased by 2015 and no more: never 50 %
    assert rows[("Khu Nam", "C")]["leased_50_on"] is None
    r = _cli(
        "scenario",
        "backtest",
        "--atlas",
        str(hand_atlas_path),
        "--fit-until",
        "2010-12-31",
        "--year",
        "2011",
        "--format",
        "json",
    )
    assert r.returncode == 0, r.stderr
    bt = {x["bank"]: x for x in json.loads(r.stdout)}
    # truth on 2011-12-31: A 80 + B 30 = 110 ha north. Fit to 2010: A increments (2008..2010 from 2009) 40, 20 ->
    # quartiles 25, 30, 35 over 60 ha leased with 20 ha free; B 10, 10 -> 10 with 50 ha free.
    assert bt["north"]["actual_leased_ha"] == pytest.approx(110.0)
    assert bt["north"]["leased_ha"] == pytest.approx(60 + 20 + 20 + 10, abs=1e-6)
    assert bt["north"]["leased_ha_low"] == pytest.approx(60 + 20 + 20 + 10, abs=1e-6)
    assert bt["north"]["within_range"] is True
