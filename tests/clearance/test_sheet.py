"""Spreadsheet import: recognition, row-level validation (atlas unchanged), idempotency,
dry runs, corrections, mapping files and templates (kcn_gis.interop.clearance_sheets).

Every test taking ``clearance_atlas_url`` runs on a GeoPackage and on PostGIS. "Unchanged" is
:func:`tests.conftest.atlas_snapshot`: byte for byte for a GeoPackage; every table, row and
row ``xmin`` for PostGIS.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from pathlib import Path

import openpyxl
import pytest

from kcn_gis import open_atlas
from kcn_gis.clearance import parcel_stages
from kcn_gis.cli import main
from kcn_gis.errors import ClearanceError, InputFileError
from kcn_gis.interop.clearance_sheets import event_id_for, import_sheet, match_stage, read_sheet, write_template
from tests.conftest import atlas_snapshot

NOW = dt.datetime(2011, 12, 27, 2, 0)  # UTC; 27/12/2011 09:00 in Hà Nội
HEADERS = ["Mã thửa", "Xã", "Tờ bản đồ số", "Thửa đất số", "Giai đoạn", "Ngày", "Số quyết định", "Ghi chú"]


def write_csv(path: Path, rows: list[list[str]], headers: list[str] = HEADERS) -> Path:
    import csv

    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(headers)
        w.writerows(rows)
    return path


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]], hidden: tuple[str, ...] = ()) -> Path:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
        if name in hidden:
            ws.sheet_state = "hidden"
    wb.save(path)
    return path


# -- good imports ----------------------------------------------------------------------------------------------
def test_import_xlsx_with_excel_dates_and_vietnamese_labels(clearance_atlas_url, tmp_path):
    f = write_xlsx(
        tmp_path / "tien_do.xlsx",
        {
            "Xã Thử": [
                HEADERS,
                ["S1-1-2", None, None, None, "Phê duyệt phương án bồi thường, hỗ trợ, tái định cư",
                 dt.datetime(2011, 11, 2), "99/QĐ-UBND", None],
                [None, "Xã Thử", "02", 2, "thong bao thu hoi dat", "05/12/2011", None, None],
            ],
            "DanhMuc": [["not data"]],
        },
        hidden=("DanhMuc",),
    )  # fmt: skip
    atlas = open_atlas(clearance_atlas_url)
    res = import_sheet(atlas, f, recorded_by="Cán bộ A", now=NOW)
    assert res.written == 2 and len(res.duplicates) == 0 and not res.problems
    ev = open_atlas(clearance_atlas_url).clearance_events.set_index("event_id")
    new = ev.loc[res.new_events["event_id"]]
    assert new["parcel_id"].tolist() == ["S1-1-2", "S1-2-2"]
    assert new["event"].tolist() == ["plan_approved", "notified"]
    assert [d.date() for d in new["event_date"]] == [dt.date(2011, 11, 2), dt.date(2011, 12, 5)]
    assert new["recorded_by"].unique().tolist() == ["Cán bộ A"]
    assert new["recorded_at"].unique().tolist() == [dt.datetime(2011, 12, 27, 2, 0)]
    assert res.new_events["row"].tolist() == [2, 3]  # as Excel shows them: header is row 1
    assert res.new_events["sheet"].tolist() == ["Xã Thử", "Xã Thử"]
    st = parcel_stages(ev.reset_index(), atlas.parcels, as_of="2011-12-26").set_index("parcel_id")["stage"]
    assert st["S1-1-2"] == "plan_approved" and st["S1-2-2"] == "notified"


def test_reimport_is_idempotent(clearance_atlas_url, tmp_path):
    f = write_csv(
        tmp_path / "a.csv",
        [["S1-1-2", "", "", "", "plan_approved", "02/11/2011", "99/QĐ", ""],
         ["", "Xã Thử", "2", "2", "Thông báo thu hồi đất", "05/12/2011", "", ""]],
    )  # fmt: skip
    first = import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="a", now=NOW)
    assert first.written == 2
    before = atlas_snapshot(clearance_atlas_url)
    n_events = len(open_atlas(clearance_atlas_url).clearance_events)
    second = import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="b", now=NOW + dt.timedelta(days=3))
    assert second.written == 0 and len(second.new_events) == 0
    assert sorted(second.duplicates["event_id"]) == sorted(first.new_events["event_id"])
    assert len(open_atlas(clearance_atlas_url).clearance_events) == n_events
    assert atlas_snapshot(clearance_atlas_url) == before


def test_event_ids_are_deterministic_from_content():
    a = event_id_for("S1-1-1", "notified", dt.date(2011, 1, 10), "12/TB")
    assert a == event_id_for("S1-1-1", "notified", dt.date(2011, 1, 10), "12/TB")
    assert a == event_id_for("S1-1-1", "notified", dt.date(2011, 1, 10), unicodedata.normalize("NFD", "12/TB"))
    assert a != event_id_for("S1-1-1", "notified", dt.date(2011, 1, 11), "12/TB")
    assert a != event_id_for("S1-1-1", "notified", dt.date(2011, 1, 10), "13/TB")
    assert a.startswith("ev-") and len(a) == 23


def test_dry_run_shows_changes_and_writes_nothing(clearance_atlas_url, tmp_path, capsys):
    f = write_csv(tmp_path / "a.csv", [["S1-1-2", "", "", "", "plan_approved", "02/11/2011", "99/QĐ", ""]])
    before = atlas_snapshot(clearance_atlas_url)
    res = import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="a", dry_run=True, now=NOW)
    assert res.dry_run and res.written == 0 and len(res.new_events) == 1
    assert atlas_snapshot(clearance_atlas_url) == before
    rc = main(["clearance", "import", str(f), "--atlas", str(clearance_atlas_url), "--dry-run", "--recorded-by", "x"])
    out = capsys.readouterr().out
    assert rc == 0 and "would add" in out and "S1-1-2" in out and "dry run" in out
    assert atlas_snapshot(clearance_atlas_url) == before


def test_skipped_stage_with_a_note_is_accepted(clearance_atlas_url, tmp_path):
    f = write_csv(
        tmp_path / "a.csv",
        [["S1-2-2", "", "", "", "inventoried", "01/12/2011", "", "thông báo miệng, không có văn bản"]],
    )
    res = import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="a", now=NOW)
    assert res.written == 1


def test_correction_by_stage_name_allows_going_back(clearance_atlas_url, tmp_path):
    f = write_csv(
        tmp_path / "a.csv",
        [["S1-1-1", "", "", "", "Đính chính", "10/12/2011", "", "bàn giao chưa ký biên bản", "Bàn giao mặt bằng"],
         ["S1-1-1", "", "", "", "Bàn giao mặt bằng", "20/12/2011", "BB-09", "", ""]],
        headers=[*HEADERS, "Đính chính sự kiện"],
    )  # fmt: skip
    atlas = open_atlas(clearance_atlas_url)
    res = import_sheet(atlas, f, recorded_by="a", now=NOW)
    assert res.written == 2
    corr = res.new_events[res.new_events["event"] == "correction"].iloc[0]
    assert corr["corrects_event_id"] == "A5"
    ev = open_atlas(clearance_atlas_url).clearance_events
    st = lambda d: parcel_stages(ev, atlas.parcels, as_of=d).set_index("parcel_id")["stage"]["S1-1-1"]  # noqa: E731
    assert (st("2011-12-09"), st("2011-12-10"), st("2011-12-20")) == ("handed_over", "compensated", "handed_over")


# -- every validation error leaves the atlas unchanged (byte for byte on a GeoPackage) ---------------------------
ERROR_CASES = {
    # name: (rows, expected check, expected row, expected column letter)
    "unknown parcel id": ([["S9-9-9", "", "", "", "notified", "01/12/2011", "", ""]], "unknown_parcel", 2, "A"),
    "unknown parcel triple": ([["", "Xã Thử", "7", "7", "notified", "01/12/2011", "", ""]], "unknown_parcel", 2, "D"),
    "ambiguous parcel": ([["", "Xã Thử", "1", "1", "notified", "01/12/2011", "", ""]], "ambiguous_parcel", 2, "D"),
    "unknown stage": ([["S1-2-2", "", "", "", "đã xong", "01/12/2011", "", ""]], "unknown_stage", 2, "E"),
    "unparseable date": ([["S1-2-2", "", "", "", "notified", "31/02/2011", "", ""]], "bad_date", 2, "F"),
    "future date": ([["S1-2-2", "", "", "", "notified", "01/01/2200", "", ""]], "future_date", 2, "F"),
    "stage skipped without note": (
        [["S1-2-2", "", "", "", "plan_approved", "01/12/2011", "", ""]], "stage_skipped", 2, "E"),
    "regression not a correction": (
        [["S1-1-2", "", "", "", "plan_approved", "01/02/2011", "", ""]], "regression", 2, "E"),
    "duplicate row": (
        [["S1-2-2", "", "", "", "notified", "01/12/2011", "5/TB", ""],
         ["S1-2-2", "", "", "", "Thông báo thu hồi đất", "01/12/2011", "5/TB", "lần 2"]], "duplicate_row", 3, None),
    "correction without reason": (
        [["S1-1-1", "", "", "", "correction", "01/12/2011", "", ""]], "correction_without_reason", 2, "H"),
}  # fmt: skip


@pytest.mark.parametrize("case", list(ERROR_CASES))
def test_each_validation_error_leaves_the_atlas_unchanged(clearance_atlas_url, tmp_path, case, capsys):
    rows, check, row, letter = ERROR_CASES[case]
    good = ["S1-2-2", "", "", "", "notified", "01/12/2011", "OK/1", ""] if check != "duplicate_row" else None
    f = write_csv(tmp_path / "bad.csv", ([good] if good else []) + rows)
    if good:
        row += 1
    before = atlas_snapshot(clearance_atlas_url)
    with pytest.raises(ClearanceError, match="nothing was imported") as info:
        import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="a", now=NOW)
    probs = [p for p in info.value.problems if p.check == check]
    assert probs, [p.check for p in info.value.problems]
    assert probs[0].row == row and probs[0].file == "bad.csv"
    if letter:
        assert probs[0].column.startswith(letter)
    assert atlas_snapshot(clearance_atlas_url) == before
    # the valid row was not written either (all or nothing), and the CLI exits non-zero
    assert "OK/1" not in set(open_atlas(clearance_atlas_url).clearance_events["reference"].dropna())
    rc = main(["clearance", "import", str(f), "--atlas", str(clearance_atlas_url), "--recorded-by", "x"])
    err = capsys.readouterr().err
    assert rc == 1 and f"[{check}]" in err and "nothing was written" in err
    assert atlas_snapshot(clearance_atlas_url) == before


def test_xlsx_error_names_sheet_row_and_column(clearance_atlas_url, tmp_path):
    f = write_xlsx(
        tmp_path / "b.xlsx",
        {"Tổng hợp": [HEADERS, ["S1-2-2", None, None, None, "notified", dt.datetime(2011, 12, 1), None, None]],
         "Xã Thử": [HEADERS, [None] * 8, ["S1-2-2", None, None, None, "ban giao xong", 40000, None, None]]},
    )  # fmt: skip
    before = atlas_snapshot(clearance_atlas_url)
    with pytest.raises(ClearanceError) as info:
        import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="a", now=NOW)
    where = {(p.sheet, p.row, p.column, p.check) for p in info.value.problems}
    assert ("Xã Thử", 3, "E 'Giai đoạn'", "unknown_stage") in where
    assert ("Xã Thử", 3, "F 'Ngày'", "bad_date") in where  # a plain number is not a date
    assert "b.xlsx, sheet 'Xã Thử', row 3, column E 'Giai đoạn'" in str(info.value)
    assert atlas_snapshot(clearance_atlas_url) == before


def test_missing_columns_and_unreadable_files(clearance_atlas_url, tmp_path):
    f = write_csv(tmp_path / "c.csv", [["S1-2-2", "notified"]], headers=["Mã thửa", "Giai đoạn"])
    before = atlas_snapshot(clearance_atlas_url)
    with pytest.raises(ClearanceError, match="missing column"):
        import_sheet(open_atlas(clearance_atlas_url), f, recorded_by="a", now=NOW)
    (tmp_path / "x.ods").write_text("?")
    with pytest.raises(InputFileError, match="unsupported file type"):
        import_sheet(open_atlas(clearance_atlas_url), tmp_path / "x.ods", recorded_by="a", now=NOW)
    with pytest.raises(ClearanceError, match="recorded_by is empty"):
        import_sheet(open_atlas(clearance_atlas_url), f, recorded_by=" ", now=NOW)
    assert atlas_snapshot(clearance_atlas_url) == before


def test_mapping_file_for_another_layout(clearance_atlas_url, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text(
        "columns:\n  commune: Tên xã\n  map_sheet: Số tờ BĐ\n  parcel_no: Số hiệu thửa\n"
        "  stage: Tình trạng\n  date: [Ngày thực hiện]\nstages:\n  Đã nhận tiền: compensated\n"
        "header_row: 2\ndate_formats: ['%d/%m/%y']\n",
        encoding="utf-8",
    )
    f = write_xlsx(
        tmp_path / "huyen.xlsx",
        {"BC": [["BÁO CÁO TIẾN ĐỘ GPMB"], ["Tên xã", "Số tờ BĐ", "Số hiệu thửa", "Tình trạng", "Ngày thực hiện"],
                ["Thử", 1, 2, "Đã nhận tiền", "01/12/11"]]},
    )  # fmt: skip
    atlas = open_atlas(clearance_atlas_url)
    # without the mapping: the header is found below the title row, but 'Tình trạng' and 'Số tờ BĐ' are unknown
    with pytest.raises(ClearanceError, match=r"row 2: missing column\(s\): event, parcel_id"):
        import_sheet(atlas, f, recorded_by="a", now=NOW)
    with pytest.raises(ClearanceError) as info:
        import_sheet(atlas, f, recorded_by="a", now=NOW, mapping=mapping)
    # S1-1-2 is at 'inventoried': compensated skips plan_approved -> the mapping worked, the rule still applies
    assert [p.check for p in info.value.problems] == ["stage_skipped"]
    assert info.value.problems[0].row == 3
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  parcel: Thửa\n", encoding="utf-8")
    with pytest.raises(InputFileError, match="'parcel' is not a field"):
        import_sheet(atlas, f, recorded_by="a", now=NOW, mapping=bad)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("handed_over", "handed_over"),
        ("Handed over", "handed_over"),
        ("HANDED_OVER", "handed_over"),
        ("Bàn giao mặt bằng", "handed_over"),
        ("  bàn   GIAO mặt bằng ", "handed_over"),
        (unicodedata.normalize("NFD", "Bàn giao mặt bằng"), "handed_over"),
        ("ban giao mat bang", "handed_over"),
        ("Phê duyệt phương án bồi thường, hỗ trợ, tái định cư", "plan_approved"),
        ("kiem dem", "inventoried"),
        ("Khiếu nại", "complaint"),
        ("Cưỡng chế", "enforcement"),
        ("bàn", None),
        ("", None),
    ],
)
def test_stage_matching(text, expected):
    got = match_stage(text)
    assert (None if got is None else str(got)) == expected


def test_template_has_parcels_and_a_stage_dropdown_and_round_trips(clearance_atlas_url, tmp_path):
    atlas = open_atlas(clearance_atlas_url)
    before = atlas_snapshot(clearance_atlas_url)
    out = write_template(atlas, "S1", tmp_path / "mau.xlsx", as_of="2011-12-26")
    assert atlas_snapshot(clearance_atlas_url) == before
    wb = openpyxl.load_workbook(out)
    ws = wb.worksheets[0]
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["Mã thửa", "Xã", "Tờ bản đồ số", "Thửa đất số"]
    assert [v for r in range(2, ws.max_row + 1) if (v := ws.cell(row=r, column=1).value)] == [
        "S1-1-1",
        "S1-1-2",
        "S1-2-1",
        "S1-2-2",
    ]
    stage_col = headers.index("Giai đoạn") + 1
    letter = openpyxl.utils.get_column_letter(stage_col)
    dvs = ws.data_validations.dataValidation
    assert len(dvs) == 1 and dvs[0].type == "list" and f"{letter}2" in str(dvs[0].sqref)
    lists = wb["DanhMuc"]
    assert lists.sheet_state == "hidden"
    ref = dvs[0].formula1.split("!")[1].replace("$", "")
    labels = [c.value for row in lists[ref] for c in row]
    assert "Bàn giao mặt bằng" in labels and "Kiểm đếm" in labels
    assert ws.cell(row=2, column=headers.index("Giai đoạn hiện tại") + 1).value == "Bàn giao mặt bằng"
    # fill one row as a council would, and import it
    ws.cell(row=5, column=stage_col).value = "Thông báo thu hồi đất"
    ws.cell(row=5, column=headers.index("Ngày") + 1).value = dt.datetime(2011, 12, 20)
    wb.save(out)
    rows, problems = read_sheet(out)
    assert len(rows) == 4 and not problems
    res = import_sheet(atlas, out, recorded_by="a", now=NOW)
    assert res.written == 1 and res.new_events.iloc[0]["parcel_id"] == "S1-2-2"
    with pytest.raises(ClearanceError, match="park 'NOPE' has no parcels"):
        write_template(atlas, "NOPE", tmp_path / "x.xlsx")
