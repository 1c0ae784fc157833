"""``kcn_gis.reconcile.reconcile`` and ``kcn-gis report``.

The hand-built tiny atlas (tests/conftest.py) has areas computed by hand:
parks 100 ha (N1, operating, approved) + 50 ha (S1, preparing); industrial plots
P1 40 ha (acquired 2005-01-01, leased 2006-06-01, project PRJ1) and P2 30 ha
(acquired 2007-01-01); PRJ1: 10 M USD, licensed 2006-05-01, operating 2007-01-01,
100 workers, 40 local, 70 female.

The ``kcn-gis report`` tests on the tiny atlas run on both backends (``tiny_url``: GeoPackage,
PostGIS); the bundled atlas is a GeoPackage (its PostGIS copy is reported on in
``tests/postgis/test_pg_transfer.py``).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kcn_gis.cli import main
from kcn_gis.errors import CRSError
from kcn_gis.reconcile import RECONCILE_COLUMNS, reconcile
from tests.conftest import make_layers


@pytest.fixture
def tiny_url(shared_atlas_url):
    """The tiny atlas on each backend (shared, read-only)."""
    return shared_atlas_url("tiny", make_layers)


def _value(table: pd.DataFrame, figure: str) -> float:
    rows = table.loc[table["figure"] == figure, "computed_value"]
    assert len(rows) == 1, figure
    return float(rows.iloc[0])


def test_reconcile_tiny_atlas_by_hand(tiny_layers):
    t = reconcile(
        parks=tiny_layers["parks"], plots=tiny_layers["plots"], projects=tiny_layers["projects"], as_of="2011-12-26"
    )
    assert tuple(t.columns) == RECONCILE_COLUMNS
    assert _value(t, "Parks on the Prime Minister's list") == 2
    assert _value(t, "Total park area") == pytest.approx(150.0)
    assert _value(t, "Area with approved detailed plan (QHCT 1/2000)") == pytest.approx(100.0)
    assert _value(t, "Share of area with approved detailed plan") == pytest.approx(100 / 150 * 100)
    assert _value(t, "Operating parks") == 1
    assert _value(t, "Planned industrial land, operating parks") == pytest.approx(70.0)
    assert _value(t, "Acquired industrial land, operating parks") == pytest.approx(70.0)
    assert _value(t, "Leased industrial land, operating parks") == pytest.approx(40.0)
    assert _value(t, "Fill rate on planned area") == pytest.approx(40 / 70 * 100)
    assert _value(t, "Fill rate on acquired area") == pytest.approx(40 / 70 * 100)
    assert _value(t, "Valid projects") == 1
    assert _value(t, "Registered capital of valid projects") == pytest.approx(0.01)
    assert _value(t, "Industrial land leased by valid projects") == pytest.approx(40.0)
    assert _value(t, "Investment per project") == pytest.approx(10.0)
    assert _value(t, "Investment per hectare") == pytest.approx(0.25)
    assert _value(t, "Operating projects") == 1
    assert _value(t, "Revoked projects") == 0
    assert _value(t, "Workers") == 100
    assert _value(t, "Share of local workers") == pytest.approx(40.0)
    assert _value(t, "Share of female workers") == pytest.approx(70.0)
    # difference is computed - report
    row = t.loc[t["figure"] == "Valid projects"].iloc[0]
    assert row["difference"] == pytest.approx(1 - 527)


def test_reconcile_on_an_earlier_date(tiny_layers):
    t = reconcile(
        parks=tiny_layers["parks"], plots=tiny_layers["plots"], projects=tiny_layers["projects"], as_of="2006-01-01"
    )
    assert _value(t, "Acquired industrial land, operating parks") == pytest.approx(40.0)  # P2 only in 2007
    assert _value(t, "Leased industrial land, operating parks") == 0.0
    assert _value(t, "Valid projects") == 0  # PRJ1 is licensed on 2006-05-01
    assert _value(t, "Workers") == 0


def test_the_reports_own_inconsistency_is_shown(tiny_layers):
    t = reconcile(
        parks=tiny_layers["parks"], plots=tiny_layers["plots"], projects=tiny_layers["projects"], as_of="2011-12-26"
    )
    own = t[t["figure"].str.contains("report's own arithmetic: 4.1 bn / 527", regex=False)].iloc[0]
    assert own["report_value"] == 7.73
    assert round(own["computed_value"], 2) == 7.78
    assert round(own["difference"], 2) == 0.05
    fill = t[t["figure"].str.contains("report's own arithmetic: 1,217 / 2,093", regex=False)].iloc[0]
    assert round(fill["computed_value"], 2) == 58.15  # the printed 58.16 comes from unrounded hectares


def test_reconcile_refuses_geographic_data(tiny_layers):
    parks = tiny_layers["parks"].to_crs("EPSG:4326")
    with pytest.raises(CRSError, match="geographic"):
        reconcile(parks=parks, plots=tiny_layers["plots"], projects=tiny_layers["projects"], as_of="2011-12-26")


def test_cli_report_json_on_tiny_atlas(tiny_url, tmp_path):
    out = tmp_path / "report.json"
    code = main(["report", "--atlas", tiny_url, "--as-of", "2011-12-26", "--format", "json", "--out", str(out)])
    assert code == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(data, list) and len(data) >= 20
    for rec in data:
        assert {"figure", "report_value", "computed_value", "unit", "difference"} <= set(rec)
    by = {r["figure"]: r for r in data}
    assert by["Total park area"]["computed_value"] == pytest.approx(150.0)
    assert by["Total park area"]["unit"] == "ha"


def test_cli_report_table(tiny_url, capsys):
    assert main(["report", "--atlas", tiny_url, "--as-of", "2011-12-26"]) == 0
    out = capsys.readouterr().out
    assert "Total park area" in out and "6,847.00" in out and "150.00" in out
    assert "-0.00" not in out


def test_cli_report_on_the_bundled_atlas(tmp_path):
    """The main job's figures on the bundled atlas (built on first use) match the report."""
    out = tmp_path / "bundled.json"
    assert main(["report", "--as-of", "2011-12-26", "--format", "json", "--out", str(out)]) == 0
    by = {r["figure"]: r for r in json.loads(out.read_text(encoding="utf-8"))}
    for figure, tol in (
        ("Total park area", 0.01),
        ("Area with approved detailed plan (QHCT 1/2000)", 0.01),
        ("Planned industrial land, operating parks", 0.5),
        ("Acquired industrial land, operating parks", 0.5),
        ("Leased industrial land, operating parks", 0.5),
        ("Industrial land leased by valid projects", 0.5),
        ("Fill rate on planned area", 0.005),
        ("Fill rate on acquired area", 0.005),
        ("Valid projects", 0),
        ("Operating projects", 0),
        ("Revoked projects", 0),
        ("Workers", 0),
        ("Local workers", 0),
        ("Female workers", 0),
        ("Registered capital of valid projects", 0.05),
    ):
        assert abs(by[figure]["difference"]) <= tol, figure
    assert round(by["Investment per project"]["computed_value"], 2) == 7.78
