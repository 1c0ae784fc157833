"""Geometry repair for ``kcn-gis validate --fix``: repaired copies and a list of every change.

Nothing is edited in place: :func:`repair_geometries` returns new frames and a
change list; the CLI writes them to a *new* atlas.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics._common import M2_PER_HA, geoms
from kcn_gis.schema import ATLAS_LAYERS, Layer

__all__ = ["CHANGE_COLUMNS", "repair_geometries"]

log = logging.getLogger(__name__)

#: Columns of the change list returned by :func:`repair_geometries`.
CHANGE_COLUMNS = ("layer", "row", "id", "action", "problem", "area_before_ha", "area_after_ha")

_POLYGONAL = (3, 6)  # Polygon, MultiPolygon
_LINEAR = (1, 5)  # LineString, MultiLineString


def _keep_dimension(g: shapely.Geometry, kinds: tuple[int, ...]) -> shapely.Geometry | None:
    """Keep only the parts of ``g`` of the layer's kind (a repair can leave stray lines or points)."""
    if shapely.get_type_id(g) in kinds:
        return g
    parts = shapely.get_parts(g)
    parts = parts[np.isin(shapely.get_type_id(parts), kinds)]
    if parts.size == 0:
        return None
    merged = shapely.union_all(parts)
    return merged if not merged.is_empty else None


def repair_geometries(
    layers: Mapping[str | Layer, pd.DataFrame],
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Repair invalid geometries of the spatial layers; return repaired copies and the list of changes.

    Polygons are repaired with ``shapely.make_valid(method="structure")`` (rings
    are rebuilt, self-intersections split, collapsed parts dropped); stray lines or
    points left by the repair are dropped so a polygon layer stays polygonal.
    Lines use the default ``linework`` method. A geometry that would collapse to
    nothing is left unchanged and listed as not repaired.

    Parameters
    ----------
    layers : mapping of layer name to frame
        Atlas layers (attribute tables are passed through unchanged). The CRS is kept.

    Returns
    -------
    (dict of layer name to frame, DataFrame)
        The layers (repaired copies where something changed) and one row per
        geometry looked at: ``layer``, ``row`` (1-based), ``id``, ``action``,
        ``problem`` (GEOS reason), ``area_before_ha``, ``area_after_ha``
        (computed in the layer's CRS; 0 for lines).
    """
    out: dict[str, pd.DataFrame] = {}
    changes: list[dict[str, object]] = []
    for name, frame in layers.items():
        layer = Layer(str(name))
        layer_spec = ATLAS_LAYERS[layer]
        out[str(layer)] = frame
        if layer_spec.geometry is None or not isinstance(frame, gpd.GeoDataFrame):
            continue
        g = geoms(frame)
        bad = np.flatnonzero(~shapely.is_missing(g) & ~shapely.is_empty(g) & ~shapely.is_valid(g))
        if bad.size == 0:
            continue
        polygonal = layer_spec.geometry in ("polygon", "point_or_polygon")  # points are always valid
        method = "structure" if polygonal else "linework"
        kinds = _POLYGONAL if polygonal else _LINEAR
        key = layer_spec.key
        ids = frame[key].astype(object).to_numpy() if key and key in frame.columns else np.full(len(frame), None)
        new = g.copy()
        for p in bad:
            before = g[p]
            reason = shapely.is_valid_reason(before)
            if polygonal:
                fixed = shapely.make_valid(before, method="structure", keep_collapsed=False)
            else:
                fixed = shapely.make_valid(before)
            fixed = _keep_dimension(fixed, kinds)
            if fixed is not None and not fixed.is_empty and shapely.is_valid(fixed):
                new[p] = fixed
                action = f"made valid ({method}) as {fixed.geom_type}"
            else:
                action = "not repaired: the repair leaves nothing of this geometry type; redraw it"
            changes.append(
                {
                    "layer": str(layer),
                    "row": int(p) + 1,
                    "id": None if ids[p] is None or pd.isna(ids[p]) else f"{key} '{ids[p]}'",
                    "action": action,
                    "problem": reason,
                    "area_before_ha": float(shapely.area(before)) / M2_PER_HA,
                    "area_after_ha": float(shapely.area(new[p])) / M2_PER_HA,
                }
            )
        repaired = frame.copy()
        repaired[repaired.geometry.name] = gpd.GeoSeries(new, index=frame.index, crs=frame.crs)
        out[str(layer)] = repaired
        log.info("repaired %d geometries in layer %s", bad.size, layer)
    frame_out = pd.DataFrame(changes, columns=list(CHANGE_COLUMNS))
    frame_out["row"] = frame_out["row"].astype("Int64")
    return out, frame_out
