"""The all-or-nothing import of one file into one atlas layer.

:func:`import_file` reads a file (:mod:`kcn_gis.interop.importers.readers`), repairs
its text (:mod:`kcn_gis.interop.vntext`), maps its columns and values
(:mod:`kcn_gis.interop.importers.mapping`), settles its CRS (:mod:`kcn_gis.interop.crsdetect`:
never guessed, never silently reprojected), validates the result against the
data model and only then writes the layer with ``atlas.write`` (atomic). Any
error writes nothing; every problem names the file, row and field.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from kcn_gis.crs import same_crs
from kcn_gis.dates import vietnam_today
from kcn_gis.errors import ConcurrencyError, InputFileError, KcnGisError, Problem
from kcn_gis.interop.crsdetect import MISTAKES, crs_label, diagnose_crs, to_working_frame
from kcn_gis.interop.importers.mapping import (
    HOLDER_ADDRESS,
    PARK_NAME,
    SOURCE_LAYER,
    ColumnMapping,
    load_mapping,
    normalize_header,
)
from kcn_gis.interop.importers.readers import SourceData, read_source
from kcn_gis.interop.importers.result import ImportResult
from kcn_gis.interop.vntext import ENCODINGS, TextChange, fix_frame
from kcn_gis.memory import leanly, release
from kcn_gis.schema import Col, Layer, LayerSpec, spec
from kcn_gis.validation import check_layer

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

#: Where an import goes: an open Atlas, a GeoPackage path or a PostGIS URL (None: beside the file).
AtlasSpec: TypeAlias = "Atlas | str | os.PathLike[str] | None"

__all__ = ["IMPORTABLE_LAYERS", "MODES", "ImportResult", "commit_import", "import_file", "prepare_import"]

log = logging.getLogger(__name__)

#: Layers ``kcn-gis import`` can fill (the spatial layers of the data model).
IMPORTABLE_LAYERS: tuple[Layer, ...] = (Layer.PARKS, Layer.PLOTS, Layer.PARCELS, Layer.PROVINCE, Layer.RIVERS)
IMPORTABLE_LAYERS += (Layer.FACILITIES,)  # schema version 2
#: ``append`` adds the file's features to the layer (ids must stay unique); ``replace`` replaces the rows of
#: the parks present in the file (other parks are kept); ``replace_all`` replaces the whole layer.
MODES: tuple[str, ...] = ("append", "replace", "replace_all")


# ---------------------------------------------------------------------------------------------------
def _open_target(atlas: AtlasSpec) -> tuple[Atlas | None, Path | None]:
    """Return (Atlas or None, path). A path that does not exist yet is a new atlas."""
    from kcn_gis.store import Atlas, open_atlas

    if atlas is None:
        return None, None
    if isinstance(atlas, Atlas):
        return atlas, Path(atlas.location) if not str(atlas.location).startswith("postgres") else None
    text = str(atlas)
    if text.startswith(("postgresql://", "postgres://")):
        return open_atlas(text), None
    p = Path(text)
    if p.exists():
        return open_atlas(p), p
    if p.suffix.lower() != ".gpkg":
        raise InputFileError(f"{p}: an atlas is a .gpkg file (or a postgresql:// URL)")
    return None, p


def _text_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, float | np.floating) and float(v).is_integer():
        return str(int(v))
    if isinstance(v, pd.Timestamp | dt.date):
        return v.isoformat()[:10] if getattr(v, "hour", 0) == 0 and getattr(v, "minute", 0) == 0 else v.isoformat()
    text = str(v).strip()
    return text if text else None


#: Columns kcn-gis export adds (computed areas); never imported back.
_COMPUTED_HEADERS = frozenset({"areaha", "aream2"})

_DATE_FORMATS = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y-%m-%d", "%Y/%m/%d", "%Y%m%d")


def _date_value(v: Any) -> tuple[Any, bool]:
    if v is None or v is pd.NaT or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return pd.NaT, True
    if isinstance(v, pd.Timestamp | dt.datetime | dt.date | np.datetime64):
        return pd.Timestamp(v).normalize(), True
    text = str(v).strip()
    if not text:
        return pd.NaT, True
    head = text.split("T")[0].split(" ")[0]
    for fmt in _DATE_FORMATS:
        try:
            return pd.Timestamp(dt.datetime.strptime(head, fmt)), True
        except ValueError:
            continue
    return v, False


def _located(src: SourceData, index: int | None, severity: str, check: str, message: str, **where: Any) -> Problem:
    """A problem at feature ``index`` of ``src`` (0-based): its file row, and its sheet for a workbook."""
    row = src.rows[index] if index is not None and 0 <= index < len(src.rows) else where.pop("row", None)
    where.pop("row", None)
    if src.sheets is not None and index is not None and 0 <= index < len(src.sheets):
        from kcn_gis.interop.importers.tables import SheetProblem

        return SheetProblem(severity, check, message, row=row, sheet=src.sheets[index], **where)
    return Problem(severity, check, message, row=row, **where)


def _text_series(values: pd.Series) -> pd.Series:
    """Cells as stripped text (None when empty), vectorised; integral floats without ``.0``, dates as ISO dates."""
    s = values
    if pd.api.types.is_float_dtype(s.dtype):
        arr = s.to_numpy(dtype="float64", na_value=np.nan)
        integral = np.isfinite(arr) & (np.mod(arr, 1.0) == 0)
        out = pd.Series(np.where(integral, np.round(arr).astype("int64", copy=False).astype(str), arr.astype(str)))
        out[np.isnan(arr)] = None
        return out.astype("string")
    if pd.api.types.is_integer_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("string")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return pd.Series([_text_value(v) for v in s], dtype="string")
    if s.dtype == object and not all(isinstance(v, str) or v is None for v in s.dropna().unique()[:1000]):
        return pd.Series(s.map(_text_value).to_numpy(), dtype="string")  # mixed cells of a workbook
    t = s.astype("string").str.strip()
    return t.mask(t == "")


def _by_unique(values: pd.Series, convert: Any) -> tuple[pd.Series, np.ndarray]:
    """Apply ``convert(value) -> (new, ok)`` once per distinct value; returns (new values, bad mask)."""
    codes, uniq = pd.factorize(values, sort=False)  # -1: missing (kept missing, never bad)
    converted = [convert(u) for u in uniq]
    new_values = np.empty(len(converted) + 1, dtype=object)
    new_values[:-1] = [c[0] for c in converted]
    ok = np.array([bool(c[1]) for c in converted] + [True], dtype=bool)
    return pd.Series(new_values[codes], index=values.index), ~ok[codes]


def _template_values(template: str, out: pd.DataFrame, n: int) -> pd.Series:
    """``template.format(**row)`` for every row, vectorised (fields without format specs)."""
    import string

    res = pd.Series([""] * n, dtype="string")
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        if literal:
            res = res + literal
        if name is None:
            continue
        if name not in out.columns:
            raise KeyError(name)
        col = _text_series(out[name].reset_index(drop=True)).fillna("")
        res = res + col
    return res


def _arrow_text(values: pd.Series) -> Any:
    """Cells as stripped text, empty cells as "", in one Arrow ``large_string`` array (see :func:`_text_series`)."""
    import pyarrow as pa

    s = _text_series(values.reset_index(drop=True)).fillna("")
    arr = pa.array(s.array, type=pa.large_string())
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


def _arrow_padded(values: pd.Series, width: int) -> Any:
    """Digits-only cells left-padded with zeros to ``width`` characters (others as they are), in Arrow."""
    import pyarrow.compute as pc

    text = _arrow_text(values)
    return pc.if_else(pc.match_substring_regex(text, r"^[0-9]+$"), pc.utf8_lpad(text, width, "0"), text)


def _default_parcel_ids(out: pd.DataFrame) -> pd.Series:
    """``{park_id}-{commune code}-{map_sheet:02}-{parcel_no:04}``, as the bundled atlas numbers its parcels.

    Joined by Arrow in one pass over four text arrays (no Python string per row).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from kcn_gis.interop.importers.mapping import COMMUNE_CODE, commune_code

    if COMMUNE_CODE in out.columns and out[COMMUNE_CODE].notna().any():
        code = _arrow_text(out[COMMUNE_CODE])
    else:
        names = _text_series(out[Col.COMMUNE].reset_index(drop=True))
        code = _arrow_text(names.map({u: commune_code(u) for u in names.dropna().unique()}).astype("string"))
    parts = [_arrow_text(out[Col.PARK_ID]), code, _arrow_padded(out[Col.MAP_SHEET], 2)]
    parts.append(_arrow_padded(out[Col.PARCEL_NO], 4))
    joined = pc.binary_join_element_wise(*parts, pa.scalar("-", pa.large_string()))
    del parts, code
    return pd.Series(pd.array(joined, dtype="str"))


def _map_columns(
    src: SourceData,
    layer: Layer,
    mapping: ColumnMapping,
    atlas: Atlas | None,
    result: ImportResult,
    *,
    constants: dict[str, Any] | None = None,
) -> gpd.GeoDataFrame:
    s = spec(layer)
    fname = str(src.path)
    frame = src.frame
    geom_name = frame.geometry.name
    headers = [str(c) for c in frame.columns if c != geom_name]
    colmap, unmapped = mapping.resolve(headers, layer)
    result.column_map = {k: v for k, v in colmap.items() if k != v}
    mapped = {h: frame[h] for h in colmap}
    for h in unmapped:
        col = frame[h]
        if col.isna().all() or any(col.equals(m) for m in mapped.values()):
            continue  # empty, or a copy of a mapped column (e.g. the KML placemark name)
        if normalize_header(h) in _COMPUTED_HEADERS:
            result.notes.append(f"column '{h}' is computed from geometry and is not imported (areas are never stored)")
            continue
        result.problems.append(
            Problem(
                "warning",
                "unmapped_column",
                f"column '{h}' matches no column of layer '{layer}' and is not imported; to keep it, map it in a "
                f"mapping file (columns: {{'{h}': <model column>}})",
                layer=str(layer),
                field=h,
                file=fname,
            )
        )
    out = pd.DataFrame(index=range(len(frame)))
    for h, target in colmap.items():
        out[target] = frame[h].array  # as read (text stays Arrow text, not one Python object per cell)
    if HOLDER_ADDRESS in out.columns:
        result.notes.append("the address column (Địa chỉ) is recognised but not stored: the data model has no address")
        out = out.drop(columns=[HOLDER_ADDRESS])
    # constants: --set and --park win over the file, mapping defaults fill what the file lacks
    for col, value in (constants or {}).items():
        replaced = col in out.columns and out[col].notna().any()
        out[col] = value
        result.notes.append(
            f"'{col}' set to '{value}' for every feature" + (" (replacing the file's column)" if replaced else "")
        )
    for col, value in mapping.defaults.items():
        if col not in out.columns or out[col].isna().all():
            out[col] = value
            result.notes.append(f"'{col}' set to '{value}' for every feature (mapping defaults)")
    if PARK_NAME in out.columns:
        if Col.PARK_ID not in out.columns:
            out[str(Col.PARK_ID)] = _park_ids_from_names(out[PARK_NAME], atlas, src, layer, result)
        out = out.drop(columns=[PARK_NAME])
    for c in s.columns:
        if c.name not in out.columns and c.nullable and c.name not in mapping.templates:
            out[c.name] = None
            result.notes.append(f"'{c.name}' ({c.label_vi}) is not in the file: left empty")

    def bad(mask: np.ndarray, values: pd.Series, check: str, message: Any, col: str) -> None:
        for i in np.flatnonzero(mask).tolist():  # only the bad cells are visited
            result.problems.append(
                _located(src, i, "error", check, message(values.iat[i]), layer=str(layer), field=col, file=fname)
            )

    # typed values, vectorised, with problems at their place
    for c in s.columns:
        if c.name not in out.columns:
            continue
        raw = out[c.name]
        if c.kind == "text":
            text = _text_series(raw)
            if c.enum is not None:
                allowed = ", ".join(str(e) for e in c.enum)
                name = c.name
                new, wrong = _by_unique(text, lambda v, name=name: mapping.translate(name, v))
                bad(
                    wrong,
                    raw,
                    "unknown_value",
                    lambda v, c=c, allowed=allowed: (
                        f"'{v}' is not a known {c.name} ({c.label_vi}); use one of {allowed}, or translate "
                        f"it in the mapping file (values: {{{c.name}: {{'{v}': ...}}}})"
                    ),
                    c.name,
                )
                text = pd.Series(new.to_numpy(), dtype="string")
            out[c.name] = text.astype("str").array
        elif c.kind == "bool":
            new, wrong = _by_unique(raw, mapping.to_bool)
            bad(wrong, raw, "bad_type", lambda v: f"'{v}' is not yes/no (có/không, true/false, 1/0)", c.name)
            vals = new.where(~wrong, None).tolist()
            out[c.name] = pd.array(vals, dtype="boolean") if any(x is None for x in vals) else np.array(vals, bool)
        elif c.kind in ("date", "datetime"):
            new, wrong = _by_unique(raw, _date_value)
            bad(wrong, raw, "bad_date", lambda v: f"'{v}' is not a date; write it as dd/mm/yyyy or yyyy-mm-dd", c.name)
            new = new.where(~wrong, None)
            out[c.name] = pd.to_datetime(pd.Series(new.to_numpy(), dtype=object), errors="coerce").astype(
                "datetime64[ms]"
            )
        elif c.kind in ("int", "float"):
            from kcn_gis.interop.importers.readers import _floats

            if pd.api.types.is_string_dtype(raw.dtype) or pd.api.types.is_numeric_dtype(raw.dtype):
                nums = _floats(raw)
            else:  # mixed cells of a workbook
                nums = _floats(pd.Series(raw.to_numpy()).astype(object).where(raw.notna().to_numpy(), None))
            given = _text_series(raw).notna().to_numpy()
            bad(np.isnan(nums) & given, raw, "bad_number", lambda v: f"'{v}' is not a number", c.name)
            if c.kind == "int":
                missing = np.isnan(nums)
                whole = np.round(np.where(missing, 0.0, nums)).astype("int64")  # round half to even, as round()
                out[c.name] = pd.arrays.IntegerArray(whole, missing)
            else:
                out[c.name] = nums
    if SOURCE_LAYER in out.columns:
        out[SOURCE_LAYER] = pd.array(_text_series(out[SOURCE_LAYER]).to_numpy(dtype=object, na_value=None), dtype="str")
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(frame.geometry.to_numpy(), crs=None), crs=None)


def _finish_columns(
    frame: gpd.GeoDataFrame, layer: Layer, mapping: ColumnMapping, result: ImportResult
) -> gpd.GeoDataFrame:
    """Build templated columns (default parcel ids) once every column, the park included, is known."""
    from kcn_gis.interop.importers.mapping import COMMUNE_CODE

    s = spec(layer)
    out = pd.DataFrame(frame.drop(columns=frame.geometry.name))
    templates = dict(mapping.templates)
    default_id = (
        layer == Layer.PARCELS
        and Col.PARCEL_ID not in out.columns
        and Col.PARCEL_ID not in templates
        and all(c in out.columns for c in (Col.PARK_ID, Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO))
    )
    for col, template in templates.items():
        try:
            vals = _template_values(template, out, len(out))
        except KeyError as exc:
            raise InputFileError(
                f"mapping template for '{col}' uses unknown column {exc}; columns: {list(out.columns)}"
            ) from exc
        out[col] = vals.astype("str").array
        result.notes.append(f"'{col}' built as \"{template}\"")
    if default_id:
        out[str(Col.PARCEL_ID)] = _default_parcel_ids(out).array
        result.notes.append(
            "'parcel_id' built as \"{park_id}-{commune code}-{map_sheet}-{parcel_no}\" as in the bundled atlas "
            "(commune code = initials of the commune without Xã, map sheet 2 digits, parcel 4 digits)"
        )
    out = out.drop(columns=[c for c in (COMMUNE_CODE,) if c in out.columns])
    order = [c.name for c in s.columns if c.name in out.columns] + [c for c in out.columns if _spec_has(s, c) is False]
    out = out[order]
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(frame.geometry.to_numpy(), crs=frame.crs), crs=frame.crs)


def _assign_parks(
    frame: gpd.GeoDataFrame, atlas: Atlas | None, src: SourceData, layer: Layer, result: ImportResult
) -> None:
    """Give each feature the park whose boundary holds it, by area share (in the atlas CRS); problems otherwise."""
    fname = str(src.path)
    if atlas is None or Layer.PARKS not in atlas.layer_names() or not len(atlas.parks):
        result.problems.append(
            Problem(
                "error",
                "park_unknown",
                "the file has no park column (Mã KCN); give the park with --park PARK_ID, or import into an "
                "atlas whose parks layer locates each feature",
                layer=str(layer),
                field=str(Col.PARK_ID),
                file=fname,
            )
        )
        return
    parks = atlas.parks
    pgeoms = np.asarray(parks.geometry.values)
    pids = parks[Col.PARK_ID].astype(str).to_numpy()
    geoms = np.asarray(frame.geometry.values)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    tree = shapely.STRtree(pgeoms)
    fi, pi = tree.query(geoms, predicate="intersects")
    keep = present[fi]
    fi, pi = fi[keep], pi[keep]
    mine = geoms[fi]
    area = shapely.area(mine)
    inter = area.copy()  # a feature within a park lies in it whole; intersections only for the others
    fw, pw = tree.query(geoms, predicate="within")
    n_parks = len(pgeoms)
    within = np.isin(fi.astype(np.int64) * n_parks + pi, fw.astype(np.int64) * n_parks + pw)
    edge = ~within
    if edge.any():
        part = mine[edge]
        invalid = ~shapely.is_valid(part)
        if invalid.any():  # reported by validation later; located here by their valid repair
            part[invalid] = shapely.make_valid(part[invalid])
        inter[edge] = shapely.area(shapely.intersection(part, pgeoms[pi[edge]]))
    share = np.divide(inter, area, out=np.zeros_like(inter), where=area > 0)
    touched = share > 0.01
    best_share = np.zeros(len(frame))
    best_park = np.full(len(frame), -1, dtype=np.int64)
    n_touched = np.zeros(len(frame), dtype=np.int64)
    np.add.at(n_touched, fi[touched], 1)
    order = np.lexsort([share, fi])  # by feature, then share ascending: the last per feature is the best
    best_share[fi[order]] = share[order]
    best_park[fi[order]] = pi[order]
    assigned = present & (n_touched == 1) & (best_share >= 0.5)
    out = np.where(assigned, pids[np.clip(best_park, 0, None)], None)
    for i in np.flatnonzero(present & ~assigned):
        if n_touched[i] > 1:
            sel = fi == i
            parts = ", ".join(
                f"{pids[p]} {s:.0%}" for p, s in sorted(zip(pi[sel], share[sel], strict=True)) if s > 0.01
            )
            msg = f"the feature straddles parks ({parts}); give the park with --park PARK_ID or fix the boundary"
        else:
            msg = "the feature lies in no park of the atlas; give the park with --park PARK_ID or check the CRS"
        result.problems.append(
            _located(
                src, int(i), "error", "park_by_location", msg, layer=str(layer), field=str(Col.PARK_ID), file=fname
            )
        )
    for i in np.flatnonzero(assigned & (best_share < 0.99)):
        result.problems.append(
            _located(
                src,
                int(i),
                "warning",
                "park_partly_outside",
                f"assigned to park {pids[best_park[i]]}, but {1 - best_share[i]:.0%} of its area lies outside the "
                "park boundary; check the boundary or the CRS",
                layer=str(layer),
                field=str(Col.PARK_ID),
                file=fname,
            )
        )
    frame[str(Col.PARK_ID)] = pd.array(out, dtype="str")
    result.notes.append(
        f"'park_id' assigned by location: {int(assigned.sum())} feature(s) inside a park boundary "
        f"({', '.join(f'{p}: {int((out == p).sum())}' for p in pids if (out == p).any())})"
    )


def _spec_has(s: Any, name: str) -> bool:
    return any(c.name == name for c in s.columns)


def _park_ids_from_names(
    names: pd.Series, atlas: Atlas | None, src: SourceData, layer: Layer, result: ImportResult
) -> list:
    if atlas is None or Layer.PARKS not in atlas.layer_names():
        result.problems.append(
            Problem(
                "error",
                "park_name_unresolved",
                "the file names parks (Tên KCN) but gives no park id, and there is no atlas with parks to look the "
                "names up; add a park_id column or set it in the mapping file (defaults: {park_id: ...})",
                layer=str(layer),
                field=str(Col.PARK_ID),
                file=str(src.path),
            )
        )
        return [None] * len(names)
    parks = atlas.parks
    lookup: dict[str, str] = {}
    for _, r in parks.iterrows():
        for col in (Col.NAME, Col.NAME_EN, Col.PARK_ID):
            if isinstance(r.get(col), str):
                lookup[normalize_header(r[col]).removeprefix("kcn")] = r[Col.PARK_ID]
    out = []
    for i, n in enumerate(names.tolist()):
        key = normalize_header(n).removeprefix("kcn") if isinstance(n, str) else ""
        pid = lookup.get(key)
        if pid is None and isinstance(n, str):
            result.problems.append(
                Problem(
                    "error",
                    "unknown_park",
                    f"no park named '{n}' in the atlas; use a name from the parks layer or add a park_id column",
                    layer=str(layer),
                    row=src.rows[i],
                    field="Tên KCN",
                    file=str(src.path),
                )
            )
        out.append(pid)
    return out


def _fix_geometry_kinds(frame: gpd.GeoDataFrame, layer: Layer, src: SourceData, result: ImportResult) -> None:
    geoms = np.asarray(frame.geometry.values)
    has_z = shapely.has_z(geoms)
    if has_z.any():
        geoms = shapely.force_2d(geoms)
        result.notes.append(f"dropped Z from {int(has_z.sum())} geometry(ies) (heights are not used)")
    want_poly = spec(layer).geometry == "polygon"
    collections = np.flatnonzero(
        (shapely.get_type_id(geoms) == shapely.GeometryType.GEOMETRYCOLLECTION) & ~shapely.is_empty(geoms)
    )
    for i in collections:  # only the collections are visited (a DXF or KML may give a few)
        g = geoms[i]
        parts = [p for p in g.geoms if p.geom_type in (("Polygon", "MultiPolygon") if want_poly else ("LineString",))]
        if parts and len(parts) == len(g.geoms):
            geoms[i] = shapely.union_all(parts) if want_poly else shapely.MultiLineString(parts)
    frame.geometry.values[:] = geoms  # type: ignore[index]


def _decide_crs(
    frame: gpd.GeoDataFrame,
    src: SourceData,
    layer: Layer,
    *,
    crs: Any,
    assume_crs: Any,
    swap_xy: bool,
    atlas: Atlas | None,
    target: CRS,
    result: ImportResult,
) -> tuple[Any, bool] | None:
    """Return (source CRS or mistake alias, swap) to read the coordinates with; None on error (problem added)."""
    fname = str(src.path)
    file_crs = src.frame.crs
    reference = None
    key = spec(layer).key
    if atlas is not None and key and key in frame.columns and str(layer) in atlas.layer_names():
        existing = atlas.read(layer)
        if len(existing) and existing[key].isin(frame[key]).any():
            reference = existing
    if assume_crs is not None:
        diag = diagnose_crs(frame, declared=assume_crs, reference=reference, key=key if reference is not None else None)
        result.diagnosis = diag
        text = str(assume_crs)
        result.notes.append(
            f"REPAIR: coordinates read as {crs_label(text.lower() if text.lower() in MISTAKES else text)}"
            + (" with X/Y swapped" if swap_xy else "")
            + (f", overriding the file's CRS {crs_label(file_crs.to_string())}" if file_crs is not None else "")
            + " (--assume-crs)"
        )
        log.warning("%s: %s", fname, result.notes[-1])
        if not diag.consistent and not swap_xy:
            result.problems.append(
                Problem("warning", "crs_doubt", f"--assume-crs {assume_crs}: {diag.message}", file=fname)
            )
        return assume_crs, swap_xy
    if swap_xy:
        result.problems.append(
            Problem(
                "error", "swap_needs_assume", "--swap-xy is a repair; give it with --assume-crs EPSG:...", file=fname
            )
        )
        return None
    declared = file_crs
    if crs is not None:
        if file_crs is not None and not same_crs(file_crs, crs):
            result.problems.append(
                Problem(
                    "error",
                    "crs_conflict",
                    f"the file declares {crs_label(CRS.from_user_input(file_crs).to_string())} but --crs says "
                    f"{crs_label(str(crs))}. If the file's .prj is wrong, override it with --assume-crs {crs} "
                    "(logged as a repair).",
                    layer=str(layer),
                    file=fname,
                )
            )
            return None
        declared = crs
    diag = diagnose_crs(frame, declared=declared, reference=reference, key=key if reference is not None else None)
    result.diagnosis = diag
    if declared is None:
        result.problems.append(
            Problem(
                "error",
                "missing_crs",
                f"{diag.message}" if diag.message else "the file has no CRS; give it with --crs EPSG:...",
                layer=str(layer),
                file=fname,
            )
        )
        return None
    if not diag.consistent:
        result.problems.append(Problem("error", "crs_mismatch", diag.message, layer=str(layer), file=fname))
        return None
    return declared, False


@leanly
def prepare_import(
    path: str | os.PathLike[str],
    layer: str | Layer,
    *,
    atlas: AtlasSpec = None,
    crs: Any = None,
    assume_crs: Any = None,
    swap_xy: bool = False,
    mapping: Any = None,
    encoding: str | None = None,
    mode: str = "append",
    source_layer: str | None = None,
    xy: str | None = None,
    park: str | None = None,
    constants: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] | None = None,
    strict: bool = False,
) -> tuple[ImportResult, Any, Path | None, gpd.GeoDataFrame | None]:
    """Do everything :func:`import_file` does except writing.

    ``park``, ``constants``, ``on_step`` and ``strict`` are described in :func:`import_file`.

    Returns ``(result, atlas, atlas_path, rows_to_write)``; the last (the imported rows,
    written by :func:`commit_import` as ``result.mode`` says) is None when there are errors.

    It runs inside :func:`kcn_gis.memory.lean`, so that its peak memory is what it holds.
    """
    report = on_step or (lambda _name: None)

    def step(name: str) -> None:
        release()  # what the last step dropped goes back to the system before the next one allocates
        report(name)

    lay = spec(layer).name
    if lay not in IMPORTABLE_LAYERS:
        names = ", ".join(str(x) for x in IMPORTABLE_LAYERS)
        raise InputFileError(f"kcn-gis import fills the spatial layers ({names}), not '{lay}'")
    if mode not in MODES:
        raise InputFileError(f"mode '{mode}' is not one of {', '.join(MODES)}")
    cmap = mapping if isinstance(mapping, ColumnMapping) else load_mapping(mapping)
    enc = encoding or cmap.encoding or "auto"
    crs = crs if crs is not None else cmap.crs
    target_atlas, atlas_path = _open_target(atlas)
    target = target_atlas.crs if target_atlas is not None else CRS.from_user_input("EPSG:9209")
    consts = _constants(lay, constants, park, target_atlas)
    step("read")
    src = read_source(
        path,
        source_layer=source_layer,
        encoding=enc,
        mapping=cmap,
        xy_convention=xy,
        geometry=spec(lay).geometry or "polygon",
    )
    result = ImportResult(layer=str(lay), source=str(src.path), fmt=src.fmt, mode=mode, dry_run=False)
    result.problems += [_with_layer(p, lay) for p in src.problems]
    result.notes += src.notes
    # 1. text: valid UTF-8 is UTF-8 (NFC only); TCVN3/VNI detection where the bytes were read one per character
    step("text")
    text_encoding = enc.lower() if enc.lower() in ENCODINGS else "unicode"
    if text_encoding == "auto" and src.encoding_hint != "legacy" and src.fmt != "xlsx":
        text_encoding = "unicode"
    fixed, changes = fix_frame(src.frame, encoding=text_encoding)
    src.frame = gpd.GeoDataFrame(fixed, geometry=src.frame.geometry.name, crs=src.frame.crs)
    del fixed
    result.text_changes = [
        TextChange(c.field, src.rows[c.row - 1] if c.row is not None else None, c.how, c.before, c.after)
        for c in changes
    ]
    # 2. columns and values
    step("columns")
    frame = _map_columns(src, lay, cmap, target_atlas, result, constants=consts)
    # the file's columns are mapped: only its CRS and rows are used from here on. An empty frame, not
    # iloc[:0], which would be a zero-length view holding every Arrow text buffer of the file
    src.frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries([], crs=src.frame.crs), crs=src.frame.crs)
    _fix_geometry_kinds(frame, lay, src, result)
    # 3. CRS
    step("crs")
    decision = _decide_crs(
        frame,
        src,
        lay,
        crs=crs,
        assume_crs=assume_crs,
        swap_xy=swap_xy,
        atlas=target_atlas,
        target=target,
        result=result,
    )
    if decision is not None:
        source_crs, swap = decision
        if swap or str(source_crs).lower() in MISTAKES or not same_crs(source_crs, target):
            frame = to_working_frame(frame, source_crs, swap_xy=swap, target=target, what=f"{src.path.name}")
            how = "EPSG:6960 (VN-2000 to WGS 84 (2))" if _involves_wgs84(source_crs) else "a projection change"
            result.notes.append(
                f"converted from {crs_label(str(source_crs).lower() if str(source_crs).lower() in MISTAKES else str(source_crs))}"
                f"{' with X/Y swapped' if swap else ''} to {crs_label(target.to_string())} using {how}"
            )
        else:
            frame = frame.set_crs(target, allow_override=True)
    else:
        frame = frame.set_crs(target, allow_override=True)
    # 4. the data model: the park of each feature by location when the file has none, then parcel ids
    step("model")
    if lay in (Layer.PARCELS, Layer.PLOTS) and Col.PARK_ID not in frame.columns and not _templated(cmap, Col.PARK_ID):
        _assign_parks(frame, target_atlas, src, lay, result)
    frame = _finish_columns(frame, lay, cmap, result)
    release()  # the frame before _finish_columns
    from kcn_gis.store.base import coerce_layer

    s = spec(lay)
    frame = cast(gpd.GeoDataFrame, coerce_layer(s, frame))  # a GeoDataFrame in, the same out
    seen = {(p.check, p.row, p.field) for p in result.problems}
    for p in _relocate(check_layer(s, frame, file=str(src.path), expected_crs=target), src):
        if (p.check, p.row, p.field) not in seen:  # already reported, with more help, while mapping values
            result.problems.append(p)
    result.problems += _future_dates(frame, s, src)
    result.frame = frame
    release()  # the checks' transients, before the after-write checks allocate theirs
    if result.errors:
        return result, target_atlas, atlas_path, None
    # 5. append or replace: what the layer would be after the write, checked like validate checks it
    to_write = _plan_write(result, frame, s, mode, target_atlas, src, strict=strict)
    release()  # the after-write checks' transients, before the write allocates its own
    return result, target_atlas, atlas_path, to_write


#: Layers whose dates record what happened (acquired, leased, licensed ...): none may lie after today.
#: Facilities keep planned dates, which may.
_NO_FUTURE = (Layer.PLOTS, Layer.PROJECTS)


def _future_dates(
    frame: pd.DataFrame, s: LayerSpec, src: SourceData, *, now: dt.datetime | None = None
) -> list[Problem]:
    """An error for every date after today (Vietnam time) on plots and projects, as on clearance events."""
    if s.name not in _NO_FUTURE:
        return []
    today = pd.Timestamp(vietnam_today(now))
    out: list[Problem] = []
    for c in s.columns:
        if c.kind not in ("date", "datetime") or c.name not in frame.columns:
            continue
        values = pd.to_datetime(frame[c.name], errors="coerce")
        for k in np.flatnonzero((values.dt.normalize() > today).fillna(False).to_numpy(dtype=bool)):
            d = values.iloc[k]
            msg = (
                f"{c.name} {d:%d/%m/%Y} is in the future (today is {today:%d/%m/%Y}); "
                "record it once it has happened (plans belong in a scenario, see docs/scenarios.md)"
            )
            out.append(_located(src, int(k), "error", "future_date", msg, layer=str(s.name), field=c.name))
    return out


def _templated(mapping: ColumnMapping, column: str) -> bool:
    return column in mapping.templates


def _constants(
    layer: Layer, constants: Mapping[str, Any] | None, park: str | None, atlas: Atlas | None
) -> dict[str, Any]:
    """``--set COLUMN=VALUE`` and ``--park``, checked against the layer's columns and the atlas's parks."""
    s = spec(layer)
    names = [c.name for c in s.columns]
    out: dict[str, Any] = {}
    for col, value in (constants or {}).items():
        if col not in names:
            raise InputFileError(
                f"--set {col}=...: '{col}' is not a column of layer '{layer}'; use one of {', '.join(names)}"
            )
        out[col] = value
    if park is not None:
        if Col.PARK_ID not in names:
            raise InputFileError(f"--park: layer '{layer}' has no park column")
        if atlas is not None and Layer.PARKS in atlas.layer_names() and len(atlas.parks):
            known = set(atlas.parks[Col.PARK_ID].astype(str))
            if park not in known:
                raise InputFileError(
                    f"--park {park}: no such park in {atlas.location}; parks: {', '.join(sorted(known))}"
                )
        out[str(Col.PARK_ID)] = park
    return out


def _plan_write(
    result: ImportResult,
    frame: gpd.GeoDataFrame,
    s: LayerSpec,
    mode: str,
    target_atlas: Atlas | None,
    src: SourceData,
    *,
    strict: bool,
) -> gpd.GeoDataFrame | None:
    """Check the write ``mode`` would make (ids, scope, consistency of the atlas afterwards); the rows or None.

    Consistency problems of the atlas as it would be after the write are added to
    ``result.problems`` (only those involving the imported rows); with ``strict`` its
    warnings are errors.
    """
    from kcn_gis.analytics.checks import check_consistency

    lay = s.name
    key = s.key
    layer = str(lay)
    file = str(src.path)
    has_park = any(c.name == Col.PARK_ID for c in s.columns)

    def error(check: str, message: str, **kw: Any) -> None:
        result.problems.append(Problem("error", check, message, layer=layer, file=file, **kw))

    if mode in ("replace", "replace_all") and not len(frame):
        error("empty_input", f"the file has no features; an empty file never replaces anything (mode {mode})")
        return None
    if mode == "replace" and not has_park:
        error(
            "replace_needs_parks",
            f"layer '{layer}' has no park_id, so --mode replace cannot tell which rows to replace; "
            "use --replace-all to replace the whole layer",
        )
        return None
    present = target_atlas is not None and layer in target_atlas.layer_names()
    existing: gpd.GeoDataFrame | None = target_atlas.read(lay) if present and target_atlas is not None else None
    parks = sorted({str(v) for v in frame[str(Col.PARK_ID)].dropna()}) if has_park else []
    kept = existing
    if existing is not None and mode == "replace":
        in_scope = existing[str(Col.PARK_ID)].astype(str).isin(parks).to_numpy()
        kept = existing[~in_scope]
        result.notes.append(
            f"replaces the {int(in_scope.sum())} feature(s) of park(s) {', '.join(parks)} in layer '{layer}'; "
            f"the {len(kept)} feature(s) of other parks are kept"
        )
    elif existing is not None and mode == "replace_all":
        kept = existing.iloc[:0]
        result.notes.append(f"replaces all {len(existing)} feature(s) now in layer '{layer}' (--replace-all)")
    if kept is not None and key is not None and len(kept):
        clash = frame[key].isin(set(kept[key].dropna()))
        other = " (in another park)" if mode == "replace" else ""
        for pos in np.flatnonzero(clash.to_numpy()):
            error(
                "duplicate_id",
                f"{key} '{frame[key].iloc[pos]}' is already in the atlas{other}; remove the row from the file or "
                f"give it a new {key}. To change a stored feature, edit it (QGIS, or kcn_gis Atlas.edit).",
                row=src.rows[int(pos)],
                field=key,
            )
    if result.errors:
        return None
    if kept is not None:
        extra = [c for c in frame.columns if c not in kept.columns]
        kept = kept.assign(**{c: pd.Series([None] * len(kept), index=kept.index, dtype=frame[c].dtype) for c in extra})
        after = gpd.GeoDataFrame(
            pd.concat([kept, frame[[c for c in kept.columns if c in frame.columns]]], ignore_index=True),
            geometry=kept.geometry.name,
            crs=frame.crs,
        )
    else:
        after = frame.reset_index(drop=True)
    offset = len(after) - len(frame)
    result.layer_rows_after = len(after)
    result.problems += _after_write_problems(
        after, offset, s, target_atlas, src, strict=strict, checks=check_consistency, removes=mode != "append"
    )
    return None if result.errors else frame


#: The layers whose consistency checks an import into each layer needs.
_CHECKED_WITH: dict[Layer, tuple[Layer, ...]] = {
    Layer.PARKS: (Layer.PARKS, Layer.PLOTS, Layer.PARCELS),
    Layer.PLOTS: (Layer.PARKS, Layer.PLOTS, Layer.PROJECTS),
    Layer.PARCELS: (Layer.PARKS, Layer.PARCELS, Layer.CLEARANCE_EVENTS),
}


def _after_write_problems(
    after: gpd.GeoDataFrame,
    offset: int,
    s: Any,
    target_atlas: Atlas | None,
    src: SourceData,
    *,
    strict: bool,
    checks: Any,
    removes: bool,
) -> list[Problem]:
    lay = s.name
    needed = _CHECKED_WITH.get(lay)
    if not needed:
        return []
    if not removes:  # an append removes no parcel, so no clearance event can lose its parcel
        needed = tuple(n for n in needed if n != Layer.CLEARANCE_EVENTS)
    present = set(target_atlas.layer_names()) if target_atlas is not None else set()
    frames: dict[Layer, Any] = {}
    for name in needed:
        if name == lay:
            frames[name] = after
        elif str(name) in present and target_atlas is not None:
            frames[name] = target_atlas.read(name)
        else:
            frames[name] = None
    mask = np.zeros(len(after), dtype=bool)
    mask[offset:] = True
    try:
        found = checks(
            parks=frames.get(Layer.PARKS),
            plots=frames.get(Layer.PLOTS),
            parcels=frames.get(Layer.PARCELS),
            projects=frames.get(Layer.PROJECTS),
            clearance_events=frames.get(Layer.CLEARANCE_EVENTS),
            changed={str(lay): mask},
        )
    except KcnGisError as exc:
        return [Problem("error", "consistency", f"the consistency checks could not run: {exc}", layer=str(lay))]
    out = []
    where = None if target_atlas is None else str(target_atlas.location)
    for p in found:
        mine = p.layer == str(lay) and p.row is not None and p.row > offset
        row = src.rows[p.row - 1 - offset] if mine and p.row is not None else None
        severity, message = p.severity, p.message
        if strict and severity != "error":
            severity, message = "error", f"{message} (an error with --strict)"
        out.append(
            Problem(
                severity,
                p.check,
                message + ("" if mine else " (after the import, in the atlas)"),
                layer=p.layer,
                row=row,
                field=p.field,
                ids=p.ids,
                file=str(src.path) if mine else where,
            )
        )
    return out


def _involves_wgs84(source: Any) -> bool:
    text = str(source).lower()
    if text in MISTAKES:
        return text != "vn2000-k0.9996"
    try:
        crs = CRS.from_user_input(source)
    except Exception:  # pragma: no cover
        return False
    g = crs.geodetic_crs
    return g is None or "VN-2000" not in g.name


def _with_layer(p: Problem, layer: Layer) -> Problem:
    import dataclasses

    return dataclasses.replace(p, layer=p.layer or str(layer))  # keeps a SheetProblem's sheet


def _relocate(problems: list[Problem], src: SourceData) -> list[Problem]:
    """Give validation problems the row number the feature has in the file."""
    out = []
    for p in problems:
        index = p.row - 1 if p.row is not None and 0 < p.row <= len(src.rows) else None
        where = {"layer": p.layer, "row": p.row, "field": p.field, "ids": p.ids, "file": str(src.path)}
        out.append(_located(src, index, p.severity, p.check, p.message, **where))
    return out


def import_file(
    path: str | os.PathLike[str],
    layer: str | Layer,
    *,
    atlas: AtlasSpec = None,
    crs: Any = None,
    assume_crs: Any = None,
    swap_xy: bool = False,
    mapping: Any = None,
    encoding: str | None = None,
    mode: str = "append",
    dry_run: bool = False,
    source_layer: str | None = None,
    xy: str | None = None,
    park: str | None = None,
    constants: Mapping[str, Any] | None = None,
    on_step: Callable[[str], None] | None = None,
    strict: bool = False,
) -> ImportResult:
    """Import one file into one atlas layer, all or nothing.

    Parameters
    ----------
    path : path-like
        GeoPackage, GeoJSON, Shapefile, KML/KMZ, DXF, CSV or XLSX.
    layer : {"parks", "plots", "parcels", "province", "rivers"}
    atlas : Atlas, path or URL, optional
        The atlas to write into. A ``.gpkg`` path that does not exist yet
        becomes a new atlas (other layers empty). Required unless ``dry_run``.
    crs : CRS-like, optional
        The CRS of a file that declares none (DXF, CSV, a Shapefile without
        ``.prj``). Must agree with the file's own CRS when it has one.
    assume_crs : CRS-like or mistake alias, optional
        Repair: read the coordinates as this CRS whatever the file says, e.g.
        ``EPSG:3405`` or ``vn2000-no-datum-shift`` (see :mod:`kcn_gis.interop.crsdetect`).
        Logged, and reported in ``notes``.
    swap_xy : bool
        With ``assume_crs``: the file stores (northing, easting).
    mapping : path, dict or ColumnMapping, optional
        Column mapping (YAML file; see :mod:`kcn_gis.interop.importers.mapping`).
    encoding : str, optional
        ``auto`` (default), ``tcvn3``, ``vni``, ``unicode`` or a code page such as ``cp1258``.
    mode : {"append", "replace", "replace_all"}
        Add to the layer (ids must stay unique); replace the rows of the parks present in
        the file (other parks are kept); or replace the whole layer. An empty file never
        replaces anything, and a replace that would orphan clearance events, plots or
        parcels is refused.
    dry_run : bool
        Do everything except writing; the result previews the import.
    source_layer : str, optional
        Layer of a multi-layer file, or sheet of a workbook.
    xy : {"vn", "gis"}, optional
        For coordinate tables with X/Y headers: ``vn`` (default) X = northing.
    park : str, optional
        The park of every feature (``--park``). Without it, and without a park
        column, plots and parcels get the park whose boundary holds them (by
        area share, in EPSG:9209); one straddling two parks or in none is an error.
    constants : mapping, optional
        ``{column: value}`` set for every feature (``--set COLUMN=VALUE``), e.g.
        ``{"commune": "Xã Nam Sơn", "map_sheet": "12"}``.
    on_step : callable, optional
        Called with the name of each step (``read``, ``text``, ``columns``,
        ``crs``, ``model``) as it starts; the CLI shows a progress bar with it.
    strict : bool
        Treat the warnings of the consistency checks (run on the atlas as it would be
        after the import) as errors.

    Returns
    -------
    ImportResult
        ``frame`` is in the atlas CRS (EPSG:9209).

    Raises
    ------
    InputFileError
        On any error (unless ``dry_run``); the message lists each problem with its
        file, layer, row and field, and nothing was written.
    """
    if not dry_run and atlas is not None:
        from kcn_gis.store import check_writable

        check_writable(atlas)  # a read-only atlas fails before any work
    result, target_atlas, atlas_path, to_write = prepare_import(
        path,
        layer,
        atlas=atlas,
        crs=crs,
        assume_crs=assume_crs,
        swap_xy=swap_xy,
        mapping=mapping,
        encoding=encoding,
        mode=mode,
        source_layer=source_layer,
        xy=xy,
        park=park,
        constants=constants,
        on_step=on_step,
        strict=strict,
    )
    result.dry_run = dry_run
    if dry_run:
        return result
    return commit_import(result, target_atlas, atlas_path, to_write, source=path)


@leanly
def commit_import(
    result: ImportResult,
    target_atlas: Atlas | None,
    atlas_path: Path | None,
    to_write: gpd.GeoDataFrame | None,
    *,
    source: str | os.PathLike[str],
) -> ImportResult:
    """Write what :func:`prepare_import` prepared, all or nothing (the second half of :func:`import_file`).

    The rows are written in ONE transaction inside the atlas (see ``docs/write-model.md``):
    appended (mode ``append``), replacing the rows of their parks (``replace``) or the
    whole layer (``replace_all``).

    Raises
    ------
    InputFileError
        If the prepared import has errors or nowhere to go, another program changed the
        atlas in a conflicting way meanwhile, or the write would orphan rows; nothing is written.
    """
    path = source
    if result.errors or to_write is None:
        raise InputFileError.from_problems(
            result.errors, header=f"{path}: nothing was imported into layer '{result.layer}':"
        )
    if target_atlas is None and atlas_path is None:
        raise InputFileError("give the atlas to import into (--atlas PATH; a new .gpkg path creates one)")
    try:
        if target_atlas is not None and result.layer in target_atlas.layer_names():
            if result.mode == "append":
                target_atlas.append(result.layer, to_write)
            elif result.mode == "replace":
                target_atlas.replace_parks(result.layer, to_write)
            else:
                target_atlas.write({result.layer: to_write})
        elif target_atlas is not None:
            target_atlas.write({result.layer: to_write})
        else:
            from kcn_gis.store import write_atlas

            assert atlas_path is not None
            write_atlas(atlas_path, {result.layer: to_write}, crs=to_write.crs)
            result.notes.append(f"created the new atlas {atlas_path}")
    except KcnGisError as exc:
        cls = type(exc) if isinstance(exc, ConcurrencyError) else InputFileError
        raise cls(f"{path}: nothing was imported: {exc}", exc.problems) from exc
    result.written = len(result.frame) if result.frame is not None else 0
    log.info(
        "imported %d feature(s) from %s into layer '%s'",
        0 if result.frame is None else len(result.frame),
        path,
        result.layer,
    )
    return result
