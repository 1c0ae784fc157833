"""Compact encoding of map layers: quantised delta-coded coordinates, allow-listed columns, shared style classes.

``geopandas.explore()`` writes every feature as a GeoJSON ``Feature`` with 15+
decimals and a style object of its own; at 100 000 parcels that is ~50 MB. Here
a layer is encoded as

* ``geom``: coordinates in EPSG:4326 quantised to ``10**-precision`` degrees
  (6 decimals = ~0.1 m), delta-coded as one flat integer array, with the
  closing vertex of each ring dropped; plus the parts-per-feature,
  rings-per-part and vertices-per-ring counts (a single number when constant);
* ``cls``: one small integer per feature, the index of a shared style class
  (:class:`~kcn_gis.maps.legend.StyleClass`), the same classes the legend shows;
* ``props``: only the allow-listed columns, column-wise, dictionary-encoded
  when values repeat.

Simplification keeps topology: a layer that is a polygon coverage (parcels,
plots) is simplified with :func:`shapely.coverage_simplify`, so neighbours
keep sharing their edges; other polygons with ``preserve_topology=True``.
Simplification happens in the projected working CRS (tolerance in metres)
before the explicit, logged conversion to EPSG:4326 (:func:`kcn_gis.crs.to_wgs84`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from kcn_gis.crs import require_projected, to_wgs84
from kcn_gis.errors import KcnGisError
from kcn_gis.jsonsafe import json_safe

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "encode_column",
    "encode_geometry",
    "encode_props",
    "safe_json",
    "select_fields",
    "simplify_coverage",
    "to_map_crs",
]

log = logging.getLogger(__name__)


def safe_json(obj: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e``, ``\\u0026`` (and
    U+2028/U+2029 escaped), so a value such as ``</script><script>alert(1)`` can
    neither end the element nor appear as markup. NaN is refused.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def select_fields(frame: pd.DataFrame, allowed: Iterable[str], wanted: Sequence[str]) -> pd.DataFrame:
    """Return the columns ``wanted`` of ``frame``, refusing any column outside the allow-list.

    Parameters
    ----------
    frame : DataFrame
        A layer.
    allowed : iterable of str
        The audience's allow-list for this layer (e.g. ``kcn_gis.schema.INVESTOR_FIELDS[layer]``).
    wanted : sequence of str
        Columns the map wants to show; missing optional columns are filled with nulls.

    Raises
    ------
    KcnGisError
        If a wanted column is not in the allow-list (a programming error that
        would leak data to the wrong audience).
    """
    allowed = {str(a) for a in allowed}
    bad = [str(w) for w in wanted if str(w) not in allowed]
    if bad:
        raise KcnGisError(f"map fields {bad} are not in this audience's allow-list {sorted(allowed)}")
    out = pd.DataFrame(index=frame.index)
    for w in wanted:
        out[str(w)] = frame[str(w)] if str(w) in frame.columns else None
    return out


def simplify_coverage(geoms: gpd.GeoSeries, tolerance_m: float, *, coverage: bool = True) -> gpd.GeoSeries:
    """Simplify polygons in a projected CRS, keeping shared edges shared.

    Parameters
    ----------
    geoms : GeoSeries
        Polygons in a projected CRS (metres), e.g. EPSG:9209.
    tolerance_m : float
        Tolerance in metres (0 = no simplification).
    coverage : bool, default True
        The polygons form a coverage (no overlaps, matching edges): use
        :func:`shapely.coverage_simplify`. If they do not (checked with
        :func:`shapely.coverage_is_valid`), fall back to per-polygon
        topology-preserving simplification and log it.

    Returns
    -------
    GeoSeries
        Same index and CRS.
    """
    require_projected(geoms, "map layer")
    if tolerance_m <= 0 or len(geoms) == 0:
        return geoms
    arr = np.asarray(geoms.values, dtype=object)
    valid = ~(shapely.is_empty(arr) | pd.isna(arr))
    if coverage and valid.all() and bool(shapely.coverage_is_valid(arr)):
        out = shapely.coverage_simplify(arr, tolerance_m)
    else:
        if coverage:
            log.info("layer is not a valid polygon coverage; simplifying each polygon on its own")
        out = shapely.simplify(arr, tolerance_m, preserve_topology=True)
    return geoms.__class__(out, index=geoms.index, crs=geoms.crs)


def to_map_crs(frame: gpd.GeoDataFrame, *, what: str) -> gpd.GeoDataFrame:
    """Convert a layer to EPSG:4326 for the web map (explicit and logged, EPSG:6960 for VN-2000)."""
    return to_wgs84(frame, reason=f"web map layer '{what}'")


def _counts(idx: np.ndarray, n: int) -> np.ndarray:
    return np.bincount(idx, minlength=n).astype(np.int64) if len(idx) else np.zeros(n, dtype=np.int64)


def _compact(counts: np.ndarray) -> int | list[int]:
    if len(counts) and (counts == counts[0]).all():
        return int(counts[0])
    return counts.tolist()


def encode_geometry(geoms: Any, *, precision: int = 6) -> dict[str, Any]:
    """Encode polygons or lines (EPSG:4326 longitude/latitude) compactly.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Polygons/MultiPolygons or LineStrings/MultiLineStrings, longitude/latitude degrees.
    precision : int, default 6
        Decimals kept (6 = ~0.1 m at Bắc Ninh's latitude, 5 = ~1 m).

    Returns
    -------
    dict
        ``{"t": "polygon"|"line", "p": precision, "f": parts per feature,
        "r": rings per part (polygons), "n": vertices per ring/part,
        "c": delta-coded integer x, y pairs}``; a count list is a single int
        when it is the same for every feature. Rings omit their closing vertex.
    """
    arr = np.asarray(geoms, dtype=object)
    n = len(arr)
    arr = np.where(pd.isna(arr), shapely.Polygon(), arr) if n else arr
    types = set(shapely.get_type_id(arr[~shapely.is_empty(arr)]).tolist()) if n else set()
    is_line = bool(types) and types <= {1, 5}
    if types and not is_line and not types <= {3, 6}:
        raise KcnGisError(f"a map layer mixes geometry types {sorted(types)}; use polygons or lines only")
    parts, part_idx = shapely.get_parts(arr, return_index=True)
    out: dict[str, Any] = {"t": "line" if is_line else "polygon", "p": precision, "f": _compact(_counts(part_idx, n))}
    if is_line:
        rings = parts
    else:
        rings, ring_idx = shapely.get_rings(parts, return_index=True)
        out["r"] = _compact(_counts(ring_idx, len(parts)))
    coords, coord_idx = shapely.get_coordinates(rings, return_index=True)
    npts = _counts(coord_idx, len(rings))
    if not is_line and len(coords):
        last = np.cumsum(npts) - 1
        keep = np.ones(len(coords), dtype=bool)
        keep[last] = False
        coords = coords[keep]
        npts = npts - 1
    out["n"] = _compact(npts)
    q = np.round(coords * 10**precision).astype(np.int64)
    flat = q.reshape(-1)
    if len(flat):
        d = np.empty_like(q)
        d[0] = q[0]
        d[1:] = q[1:] - q[:-1]
        flat = d.reshape(-1)
    out["c"] = flat.tolist()
    return out


def encode_column(values: Iterable[Any], *, digits: int = 4) -> dict[str, Any]:
    """Encode one property column: ``{"v": [...]}`` or, when values repeat, ``{"d": uniques, "i": codes}``.

    Missing values become ``null``; dates become ISO text; floats are rounded to ``digits``.
    Vectorised (pandas factorize); dict/list values (bilingual labels, lists of
    names) are de-duplicated by identity, so pass the same object for equal values.
    """
    s = values.reset_index(drop=True) if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    n = len(s)
    if n == 0:
        return {"v": []}
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.Series([json_safe(v, digits=digits) for v in s], dtype=object)
    elif pd.api.types.is_bool_dtype(s.dtype):
        s = s.astype(object).where(s.notna(), None)
    elif pd.api.types.is_numeric_dtype(s.dtype):
        return {"v": [json_safe(v, digits=digits) for v in s.astype("float64").to_numpy().tolist()]}
    structured = s.dtype == object and any(isinstance(v, (dict, list, tuple)) for v in s.tolist())
    obj = s.astype(object)
    if structured:
        seen: dict[int, int] = {}
        uniq_vals: list[Any] = []
        codes_list = []
        for v in obj.tolist():
            key = id(v) if isinstance(v, (dict, list, tuple)) else id(None) if _is_missing(v) else None
            if key is None:  # a plain value among structured ones: fall back to its text
                v = str(v)
                key = hash(("s", v))
            if key not in seen:
                seen[key] = len(uniq_vals)
                uniq_vals.append(None if _is_missing(v) else json_safe(v, digits=digits))
            codes_list.append(seen[key])
        codes = np.asarray(codes_list)
        uniques = uniq_vals
    else:
        codes, labels = pd.factorize(obj, use_na_sentinel=True)
        uniques = [json_safe(v, digits=digits) for v in labels]
        if (codes < 0).any():
            codes = np.where(codes < 0, len(uniques), codes)
            uniques.append(None)
    if len(uniques) * 2 <= n:
        return {"d": uniques, "i": codes.tolist()}
    return {"v": [uniques[c] for c in codes.tolist()]}


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    return False


def encode_props(frame: pd.DataFrame | Mapping[str, Sequence[Any]], *, digits: int = 4) -> dict[str, Any]:
    """Encode the columns of ``frame`` (already restricted to the allow-list) column-wise."""
    return {str(k): encode_column(list(v), digits=digits) for k, v in frame.items()}
