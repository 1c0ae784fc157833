"""The GeoPackage store writes GeoPackage 1.2 and the layers' default QGIS styles; exports and projects too."""

from __future__ import annotations

import contextlib
import sqlite3
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pandas as pd
import pyogrio
import pytest

from kcn_gis import open_atlas, write_atlas
from kcn_gis.cli import main
from kcn_gis.errors import KcnGisError, StoreError
from kcn_gis.layer_styles import STYLE_NAME, layer_style, to_qml
from kcn_gis.schema import Layer

from .conftest import AS_OF, EXPECTED_CLEARANCE, make_styled_layers

GPKG_ID = 0x47504B47
SPATIAL = ["parcels", "parks", "plots", "province", "rivers"]


def _q(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(path)) as con:
        return con.execute(sql, params).fetchall()


def _version(path: Path) -> tuple[int, int]:
    return _q(path, "PRAGMA application_id")[0][0], _q(path, "PRAGMA user_version")[0][0]


def test_a_new_atlas_is_geopackage_1_2_with_a_default_style_per_spatial_layer(styled_atlas):
    assert _version(styled_atlas) == (GPKG_ID, 10200)
    rows = _q(
        styled_atlas,
        "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, styleQML, useAsDefault "
        "FROM layer_styles ORDER BY f_table_name",
    )
    assert [r[2] for r in rows] == SPATIAL
    geoms = dict(_q(styled_atlas, "SELECT table_name, column_name FROM gpkg_geometry_columns"))
    for catalog, schema, table, geom, name, qml, default in rows:
        assert (catalog, schema, name, default) == ("", "", STYLE_NAME, 1)
        assert geom == geoms[table]
        assert qml == to_qml(layer_style(table))
    # registered as an attribute table, so GDAL (and QGIS through it) see the table; the atlas ignores it
    assert ("layer_styles", None) in [(str(n), t) for n, t in pyogrio.list_layers(styled_atlas)]
    atlas = open_atlas(styled_atlas)
    assert "layer_styles" not in atlas.layer_names() and len(atlas.plots) == 8


@pytest.mark.parametrize(("asked", "stored"), [("1.3", 10300), ("1.4", 10400)])
def test_another_geopackage_version_on_request(tmp_path, monkeypatch, asked, stored):
    monkeypatch.setenv("KCN_GIS_GPKG_VERSION", asked)
    path = tmp_path / "v.gpkg"
    write_atlas(path, make_styled_layers())
    assert _version(path) == (GPKG_ID, stored)


def test_an_unknown_geopackage_version_is_refused_with_the_choices(tmp_path, monkeypatch):
    monkeypatch.setenv("KCN_GIS_GPKG_VERSION", "1.5")
    with pytest.raises(StoreError, match=r"'1\.5' \(from KCN_GIS_GPKG_VERSION\).*1\.2, 1\.3, 1\.4"):
        write_atlas(tmp_path / "v.gpkg", make_styled_layers())
    from kcn_gis.store.gpkg import GeoPackageBackend

    with pytest.raises(StoreError, match="'2.0' is not one kcn_gis writes"):
        GeoPackageBackend(tmp_path / "w.gpkg", create=True, gpkg_version="2.0")


def test_in_place_writes_keep_the_version_and_do_not_repeat_styles(styled_atlas):
    layers = make_styled_layers()
    before = _q(styled_atlas, "SELECT id, f_table_name, update_time FROM layer_styles ORDER BY id")
    parks = layers[Layer.PARKS].copy()
    parks.loc[0, "name"] = "KCN Đổi Tên"
    write_atlas(styled_atlas, {Layer.PARKS: parks}, fill_missing=False)
    open_atlas(styled_atlas).append(Layer.CLEARANCE_EVENTS, layers[Layer.CLEARANCE_EVENTS].iloc[:0])
    assert _version(styled_atlas) == (GPKG_ID, 10200)
    assert _q(styled_atlas, "SELECT id, f_table_name, update_time FROM layer_styles ORDER BY id") == before
    assert open_atlas(styled_atlas).parks.loc[0, "name"] == "KCN Đổi Tên"


def test_a_style_saved_from_qgis_is_kept_and_a_layer_without_one_gets_ours(styled_atlas):
    with contextlib.closing(sqlite3.connect(styled_atlas)) as con:
        con.execute("DELETE FROM layer_styles WHERE f_table_name IN ('parks', 'plots')")
        con.execute(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
            "styleQML, useAsDefault) VALUES ('', '', 'parks', 'geom', 'mine', '<qgis/>', 1)"
        )
        con.commit()
    layers = make_styled_layers()
    write_atlas(styled_atlas, {Layer.PARKS: layers[Layer.PARKS], Layer.PLOTS: layers[Layer.PLOTS]}, fill_missing=False)
    rows = _q(styled_atlas, "SELECT f_table_name, styleName FROM layer_styles WHERE f_table_name IN ('parks', 'plots')")
    assert sorted(rows) == [("parks", "mine"), ("plots", STYLE_NAME)]


def test_an_atlas_from_before_the_styles_gets_them_when_a_layer_is_written(styled_atlas):
    with contextlib.closing(sqlite3.connect(styled_atlas)) as con:
        con.execute("DROP TABLE layer_styles")
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
        con.commit()
    write_atlas(styled_atlas, {Layer.PLOTS: make_styled_layers()[Layer.PLOTS]}, fill_missing=False)
    assert _q(styled_atlas, "SELECT f_table_name FROM layer_styles") == [("plots",)]
    assert ("layer_styles", "attributes") in _q(styled_atlas, "SELECT table_name, data_type FROM gpkg_contents")


def test_exports_carry_the_style(styled_atlas, tmp_path):
    gpkg = tmp_path / "parks.gpkg"
    assert (
        main(["export", "--atlas", str(styled_atlas), "--layer", "parks", "--format", "gpkg", "--out", str(gpkg)]) == 0
    )
    assert _version(gpkg) == (GPKG_ID, 10200)
    assert _q(gpkg, "SELECT f_table_name, styleName FROM layer_styles") == [("parks", STYLE_NAME)]
    shp = tmp_path / "plots.shp"
    assert main(["export", "--atlas", str(styled_atlas), "--layer", "plots", "--format", "shp", "--out", str(shp)]) == 0
    qml = ET.fromstring(shp.with_suffix(".qml").read_text(encoding="utf-8").split("\n", 1)[1])
    expr = qml.find("renderer-v2").get("attr")
    fields = set(pyogrio.read_info(shp)["fields"])
    assert "lease_ende" in fields and '"lease_ende"' in expr and '"lease_ended_on"' not in expr


def test_the_project_file_holds_relative_paths_the_order_and_the_province_extent(styled_atlas, tmp_path):
    out = tmp_path / "qgis" / "bn.qgz"
    assert main(["qgis-project", "--atlas", str(styled_atlas), "--out", str(out), "--as-of", AS_OF, "--quiet"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["bn.qgs"]
        root = ET.fromstring(zf.read("bn.qgs").decode("utf-8").split("\n", 1)[1])
    sources = [n.get("source") for n in root.iter("layer-tree-layer")]
    assert sources == [
        "./bn_derived.gpkg|layername=clearance",
        "../atlas/styled.gpkg|layername=parcels",
        "../atlas/styled.gpkg|layername=plots",
        "../atlas/styled.gpkg|layername=parks",
        "../atlas/styled.gpkg|layername=rivers",
        "./bn_derived.gpkg|layername=banks",
        "../atlas/styled.gpkg|layername=province",
    ]
    assert root.find("properties/Paths/Absolute").text == "false"
    assert root.find("projectCrs/spatialrefsys/authid").text == "EPSG:9209"
    ext = root.find("ProjectViewSettings/DefaultViewExtent")
    # the province is the 10 km square of make_styled_layers
    bounds = [float(ext.get(k)) for k in ("xmin", "ymin", "xmax", "ymax")]
    prov = make_styled_layers()[Layer.PROVINCE].total_bounds
    assert bounds == pytest.approx(list(prov)) and bounds[2] - bounds[0] == pytest.approx(10_000)
    derived = out.with_name("bn_derived.gpkg")
    assert _version(derived) == (GPKG_ID, 10200)
    banks = pyogrio.read_dataframe(derived, layer="banks")
    assert banks["bank"].tolist() == ["north", "south"]
    # each bank is half of the 10 km x 10 km province, split by the straight Đuống
    assert banks.geometry.area.tolist() == pytest.approx([50_000_000.0, 50_000_000.0])
    clearance = pyogrio.read_dataframe(derived, layer="clearance")
    stage = clearance["stage"].where(clearance["stage"].notna(), "not_started")
    keys = stage + clearance["open_complaint"].map({True: ":complaint", False: ""})
    assert dict(zip(clearance["parcel_id"], keys, strict=True)) == EXPECTED_CLEARANCE
    assert "holder_name" not in clearance.columns
    assert pd.Timestamp(clearance["as_of"].iloc[0]) == pd.Timestamp(AS_OF)
    styled = sorted(r[0] for r in _q(derived, "SELECT f_table_name FROM layer_styles"))
    assert styled == ["banks", "clearance"]


def test_the_project_needs_a_qgz_and_a_geopackage(styled_atlas, tmp_path):
    from kcn_gis.interop.qgis_project import write_qgis_project

    with pytest.raises(KcnGisError, match=r"written as a \.qgz file"):
        write_qgis_project(open_atlas(styled_atlas), tmp_path / "x.qgs")
    with pytest.raises(KcnGisError, match="language 'fr'"):
        write_qgis_project(open_atlas(styled_atlas), tmp_path / "x.qgz", lang="fr")


def test_the_bundled_atlas_is_built_as_geopackage_1_2_with_its_styles(tmp_path):
    from kcn_gis.store import build_bundled_atlas

    path = build_bundled_atlas(tmp_path / "bundled.gpkg")
    assert _version(path) == (GPKG_ID, 10200)
    assert [r[0] for r in _q(path, "SELECT f_table_name FROM layer_styles ORDER BY f_table_name")] == SPATIAL


def test_a_checkout_atlas_built_before_the_styles_is_rebuilt(styled_atlas, monkeypatch):
    import kcn_gis.store as store

    monkeypatch.setattr(store.bundled, "checkout_path", lambda: styled_atlas)
    assert not store._bundled_is_stale(styled_atlas)
    with contextlib.closing(sqlite3.connect(styled_atlas)) as con:
        con.execute("DROP TABLE layer_styles")
        con.execute("DELETE FROM gpkg_contents WHERE table_name = 'layer_styles'")
        con.commit()
    assert store._bundled_is_stale(styled_atlas)
