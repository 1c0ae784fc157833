"""Round trips: export every format, re-import it, get the same geometry (within 1 cm) and attributes."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import shapely

from kcn_gis import open_atlas, write_atlas
from kcn_gis.errors import InputFileError
from kcn_gis.interop.exporters import export_layer
from kcn_gis.interop.importers import import_file
from kcn_gis.schema import Layer, spec
from tests.conftest import make_layers

FORMATS = {
    "gpkg": ".gpkg",
    "geojson": ".geojson",
    "kml": ".kml",
    "kmz": ".kmz",
    "shp": ".shp",
    "xlsx": ".xlsx",
    "dxf": ".dxf",
}


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_same_layer(before: pd.DataFrame, after: pd.DataFrame, layer: str) -> None:
    assert len(after) == len(before)
    key = spec(layer).key
    if key:
        after = after.set_index(after[key].to_numpy())
        before = before.set_index(before[key].to_numpy())
        after = after.loc[before.index]
    dist = [shapely.hausdorff_distance(a, b) for a, b in zip(before.geometry, after.geometry, strict=True)]
    assert max(dist) < 0.01, f"geometry moved by {max(dist):.4f} m"
    for c in spec(layer).columns:
        b, a = before[c.name], after[c.name]
        assert b.isna().tolist() == a.isna().tolist(), c.name
        if c.kind == "float":
            np.testing.assert_allclose(b.dropna().to_numpy(float), a.dropna().to_numpy(float), err_msg=c.name)
        else:
            assert b.dropna().astype(str).tolist() == a.dropna().astype(str).tolist(), c.name


@pytest.fixture(scope="module")
def shared_atlas(tmp_path_factory):
    """One tiny atlas for the read-only tests of this module (writing a GeoPackage takes a while)."""
    return write_atlas(tmp_path_factory.mktemp("atlas") / "tiny.gpkg", make_layers())


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("layer", ["parks", "plots", "parcels", "province", "rivers"])
def test_export_then_import_is_lossless(shared_atlas, tmp_path, fmt, layer):
    out = export_layer(shared_atlas, layer, fmt, tmp_path / f"{layer}{FORMATS[fmt]}")
    # dry run: everything but the write (the write itself is atlas.write, tested with the store)
    # layers without park_id can only be replaced whole (--replace-all)
    mode = "replace" if layer in ("parks", "plots", "parcels") else "replace_all"
    result = import_file(out, layer, crs="EPSG:9209" if fmt == "dxf" else None, mode=mode, dry_run=True)
    assert not result.errors, result.summary()
    assert_same_layer(shared_atlas.read(layer), result.frame, layer)


@pytest.mark.parametrize("fmt", ["shp", "kml"])
def test_round_trip_through_a_written_atlas(shared_atlas, tmp_path, fmt):
    out = export_layer(shared_atlas, "parcels", fmt, tmp_path / f"parcels{FORMATS[fmt]}")
    target = tmp_path / "new.gpkg"
    result = import_file(out, "parcels", atlas=target)
    assert result.written and "created the new atlas" in result.summary()
    assert_same_layer(shared_atlas.parcels, open_atlas(target).parcels, "parcels")


def test_geojson_is_rfc7946_wgs84(shared_atlas, tmp_path):
    import json

    out = export_layer(shared_atlas, "parks", "geojson", tmp_path / "parks.geojson")
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert "crs" not in doc  # RFC 7946: no crs member, always WGS 84 lon/lat
    lon, lat = doc["features"][0]["geometry"]["coordinates"][0][0]
    assert 105.5 < lon < 106.5 and 20.5 < lat < 21.5
    assert doc["features"][0]["properties"]["name"] == "KCN Bắc Một"


def test_shapefile_has_utf8_cpg(shared_atlas, tmp_path):
    out = export_layer(shared_atlas, "parcels", "shp", tmp_path / "parcels.shp")
    assert out.with_suffix(".cpg").read_text().strip().upper().replace("-", "") == "UTF8"
    assert "Hộ Giả Định A".encode() in out.with_suffix(".dbf").read_bytes()


def test_kml_is_styled_by_status(shared_atlas, tmp_path):
    from kcn_gis.interop.exporters.kml import kml_color
    from kcn_gis.style import PLOT_STATUS_COLORS

    text = export_layer(shared_atlas, "plots", "kml", tmp_path / "plots.kml", as_of="2008-01-01").read_text("utf-8")
    assert 'id="s-leased"' in text and 'id="s-acquired"' in text
    assert kml_color(PLOT_STATUS_COLORS["leased"]) in text
    assert "<name>Đã cho thuê</name>" in text  # folder labelled in Vietnamese
    assert 'O\'Brien &amp; "Sons"' in text or "O&apos;Brien &amp; &quot;Sons&quot;" in text  # escaped


def test_xlsx_has_areas(shared_atlas, tmp_path):
    out = export_layer(shared_atlas, "plots", "xlsx", tmp_path / "plots.xlsx")
    data = pd.read_excel(out, sheet_name="data")
    assert dict(zip(data["plot_id"], data["area_ha"], strict=True)) == {"P1": 40.0, "P2": 30.0, "P3": 10.0}
    info = pd.read_excel(out, sheet_name="info")
    assert dict(zip(info["key"], info["value"], strict=True))["crs"] == "EPSG:9209"


def test_append_mode_adds_rows(tmp_path):
    layers = make_layers()
    path = tmp_path / "a.gpkg"
    first = layers[Layer.PARKS].iloc[[0]]
    write_atlas(path, {**layers, Layer.PARKS: first})
    src = tmp_path / "more.gpkg"
    write_atlas(src, {Layer.PARKS: layers[Layer.PARKS].iloc[[1]]})
    import pyogrio

    single = tmp_path / "s1.geojson"
    pyogrio.write_dataframe(open_atlas(src).parks.to_crs(4326), single, driver="GeoJSON")
    r = import_file(single, "parks", atlas=path)
    assert r.written and r.layer_rows_after == 2
    assert sorted(open_atlas(path).parks["park_id"]) == ["N1", "S1"]
    # a second append of the same park is refused, and nothing changes
    before = sha256(path)
    with pytest.raises(InputFileError, match="already in the atlas"):
        import_file(single, "parks", atlas=path)
    assert sha256(path) == before


def test_any_error_leaves_the_atlas_byte_for_byte_unchanged(tiny_atlas_path, tmp_path):
    frame = make_layers()[Layer.PLOTS].copy()
    frame.loc[1, "land_use"] = "sân golf"  # not a land use: one bad row
    bad = tmp_path / "plots.gpkg"
    import pyogrio

    pyogrio.write_dataframe(frame, bad, layer="plots", driver="GPKG")
    before = sha256(tiny_atlas_path)
    with pytest.raises(InputFileError, match=r"row 2 field 'land_use'.*sân golf"):
        import_file(bad, "plots", atlas=tiny_atlas_path, mode="replace")
    assert sha256(tiny_atlas_path) == before
    preview = import_file(bad, "plots", atlas=tiny_atlas_path, mode="replace", dry_run=True)
    assert not preview.written and [(p.row, p.field) for p in preview.errors] == [(2, "land_use")]
    assert sha256(tiny_atlas_path) == before


def test_dry_run_writes_nothing(tiny_atlas_path, tmp_path):
    out = export_layer(open_atlas(tiny_atlas_path), "parks", "geojson", tmp_path / "p.geojson")
    before = sha256(tiny_atlas_path)
    r = import_file(out, "parks", atlas=tiny_atlas_path, mode="replace", dry_run=True)
    assert r.ok and not r.written and len(r.frame) == 2
    assert "would import 2 feature(s)" in r.summary()
    assert sha256(tiny_atlas_path) == before
