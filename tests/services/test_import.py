"""``kcn-gis reports import``: the Board's workbook, all or nothing, idempotent, on both backends."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from kcn_gis import open_atlas
from kcn_gis.cli import main
from kcn_gis.errors import InputFileError
from kcn_gis.reports_intake import HEADERS, import_reports, write_template
from kcn_gis.schema import Col
from tests.conftest import atlas_snapshot

HEAD = [HEADERS[c] for c in ("project_id", "filed_on", "workers", "local_workers", "female_workers",
                             "output_bn_vnd", "exports_musd", "budget_bn_vnd", "avg_income_m_vnd")]  # fmt: skip
TODAY = "2012-06-01"


def write_sheet(path: Path, sheets: dict[str, list[tuple]], *, head=HEAD) -> Path:
    """A workbook as a clerk fills it: one sheet per period, Vietnamese headers, one row per enterprise."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        ws.append(list(head))
        for r in rows:
            ws.append(list(r))
    wb.save(path)
    return path


def _more_projects(atlas):
    """Add PRJ2 and PRJ3 to the tiny atlas (operating since 2008)."""
    prj = atlas.projects
    extra = prj.iloc[[0, 0]].copy()
    extra[Col.PROJECT_ID] = ["PRJ2", "PRJ3"]
    extra[Col.INVESTOR] = ["Công ty Hai", "Công ty Ba"]
    atlas.write({"projects": pd.concat([prj, extra], ignore_index=True)})
    return atlas


GOOD = [
    ("PRJ1", "2012-01-05", 100, 40, 70, 12.5, 1.0, 0.3, 2.4),
    ("PRJ2", "10/01/2012", 50, 20, 30, 3.0, 0.5, 0.1, 2.6),
]


def test_import_adds_reports_and_reimport_adds_nothing(tiny_atlas, tmp_path):
    atlas = _more_projects(tiny_atlas)
    book = write_sheet(tmp_path / "bao_cao.xlsx", {"2011": GOOD})
    first = import_reports(atlas, book, today=TODAY, recorded_by="cán bộ A")
    assert (first["added"], first["unchanged"]) == (2, 0)
    reps = open_atlas(atlas.location).enterprise_reports.set_index(Col.PROJECT_ID)
    assert reps.loc["PRJ2", Col.FILED_ON] == pd.Timestamp("2012-01-10")  # dd/mm/yyyy as the Board writes it
    assert reps.loc["PRJ1", Col.OUTPUT_BN_VND] == 12.5 and reps.loc["PRJ1", Col.REVISION] == 1
    assert reps.loc["PRJ1", Col.RECORDED_BY] == "cán bộ A"
    before = atlas_snapshot(atlas.location, file_bytes=False)
    again = import_reports(open_atlas(atlas.location), book, today=TODAY)
    assert (again["added"], again["unchanged"]) == (0, 2)
    assert atlas_snapshot(atlas.location, file_bytes=False) == before


def test_a_changed_row_is_a_new_revision_and_the_history_is_kept(tiny_atlas, tmp_path):
    atlas = _more_projects(tiny_atlas)
    import_reports(atlas, write_sheet(tmp_path / "a.xlsx", {"2011": GOOD}), today=TODAY)
    fixed = [(*GOOD[0][:5], 13.0, *GOOD[0][6:]), GOOD[1]]
    out = import_reports(open_atlas(atlas.location), write_sheet(tmp_path / "b.xlsx", {"2011": fixed}), today=TODAY)
    assert (out["added"], out["corrections"], out["unchanged"]) == (1, 1, 1)
    reps = open_atlas(atlas.location).enterprise_reports
    prj1 = reps[reps[Col.PROJECT_ID] == "PRJ1"].sort_values(Col.REVISION)
    assert prj1[Col.REVISION].tolist() == [1, 2]
    assert prj1[Col.OUTPUT_BN_VND].tolist() == [12.5, 13.0]
    assert prj1[Col.REPORT_ID].tolist() == ["PRJ1/2011/r1", "PRJ1/2011/r2"]


def test_one_bad_row_writes_nothing_and_names_sheet_row_and_column(tiny_atlas, tmp_path):
    atlas = _more_projects(tiny_atlas)
    bad = [GOOD[0], ("PRJ2", "2012-01-10", "năm mươi", 20, 30, 3.0, 0.5, 0.1, 2.6)]
    book = write_sheet(tmp_path / "bad.xlsx", {"2011-Q4": [GOOD[1]], "2011": bad})
    before = atlas_snapshot(atlas.location, file_bytes=False)
    with pytest.raises(InputFileError) as err:
        import_reports(atlas, book, today=TODAY)
    text = str(err.value)
    assert "nothing was imported" in text
    assert "bad.xlsx" in text and "sheet '2011'" in text and "row 3" in text
    assert "C 'Số lao động'" in text and "'năm mươi' is not a number" in text
    assert len(err.value.problems) == 1
    assert atlas_snapshot(atlas.location, file_bytes=False) == before


def test_unknown_projects_and_future_periods_are_refused(tiny_atlas, tmp_path):
    atlas = _more_projects(tiny_atlas)
    book = write_sheet(
        tmp_path / "x.xlsx",
        {
            "2011": [("KHONG-CO", "2012-01-05", 1, 0, 0, 1.0, 0.0, 0.0, 2.0)],
            "2012": [GOOD[0]],  # the year is not over on 2012-06-01
            "2011-12": [("PRJ1", "2012-07-01", 1, 0, 0, 1.0, 0.0, 0.0, 2.0)],  # filed in the future
        },
    )
    before = atlas_snapshot(atlas.location, file_bytes=False)
    with pytest.raises(InputFileError) as err:
        import_reports(atlas, book, today=TODAY)
    text = str(err.value)
    assert "project 'KHONG-CO' is not in the atlas's projects" in text
    assert "period 2012 has not ended yet" in text
    assert "the filing date 2012-07-01 is in the future" in text
    assert atlas_snapshot(atlas.location, file_bytes=False) == before


def test_duplicate_enterprise_and_impossible_counts_are_located(tiny_atlas, tmp_path):
    atlas = _more_projects(tiny_atlas)
    rows = [GOOD[0], GOOD[0], ("PRJ2", "2012-01-05", 10, 11, 0, 1.0, 0.0, 0.0, 2.0)]
    with pytest.raises(InputFileError) as err:
        import_reports(atlas, write_sheet(tmp_path / "d.xlsx", {"2011": rows}), today=TODAY)
    text = str(err.value)
    assert "row 3" in text and "appears twice in this sheet (also row 2)" in text
    assert "row 4" in text and "D 'Lao động địa phương'" in text and "more than the 10 workers" in text


def test_template_lists_the_projects_that_must_report_and_imports_back(tiny_atlas, tmp_path):
    atlas = _more_projects(tiny_atlas)
    path = tmp_path / "mau.xlsx"
    assert write_template(path, atlas.projects, periods=["2011"]) == 3
    sheet = pd.read_excel(path, sheet_name="2011")
    assert sheet[HEADERS["project_id"]].tolist() == ["PRJ1", "PRJ2", "PRJ3"]
    assert sheet[HEADERS["investor"]].tolist()[1] == "Công ty Hai"
    # the clerk fills in one enterprise; the blank rows are enterprises that have not filed
    wb = openpyxl.load_workbook(path)
    ws = wb["2011"]
    for col, v in zip("CDEFGHIJ", ("2012-01-08", 100, 40, 70, 9.0, 1.0, 0.2, 2.5), strict=True):
        ws[f"{col}2"] = v
    wb.save(path)
    out = import_reports(atlas, path, today=TODAY)
    assert (out["added"], out["skipped_blank"]) == (1, 2)


def test_cli_import_and_template(tiny_atlas, tmp_path, capsys):
    atlas = _more_projects(tiny_atlas)
    out = tmp_path / "t.xlsx"
    assert main(["reports", "template", "--atlas", atlas.location, "--period", "2011", "--out", str(out)]) == 0
    book = write_sheet(tmp_path / "in.xlsx", {"2011": GOOD})
    assert main(["reports", "import", str(book), "--atlas", atlas.location]) == 0
    assert "2 report(s) added" in capsys.readouterr().err
    assert main(["reports", "import", str(book), "--atlas", atlas.location]) == 0
    assert "0 report(s) added" in capsys.readouterr().err
    bad = write_sheet(tmp_path / "bad.xlsx", {"2011": [("NOPE", "2012-01-05", 1, 0, 0, 1.0, 0.0, 0.0, 2.0)]})
    assert main(["reports", "import", str(bad), "--atlas", atlas.location]) == 2
    assert "sheet '2011'" in capsys.readouterr().err


def test_two_processes_importing_the_same_workbook_add_each_report_once(tiny_atlas, tmp_path):
    import subprocess
    import sys

    atlas = _more_projects(tiny_atlas)
    book = write_sheet(tmp_path / "cung.xlsx", {"2011": GOOD})
    cmd = [sys.executable, "-m", "kcn_gis", "reports", "import", str(book), "--atlas", atlas.location]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    added = sorted(int(err.split(": ")[1].split()[0]) for _out, err in outs)
    assert added == [0, 2]  # one process added both reports, the other found them already there
    reps = open_atlas(atlas.location).enterprise_reports
    assert sorted(reps[Col.REPORT_ID]) == ["PRJ1/2011/r1", "PRJ2/2011/r1"]


def test_excel_date_cells_and_vietnamese_number_text(tiny_atlas, tmp_path):
    import datetime as dt

    atlas = _more_projects(tiny_atlas)
    rows = [
        ("PRJ1", dt.datetime(2012, 1, 5), 100, 40, 70, "1.234,5", "6,5", "0,3", "2,4"),
        ("PRJ2", dt.date(2012, 1, 6), "1.050", 20, 30, 3, 0.5, 0.1, 2.6),
    ]
    with pytest.raises(InputFileError, match=r"row 3 \(sheet '2011'\) field 'C 'Số lao động'': '1.050' is ambiguous"):
        import_reports(atlas, write_sheet(tmp_path / "vn.xlsx", {"2011": rows}), today=TODAY)
    rows[1] = ("PRJ2", dt.date(2012, 1, 6), "1.050.000", 20, 30, 3, 0.5, 0.1, 2.6)  # unambiguous: 1,050,000
    import_reports(atlas, write_sheet(tmp_path / "vn2.xlsx", {"2011": rows}), today=TODAY)
    reps = open_atlas(atlas.location).enterprise_reports.set_index(Col.PROJECT_ID)
    assert reps.loc["PRJ1", Col.FILED_ON] == pd.Timestamp("2012-01-05")
    assert reps.loc["PRJ1", Col.OUTPUT_BN_VND] == 1234.5 and reps.loc["PRJ1", Col.EXPORTS_MUSD] == 6.5
    assert reps.loc["PRJ2", Col.WORKERS] == 1_050_000
