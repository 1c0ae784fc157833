"""Cadastral files as they come: a Shapefile without park column or .cpg, a DXF with block attributes,
a workbook of coordinate sheets. Each is built in code and imported through ``kcn-gis import``."""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest

from kcn_gis import open_atlas
from kcn_gis.cli import main
from tests.conftest import atlas_snapshot
from tests.intake.conftest import CRS, box

# a cadastral export: map sheet 90 exists in both communes (map sheets are numbered per commune)
SHP_ROWS = [
    # SoTo, SoThua, MDSD, DTPL, TenChu, DiaChi, TenXa, box
    (90, 1, "LUC", 3000.0, "Nguyễn Văn Ấn", "thôn Đông", "Xã Mão Điền", (0, 0, 60, 50)),
    (90, 2, "ONT", 3500.0, "Trần Thị Bình", "thôn Đông", "Xã Mão Điền", (60, 0, 130, 50)),
    (90, 1, "LUC", 10000.0, "Hoàng Văn Em", "thôn Nam", "Xã An Bình", (0, 500, 100, 600)),
    (90, 2, "BHK", 12000.0, "Vũ Thị Gấm", "thôn Nam", "Xã An Bình", (2000, 0, 2120, 100)),  # in park P2
]


def cadastral_shapefile(path, rows=SHP_ROWS):
    """A UTF-8 DBF without a .cpg, with the headers of a cadastral software export."""
    frame = gpd.GeoDataFrame(
        {
            "SoTo": [r[0] for r in rows],
            "SoThua": [r[1] for r in rows],
            "MDSD": [r[2] for r in rows],
            "DTPL": [r[3] for r in rows],
            "TenChu": [r[4] for r in rows],
            "DiaChi": [r[5] for r in rows],
            "TenXa": [r[6] for r in rows],
        },
        geometry=[box(*r[7]) for r in rows],
        crs=CRS,
    )
    pyogrio.write_dataframe(frame, path, driver="ESRI Shapefile", encoding="UTF-8")
    path.with_suffix(".cpg").unlink(missing_ok=True)
    assert not path.with_suffix(".cpg").exists()
    return path


def test_utf8_dbf_without_cpg_and_parks_by_location(parks_atlas_path, tmp_path, capsys):
    shp = cadastral_shapefile(tmp_path / "thua_dat.shp")
    rc = main(["import", str(shp), "--layer", "parcels", "--atlas", str(parks_atlas_path)])
    err = capsys.readouterr().err
    assert rc == 0, err
    got = open_atlas(parks_atlas_path).parcels.set_index("parcel_id")
    # UTF-8 bytes are UTF-8, not "converted from TCVN3"
    assert got["holder_name"].tolist() == [r[4] for r in SHP_ROWS]
    assert "Nguyễn Văn Ấn" in set(got["holder_name"]) and "TCVN3" not in err
    # park by location; ids with the commune code, so sheet 90 of the two communes do not collide
    assert sorted(got.index) == ["P1-AB-90-0001", "P1-MD-90-0001", "P1-MD-90-0002", "P2-AB-90-0002"]
    assert got.loc["P2-AB-90-0002", "park_id"] == "P2" and got.loc["P1-MD-90-0002", "park_id"] == "P1"
    assert got["commune"].tolist() == [r[6] for r in SHP_ROWS]
    assert got["land_type"].tolist() == [r[2] for r in SHP_ROWS]
    assert got["legal_area_m2"].tolist() == [r[3] for r in SHP_ROWS]
    assert got.geometry.area.round(6).tolist() == [(r[7][2] - r[7][0]) * (r[7][3] - r[7][1]) for r in SHP_ROWS]
    assert "assigned by location" in err and "Địa chỉ" in err


def test_straddling_and_outside_parcels_are_located_errors(parks_atlas_path, tmp_path, capsys):
    rows = [
        *SHP_ROWS[:1],
        (90, 7, "LUC", 1.0, "Người Ở Giữa", "", "Xã Mão Điền", (900, 0, 2100, 50)),  # P1 | gap | P2
        (90, 8, "LUC", 1.0, "Người Ở Ngoài", "", "Xã Mão Điền", (5000, 5000, 5100, 5100)),  # no park
        (90, 9, "LUC", 1.0, "Người Ở Rìa", "", "Xã Mão Điền", (950, 100, 1050, 200)),  # half out of P1: a warning
    ]
    shp = cadastral_shapefile(tmp_path / "sai.shp", rows)
    before = atlas_snapshot(parks_atlas_path)
    table = tmp_path / "problems.csv"
    args = ["import", str(shp), "--layer", "parcels", "--atlas", str(parks_atlas_path), "--problems", str(table)]
    assert main(args) == 1
    err = capsys.readouterr().err
    # 1200 m long: 100 m in P1 and 100 m in P2, the rest between them
    assert "straddles parks (P1 8%, P2 8%)" in err and "lies in no park" in err
    import pandas as pd

    probs = pd.read_csv(table)
    located = probs[probs["check"] == "park_by_location"]
    assert located["row"].tolist() == [2, 3] and set(located["file"]) == {str(shp)}
    edge = probs[probs["check"] == "park_partly_outside"]
    assert edge["row"].tolist() == [4] and "50% of its area lies outside" in edge["message"].iloc[0]
    assert atlas_snapshot(parks_atlas_path) == before
    # --park says it for every parcel (the straddler is then P1's, as the user said)
    rc = main(["import", str(shp), "--layer", "parcels", "--atlas", str(parks_atlas_path), "--park", "P1"])
    assert rc == 0
    assert set(open_atlas(parks_atlas_path).parcels["park_id"]) == {"P1"}


def test_set_constants_without_a_mapping_file(parks_atlas_path, tmp_path, capsys):
    frame = gpd.GeoDataFrame({"SHThua": [5, 6]}, geometry=[box(2000, 0, 2050, 50), box(2050, 0, 2100, 50)], crs=CRS)
    pyogrio.write_dataframe(frame, tmp_path / "to12.shp", driver="ESRI Shapefile")
    args = ["import", str(tmp_path / "to12.shp"), "--layer", "parcels", "--atlas", str(parks_atlas_path)]
    rc = main([*args, "--park", "P2", "--set", "commune=Xã Nam Sơn", "--set", "map_sheet=12"])
    assert rc == 0, capsys.readouterr().err
    got = open_atlas(parks_atlas_path).parcels
    assert got["parcel_id"].tolist() == ["P2-NS-12-0005", "P2-NS-12-0006"]
    assert set(got["commune"]) == {"Xã Nam Sơn"} and set(got["map_sheet"]) == {"12"}
    assert main([*args, "--park", "P9"]) == 2
    assert "no such park" in capsys.readouterr().err
    assert main([*args, "--set", "xa=1"]) == 2
    assert "'xa' is not a column of layer 'parcels'" in capsys.readouterr().err


def attrib_dxf(path):
    """Three parcels whose numbers, land types, areas and holders are block attributes (ATTRIB)."""
    import ezdxf

    from tests.intake.conftest import E0, N0

    doc = ezdxf.new("R2010")
    blk = doc.blocks.new(name="THUA_INFO")
    for k, tag in enumerate(("SOTHUA", "LOAIDAT", "DIENTICH", "CHUSUDUNG")):
        blk.add_attdef(tag, (0, -3 * k), dxfattribs={"height": 2.0})
    msp = doc.modelspace()
    parcels = [("11", "LUC", "5000", "Nguyễn Văn Ấn"), ("12", "ONT", "4000", "Lê Thị Ơn"), ("13", "BHK", "3000", "")]
    for i, values in enumerate(parcels):
        x0, y0 = E0 + 100 * i, N0 + 200
        msp.add_lwpolyline([(x0, y0), (x0 + 100, y0), (x0 + 100, y0 + 50), (x0, y0 + 50)], close=True)
        ins = msp.add_blockref("THUA_INFO", (x0 + 20, y0 + 30))
        ins.add_auto_attribs(dict(zip(("SOTHUA", "LOAIDAT", "DIENTICH", "CHUSUDUNG"), values, strict=True)))
    doc.saveas(path)
    return path, parcels


def test_dxf_block_attributes_are_labels(parks_atlas_path, tmp_path, capsys):
    path, parcels = attrib_dxf(tmp_path / "ban_do.dxf")
    args = ["import", str(path), "--layer", "parcels", "--atlas", str(parks_atlas_path), "--crs", "EPSG:9209"]
    rc = main([*args, "--set", "commune=Xã Mão Điền", "--set", "map_sheet=91"])
    err = capsys.readouterr().err
    assert rc == 0, err
    placed = sum(1 for p in parcels for v in p if v)  # empty attributes are not labels
    assert f"{placed} label(s) placed ({placed} of them block attributes, INSERT/ATTRIB)" in err
    got = open_atlas(parks_atlas_path).parcels.sort_values("parcel_no")
    assert got["parcel_no"].tolist() == [p[0] for p in parcels]
    assert got["land_type"].tolist() == [p[1] for p in parcels]
    assert got["legal_area_m2"].tolist() == [float(p[2]) for p in parcels]
    assert got["holder_name"].tolist()[:2] == [p[3] for p in parcels[:2]]
    assert got["parcel_id"].tolist() == ["P1-MD-91-0011", "P1-MD-91-0012", "P1-MD-91-0013"]


@pytest.mark.parametrize("source_layer", [None, "Tờ 91"])
def test_workbook_of_coordinate_sheets(parks_atlas_path, tmp_path, capsys, source_layer):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    expected = {}
    for s, (sheet, y0) in enumerate((("Tờ 90", 0), ("Tờ 91", 300))):
        ws = wb.create_sheet(sheet)
        ws.append([f"BẢNG TỌA ĐỘ RANH GIỚI THỬA ĐẤT - TỜ {90 + s}"])
        ws.append(["Hệ tọa độ VN-2000, kinh tuyến trục 105°30', múi chiếu 3°"])
        ws.append(["Số hiệu thửa", "STT", "X (m)", "Y (m)", "Số tờ", "Xã"])
        for n in (1, 2):
            x0 = 100 * n
            w = 40 + 10 * n
            corners = [(x0, y0), (x0 + w, y0), (x0 + w, y0 + 50), (x0, y0 + 50)]
            for k, (e, nn) in enumerate(corners, start=1):
                ws.append([n, k, 2_330_000 + nn, 540_000 + e, 90 + s, "Xã An Bình"])  # X = northing
            expected[(str(90 + s), str(n))] = w * 50.0
    wb.save(tmp_path / "toa_do.xlsx")
    args = ["import", str(tmp_path / "toa_do.xlsx"), "--layer", "parcels", "--atlas", str(parks_atlas_path)]
    args += ["--crs", "EPSG:9209", "--park", "P1"]
    if source_layer:
        args += ["--source-layer", source_layer]
    rc = main(args)
    err = capsys.readouterr().err
    assert rc == 0, err
    got = open_atlas(parks_atlas_path).parcels
    area = {(r.map_sheet, r.parcel_no): round(r.geometry.area, 6) for r in got.itertuples()}
    if source_layer is None:
        assert "read 2 sheets: Tờ 90, Tờ 91" in err and "--source-layer" in err
        assert area == expected
    else:
        assert area == {k: v for k, v in expected.items() if k[0] == "91"}


def test_errors_in_a_workbook_of_sheets_name_the_sheet(parks_atlas_path, tmp_path, capsys):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, y0, area in (("Tờ 90", 0, "2500"), ("Tờ 91", 300, "hai nghìn")):  # a word where a number goes
        ws = wb.create_sheet(sheet)
        ws.append(["BẢNG TỌA ĐỘ"])
        ws.append(["Số hiệu thửa", "STT", "X", "Y", "Số tờ", "Xã", "Diện tích"])
        for k, (e, n) in enumerate([(0, y0), (50, y0), (50, y0 + 50), (0, y0 + 50)], start=1):
            ws.append([1, k, 2_330_000 + n, 540_000 + 100 + e, sheet[-2:], "Xã An Bình", area])
    wb.save(tmp_path / "toa_do.xlsx")
    before = atlas_snapshot(parks_atlas_path)
    args = ["import", str(tmp_path / "toa_do.xlsx"), "--layer", "parcels", "--atlas", str(parks_atlas_path)]
    assert main([*args, "--crs", "EPSG:9209", "--park", "P1", "--problems", str(tmp_path / "p.csv")]) == 1
    import pandas as pd

    probs = pd.read_csv(tmp_path / "p.csv")
    bad = probs[probs["check"] == "bad_number"]
    # the parcel's first vertex row: title row 1, header row 2, data from row 3
    assert bad[["sheet", "row", "field"]].values.tolist() == [["Tờ 91", 3, "legal_area_m2"]]
    assert "Tờ 91" in capsys.readouterr().err
    assert atlas_snapshot(parks_atlas_path) == before
    from kcn_gis.interop.importers import import_file

    r = import_file(tmp_path / "toa_do.xlsx", "parcels", crs="EPSG:9209", park="P1", dry_run=True)
    assert [str(p).split(": ")[0] for p in r.errors] == [
        f"{tmp_path / 'toa_do.xlsx'}, sheet 'Tờ 91', layer 'parcels', row 3, field 'legal_area_m2'"
    ]
