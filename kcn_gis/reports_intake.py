"""Enterprise statistical reports in, as the Board receives them: one workbook, one sheet per period.

Layout (what :func:`write_template` writes and :func:`read_report_workbook` reads):

* one sheet per period, named ``2011``, ``2011-Q4`` or ``2011-12``;
* first row: Vietnamese headers (:data:`HEADERS`; a unit in brackets after the
  label is allowed, and case and diacritics must match after NFC normalisation);
* one row per enterprise (project). A row without a filing date and without
  figures is a template row not filled in yet and is skipped.

:func:`import_reports` is all-or-nothing: every problem of every sheet is
collected first, with its sheet, Excel row and column, and nothing is written
if there is one. Re-importing the same workbook adds nothing; a row whose
figures differ from the project's current report for the period is a
correction and is stored as the next revision (the history is kept).

This module is the reports' own import side (not :mod:`kcn_gis.interop.importers`,
which reads spatial layers): a reports sheet has no geometry, its rows are
matched to existing projects, and a re-import yields revisions, not replaced rows.
"""

from __future__ import annotations

import datetime as dt
import getpass
import logging
import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kcn_gis.analytics.reporting import current_reports, due_projects, period_bounds
from kcn_gis.errors import InputFileError, KcnGisError, Problem
from kcn_gis.schema import Col, Layer, spec

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = ["HEADERS", "ImportSummary", "import_reports", "read_report_workbook", "write_template"]

log = logging.getLogger(__name__)

_INVESTOR_HEADER = "Tên doanh nghiệp"

#: Column of the sheet -> (model column, Vietnamese header as written in the template).
HEADERS: dict[str, str] = {
    str(Col.PROJECT_ID): "Mã dự án",
    str(Col.INVESTOR): _INVESTOR_HEADER,
    str(Col.FILED_ON): "Ngày nộp báo cáo",
    str(Col.WORKERS): "Số lao động",
    str(Col.LOCAL_WORKERS): "Lao động địa phương",
    str(Col.FEMALE_WORKERS): "Lao động nữ",
    str(Col.OUTPUT_BN_VND): "Giá trị sản xuất công nghiệp (tỷ đồng)",
    str(Col.EXPORTS_MUSD): "Giá trị xuất khẩu (triệu USD)",
    str(Col.BUDGET_BN_VND): "Nộp ngân sách (tỷ đồng)",
    str(Col.AVG_INCOME_M_VND): "Thu nhập bình quân (triệu đồng/người/tháng)",
}
_INTS = (str(Col.WORKERS), str(Col.LOCAL_WORKERS), str(Col.FEMALE_WORKERS))
_FLOATS = (str(Col.OUTPUT_BN_VND), str(Col.EXPORTS_MUSD), str(Col.BUDGET_BN_VND), str(Col.AVG_INCOME_M_VND))
_FIGURES = _INTS + _FLOATS


def _norm(text: object) -> str:
    s = unicodedata.normalize("NFC", str(text)).strip().casefold()
    return s.split("(")[0].strip()


_AMBIGUOUS = re.compile(r"^-?\d{1,3}\.\d{3}$")


def _number_text(v: object) -> object:
    """A cell as a number or number text. Text may use the Vietnamese style: 142.704,5 (dot thousands, comma decimal).

    Raises ValueError for text like ``1.050``, which is 1050 in Vietnamese and 1.05 in English.
    """
    if not isinstance(v, str):
        return v
    s = v.strip().replace(" ", "").replace("\u00a0", "")
    if "," in s and "." in s:  # 1.234,5 -> 1234.5
        return s.replace(".", "").replace(",", ".")
    if s.count(",") == 1:  # 12,5 -> 12.5
        return s.replace(",", ".")
    if s.count(".") > 1:  # 1.234.567 -> 1234567
        return s.replace(".", "")
    if _AMBIGUOUS.match(s):
        raise ValueError(
            f"'{v}' is ambiguous (1050 with a Vietnamese thousands dot, or 1.05?); write it without "
            "thousands separators, with a decimal comma (1,05), or as a number cell"
        )
    return s


def _letter(i: int) -> str:
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


class ImportSummary(dict):
    """What :func:`import_reports` did: ``{"added": n, "unchanged": n, "corrections": n, "skipped_blank": n}``."""


def _problem(path: Path, sheet: str, row: int | None, column: str | None, message: str) -> Problem:
    return Problem("error", "report_sheet", message, row=row, field=column, ids=(f"sheet '{sheet}'",), file=str(path))


def read_report_workbook(
    path: str | Path,
    projects: pd.DataFrame,
    *,
    today: Any = None,
) -> tuple[pd.DataFrame, list[Problem], int]:
    """Read and check every sheet of a reports workbook; nothing is written.

    Parameters
    ----------
    path : path
        The ``.xlsx`` workbook.
    projects : DataFrame
        The atlas's ``projects`` table: every row's ``Mã dự án`` must be in it.
    today : date-like, optional
        The date the import runs on (default: today). Periods that have not
        ended by then, and filing dates after it, are refused.

    Returns
    -------
    (DataFrame, list of Problem, int)
        The filings (model columns plus ``period``), the problems found (empty
        when the workbook can be imported) and the number of blank template rows skipped.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file; give the reports workbook (.xlsx)")
    today_ts = pd.Timestamp(today if today is not None else dt.date.today()).normalize()
    try:
        sheets: Mapping[str, pd.DataFrame] = pd.read_excel(path, sheet_name=None, header=0, dtype=object)
    except (ValueError, OSError) as exc:
        raise InputFileError(f"{path}: cannot read the workbook ({exc}); save it as .xlsx and retry") from exc
    known = set(projects[Col.PROJECT_ID].astype(str))
    wanted = {_norm(h): col for col, h in HEADERS.items()}
    problems: list[Problem] = []
    rows: list[dict[str, Any]] = []
    blank = 0
    for sheet, frame in sheets.items():
        sheet = unicodedata.normalize("NFC", str(sheet)).strip()
        try:
            start, end = period_bounds(sheet)
        except KcnGisError:
            problems.append(
                _problem(
                    path,
                    sheet,
                    None,
                    None,
                    f"the sheet name '{sheet}' is not a period; name each sheet after "
                    "its period: a year (2011), a quarter (2011-Q4) or a month (2011-12)",
                )
            )
            continue
        if end > today_ts:
            problems.append(
                _problem(
                    path,
                    sheet,
                    None,
                    None,
                    f"period {sheet} has not ended yet (it ends {end.date()}, today is "
                    f"{today_ts.date()}); reports are filed after their period",
                )
            )
            continue
        cols: dict[str, tuple[Any, str]] = {}
        for k, h in enumerate(frame.columns):
            col = wanted.get(_norm(h))
            if col is not None:
                cols[col] = (h, f"{_letter(k)} '{h}'")
        need = [str(Col.PROJECT_ID), str(Col.FILED_ON), *_FIGURES]
        lacking = [HEADERS[c] for c in need if c not in cols]
        if lacking:
            problems.append(
                _problem(
                    path,
                    sheet,
                    1,
                    None,
                    f"the header row lacks {', '.join(repr(x) for x in lacking)}; "
                    "start from kcn-gis reports template --period PERIOD",
                )
            )
            continue
        seen: dict[str, int] = {}
        for i, rec in enumerate(frame.to_dict(orient="records")):
            excel_row = i + 2
            val = {c: rec[h] for c, (h, _) in cols.items()}
            empty = {
                c: v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" for c, v in val.items()
            }
            figures_empty = all(empty[c] for c in _FIGURES)
            if empty[str(Col.PROJECT_ID)] and empty[str(Col.FILED_ON)] and figures_empty:
                continue  # an empty line
            if empty[str(Col.FILED_ON)] and figures_empty:
                blank += 1  # a template row not filled in: the enterprise has not filed
                continue

            def bad(col: str, msg: str, excel_row: int = excel_row, sheet: str = sheet, cols: dict = cols) -> None:
                problems.append(_problem(path, sheet, excel_row, cols[col][1], msg))

            out: dict[str, Any] = {str(Col.PERIOD): sheet}
            pid = (
                ""
                if empty[str(Col.PROJECT_ID)]
                else unicodedata.normalize("NFC", str(val[str(Col.PROJECT_ID)]).strip())
            )
            if not pid:
                bad(str(Col.PROJECT_ID), "the project id is empty; fill in the Mã dự án of the enterprise's project")
            elif pid not in known:
                bad(str(Col.PROJECT_ID), f"project '{pid}' is not in the atlas's projects; check the Mã dự án "
                    "(kcn-gis reports template lists the projects that must report)")  # fmt: skip
            elif pid in seen:
                bad(str(Col.PROJECT_ID), f"project '{pid}' appears twice in this sheet (also row {seen[pid]}); "
                    "keep one row per enterprise")  # fmt: skip
            else:
                seen[pid] = excel_row
            out[str(Col.PROJECT_ID)] = pid
            if empty[str(Col.FILED_ON)]:
                bad(str(Col.FILED_ON), "the filing date is empty; write the date the report was received (YYYY-MM-DD)")
            else:
                raw = val[str(Col.FILED_ON)]
                d = pd.to_datetime(raw, errors="coerce", dayfirst=isinstance(raw, str) and "/" in raw)
                if pd.isna(d):
                    bad(str(Col.FILED_ON), f"'{raw}' is not a date; write it as YYYY-MM-DD or dd/mm/yyyy")
                elif d.normalize() > today_ts:
                    bad(str(Col.FILED_ON), f"the filing date {d.date()} is in the future (today is {today_ts.date()})")
                elif d.normalize() < start:
                    bad(str(Col.FILED_ON), f"the filing date {d.date()} is before the period {sheet} starts")
                else:
                    out[str(Col.FILED_ON)] = d.normalize()
            for c in _FIGURES:
                if empty[c]:
                    out[c] = None
                    continue
                try:
                    num = pd.to_numeric(_number_text(val[c]), errors="coerce")
                except ValueError as exc:
                    bad(c, str(exc))
                    continue
                if pd.isna(num):
                    bad(c, f"'{val[c]}' is not a number")
                elif num < 0:
                    bad(c, f"{num} is negative; figures are zero or more")
                elif c in _INTS and float(num) % 1 != 0:
                    bad(c, f"{num} is not a whole number of people")
                else:
                    out[c] = int(num) if c in _INTS else float(num)
            w = out.get(str(Col.WORKERS))
            for c in (str(Col.LOCAL_WORKERS), str(Col.FEMALE_WORKERS)):
                if w is not None and out.get(c) is not None and out[c] > w:
                    bad(c, f"{out[c]} is more than the {w} workers of the same row")
            rows.append(out)
    cols_out = [str(Col.PROJECT_ID), str(Col.PERIOD), str(Col.FILED_ON), *_FIGURES]
    return pd.DataFrame(rows, columns=cols_out), problems, blank


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    for c in (str(Col.FILED_ON), *_FIGURES):
        x, y = a.get(c), b.get(c)
        if (x is None or pd.isna(x)) and (y is None or pd.isna(y)):
            continue
        if x is None or y is None or pd.isna(x) or pd.isna(y):
            return False
        if c == str(Col.FILED_ON):
            if pd.Timestamp(x).normalize() != pd.Timestamp(y).normalize():
                return False
        elif abs(float(x) - float(y)) > 1e-9:
            return False
    return True


def import_reports(
    atlas: Atlas,
    path: str | Path,
    *,
    today: Any = None,
    recorded_by: str | None = None,
) -> ImportSummary:
    """Import a reports workbook into ``atlas`` (all or nothing; idempotent).

    Under the atlas's lock on ``enterprise_reports``: read and check the whole
    workbook, compare each filing with the project's current report for the
    period (unchanged: skipped; different: a new revision), and append.

    Raises
    ------
    InputFileError
        Listing every problem with its sheet, Excel row and column; nothing is written.
    """
    path = Path(path)
    filings, problems, blank = read_report_workbook(path, atlas.projects, today=today)
    if problems:
        raise InputFileError.from_problems(problems, header=f"{path}: nothing was imported; fix these and retry:")
    who = recorded_by or getpass.getuser()
    now = pd.Timestamp.now(tz="UTC").tz_localize(None).floor("s")
    summary = ImportSummary(added=0, unchanged=0, corrections=0, skipped_blank=blank)
    if str(Layer.ENTERPRISE_REPORTS) not in atlas.backend.list_layers():  # an atlas from before schema version 2
        from kcn_gis.store.base import empty_layer

        atlas.write({Layer.ENTERPRISE_REPORTS: empty_layer(Layer.ENTERPRISE_REPORTS)})
    with atlas.lock(Layer.ENTERPRISE_REPORTS):
        stored = atlas.enterprise_reports
        cur = (
            current_reports(stored) if len(stored) else stored.assign(first_filed_on=pd.Series(dtype="datetime64[ms]"))
        )
        by_key = {(str(r[Col.PROJECT_ID]), str(r[Col.PERIOD])): r for r in cur.to_dict(orient="records")}
        new_rows: list[dict[str, Any]] = []
        for rec in filings.to_dict(orient="records"):
            key = (rec[str(Col.PROJECT_ID)], rec[str(Col.PERIOD)])
            old = by_key.get(key)
            if old is not None and _same(rec, old):
                summary["unchanged"] += 1
                continue
            rev = 1 if old is None else int(old[Col.REVISION]) + 1
            if old is not None:
                summary["corrections"] += 1
            new_rows.append(
                {
                    str(Col.REPORT_ID): f"{key[0]}/{key[1]}/r{rev}",
                    str(Col.PROJECT_ID): key[0],
                    str(Col.PERIOD): key[1],
                    str(Col.REVISION): rev,
                    **{c: rec[c] for c in (str(Col.FILED_ON), *_FIGURES)},
                    str(Col.RECORDED_AT): now,
                    str(Col.RECORDED_BY): who,
                }
            )
        if new_rows:
            s = spec(Layer.ENTERPRISE_REPORTS)
            frame = pd.DataFrame(new_rows, columns=[c.name for c in s.columns])
            for c in (*_INTS, str(Col.REVISION)):
                frame[c] = pd.array(frame[c].to_numpy(dtype=object), dtype="Int64")
            for c in _FLOATS:
                frame[c] = pd.to_numeric(frame[c]).astype("float64")
            frame[str(Col.FILED_ON)] = pd.to_datetime(frame[str(Col.FILED_ON)]).astype("datetime64[ms]")
            frame[str(Col.RECORDED_AT)] = pd.to_datetime(frame[str(Col.RECORDED_AT)]).astype("datetime64[ms]")
            summary["added"] = atlas.append(Layer.ENTERPRISE_REPORTS, frame)
    log.info("imported %s: %s", path, dict(summary))
    return summary


def write_template(path: str | Path, projects: pd.DataFrame, *, periods: Sequence[Any]) -> int:
    """Write a fill-in workbook: one sheet per period listing the projects that must report.

    Each sheet has the :data:`HEADERS` row and one row per project due for the
    period (``Mã dự án`` and ``Tên doanh nghiệp`` filled in, figures empty).

    Returns
    -------
    int
        The number of project rows written over all sheets.
    """
    path = Path(path)
    if path.suffix.lower() != ".xlsx":
        raise KcnGisError(f"{path}: the template is an Excel workbook; give a .xlsx file name")
    n = 0
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        for period in periods:
            period_bounds(period)
            due = due_projects(projects, period=period)
            sheet = pd.DataFrame({h: pd.Series(dtype=object) for h in HEADERS.values()})
            sheet[HEADERS[str(Col.PROJECT_ID)]] = projects[Col.PROJECT_ID].astype(str).to_numpy()[due]
            if Col.INVESTOR in projects.columns:
                sheet[HEADERS[str(Col.INVESTOR)]] = projects[Col.INVESTOR].astype(object).to_numpy()[due]
            sheet.to_excel(xl, sheet_name=str(period), index=False)
            n += int(due.sum())
    log.info("wrote the reports template %s (%d rows)", path, n)
    return n
