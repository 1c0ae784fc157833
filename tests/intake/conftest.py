"""Fixtures of the intake tests: files shaped like the ones that reach the Bắc Ninh Board, built in code.

Coordinates are EPSG:9209 metres relative to (E 540 000, N 2 330 000).

The atlas ``intake_atlas`` has two parks, P1 = 0-1000 x 0-1000 m (100 ha) and
P2 = 2000-3000 x 0-1000 m, and the parcels of :data:`PARCELS`: in P1, map
sheet 90 of Xã Mão Điền and map sheet 90 of Xã An Bình (map sheets are
numbered per commune), and in P2 a parcel with the same commune, sheet and
number as one of P1's, so only ``--park`` tells them apart. Each parcel is a
box whose area the tests compute from its corners.

:func:`council_workbook` writes a district compensation council's progress
workbook, as kept: title rows, a merged two-row header with "Tiến độ thực
hiện" over one date column per stage, a numbering row, one sheet per commune
(names without "Xã", one without diacritics), subtotal, total, note and
signature rows, plus a summary sheet that is not a progress sheet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.schema import Col, Layer

CRS = "EPSG:9209"
E0, N0 = 540_000.0, 2_330_000.0

STAGE_HEADERS = ("Thông báo thu hồi", "Kiểm đếm", "Phê duyệt PA", "Chi trả", "Bàn giao")
STAGE_VALUES = ("notified", "inventoried", "plan_approved", "compensated", "handed_over")


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(E0 + x0, N0 + y0, E0 + x1, N0 + y1)


# parcel id, park, commune, map sheet, parcel no, holder, (x0, y0, x1, y1)
PARCELS = [
    ("P1-MD-90-0001", "P1", "Xã Mão Điền", "90", "1", "Nguyễn Văn Ấn", (0, 0, 60, 50)),
    ("P1-MD-90-0002", "P1", "Xã Mão Điền", "90", "2", "Trần Thị Bình", (60, 0, 130, 50)),
    ("P1-MD-90-0003", "P1", "Xã Mão Điền", "90", "3", "Lê Văn Cường", (130, 0, 210, 50)),
    ("P1-MD-90-0004", "P1", "Xã Mão Điền", "90", "4", "Phạm Thị Dung", (210, 0, 300, 50)),
    ("P1-AB-90-0001", "P1", "Xã An Bình", "90", "1", "Hoàng Văn Em", (0, 500, 100, 600)),
    ("P1-AB-90-0002", "P1", "Xã An Bình", "90", "2", "Vũ Thị Gấm", (100, 500, 220, 600)),
    ("P1-AB-90-0003", "P1", "Xã An Bình", "90", "3", "Đỗ Văn Hùng", (220, 500, 360, 600)),
    ("P2-MD-90-0001", "P2", "Xã Mão Điền", "90", "1", "Ngô Văn Khải", (2000, 0, 2100, 100)),
]

# what the council recorded: parcel id -> date per stage (None = not reached); dates as Excel dates or text
PROGRESS: dict[str, tuple[object, ...]] = {
    "P1-MD-90-0001": (dt.datetime(2011, 3, 1), dt.datetime(2011, 4, 2), "15/06/2011", "20/07/2011", "01/09/2011"),
    "P1-MD-90-0002": (dt.datetime(2011, 3, 1), dt.datetime(2011, 4, 2), "15/06/2011", None, None),
    "P1-MD-90-0003": (dt.datetime(2011, 3, 1), None, None, None, None),
    "P1-MD-90-0004": (None, None, None, None, None),
    "P1-AB-90-0001": ("05/03/2011", "10/04/2011", dt.datetime(2011, 6, 20), "25/07/2011", dt.datetime(2011, 9, 5)),
    "P1-AB-90-0002": ("05/03/2011", "10/04/2011", dt.datetime(2011, 6, 20), "25/07/2011", "10/10/2011"),
    "P1-AB-90-0003": ("05/03/2011", "10/04/2011", None, None, None),
}
#: sheet name per commune, as councils name them (without "Xã"; one without diacritics)
SHEET_NAMES = {"Xã Mão Điền": "Mão Điền", "Xã An Bình": "An Binh"}


def parcel_area_ha(parcel_id: str) -> float:
    x0, y0, x1, y1 = next(p[6] for p in PARCELS if p[0] == parcel_id)
    return (x1 - x0) * (y1 - y0) / 10_000.0


def make_intake_layers() -> dict[str, pd.DataFrame]:
    from tests.conftest import make_layers

    layers = make_layers()
    layers[Layer.PARKS] = gpd.GeoDataFrame(
        {
            Col.PARK_ID: ["P1", "P2"],
            Col.NAME: ["KCN Thử Một", "KCN Thử Hai"],
            Col.NAME_EN: ["Test One IP", "Test Two IP"],
            Col.DISTRICT: ["Thuận Thành", "Thuận Thành"],
            Col.STATUS: ["construction", "preparing"],
            Col.LISTED_AREA_HA: [100.0, 100.0],
            Col.DETAIL_PLAN_APPROVED: [True, False],
            Col.DEVELOPER: ["Công ty Thử", None],
        },
        geometry=[box(0, 0, 1000, 1000), box(2000, 0, 3000, 1000)],
        crs=CRS,
    )
    layers[Layer.PLOTS] = layers[Layer.PLOTS].iloc[0:0]
    layers[Layer.PARCELS] = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: [p[0] for p in PARCELS],
            Col.PARK_ID: [p[1] for p in PARCELS],
            Col.COMMUNE: [p[2] for p in PARCELS],
            Col.MAP_SHEET: [p[3] for p in PARCELS],
            Col.PARCEL_NO: [p[4] for p in PARCELS],
            Col.LAND_TYPE: ["LUC"] * len(PARCELS),
            Col.HOLDER_TYPE: ["household"] * len(PARCELS),
            Col.HOLDER_NAME: [p[5] for p in PARCELS],
            Col.LEGAL_AREA_M2: [parcel_area_ha(p[0]) * 10_000 for p in PARCELS],
        },
        geometry=[box(*p[6]) for p in PARCELS],
        crs=CRS,
    )
    layers[Layer.CLEARANCE_EVENTS] = layers[Layer.CLEARANCE_EVENTS].iloc[0:0]
    return layers


@pytest.fixture
def intake_atlas_path(tmp_path) -> Path:
    """A fresh GeoPackage atlas with the parks and parcels above and no clearance events."""
    from kcn_gis.store import write_atlas

    path = tmp_path / "intake.gpkg"
    write_atlas(path, make_intake_layers())
    return path


def council_workbook(path: Path, progress: dict[str, tuple[object, ...]] = PROGRESS) -> Path:
    """Write the council's progress workbook for park P1 (see the module docstring) and return its path."""
    import openpyxl
    from openpyxl.styles import Alignment, Border, Font, Side

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    thin = Side(style="thin")
    for commune, sheet_name in SHEET_NAMES.items():
        ws = wb.create_sheet(sheet_name)
        ws["A1"] = "BẢNG TỔNG HỢP TIẾN ĐỘ GPMB KCN THỬ MỘT"
        ws.merge_cells("A1:K1")
        ws["A2"] = f"{commune} - tính đến ngày 20/12/2011"
        ws.merge_cells("A2:K2")
        for col, text in zip(
            "ABCDE", ("STT", "Số tờ", "Số thửa", "Họ tên chủ sử dụng", "Diện tích thu hồi (m²)"), strict=True
        ):
            ws[f"{col}4"] = text
            ws.merge_cells(f"{col}4:{col}5")
        ws["F4"] = "Tiến độ thực hiện"
        ws.merge_cells("F4:J4")
        for col, text in zip("FGHIJ", STAGE_HEADERS, strict=True):
            ws[f"{col}5"] = text
        ws["K4"] = "Ghi chú"
        ws.merge_cells("K4:K5")
        ws.append([f"({i})" for i in range(1, 12)])  # row 6: the numbering row
        mine = [p for p in PARCELS if p[2] == commune and p[1] == "P1"]
        for k, p in enumerate(mine, start=1):
            dates = progress[p[0]]
            ws.append([k, int(p[3]), int(p[4]), p[5], parcel_area_ha(p[0]) * 10_000, *dates, None])
            for c in range(6, 11):
                cell = ws.cell(row=ws.max_row, column=c)
                if isinstance(cell.value, dt.datetime):
                    cell.number_format = "DD/MM/YYYY"
        r = ws.max_row + 1
        ws.cell(row=r, column=1, value=f"Cộng {commune.lower()}")
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=4)
        ws.cell(row=r, column=5, value=sum(parcel_area_ha(p[0]) * 10_000 for p in mine))
        for c in range(6, 11):  # a subtotal counts the parcels that reached each stage
            ws.cell(row=r, column=c, value=sum(1 for p in mine if progress[p[0]][c - 6] is not None))
        ws.append(["Tổng cộng", None, None, None, sum(parcel_area_ha(p[0]) * 10_000 for p in mine)])
        ws.append([None, None, f"{len(mine)} thửa"])
        ws.append([])
        ws.append([None, "Người lập biểu", None, None, None, None, None, "TM. HỘI ĐỒNG BỒI THƯỜNG"])
        ws.append([None, "(Ký, ghi rõ họ tên)", None, None, None, None, None, "CHỦ TỊCH"])
        for row in ws.iter_rows(min_row=4, max_row=5):
            for cell in row:
                cell.font = Font(bold=True)
                cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
                cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
        ws["A1"].font = Font(bold=True, size=13)
    summary = wb.create_sheet("Tổng hợp")
    summary.append(["TỔNG HỢP THEO XÃ"])
    summary.append(["STT", "Xã", "Số thửa", "Diện tích", "Bàn giao"])
    summary.append([1, "Mão Điền", 4, 15000, 1])
    summary.append([2, "An Bình", 3, 36000, 2])
    wb.save(path)
    return path


@pytest.fixture
def parks_atlas_path(tmp_path) -> Path:
    """A fresh GeoPackage atlas with parks P1 and P2 and no parcels or events yet."""
    from kcn_gis.store import write_atlas

    layers = make_intake_layers()
    layers[Layer.PARCELS] = layers[Layer.PARCELS].iloc[0:0]
    path = tmp_path / "parks.gpkg"
    write_atlas(path, layers)
    return path
