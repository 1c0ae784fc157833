"""The one table reader (kcn_gis.interop.importers.tables): header blocks, merged headers, dates, text, problems."""

from __future__ import annotations

import datetime as dt

import pytest

from kcn_gis import open_atlas
from kcn_gis.cli import main
from kcn_gis.errors import Problem
from kcn_gis.interop.importers.tables import parse_date, problems_table, read_raw_sheets, table_block
from kcn_gis.interop.vntext import encode_tcvn3
from tests.intake.conftest import PROGRESS, STAGE_HEADERS, STAGE_VALUES, council_workbook


def known(key: str) -> bool:
    return key in {"stt", "soto", "sothua", "ghichu", "tiendothuchien", "kiemdem", "bangiao"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("01/06/2005", dt.date(2005, 6, 1)),  # day first
        ("1/6/2005", dt.date(2005, 6, 1)),
        ("01-06-2005", dt.date(2005, 6, 1)),
        ("01.06.2005", dt.date(2005, 6, 1)),
        ("2005-06-01", dt.date(2005, 6, 1)),
        (dt.datetime(2005, 6, 1, 0, 0), dt.date(2005, 6, 1)),  # an Excel date
        ("  01/06/2005 ", dt.date(2005, 6, 1)),
    ],
)
def test_dates_are_read_day_first(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["31/02/2011", "13/13/2011", "xong", 40000, 40000.0])
def test_non_dates_say_why(value):
    msg = parse_date(value)
    assert isinstance(msg, str) and (("not a date" in msg) or ("is a number" in msg))


def test_header_block_below_title_rows_with_merged_cells(tmp_path):
    book = council_workbook(tmp_path / "w.xlsx")
    raws = read_raw_sheets(book)
    assert [r.name for r in raws] == ["Mão Điền", "An Binh", "Tổng hợp"]
    block = table_block(raws[0], known)
    assert block is not None
    assert block.header_rows == (4, 5) and block.numbering_row == 6
    assert block.headers[:3] == ["STT", "Số tờ", "Số thửa"]  # merged down over rows 4-5
    assert block.headers[5:10] == list(STAGE_HEADERS)
    assert set(block.parents[5:10]) == {"Tiến độ thực hiện"}  # merged across F4:J4
    assert block.label(8) == "I 'Chi trả'"
    assert block.rows[0] == 7 and block.data[0][2] == 1


def test_csv_of_the_wide_layout_imports_like_the_workbook(intake_atlas_path, tmp_path, capsys):
    """The same sheet saved as CSV by Excel: merged cells are gone, the group title sits in its first column."""
    import csv

    from tests.intake.conftest import PARCELS, parcel_area_ha

    path = tmp_path / "mao_dien.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["BẢNG TỔNG HỢP TIẾN ĐỘ GPMB KCN THỬ MỘT"])
        w.writerow(["STT", "Số tờ", "Số thửa", "Họ tên chủ sử dụng", "Diện tích thu hồi (m²)", "Tiến độ thực hiện"])
        w.writerow(["", "", "", "", "", *STAGE_HEADERS])
        mine = [p for p in PARCELS if p[2] == "Xã Mão Điền" and p[1] == "P1"]
        for k, p in enumerate(mine, start=1):
            dates = [d.strftime("%d/%m/%Y") if isinstance(d, dt.datetime) else (d or "") for d in PROGRESS[p[0]]]
            w.writerow([k, p[3], p[4], p[5], parcel_area_ha(p[0]) * 10_000, *dates])
        w.writerow(["Cộng", "", "", "", 15000, 3, 2, 2, 1, 1])
    args = ["clearance", "import", str(path), "--atlas", str(intake_atlas_path), "--park", "P1"]
    rc = main([*args, "--recorded-by", "x", "--map", str(_commune_map(tmp_path))])
    out = capsys.readouterr()
    assert rc == 0, out.err
    events = open_atlas(intake_atlas_path).clearance_events
    expected = {(p[0], STAGE_VALUES[k]) for p in mine for k, d in enumerate(PROGRESS[p[0]]) if d is not None}
    assert set(zip(events["parcel_id"], events["event"], strict=True)) == expected
    assert "rows skipped: 1 (1 subtotal)" in out.out


def _commune_map(tmp_path):
    # a CSV has no sheet name: the commune comes from the mapping's defaults
    m = tmp_path / "xa.yaml"
    m.write_text("defaults:\n  commune: Xã Mão Điền\n", encoding="utf-8")
    return m


def test_csv_bytes_decide_the_text(tmp_path):
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text("Chủ sử dụng,Xã\nNguyễn Văn Ấn,Mão Điền\n", encoding="utf-8")
    cells = read_raw_sheets(utf8)[0].cells
    assert cells[1] == ["Nguyễn Văn Ấn", "Mão Điền"]  # valid UTF-8 is UTF-8, never "converted"
    legacy = tmp_path / "tcvn3.csv"
    legacy.write_bytes(
        b"Ch\xf7 s\xf6 d\xf4ng,X\xb7\n" + encode_tcvn3("Nguyễn Văn Ấn") + b"," + encode_tcvn3("Mão Điền") + b"\n"
    )
    raw = read_raw_sheets(legacy)[0]
    assert raw.cells[1] == ["Nguyễn Văn Ấn", "Mão Điền"] and raw.text_changes >= 2


def test_one_problems_table_for_both_imports():
    from kcn_gis.interop.clearance_sheets import SheetProblem

    probs = [
        SheetProblem("error", "bad_date", "x", file="a.xlsx", sheet="Mão Điền", row=8, column="I 'Chi trả'"),
        Problem("warning", "unmapped_column", "y", layer="parcels", field="GHI_CHU", file="b.shp"),
    ]
    table = problems_table(probs)
    assert table.columns.tolist() == [
        "severity", "check", "file", "layer", "sheet", "row", "column", "field", "ids", "message",
    ]  # fmt: skip
    assert table["sheet"].tolist()[0] == "Mão Điền" and table["sheet"].isna().tolist() == [False, True]
    assert table["column"].tolist() == ["I 'Chi trả'", "GHI_CHU"]
    assert table["row"].tolist()[0] == 8
