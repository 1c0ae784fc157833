"""A district compensation council's progress workbook, as kept, through ``kcn-gis clearance import``.

The workbook (``council_workbook``) has title rows, a merged two-row header,
one date column per stage, a numbering row, one sheet per commune, subtotal,
total, note and signature rows and a summary sheet. The expected numbers are
derived here from ``PROGRESS`` and ``PARCELS``, independently of the import.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from kcn_gis import open_atlas
from kcn_gis.clearance import clearance_progress, parcel_stages
from kcn_gis.cli import main
from kcn_gis.interop.clearance_sheets import match_stage
from tests.conftest import atlas_snapshot
from tests.intake.conftest import PARCELS, PROGRESS, STAGE_VALUES, council_workbook, parcel_area_ha


def _import(path, atlas, *extra: str) -> int:
    return main(["clearance", "import", str(path), "--atlas", str(atlas), "--recorded-by", "Cán bộ Thử", *extra])


def test_workbook_as_kept_imports_with_no_mapping(intake_atlas_path, tmp_path, capsys):
    book = council_workbook(tmp_path / "tien_do_gpmb.xlsx")
    assert _import(book, intake_atlas_path, "--park", "P1") == 0
    out = capsys.readouterr()
    atlas = open_atlas(intake_atlas_path)
    events = atlas.clearance_events
    # one event per dated cell
    dated = {(pid, STAGE_VALUES[k]) for pid, dates in PROGRESS.items() for k, d in enumerate(dates) if d is not None}
    assert len(events) == len(dated) == 21
    assert set(zip(events["parcel_id"], events["event"], strict=True)) == dated
    # Excel dates and dd/mm/yyyy text give the same kind of date
    got = events.set_index(["parcel_id", "event"])["event_date"]
    assert got[("P1-MD-90-0001", "plan_approved")].date() == dt.date(2011, 6, 15)  # text "15/06/2011"
    assert got[("P1-AB-90-0001", "handed_over")].date() == dt.date(2011, 9, 5)  # an Excel date
    # the stage of each parcel is the last stage with a date
    stages = parcel_stages(events, atlas.parcels, as_of="2011-12-20").set_index("parcel_id")["stage"]
    for pid, dates in PROGRESS.items():
        reached = [STAGE_VALUES[k] for k, d in enumerate(dates) if d is not None]
        assert (stages[pid] if reached else None) == (reached[-1] if reached else None), pid
        assert reached or stages.isna()[pid]  # not started: no stage
    # handed-over hectares from the fixture geometries
    handed = sum(parcel_area_ha(pid) for pid, dates in PROGRESS.items() if dates[4] is not None)
    prog = clearance_progress(events, atlas.parcels, as_of="2011-12-20").set_index("park_id")
    assert prog.loc["P1", "handed_over_ha"] == pytest.approx(handed)
    assert handed == pytest.approx(0.3 + 1.0 + 1.2)
    # the summary names the sheets read and skipped, and counts the rows skipped
    assert "'Mão Điền' (9 event row(s)), 'An Binh' (12 event row(s))" in out.out
    assert "sheet 'Tổng hợp' skipped: not a progress sheet" in out.out
    # per sheet: 1 numbering, 1 subtotal, 1 total, 1 note ("3 thửa"), 2 signature lines
    assert "rows skipped: 12 (2 note, 2 numbering, 4 signature, 2 subtotal, 2 total)" in out.out
    assert "sheet 'Mão Điền': read: wide layout" in out.err and "header in row 4-5" in out.err
    assert "commune from the sheet name 'An Binh'" in out.err


def test_reimporting_the_workbook_adds_nothing(intake_atlas_path, tmp_path, capsys):
    book = council_workbook(tmp_path / "tien_do.xlsx")
    assert _import(book, intake_atlas_path, "--park", "P1") == 0
    before = atlas_snapshot(intake_atlas_path)
    n = len(open_atlas(intake_atlas_path).clearance_events)
    capsys.readouterr()
    assert _import(book, intake_atlas_path, "--park", "P1") == 0
    assert f"0 new event(s), {n} already recorded" in capsys.readouterr().out
    assert atlas_snapshot(intake_atlas_path) == before


def test_one_bad_cell_writes_nothing_and_is_located(intake_atlas_path, tmp_path, capsys):
    progress = dict(PROGRESS)
    d = list(progress["P1-AB-90-0002"])
    d[3] = "25/13/2011"  # no 13th month
    progress["P1-AB-90-0002"] = tuple(d)
    book = council_workbook(tmp_path / "sai.xlsx", progress)
    before = atlas_snapshot(intake_atlas_path)
    assert _import(book, intake_atlas_path, "--park", "P1") == 1
    err = capsys.readouterr().err
    # An Bình: title rows 1-2, header 4-5, numbering 6, parcel 2 in row 8; Chi trả is column I
    assert "sai.xlsx, sheet 'An Binh', row 8, column I 'Chi trả': '25/13/2011' is not a date" in err
    assert "[bad_date]" in err and "nothing was written" in err
    assert atlas_snapshot(intake_atlas_path) == before


def test_without_park_a_parcel_number_shared_by_two_parks_is_ambiguous(intake_atlas_path, tmp_path, capsys):
    book = council_workbook(tmp_path / "tien_do.xlsx")
    before = atlas_snapshot(intake_atlas_path)
    assert _import(book, intake_atlas_path) == 1
    err = capsys.readouterr().err
    both = sorted(p[0] for p in PARCELS if p[2] == "Xã Mão Điền" and p[4] == "1")
    assert f"matches 2 parcels ({', '.join(both)})" in err
    assert err.count("[ambiguous_parcel]") == 1  # once for the row, not once per dated cell
    assert atlas_snapshot(intake_atlas_path) == before
    assert _import(book, intake_atlas_path, "--park", "NOPE") == 2
    assert "park 'NOPE' has no parcels" in capsys.readouterr().err


def test_clearance_import_refuses_the_bundled_atlas(tmp_path, capsys):
    book = council_workbook(tmp_path / "tien_do.xlsx")
    assert main(["clearance", "import", str(book), "--recorded-by", "x"]) == 2
    assert "--atlas" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Phê duyệt PA", "plan_approved"),
        ("Phê duyệt phương án", "plan_approved"),
        ("phe duyet PA", "plan_approved"),
        ("Chi trả", "compensated"),
        ("Chi trả tiền", "compensated"),
        ("chi tra tien", "compensated"),
        ("Bàn giao", "handed_over"),
        ("Bàn giao mặt bằng", "handed_over"),
        ("BAN GIAO MAT BANG", "handed_over"),
        ("Kiểm đếm", "inventoried"),
        ("Điều tra kiểm đếm", "inventoried"),
        ("dieu tra kiem dem", "inventoried"),
        ("Thông báo", "notified"),
        ("Thông báo thu hồi", "notified"),
        ("thong bao thu hoi", "notified"),
    ],
)
def test_stage_synonyms_of_the_councils(text, expected):
    assert str(match_stage(text)) == expected


def test_old_and_new_mapping_dialects_read_the_same_layout(intake_atlas_path, tmp_path, caplog):
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "BC"
    ws.append(["BÁO CÁO"])
    ws.append(["Tên xã", "Tờ BĐ", "Số hiệu thửa", "Tình trạng", "Ngày thực hiện"])
    ws.append(["Mão Điền", 90, 4, "Đã có thông báo", "02/03/11"])
    wb.save(tmp_path / "bc.xlsx")
    new = tmp_path / "new.yaml"
    new.write_text(
        "columns:\n  Tờ BĐ: map_sheet\n  Tình trạng: event\nvalues:\n  event: {Đã có thông báo: notified}\n"
        "date_formats: ['%d/%m/%y']\n",
        encoding="utf-8",
    )
    old = tmp_path / "old.yaml"
    old.write_text(
        "columns:\n  map_sheet: Tờ BĐ\n  stage: [Tình trạng]\nstages:\n  Đã có thông báo: notified\n"
        "date_formats: ['%d/%m/%y']\n",
        encoding="utf-8",
    )
    seen = []
    for mapping in (new, old):
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="kcn_gis"):
            rc = _import(tmp_path / "bc.xlsx", intake_atlas_path, "--park", "P1", "--dry-run", "--map", str(mapping))
        assert rc == 0
        seen.append(any("deprecated mapping form" in r.getMessage() for r in caplog.records))
    assert seen == [False, True]
