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

import json
import logging
import math
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from pyproj import CRS

from kcn_gis import cores
from kcn_gis.crs import WGS84, require_projected, same_crs, to_wgs84, wgs84_transformer
from kcn_gis.errors import CRSError, KcnGisError
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


#: Characters that must not appear raw in JSON inside an HTML ``<script>`` element.
_HTML_UNSAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def html_safe(text: str) -> str:
    """Escape ``<``, ``>``, ``&``, U+2028 and U+2029 in JSON text (as ``\\u003c`` ...), which JSON parses back unchanged."""
    for a, b in _HTML_UNSAFE:
        if a in text:
            text = text.replace(a, b)
    return text


class Encoded:
    """A piece of JSON text that is already encoded and HTML-safe (see :func:`html_safe`).

    The fast encoders return these for large arrays, so that a page's data is
    written as a few big pieces (one per column) instead of one Python object per
    value. :func:`iter_json` writes the text as it is.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return f"Encoded({self.text[:40]!r}{'...' if len(self.text) > 40 else ''})"

    def value(self) -> Any:
        """The decoded JSON value."""
        return json.loads(self.text)


class _SpecialValueError(Exception):
    """Raised inside :func:`json.dumps` when a value needs :func:`iter_json`'s own handling."""


def _default(v: Any) -> Any:
    if isinstance(v, (Encoded, np.ndarray)):
        raise _SpecialValueError
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.floating):
        return float(v)
    raise TypeError(f"Object of type {type(v).__name__} is not JSON serializable")


def _dumps(v: Any) -> str:
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=_default)


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if k is True or k is False or k is None or isinstance(k, (int, float)):
        return _dumps({k: 0})[2:-4]  # the key as json.dumps writes it
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(k).__name__}")


#: Pieces at least this long that are pure ASCII go to the side list of :func:`iter_json` (``side=``).
SIDE_MIN_CHARS = 4096


def iter_json(obj: Any, side: list[str] | None = None) -> Iterator[str]:
    """Yield the HTML-safe JSON text of ``obj`` in pieces (joined, they are :func:`safe_json`'s text).

    Plain values are written by :func:`json.dumps` (NaN refused); :class:`Encoded`
    pieces as they are; numpy arrays by :func:`array_json` (integers and floats
    vectorised, one text per array). Dicts and lists are walked only as far as
    they hold such pieces, so big plain lists are still one ``json.dumps`` call.

    With ``side`` (a list), every encoded piece or array of at least
    ``SIDE_MIN_CHARS`` characters that is pure ASCII is appended to ``side`` and
    written as the marker ``{"$kcn": index}`` instead. The map page keeps those
    in a second element, so the browser holds the big arrays as one-byte text
    (a single Vietnamese letter makes a whole text node two bytes per character,
    and slower to read and parse); the runtime puts them back in place.
    """
    if isinstance(obj, (Encoded, np.ndarray)):
        text = obj.text if isinstance(obj, Encoded) else array_json(obj).text
        if side is not None and len(text) >= SIDE_MIN_CHARS and text.isascii():
            side.append(text)
            yield f'{{"$kcn":{len(side) - 1}}}'
        else:
            yield text
    elif isinstance(obj, dict):
        yield "{"
        for i, (k, v) in enumerate(obj.items()):
            yield ("," if i else "") + html_safe(_dumps(_key(k))) + ":"
            yield from iter_json(v, side)
        yield "}"
    elif isinstance(obj, (list, tuple)) and obj and isinstance(obj[0], (dict, list, tuple, Encoded, np.ndarray)):
        yield "["
        for i, v in enumerate(obj):
            if i:
                yield ","
            yield from iter_json(v, side)
        yield "]"
    else:
        try:
            yield html_safe(_dumps(obj))
        except _SpecialValueError:  # a list holding arrays or encoded pieces further on
            yield "["
            for i, v in enumerate(obj):
                if i:
                    yield ","
                yield from iter_json(v, side)
            yield "]"


def safe_json(obj: Any) -> str:
    """JSON text that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` are written as ``\\u003c``, ``\\u003e``, ``\\u0026`` (and
    U+2028/U+2029 escaped), so a value such as ``</script><script>alert(1)`` can
    neither end the element nor appear as markup. NaN is refused. ``obj`` may hold
    :class:`Encoded` pieces and numpy arrays (see :func:`iter_json`).
    """
    return "".join(iter_json(obj))


def _join(tokens: pa.Array) -> str:
    """``"[" + ",".join(tokens) + "]"`` for an Arrow string array of JSON tokens, in Arrow."""
    if len(tokens) == 0:
        return "[]"
    tokens = tokens.cast(pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(tokens)], pa.int64()), tokens)
    return "[" + pc.binary_join(lists, pa.scalar(",", pa.large_string()))[0].as_py() + "]"


def _int_tokens(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(np.ascontiguousarray(values, dtype=np.int64)), pa.string())


def int_json(values: Any) -> Encoded:
    """JSON array text of integers (vectorised; small non-negative codes take a shortcut)."""
    a = np.asarray(values)
    if a.dtype.kind not in "iub":
        raise TypeError(f"int_json needs integers, not {a.dtype}")
    a = a.astype(np.int64, copy=False).reshape(-1)
    if len(a) == 0:
        return Encoded("[]")
    if a.min() >= 0 and a.max() < 10:  # one digit each: "d,d,d"
        out = np.full(2 * len(a) + 1, ord(","), dtype=np.uint8)
        out[0], out[-1] = ord("["), ord("]")
        out[1:-1:2] = a + ord("0")
        return Encoded(out.tobytes().decode("ascii"))
    return Encoded(_join(_int_tokens(a)))


def _round_half_even(x: np.ndarray, digits: int) -> np.ndarray:
    """``round(v, digits)`` of every value, as Python rounds it (exact on the binary value).

    numpy's ``round`` scales by ``10**digits`` first, which can move a value that
    is within rounding error of a tie; those few are rounded by Python itself.
    """
    r = np.round(x, digits)
    y = x * 10.0**digits
    with np.errstate(invalid="ignore"):
        near = np.abs(np.abs(y - np.trunc(y)) - 0.5) < 1e-6
    near &= np.isfinite(x)
    if near.any():
        idx = np.flatnonzero(near)
        r[idx] = [round(v, digits) for v in x[idx].tolist()]
    return r


def _float_tokens(values: np.ndarray, digits: int | None) -> pa.Array:
    """JSON tokens of floats as :func:`kcn_gis.jsonsafe.json_safe` (``digits``) writes them.

    Missing and infinite values become ``null``; with ``digits``, values are rounded
    and integral ones written as integers.
    """
    x = np.asarray(values, dtype=np.float64).reshape(-1)
    finite = np.isfinite(x)
    r = _round_half_even(x, digits) if digits is not None else x.copy()
    r[~finite] = 0.0
    tokens = pc.cast(pa.array(r), pa.string())
    if digits is not None:
        integral = finite & (r == np.trunc(r)) & (np.abs(r) < 2**53)
        if integral.any():
            tokens = pc.if_else(pa.array(integral), _int_tokens(np.where(integral, r, 0).astype(np.int64)), tokens)
    else:  # json.dumps writes floats with a decimal point or exponent
        plain = pc.invert(pc.match_substring_regex(tokens, r"[.eE]|^-?inf|nan"))
        tokens = pc.if_else(plain, pc.binary_join_element_wise(tokens, ".0", ""), tokens)
    if not finite.all():
        tokens = pc.if_else(pa.array(finite), tokens, pa.scalar("null"))
    return tokens


def array_json(values: Any, *, digits: int | None = None) -> Encoded:
    """JSON array text of a numeric numpy array (integers as they are, floats as :func:`_float_tokens`)."""
    a = np.asarray(values)
    if a.dtype.kind in "iub" and a.dtype.kind != "b":
        return int_json(a)
    if a.dtype.kind == "b":
        return Encoded(_dumps(a.reshape(-1).tolist()))
    if a.dtype.kind == "f":
        return Encoded(_join(_float_tokens(a, digits)))
    return Encoded(html_safe(_dumps(a.reshape(-1).tolist())))


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


def lonlat_transform(crs: Any, *, what: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """The conversion of ``(n, 2)`` coordinates from ``crs`` to EPSG:4326 (None when already there).

    The same operation as :func:`kcn_gis.crs.to_wgs84` (EPSG:6960 for VN-2000),
    applied to a bare coordinate array, so a layer is converted in one vectorised
    pass without rebuilding its geometries. The conversion is logged.

    Raises
    ------
    CRSError
        If ``crs`` is None.
    """
    if crs is None:
        raise CRSError(f"map layer '{what}' has no CRS; declare it (e.g. gdf.set_crs('EPSG:9209')) first.")
    if same_crs(crs, WGS84):
        return None
    src = CRS.from_user_input(crs).to_string()
    t = wgs84_transformer(src)

    def fn(xy: np.ndarray) -> np.ndarray:
        log.info(
            "reprojecting %d vertices from %s to EPSG:4326 for web map layer '%s' (%s)",
            len(xy),
            crs,
            what,
            t.description,
        )
        out = np.empty((len(xy), 2), dtype=np.float64)
        if len(xy) < _PARALLEL_VERTICES or cores.available() < 2:
            out[:, 0], out[:, 1] = t.transform(xy[:, 0], xy[:, 1])
            return out
        # PROJ releases the GIL: the second half goes to a thread with its own transformer (the same pipeline)
        h = len(xy) // 2
        other = _pipeline_copy(src)

        def second() -> None:
            out[h:, 0], out[h:, 1] = other.transform(xy[h:, 0], xy[h:, 1])

        worker = threading.Thread(target=second, name="kcn-gis-reproject")
        worker.start()
        try:
            out[:h, 0], out[:h, 1] = t.transform(xy[:h, 0], xy[:h, 1])
        finally:
            worker.join()
        return out

    return fn


#: Layers with more vertices than this are reprojected on two threads.
_PARALLEL_VERTICES = 200_000


def _pipeline_copy(src: str) -> Any:
    """A second transformer with exactly the pipeline of :func:`~kcn_gis.crs.wgs84_transformer` (one per thread)."""
    from pyproj import Transformer

    return Transformer.from_pipeline(wgs84_transformer(src).definition)


def _compact_counts(counts: np.ndarray) -> int | np.ndarray:
    if len(counts) and (counts == counts[0]).all():
        return int(counts[0])
    return counts.astype(np.int64, copy=False)


def geometry_arrays(
    geoms: Any, *, precision: int = 6, transform: Callable[[np.ndarray], np.ndarray] | None = None
) -> dict[str, Any]:
    """The compact geometry encoding of :func:`encode_geometry`, with numpy arrays instead of lists.

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Polygons/MultiPolygons or LineStrings/MultiLineStrings; longitude/latitude,
        or any CRS when ``transform`` converts the coordinates to it.
    precision : int, default 6
        Decimals kept.
    transform : callable, optional
        ``(n, 2)`` coordinates -> ``(n, 2)`` longitude/latitude (see
        :func:`lonlat_transform`); applied once to the vertices that are kept
        (closing vertices are dropped first).

    Returns
    -------
    dict
        As :func:`encode_geometry`; counts that vary and ``c`` are int64 arrays.
    """
    arr = np.asarray(geoms, dtype=object).reshape(-1)
    n = len(arr)
    if n:
        missing = shapely.is_missing(arr)
        if missing.any():
            arr = np.where(missing, shapely.Polygon(), arr)
    types = set(shapely.get_type_id(arr[~shapely.is_empty(arr)]).tolist()) if n else set()
    is_line = bool(types) and types <= {1, 5}
    if types and not is_line and not types <= {3, 6}:
        raise KcnGisError(f"a map layer mixes geometry types {sorted(types)}; use polygons or lines only")
    out: dict[str, Any] = {"t": "line" if is_line else "polygon", "p": precision}
    if n == 0:
        out.update({"f": [], "n": [], "c": np.zeros(0, dtype=np.int64)})
        if not is_line:
            out["r"] = []
        return {k: out[k] for k in ("t", "p", "f", "r", "n", "c") if k in out}
    # empty geometries of the other kind (e.g. the placeholders of missing ones) as empty ones of this kind
    empty = shapely.is_empty(arr)
    if is_line:
        arr = np.where(empty, shapely.LineString(), arr)
    else:
        arr = np.where(empty & ~np.isin(shapely.get_type_id(arr), (3, 6)), shapely.Polygon(), arr)
    type_ids = shapely.get_type_id(arr)
    if not is_line and (type_ids == 3).all() and not shapely.get_num_interior_rings(arr).any():
        # the common case (parcels, plots): simple polygons without holes, one ring each (none when empty)
        kind = shapely.GeometryType.POLYGON
        coords = shapely.get_coordinates(arr, include_z=False)
        rings_per = (~shapely.is_empty(arr)).astype(np.int64)
        ring_offsets = np.concatenate([[0], np.cumsum(shapely.get_num_coordinates(arr)[rings_per > 0])])
        offsets: tuple[np.ndarray, ...] = (ring_offsets, np.concatenate([[0], np.cumsum(rings_per)]))
    else:
        kind, coords, offsets = shapely.to_ragged_array(arr, include_z=False)
    if kind in (shapely.GeometryType.POLYGON, shapely.GeometryType.LINESTRING):
        per_feature = np.ones(n, dtype=np.int64)
    else:
        per_feature = np.diff(offsets[-1])
    out["f"] = _compact_counts(per_feature)
    if not is_line:
        out["r"] = _compact_counts(np.diff(offsets[1]))  # rings per polygon (POLYGON and MULTIPOLYGON)
    npts = np.diff(offsets[0])
    if not is_line and len(coords):
        keep = np.ones(len(coords), dtype=bool)
        keep[offsets[0][1:][npts > 0] - 1] = False
        coords = coords[keep]
        npts = np.maximum(npts - 1, 0)
    out["n"] = _compact_counts(npts)
    if transform is not None and len(coords):
        coords = transform(coords)
    q = np.round(coords * 10**precision).astype(np.int64)
    if len(q):
        q[1:] -= q[:-1].copy()
    out["c"] = q.reshape(-1)
    return {k: out[k] for k in ("t", "p", "f", "r", "n", "c") if k in out}


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
        Vectorised (:func:`shapely.to_ragged_array`); see :func:`geometry_arrays`.
    """
    g = geometry_arrays(geoms, precision=precision)
    return {k: v.tolist() if isinstance(v, np.ndarray) else v for k, v in g.items()}


class DictColumn:
    """A property column given already dictionary-encoded: ``codes`` (-1 = missing) into ``uniques``.

    For columns of structured values (e.g. a bilingual ``{"vi", "en"}`` park name
    per parcel): the builder factorises the key column once instead of handing
    over one object per feature.
    """

    __slots__ = ("codes", "uniques")

    def __init__(self, codes: Any, uniques: Sequence[Any]) -> None:
        self.codes = np.asarray(codes, dtype=np.int64)
        self.uniques = list(uniques)

    def __len__(self) -> int:
        return len(self.codes)


def _finish(codes: np.ndarray, uniques: list[Any] | pa.Array, n_uniques: int) -> dict:
    """``{"d", "i"}`` when values repeat (uniques at most half the rows), else ``{"v"}``.

    ``codes`` are -1 for missing values (a ``null`` unique is added); ``uniques``
    is either JSON tokens (Arrow strings, one per unique) or a list of JSON-ready
    Python values. In the dictionary form the uniques are ordered by how often
    they occur (ties: first seen first), so the most common values get the
    shortest codes.
    """
    n = len(codes)
    if n == 0:
        return {"v": Encoded("[]")}
    missing = codes < 0
    has_missing = bool(missing.any())
    if has_missing:
        codes = np.where(missing, n_uniques, codes)
    total = n_uniques + has_missing
    if isinstance(uniques, list):
        vals = [*uniques, None] if has_missing else uniques
        if total * 2 <= n:
            order, codes = _by_frequency(codes, total)
            return {"d": Encoded(html_safe(_dumps([vals[i] for i in order.tolist()]))), "i": int_json(codes)}
        return {"v": Encoded(html_safe(_dumps([vals[c] for c in codes.tolist()])))}
    tokens = uniques.cast(pa.string())
    if has_missing:
        tokens = pa.concat_arrays([tokens, pa.array(["null"], pa.string())])
    if total * 2 <= n:
        order, codes = _by_frequency(codes, total)
        return {"d": Encoded(_join(tokens.take(pa.array(order)))), "i": int_json(codes)}
    return {"v": Encoded(_join(tokens.take(pa.array(codes))))}


def _by_frequency(codes: np.ndarray, total: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniques most common first (stable): the new order of the uniques, and the codes renumbered to it."""
    order = np.argsort(-np.bincount(codes, minlength=total), kind="stable")
    rank = np.empty(total, dtype=np.int64)
    rank[order] = np.arange(total)
    return order, rank[codes]


def _string_column(arr: pa.Array | pa.ChunkedArray) -> dict[str, Any]:
    """A text column (Arrow strings, nulls = missing): dictionary-encoded in Arrow, one JSON encode per part."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    codes = pc.fill_null(enc.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    uniq = enc.dictionary
    n, k = len(codes), len(uniq)
    if (k + bool((codes < 0).any())) * 2 <= n:
        return _finish(codes, uniq.to_pylist(), k)
    return {"v": Encoded(html_safe(_dumps(arr.to_pylist())))}


def _date_texts(s: pd.Series) -> pd.Series:
    """ISO text of datetimes as :func:`~kcn_gis.jsonsafe.json_safe` writes them (date only at midnight), vectorised."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return pd.Series([json_safe(v) for v in s], dtype=object)
    v = np.asarray(s.to_numpy())  # in its own unit (a far-future date may not fit nanoseconds)
    nat = np.isnat(v)
    day = v.astype("datetime64[D]")
    midnight = (day.astype(v.dtype) == v) & ~nat
    out = np.full(len(v), None, dtype=object)
    out[midnight] = np.datetime_as_string(day[midnight], unit="D")
    other = ~midnight & ~nat
    if other.any():
        out[other] = [json_safe(pd.Timestamp(x)) for x in v[other]]
    return pd.Series(out, dtype=object)


def _column_parts(values: Any, digits: int) -> dict[str, Any]:
    """The fast encoding of one column: ``{"v": Encoded}`` or ``{"d": Encoded, "i": Encoded}``.

    Vectorised by dtype: text in Arrow (``pc.dictionary_encode``), numbers with
    :func:`pandas.factorize` and Arrow number formatting, dates with numpy; one
    ``json.dumps`` per column for text. Anything else (mixed objects, lists,
    dicts) goes through the per-value path :func:`_object_column`.
    """
    if isinstance(values, DictColumn):
        return _finish(values.codes, [json_safe(u, digits=digits) for u in values.uniques], len(values.uniques))
    if isinstance(values, pd.Series):
        s = values.reset_index(drop=True)
    elif isinstance(values, (np.ndarray, pd.api.extensions.ExtensionArray, pd.Index)):
        s = pd.Series(values)
    else:
        s = pd.Series(list(values))
    if len(s) == 0:
        return {"v": Encoded("[]")}
    dtype = s.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        s = _date_texts(s)
        dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) and not isinstance(dtype, pd.ArrowDtype):
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        return _finish(np.asarray(codes), [bool(u) for u in uniq], len(uniq))
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        codes, uniq = pd.factorize(s, use_na_sentinel=True)
        u = np.asarray(uniq.to_numpy() if hasattr(uniq, "to_numpy") else uniq)
        if u.dtype.kind in "iu":
            tokens = _int_tokens(u)
        elif u.dtype.kind == "f":
            tokens = _float_tokens(u, digits)
        else:
            return _object_column(s, digits)
        return _finish(np.asarray(codes), tokens, len(u))
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("string", "empty"):
        try:
            arr = pa.array(s, from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):
            return _object_column(s, digits)
        if kind == "empty":
            arr = pa.nulls(len(s), pa.string())
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            return _string_column(arr)
    return _object_column(s, digits)


def _object_column(s: pd.Series, digits: int) -> dict[str, Any]:
    """The per-value path for columns of mixed or structured objects (small layers only).

    Dict/list values are de-duplicated by identity, any other value among them
    by its text; columns of plain objects are factorised by value.
    """
    obj = s.astype(object)
    if any(isinstance(v, (dict, list, tuple)) for v in obj.tolist()):
        seen: dict[int, int] = {}
        uniques: list[Any] = []
        codes_list = []
        for v in obj.tolist():
            key = id(v) if isinstance(v, (dict, list, tuple)) else id(None) if _is_missing(v) else None
            if key is None:  # a plain value among structured ones: fall back to its text
                v = str(v)
                key = hash(("s", v))
            if key not in seen:
                seen[key] = len(uniques)
                uniques.append(None if _is_missing(v) else json_safe(v, digits=digits))
            codes_list.append(seen[key])
        return _finish(np.asarray(codes_list, dtype=np.int64), uniques, len(uniques))
    codes, labels = pd.factorize(obj, use_na_sentinel=True)
    return _finish(np.asarray(codes), [json_safe(v, digits=digits) for v in labels], len(labels))


def encode_column(values: Iterable[Any], *, digits: int = 4) -> dict[str, Any]:
    """Encode one property column: ``{"v": [...]}`` or, when values repeat, ``{"d": uniques, "i": codes}``.

    Missing values become ``null``; dates become ISO text; floats are rounded to
    ``digits`` (integral ones written as integers). Values repeat when the
    uniques (with ``null``) are at most half the rows. Vectorised by dtype (see
    :func:`encode_props`); dict/list values (bilingual labels, lists of names)
    are de-duplicated by identity, so pass the same object for equal values, or
    a :class:`DictColumn`.
    """
    return {k: v.value() for k, v in _column_parts(values, digits).items()}


def _is_missing(v: Any) -> bool:
    if v is None or v is pd.NA or v is pd.NaT:
        return True
    if isinstance(v, float):
        return math.isnan(v)
    return False


def encode_props(frame: pd.DataFrame | Mapping[str, Any], *, digits: int = 4) -> dict[str, Any]:
    """Encode the columns of ``frame`` (already restricted to the allow-list) column-wise.

    Returns ``{column: {"v": Encoded} | {"d": Encoded, "i": Encoded}}``: each part
    is one pre-encoded, HTML-safe JSON text (see :class:`Encoded`,
    :func:`iter_json`), as :func:`encode_column` decodes it. A column may be a
    :class:`DictColumn`.
    """
    return {str(k): _column_parts(v, digits) for k, v in frame.items()}
