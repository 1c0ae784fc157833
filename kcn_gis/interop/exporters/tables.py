"""XLSX export: the attributes of a layer with computed areas, and the geometry as WKT."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from kcn_gis.crs import require_projected
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import Layer, spec

__all__ = ["AREA_COLUMN", "WKT_COLUMN", "write_xlsx"]

#: Computed area column, hectares in the atlas's projected CRS. Not imported back (areas are never stored).
AREA_COLUMN = "area_ha"
#: Geometry column of the sheet: WKT in the atlas CRS (see the ``info`` sheet).
WKT_COLUMN = "wkt"
_EXCEL_CELL_LIMIT = 32_767


def write_xlsx(frame: gpd.GeoDataFrame, layer: Layer, path: Path, *, audience: str = "internal") -> None:
    """Write a workbook with a ``data`` sheet and an ``info`` sheet.

    ``data``: every exported attribute, ``area_ha`` (hectares, computed in the
    frame's projected CRS, EPSG:9209) and ``wkt`` (the geometry in that CRS, to
    the millimetre). ``info``: layer, CRS, audience, date. ``kcn-gis import``
    reads such a workbook back (the CRS from ``info``).

    Raises
    ------
    CRSError
        If the frame is not in a projected CRS.
    KcnGisError
        If a geometry's WKT does not fit in an Excel cell (32 767 characters).
    """
    from kcn_gis._version import __version__

    s = spec(layer)
    crs = require_projected(frame, str(layer))
    data = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    for c in data.columns:
        if isinstance(data[c].dtype, pd.StringDtype) or data[c].dtype == object:
            data[c] = data[c].astype(object).where(data[c].notna(), None)
    geoms = frame.geometry.to_numpy()
    data[AREA_COLUMN] = (shapely.area(geoms) / 10_000.0).round(4) if s.geometry == "polygon" else None
    wkt = shapely.to_wkt(geoms, rounding_precision=3, trim=True)
    too_long = [i for i, w in enumerate(wkt) if w is not None and len(w) > _EXCEL_CELL_LIMIT]
    if too_long:
        raise KcnGisError(
            f"{path}: the geometry of row {too_long[0] + 2} has more than {_EXCEL_CELL_LIMIT} characters of WKT "
            "and does not fit in an Excel cell; export this layer as GeoPackage or GeoJSON instead"
        )
    data[WKT_COLUMN] = wkt
    epsg = crs.to_epsg()
    info = pd.DataFrame(
        {
            "key": ["layer", "layer_vi", "crs", "audience", "area_unit", "exported_on", "written_by"],
            "value": [
                str(layer),
                s.label_vi,
                f"EPSG:{epsg}" if epsg else crs.to_wkt(),
                audience,
                "ha, computed from geometry in the CRS above",
                dt.date.today().isoformat(),
                f"kcn_gis {__version__}",
            ],
        }
    )
    with pd.ExcelWriter(path, engine="openpyxl") as xl:
        data.to_excel(xl, sheet_name="data", index=False)
        info.to_excel(xl, sheet_name="info", index=False)
