"""Tables for people and for Excel: the one CSV/XLSX writer of kcn_gis, and the XLSX export of a layer.

Every command's ``--out FILE.csv|FILE.xlsx`` and ``kcn-gis export --to xlsx``
go through :func:`write_table`:

* **CSV** files are UTF-8 *with* a byte-order mark, so Windows Excel reads
  Vietnamese text right ("Tiên Du", not "TiÃªn Du"); text for standard output
  has no BOM unless asked (:func:`table_text`).
* **Numbers are rounded per unit** (:func:`column_unit`, the one place for
  these rules): hectares to 2 places, shares and rates (fractions 0-1) to 4,
  metres to 1, money and counts as they are. JSON output is never rounded.
* **XLSX**: a named sheet per table (never "Sheet1"), a header row with units
  (``planned_ha (ha)``), dates as real Excel dates shown ``dd/mm/yyyy`` (no
  ``00:00:00``), frozen header, autofilter, column widths, and an ``info``
  sheet (atlas, as-of date, CRS, kcn_gis version, command).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.crs import require_projected
from kcn_gis.dates import DateLike
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import Layer, spec

__all__ = [
    "AREA_COLUMN",
    "DATE_FORMAT",
    "TABLE_FORMATS",
    "WKT_COLUMN",
    "column_unit",
    "header_with_unit",
    "round_table",
    "sheet_title",
    "table_text",
    "write_table",
    "write_workbook",
    "write_xlsx",
]

#: Computed area column, hectares in the atlas's projected CRS. Not imported back (areas are never stored).
AREA_COLUMN = "area_ha"
#: Geometry column of the sheet: WKT in the atlas CRS (see the ``info`` sheet).
WKT_COLUMN = "wkt"
#: Table formats of ``--format`` (xlsx only to a file).
TABLE_FORMATS: tuple[str, ...] = ("table", "json", "csv", "xlsx")
#: Excel number format of date cells (day first, as in Vietnam).
DATE_FORMAT = "dd/mm/yyyy"
_DATETIME_FORMAT = "dd/mm/yyyy hh:mm"
_EXCEL_CELL_LIMIT = 32_767
_SHEET_NAME_LIMIT = 31

#: (pattern on the column name, unit shown in headers, decimals); the first match wins.
_UNIT_RULES: tuple[tuple[str, str | None, int | None], ...] = (
    (r"_pct$", "%", 2),
    (r"(^|_)(fill_rate|rate|share)(_|$)|_index$", "0-1", 4),
    (r"_ha_per_month$", "ha/month", 2),
    (r"_per_", None, 4),
    (r"(^|_)ha(_|$)", "ha", 2),
    (r"_m2$", "m²", 1),
    (r"_m3_day$", "m³/day", 1),
    (r"_km$", "km", 3),
    (r"_m$", "m", 1),
    (r"_musd$", "M USD", 2),
    (r"_usd$", "USD", 0),
    (r"_bn_vnd$", "bn VND", 2),
    (r"(^|_)days?(_|$)", "days", 1),
)
#: Decimals of any other float column (removes binary noise such as 851.0000000000013).
_OTHER_DECIMALS = 4


def column_unit(name: str) -> tuple[str | None, int | None]:
    """The unit and number of decimals of a column, from its name.

    ``planned_ha`` -> ``("ha", 2)``; ``fill_rate_planned`` and ``leased_ha_share``
    -> ``("0-1", 4)`` (fractions); ``nearest_school_m`` -> ``("m", 1)``;
    ``fill_rate_planned_pct`` -> ``("%", 2)``. ``(None, None)`` when the name
    tells no unit (other float columns are rounded to 4 places).
    """
    for pattern, unit, decimals in _UNIT_RULES:
        if re.search(pattern, name):
            return unit, decimals
    return None, None


def header_with_unit(name: str) -> str:
    """The XLSX header of a column: ``"planned_ha (ha)"``, or the name alone when it has no unit."""
    unit = column_unit(name)[0]
    return f"{name} ({unit})" if unit else name


def round_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with its float columns rounded per unit (:func:`column_unit`); other columns as they are.

    A float column without a unit (or with a whole-number unit such as USD) whose values are all whole numbers (counts summed as floats, such as
    ``park_count`` or ``workers``) becomes an integer column, so it reads ``8``, not ``8.0000``.
    """
    out = frame.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_float_dtype(s.dtype):
            decimals = column_unit(str(c))[1]
            if decimals in (None, 0):  # no unit, or a unit counted in whole numbers (USD)
                values = s.to_numpy(dtype=float, na_value=np.nan)
                finite = values[np.isfinite(values)]
                if len(finite) == np.count_nonzero(~np.isnan(values)) and np.array_equal(finite, np.round(finite)):
                    out[c] = s.astype("Int64")
                    continue
            out[c] = s.round(_OTHER_DECIMALS if decimals is None else decimals) + 0.0  # no "-0.0"
    return out


def _date_only(s: pd.Series) -> bool:
    valid = s.dropna()
    return bool((valid == valid.dt.normalize()).all())


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    """Dates without a time of day as ``datetime.date`` objects (so no ``00:00:00`` is printed)."""
    out = pd.DataFrame(frame).copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_datetime64_any_dtype(s.dtype) and _date_only(s):
            out[c] = pd.Series([None if pd.isna(v) else v.date() for v in s], index=out.index, dtype=object)
    return out


def _table_string(frame: pd.DataFrame) -> str:
    if frame.empty:
        return "(no rows)" if not len(frame.columns) else frame.to_string(index=False)
    formatters: dict[Any, Any] = {}
    for c in frame.columns:
        if pd.api.types.is_float_dtype(frame[c].dtype):
            d = column_unit(str(c))[1]
            d = _OTHER_DECIMALS if d is None else d
            formatters[c] = lambda x, d=d: "" if pd.isna(x) else f"{x:,.{d}f}"
    return frame.to_string(index=False, formatters=formatters)


def table_text(frame: pd.DataFrame, fmt: str, *, bom: bool = False) -> str:
    """``frame`` as text: ``"table"`` (aligned columns) or ``"csv"``, rounded per unit, dates without a time.

    Parameters
    ----------
    frame : DataFrame
    fmt : {"table", "csv"}
    bom : bool
        Start the text with a UTF-8 byte-order mark (for Excel).
    """
    shown = _plain(round_table(frame))
    if fmt == "csv":
        text = shown.to_csv(index=False, lineterminator="\n")
    elif fmt == "table":
        text = _table_string(shown) + "\n"
    else:
        raise KcnGisError(f"format '{fmt}' is not a text table format; use table or csv")
    return ("\ufeff" if bom else "") + text


def sheet_title(name: str) -> str:
    """A valid, readable sheet name: Excel's forbidden characters replaced, at most 31 characters."""
    title = re.sub(r"[\[\]:*?/\\]", "_", name).strip("'") or "table"
    return title[:_SHEET_NAME_LIMIT]


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date() if v == v.normalize() else v.to_pydatetime().replace(tzinfo=None)
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=None)
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, list | tuple | set | frozenset):
        return " ".join(map(str, v))
    if isinstance(v, dict):
        return str(v)
    return v


def _write_sheet(ws: Any, frame: pd.DataFrame, *, units: bool) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if units:  # command tables; a layer export keeps the stored values (it is read back)
        frame = round_table(frame)
    headers = [header_with_unit(str(c)) if units else str(c) for c in frame.columns]
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    widths = [len(h) for h in headers]
    columns = [frame[c] for c in frame.columns]
    date_only = [_date_only(s) if pd.api.types.is_datetime64_any_dtype(s.dtype) else True for s in columns]
    for i in range(len(frame)):
        row = [_cell(s.iat[i]) for s in columns]
        ws.append(row)
        for j, v in enumerate(row):
            if v is not None:
                widths[j] = max(widths[j], 10 if isinstance(v, dt.date) else len(str(v)))
    for j, s in enumerate(columns):
        letter = get_column_letter(j + 1)
        is_date = pd.api.types.is_datetime64_any_dtype(s.dtype) or any(
            isinstance(v, dt.date) for v in s.head(50) if v is not None
        )
        if is_date:
            fmt = DATE_FORMAT if date_only[j] else _DATETIME_FORMAT
            for (cell,) in ws.iter_rows(min_row=2, min_col=j + 1, max_col=j + 1):
                if isinstance(cell.value, dt.date):
                    cell.number_format = fmt if not isinstance(cell.value, dt.datetime) else _DATETIME_FORMAT
        ws.column_dimensions[letter].width = min(max(widths[j], 6) + 2, 60)
    ws.freeze_panes = "A2"
    if len(frame.columns):
        ws.auto_filter.ref = f"A1:{get_column_letter(len(frame.columns))}{max(len(frame), 1) + 1}"


def write_table(
    frame: pd.DataFrame,
    path: str | os.PathLike[str],
    *,
    fmt: str | None = None,
    sheet: str = "table",
    info: Mapping[str, Any] | None = None,
    units: bool = True,
) -> Path:
    """Write a table to a CSV (UTF-8 with BOM) or XLSX file, rounded per unit; see the module docstring.

    Parameters
    ----------
    frame : DataFrame
        The table (a geometry column, if any, is not written).
    path : path
        The file to write.
    fmt : {"csv", "xlsx"}, optional
        Default: from the file extension.
    sheet : str
        XLSX: name of the data sheet (e.g. the command, ``fill_rates``).
    info : mapping, optional
        XLSX: the rows of the ``info`` sheet (key, value), e.g. atlas, as-of date, CRS, command.
    units : bool
        XLSX: add the unit to the headers (``planned_ha (ha)``).

    Returns
    -------
    Path
        The file written.
    """
    path = Path(path)
    if fmt is None:
        fmt = path.suffix.lower().lstrip(".")
    if isinstance(frame, gpd.GeoDataFrame):
        frame = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    if fmt == "csv":
        path.write_text(table_text(frame, "csv", bom=True), encoding="utf-8", newline="")
        return path
    if fmt != "xlsx":
        raise KcnGisError(f"{path}: a table is written as .csv or .xlsx, not '{fmt}'")
    write_workbook(path, [(sheet, frame)], info=info, units=units)
    return path


def write_workbook(
    path: Path,
    sheets: Sequence[tuple[str, pd.DataFrame]],
    *,
    info: Mapping[str, Any] | None = None,
    units: bool = True,
) -> None:
    """Write named sheets and an ``info`` sheet (key, value) to one XLSX workbook."""
    from openpyxl import Workbook

    from kcn_gis._version import __version__

    wb = Workbook()
    wb.remove(wb.active)
    for name, frame in sheets:
        _write_sheet(wb.create_sheet(sheet_title(name)), frame, units=units)
    rows = {**(dict(info) if info else {})}
    rows.setdefault("written_by", f"kcn_gis {__version__}")
    rows.setdefault("written_on", dt.date.today())
    info_frame = pd.DataFrame({"key": list(rows), "value": [_cell(v) for v in rows.values()]}, dtype=object)
    ws = wb.create_sheet("info")
    _write_sheet(ws, info_frame, units=False)
    for (cell,) in ws.iter_rows(min_row=2, min_col=2, max_col=2):
        if isinstance(cell.value, dt.date):
            cell.number_format = DATE_FORMAT
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_xlsx(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    path: Path,
    *,
    audience: str = "internal",
    as_of: DateLike | None = None,
) -> None:
    """Write a layer as a workbook: a sheet named after the layer, and an ``info`` sheet.

    The layer sheet holds every exported attribute, ``area_ha`` (hectares,
    computed in the frame's projected CRS, EPSG:9209) and ``wkt`` (the geometry
    in that CRS, to the millimetre). Its headers are the model column names
    (their units are in the names: ``_ha``, ``_m2``, ``_usd``), so ``kcn-gis
    import`` reads the workbook back (the CRS from ``info``). ``info``: layer,
    CRS, audience, as-of date, date written, kcn_gis version.

    Raises
    ------
    CRSError
        If the frame is not in a projected CRS.
    KcnGisError
        If a geometry's WKT does not fit in an Excel cell (32 767 characters).
    """
    s = spec(layer)
    crs = require_projected(frame, str(layer))
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for c in data.columns:
        if isinstance(data[c].dtype, pd.StringDtype) or data[c].dtype == object:
            data[c] = data[c].astype(object).where(data[c].notna(), None)
    geoms = frame.geometry.to_numpy()
    data[AREA_COLUMN] = (shapely.area(geoms) / 10_000.0).round(4) if s.geometry == "polygon" else np.nan
    wkt = shapely.to_wkt(geoms, rounding_precision=3, trim=True)
    too_long = [i for i, w in enumerate(wkt) if w is not None and len(w) > _EXCEL_CELL_LIMIT]
    if too_long:
        raise KcnGisError(
            f"{path}: the geometry of row {too_long[0] + 2} has more than {_EXCEL_CELL_LIMIT} characters of WKT "
            "and does not fit in an Excel cell; export this layer as GeoPackage or GeoJSON instead"
        )
    data[WKT_COLUMN] = wkt
    epsg = crs.to_epsg()
    info: dict[str, Any] = {
        "layer": str(layer),
        "layer_vi": s.label_vi,
        "crs": f"EPSG:{epsg}" if epsg else crs.to_wkt(),
        "audience": audience,
        "area_unit": "ha, computed from geometry in the CRS above",
    }
    if as_of is not None:
        info["as_of"] = pd.Timestamp(as_of).date()
    write_workbook(path, [(str(layer), data)], info=info, units=False)
