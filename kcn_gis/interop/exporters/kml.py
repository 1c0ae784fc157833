"""KML/KMZ for Google Earth, styled by status, with every exported attribute in ``ExtendedData``.

The document has one shared ``Style`` per status (colours from
:mod:`kcn_gis.style`) and one ``Folder`` per status named by its Vietnamese
label, so Google Earth shows a legend-like tree. Text is written with
ElementTree, which escapes it. Coordinates are WGS 84 (EPSG:4326, converted
with EPSG:6960), 9 decimals.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.crs import to_wgs84
from kcn_gis.schema import Col, Layer, spec
from kcn_gis.style import (
    NOT_STARTED_COLOR,
    PARK_STATUS_COLORS,
    PLOT_STATUS_COLORS,
    STAGE_COLORS,
    label,
)

__all__ = ["kml_color", "write_kml"]

_NS = "http://www.opengis.net/kml/2.2"
_DEFAULT_COLOR = "#3182bd"
_NOT_STARTED = "not_started"


def kml_color(hex_rgb: str, alpha: int = 255) -> str:
    """``"#RRGGBB"`` -> KML ``"aabbggrr"``."""
    h = hex_rgb.lstrip("#")
    r, g, b = h[0:2], h[2:4], h[4:6]
    return f"{alpha:02x}{b}{g}{r}".lower()


def _palette(layer: Layer) -> dict[str, str]:
    if layer == Layer.PARKS:
        return {str(k): v for k, v in PARK_STATUS_COLORS.items()}
    if layer == Layer.PLOTS:
        return {str(k): v for k, v in PLOT_STATUS_COLORS.items()}
    if layer == Layer.PARCELS:
        return {**{str(k): v for k, v in STAGE_COLORS.items()}, _NOT_STARTED: NOT_STARTED_COLOR}
    return {}


def _text(v: Any) -> str | None:
    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if isinstance(v, pd.Timestamp):
        return v.date().isoformat() if v == v.normalize() else v.isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool | np.bool_):
        return "true" if v else "false"
    if isinstance(v, float | np.floating):
        return repr(float(v))
    return str(v)


def _coords(ring: Any) -> str:
    return " ".join(f"{x:.9f},{y:.9f}" for x, y in np.asarray(ring.coords)[:, :2])


def _geometry(parent: ET.Element, geom: Any) -> None:
    if geom is None or geom.is_empty:
        return
    if isinstance(geom, shapely.Polygon):
        poly = ET.SubElement(parent, "Polygon")
        outer = ET.SubElement(ET.SubElement(poly, "outerBoundaryIs"), "LinearRing")
        ET.SubElement(outer, "coordinates").text = _coords(geom.exterior)
        for hole in geom.interiors:
            inner = ET.SubElement(ET.SubElement(poly, "innerBoundaryIs"), "LinearRing")
            ET.SubElement(inner, "coordinates").text = _coords(hole)
    elif isinstance(geom, shapely.LineString):
        ET.SubElement(ET.SubElement(parent, "LineString"), "coordinates").text = _coords(geom)
    elif isinstance(geom, shapely.Point):
        ET.SubElement(ET.SubElement(parent, "Point"), "coordinates").text = _coords(geom)
    else:  # Multi*: one MultiGeometry
        multi = ET.SubElement(parent, "MultiGeometry")
        for part in geom.geoms:
            _geometry(multi, part)


def _label_column(layer: Layer, frame: pd.DataFrame) -> str | None:
    for c in {Layer.PARKS: (Col.NAME,), Layer.PLOTS: (Col.PLOT_ID,), Layer.PARCELS: (Col.PARCEL_NO, Col.PARCEL_ID)}.get(
        layer, (Col.NAME,)
    ):
        if c in frame.columns:
            return str(c)
    return None


def write_kml(
    frame: gpd.GeoDataFrame,
    layer: Layer,
    path: Path,
    *,
    styles: pd.Series | None = None,
    kmz: bool = False,
) -> None:
    """Write ``frame`` (atlas CRS) as KML or KMZ in WGS 84.

    Parameters
    ----------
    frame : GeoDataFrame
        Features to write; every column except geometry goes to ``ExtendedData``
        (except ``name`` of parks, province and rivers, which is the placemark name).
    layer : Layer
    path : Path
    styles : Series, optional
        Status/stage per feature (same index), used for the style and the folder.
    kmz : bool
        Write a zipped ``doc.kml`` (KMZ).
    """
    s = spec(layer)
    wgs = to_wgs84(frame, reason=f"KML export of '{layer}'")
    palette = _palette(layer)
    root = ET.Element("kml", xmlns=_NS)
    doc = ET.SubElement(root, "Document")
    ET.SubElement(doc, "name").text = f"{s.label_vi} ({s.label_en})"
    keys: list[str] = []
    if styles is not None:
        values = styles.reindex(frame.index)
        keys = [str(v) if v is not None and not pd.isna(v) else _NOT_STARTED for v in values]
    else:
        keys = ["default"] * len(frame)
    for key in dict.fromkeys(keys):
        color = palette.get(key, _DEFAULT_COLOR)
        st = ET.SubElement(doc, "Style", id=f"s-{key}")
        line = ET.SubElement(st, "LineStyle")
        ET.SubElement(line, "color").text = kml_color(color)
        ET.SubElement(line, "width").text = "2"
        poly = ET.SubElement(st, "PolyStyle")
        ET.SubElement(poly, "color").text = kml_color(color, 0x99)
    name_col = _label_column(layer, frame)
    attr_cols = [c for c in frame.columns if c != frame.geometry.name]
    skip_name = name_col == Col.NAME
    folders: dict[str, ET.Element] = {}
    geoms = np.asarray(wgs.geometry.values)
    for i, (_, row) in enumerate(frame.iterrows()):
        key = keys[i]
        if key not in folders:
            folder = ET.SubElement(doc, "Folder")
            try:
                title = label(key, "vi") if key not in ("default", _NOT_STARTED) else s.label_vi
            except KeyError:
                title = key
            if key == _NOT_STARTED:
                title = "Chưa bắt đầu"
            ET.SubElement(folder, "name").text = title
            folders[key] = folder
        pm = ET.SubElement(folders[key], "Placemark")
        if name_col is not None and _text(row[name_col]) is not None:
            ET.SubElement(pm, "name").text = _text(row[name_col])
        ET.SubElement(pm, "styleUrl").text = f"#s-{key}"
        ext = ET.SubElement(pm, "ExtendedData")
        for c in attr_cols:
            if skip_name and c == Col.NAME:
                continue
            value = _text(row[c])
            if value is None:
                continue
            data = ET.SubElement(ext, "Data", name=str(c))
            ET.SubElement(data, "value").text = value
        _geometry(pm, geoms[i])
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    if kmz:
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", xml)
    else:
        path.write_bytes(xml)
