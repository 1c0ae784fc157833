"""``kcn-gis import --layer facilities``: points and polygons through the existing import side."""

from __future__ import annotations

import geopandas as gpd
import shapely

from kcn_gis import open_atlas
from kcn_gis.cli import main
from kcn_gis.schema import Col
from tests.conftest import E0, N0, atlas_snapshot


def _file(tmp_path, rows, name="cong_trinh.geojson"):
    frame = gpd.GeoDataFrame(
        {
            "Mã công trình": [r[0] for r in rows],
            "Loại công trình": [r[1] for r in rows],
            "Tên công trình": [r[2] for r in rows],
            "Công suất, quy mô": [r[3] for r in rows],
            "Đơn vị công suất": [r[4] for r in rows],
            "status": [r[5] for r in rows],
            "Ngày đưa vào sử dụng": [r[6] for r in rows],
        },
        geometry=[r[7] for r in rows],
        crs="EPSG:9209",
    )
    path = tmp_path / name
    frame.to_file(path, driver="GeoJSON")
    return path


ROWS = [
    ("KTX1", "Nhà ở cho người lao động", "Ký túc xá Một", 1_000.0, "beds", "operating", "2010-05-01",
     shapely.Point(E0 + 3_000, N0 + 6_500)),
    ("XL1", "wastewater_plant", "Trạm xử lý nước thải", 2_000.0, "m³/ngày đêm", "building", None,
     shapely.box(E0 + 1_900, N0 + 6_100, E0 + 1_950, N0 + 6_150)),
]  # fmt: skip


def test_points_and_polygons_with_vietnamese_headers_and_labels(tiny_atlas_path, tmp_path):
    src = _file(tmp_path, ROWS)
    assert main(["import", str(src), "--layer", "facilities", "--atlas", str(tiny_atlas_path)]) == 0
    fac = open_atlas(tiny_atlas_path).facilities.set_index(Col.FACILITY_ID)
    assert fac.loc["KTX1", Col.KIND] == "worker_housing"  # from its Vietnamese label
    assert fac.loc["XL1", Col.CAPACITY_UNIT] == "m3_day"
    assert fac.loc["KTX1", "geometry"].geom_type == "Point"
    assert fac.loc["XL1", "geometry"].area == 50 * 50
    assert str(fac.loc["KTX1", Col.COMMISSIONED_ON].date()) == "2010-05-01"


def test_a_bad_kind_writes_nothing_and_names_the_row(tiny_atlas_path, tmp_path, capsys):
    rows = [ROWS[0], ("BV1", "bệnh viện", "Bệnh viện", 100.0, "beds", "operating", None, shapely.Point(E0, N0))]
    src = _file(tmp_path, rows, "bad.geojson")
    before = atlas_snapshot(tiny_atlas_path)
    assert main(["import", str(src), "--layer", "facilities", "--atlas", str(tiny_atlas_path)]) != 0
    err = capsys.readouterr()
    text = err.out + err.err
    assert "'bệnh viện' is not a known kind (Loại công trình)" in text and "nothing was written" in text
    assert atlas_snapshot(tiny_atlas_path) == before
