"""``kcn-gis services`` and ``kcn-gis reports status``: JSON gives a list of records with the issue's fields."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kcn_gis import open_atlas
from kcn_gis.cli import main
from kcn_gis.schema import Col


def _json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_services_housing_records(capsys):
    rec = _json(capsys, ["services", "housing", "--as-of", "2011-12-26", "--format", "json"])
    assert set(rec[0]) == {
        "park_id",
        "workers",
        "beds_within_reach",
        "beds_per_worker",
        "nearest_school_m",
        "nearest_kindergarten_m",
        "nearest_clinic_m",
        "nearest_market_m",
    }
    parks = open_atlas().parks
    assert [r["park_id"] for r in rec] == [*parks[Col.PARK_ID], "province"]
    assert rec[-1]["beds_within_reach"] == pytest.approx(16_512)
    # a smaller reach can only lose beds
    small = _json(capsys, ["services", "housing", "--as-of", "2011-12-26", "--reach-m", "500", "--format", "json"])
    assert small[-1]["beds_within_reach"] <= rec[-1]["beds_within_reach"]


def test_services_environment_records(capsys):
    rec = _json(capsys, ["services", "environment", "--as-of", "2011-12-26", "--format", "json"])
    assert set(rec[0]) == {
        "park_id",
        "wastewater_plant",
        "wastewater_capacity_m3_day",
        "waste_storage",
        "days_operating_without_plant",
    }
    assert all(isinstance(r["wastewater_plant"], bool) for r in rec)


def test_reports_status_records_list_missing_projects(capsys, tmp_path):
    rec = _json(capsys, ["reports", "status", "--period", "2011", "--format", "json"])
    assert set(rec[0]) == {"park_id", "due", "filed_on_time", "filed_late", "not_filed", "filed_share", "missing"}
    province = rec[-1]
    assert province["park_id"] == "province"
    assert isinstance(province["missing"], list) and len(province["missing"]) == province["not_filed"] > 0
    assert sum(r["due"] for r in rec[:-1]) == province["due"]
    out = tmp_path / "status.csv"
    assert main(["reports", "status", "--period", "2011", "--format", "csv", "--out", str(out)]) == 0
    csv = pd.read_csv(out)
    assert csv["missing"].iloc[-1].split() == province["missing"]


def test_reports_missing_names_the_investors(capsys):
    rec = _json(capsys, ["reports", "missing", "--period", "2011", "--format", "json"])
    investors = open_atlas().projects.set_index(Col.PROJECT_ID)[Col.INVESTOR]
    assert rec and all(investors[r["project_id"]] == r["investor"] for r in rec)


def test_a_bad_period_is_a_clear_error(capsys):
    assert main(["reports", "status", "--period", "2011-13"]) == 2
    assert "a year (2011), a quarter (2011-Q4) or a month (2011-12)" in capsys.readouterr().err
