"""Schema validation of atlas layers: columns, values, CRS and geometry.

These checks look at one layer at a time and need no other layer. The spatial
and logical consistency checks between layers (plots outside their park,
double leasing, ...) live in :mod:`kcn_gis.analytics.checks`.

All functions return lists of :class:`~kcn_gis.errors.Problem`; nothing here
raises on bad data, so a user sees every problem at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS

from kcn_gis import cores
from kcn_gis.crs import WORKING_CRS, same_crs
from kcn_gis.errors import Problem
from kcn_gis.schema import LayerSpec

__all__ = ["check_crs", "check_layer", "problems_frame"]

_POLYGON_TYPES = {"Polygon", "MultiPolygon"}
_LINE_TYPES = {"LineString", "MultiLineString"}
_MAX_PER_CHECK = 50  # problems listed per check and column; the rest are counted


def _geom_type(g: object) -> str:
    return str(getattr(g, "geom_type", type(g).__name__))


def problems_frame(problems: Iterable[Problem]) -> pd.DataFrame:
    """Return problems as a tidy DataFrame (one row per problem).

    Columns: ``severity``, ``check``, ``layer``, ``row`` (1-based), ``field``,
    ``ids`` (comma-separated feature ids) and ``message``.
    """
    rows = [
        {
            "severity": p.severity,
            "check": p.check,
            "layer": p.layer,
            "row": p.row,
            "field": p.field,
            "ids": ", ".join(p.ids),
            "message": p.message,
        }
        for p in problems
    ]
    cols = ["severity", "check", "layer", "row", "field", "ids", "message"]
    frame = pd.DataFrame(rows, columns=cols)
    frame["row"] = frame["row"].astype("Int64")
    return frame


def check_crs(
    layer_spec: LayerSpec, crs: object, *, expected: object = WORKING_CRS, file: str | None = None
) -> list[Problem]:
    """Check that a spatial layer declares ``expected`` as its CRS.

    A missing CRS, a geographic CRS and any other projected CRS are errors:
    kcn_gis never reprojects silently.
    """
    if layer_spec.geometry is None:
        return []
    name = str(layer_spec.name)
    exp = CRS.from_user_input(expected)
    exp_txt = f"EPSG:{exp.to_epsg()}" if exp.to_epsg() else exp.name
    if crs is None:
        return [
            Problem(
                "error",
                "missing_crs",
                f"the layer has no CRS. Declare it: for VN-2000 / TM-3 105°30′ coordinates use "
                f"kcn-gis import FILE --layer {name} --crs {exp_txt}, or gdf.set_crs('{exp_txt}') in Python.",
                layer=name,
                file=file,
            )
        ]
    c = CRS.from_user_input(crs)
    if same_crs(c, exp):
        return []
    code = f"EPSG:{c.to_epsg()}" if c.to_epsg() else c.name
    if c.is_geographic:
        msg = (
            f"the layer is in the geographic CRS {code} (degrees), not the atlas CRS {exp_txt}. Reproject it "
            f"explicitly: kcn-gis import FILE --layer {name} --crs {code}, or kcn_gis.crs.to_crs(gdf, '{exp_txt}')."
        )
    else:
        msg = (
            f"the layer is in {code} ({c.name}), not the atlas CRS {exp_txt}. Reproject it explicitly with "
            f"kcn_gis.crs.to_crs(gdf, '{exp_txt}') or re-import it with --crs."
        )
    return [Problem("error", "wrong_crs", msg, layer=name, file=file)]


def _ids(frame: pd.DataFrame, key: str | None, positions: np.ndarray) -> list[tuple[str, ...]]:
    if key is None or key not in frame.columns:
        return [() for _ in positions]
    vals = frame[key].iloc[positions].to_numpy()  # only the rows reported become Python objects
    return [(f"{key} '{v}'",) if not pd.isna(v) else () for v in vals]


def _row_problems(
    frame: pd.DataFrame,
    layer_spec: LayerSpec,
    mask: np.ndarray,
    *,
    check: str,
    field: str | None,
    message,
    file: str | None,
    severity: str = "error",
) -> list[Problem]:
    """One Problem per True in ``mask`` (capped), ``message(position)`` builds the text."""
    positions = np.flatnonzero(mask)
    if positions.size == 0:
        return []
    shown = positions[:_MAX_PER_CHECK]
    ids = _ids(frame, layer_spec.key, shown)
    out = [
        Problem(
            severity,
            check,
            message(int(p)),
            layer=str(layer_spec.name),
            row=int(p) + 1,
            field=field,
            ids=ident,
            file=file,
        )
        for p, ident in zip(shown, ids, strict=True)
    ]
    if positions.size > shown.size:
        out.append(
            Problem(
                severity,
                check,
                f"... and {positions.size - shown.size} more rows with the same problem",
                layer=str(layer_spec.name),
                field=field,
                file=file,
            )
        )
    return out


def _not_nfc(s: pd.Series) -> np.ndarray:
    """Positional mask of text values that are not Unicode NFC, computed in Arrow (no Python loop).

    ASCII text is always NFC, so only non-ASCII values matter. When few values are non-ASCII (ids,
    codes) those are taken and checked; when many are (names, notes, agencies), the column's distinct
    values are checked instead, without copying the rows, and the rows are looked up only when some
    distinct value is not NFC (rare: text written by kcn_gis is NFC).
    """
    if s.dtype == object and not s.dropna().map(type).eq(str).all():
        s = s.astype("str")
    arr = pa.array(s, from_pandas=True)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = arr.cast(pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    non_ascii = pc.invert(pc.string_is_ascii(arr)).fill_null(False).to_numpy(zero_copy_only=False)
    candidates = np.flatnonzero(non_ascii)
    mask = np.zeros(len(s), dtype=bool)
    if not candidates.size:
        return mask
    if candidates.size * 4 < len(arr):
        sub = arr.take(pa.array(candidates))
        differs = pc.not_equal(pc.utf8_normalize(sub, form="NFC"), sub).fill_null(False)
        mask[candidates[differs.to_numpy(zero_copy_only=False)]] = True
        return mask
    distinct = pc.unique(arr)
    distinct = distinct.filter(pc.invert(pc.string_is_ascii(distinct)).fill_null(False))
    bad = distinct.filter(pc.not_equal(pc.utf8_normalize(distinct, form="NFC"), distinct).fill_null(False))
    if len(bad):
        mask[:] = pc.is_in(arr, value_set=bad).fill_null(False).to_numpy(zero_copy_only=False)
    return mask


def _duplicated(s: pd.Series, isna: np.ndarray) -> np.ndarray:
    """Positional mask of the non-null values that occur more than once (every occurrence).

    Text and integer columns are sorted in Arrow and equal neighbours marked, which is several times
    cheaper than hashing millions of distinct ids (``duplicated``); other types take the pandas path.
    """
    if not (~isna).any():
        return np.zeros(len(s), dtype=bool)
    try:
        arr = pa.array(s, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        arr = None
    exact = (pa.types.is_string, pa.types.is_large_string, pa.types.is_integer)
    if arr is None or not any(t(arr.type) for t in exact) or len(arr) < 2:
        return (~isna) & s.duplicated(keep=False).to_numpy()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    order = pc.sort_indices(arr)  # nulls last; a null never equals its neighbour
    ranked = arr.take(order)
    same = pc.equal(ranked.slice(1), ranked.slice(0, len(ranked) - 1)).fill_null(False)
    k = np.flatnonzero(same.to_numpy(zero_copy_only=False))
    mask = np.zeros(len(s), dtype=bool)
    if k.size:
        pos = order.to_numpy()
        mask[pos[k]] = True
        mask[pos[k + 1]] = True
    return mask


def _check_column(frame: pd.DataFrame, layer_spec: LayerSpec, col, file: str | None) -> list[Problem]:
    out: list[Problem] = []
    s = frame[col.name]
    isna = s.isna().to_numpy()
    if not col.nullable:
        out += _row_problems(
            frame,
            layer_spec,
            isna,
            check="null_value",
            field=col.name,
            file=file,
            message=lambda p: f"'{col.name}' ({col.label_vi}) is empty; it is required. Fill it in.",
        )
    if col.enum is not None:
        allowed = [str(e) for e in col.enum]
        bad = ~isna & ~s.isin(allowed).to_numpy()
        out += _row_problems(
            frame,
            layer_spec,
            bad,
            check="unknown_value",
            field=col.name,
            file=file,
            message=lambda p: f"{col.name} '{s.iat[p]}' is not one of {', '.join(allowed)}",
        )
    if col.unique:
        dup = _duplicated(s, isna)
        out += _row_problems(
            frame,
            layer_spec,
            dup,
            check="duplicate_id",
            field=col.name,
            file=file,
            message=lambda p: f"{col.name} '{s.iat[p]}' appears more than once; ids must be unique",
        )
    if col.kind == "bool" and not pd.api.types.is_bool_dtype(s):
        ok = s.isna() | s.astype(object).isin([True, False, 0, 1])
        out += _row_problems(
            frame,
            layer_spec,
            ~ok.to_numpy(),
            check="bad_type",
            field=col.name,
            file=file,
            message=lambda p: f"'{col.name}' must be true/false",
        )
    if col.kind in ("int", "float") and not pd.api.types.is_numeric_dtype(s):
        num = pd.to_numeric(s, errors="coerce")
        bad = (~isna) & num.isna().to_numpy()
        out += _row_problems(
            frame,
            layer_spec,
            bad,
            check="bad_type",
            field=col.name,
            file=file,
            message=lambda p: f"'{col.name}' value '{s.iat[p]}' is not a number",
        )
    if col.kind == "text" and len(s):
        mask = _not_nfc(s)
        if mask.any():
            out += _row_problems(
                frame,
                layer_spec,
                mask,
                check="not_nfc",
                field=col.name,
                file=file,
                severity="warning",
                message=lambda p: (
                    f"'{col.name}' text is not Unicode NFC (decomposed diacritics); "
                    "re-import it with kcn-gis import to normalise it"
                ),
            )
    return out


#: From this many rows on, the columns of a layer are checked two at a time.
_THREADED_COLUMNS = 200_000


def is_valid(values: Any) -> np.ndarray:
    """``shapely.is_valid`` of each geometry of a geometry array, over two threads for large layers.

    An array that remembers its answer (the store's lazily decoded arrays, until one of their
    geometries is replaced) computes it once, so the schema checks and the consistency checks of one
    ``kcn-gis validate`` test each geometry once.
    """
    remembered = getattr(values, "valid_mask", None)
    if callable(remembered):
        return np.asarray(remembered())
    return threaded_is_valid(np.asarray(values, dtype=object))


def threaded_is_valid(geoms: np.ndarray) -> np.ndarray:
    """``shapely.is_valid``, over two threads for large layers (GEOS releases the GIL)."""
    if len(geoms) < 50_000 or cores.available() < 2:
        return shapely.is_valid(geoms)
    half = len(geoms) // 2
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(shapely.is_valid, (geoms[:half], geoms[half:])))
    return np.concatenate(parts)


def _check_geometry(frame: gpd.GeoDataFrame, layer_spec: LayerSpec, file: str | None) -> list[Problem]:
    geoms = np.asarray(frame.geometry.values)
    out: list[Problem] = []
    missing = shapely.is_missing(geoms)
    out += _row_problems(
        frame,
        layer_spec,
        missing,
        check="null_geometry",
        field="geometry",
        file=file,
        message=lambda p: "the feature has no geometry; draw it or remove the row",
    )
    empty = ~missing & shapely.is_empty(geoms)
    out += _row_problems(
        frame,
        layer_spec,
        empty,
        check="empty_geometry",
        field="geometry",
        file=file,
        message=lambda p: "the geometry is empty; draw it or remove the row",
    )
    present = ~missing & ~empty
    types = np.asarray(shapely.get_type_id(geoms))
    allowed_ids = {"polygon": (3, 6), "line": (1, 5), "point_or_polygon": (0, 4, 3, 6)}[
        layer_spec.geometry or "polygon"
    ]
    wrong = present & ~np.isin(types, allowed_ids)
    kind = {
        "polygon": "Polygon or MultiPolygon",
        "line": "LineString or MultiLineString",
        "point_or_polygon": "Point, MultiPoint, Polygon or MultiPolygon",
    }[layer_spec.geometry or "polygon"]
    out += _row_problems(
        frame,
        layer_spec,
        wrong,
        check="wrong_geometry_type",
        field="geometry",
        file=file,
        message=lambda p: (
            f"the geometry is a {_geom_type(geoms[p])}, but layer '{layer_spec.name}' holds {kind}; "
            "import the file into the layer that matches its geometry, or redraw the feature"
        ),
    )
    invalid = present & ~wrong & ~is_valid(frame.geometry.values)
    out += _row_problems(
        frame,
        layer_spec,
        invalid,
        check="invalid_geometry",
        field="geometry",
        file=file,
        message=lambda p: (
            f"invalid geometry ({shapely.is_valid_reason(geoms[p])}); repair it with "
            "kcn-gis validate --fix, which writes a new atlas and lists every change"
        ),
    )
    return out


def check_layer(
    layer_spec: LayerSpec,
    frame: pd.DataFrame,
    *,
    file: str | None = None,
    expected_crs: object = WORKING_CRS,
    checks: Sequence[str] = ("columns", "values", "crs", "geometry"),
) -> list[Problem]:
    """Check one layer frame against its :class:`~kcn_gis.schema.LayerSpec`.

    Parameters
    ----------
    layer_spec : LayerSpec
        The layer's specification from :data:`kcn_gis.schema.ATLAS_LAYERS`.
    frame : DataFrame or GeoDataFrame
        The layer's rows, in file order (row numbers in messages are 1-based).
    file : str, optional
        File name used in messages.
    expected_crs : CRS-like
        The atlas working CRS (EPSG:9209 for Bắc Ninh).

    Returns
    -------
    list of Problem
        Empty when the layer is valid.
    """
    name = str(layer_spec.name)
    out: list[Problem] = []
    present = [c for c in layer_spec.columns if c.name in frame.columns]
    if "columns" in checks:
        for c in layer_spec.columns:
            if c.required and c.name not in frame.columns:
                have = ", ".join(str(x) for x in frame.columns if x != "geometry") or "none"
                out.append(
                    Problem(
                        "error",
                        "missing_column",
                        f"required column '{c.name}' ({c.label_vi}) is missing; columns present: {have}. "
                        "Add it, or map your column to it with a mapping file (kcn-gis import --map).",
                        layer=name,
                        field=c.name,
                        file=file,
                    )
                )
    if "values" in checks:
        if len(frame) >= _THREADED_COLUMNS and len(present) > 1 and cores.available() >= 2:
            # each column's checks are Arrow and numpy passes that release the GIL, and only read the frame:
            # two columns at a time, problems kept in column order
            with ThreadPoolExecutor(2) as pool:
                for found in pool.map(lambda c: _check_column(frame, layer_spec, c, file), present):
                    out += found
        else:
            for c in present:
                out += _check_column(frame, layer_spec, c, file)
    if layer_spec.geometry is not None:
        if not isinstance(frame, gpd.GeoDataFrame) or frame.geometry.name not in frame.columns:
            out.append(Problem("error", "missing_geometry", "the layer has no geometry column", layer=name, file=file))
            return out
        if "crs" in checks:
            out += check_crs(layer_spec, frame.crs, expected=expected_crs, file=file)
        if "geometry" in checks:
            out += _check_geometry(frame, layer_spec, file)
    return out
