"""Ready-to-fill clearance progress templates (XLSX) for one park."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from kcn_gis.clearance.history import NOT_STARTED, parcel_stages, stage_label
from kcn_gis.errors import ClearanceError
from kcn_gis.interop.clearance_sheets.reading import TEMPLATE_HEADERS as _TEMPLATE_HEADERS
from kcn_gis.interop.importers.tables import column_letter as _col_letter
from kcn_gis.schema import EVENT_LABELS, Col, Event

if TYPE_CHECKING:
    from kcn_gis.store import Atlas

__all__ = ["write_template"]

log = logging.getLogger(__name__)

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
