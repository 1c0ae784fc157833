"""What kcn_gis writes opens right in Excel and GIS tools (issue 15): BOM, rounding, date types, info sheet.

Files are opened with openpyxl, pyogrio and the raw DBF header; the expected numbers come from the
hand-built geometry of ``excel_atlas`` (see ``conftest.py``), not from the code under test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import openpyxl
import pyogrio
import pytest

from kcn_gis import __version__
from kcn_gis.cli import main
from tests.cli.conftest import N1_FILL_PLANNED, N1_PLANNED_HA, P2_HA

DAY = ["--as-of", "2011-12-26"]
BOM = b"\xef\xbb\xbf"


def _n1(rows):
    return next(r for r in rows if r["park_id"] == "N1")


def test_csv_file_has_a_bom_and_rounded_numbers(excel_atlas, tmp_path, capsys):
    out = tmp_path / "rates.csv"
    assert main(["fill-rates", "--atlas", str(excel_atlas), *DAY, "--format", "csv", "--out", str(out)]) == 0
    raw = out.read_bytes()
    assert raw.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    n1 = _n1(rows)
    assert n1["planned_ha"] == f"{N1_PLANNED_HA:.2f}" == "69.97"  # ha to 2 places
    assert n1["fill_rate_planned"] == f"{N1_FILL_PLANNED:.4f}" == "0.5716"  # fractions to 4 places
    for row in rows:  # no binary noise anywhere
        for key, value in row.items():
            if key.endswith("_ha"):
                assert re.fullmatch(r"-?\d+(\.\d{1,2})?", value), (key, value)
            if key.startswith("fill_rate") and value:
                assert re.fullmatch(r"-?\d+(\.\d{1,4})?", value), (key, value)


def test_json_is_not_rounded(excel_atlas, capsys):
    assert main(["fill-rates", "--atlas", str(excel_atlas), *DAY, "--format", "json"]) == 0
    n1 = _n1(json.loads(capsys.readouterr().out))
    assert n1["planned_ha"] == pytest.approx(N1_PLANNED_HA, abs=1e-9)
    assert n1["planned_ha"] != round(n1["planned_ha"], 2)
    assert n1["fill_rate_planned"] == pytest.approx(N1_FILL_PLANNED, abs=1e-12)


def test_csv_on_stdout_has_no_bom_unless_asked(excel_atlas, capsysbinary):
    assert main(["fill-rates", "--atlas", str(excel_atlas), *DAY, "--format", "csv"]) == 0
    plain = capsysbinary.readouterr().out
    assert plain.startswith(b"park_id,") and not plain.startswith(BOM)
    assert main(["fill-rates", "--atlas", str(excel_atlas), *DAY, "--format", "csv", "--bom"]) == 0
    assert capsysbinary.readouterr().out.startswith(BOM + b"park_id,")


def test_table_is_rounded_per_unit(excel_atlas, capsys):
    assert main(["fill-rates", "--atlas", str(excel_atlas), *DAY]) == 0
    table = capsys.readouterr().out
    assert "69.97" in table and "57.16" in table  # the rate as a percentage, 2 places
    assert str(N1_PLANNED_HA)[:8] not in table


def test_xlsx_from_a_command(excel_atlas, tmp_path):
    out = tmp_path / "rates.xlsx"  # the format follows from the extension
    assert main(["fill-rates", "--atlas", str(excel_atlas), *DAY, "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["fill_rates", "info"]  # named sheets, never "Sheet1"
    ws = wb["fill_rates"]
    headers = [c.value for c in ws[1]]
    assert headers[0] == "park_id" and {"planned_ha (ha)", "acquired_ha (ha)", "fill_rate_planned (0-1)"} <= set(
        headers
    )
    assert "park_id (ha)" not in headers and not any(h.startswith("name (") for h in headers)  # text has no unit
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:")
    letter = openpyxl.utils.get_column_letter(headers.index("planned_ha (ha)") + 1)
    assert ws.column_dimensions[letter].width >= len("planned_ha (ha)")
    rows = {r[0]: dict(zip(headers, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["N1"]["planned_ha (ha)"] == pytest.approx(round(N1_PLANNED_HA, 2), abs=1e-12)
    assert rows["N1"]["fill_rate_planned (0-1)"] == pytest.approx(round(N1_FILL_PLANNED, 4), abs=1e-12)
    info = {k: v for k, v in wb["info"].iter_rows(min_row=2, values_only=True)}
    assert info["atlas"] == str(excel_atlas)
    assert info["as_of"] == dt.datetime(2011, 12, 26)  # an Excel date
    assert wb["info"]["B1"].value == "value" and info["crs"] == "EPSG:9209"
    assert info["written_by"] == f"kcn_gis {__version__}"
    assert info["command"].startswith("kcn-gis fill-rates")


def _date_cells(ws, header: str):
    col = [c.value for c in ws[1]].index(header) + 1
    return [row[0] for row in ws.iter_rows(min_row=2, min_col=col, max_col=col) if row[0].value is not None]


def test_xlsx_dates_are_excel_dates_without_a_time(excel_atlas, tmp_path):
    out = tmp_path / "timeline.xlsx"
    assert main(["clearance", "timeline", "S1-1-1", "--atlas", str(excel_atlas), "--out", str(out)]) == 0
    ws = openpyxl.load_workbook(out)["clearance_timeline"]
    (day,) = _date_cells(ws, "event_date")
    assert day.is_date and day.value == dt.datetime(2011, 3, 1) and day.number_format == "dd/mm/yyyy"
    (stamp,) = _date_cells(ws, "recorded_at")  # a time of day is kept, and shown
    assert stamp.value == dt.datetime(2011, 3, 2, 8, 0) and "hh:mm" in stamp.number_format


def test_layer_xlsx_export(excel_atlas, tmp_path):
    out = tmp_path / "plots.xlsx"
    assert main(["export", "--atlas", str(excel_atlas), "--layer", "plots", *DAY, "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["plots", "info"]
    ws = wb["plots"]
    cells = _date_cells(ws, "acquired_on")
    assert len(cells) == 3
    for cell in cells:
        assert cell.is_date and cell.number_format == "dd/mm/yyyy" and "h" not in cell.number_format
    assert {c.value for c in cells} == {dt.datetime(2005, 1, 1), dt.datetime(2007, 1, 1)}
    headers = [c.value for c in ws[1]]
    areas = {r[0]: r[headers.index("area_ha")] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert areas["P2"] == pytest.approx(P2_HA, abs=1e-4)
    info = {k: v for k, v in wb["info"].iter_rows(min_row=2, values_only=True)}
    assert info["crs"] == "EPSG:9209" and info["as_of"] == dt.datetime(2011, 12, 26)


def _dbf_fields(path) -> dict[str, tuple[str, int]]:
    """Field name -> (DBF type letter, length), read from the raw .dbf header (dBase III layout)."""
    raw = path.read_bytes()
    header_len = int.from_bytes(raw[8:10], "little")
    fields: dict[str, tuple[str, int]] = {}
    for off in range(32, header_len - 1, 32):
        desc = raw[off : off + 32]
        if desc[0] == 0x0D:
            break
        fields[desc[:11].split(b"\0")[0].decode("ascii")] = (chr(desc[11]), desc[16])
    return fields


def test_shapefile_dates_are_dbf_date_fields(excel_atlas, tmp_path):
    shp = tmp_path / "plots.shp"
    assert main(["export", "--atlas", str(excel_atlas), "--layer", "plots", "--to", "shp", "--out", str(shp)]) == 0
    fields = _dbf_fields(shp.with_suffix(".dbf"))
    assert fields["acquired_o"] == ("D", 8) and fields["leased_on"] == ("D", 8)
    frame = pyogrio.read_dataframe(shp)
    assert str(frame["leased_on"].dtype).startswith("datetime64")
    leased = dict(zip(frame["plot_id"], frame["leased_on"], strict=True))
    assert leased["P1"] == dt.datetime(2006, 6, 1) and str(leased["P2"]) == "NaT"


def test_kml_timestamps_follow_kml(excel_atlas, tmp_path):
    kml = tmp_path / "plots.kml"
    assert main(["export", "--atlas", str(excel_atlas), "--layer", "plots", *DAY, "--out", str(kml)]) == 0
    from xml.etree import ElementTree as ET

    ns = {"k": "http://www.opengis.net/kml/2.2"}
    root = ET.parse(kml).getroot()
    when = {}
    for pm in root.iter("{http://www.opengis.net/kml/2.2}Placemark"):
        children = [c.tag.split("}")[1] for c in pm]
        stamp = pm.find("k:TimeStamp/k:when", ns)
        if stamp is not None:  # KML order: TimePrimitive before styleUrl
            assert children.index("TimeStamp") < children.index("styleUrl")
            when[pm.find("k:name", ns).text] = stamp.text
    # leased on, else acquired on; plain xsd:date
    assert when == {"P1": "2006-06-01", "P2": "2007-01-01", "P3": "2005-01-01"}


def test_whole_number_floats_print_as_integers():
    """Counts summed as floats (parks, projects, workers) and whole USD read 8, not 8.0000."""
    import pandas as pd

    from kcn_gis.interop.exporters.tables import round_table

    frame = pd.DataFrame(
        {
            "park_count": [8.0, 1.0],
            "workers": [76756.0, float("nan")],
            "registered_capital_usd": [3.8e9, 1.41e7],
            "score": [1.5, 2.0],
            "planned_ha": [2.0, 3.0],
        }
    )
    out = round_table(frame)
    assert str(out["park_count"].dtype) == "Int64" and out["park_count"].tolist() == [8, 1]
    assert str(out["workers"].dtype) == "Int64" and out["workers"].isna().tolist() == [False, True]
    assert str(out["registered_capital_usd"].dtype) == "Int64"
    assert out["score"].tolist() == [1.5, 2.0]  # not all whole: stays a float column
    assert out["planned_ha"].dtype == float  # hectares keep their two decimals
