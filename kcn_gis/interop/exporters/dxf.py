"""DXF for CAD users (ezdxf): closed polylines on layers by status, labels, attributes as XDATA.

* Units are metres (``$INSUNITS`` = 6), coordinates in the atlas CRS
  (EPSG:9209); DXF itself has no CRS, so the file name or drawing notes must
  say it (kcn-gis writes it into the drawing's ``$PROJECTNAME``-like custom
  property ``CRS``).
* Each polygon ring is a closed LWPOLYLINE on layer ``<LAYER>`` or
  ``<LAYER>-<status>``; holes carry the XDATA flag ``_ring=hole``.
* The exported attributes are stored as XDATA (application ``KCN_GIS``,
  ``column=value`` strings) on the outer ring, so ``kcn-gis import`` reads
  them back exactly; a TEXT label (parcel number, plot id or name) is placed
  inside each polygon on layer ``<LAYER>-LABELS`` for people.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.errors import MissingDependencyError
from kcn_gis.interop.exporters.kml import _label_column, _text
from kcn_gis.interop.importers.readers import DXF_XDATA_APP
from kcn_gis.schema import Layer

__all__ = ["write_dxf"]

_CHUNK = 240  # XDATA strings are limited to 255 bytes


def _xdata_pairs(row: pd.Series, columns: list[str], extra: dict[str, str]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    items = [(c, _text(row[c])) for c in columns] + list(extra.items())
    for c, value in items:
        if value is None:
            continue
        text = f"{c}={value}"
        data = text.encode("utf-8")
        if len(data) <= _CHUNK:
            out.append((1000, text))
            continue
        first, rest = text[: _CHUNK // 4], text[_CHUNK // 4 :]
        out.append((1000, first))
        while rest:
            out.append((1000, "+" + rest[: _CHUNK // 4]))
            rest = rest[_CHUNK // 4 :]
    return out


def write_dxf(frame: gpd.GeoDataFrame, layer: Layer, path: Path, *, styles: pd.Series | None = None) -> None:
    """Write ``frame`` (atlas CRS, metres) as a DXF R2010 drawing; see the module docstring."""
    try:
        import ezdxf
    except ImportError as exc:  # pragma: no cover - ezdxf is a dev dependency
        raise MissingDependencyError.for_extra("ezdxf", "cad", "Writing DXF drawings") from exc
    doc = ezdxf.new("R2010")
    doc.header["$INSUNITS"] = 6
    doc.appids.add(DXF_XDATA_APP)
    epsg = frame.crs.to_epsg() if frame.crs is not None else None
    doc.header.custom_vars.append("CRS", f"EPSG:{epsg}" if epsg else str(frame.crs))
    msp = doc.modelspace()
    base = str(layer).upper()
    label_layer = f"{base}-LABELS"
    doc.layers.add(label_layer)
    label_col = _label_column(layer, frame)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    geoms = np.asarray(frame.geometry.values)
    style_values = styles.reindex(frame.index).tolist() if styles is not None else [None] * len(frame)
    for i, (_, row) in enumerate(frame.iterrows()):
        geom = geoms[i]
        if geom is None or geom.is_empty:
            continue
        st = style_values[i]
        lay = f"{base}-{st}" if st is not None and not pd.isna(st) else base
        if lay not in doc.layers:
            doc.layers.add(lay)
        feature = f"F{i + 1}"
        parts = list(geom.geoms) if hasattr(geom, "geoms") else [geom]
        for k, part in enumerate(parts):
            extra = {"_feature": feature} if len(parts) > 1 else {}
            if isinstance(part, shapely.Polygon):
                outer = msp.add_lwpolyline(np.asarray(part.exterior.coords)[:-1, :2].tolist(), close=True)
                outer.dxf.layer = lay
                if k == 0:
                    outer.set_xdata(DXF_XDATA_APP, _xdata_pairs(row, columns, extra))
                else:
                    outer.set_xdata(DXF_XDATA_APP, [(1000, f"_feature={feature}")])
                for hole in part.interiors:
                    h = msp.add_lwpolyline(np.asarray(hole.coords)[:-1, :2].tolist(), close=True)
                    h.dxf.layer = lay
                    h.set_xdata(DXF_XDATA_APP, [(1000, "_ring=hole"), (1000, f"_feature={feature}")])
                if len(part.interiors) and len(parts) == 1:
                    # the outer ring must share the feature id with its holes
                    outer.set_xdata(DXF_XDATA_APP, _xdata_pairs(row, columns, {"_feature": feature}))
            elif isinstance(part, shapely.Point):  # facilities recorded as points (schema version 2)
                pt = msp.add_point((part.x, part.y))
                pt.dxf.layer = lay
                pt.set_xdata(DXF_XDATA_APP, _xdata_pairs(row, columns, extra))
            else:
                line = msp.add_lwpolyline(np.asarray(part.coords)[:, :2].tolist(), close=False)
                line.dxf.layer = lay
                if k == 0:
                    line.set_xdata(DXF_XDATA_APP, _xdata_pairs(row, columns, extra))
        if label_col is not None and _text(row[label_col]) is not None:
            p = (
                geom.representative_point()
                if geom.geom_type.endswith(("Polygon", "Point"))
                else geom.interpolate(0.5, normalized=True)
            )
            _add_label(msp, _text(row[label_col]) or "", p, label_layer)
    doc.saveas(path)


def _add_label(msp: Any, text: str, point: Any, layer: str) -> None:
    from ezdxf.enums import TextEntityAlignment

    t = msp.add_text(text, height=2.5, dxfattribs={"layer": layer})
    t.set_placement((point.x, point.y), align=TextEntityAlignment.MIDDLE_CENTER)
