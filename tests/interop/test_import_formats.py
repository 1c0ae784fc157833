"""Importing real-world shapes of data: legacy Shapefiles, KML folders, DXF sheets, coordinate tables."""

from __future__ import annotations

import unicodedata
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from kcn_gis.crs import wgs84_transformer
from kcn_gis.errors import InputFileError
from kcn_gis.interop.importers import import_file, load_mapping, normalize_header
from kcn_gis.interop.vntext import encode_tcvn3, encode_vni
from tests.conftest import E0, N0, box
from tests.interop.conftest import cadastral_dxf, write_legacy_shapefile

HOLDERS = ["Nguyễn Văn Đức", "Trần Thị Hường", "Lê Quốc Việt"]
COMMUNE = "Xã Phượng Mao"
PARCELS_MAP = {"defaults": {"park_id": "S1", "map_sheet": "5"}}


def parcel_geoms():
    return [box(5_000 + 100 * i, 1_000, 5_100 + 100 * i, 1_050) for i in range(3)]


@pytest.mark.parametrize(
    ("encode", "cpg"),
    [
        (encode_tcvn3, None),  # no .cpg at all
        (encode_tcvn3, "ISO-8859-1"),
        (encode_vni, "1252"),  # VNI typed in a Windows-1252 font
        (encode_vni, None),
    ],
)
def test_legacy_dbf_text_comes_out_as_nfc(tmp_path, encode, cpg):
    shp = write_legacy_shapefile(
        tmp_path / "thua.shp",
        {
            "SO_THUA": [b"101", b"102", b"103"],
            "XA": [encode(COMMUNE)] * 3,
            "CHU_SD": [encode(h) for h in HOLDERS],
            "LOAI_DAT": [b"LUC", b"ONT", b"BHK"],
        },
        parcel_geoms(),
        cpg=cpg,
    )
    r = import_file(shp, "parcels", mapping=PARCELS_MAP, dry_run=True)
    assert r.ok, r.summary()
    assert r.frame["holder_name"].tolist() == HOLDERS
    assert r.frame["commune"].tolist() == [COMMUNE] * 3
    assert all(unicodedata.is_normalized("NFC", t) for t in r.frame["holder_name"])
    # {park}-{commune code}-{sheet:02}-{parcel:04}: Xã Phượng Mao -> PM, as the bundled atlas numbers parcels
    assert r.frame["parcel_id"].tolist() == ["S1-PM-05-0101", "S1-PM-05-0102", "S1-PM-05-0103"]
    kinds = {c.how for c in r.text_changes}
    assert kinds == {"tcvn3" if encode is encode_tcvn3 else "vni"}
    assert {(c.field, c.row) for c in r.text_changes if c.field == "CHU_SD"} == {("CHU_SD", i) for i in (1, 2, 3)}
    assert "text converted to Unicode NFC" in r.summary()


def test_encoding_option_forces_the_table(tmp_path):
    # one short value is ambiguous on its own; --encoding says what it is
    shp = write_legacy_shapefile(
        tmp_path / "a.shp", {"XA": [encode_tcvn3("Tân Chi")], "SO_THUA": [b"7"]}, parcel_geoms()[:1], cpg=None
    )
    r = import_file(shp, "parcels", mapping=PARCELS_MAP, encoding="tcvn3", dry_run=True)
    assert r.frame["commune"].tolist() == ["Tân Chi"]


def test_utf8_shapefile_with_nfd_text(tmp_path):
    frame = gpd.GeoDataFrame(
        {"So_thua": ["1"], "Xa": [unicodedata.normalize("NFD", COMMUNE)]}, geometry=parcel_geoms()[:1], crs=9209
    )
    shp = tmp_path / "u.shp"
    frame.to_file(shp, encoding="UTF-8")
    r = import_file(shp, "parcels", mapping=PARCELS_MAP, dry_run=True)
    assert r.frame["commune"].tolist() == [COMMUNE]
    assert [c.how for c in r.text_changes] == ["nfc"]


def test_kml_folders_and_extended_data(tmp_path):
    lon, lat = wgs84_transformer("EPSG:9209").transform(
        [E0 + 1_000, E0 + 2_000, E0 + 2_000, E0 + 1_000], [N0 + 6_000, N0 + 6_000, N0 + 7_000, N0 + 7_000]
    )
    ring = " ".join(f"{x:.9f},{y:.9f},0" for x, y in zip([*lon, lon[0]], [*lat, lat[0]], strict=True))
    kml = f"""<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document>
<Folder><name>Đang hoạt động</name><Placemark><name>KCN Bắc Một</name>
<ExtendedData><Data name="Mã KCN"><value>N1</value></Data><Data name="Huyện"><value>Tiên Du</value></Data>
<Data name="Tình trạng"><value>Đang hoạt động</value></Data><Data name="QHCT"><value>có</value></Data></ExtendedData>
<Polygon><outerBoundaryIs><LinearRing><coordinates>{ring}</coordinates></LinearRing></outerBoundaryIs></Polygon>
</Placemark></Folder></Document></kml>"""
    path = tmp_path / "parks.kmz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("doc.kml", kml)
    r = import_file(path, "parks", dry_run=True)
    assert r.ok, r.summary()
    row = r.frame.iloc[0]
    assert (row["park_id"], row["name"], row["district"], row["status"]) == (
        "N1",
        "KCN Bắc Một",
        "Tiên Du",
        "operating",
    )
    assert bool(row["detail_plan_approved"]) is True
    assert row["source_layer"] == "Đang hoạt động"  # the folder
    assert abs(row.geometry.area - 1_000_000) < 1.0  # 100 ha, back in EPSG:9209
    assert any("EPSG:6960" in n for n in r.notes)  # the reprojection is reported


def test_dxf_cadastral_sheet_gives_parcels_with_numbers(tmp_path):
    path = cadastral_dxf(tmp_path / "to5.dxf")
    mapping = {"defaults": {"park_id": "S1", "map_sheet": "5", "commune": COMMUNE}}
    r = import_file(path, "parcels", crs="EPSG:9209", mapping=mapping, dry_run=True)
    assert r.ok, r.summary()
    f = r.frame.sort_values("parcel_no")
    assert f["parcel_no"].tolist() == ["101", "102", "103"]
    assert f["land_type"].tolist() == ["LUC", "ONT", "BHK"]
    assert f["legal_area_m2"].tolist()[:2] == [5000.0, 5000.0]
    assert f["holder_name"].tolist()[2] == "Nguyễn Văn An"  # MTEXT "Chủ sử dụng: ..."
    assert set(f["source_layer"]) == {"THUA"}  # layer names kept
    assert f.geometry.area.round(6).tolist() == [5000.0] * 3
    assert f["parcel_id"].tolist() == ["S1-PM-05-0101", "S1-PM-05-0102", "S1-PM-05-0103"]
    assert any(p.check == "label_outside" for p in r.warnings)  # the road label


def test_dxf_without_crs_is_diagnosed_not_guessed(tmp_path):
    path = cadastral_dxf(tmp_path / "to5.dxf")
    r = import_file(
        path, "parcels", mapping={"defaults": {"park_id": "S1", "map_sheet": "5", "commune": "X"}}, dry_run=True
    )
    err = [p for p in r.errors if p.check == "missing_crs"]
    assert err and "EPSG:9209" in err[0].message and "--crs" in err[0].message


def test_vertex_table_in_vietnamese_convention(tmp_path):
    """X = northing, Y = easting, Vietnamese headers, dd/mm/yyyy dates, decimal commas."""
    rows = []
    for no, (x0, y0) in {"P1": (1_000, 6_000), "P2": (1_400, 6_000)}.items():
        corners = [(x0, y0), (x0 + 400, y0), (x0 + 400, y0 + 1_000), (x0, y0 + 1_000)]
        for k, (e, n) in enumerate(corners, start=1):
            rows.append(
                {
                    "Mã lô": no,
                    "STT": k,
                    "X": f"{N0 + n:.2f}".replace(".", ","),
                    "Y": E0 + e,
                    "Mã KCN": "N1",
                    "Mục đích sử dụng": "Đất công nghiệp",
                    "Ngày thu hồi": "01/06/2005",
                }
            )
    path = tmp_path / "toa_do.csv"
    pd.DataFrame(rows).sample(frac=1.0, random_state=1).to_csv(path, index=False)  # vertex order from STT
    r = import_file(path, "plots", crs="EPSG:9209", dry_run=True)
    assert r.ok, r.summary()
    assert r.frame["plot_id"].tolist() == ["P1", "P2"] or sorted(r.frame["plot_id"]) == ["P1", "P2"]
    areas = dict(zip(r.frame["plot_id"], r.frame.geometry.area / 10_000, strict=True))
    assert areas == {"P1": 40.0, "P2": 40.0}
    assert r.frame["acquired_on"].tolist() == [pd.Timestamp("2005-06-01")] * 2  # day first
    assert set(r.frame["land_use"]) == {"industrial"}
    assert any("X = northing" in n for n in r.notes)


def test_vertex_table_with_gis_convention_is_caught(tmp_path):
    """The same table with X = easting read in the Vietnamese convention: the CRS check names the swap."""
    rows = [
        {"Mã lô": "P1", "X": E0 + e, "Y": N0 + n, "Mã KCN": "N1", "Mục đích sử dụng": "CN"}
        for e, n in [(0, 0), (100, 0), (100, 100), (0, 100)]
    ]
    path = tmp_path / "t.xlsx"
    pd.DataFrame(rows).to_excel(path, index=False)
    r = import_file(path, "plots", crs="EPSG:9209", dry_run=True)
    assert [p.check for p in r.errors] == ["crs_mismatch"]
    assert "swapped" in r.errors[0].message and "--swap-xy" in r.errors[0].message
    fixed = import_file(path, "plots", assume_crs="EPSG:9209", swap_xy=True, dry_run=True)
    assert fixed.ok and abs(fixed.frame.geometry.area.iloc[0] - 10_000) < 1e-6
    assert any("REPAIR" in n for n in fixed.notes)
    assert import_file(path, "plots", crs="EPSG:9209", xy="gis", dry_run=True).ok


def test_wkt_table_and_mapping_file(tmp_path):
    (tmp_path / "map.yaml").write_text(
        "columns:\n  KH: plot_id\n  CN: land_use\nvalues:\n  land_use:\n    A: industrial\n"
        "defaults:\n  park_id: N1\ncrs: EPSG:9209\n",
        encoding="utf-8",
    )
    pd.DataFrame({"KH": ["X1"], "CN": ["A"], "WKT": [box(0, 0, 100, 100).wkt]}).to_csv(tmp_path / "w.csv", index=False)
    r = import_file(tmp_path / "w.csv", "plots", mapping=tmp_path / "map.yaml", dry_run=True)
    assert r.ok, r.summary()
    assert (r.frame["plot_id"].iloc[0], r.frame["land_use"].iloc[0]) == ("X1", "industrial")
    with pytest.raises(InputFileError, match="unknown section"):
        load_mapping({"colums": {}})


def test_every_row_problem_has_its_place(tmp_path):
    frame = pd.DataFrame(
        {
            "Mã lô": ["A", "B", "C", "C"],
            "Mã KCN": ["N1", None, "N1", "N1"],
            "Mục đích": ["CN", "CN", "bãi đỗ", "CN"],
            "Ngày thu hồi": ["01/01/2005", "31/02/2005", None, None],
            "wkt": [box(0, 0, 10, 10).wkt, box(10, 0, 20, 10).wkt, box(20, 0, 30, 10).wkt, "POLYGON ((0 0, 1 1"],
        }
    )
    path = tmp_path / "lo.xlsx"
    frame.to_excel(path, index=False)
    r = import_file(path, "plots", crs="EPSG:9209", dry_run=True)
    got = {(p.check, p.row, p.field) for p in r.errors}
    # spreadsheet rows: header is row 1, data start at row 2
    assert ("bad_wkt", 5, "wkt") in got
    assert ("null_value", 3, "park_id") in got
    assert ("unknown_value", 4, "land_use") in got
    assert ("bad_date", 3, "acquired_on") in got
    assert all(p.file == str(path) for p in r.errors)
    with pytest.raises(InputFileError, match=r"lo\.xlsx layer 'plots' row 4 field 'land_use'"):
        import_file(path, "plots", crs="EPSG:9209", atlas=tmp_path / "new.gpkg")
    assert not (tmp_path / "new.gpkg").exists()


def test_prj_contradicting_crs_option(tmp_path, tiny_layers):
    path = tmp_path / "p.gpkg"
    tiny_layers["parks"].to_file(path, layer="parks")
    r = import_file(path, "parks", crs="EPSG:3405", dry_run=True)
    assert [p.check for p in r.errors] == ["crs_conflict"]
    assert "--assume-crs EPSG:3405" in r.errors[0].message


def test_known_mistake_found_against_the_atlas_and_repaired(tiny_atlas_path, tmp_path, tiny_layers):
    """Parks re-delivered with no datum shift: 224 m off the atlas's parks with the same ids."""
    from pyproj import Transformer

    from kcn_gis.interop.crsdetect import MISTAKES

    parks = tiny_layers["parks"]
    to_lonlat = wgs84_transformer("EPSG:9209")
    bad = Transformer.from_crs("EPSG:4326", MISTAKES["vn2000-no-datum-shift"][2], always_xy=True)

    def shift(coords):
        lon, lat = to_lonlat.transform(coords[:, 0], coords[:, 1])
        return np.column_stack(bad.transform(lon, lat))

    moved = parks.copy()
    moved.geometry = shapely.transform(parks.geometry.to_numpy(), shift)
    path = tmp_path / "parks.gpkg"
    moved.to_file(path, layer="parks")
    r = import_file(path, "parks", atlas=tiny_atlas_path, mode="replace", dry_run=True)
    assert [p.check for p in r.errors] == ["crs_mismatch"]
    assert r.diagnosis.kind == "no_datum_shift" and 200 < r.diagnosis.offset_m < 250
    assert "--assume-crs vn2000-no-datum-shift" in r.errors[0].message
    fixed = import_file(
        path, "parks", atlas=tiny_atlas_path, mode="replace", assume_crs="vn2000-no-datum-shift", dry_run=True
    )
    assert fixed.ok
    assert (
        max(shapely.hausdorff_distance(a, b) for a, b in zip(fixed.frame.geometry, parks.geometry, strict=True)) < 0.01
    )


def test_headers_normalise():
    assert normalize_header("Số thửa") == normalize_header("SO_THUA") == "sothua"
    assert normalize_header("Tờ bản đồ số") == "tobandoso"


def test_future_dates_on_plots_are_refused_with_their_row(tmp_path):
    """A lease recorded for 2030 is refused like a future clearance event: row, field, nothing written."""
    import datetime as dt

    future = dt.date.today() + dt.timedelta(days=400)
    plots = gpd.GeoDataFrame(
        {
            "plot_id": ["P1", "P2"],
            "park_id": ["N1", "N1"],
            "land_use": ["industrial", "industrial"],
            "acquired_on": [pd.Timestamp("2005-06-01"), pd.Timestamp("2005-06-01")],
            "leased_on": [pd.Timestamp("2008-01-01"), pd.Timestamp(future)],
        },
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs="EPSG:9209",
    )
    path = tmp_path / "plots.gpkg"
    plots.to_file(path, layer="plots")
    r = import_file(path, "plots", crs="EPSG:9209", dry_run=True)
    assert not r.written and [(p.check, p.row, p.field) for p in r.errors] == [("future_date", 2, "leased_on")]
    assert f"{future:%d/%m/%Y} is in the future" in r.errors[0].message
    with pytest.raises(InputFileError, match="row 2 field 'leased_on'"):
        import_file(path, "plots", crs="EPSG:9209", atlas=tmp_path / "a.gpkg")
    assert not (tmp_path / "a.gpkg").exists()
    plots.loc[1, "leased_on"] = pd.Timestamp("2009-01-01")
    plots.to_file(path, layer="plots")
    assert import_file(path, "plots", crs="EPSG:9209", dry_run=True).ok
