"""Atlases written before schema version 2 (seven layers) keep opening and validating."""

from __future__ import annotations

import sqlite3

import pandas as pd

from kcn_gis import open_atlas, write_atlas
from kcn_gis.schema import OPTIONAL_LAYERS, Layer, spec
from tests.conftest import make_layers


def _old_atlas(tmp_path):
    path = tmp_path / "old.gpkg"
    write_atlas(path, make_layers(), fill_missing=False)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE kcn_gis_meta SET value = '1' WHERE key = 'schema_version'")
    return path


def test_a_seven_layer_atlas_opens_and_validates_with_warnings_only(tmp_path):
    atlas = open_atlas(_old_atlas(tmp_path))
    assert atlas.schema_version == 1
    assert Layer.FACILITIES not in atlas.layer_names()
    problems = atlas.validate()
    assert {p.severity for p in problems} == {"warning"}
    assert sorted(p.layer for p in problems) == sorted(str(x) for x in OPTIONAL_LAYERS)
    assert all(p.check == "missing_optional_layer" for p in problems)


def test_missing_optional_layers_read_as_empty_with_the_model_columns(tmp_path):
    atlas = open_atlas(_old_atlas(tmp_path))
    for layer in OPTIONAL_LAYERS:
        frame = atlas.read(layer)
        assert len(frame) == 0
        assert [c for c in frame.columns if c != "geometry"] == [c.name for c in spec(layer).columns]
    assert atlas.facilities.crs.to_epsg() == 9209


def test_validate_cli_exits_0_on_an_old_atlas(tmp_path, capsys):
    from kcn_gis.cli import main

    assert main(["validate", "--atlas", str(_old_atlas(tmp_path))]) == 0


def test_reports_can_be_added_to_an_old_atlas(tmp_path):
    from tests.services.test_import import write_sheet

    path = _old_atlas(tmp_path)
    book = write_sheet(tmp_path / "r.xlsx", {"2011": [("PRJ1", "2012-01-05", 100, 40, 70, 12.5, 1.0, 0.3, 2.4)]})
    from kcn_gis.reports_intake import import_reports

    atlas = open_atlas(path)
    assert import_reports(atlas, book, today="2012-06-01")["added"] == 1
    again = open_atlas(path)
    assert again.enterprise_reports["output_bn_vnd"].tolist() == [12.5]
    assert pd.notna(again.enterprise_reports["recorded_at"]).all()
