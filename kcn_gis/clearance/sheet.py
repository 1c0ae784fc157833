"""Clearance progress sheets: reading XLSX/CSV, validating rows, importing events, writing templates.

The districts' compensation councils keep progress in Excel. A sheet has one
row per event (a parcel reaching a stage, a complaint, ...). Recognised columns
(header in row 1; Vietnamese headers with or without diacritics):

=================  ======================================================
field              headers
=================  ======================================================
parcel_id          ``Mã thửa``, ``parcel_id``
commune            ``Xã``, ``commune``
map_sheet          ``Tờ bản đồ số``, ``map_sheet``
parcel_no          ``Thửa đất số``, ``parcel_no``
event              ``Giai đoạn``, ``stage``, ``event``
event_date         ``Ngày``, ``date`` (dd/mm/yyyy or an Excel date)
reference          ``Số quyết định``, ``reference``
note               ``Ghi chú``, ``note``
corrects_event_id  ``Đính chính sự kiện``, ``corrects_event_id``
=================  ======================================================

A parcel is identified by ``parcel_id``, or by commune + map sheet + parcel
number. Other layouts are read through a small YAML mapping file (see
:func:`load_mapping`).

Importing is all-or-nothing: any error and nothing is written. Event ids are
derived from the content (parcel, event, date, reference and, for corrections,
the corrected event), so importing the same file twice adds nothing.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import logging
import os
import re
import unicodedata
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kcn_gis.clearance.history import NOT_STARTED, STAGE_RANK, parcel_stages, stage_label
from kcn_gis.errors import ClearanceError, ImportError_, Problem, locate
from kcn_gis.schema import EVENT_LABELS, Col, Event, Layer, spec

if TYPE_CHECKING:
    from kcn_gis.store import Atlas

__all__ = [
    "SHEET_FIELDS",
    "ImportResult",
    "SheetProblem",
    "SheetRow",
    "event_id_for",
    "import_sheet",
    "load_mapping",
    "match_stage",
    "plan_import",
    "problems_table",
    "read_sheet",
    "write_template",
]

log = logging.getLogger(__name__)

#: The fields a sheet can hold, in template order.
SHEET_FIELDS: tuple[str, ...] = (
    Col.PARCEL_ID,
    Col.COMMUNE,
    Col.MAP_SHEET,
    Col.PARCEL_NO,
    Col.EVENT,
    Col.EVENT_DATE,
    Col.REFERENCE,
    Col.NOTE,
    Col.CORRECTS_EVENT_ID,
)

#: Header of each field in written templates (Vietnamese, as the councils write them).
_TEMPLATE_HEADERS: dict[str, str] = {
    Col.PARCEL_ID: "Mã thửa",
    Col.COMMUNE: "Xã",
    Col.MAP_SHEET: "Tờ bản đồ số",
    Col.PARCEL_NO: "Thửa đất số",
    Col.EVENT: "Giai đoạn",
    Col.EVENT_DATE: "Ngày",
    Col.REFERENCE: "Số quyết định",
    Col.NOTE: "Ghi chú",
    Col.CORRECTS_EVENT_ID: "Đính chính sự kiện",
}

_HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    Col.PARCEL_ID: ("parcel_id", "parcel id", "mã thửa", "mã thửa đất"),
    Col.COMMUNE: ("commune", "xã", "xã, phường", "xã/phường/thị trấn", "xã, phường, thị trấn"),
    Col.MAP_SHEET: ("map_sheet", "map sheet", "tờ bản đồ số", "tờ bản đồ", "tờ số", "số tờ"),
    Col.PARCEL_NO: ("parcel_no", "parcel number", "parcel no", "thửa đất số", "thửa số", "số thửa"),
    Col.EVENT: ("event", "stage", "giai đoạn", "sự kiện", "giai đoạn, sự kiện"),
    Col.EVENT_DATE: ("event_date", "date", "ngày", "ngày thực hiện"),
    Col.REFERENCE: ("reference", "số quyết định", "số văn bản", "số qđ"),
    Col.NOTE: ("note", "ghi chú"),
    Col.CORRECTS_EVENT_ID: ("corrects_event_id", "corrects", "đính chính sự kiện", "đính chính"),
}
_FIELD_SYNONYMS = {"stage": Col.EVENT, "date": Col.EVENT_DATE}

#: Extra spellings of stages and events that councils use (besides values and labels).
_STAGE_ALIASES: dict[Event, tuple[str, ...]] = {
    Event.NOTIFIED: ("thông báo thu hồi", "thông báo", "thông báo thu hồi đất"),
    Event.INVENTORIED: ("kiểm đếm", "kiểm đếm tài sản"),
    Event.PLAN_APPROVED: (
        "phê duyệt phương án",
        "duyệt phương án",
        "phê duyệt phương án bồi thường",
        "plan approved",
    ),
    Event.COMPENSATED: ("chi trả", "chi trả tiền bồi thường", "đã chi trả"),
    Event.HANDED_OVER: ("bàn giao", "đã bàn giao", "handed over"),
    Event.COMPLAINT: ("khiếu nại", "đơn khiếu nại"),
    Event.COMPLAINT_RESOLVED: ("đã giải quyết khiếu nại", "complaint resolved"),
    Event.ENFORCEMENT: ("cưỡng chế thu hồi đất",),
    Event.CORRECTION: ("sửa sai",),
}

_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d")
_VN_OFFSET = dt.timedelta(hours=7)  # Asia/Ho_Chi_Minh, no daylight saving


# -- text normalisation ------------------------------------------------------------------------------------------
def _nfc(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _exact_key(text: str) -> str:
    """NFC, case-folded, whitespace collapsed: differences a person does not see."""
    return _nfc(text).casefold()


def _loose_key(text: str) -> str:
    """Like :func:`_exact_key` but also without diacritics and punctuation (``Bàn giao`` -> ``ban giao``)."""
    t = unicodedata.normalize("NFD", _exact_key(text)).replace("đ", "d")
    t = "".join(ch for ch in t if unicodedata.category(ch) != "Mn")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", t).split())


def _cell_text(value: Any) -> str | None:
    """A cell as NFC text: None for empty cells; integral numbers without '.0'."""
    if value is None:
        return None
    if isinstance(value, float):
        if pd.isna(value):
            return None
        if value.is_integer():
            return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = _nfc(str(value))
    return text or None


def _number_key(text: str) -> str:
    """Map sheet and parcel numbers compare without leading zeros: ``05`` = ``5``."""
    t = _exact_key(text)
    return t.lstrip("0") or "0" if t.isdigit() else t


_COMMUNE_PREFIXES = ("xã ", "phường ", "thị trấn ", "xa ", "phuong ", "thi tran ")


def _commune_key(text: str) -> str:
    t = _exact_key(text)
    for p in _COMMUNE_PREFIXES:
        if t.startswith(p):
            return t[len(p) :]
    return t


# -- problems ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SheetProblem(Problem):
    """A :class:`~kcn_gis.errors.Problem` located in a spreadsheet: file, sheet, row (as Excel shows it), column."""

    sheet: str | None = None
    column: str | None = None

    def where(self) -> str:
        parts = [locate(file=self.file)] if self.file else []
        if self.sheet is not None:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


@dataclass
class SheetRow:
    """One data row of a sheet: where it is and its raw values per recognised field.

    ``cells`` maps a field of :data:`SHEET_FIELDS` to the cell value as read
    (text, number, date or None); ``columns`` maps the field to its column label
    as the user sees it, e.g. ``"F 'Giai đoạn'"``.
    """

    file: str
    sheet: str | None
    row: int
    cells: dict[str, Any]
    columns: dict[str, str]


@dataclass
class _Mapping:
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    stages: dict[str, Event] = field(default_factory=dict)
    sheets: tuple[str, ...] | None = None
    header_row: int = 1
    date_formats: tuple[str, ...] = ()


def load_mapping(mapping: str | os.PathLike[str] | Mapping[str, Any] | None) -> _Mapping:
    """Read a YAML mapping file (or an equivalent dict) describing another sheet layout.

    The file may hold::

        columns:            # kcn_gis field: your header (or a list of headers)
          parcel_no: "Số hiệu thửa"
          event: ["Tình trạng", "Trạng thái"]
          event_date: "Ngày thực hiện"
        stages:             # your spelling: stage or event value
          "Đã nhận tiền": compensated
        sheets: ["Tổng hợp"]   # only these sheets (default: every visible sheet)
        header_row: 2          # row of the headers (default 1)
        date_formats: ["%d/%m/%y"]   # extra strptime formats, tried after dd/mm/yyyy

    Fields are those of :data:`SHEET_FIELDS` (``stage`` and ``date`` are accepted
    for ``event`` and ``event_date``).

    Raises
    ------
    ImportError_
        If the file cannot be read or names an unknown field, stage or option.
    """
    if mapping is None:
        return _Mapping()
    where = "mapping"
    if not isinstance(mapping, Mapping):
        import yaml

        where = str(mapping)
        try:
            data = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ImportError_(f"{where}: cannot read the mapping file: {exc}") from exc
    else:
        data = dict(mapping)
    if not isinstance(data, Mapping):
        raise ImportError_(f"{where}: a mapping file is a YAML dictionary with 'columns', 'stages', 'sheets' ...")
    known = {"columns", "stages", "sheets", "header_row", "date_formats"}
    extra = sorted(set(map(str, data)) - known)
    if extra:
        raise ImportError_(f"{where}: unknown option(s) {', '.join(extra)}; use {', '.join(sorted(known))}")
    out = _Mapping()
    for f, headers in dict(data.get("columns") or {}).items():
        name = _FIELD_SYNONYMS.get(str(f), str(f))
        if name not in SHEET_FIELDS:
            raise ImportError_(
                f"{where}: columns: '{f}' is not a field; use one of {', '.join(SHEET_FIELDS)} (or stage, date)"
            )
        hs = (headers,) if isinstance(headers, str) else tuple(str(h) for h in headers)
        out.columns[str(name)] = hs
    for spelling, value in dict(data.get("stages") or {}).items():
        try:
            out.stages[_exact_key(str(spelling))] = Event(str(value))
        except ValueError:
            raise ImportError_(
                f"{where}: stages: '{spelling}' maps to '{value}', which is not one of {', '.join(map(str, Event))}"
            ) from None
    if data.get("sheets") is not None:
        sheets = data["sheets"]
        out.sheets = (str(sheets),) if isinstance(sheets, str) else tuple(str(s) for s in sheets)
    try:
        out.header_row = int(data.get("header_row", 1))
    except (TypeError, ValueError):
        raise ImportError_(f"{where}: header_row must be a row number (1 = first row)") from None
    if out.header_row < 1:
        raise ImportError_(f"{where}: header_row must be 1 or more")
    fmts = data.get("date_formats") or ()
    out.date_formats = (fmts,) if isinstance(fmts, str) else tuple(str(x) for x in fmts)
    return out


# -- stage vocabulary --------------------------------------------------------------------------------------------
def _stage_tables(extra: Mapping[str, Event]) -> tuple[dict[str, Event], dict[str, set[Event]]]:
    exact: dict[str, Event] = {}
    loose: dict[str, set[Event]] = {}
    for ev in Event:
        vi, en = EVENT_LABELS[ev]
        for spelling in (str(ev), str(ev).replace("_", " "), vi, en, *_STAGE_ALIASES.get(ev, ())):
            exact[_exact_key(spelling)] = ev
            loose.setdefault(_loose_key(spelling), set()).add(ev)
    for key, ev in extra.items():
        exact[key] = ev
        loose.setdefault(_loose_key(key), set()).add(ev)
    return exact, loose


def match_stage(text: str, *, extra: Mapping[str, Event] | None = None) -> Event | None:
    """Return the stage or event a cell names, or None when it names none (or several).

    English values (``handed_over``), English labels (``Handed over``) and
    Vietnamese labels (``Bàn giao mặt bằng``) are accepted, case-insensitively,
    after NFC normalisation. Without diacritics (``ban giao mat bang``) a value
    is accepted only when it is unambiguous.
    """
    exact, loose = _stage_tables(extra or {})
    hit = exact.get(_exact_key(text))
    if hit is not None:
        return hit
    cands = loose.get(_loose_key(text), set())
    return next(iter(cands)) if len(cands) == 1 else None


def _accepted_stages() -> str:
    return "; ".join(f"{EVENT_LABELS[e][0]} ({e})" for e in Event)


# -- reading -----------------------------------------------------------------------------------------------------
def _header_table(mapping: _Mapping) -> dict[str, str]:
    table: dict[str, str] = {}
    for f, aliases in _HEADER_ALIASES.items():
        for a in aliases:
            table[_loose_key(a)] = f
    for f, headers in mapping.columns.items():
        for h in headers:
            table[_loose_key(h)] = f
    return table


def _col_letter(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i + 1)


def _rows_from_table(
    file: str,
    sheet: str | None,
    table: list[list[Any]],
    mapping: _Mapping,
    problems: list[Problem],
    recognised: list[str | None],
) -> list[SheetRow]:
    header_at = mapping.header_row
    if len(table) < header_at or not any(_cell_text(v) for v in table[header_at - 1]):
        if any(any(_cell_text(v) for v in r) for r in table):
            problems.append(
                SheetProblem(
                    "warning",
                    "no_header",
                    f"no header in row {header_at}; the sheet was skipped. Put the column names in row "
                    f"{header_at} or set header_row in a mapping file.",
                    file=file,
                    sheet=sheet,
                )
            )
        return []
    headers = table[header_at - 1]
    lookup = _header_table(mapping)
    found: dict[str, int] = {}
    labels: dict[str, str] = {}
    for i, h in enumerate(headers):
        text = _cell_text(h)
        if not text:
            continue
        f = lookup.get(_loose_key(text))
        if f is None:
            continue
        if f in found:
            problems.append(
                SheetProblem(
                    "error",
                    "duplicate_column",
                    f"'{text}' is a second column for {f}; the first is column {labels[f]}. Remove or rename one.",
                    file=file,
                    sheet=sheet,
                    row=header_at,
                    column=f"{_col_letter(i)} '{text}'",
                )
            )
            continue
        found[f] = i
        labels[f] = f"{_col_letter(i)} '{text}'"
    if not found:
        shown = ", ".join(str(_cell_text(h)) for h in headers if _cell_text(h)) or "none"
        problems.append(
            SheetProblem(
                "warning",
                "no_known_columns",
                f"no recognised column (headers: {shown}); the sheet was skipped. Use the headers of "
                "kcn-gis clearance template, or describe your layout in a mapping file (--map).",
                file=file,
                sheet=sheet,
            )
        )
        return []
    recognised.append(sheet)
    missing: list[str] = [str(f) for f in (Col.EVENT, Col.EVENT_DATE) if f not in found]
    has_id = Col.PARCEL_ID in found
    has_triple = all(f in found for f in (Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO))
    if not has_id and not has_triple:
        missing.append("parcel_id (or commune + map_sheet + parcel_no)")
    if missing:
        problems.append(
            SheetProblem(
                "error",
                "missing_column",
                f"missing column(s): {', '.join(map(str, missing))}. Expected headers: "
                + ", ".join(f"{_TEMPLATE_HEADERS[f]} ({f})" for f in SHEET_FIELDS)
                + ". For another layout use a mapping file (--map).",
                file=file,
                sheet=sheet,
                row=header_at,
            )
        )
        return []
    out: list[SheetRow] = []
    for r, values in enumerate(table[header_at:], start=header_at + 1):
        cells = {f: (values[i] if i < len(values) else None) for f, i in found.items()}
        if not any(_cell_text(v) is not None for v in cells.values()):
            continue
        out.append(SheetRow(file=file, sheet=sheet, row=r, cells=cells, columns=dict(labels)))
    return out


def read_sheet(
    path: str | os.PathLike[str], *, mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None
) -> tuple[list[SheetRow], list[Problem]]:
    """Read the data rows of an XLSX or CSV progress sheet.

    Every visible worksheet of a workbook is read (or those named in the
    mapping's ``sheets``); hidden sheets (such as a template's drop-down list)
    are skipped. Cells keep their type: Excel dates stay dates.

    Returns
    -------
    rows : list of SheetRow
        Non-empty rows, with their sheet and row number as Excel shows them.
    problems : list of Problem
        Layout problems (missing columns: errors; sheets skipped: warnings).

    Raises
    ------
    ImportError_
        If the file cannot be read.
    """
    p = Path(path)
    m = load_mapping(mapping)
    problems: list[Problem] = []
    rows: list[SheetRow] = []
    recognised: list[str | None] = []
    if not p.exists():
        raise ImportError_(f"{p}: no such file")
    suffix = p.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # openpyxl: unsupported extensions are dropped on read
                wb = openpyxl.load_workbook(p, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds (zipfile, KeyError, InvalidFileException)
            raise ImportError_(f"{p}: cannot be read as an Excel workbook ({exc}); save it as .xlsx") from exc
        names = [ws.title for ws in wb.worksheets]
        if m.sheets is not None:
            unknown = [s for s in m.sheets if s not in names]
            if unknown:
                raise ImportError_(f"{p}: no sheet(s) {', '.join(unknown)}; the workbook has {', '.join(names)}")
        for ws in wb.worksheets:
            if m.sheets is not None and ws.title not in m.sheets:
                continue
            if m.sheets is None and ws.sheet_state != "visible":
                log.info("%s: skipping hidden sheet %s", p, ws.title)
                continue
            table = [list(r) for r in ws.iter_rows(values_only=True)]
            rows += _rows_from_table(p.name, ws.title, table, m, problems, recognised)
        wb.close()
    elif suffix in (".csv", ".txt"):
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportError_(f"{p}: is not UTF-8 text ({exc}); save the CSV as 'CSV UTF-8' in Excel") from exc
        try:
            dialect = csv.Sniffer().sniff(text.split("\n", 1)[0], delimiters=",;\t")
            delimiter = dialect.delimiter
        except csv.Error:
            delimiter = ","
        table = [list(r) for r in csv.reader(text.splitlines(), delimiter=delimiter)]
        rows += _rows_from_table(p.name, None, table, m, problems, recognised)
    else:
        raise ImportError_(f"{p}: unsupported file type '{p.suffix}'; import an .xlsx or .csv sheet")
    if not recognised:
        problems.append(
            SheetProblem(
                "error",
                "no_data",
                "no sheet has recognised columns, so nothing can be imported: missing column(s) for the parcel, "
                "Giai đoạn and Ngày. Use the headers of kcn-gis clearance template, or a mapping file (--map).",
                file=p.name,
            )
        )
    return rows, problems


# -- validating and planning ---------------------------------------------------------------------------------------
def event_id_for(
    parcel_id: str, event: str, event_date: dt.date, reference: str | None, corrects: str | None = None
) -> str:
    """Return the deterministic id of an event: ``ev-`` and 20 hex digits of a SHA-256 of its content.

    The content is the parcel, the event, the date, the reference (decision
    number) and, for corrections, the corrected event id. The same row imported
    twice gets the same id, so it is recognised and skipped.
    """
    material = "\x1f".join(
        [_nfc(parcel_id), str(event), event_date.isoformat(), _nfc(reference or ""), _nfc(corrects or "")]
    )
    return "ev-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]


def _parse_date(value: Any, formats: tuple[str, ...]) -> dt.date | str:
    """A date, or an error message."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"'{_cell_text(value)}' is a number, not a date; format the cell as a date or type it as dd/mm/yyyy"
    text = _cell_text(value) or ""
    for fmt in (*_DATE_FORMATS, *formats):
        try:
            d = dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
        if d.year < 1900:
            break
        return d
    return f"'{text}' is not a date; write it as dd/mm/yyyy, e.g. 26/12/2011"


@dataclass
class _Parsed:
    src: SheetRow
    parcel_id: str
    event: Event
    date: dt.date
    reference: str | None
    note: str | None
    corrects_text: str | None
    event_id: str = ""
    corrects: str | None = None
    order: int = 0


@dataclass
class ImportResult:
    """What an import did, or would do with ``dry_run``.

    Attributes
    ----------
    path : str
        The sheet imported.
    new_events : DataFrame
        The events appended (or that would be), with the ``clearance_events``
        columns plus ``sheet`` and ``row`` (where each came from).
    duplicates : DataFrame
        Rows already in the atlas, skipped: ``sheet``, ``row``, ``event_id``,
        ``parcel_id``, ``event``, ``event_date``.
    problems : list of Problem
        Warnings (an import with errors raises instead).
    dry_run : bool
        True when nothing was written on purpose.
    written : int
        Number of events written (0 on a dry run).
    """

    path: str
    new_events: pd.DataFrame
    duplicates: pd.DataFrame
    problems: list[Problem]
    dry_run: bool = False
    written: int = 0

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    def summary(self) -> str:
        """One line for people, e.g. ``3 new events, 2 already recorded (dry run: nothing written)``."""
        tail = " (dry run: nothing written)" if self.dry_run else f"; {self.written} written"
        warn = f", {len(self.problems)} warning(s)" if self.problems else ""
        return f"{self.path}: {len(self.new_events)} new event(s), {len(self.duplicates)} already recorded{warn}{tail}"


def problems_table(problems: list[Problem]) -> pd.DataFrame:
    """Problems as a table: ``severity``, ``check``, ``file``, ``sheet``, ``row``, ``column``, ``message``."""
    rows = [
        {
            "severity": p.severity,
            "check": p.check,
            "file": p.file,
            "sheet": getattr(p, "sheet", None),
            "row": p.row,
            "column": getattr(p, "column", None) or p.field,
            "message": p.message,
        }
        for p in problems
    ]
    frame = pd.DataFrame(rows, columns=["severity", "check", "file", "sheet", "row", "column", "message"])
    frame["row"] = frame["row"].astype("Int64")
    return frame


class _ParcelIndex:
    def __init__(self, parcels: pd.DataFrame) -> None:
        ids = parcels[Col.PARCEL_ID].astype(object).to_numpy()
        self.ids = {str(i) for i in ids}
        self.triple_of: dict[str, tuple[str, str, str]] = {}
        self.by_triple: dict[tuple[str, str, str], list[str]] = {}
        self.communes_loose: dict[str, set[str]] = {}
        cols = [parcels[c].astype(object).to_numpy() for c in (Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO)]
        for pid, c, s, n in zip(ids, *cols, strict=True):
            if any(v is None or (not isinstance(v, str) and pd.isna(v)) for v in (c, s, n)):
                continue
            key = (_commune_key(str(c)), _number_key(str(s)), _number_key(str(n)))
            self.triple_of[str(pid)] = key
            self.by_triple.setdefault(key, []).append(str(pid))
            self.communes_loose.setdefault(_loose_key(key[0]), set()).add(key[0])

    def commune(self, text: str) -> str:
        """The atlas's commune key for ``text``; without diacritics only when that names one commune."""
        key = _commune_key(text)
        cands = self.communes_loose.get(_loose_key(key), set())
        if key in cands or len(cands) != 1:
            return key
        return next(iter(cands))


def _problem(row: SheetRow, f: str | None, check: str, message: str, severity: str = "error") -> SheetProblem:
    return SheetProblem(
        severity,
        check,
        message,
        row=row.row,
        field=f,
        file=row.file,
        sheet=row.sheet,
        column=row.columns.get(f) if f else None,
    )


def _today_vn(now: dt.datetime) -> dt.date:
    utc = now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now
    return (utc + _VN_OFFSET).date()


def plan_import(
    rows: list[SheetRow],
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    *,
    recorded_by: str,
    now: dt.datetime,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    path: str = "",
) -> tuple[ImportResult, list[Problem]]:
    """Validate sheet rows against the atlas and work out the events to append (pure, no I/O).

    Parameters
    ----------
    rows : list of SheetRow
        From :func:`read_sheet`.
    parcels : DataFrame
        The ``parcels`` layer (attributes only are used).
    events : DataFrame
        The existing ``clearance_events``.
    recorded_by : str
        Who records the events.
    now : datetime
        The recording time (naive = UTC). Dates after today in Vietnam (UTC+7) are refused.
    mapping : optional
        The mapping (for extra stage spellings and date formats).

    Returns
    -------
    result : ImportResult
        New events and duplicates (``written`` = 0).
    problems : list of Problem
        Errors and warnings; any error means nothing may be written.
    """
    m = load_mapping(mapping)
    problems: list[Problem] = []
    idx = _ParcelIndex(parcels)
    today = _today_vn(now)
    exact, loose = _stage_tables(m.stages)
    parsed: list[_Parsed] = []
    for order, row in enumerate(rows):
        c = {f: _cell_text(v) for f, v in row.cells.items()}
        if not any(c.get(f) for f in (Col.EVENT, Col.EVENT_DATE, Col.REFERENCE, Col.NOTE, Col.CORRECTS_EVENT_ID)):
            continue  # a template row left blank: nothing to record
        ok = True
        # parcel
        pid = c.get(Col.PARCEL_ID)
        triple = (c.get(Col.COMMUNE), c.get(Col.MAP_SHEET), c.get(Col.PARCEL_NO))
        if pid:
            if pid not in idx.ids:
                problems.append(
                    _problem(row, Col.PARCEL_ID, "unknown_parcel", f"parcel '{pid}' is not in the atlas; check Mã thửa")
                )
                ok = False
            elif all(triple):
                key = (idx.commune(triple[0] or ""), _number_key(triple[1] or ""), _number_key(triple[2] or ""))
                if idx.triple_of.get(pid) not in (None, key):
                    problems.append(
                        _problem(
                            row,
                            Col.PARCEL_ID,
                            "parcel_mismatch",
                            f"Mã thửa '{pid}' is not Xã '{triple[0]}' tờ {triple[1]} thửa {triple[2]} "
                            "in the atlas; correct one of them",
                        )
                    )
                    ok = False
        elif all(triple):
            key = (idx.commune(triple[0] or ""), _number_key(triple[1] or ""), _number_key(triple[2] or ""))
            hits = idx.by_triple.get(key, [])
            where = f"Xã '{triple[0]}', tờ bản đồ số {triple[1]}, thửa đất số {triple[2]}"
            if not hits:
                problems.append(
                    _problem(
                        row,
                        Col.PARCEL_NO,
                        "unknown_parcel",
                        f"no parcel {where} in the atlas; check the commune, map sheet and parcel number",
                    )
                )
                ok = False
            elif len(hits) > 1:
                problems.append(
                    _problem(
                        row,
                        Col.PARCEL_NO,
                        "ambiguous_parcel",
                        f"{where} matches {len(hits)} parcels ({', '.join(sorted(hits))}); "
                        "add the Mã thửa (parcel_id) column to say which",
                    )
                )
                ok = False
            else:
                pid = hits[0]
        else:
            missing = [h for h, v in zip(("Xã", "Tờ bản đồ số", "Thửa đất số"), triple, strict=True) if not v]
            problems.append(
                _problem(
                    row,
                    Col.PARCEL_ID,
                    "missing_parcel",
                    f"the parcel is not identified: fill Mã thửa, or Xã + Tờ bản đồ số + Thửa đất số "
                    f"(missing: {', '.join(missing)})",
                )
            )
            ok = False
        # stage
        stage_text = c.get(Col.EVENT)
        ev: Event | None = None
        if not stage_text:
            problems.append(_problem(row, Col.EVENT, "missing_stage", "the stage (Giai đoạn) is empty; fill it in"))
            ok = False
        else:
            ev = exact.get(_exact_key(stage_text))
            if ev is None:
                cands = loose.get(_loose_key(stage_text), set())
                ev = next(iter(cands)) if len(cands) == 1 else None
                if ev is None:
                    why = " (ambiguous without diacritics)" if len(cands) > 1 else ""
                    problems.append(
                        _problem(
                            row,
                            Col.EVENT,
                            "unknown_stage",
                            f"'{stage_text}' is not a stage or event{why}; use one of: {_accepted_stages()}",
                        )
                    )
                    ok = False
        # date
        raw_date = row.cells.get(Col.EVENT_DATE)
        date: dt.date | None = None
        if _cell_text(raw_date) is None:
            problems.append(_problem(row, Col.EVENT_DATE, "missing_date", "the date (Ngày) is empty; fill it in"))
            ok = False
        else:
            d = _parse_date(raw_date, m.date_formats)
            if isinstance(d, str):
                problems.append(_problem(row, Col.EVENT_DATE, "bad_date", d))
                ok = False
            elif d > today:
                problems.append(
                    _problem(
                        row,
                        Col.EVENT_DATE,
                        "future_date",
                        f"{d:%d/%m/%Y} is in the future (today is {today:%d/%m/%Y}); record events once they happen",
                    )
                )
                ok = False
            else:
                date = d
        corrects_text = c.get(Col.CORRECTS_EVENT_ID)
        if ev is not None and ev != Event.CORRECTION and corrects_text:
            problems.append(
                _problem(
                    row,
                    Col.CORRECTS_EVENT_ID,
                    "not_a_correction",
                    f"only a correction (Đính chính) names a corrected event, but the stage is '{stage_text}'; "
                    "empty the Đính chính sự kiện cell or set the stage to Đính chính",
                )
            )
            ok = False
        if ev == Event.CORRECTION:
            if not c.get(Col.NOTE):
                problems.append(
                    _problem(
                        row,
                        Col.NOTE,
                        "correction_without_reason",
                        "a correction must give its reason in Ghi chú (note)",
                    )
                )
                ok = False
            if not corrects_text:
                problems.append(
                    _problem(
                        row,
                        Col.CORRECTS_EVENT_ID,
                        "correction_without_target",
                        "a correction must name the event it corrects in Đính chính sự kiện: its event id "
                        "(kcn-gis clearance timeline PARCEL) or its stage, e.g. Bàn giao mặt bằng",
                    )
                )
                ok = False
        if ok and ev is not None and date is not None and pid:
            parsed.append(
                _Parsed(
                    src=row,
                    parcel_id=pid,
                    event=ev,
                    date=date,
                    reference=c.get(Col.REFERENCE),
                    note=c.get(Col.NOTE),
                    corrects_text=corrects_text,
                    order=order,
                )
            )

    existing = _existing_events(events)
    _resolve_corrections(parsed, existing, exact, loose, problems)
    new, dups = _dedupe(parsed, existing, problems)
    _check_sequences(new, existing, problems)
    recorded_at = (now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now).replace(microsecond=0)
    result = ImportResult(
        path=path,
        new_events=_new_frame(new, recorded_by=recorded_by, recorded_at=recorded_at),
        duplicates=pd.DataFrame(
            [
                {
                    "sheet": p.src.sheet,
                    "row": p.src.row,
                    Col.EVENT_ID: p.event_id,
                    Col.PARCEL_ID: p.parcel_id,
                    Col.EVENT: str(p.event),
                    Col.EVENT_DATE: pd.Timestamp(p.date),
                }
                for p in dups
            ],
            columns=["sheet", "row", Col.EVENT_ID, Col.PARCEL_ID, Col.EVENT, Col.EVENT_DATE],
        ),
        problems=[p for p in problems if p.severity != "error"],
    )
    return result, problems


@dataclass
class _Known:
    event_id: str
    parcel_id: str
    event: str
    date: dt.date
    note: str | None
    corrects: str | None
    new: _Parsed | None = None


def _existing_events(events: pd.DataFrame) -> dict[str, _Known]:
    if events is None or len(events) == 0:
        return {}
    ids = events[Col.EVENT_ID].astype(object).to_numpy()
    pids = events[Col.PARCEL_ID].astype(object).to_numpy()
    kinds = events[Col.EVENT].astype(object).to_numpy()
    dates = pd.to_datetime(events[Col.EVENT_DATE]).dt.date.to_numpy()
    notes = events[Col.NOTE].astype(object).to_numpy() if Col.NOTE in events else [None] * len(events)
    corr = (
        events[Col.CORRECTS_EVENT_ID].astype(object).to_numpy()
        if Col.CORRECTS_EVENT_ID in events
        else [None] * len(events)
    )

    def clean(v: Any) -> str | None:
        return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    return {
        str(i): _Known(str(i), str(p), str(k), d, clean(n), clean(c))
        for i, p, k, d, n, c in zip(ids, pids, kinds, dates, notes, corr, strict=True)
    }


def _resolve_corrections(
    parsed: list[_Parsed],
    existing: dict[str, _Known],
    exact: dict[str, Event],
    loose: dict[str, set[Event]],
    problems: list[Problem],
) -> None:
    """Give each row its event id; turn each correction's target (id or stage name) into an event id."""
    for p in parsed:
        if p.event != Event.CORRECTION:
            p.event_id = event_id_for(p.parcel_id, p.event, p.date, p.reference)
    new_by_id = {p.event_id: p for p in parsed if p.event != Event.CORRECTION}
    already = {k.corrects for k in existing.values() if k.event == Event.CORRECTION and k.corrects}
    bad: list[_Parsed] = []
    taken: dict[str, _Parsed] = {}
    for p in parsed:
        if p.event != Event.CORRECTION:
            continue
        text = p.corrects_text or ""
        target: str | None = None
        if text in existing or text in new_by_id:
            target = text
            tgt_parcel = existing[text].parcel_id if text in existing else new_by_id[text].parcel_id
            tgt_kind = existing[text].event if text in existing else str(new_by_id[text].event)
            if tgt_parcel != p.parcel_id:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "correction_target_mismatch",
                        f"event '{text}' belongs to parcel {tgt_parcel}, not {p.parcel_id}",
                    )
                )
                bad.append(p)
                continue
            if text in already:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "already_corrected",
                        f"event '{text}' has already been corrected; see kcn-gis clearance timeline {p.parcel_id}",
                    )
                )
                bad.append(p)
                continue
            if tgt_kind == Event.CORRECTION:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "correction_of_correction",
                        f"event '{text}' is itself a correction; record the right event again instead",
                    )
                )
                bad.append(p)
                continue
        else:
            stage = exact.get(_exact_key(text))
            if stage is None:
                c = loose.get(_loose_key(text), set())
                stage = next(iter(c)) if len(c) == 1 else None
            if stage is None or stage == Event.CORRECTION:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "unknown_correction_target",
                        f"'{text}' is neither an event id of this parcel nor a stage; see its events with "
                        f"kcn-gis clearance timeline {p.parcel_id}",
                    )
                )
                bad.append(p)
                continue
            cands = [
                k.event_id
                for k in existing.values()
                if k.parcel_id == p.parcel_id and k.event == stage and k.event_id not in already and k.date <= p.date
            ]
            cands += [
                q.event_id
                for q in parsed
                if q.parcel_id == p.parcel_id and q.event == stage and q.event_id not in existing and q.date <= p.date
            ]
            cands = list(dict.fromkeys(cands))
            if len(cands) != 1:
                what = "no" if not cands else f"{len(cands)}"
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "unknown_correction_target" if not cands else "ambiguous_correction_target",
                        f"parcel {p.parcel_id} has {what} uncorrected '{stage}' event(s) dated on or before {p.date:%d/%m/%Y}"
                        + (f" ({', '.join(cands)}); write the event id instead" if cands else ""),
                    )
                )
                bad.append(p)
                continue
            target = cands[0]
        prev = taken.get(str(target))
        if prev is not None and (prev.date, prev.reference) != (p.date, p.reference):
            problems.append(
                _problem(
                    p.src,
                    Col.CORRECTS_EVENT_ID,
                    "already_corrected",
                    f"event '{target}' is already corrected in row {prev.src.row}; keep one correction",
                )
            )
            bad.append(p)
            continue
        taken.setdefault(str(target), p)
        p.corrects = target
        p.event_id = event_id_for(p.parcel_id, p.event, p.date, p.reference, target)
    for p in bad:
        parsed.remove(p)


def _dedupe(
    parsed: list[_Parsed], existing: dict[str, _Known], problems: list[Problem]
) -> tuple[list[_Parsed], list[_Parsed]]:
    seen: dict[str, _Parsed] = {}
    new: list[_Parsed] = []
    dups: list[_Parsed] = []
    for p in parsed:
        if p.event_id in seen:
            first = seen[p.event_id].src
            where = f"sheet '{first.sheet}' row {first.row}" if first.sheet else f"row {first.row}"
            problems.append(
                _problem(
                    p.src,
                    None,
                    "duplicate_row",
                    f"the same event as {where} (parcel {p.parcel_id}, {p.event}, {p.date:%d/%m/%Y}, "
                    f"reference {p.reference or '-'}); delete one of the two rows",
                )
            )
            continue
        seen[p.event_id] = p
        if p.event_id in existing:
            dups.append(p)
            old = existing[p.event_id].note
            if (old or None) != (p.note or None):
                problems.append(
                    _problem(
                        p.src,
                        Col.NOTE,
                        "note_not_updated",
                        f"event {p.event_id} is already recorded with the note '{old or ''}'; events are never "
                        "edited, so the new note was not stored. Record a correction to change it.",
                        severity="warning",
                    )
                )
        else:
            new.append(p)
    return new, dups


def _check_sequences(new: list[_Parsed], existing: dict[str, _Known], problems: list[Problem]) -> None:
    """Skipped stages without a note, regressions that are not corrections, stages recorded twice."""
    touched = {p.parcel_id for p in new}
    if not touched:
        return
    known: dict[str, list[_Known]] = {pid: [] for pid in touched}
    for k in existing.values():
        if k.parcel_id in known:
            known[k.parcel_id].append(k)
    for p in new:
        known[p.parcel_id].append(_Known(p.event_id, p.parcel_id, str(p.event), p.date, p.note, p.corrects, new=p))
    for _pid, evs in known.items():
        voided = {k.corrects for k in evs if k.event == Event.CORRECTION and k.corrects}
        stages = [k for k in evs if k.event in STAGE_RANK and k.event_id not in voided]

        def earlier(a: _Known, b: _Known) -> bool:
            """Is ``b`` reported against before ``a`` (existing events and earlier rows come first)."""
            if b.new is None:
                return True
            return a.new is not None and b.new.order < a.new.order

        for k in stages:
            if k.new is None:
                continue
            r = STAGE_RANK[k.event]
            label = stage_label(k.event)
            for f in stages:
                if f is k or not earlier(k, f):
                    continue
                rf = STAGE_RANK[f.event]
                src = "in the atlas" if f.new is None else f"in row {f.new.src.row}"
                if rf == r:
                    problems.append(
                        _problem(
                            k.new.src,
                            Col.EVENT,
                            "stage_repeated",
                            f"parcel {k.parcel_id} already reached '{label}' on {f.date:%d/%m/%Y} "
                            f"({src}, event {f.event_id}); if that was wrong, record a correction of it first",
                        )
                    )
                elif (f.date < k.date and rf > r) or (f.date > k.date and rf < r):
                    problems.append(
                        _problem(
                            k.new.src,
                            Col.EVENT,
                            "regression",
                            f"'{label}' on {k.date:%d/%m/%Y} goes against the process order: parcel {k.parcel_id} "
                            f"has '{stage_label(f.event)}' on {f.date:%d/%m/%Y} ({src}, event {f.event_id}). "
                            "A parcel only goes back through a correction (Đính chính) of that event.",
                        )
                    )
            have = {STAGE_RANK[f.event] for f in stages}
            skipped = [str(s) for s, rank in STAGE_RANK.items() if rank < r and rank not in have]
            if skipped and not k.new.note:
                problems.append(
                    _problem(
                        k.new.src,
                        Col.EVENT,
                        "stage_skipped",
                        f"'{label}' skips {', '.join(stage_label(s) for s in skipped)} for parcel {k.parcel_id}; "
                        "record the missing stage(s), or explain in Ghi chú (note) why they were skipped",
                    )
                )


def _new_frame(new: list[_Parsed], *, recorded_by: str, recorded_at: dt.datetime) -> pd.DataFrame:
    cols = [c.name for c in spec(Layer.CLEARANCE_EVENTS).columns]
    rows = [
        {
            Col.EVENT_ID: p.event_id,
            Col.PARCEL_ID: p.parcel_id,
            Col.EVENT: str(p.event),
            Col.EVENT_DATE: pd.Timestamp(p.date),
            Col.REFERENCE: p.reference,
            Col.NOTE: p.note,
            Col.RECORDED_AT: pd.Timestamp(recorded_at),
            Col.RECORDED_BY: recorded_by,
            Col.CORRECTS_EVENT_ID: p.corrects,
            "sheet": p.src.sheet,
            "row": p.src.row,
        }
        for p in sorted(new, key=lambda q: (q.date, STAGE_RANK.get(str(q.event), 9), q.order))
    ]
    frame = pd.DataFrame(rows, columns=[*cols, "sheet", "row"])
    for c in (Col.EVENT_ID, Col.PARCEL_ID, Col.EVENT, Col.REFERENCE, Col.NOTE, Col.RECORDED_BY, Col.CORRECTS_EVENT_ID):
        frame[c] = frame[c].astype("str")
    frame[Col.EVENT_DATE] = pd.to_datetime(frame[Col.EVENT_DATE]).astype("datetime64[ms]")
    frame[Col.RECORDED_AT] = pd.to_datetime(frame[Col.RECORDED_AT]).astype("datetime64[ms]")
    frame["row"] = frame["row"].astype("Int64")
    frame["sheet"] = frame["sheet"].astype("str")
    return frame


def import_sheet(
    atlas: Atlas,
    path: str | os.PathLike[str],
    *,
    recorded_by: str,
    dry_run: bool = False,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    now: dt.datetime | None = None,
) -> ImportResult:
    """Import a clearance progress sheet (XLSX or CSV) into an atlas: all rows or none.

    Parameters
    ----------
    atlas : Atlas
        The atlas to append to (``kcn_gis.open_atlas(...)``).
    path : path-like
        The ``.xlsx`` or ``.csv`` sheet.
    recorded_by : str
        Who records the events (stored in ``recorded_by``).
    dry_run : bool, default False
        Validate and report what would be added, write nothing.
    mapping : path or dict, optional
        A YAML mapping for other layouts (see :func:`load_mapping`).
    now : datetime, optional
        The recording time (``recorded_at``; naive = UTC). Default: now.
        Event dates after today (Vietnam time) are refused.

    Returns
    -------
    ImportResult
        New events, duplicates skipped and warnings.

    Raises
    ------
    ClearanceError
        If any row has an error: unknown or ambiguous parcel, unknown stage,
        unparseable or future date, skipped stage without a note, regression
        that is not a correction, duplicate row, ... Each problem (in
        ``.problems``) names the sheet, row and column. Nothing is written.
    ImportError_
        If the file cannot be read.
    """
    if not recorded_by or not str(recorded_by).strip():
        raise ClearanceError("recorded_by is empty; say who records these events (--recorded-by NAME)")
    now = now or dt.datetime.now(dt.UTC)
    rows, read_problems = read_sheet(path, mapping=mapping)
    # Read, validate and append under the layer lock, so that concurrent imports (several staff, several
    # processes) each validate against the history that includes the others' committed events.
    can_lock = not dry_run and hasattr(atlas.backend, "lock") and hasattr(atlas, "lock")
    with atlas.lock(Layer.CLEARANCE_EVENTS) if can_lock else contextlib.nullcontext():
        return _import_locked(
            atlas, path, rows, read_problems, recorded_by=recorded_by, dry_run=dry_run, mapping=mapping, now=now
        )


def _import_locked(
    atlas: Atlas,
    path: str | os.PathLike[str],
    rows: list[SheetRow],
    read_problems: list[Problem],
    *,
    recorded_by: str,
    dry_run: bool,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | None,
    now: dt.datetime,
) -> ImportResult:
    result, problems = plan_import(
        rows,
        atlas.parcels,
        atlas.clearance_events,
        recorded_by=_nfc(str(recorded_by)),
        now=now,
        mapping=mapping,
        path=str(path),
    )
    problems = sorted([*read_problems, *problems], key=lambda p: (str(getattr(p, "sheet", "") or ""), p.row or 0))
    result.problems = [p for p in problems if p.severity != "error"]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise ClearanceError.from_problems(
            errors, header=f"{path}: {len(errors)} problem(s); nothing was imported into {atlas.location}:"
        )
    result.dry_run = dry_run
    if not dry_run and len(result.new_events):
        frame = result.new_events.drop(columns=["sheet", "row"])
        if not (result.new_events[Col.CORRECTS_EVENT_ID].notna().any()) and (
            Col.CORRECTS_EVENT_ID not in atlas.clearance_events.columns
        ):
            frame = frame.drop(columns=[Col.CORRECTS_EVENT_ID])
        result.written = atlas.append(Layer.CLEARANCE_EVENTS, frame)
        log.info("imported %d clearance events from %s into %s", result.written, path, atlas.location)
    return result


# -- templates ---------------------------------------------------------------------------------------------------
_LIST_SHEET = "DanhMuc"


def write_template(atlas: Atlas, park_id: str, path: str | os.PathLike[str], *, as_of: Any = None) -> Path:
    """Write a ready-to-fill progress sheet (XLSX) for one park.

    One row per parcel of the park, with its id, commune, map sheet, parcel
    number, holder, legal area and current stage (for information), and empty
    Giai đoạn / Ngày / Số quyết định / Ghi chú / Đính chính sự kiện cells to
    fill. The Giai đoạn column has a drop-down of the Vietnamese stage and
    event names; Ngày is formatted dd/mm/yyyy. Add rows for more events of one
    parcel by copying its row.

    Parameters
    ----------
    atlas : Atlas
    park_id : str
    path : path-like
        The ``.xlsx`` to write.
    as_of : date-like, optional
        Date of the "current stage" column. Default: today.

    Raises
    ------
    ClearanceError
        If the park has no parcels in the atlas (the message lists the parks that have).
    """
    import openpyxl
    from openpyxl.styles import Font, PatternFill
    from openpyxl.worksheet.datavalidation import DataValidation

    parcels = atlas.parcels
    mine = parcels[(parcels[Col.PARK_ID] == park_id).to_numpy()]
    if mine.empty:
        have = ", ".join(sorted(map(str, parcels[Col.PARK_ID].dropna().unique()))) or "none"
        raise ClearanceError(f"park '{park_id}' has no parcels in {atlas.location}; parks with parcels: {have}")
    stages = parcel_stages(atlas.clearance_events, mine, as_of=as_of)
    mine = mine.assign(stage_now__=stages["stage"].to_numpy()).sort_values(
        [Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO, Col.PARCEL_ID], key=lambda s: s.map(_sort_key)
    )
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = _sheet_title(park_id)
    info = ["Chủ sử dụng", "Diện tích pháp lý (m²)", "Giai đoạn hiện tại"]
    headers = [
        _TEMPLATE_HEADERS[Col.PARCEL_ID],
        _TEMPLATE_HEADERS[Col.COMMUNE],
        _TEMPLATE_HEADERS[Col.MAP_SHEET],
        _TEMPLATE_HEADERS[Col.PARCEL_NO],
        *info,
        *(_TEMPLATE_HEADERS[f] for f in (Col.EVENT, Col.EVENT_DATE, Col.REFERENCE, Col.NOTE, Col.CORRECTS_EVENT_ID)),
    ]
    ws.append(headers)
    bold = Font(bold=True)
    grey = PatternFill("solid", fgColor="EEEEEE")
    for cell in ws[1]:
        cell.font = bold
    for rec in mine.itertuples(index=False):
        d = rec._asdict()
        stage = d["stage_now__"]
        ws.append(
            [
                d[Col.PARCEL_ID],
                d[Col.COMMUNE],
                d[Col.MAP_SHEET],
                d[Col.PARCEL_NO],
                None if pd.isna(d.get(Col.HOLDER_NAME)) else d.get(Col.HOLDER_NAME),
                None if pd.isna(d.get(Col.LEGAL_AREA_M2)) else float(d[Col.LEGAL_AREA_M2]),
                stage_label(stage if not pd.isna(stage) else NOT_STARTED),
                None,
                None,
                None,
                None,
                None,
            ]
        )
    last = ws.max_row + 500  # room for extra event rows
    for r in range(2, ws.max_row + 1):
        for col in range(5, 8):
            ws.cell(row=r, column=col).fill = grey
    date_col = headers.index(_TEMPLATE_HEADERS[Col.EVENT_DATE]) + 1
    stage_col = headers.index(_TEMPLATE_HEADERS[Col.EVENT]) + 1
    for r in range(2, last + 1):
        ws.cell(row=r, column=date_col).number_format = "DD/MM/YYYY"
    lists = wb.create_sheet(_LIST_SHEET)
    lists.append(["Giai đoạn, sự kiện", "Stage or event", "Giá trị"])
    for ev in Event:
        vi, en = EVENT_LABELS[ev]
        lists.append([vi, en, str(ev)])
    lists.sheet_state = "hidden"
    letter = _col_letter(stage_col - 1)
    dv = DataValidation(
        type="list",
        formula1=f"{_LIST_SHEET}!$A$2:$A${len(Event) + 1}",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Giai đoạn",
        error="Chọn giai đoạn trong danh sách / pick a stage from the list",
    )
    ws.add_data_validation(dv)
    dv.add(f"{letter}2:{letter}{last}")
    widths = [14, 18, 12, 12, 26, 14, 26, 34, 12, 18, 30, 22]
    for i, w in enumerate(widths):
        ws.column_dimensions[_col_letter(i)].width = w
    ws.freeze_panes = "B2"
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    wb.save(out)
    log.info("wrote a clearance template for park %s (%d parcels) to %s", park_id, len(mine), out)
    return out


def _sheet_title(park_id: str) -> str:
    title = re.sub(r"[\[\]:*?/\\]", "-", f"Tiến độ GPMB {park_id}")
    return title[:31]


def _sort_key(value: Any) -> Any:
    text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
    return text.zfill(12) if text.isdigit() else text
