"""The one reader of tables (XLSX/CSV) behind ``kcn-gis import`` and ``kcn-gis clearance import``.

Spreadsheets reach the Board as people keep them, not as a database would:

* one or two **title rows** above the header ("BẢNG TỔNG HỢP TIẾN ĐỘ GPMB ...",
  a date line), found by :func:`find_header_block`: the header row is the
  row, among the first 25, whose cells match the most known headers;
* **two-row merged headers** ("Tiến độ thực hiện" merged over one column per
  stage, "STT" merged over two rows): merged cells are filled with the value
  of their top-left cell (openpyxl keeps it only there), and the rows a
  header's merged cells span form the header block. Each column then has a
  ``header`` (the lowest row of the block) and a ``parent`` (the top row);
* a **numbering row** "(1) (2) (3) ..." right below the header, skipped;
* **dates day first**, as everywhere in Vietnam (:func:`parse_date`): Excel
  dates, ``dd/mm/yyyy`` and a few other day-first spellings, ISO dates;
* legacy **TCVN3/VNI text** repaired per column (:mod:`kcn_gis.interop.vntext`): for
  a CSV only when its bytes are not valid UTF-8 (or ``encoding`` says so);
  for a workbook when the cells hold only single-byte characters that read as
  TCVN3/VNI Vietnamese (text typed in ``.VnTime``/``VNI-Times`` fonts).

Headers are compared by their *key* (:func:`header_key`): without diacritics,
case and punctuation, so ``"Số thửa"``, ``"SO_THUA"`` and ``"sothua"`` match.
Problems of every import are shown in one table (:func:`problems_table`).
"""

from __future__ import annotations

import csv
import datetime as dt
import logging
import os
import re
import unicodedata
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from kcn_gis.errors import InputFileError, Problem, locate
from kcn_gis.interop.importers.mapping import normalize_header

__all__ = [
    "DATE_FORMATS",
    "RawSheet",
    "SheetProblem",
    "TableBlock",
    "cell_text",
    "column_letter",
    "find_header_block",
    "header_key",
    "parse_date",
    "problems_table",
    "read_raw_sheets",
    "table_block",
]

log = logging.getLogger(__name__)

#: Date spellings accepted in text cells, day first (as everywhere in Vietnam), then ISO.
DATE_FORMATS: tuple[str, ...] = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")

#: How many rows from the top a header may start (title rows above it).
HEADER_SCAN_ROWS = 25

_NUMBERING = re.compile(r"^\(?\s*(\d{1,3}|[a-zA-Z])\s*\)?(\s*=\s*.*)?$")


def header_key(text: object) -> str:
    """The key headers are compared by: ``"Số thửa"`` -> ``"sothua"`` (see :func:`~kcn_gis.interop.importers.mapping.normalize_header`)."""
    return normalize_header(text)


def column_letter(i: int) -> str:
    """Excel column letter of the 0-based column ``i`` (0 -> ``A``, 26 -> ``AA``)."""
    out = ""
    n = i + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def cell_text(value: Any) -> str | None:
    """A cell as NFC text with whitespace collapsed: None when empty; integral numbers without ``.0``."""
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
    text = " ".join(unicodedata.normalize("NFC", str(value)).split())
    return text or None


def parse_date(value: Any, *, formats: Sequence[str] = ()) -> dt.date | str:
    """Read a date cell, day first; return the date or a message saying why it is not one.

    Parameters
    ----------
    value : cell value
        An Excel date (``datetime``/``date``/``Timestamp``), or text such as
        ``26/12/2011``, ``26-12-2011``, ``26.12.2011``, ``2011-12-26``.
        A plain number is refused: it is a count or an area, not a date
        (format the cell as a date).
    formats : sequence of str
        Extra ``strptime`` formats, tried after :data:`DATE_FORMATS`.

    Returns
    -------
    datetime.date or str
        The date, or an error message for the user.
    """
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"'{cell_text(value)}' is a number, not a date; format the cell as a date or type it as dd/mm/yyyy"
    text = cell_text(value) or ""
    head = text.split("T")[0].split(" ")[0]
    for fmt in (*DATE_FORMATS, *formats):
        for candidate in (head, text):
            try:
                d = dt.datetime.strptime(candidate, fmt).date()
            except ValueError:
                continue
            if d.year >= 1900:
                return d
    return f"'{text}' is not a date; write it as dd/mm/yyyy, e.g. 26/12/2011"


# -- raw sheets ----------------------------------------------------------------------------------------------------
@dataclass
class RawSheet:
    """The cells of one worksheet (or CSV file), merged cells filled with their top-left value.

    ``cells[r][c]`` is row ``r + 1``, column ``c + 1`` as Excel shows them;
    ``merged`` lists merged ranges as 0-based inclusive ``(row0, col0, row1, col1)``.
    """

    name: str | None
    cells: list[list[Any]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden: bool = False
    text_changes: int = 0


def _fill_merged(cells: list[list[Any]], merged: Iterable[tuple[int, int, int, int]]) -> None:
    for r0, c0, r1, c1 in merged:
        if r0 >= len(cells):
            continue
        value = cells[r0][c0] if c0 < len(cells[r0]) else None
        for r in range(r0, min(r1, len(cells) - 1) + 1):
            row = cells[r]
            if len(row) <= c1:
                row.extend([None] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                if (r, c) != (r0, c0):
                    row[c] = value


def _repair_columns(cells: list[list[Any]], encoding: str) -> int:
    """Convert legacy TCVN3/VNI text to Unicode, deciding per column; returns the number of cells changed."""
    from kcn_gis.interop.vntext import detect_encoding, fix_text

    width = max((len(r) for r in cells), default=0)
    changed = 0
    for c in range(width):
        texts = [r[c] for r in cells if c < len(r) and isinstance(r[c], str)]
        if not texts:
            continue
        enc = detect_encoding(texts) if encoding == "auto" else encoding
        if enc not in ("tcvn3", "vni"):
            continue
        for r in cells:
            if c < len(r) and isinstance(r[c], str):
                fixed, how = fix_text(r[c], encoding=enc)
                if how:
                    r[c] = fixed
                    changed += 1
    return changed


def read_raw_sheets(
    path: str | os.PathLike[str], *, encoding: str | None = None, sheets: Sequence[str] | None = None
) -> list[RawSheet]:
    """Read every worksheet of an XLSX (or the one table of a CSV) as cells, merged cells filled.

    Parameters
    ----------
    path : path-like
        ``.xlsx``/``.xlsm`` (openpyxl; Excel dates stay dates) or ``.csv``/``.txt``
        (delimiter ``,``, ``;`` or tab, sniffed from the first line).
    encoding : str, optional
        ``auto`` (default), ``unicode``, ``tcvn3``, ``vni``, or a code page for a CSV.
    sheets : sequence of str, optional
        Only these worksheets (an unknown name is an error listing the sheets).

    Raises
    ------
    InputFileError
        If the file cannot be read; the message says how to save it.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file")
    enc = (encoding or "auto").lower()
    legacy = enc if enc in ("auto", "tcvn3", "vni") else "unicode"
    suffix = p.suffix.lower()
    out: list[RawSheet] = []
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # openpyxl: unsupported extensions are dropped on read
                wb = openpyxl.load_workbook(p, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds (zipfile, KeyError, InvalidFileException)
            raise InputFileError(f"{p}: cannot be read as an Excel workbook ({exc}); save it as .xlsx") from exc
        names = [ws.title for ws in wb.worksheets]
        if sheets is not None:
            unknown = [s for s in sheets if s not in names]
            if unknown:
                raise InputFileError(f"{p}: no sheet(s) {', '.join(unknown)}; the workbook has {', '.join(names)}")
        for ws in wb.worksheets:
            if sheets is not None and ws.title not in sheets:
                continue
            cells = [list(r) for r in ws.iter_rows(values_only=True)]
            merged = [(m.min_row - 1, m.min_col - 1, m.max_row - 1, m.max_col - 1) for m in ws.merged_cells.ranges]
            _fill_merged(cells, merged)
            raw = RawSheet(ws.title, cells, merged, hidden=ws.sheet_state != "visible")
            if legacy != "unicode":
                raw.text_changes = _repair_columns(cells, legacy)
            out.append(raw)
        wb.close()
        return out
    if suffix in (".csv", ".txt"):
        data = p.read_bytes()
        if enc in ("auto", "unicode", "utf-8", "utf8"):
            try:
                text = data.decode("utf-8-sig")
                legacy = "unicode"  # valid UTF-8 is UTF-8: no legacy detection
            except UnicodeDecodeError:
                if enc != "auto":
                    raise InputFileError(
                        f"{p}: is not UTF-8 text; save the CSV as 'CSV UTF-8' in Excel, or give --encoding "
                        "(tcvn3, vni, cp1258 ...)"
                    ) from None
                text = data.decode("latin-1")  # byte for byte: TCVN3/VNI are decided per column below
        elif enc in ("tcvn3", "vni"):
            text = data.decode("latin-1")
        else:
            try:
                text = data.decode(enc)
            except (LookupError, UnicodeDecodeError) as exc:
                raise InputFileError(f"{p}: cannot be read as {enc} text: {exc}") from exc
            legacy = "unicode"
        first = text.split("\n", 1)[0]
        try:
            delimiter = csv.Sniffer().sniff(first, delimiters=",;\t").delimiter
        except csv.Error:
            delimiter = ","
        cells = [[v if v != "" else None for v in r] for r in csv.reader(text.splitlines(), delimiter=delimiter)]
        raw = RawSheet(None, cells)
        if legacy != "unicode":
            raw.text_changes = _repair_columns(cells, legacy)
        out.append(raw)
        return out
    raise InputFileError(f"{p}: unsupported file type '{p.suffix}'; import an .xlsx or .csv table")


# -- the header block --------------------------------------------------------------------------------------------
@dataclass
class TableBlock:
    """The data table found in a sheet: its header block, one header per column, and the data rows.

    Attributes
    ----------
    sheet : str or None
        Worksheet name (None for a CSV).
    header_rows : (int, int)
        First and last row of the header block, 1-based as Excel shows them.
    headers : list of str or None
        Per column, the header text of the lowest header row (a sub-header such as
        ``Kiểm đếm`` under a merged ``Tiến độ thực hiện``), or None.
    parents : list of str or None
        Per column, the header text of the top header row (equal to ``headers``
        for a header merged over the whole block, such as ``STT``).
    data : list of list
        The rows below the header block (and below a numbering row), as read.
    rows : list of int
        Their 1-based row numbers.
    numbering_row : int or None
        The "(1) (2) (3) ..." row skipped below the header, if any.
    """

    sheet: str | None
    header_rows: tuple[int, int]
    headers: list[str | None]
    parents: list[str | None]
    data: list[list[Any]]
    rows: list[int]
    numbering_row: int | None = None

    def label(self, col: int) -> str:
        """``"F 'Kiểm đếm'"``: the column letter and its header, as the user sees it."""
        h = self.headers[col] if col < len(self.headers) else None
        return f"{column_letter(col)} '{h}'" if h else column_letter(col)

    def keys(self, col: int) -> list[str]:
        """Keys to match column ``col`` by, most specific first: header, parent + header, parent."""
        h, par = self.headers[col], self.parents[col]
        out = []
        for t in (h, f"{par} {h}" if par and h and par != h else None, par):
            if t:
                k = header_key(t)
                if k and k not in out:
                    out.append(k)
        return out


def _known_count(row: Sequence[Any], known: Callable[[str], bool]) -> int:
    seen = set()
    n = 0
    for v in row:
        t = cell_text(v)
        if t is None or isinstance(v, (int, float, dt.date)):
            continue
        k = header_key(t)
        if k in seen:
            continue  # a merged header filled over several cells counts once
        seen.add(k)
        n += known(k)
    return n


def find_header_block(
    raw: RawSheet, known: Callable[[str], bool], *, header_row: int | None = None
) -> tuple[int, int] | None:
    """Return the 0-based first and last row of the header block of ``raw``, or None when none is found.

    The header row is ``header_row`` (1-based) when given, else the row among
    the first :data:`HEADER_SCAN_ROWS` with the most cells that ``known``
    accepts (by :func:`header_key`), at least one; the earliest wins a tie.
    The block extends down over the rows that the header row's merged cells
    span (a merged ``STT`` over two rows, or a merged group title over
    sub-headers), and, in a CSV, over a next row of known headers.
    """
    cells = raw.cells
    if header_row is not None:
        top = header_row - 1
        if top >= len(cells) or not any(cell_text(v) for v in cells[top]):
            return None
    else:
        best, top = 0, -1
        for r, row in enumerate(cells[:HEADER_SCAN_ROWS]):
            n = _known_count(row, known)
            if n > best:
                best, top = n, r
        if top < 0:
            return None
        for r0, _c0, r1, _c1 in raw.merged:  # the best row may be the lower half of headers merged down
            if r0 < top <= r1 and r0 >= top - 2:
                top = r0
    last = top
    for r0, c0, r1, c1 in raw.merged:
        if r0 == top:
            if r1 > top:  # merged down: the block spans these rows
                last = max(last, r1)
            elif c1 > c0 and top + 1 < len(cells):  # merged across: a group title over sub-headers
                last = max(last, top + 1)
    if last == top and not raw.merged and top + 1 < len(cells):
        # a CSV saved from a workbook with merged headers: the group title is in its first column only,
        # and the sub-headers below it sit under empty cells of the header row
        nxt = cells[top + 1]
        head = cells[top]
        dated = any(isinstance(v, (dt.date, int, float)) and not isinstance(v, bool) for v in nxt if v is not None)
        under_gaps = 0
        for c, v in enumerate(nxt):
            t = cell_text(v)
            above = cell_text(head[c]) if c < len(head) else None
            left = c + 1 < len(head) and cell_text(head[c + 1]) is None  # a title spanning to the right
            if t and known(header_key(t)) and (above is None or left):
                under_gaps += 1
        if not dated and under_gaps >= 2:
            last = top + 1
    return top, last


def table_block(raw: RawSheet, known: Callable[[str], bool], *, header_row: int | None = None) -> TableBlock | None:
    """The :class:`TableBlock` of ``raw`` (see :func:`find_header_block`), or None when it has no header."""
    found = find_header_block(raw, known, header_row=header_row)
    if found is None:
        return None
    top, last = found
    width = max((len(r) for r in raw.cells), default=0)

    def at(r: int, c: int) -> Any:
        row = raw.cells[r]
        return row[c] if c < len(row) else None

    headers = [cell_text(at(last, c)) for c in range(width)]
    parents = [cell_text(at(top, c)) for c in range(width)]
    headers = [h if h is not None else p for h, p in zip(headers, parents, strict=True)]
    start = last + 1
    numbering = None
    if start < len(raw.cells):
        texts = [cell_text(v) for v in raw.cells[start]]
        filled = [t for t in texts if t]
        if len(filled) >= 2 and all(_NUMBERING.match(t) for t in filled):
            numbering = start + 1
            start += 1
    data = [list(r) + [None] * (width - len(r)) for r in raw.cells[start:]]
    rows = list(range(start + 1, start + 1 + len(data)))
    return TableBlock(raw.name, (top + 1, last + 1), headers, parents, data, rows, numbering)


# -- problems ------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SheetProblem(Problem):
    """A :class:`~kcn_gis.errors.Problem` located in a spreadsheet: file, sheet, row (as Excel shows it), column.

    Printed as ``tien_do.xlsx, sheet 'Mão Điền', row 8, column I 'Chi trả': ...``; with a layer and no
    column (``kcn-gis import`` of a workbook), as ``toa_do.xlsx, sheet 'Tờ 91', layer 'parcels', row 7,
    field 'parcel_no'``.
    """

    sheet: str | None = None
    column: str | None = None

    def where(self) -> str:
        parts = [locate(file=self.file)] if self.file else []
        if self.sheet is not None:
            parts.append(f"sheet '{self.sheet}'")
        if self.layer is not None:
            parts.append(f"layer '{self.layer}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None:
            parts.append(f"column {self.column}")
        elif self.field is not None and self.layer is not None:
            parts.append(f"field '{self.field}'")
        return ", ".join(parts)


def problems_table(problems: Iterable[Problem]) -> pd.DataFrame:
    """Every import's problems as one table.

    Columns: ``severity``, ``check``, ``file``, ``layer``, ``sheet``, ``row``
    (1-based, as the file shows it), ``column`` (spreadsheet column, e.g.
    ``F 'Ngày'``, or the field), ``field``, ``ids`` and ``message``.
    """
    rows = [
        {
            "severity": p.severity,
            "check": p.check,
            "file": p.file,
            "layer": p.layer,
            "sheet": getattr(p, "sheet", None),
            "row": p.row,
            "column": getattr(p, "column", None) or p.field,
            "field": p.field,
            "ids": ", ".join(p.ids),
            "message": p.message,
        }
        for p in problems
    ]
    cols = ["severity", "check", "file", "layer", "sheet", "row", "column", "field", "ids", "message"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["row"] = frame["row"].astype("Int64")
    return frame
