"""Reading clearance progress sheets (XLSX/CSV) into located rows, through the shared table reader.

The districts' compensation councils keep progress in Excel, in one of two layouts.

**Long** (one row per event, as ``kcn-gis clearance template`` writes it):

=================  ======================================================
field              headers
=================  ======================================================
parcel_id          ``Mã thửa``, ``parcel_id``
commune            ``Xã``, ``commune``
map_sheet          ``Tờ bản đồ số``, ``Số tờ``, ``map_sheet``
parcel_no          ``Thửa đất số``, ``Số thửa``, ``parcel_no``
event              ``Giai đoạn``, ``stage``, ``event``
event_date         ``Ngày``, ``date`` (dd/mm/yyyy or an Excel date)
reference          ``Số quyết định``, ``reference``
note               ``Ghi chú``, ``note``
corrects_event_id  ``Đính chính sự kiện``, ``corrects_event_id``
=================  ======================================================

**Wide** (one row per parcel, one date column per stage, as the councils keep
it): ``STT | Số tờ | Số thửa | Họ tên chủ sử dụng | Diện tích thu hồi (m²)``
and, under a merged ``Tiến độ thực hiện``, ``Thông báo thu hồi | Kiểm đếm |
Phê duyệt PA | Chi trả | Bàn giao``, each cell the date the stage was reached.
Every dated cell is one event. One sheet per commune: without a commune
column, the sheet name is the commune (``Mão Điền`` = ``Xã Mão Điền``).

Title rows, two-row merged headers and the numbering row ``(1) (2) ...`` are
handled by :mod:`kcn_gis.interop.importers.tables`. Subtotal (``Cộng xã ...``), total
(``Tổng cộng``), note (``12 thửa``) and signature rows are recognised,
skipped and counted (:class:`SheetReport`). Other layouts are read through a
YAML mapping in the one dialect of :mod:`kcn_gis.interop.importers.mapping`
(:func:`load_sheet_mapping`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kcn_gis.errors import InputFileError, Problem
from kcn_gis.interop.importers.mapping import ColumnMapping
from kcn_gis.interop.importers.tables import RawSheet, SheetProblem, cell_text, header_key, read_raw_sheets, table_block
from kcn_gis.names import fold
from kcn_gis.schema import EVENT_LABELS, Col, Event

__all__ = [
    "SHEET_FIELDS",
    "SheetProblem",
    "SheetRead",
    "SheetReport",
    "SheetRow",
    "load_sheet_mapping",
    "match_stage",
    "read_progress",
    "read_sheet",
    "skipped_rows",
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
TEMPLATE_HEADERS: dict[str, str] = {
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
    Col.COMMUNE: ("commune", "xã", "xã, phường", "xã/phường/thị trấn", "xã, phường, thị trấn", "tên xã"),
    Col.MAP_SHEET: (
        "map_sheet",
        "map sheet",
        "tờ bản đồ số",
        "tờ bản đồ",
        "tờ số",
        "số tờ",
        "số tờ bản đồ",
        "shbando",
        "tobando",
    ),
    Col.PARCEL_NO: (
        "parcel_no",
        "parcel number",
        "parcel no",
        "thửa đất số",
        "thửa số",
        "số thửa",
        "số hiệu thửa",
        "shthua",
    ),
    Col.EVENT: ("event", "stage", "giai đoạn", "sự kiện", "giai đoạn, sự kiện"),
    Col.EVENT_DATE: ("event_date", "date", "ngày", "ngày thực hiện"),
    Col.REFERENCE: ("reference", "số quyết định", "số văn bản", "số qđ"),
    Col.NOTE: ("note", "ghi chú"),
    Col.CORRECTS_EVENT_ID: ("corrects_event_id", "corrects", "đính chính sự kiện", "đính chính"),
}
#: Headers of a progress sheet that carry no field but help find the header row.
_INFO_HEADERS: tuple[str, ...] = (
    "stt",
    "số thứ tự",
    "họ tên chủ sử dụng",
    "họ và tên chủ sử dụng",
    "chủ sử dụng",
    "họ tên",
    "tên chủ sử dụng",
    "diện tích thu hồi (m²)",
    "diện tích thu hồi (m2)",
    "diện tích thu hồi",
    "diện tích",
    "loại đất",
    "tiến độ thực hiện",
    "giai đoạn hiện tại",
    "diện tích pháp lý (m²)",
)
_FIELD_SYNONYMS = {"stage": Col.EVENT, "date": Col.EVENT_DATE}

#: Extra spellings of stages and events that councils use (besides values and labels).
_STAGE_ALIASES: dict[Event, tuple[str, ...]] = {
    Event.NOTIFIED: ("thông báo thu hồi", "thông báo", "thông báo thu hồi đất", "ngày thông báo"),
    Event.INVENTORIED: ("kiểm đếm", "kiểm đếm tài sản", "điều tra kiểm đếm", "điều tra, kiểm đếm"),
    Event.PLAN_APPROVED: (
        "phê duyệt phương án",
        "phê duyệt pa",
        "duyệt phương án",
        "duyệt pa",
        "phê duyệt phương án bồi thường",
        "plan approved",
    ),
    Event.COMPENSATED: ("chi trả", "chi trả tiền", "chi trả tiền bồi thường", "đã chi trả"),
    Event.HANDED_OVER: ("bàn giao", "đã bàn giao", "bàn giao mặt bằng", "handed over"),
    Event.COMPLAINT: ("khiếu nại", "đơn khiếu nại"),
    Event.COMPLAINT_RESOLVED: ("đã giải quyết khiếu nại", "complaint resolved"),
    Event.ENFORCEMENT: ("cưỡng chế thu hồi đất",),
    Event.CORRECTION: ("sửa sai",),
}


# -- text normalisation ------------------------------------------------------------------------------------------
def _nfc(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def _exact_key(text: str) -> str:
    """NFC, case-folded, whitespace collapsed: differences a person does not see."""
    return _nfc(text).casefold()


def _loose_key(text: str) -> str:
    """Like :func:`_exact_key` but also without diacritics and punctuation (``Bàn giao`` -> ``ban giao``)."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", fold(text)).split())


_cell_text = cell_text


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


# -- problems and rows -------------------------------------------------------------------------------------------
@dataclass
class SheetRow:
    """One event row read from a sheet: where it is and its raw values per recognised field.

    ``cells`` maps a field of :data:`SHEET_FIELDS` to the cell value as read
    (text, number, date or None); ``columns`` maps the field to its column label
    as the user sees it, e.g. ``"F 'Giai đoạn'"``. In the wide layout each
    dated cell gives one row; its event and date both point at that cell.
    """

    file: str
    sheet: str | None
    row: int
    cells: dict[str, Any]
    columns: dict[str, str]


@dataclass
class SheetReport:
    """What was done with one worksheet.

    Attributes
    ----------
    sheet : str or None
    imported : bool
        True when the sheet was read as a progress sheet.
    reason : str
        Why it was skipped, or how it was read (layout, header rows).
    layout : {"long", "wide", ""}
    events : int
        Event rows read (dated cells in the wide layout).
    skipped : dict of str to int
        Rows recognised and skipped: ``subtotal``, ``total``, ``numbering``, ``note``, ``signature``.
    """

    sheet: str | None
    imported: bool
    reason: str
    layout: str = ""
    events: int = 0
    skipped: dict[str, int] = field(default_factory=dict)


def skipped_rows(sheets: Iterable[SheetReport]) -> dict[str, int]:
    """Rows recognised and skipped over all ``sheets``, by kind (``subtotal``, ``total``, ``numbering`` ...)."""
    out: dict[str, int] = {}
    for s in sheets:
        for k, v in s.skipped.items():
            out[k] = out.get(k, 0) + v
    return out


@dataclass
class SheetRead:
    """The result of :func:`read_progress`: rows, layout problems and one report per sheet."""

    rows: list[SheetRow]
    problems: list[Problem]
    sheets: list[SheetReport]

    @property
    def skipped(self) -> dict[str, int]:
        return skipped_rows(self.sheets)


# -- the mapping dialect -----------------------------------------------------------------------------------------
def _field_name(text: object) -> str | None:
    name = _FIELD_SYNONYMS.get(str(text), str(text))
    return name if name in SHEET_FIELDS else None


def load_sheet_mapping(mapping: str | os.PathLike[str] | Mapping[str, Any] | ColumnMapping | None) -> ColumnMapping:
    """Read a YAML mapping (or an equivalent dict) for another sheet layout, in the one import dialect.

    The file may hold (the dialect of :mod:`kcn_gis.interop.importers.mapping`, here with the
    fields of a progress sheet, :data:`SHEET_FIELDS`, instead of a layer's columns)::

        columns:            # your header: kcn_gis field
          "Số hiệu thửa": parcel_no
          "Tình trạng": event
          "Ngày thực hiện": event_date
        values:             # field: {your spelling: stage or event value}
          event: {"Đã nhận tiền": compensated}
        defaults: {commune: "Xã Nam Sơn"}   # constants for fields the sheet lacks
        sheets: ["Tổng hợp"]   # only these sheets (default: every visible sheet)
        header_row: 2          # row of the headers (default: found below the title rows)
        date_formats: ["%d/%m/%y"]   # extra strptime formats, tried after dd/mm/yyyy

    Fields are those of :data:`SHEET_FIELDS` (``stage`` and ``date`` are
    accepted for ``event`` and ``event_date``). The older clearance form
    (``columns: {field: header or [headers]}``, ``stages: {spelling: value}``)
    is still read; a note in the log says how to write it now.

    Raises
    ------
    InputFileError
        If the file cannot be read or names an unknown field, stage or option.
    """
    if isinstance(mapping, ColumnMapping):
        return mapping
    if mapping is None:
        return ColumnMapping()
    where = "mapping"
    if not isinstance(mapping, Mapping):
        import yaml

        where = str(mapping)
        try:
            data = yaml.safe_load(Path(mapping).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise InputFileError(f"{where}: cannot read the mapping file: {exc}") from exc
    else:
        data = dict(mapping)
    if not isinstance(data, Mapping):
        raise InputFileError(f"{where}: a mapping file is a YAML dictionary with 'columns', 'values', 'sheets' ...")
    known = {"columns", "values", "defaults", "stages", "sheets", "header_row", "date_formats", "encoding"}
    extra = sorted(set(map(str, data)) - known)
    if extra:
        raise InputFileError(f"{where}: unknown option(s) {', '.join(extra)}; use {', '.join(sorted(known))}")
    columns: dict[str, str] = {}
    old_form = False
    for key, value in dict(data.get("columns") or {}).items():
        target = _field_name(value) if isinstance(value, str) else None
        if target is not None:  # the one dialect: header -> field
            columns[str(key)] = target
            continue
        name = _field_name(key)
        if name is None:
            raise InputFileError(
                f"{where}: columns: '{key}' is not a field, and neither is '{value}'; write "
                f"'YOUR HEADER: field' with a field among {', '.join(SHEET_FIELDS)} (or stage, date)"
            )
        old_form = True
        for h in (value,) if isinstance(value, str) else tuple(value or ()):
            columns[str(h)] = name
    values: dict[str, dict[str, str]] = {
        str(k): {str(a): str(b) for a, b in dict(v or {}).items()} for k, v in dict(data.get("values") or {}).items()
    }
    if data.get("stages"):
        old_form = True
        values.setdefault(str(Col.EVENT), {}).update({str(a): str(b) for a, b in dict(data["stages"]).items()})
    for spelling, value in values.get(str(Col.EVENT), {}).items():
        try:
            Event(value)
        except ValueError:
            raise InputFileError(
                f"{where}: stages: '{spelling}' maps to '{value}', which is not one of {', '.join(map(str, Event))}"
            ) from None
    if old_form:
        log.warning(
            "%s: deprecated mapping form (columns: {field: header}, stages:); write columns: {header: field} and "
            "values: {event: {spelling: value}}, the dialect of kcn-gis import. It is still read.",
            where,
        )
    sheets = data.get("sheets")
    try:
        header_row = int(data["header_row"]) if data.get("header_row") is not None else None
    except (TypeError, ValueError):
        raise InputFileError(f"{where}: header_row must be a row number (1 = first row)") from None
    if header_row is not None and header_row < 1:
        raise InputFileError(f"{where}: header_row must be 1 or more")
    fmts = data.get("date_formats") or ()
    return ColumnMapping(
        columns=columns,
        values=values,
        defaults=dict(data.get("defaults") or {}),
        encoding=str(data["encoding"]) if data.get("encoding") else None,
        source=where,
        sheets=None if sheets is None else ((str(sheets),) if isinstance(sheets, str) else tuple(map(str, sheets))),
        header_row=header_row,
        date_formats=(fmts,) if isinstance(fmts, str) else tuple(str(x) for x in fmts),
    )


def stage_spellings(mapping: ColumnMapping) -> dict[str, Event]:
    """The mapping's own stage spellings (``values: {event: ...}``), keyed like :func:`match_stage` keys."""
    return {_exact_key(k): Event(v) for k, v in mapping.values.get(str(Col.EVENT), {}).items()}


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
    after NFC normalisation, and the councils' short forms (``Phê duyệt PA``,
    ``Chi trả tiền``, ``Điều tra kiểm đếm``, ``Thông báo``). Without diacritics
    (``ban giao mat bang``) a value is accepted only when it is unambiguous.
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
def _header_table(mapping: ColumnMapping) -> dict[str, str]:
    table: dict[str, str] = {}
    for f, aliases in _HEADER_ALIASES.items():
        for a in aliases:
            table[header_key(a)] = f
    for h, f in mapping.columns.items():
        table[header_key(h)] = f
    return table


_TOTAL = re.compile(r"^(tong cong|tong so|tong)\b")
_SUBTOTAL = re.compile(r"^(cong|cong xa|cong phuong|cong thi tran)\b")
_SIGNATURE = re.compile(
    r"(nguoi lap|lap bieu|ky ghi ro|ky ten|chu tich|giam doc|xac nhan|thu truong|truong ban|pho ban|"
    r"^tm\b|^kt\b|^t m\b|hoi dong|^ubnd|dai dien)"
)
_PARCEL_NUMBER = re.compile(r"^\s*\d+[A-Za-z]?(?:[/-]\d+[A-Za-z]?)?\s*$")


def _date_like(value: Any) -> bool:
    """A cell that may be a date: an Excel date, or text with a digit (a signature line in a date column is not)."""
    if isinstance(value, dt.date):
        return True
    text = _cell_text(value)
    return text is not None and isinstance(value, str) and any(ch.isdigit() for ch in text)


def _row_kind(texts: list[str], identified: bool, dated: bool) -> str | None:
    """Why a row is not a data row (``total``, ``subtotal``, ``signature``, ``note``), or None for a data row.

    Totals and subtotals are told by the row's first text (``Tổng cộng``, ``Cộng xã ...``), so that a
    holder named Tổng in a later column does not make a parcel a total.
    """
    keys = [_loose_key(t) for t in texts]
    if _TOTAL.match(keys[0]):
        return "total"
    if _SUBTOTAL.match(keys[0]):
        return "subtotal"
    if identified or dated:
        return None
    if any(_SIGNATURE.search(k) for k in keys):
        return "signature"
    return "note"


def _sheet_rows(
    file: str,
    raw: RawSheet,
    mapping: ColumnMapping,
    problems: list[Problem],
    *,
    single: bool,
) -> tuple[list[SheetRow], SheetReport]:
    lookup = _header_table(mapping)
    extra = stage_spellings(mapping)
    stage_keys = {header_key(s) for s in _stage_tables(extra)[0]}
    info = {header_key(h) for h in _INFO_HEADERS}

    def known(key: str) -> bool:
        return key in lookup or key in stage_keys or key in info

    sheet = raw.name
    block = table_block(raw, known, header_row=mapping.header_row)
    if block is None:
        if any(any(_cell_text(v) for v in r) for r in raw.cells):
            where = f"in row {mapping.header_row}" if mapping.header_row else "in the first 25 rows"
            reason = (
                f"no header {where}; skipped. Put the column names at the top, or describe the layout in a "
                "mapping file (--map)."
            )
        else:
            reason = "empty; skipped"
        return [], SheetReport(sheet, False, reason)
    found: dict[str, int] = {}
    labels: dict[str, str] = {}
    stage_cols: list[tuple[int, Event]] = []
    for i in range(len(block.headers)):
        keys = block.keys(i)
        f = next((lookup[k] for k in keys if k in lookup), None)
        if f is not None:
            if f in found:
                problems.append(
                    SheetProblem(
                        "error",
                        "duplicate_column",
                        f"'{block.headers[i]}' is a second column for {f}; the first is column {labels[f]}. "
                        "Remove or rename one.",
                        file=file,
                        sheet=sheet,
                        row=block.header_rows[1],
                        column=block.label(i),
                    )
                )
                continue
            found[f] = i
            labels[f] = block.label(i)
            continue
        h = block.headers[i]
        ev = match_stage(h, extra=extra) if h else None
        if ev is not None:
            stage_cols.append((i, ev))
    header_at = block.header_rows[1]
    if not found and not stage_cols:
        shown = ", ".join(h for h in block.headers if h) or "none"
        reason = (
            f"no recognised column (headers: {shown}); skipped. Use the headers of kcn-gis clearance template, "
            "or describe your layout in a mapping file (--map)."
        )
        return [], SheetReport(sheet, False, reason)
    wide = Col.EVENT not in found and bool(stage_cols)
    has_id = Col.PARCEL_ID in found
    commune_default = mapping.defaults.get(str(Col.COMMUNE))
    commune_from = None
    if not has_id and Col.COMMUNE not in found:
        if commune_default:
            commune_from = ("default", str(commune_default))
        elif sheet is not None:
            commune_from = ("sheet", sheet)
    has_triple = all(f in found for f in (Col.MAP_SHEET, Col.PARCEL_NO)) and (
        Col.COMMUNE in found or commune_from is not None
    )
    missing: list[str] = []
    if not wide:
        missing += [str(f) for f in (Col.EVENT, Col.EVENT_DATE) if f not in found]
    if not has_id and not has_triple:
        missing.append("parcel_id (or commune + map_sheet + parcel_no)")
    if missing:
        msg = (
            f"missing column(s): {', '.join(missing)}. Expected headers: "
            + ", ".join(f"{TEMPLATE_HEADERS[f]} ({f})" for f in SHEET_FIELDS)
            + ", or one date column per stage (Thông báo thu hồi, Kiểm đếm, Phê duyệt PA, Chi trả, Bàn giao). "
            "For another layout use a mapping file (--map)."
        )
        if single:
            problems.append(SheetProblem("error", "missing_column", msg, file=file, sheet=sheet, row=header_at))
        short = f"not a progress sheet (no column for {'; '.join(missing)}); skipped"
        return [], SheetReport(sheet, False, msg if single else short)
    report = SheetReport(sheet, True, "", layout="wide" if wide else "long")
    if block.numbering_row is not None:
        report.skipped["numbering"] = 1
    out: list[SheetRow] = []
    id_fields = (Col.PARCEL_ID, Col.MAP_SHEET, Col.PARCEL_NO)
    for r, values in zip(block.rows, block.data, strict=True):
        texts = [t for v in values if (t := _cell_text(v)) is not None]
        if not texts:
            continue
        cells = {f: values[i] for f, i in found.items()}
        pid = _cell_text(cells.get(Col.PARCEL_ID))
        no = _cell_text(cells.get(Col.PARCEL_NO))
        identified = bool(pid) or bool(no and _PARCEL_NUMBER.match(no))
        if wide:
            dated = any(_date_like(values[i]) for i, _ in stage_cols)
        else:
            dated = any(_cell_text(cells.get(f)) for f in (Col.EVENT, Col.EVENT_DATE))
        kind = _row_kind(texts, identified, dated)
        if kind is not None:
            report.skipped[kind] = report.skipped.get(kind, 0) + 1
            continue
        cols = dict(labels)
        if commune_from is not None:
            cells[str(Col.COMMUNE)] = commune_from[1]
            cols[str(Col.COMMUNE)] = "sheet name" if commune_from[0] == "sheet" else "mapping defaults"
        for f, v in mapping.defaults.items():
            if f in SHEET_FIELDS and f not in found and f not in cells:
                cells[f] = v
        if not wide:
            out.append(SheetRow(file=file, sheet=sheet, row=r, cells=cells, columns=cols))
            continue
        if not any(_cell_text(cells.get(f)) for f in id_fields) and not dated:
            continue
        for i, ev in stage_cols:
            if _cell_text(values[i]) is None:
                continue
            ecells = dict(cells)
            ecells[str(Col.EVENT)] = str(ev)
            ecells[str(Col.EVENT_DATE)] = values[i]
            ecols = dict(cols)
            ecols[str(Col.EVENT)] = block.label(i)
            ecols[str(Col.EVENT_DATE)] = block.label(i)
            out.append(SheetRow(file=file, sheet=sheet, row=r, cells=ecells, columns=ecols))
    report.events = len(out)
    rows_txt = f"header in row {block.header_rows[0]}" + (
        f"-{block.header_rows[1]}" if block.header_rows[1] != block.header_rows[0] else ""
    )
    stages_txt = ", ".join(f"{block.label(i)} = {ev}" for i, ev in stage_cols) if wide else ""
    commune_txt = f"; commune from the sheet name '{sheet}'" if commune_from and commune_from[0] == "sheet" else ""
    report.reason = (
        f"{'wide layout (one date column per stage: ' + stages_txt + ')' if wide else 'one row per event'}, "
        f"{rows_txt}{commune_txt}"
    )
    return out, report


def read_progress(
    path: str | os.PathLike[str],
    *,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | ColumnMapping | None = None,
    encoding: str | None = None,
) -> SheetRead:
    """Read the event rows of an XLSX or CSV progress sheet, with a report per worksheet.

    Every visible worksheet of a workbook that looks like a progress sheet is
    read (or those named in the mapping's ``sheets``); hidden sheets (such as a
    template's drop-down list) and sheets without parcel and stage columns are
    skipped, each with its reason in :attr:`SheetRead.sheets`. Cells keep their
    type: Excel dates stay dates. Legacy TCVN3/VNI text is repaired
    (:mod:`kcn_gis.interop.importers.tables`).

    Raises
    ------
    InputFileError
        If the file cannot be read.
    """
    p = Path(path)
    m = load_sheet_mapping(mapping)
    if not p.exists():
        raise InputFileError(f"{p}: no such file")
    if p.suffix.lower() not in (".xlsx", ".xlsm", ".csv", ".txt"):
        raise InputFileError(f"{p}: unsupported file type '{p.suffix}'; import an .xlsx or .csv sheet")
    raws = read_raw_sheets(p, encoding=encoding or m.encoding, sheets=m.sheets)
    problems: list[Problem] = []
    rows: list[SheetRow] = []
    reports: list[SheetReport] = []
    visible = [r for r in raws if m.sheets is not None or not r.hidden]
    for raw in raws:
        if raw not in visible:
            log.info("%s: skipping hidden sheet %s", p, raw.name)
            reports.append(SheetReport(raw.name, False, "hidden sheet; skipped"))
            continue
        got, report = _sheet_rows(p.name, raw, m, problems, single=len(visible) == 1)
        if raw.text_changes:
            report.reason += f"; {raw.text_changes} cell(s) converted from TCVN3/VNI to Unicode"
        rows += got
        reports.append(report)
    if not any(r.imported for r in reports) and not any(p.severity == "error" for p in problems):
        why = "; ".join(f"sheet '{r.sheet}': {r.reason}" if r.sheet else r.reason for r in reports)
        problems.append(
            SheetProblem(
                "error",
                "no_data",
                "no sheet has recognised columns, so nothing can be imported: missing column(s) for the parcel, "
                "Giai đoạn and Ngày (or one date column per stage). Use the headers of kcn-gis clearance "
                f"template, or a mapping file (--map). {why}",
                file=p.name,
            )
        )
    failed = {getattr(p, "sheet", None) for p in problems if p.severity == "error"}
    for r in reports:
        if not r.imported and r.reason != "hidden sheet; skipped" and r.sheet not in failed:
            problems.append(SheetProblem("warning", "sheet_skipped", r.reason, file=p.name, sheet=r.sheet))
    return SheetRead(rows, problems, reports)


def read_sheet(
    path: str | os.PathLike[str],
    *,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | ColumnMapping | None = None,
) -> tuple[list[SheetRow], list[Problem]]:
    """Read the event rows of an XLSX or CSV progress sheet (see :func:`read_progress`).

    Returns
    -------
    rows : list of SheetRow
        Event rows, with their sheet and row number as Excel shows them.
    problems : list of Problem
        Layout problems (missing columns: errors; sheets skipped: warnings).

    Raises
    ------
    InputFileError
        If the file cannot be read.
    """
    got = read_progress(path, mapping=mapping)
    return got.rows, got.problems
