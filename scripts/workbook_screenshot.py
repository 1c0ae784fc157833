"""Render the council workbook of the intake tests as an HTML table and screenshot it (docs/img).

Usage::

    .venv/bin/python scripts/workbook_screenshot.py docs/img/council_workbook.png

The workbook is the one ``tests/intake/conftest.py::council_workbook`` builds; its first sheet is drawn
with its merged cells (colspan/rowspan), bold headers and Excel-style row numbers and column letters,
then photographed with headless Chromium (``/usr/bin/chromium``). Every cell value is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def sheet_html(path: Path, sheet: str | None = None) -> str:
    import openpyxl
    from openpyxl.utils import get_column_letter

    wb = openpyxl.load_workbook(path)
    ws = wb[sheet] if sheet else wb.worksheets[0]
    spans: dict[tuple[int, int], tuple[int, int]] = {}
    covered: set[tuple[int, int]] = set()
    for m in ws.merged_cells.ranges:
        spans[(m.min_row, m.min_col)] = (m.max_row - m.min_row + 1, m.max_col - m.min_col + 1)
        for r in range(m.min_row, m.max_row + 1):
            for c in range(m.min_col, m.max_col + 1):
                if (r, c) != (m.min_row, m.min_col):
                    covered.add((r, c))
    cols = ws.max_column
    out = ["<table><tr><th class='hd'></th>"]
    out += [f"<th class='hd'>{get_column_letter(c)}</th>" for c in range(1, cols + 1)]
    out.append("</tr>")
    for r in range(1, ws.max_row + 1):
        out.append(f"<tr><th class='hd'>{r}</th>")
        for c in range(1, cols + 1):
            if (r, c) in covered:
                continue
            cell = ws.cell(row=r, column=c)
            v = cell.value
            text = v.strftime("%d/%m/%Y") if isinstance(v, dt.datetime) else ("" if v is None else str(v))
            rs, cs = spans.get((r, c), (1, 1))
            cls = "b" if cell.font is not None and cell.font.bold else ""
            out.append(f"<td rowspan='{rs}' colspan='{cs}' class='{cls}'>{html.escape(text)}</td>")
        out.append("</tr>")
    out.append("</table>")
    style = (
        "body{font-family:'DejaVu Sans',sans-serif;font-size:12px;margin:8px;background:#fff}"
        "table{border-collapse:collapse}td,th{border:1px solid #c8c8c8;padding:2px 6px;white-space:nowrap}"
        ".hd{background:#eee;color:#555;font-weight:normal}.b{font-weight:bold;text-align:center}"
    )
    title = html.escape(f"{path.name} - sheet '{ws.title}'")
    return f"<!doctype html><meta charset='utf-8'><title>{title}</title><style>{style}</style>{''.join(out)}"


def main(argv: list[str]) -> int:
    from tests.intake.conftest import council_workbook

    out = Path(argv[0] if argv else ROOT / "docs" / "img" / "council_workbook.png").resolve()
    with tempfile.TemporaryDirectory() as tmp:
        book = council_workbook(Path(tmp) / "tien_do_gpmb.xlsx")
        page = Path(tmp) / "sheet.html"
        page.write_text(sheet_html(book), encoding="utf-8")
        subprocess.run(
            [
                "/usr/bin/chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--screenshot={out}",
                "--window-size=1400,330",
                page.as_uri(),
            ],
            check=True,
            capture_output=True,
        )
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
