"""Exports for investors carry no holder data; GeoParquet goes through the store."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from kcn_gis import write_atlas
from kcn_gis.errors import KcnGisError
from kcn_gis.interop.exporters import export_frame, export_layer, for_audience
from kcn_gis.schema import INVESTOR_FIELDS, PERSONAL_FIELDS, Layer
from tests.conftest import make_layers

PLANTED = "Ông Bí Mật Zyxwvu"  # a holder name that must never leave
FORMATS = {
    "gpkg": ".gpkg",
    "geojson": ".geojson",
    "kml": ".kml",
    "kmz": ".kmz",
    "shp": ".shp",
    "xlsx": ".xlsx",
    "dxf": ".dxf",
}


def all_bytes(path) -> bytes:
    """Every byte written, across a Shapefile's side files and inside zipped containers (KMZ, XLSX)."""
    files = [p for p in path.parent.iterdir() if p.stem == path.stem]
    out = b""
    for f in files:
        raw = f.read_bytes()
        out += raw
        if zipfile.is_zipfile(f):
            with zipfile.ZipFile(f) as zf:
                out += b"".join(zf.read(n) for n in zf.namelist())
    return out


@pytest.fixture(scope="module")
def planted_atlas(tmp_path_factory):
    layers = make_layers()
    layers[Layer.PARCELS].loc[0, "holder_name"] = PLANTED
    layers[Layer.PLOTS].loc[1, "tenant"] = "Công ty Thuê Đất"
    return write_atlas(tmp_path_factory.mktemp("planted") / "a.gpkg", layers)


@pytest.mark.parametrize("fmt", list(FORMATS))
@pytest.mark.parametrize("layer", ["parks", "plots", "province", "rivers"])
def test_investor_exports_hold_only_allowed_fields(planted_atlas, tmp_path, fmt, layer):
    out = export_layer(planted_atlas, layer, fmt, tmp_path / f"x{FORMATS[fmt]}", audience="investor")
    data = all_bytes(out)
    assert PLANTED.encode() not in data
    for personal in PERSONAL_FIELDS:
        assert personal.encode() not in data


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_parcels_cannot_be_exported_for_investors(planted_atlas, tmp_path, fmt):
    with pytest.raises(KcnGisError, match="internal"):
        export_layer(planted_atlas, "parcels", fmt, tmp_path / f"p{FORMATS[fmt]}", audience="investor")
    assert not list(tmp_path.iterdir())


def test_internal_export_does_contain_the_holder(planted_atlas, tmp_path):
    """The planted name is findable when it is exported: the investor test above can fail."""
    out = export_layer(planted_atlas, "parcels", "kml", tmp_path / "p.kml")
    assert PLANTED.encode() in all_bytes(out)


def test_for_audience_keeps_the_allow_list_only(tiny_layers):
    plots = tiny_layers[Layer.PLOTS].assign(secret="x")
    shown = for_audience(plots, "plots", "investor")
    assert list(shown.columns) == [*map(str, INVESTOR_FIELDS[Layer.PLOTS]), "geometry"]
    with pytest.raises(KcnGisError, match="audience"):
        for_audience(plots, "plots", "press")


def test_investor_xlsx_columns(planted_atlas, tmp_path):
    out = export_layer(planted_atlas, "plots", "xlsx", tmp_path / "plots.xlsx", audience="investor")
    cols = list(pd.read_excel(out, sheet_name="data").columns)
    assert cols == [*map(str, INVESTOR_FIELDS[Layer.PLOTS]), "area_ha", "wkt"]


def test_geoparquet_goes_through_the_store(planted_atlas, tmp_path, monkeypatch):
    import kcn_gis.store.geoparquet as gp

    seen = {}

    def fake(atlas, out_dir, *, partitions):
        seen.update(atlas=atlas, out=out_dir, k=partitions)
        return out_dir

    monkeypatch.setattr(gp, "write_partitioned", fake)
    export_layer(planted_atlas, None, "geoparquet", tmp_path / "pq", partitions=4)
    assert seen == {"atlas": planted_atlas, "out": tmp_path / "pq", "k": 4}
    with pytest.raises(KcnGisError, match="internal only"):
        export_layer(planted_atlas, None, "geoparquet", tmp_path / "pq2", audience="investor")


def test_unknown_format(tiny_layers, tmp_path):
    with pytest.raises(KcnGisError, match="not one of"):
        export_frame(tiny_layers[Layer.PARKS], "parks", "svg", tmp_path / "x.svg")
