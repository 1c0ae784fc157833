"""Facilities on the planning and investor maps: numbers from housing_coverage, no personal data for investors."""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis import open_atlas, write_atlas
from kcn_gis.analytics import housing_coverage
from kcn_gis.maps import investor_map, planning_map, render_html
from kcn_gis.schema import INVESTOR_FIELDS, PERSONAL_FIELDS, Col, Layer
from tests.conftest import make_layers
from tests.maps._helpers import column, layer, page_data
from tests.services.conftest import facilities

SECRET = "Nguyễn Văn Bí Mật 0912 345 678"  # a caretaker's name and phone, in a column outside the model


@pytest.fixture
def atlas(tmp_path):
    layers = make_layers()
    # park N1: x 1000-2000, y 6000-7000 (tests/conftest.py); a dormitory 1 km east, a clinic inside, a plant
    fac = facilities(
        {"facility_id": "KTX1", "kind": "worker_housing", "x": 3_000, "y": 6_500, "capacity": 50, "unit": "beds",
         "name": "Ký túc xá <b>Một</b>", "floor_area_m2": 1_200.0},
        {"facility_id": "YT1", "kind": "clinic", "x": 1_500, "y": 6_500},
        {"facility_id": "XL1", "kind": "wastewater_plant", "x": 1_900, "y": 6_100, "capacity": 800, "unit": "m3_day",
         "park_id": "N1", "commissioned_on": "2009-01-01"},
    )  # fmt: skip
    fac["caretaker"] = SECRET
    layers[Layer.FACILITIES] = fac
    path = tmp_path / "a.gpkg"
    write_atlas(path, layers)
    return open_atlas(path)


def test_investor_map_shows_facilities_with_allow_listed_fields_only(atlas):
    assert SECRET in set(atlas.facilities["caretaker"])  # planted: the test can fail
    html = render_html(investor_map(atlas, as_of="2011-12-26"), offline=True)
    assert SECRET not in html
    for holder in atlas.parcels[Col.HOLDER_NAME]:
        assert holder not in html
    fac = layer(page_data(html), "facilities")
    derived = {"park", "kind_label", "status_label", "capacity_text"}
    assert set(fac["props"]) <= set(map(str, INVESTOR_FIELDS[Layer.FACILITIES])) | derived
    assert not set(fac["props"]) & PERSONAL_FIELDS
    assert "<b>Một</b>" not in html  # escaped inside the page data
    assert column(fac, str(Col.FACILITY_ID)) == ["KTX1", "YT1", "XL1"]


def test_services_choropleth_carries_the_numbers_of_housing_coverage(atlas):
    html = render_html(planning_map(atlas, as_of="2011-12-26"), offline=True)
    data = page_data(html)
    services = layer(data, "services")
    expected = housing_coverage(atlas.parks, atlas.projects, atlas.facilities, plots=atlas.plots, as_of="2011-12-26")
    expected = expected[expected["park_id"] != "province"]
    assert column(services, "beds_within_reach") == expected["beds_within_reach"].round(0).tolist()
    n1 = expected.set_index("park_id").loc["N1"]
    assert n1["beds_within_reach"] == 50 and n1["nearest_clinic_m"] == 0
    codes = services["cls"] if isinstance(services["cls"], list) else [services["cls"]] * services["n"]
    assert codes == expected["services_within_reach"].astype(int).tolist()  # class k = k of 4 kinds within reach
    assert column(services, "nearest_clinic")[0] == "0.0 km"
    fac = layer(data, "facilities")
    assert fac["n"] == 3 and "caretaker" not in fac["props"]


def test_investor_export_of_facilities_carries_no_extra_column(atlas, tmp_path):
    import geopandas as gpd

    from kcn_gis.interop.exporters import export_layer

    out = export_layer(atlas, "facilities", "geojson", tmp_path / "f.geojson", audience="investor")
    got = gpd.read_file(out)
    assert [c for c in got.columns if c != "geometry"] == list(map(str, INVESTOR_FIELDS[Layer.FACILITIES]))
    assert SECRET not in out.read_text(encoding="utf-8")
    internal = export_layer(atlas, "facilities", "geojson", tmp_path / "g.geojson", audience="internal")
    assert SECRET in internal.read_text(encoding="utf-8")  # the column is kept internally: the check can fail
    assert pd.notna(got[Col.COMMISSIONED_ON]).sum() == 1


@pytest.mark.parametrize("fmt", ["gpkg", "geojson", "kml", "kmz", "shp", "xlsx", "dxf"])
def test_investor_exports_of_facilities_in_every_format_hold_no_extra_column(atlas, tmp_path, fmt):
    from kcn_gis.interop.exporters import export_layer
    from tests.interop.test_export import FORMATS, all_bytes

    out = export_layer(atlas, "facilities", fmt, tmp_path / f"f{FORMATS[fmt]}", audience="investor")
    data = all_bytes(out)
    assert SECRET.encode() not in data and b"caretaker" not in data
    assert b"KTX1" in data  # the export is not empty: the check above can fail


def test_a_shapefile_export_of_mixed_points_and_polygons_is_refused_clearly(atlas, tmp_path):
    import shapely

    from kcn_gis.errors import KcnGisError
    from kcn_gis.interop.exporters import export_layer

    fac = atlas.facilities.copy()
    fac.loc[0, "geometry"] = shapely.box(*fac.geometry.iloc[0].buffer(50).bounds)
    atlas.write({"facilities": fac})
    with pytest.raises(KcnGisError, match="a Shapefile holds one geometry type.*mixes Point, Polygon"):
        export_layer(atlas, "facilities", "shp", tmp_path / "m.shp", audience="investor")
