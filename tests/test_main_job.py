"""The README's main job (``kcn-gis run``) on the bundled Bắc Ninh 2011 atlas."""

from __future__ import annotations

import json
import re

import pytest

from kcn_gis import open_atlas
from kcn_gis.cli import main
from kcn_gis.schema import Col


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    out = tmp_path_factory.mktemp("main")
    assert main(["run", "--out-dir", str(out), "--as-of", "2011-12-26", "--quiet"]) == 0
    return out


def test_report_reconciles_the_fill_rates(outputs):
    records = {r["figure"]: r for r in json.loads((outputs / "report.json").read_text(encoding="utf-8"))}
    assert round(records["Fill rate on planned area"]["computed_value"], 2) == 58.16
    assert round(records["Fill rate on acquired area"]["computed_value"], 2) == 75.38
    assert {"figure", "report_value", "computed_value", "unit", "difference"} <= set(next(iter(records.values())))


def test_maps_and_reviews_are_written_for_every_clearance_park(outputs):
    atlas = open_atlas()
    for name in ("investor", "planning", "clearance"):
        html = (outputs / f"{name}.html").read_text(encoding="utf-8")
        # Offline: no script, stylesheet, image or tile is fetched from the network.
        assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://|url\(\s*["']?https?://""", html), name
    for park_id in sorted(set(atlas.parcels[Col.PARK_ID])):
        html = (outputs / f"clearance_review_{park_id}.html").read_text(encoding="utf-8")
        name = atlas.parks.set_index(Col.PARK_ID).loc[park_id, Col.NAME]
        assert name in html


def test_investor_map_holds_no_holder_names(outputs):
    html = (outputs / "investor.html").read_text(encoding="utf-8")
    holders = set(open_atlas().parcels[Col.HOLDER_NAME].dropna())
    assert holders
    assert not [h for h in holders if h in html]


def test_balance_has_both_banks(outputs):
    import pandas as pd

    balance = pd.read_csv(outputs / "balance.csv")
    assert sorted(balance["bank"]) == ["north", "south"]
    assert balance["leased_ha"].sum() == pytest.approx(1217.4, abs=0.5)


def test_housing_environment_and_reporting_tables_and_their_report_lines(outputs):
    import pandas as pd

    atlas = open_atlas()
    housing = pd.read_csv(outputs / "housing.csv").set_index("park_id")
    assert housing.loc["province", "beds_within_reach"] == pytest.approx(16_512)
    assert housing.loc["province", "workers"] == 87_053
    env = pd.read_csv(outputs / "environment.csv")
    assert list(env["park_id"]) == list(atlas.parks[Col.PARK_ID])
    operating = env[env["status"] == "operating"]
    without = int((~operating["wastewater_plant"]).sum())
    rep = pd.read_csv(outputs / "reporting.csv").set_index("park_id")
    prov = rep.loc["province"]
    assert (prov["output_bn_vnd"], prov["exports_musd"], prov["budget_bn_vnd"]) == (142_704, 6_512, 2_653)
    assert len(str(prov["missing"]).split()) == prov["not_filed"] > 0
    text = (outputs / "report.txt").read_text(encoding="utf-8")
    assert "16,512 beds within reach of the parks for 87,053 workers" in text
    assert f"{without} of {len(operating)} operating parks without a central wastewater plant" in text
    filed = int(prov["due"] - prov["not_filed"])
    assert f"{filed} of {int(prov['due'])} due projects filed" in text and "sums incomplete" in text
    records = {r["figure"]: r for r in json.loads((outputs / "report.json").read_text(encoding="utf-8"))}
    assert records["Industrial output (2011 enterprise reports)"]["difference"] == 0
    assert records["Exports (2011 enterprise reports)"]["computed_value"] == 6_512
