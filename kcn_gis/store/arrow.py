"""Arrow tables from a backend into frames with the model's dtypes, fast, and geometries decoded only when used.

The GeoPackage and GeoParquet readers get an Arrow table (pyogrio ``read_arrow`` / pyarrow). This
module turns it into the frame that :func:`kcn_gis.store.base.coerce_layer` would give, without the
detours that cost most of a large read:

* dates (``date32``) become ``datetime64[ms]`` at midnight and datetimes (``timestamp``) naive UTC
  ``datetime64[ms]`` in one vectorised cast, never through Python ``date`` objects or text parsing;
* text stays Arrow-backed (pandas ``str``), integers become ``Int64``, floats ``float64``;
* the geometry column is a :class:`LazyGeometryArray`: it keeps the WKB and decodes it (with shapely,
  in two threads for large layers) on first use. Its :attr:`~LazyGeometryArray.area` is computed
  straight from the WKB for simple polygons (one ring, the common cadastral case) with exactly GEOS's
  formula, so a clearance-progress run never builds a million GEOS polygons.

Nothing here changes a value: the frames are equal to those of the generic path (tested in
``tests/foundation/test_arrow_read.py``).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import shapely
from geopandas.array import GeometryArray

from kcn_gis import compiled, cores
from kcn_gis.errors import StoreError
from kcn_gis.schema import Col, Layer, LayerSpec

__all__ = [
    "DEFERRED_COLUMNS",
    "DEFER_FROM_ROWS",
    "DeferredStringArray",
    "LazyGeometryArray",
    "table_to_frame",
    "wkb_polygon_area",
]

#: Text columns that no analytics reads (or only in rare cases), read only when first used in layers of at
#: least :data:`DEFER_FROM_ROWS` rows (ids of events, free text, document numbers, the parcels' personal data).
DEFERRED_COLUMNS: dict[str, tuple[str, ...]] = {
    # event ids are needed only where corrections name them: read when a correction is met
    str(Layer.CLEARANCE_EVENTS): (
        str(Col.EVENT_ID),
        str(Col.REFERENCE),
        str(Col.NOTE),
        str(Col.RECORDED_BY),
        str(Col.CORRECTS_EVENT_ID),
    ),
    str(Layer.PARCELS): (
        str(Col.COMMUNE),
        str(Col.MAP_SHEET),
        str(Col.PARCEL_NO),
        str(Col.LAND_TYPE),
        str(Col.HOLDER_TYPE),
        str(Col.HOLDER_NAME),
    ),
}
DEFER_FROM_ROWS = 100_000

#: From this many geometries on, WKB is decoded in two threads (shapely releases the GIL while parsing).
_THREADED_DECODE = 200_000
#: Rings with more points than this are measured by GEOS (the vectorised shoelace loops over points).
_MAX_POINTS = 64


def _binary_chunks(values: pa.Array | pa.ChunkedArray) -> list[pa.Array]:
    if isinstance(values, pa.ChunkedArray):
        return list(values.chunks) if values.num_chunks else [pa.array([], type=values.type)]
    return [values]


def _to_wkb_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """WKB values as a numpy object array of ``bytes`` (None for nulls), as shapely wants them."""
    return np.asarray(values.to_numpy(zero_copy_only=False), dtype=object)


def _decode(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    wkb = _to_wkb_numpy(values)
    if wkb.size < _THREADED_DECODE or cores.available() < 2:
        return np.asarray(shapely.from_wkb(wkb), dtype=object)
    halves = np.array_split(wkb, 2)
    with ThreadPoolExecutor(2) as ex:
        parts = list(ex.map(shapely.from_wkb, halves))
    return np.concatenate(parts).astype(object, copy=False)


def _polygon_area_chunk(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    n = len(arr)
    area = np.zeros(n, dtype=float)
    ok = np.zeros(n, dtype=bool)
    if n == 0:
        return area, ok
    if pa.types.is_large_binary(arr.type):
        otype: Any = np.int64
    elif pa.types.is_binary(arr.type):
        otype = np.int32
    else:
        return area, ok
    bufs = arr.buffers()
    if bufs[2] is None or bufs[1] is None:
        return area, ok
    offs = np.frombuffer(bufs[1], dtype=otype, count=n + 1 + arr.offset)[arr.offset :].astype(np.int64)
    data = np.frombuffer(bufs[2], dtype=np.uint8)
    start = offs[:-1]
    length = np.diff(offs)
    cand = length >= 13
    if arr.null_count:
        cand &= arr.is_valid().to_numpy(zero_copy_only=False)
    idx = np.flatnonzero(cand)
    # the 13 header bytes of each candidate: byte order, type, ring count, point count of the first ring
    head = data[start[idx, None] + np.arange(13)]
    typ = np.ascontiguousarray(head[:, 1:5]).view("<u4")[:, 0]
    rings = np.ascontiguousarray(head[:, 5:9]).view("<u4")[:, 0]
    npts = np.ascontiguousarray(head[:, 9:13]).view("<u4")[:, 0].astype(np.int64)
    good = (head[:, 0] == 1) & (typ == 3) & (rings == 1) & (npts >= 4) & (npts <= _MAX_POINTS)
    good &= length[idx] == 13 + 16 * npts
    idx, npts = idx[good], npts[good]
    if not idx.size:
        return area, ok
    c0 = start[idx] + 13
    align = c0 % 8
    key = align * (_MAX_POINTS + 1) + npts
    order = np.argsort(key.astype(np.int16), kind="stable")  # keys < 8 * 65: numpy's radix sort, 6x quicker
    idx, c0, align, npts, key = idx[order], c0[order], align[order], npts[order], key[order]
    cuts = np.flatnonzero(np.r_[True, key[1:] != key[:-1], True])
    views = {}
    for b0, b1 in itertools.pairwise(cuts):
        a, m = int(align[b0]), int(npts[b0])
        if a not in views:
            views[a] = np.frombuffer(bufs[2], dtype="<f8", offset=a, count=(len(data) - a) // 8)
        first = (c0[b0:b1] - a) // 8
        xy = views[a][first[:, None] + np.arange(2 * m)]
        x, y = xy[:, 0::2], xy[:, 1::2]
        # GEOS Area::ofRingSigned: x0 = first x; sum over i = 1..n-2 of (x_i - x0) * (y_{i-1} - y_{i+1}),
        # accumulated in this order from 0.0, then / 2 (the same operations, so the same bits).
        x0 = x[:, 0]
        acc = np.zeros(b1 - b0)
        for i in range(1, m - 1):
            acc = acc + (x[:, i] - x0) * (y[:, i - 1] - y[:, i + 1])
        area[idx[b0:b1]] = np.abs(acc / 2.0)
        ok[idx[b0:b1]] = True
    return area, ok


def _compiled_area_chunk(arr: pa.Array) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`kcn_gis.store._wkb_numba.polygon_areas` on one chunk; None when it cannot run here."""
    if pa.types.is_large_binary(arr.type):
        otype: Any = np.int64
    elif pa.types.is_binary(arr.type):
        otype = np.int32
    else:
        return None
    n = len(arr)
    bufs = arr.buffers()
    if n == 0 or bufs[1] is None or bufs[2] is None:
        return np.zeros(n), np.zeros(n, dtype=bool)
    from kcn_gis.store import _wkb_numba

    offs = np.frombuffer(bufs[1], dtype=otype, count=n + 1 + arr.offset)[arr.offset :].astype(np.int64)
    valid = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else np.ones(n, dtype=bool)
    return _wkb_numba.polygon_areas(np.frombuffer(bufs[2], dtype=np.uint8), bufs[2], offs, valid)


def _use_compiled_area(n: int) -> bool:
    """Whether ``n`` WKB values are measured by the compiled pass (see :mod:`kcn_gis.compiled`)."""
    if not compiled.wanted(n, use_from=COMPILED_AREA_FROM, load_from=COMPILED_AREA_LOAD_FROM):
        return False
    try:
        import kcn_gis.store._wkb_numba  # noqa: F401
    except ImportError:
        return False
    return True


#: From this many values the compiled pass is used when numba is loaded already, and from the second
#: number of values it is loaded for them.
COMPILED_AREA_FROM = 2_000
COMPILED_AREA_LOAD_FROM = 5_000_000


def wkb_polygon_area(values: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Area of each WKB polygon or multipolygon, straight from the bytes.

    Parameters
    ----------
    values : pyarrow binary array
        ISO WKB, as pyogrio ``read_arrow`` and GeoParquet give it, in a projected CRS.

    Returns
    -------
    (area, ok) : numpy arrays
        ``area`` in the square units of the CRS (m² in EPSG:9209), equal bit for bit to
        ``shapely.area`` (GEOS's shoelace formula in the same order); ``ok`` is False where the
        value was not measured, and the area there is 0: measure those with shapely. With numba
        (the ``fast`` extra) every little-endian 2D polygon and multipolygon is measured in one
        compiled pass (see :mod:`kcn_gis.store._wkb_numba`); without it, only polygons of one ring
        of at most 64 points (null, big-endian, multipart, holes and Z/M are left to shapely).
    """
    chunks = _binary_chunks(values)
    if _use_compiled_area(len(values)):
        done = [_compiled_area_chunk(c) for c in chunks]
        if all(d is not None for d in done):
            if len(done) == 1:
                return done[0]  # type: ignore[return-value]
            return np.concatenate([d[0] for d in done]), np.concatenate([d[1] for d in done])  # type: ignore[index]
    if len(chunks) > 1 and len(values) >= _THREADED_DECODE and cores.available() >= 2:
        with ThreadPoolExecutor(2) as ex:  # numpy gathers and arithmetic release the GIL
            parts = list(ex.map(_polygon_area_chunk, chunks))
    else:
        parts = [_polygon_area_chunk(c) for c in chunks]
    if len(parts) == 1:
        return parts[0]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


class LazyGeometryArray(GeometryArray):
    """A :class:`geopandas.array.GeometryArray` that keeps its WKB and decodes it on first use.

    It behaves exactly like a GeometryArray (any access to the shapes decodes them, once);
    only its length and :attr:`area` are answered without decoding. Built by the store's readers
    with :meth:`from_wkb`.
    """

    @classmethod
    def from_wkb(cls, values: pa.Array | pa.ChunkedArray, crs: Any = None) -> LazyGeometryArray:
        """An array over WKB values (pyarrow binary), not decoded yet."""
        obj = cls.__new__(cls)
        obj.__dict__["_shapes"] = None
        obj.__dict__["_wkb"] = values
        obj.__dict__["_lock"] = threading.Lock()
        obj._crs = None
        obj.crs = crs
        obj._sindex = None
        return obj

    def __init__(self, data: Any, crs: Any = None) -> None:
        self.__dict__["_shapes"] = None
        self.__dict__["_wkb"] = None
        self.__dict__["_lock"] = threading.Lock()
        super().__init__(data, crs)

    @property  # type: ignore[override]
    def _data(self) -> np.ndarray:
        shapes = self.__dict__.get("_shapes")
        if shapes is None:
            with self.__dict__.setdefault("_lock", threading.Lock()):
                shapes = self.__dict__.get("_shapes")
                if shapes is None:
                    wkb = self.__dict__.get("_wkb")
                    shapes = np.array([], dtype=object) if wkb is None else _decode(wkb)
                    self.__dict__["_shapes"] = shapes
                    self.__dict__["_wkb"] = None
        return shapes

    @_data.setter
    def _data(self, value: np.ndarray) -> None:
        self.__dict__["_shapes"] = value
        self.__dict__["_wkb"] = None
        self.__dict__.pop("_valid", None)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.pop("_valid", None)  # a geometry changes: its validity is asked again
        super().__setitem__(key, value)

    def valid_mask(self) -> np.ndarray:
        """``shapely.is_valid`` of each geometry, computed once (in two threads for large arrays).

        Kept until a geometry is replaced through the array (``__setitem__``), as geopandas keeps its
        spatial index; returned read-only. :func:`kcn_gis.validation.is_valid` uses it.
        """
        valid = self.__dict__.get("_valid")
        if valid is None:
            from kcn_gis.validation import threaded_is_valid

            valid = np.asarray(threaded_is_valid(self._data), dtype=bool)
            valid.flags.writeable = False
            self.__dict__["_valid"] = valid
        return valid

    @property
    def decoded(self) -> bool:
        """True once the shapes have been built."""
        return self.__dict__.get("_shapes") is not None

    @property
    def size(self) -> int:
        wkb = self.__dict__.get("_wkb")
        if self.__dict__.get("_shapes") is None and wkb is not None:
            return len(wkb)
        return int(self._data.size)

    def copy(self, *args: Any, **kwargs: Any) -> GeometryArray:
        """A copy; not decoded yet when this one is not (the WKB is immutable and shared)."""
        wkb = self.__dict__.get("_wkb")
        if self.__dict__.get("_shapes") is None and wkb is not None:
            return LazyGeometryArray.from_wkb(wkb, crs=self._crs)
        return super().copy(*args, **kwargs)

    def view(self, dtype: Any = None) -> Any:
        """A view (pandas takes one on every shallow copy); stays undecoded, like :meth:`copy`."""
        if dtype is None and self.__dict__.get("_shapes") is None and self.__dict__.get("_wkb") is not None:
            return self.copy()
        return super().view(dtype)

    @property
    def area(self) -> np.ndarray:
        """Area of each geometry (square CRS units), from the WKB when not decoded yet (same values)."""
        wkb = self.__dict__.get("_wkb")
        if self.__dict__.get("_shapes") is not None or wkb is None:
            return super().area
        self.check_geographic_crs(stacklevel=5)
        area, ok = wkb_polygon_area(wkb)
        if not ok.all():
            rest = np.flatnonzero(~ok)
            taken = wkb.take(pa.array(rest))
            area[rest] = shapely.area(shapely.from_wkb(_to_wkb_numpy(taken)))
        return area

    def __getstate__(self) -> Any:
        return (shapely.to_wkb(self._data), self._crs)

    def __setstate__(self, state: Any) -> None:
        self.__dict__["_wkb"] = None
        self.__dict__["_lock"] = threading.Lock()
        if isinstance(state, tuple):
            self.__dict__["_shapes"] = shapely.from_wkb(state[0])
            self._crs = state[1]
            self._sindex = None
        else:  # pragma: no cover - the dict form of GeometryArray pickles
            state = dict(state)
            self.__dict__["_shapes"] = state.pop("_data", state.pop("data", None))
            state.setdefault("_crs", None)
            self.__dict__.update(state)


class _Deferred:
    """One column to be read on first use, shared by every copy of the array (read once, thread-safe)."""

    def __init__(self, length: int, loader: Callable[[], pa.ChunkedArray], what: str) -> None:
        self.length = length
        self.what = what
        self._loader: Callable[[], pa.ChunkedArray] | None = loader
        self._value: pa.ChunkedArray | None = None
        self._lock = threading.Lock()

    def value(self) -> pa.ChunkedArray:
        if self._value is None:
            with self._lock:
                if self._value is None:
                    assert self._loader is not None
                    col = self._loader()
                    if isinstance(col, pa.Array):
                        col = pa.chunked_array([col])
                    if len(col) != self.length:
                        raise StoreError(
                            f"{self.what} changed on disk since the layer was read ({len(col)} rows now, "
                            f"{self.length} then); call atlas.clear_cache() and read the layer again"
                        )
                    if not pa.types.is_large_string(col.type):
                        col = col.cast(pa.large_string())
                    self._value, self._loader = col, None
        return self._value


class DeferredStringArray(pd.arrays.ArrowStringArray):
    """An Arrow-backed text column (pandas ``str``) that the store reads only when it is first used.

    The store defers the free-text and personal columns of its largest layers (notes, document
    numbers, holder names, ...), which no analytics reads: a clearance-progress run then never reads
    or holds them. Any use (values, comparisons, ``len`` excepted) reads the column, once; copies
    share that read. If the layer changed on disk in between, the read raises
    :class:`~kcn_gis.errors.StoreError` instead of mixing two versions of the layer.
    """

    @classmethod
    def deferred(cls, cell: _Deferred) -> DeferredStringArray:
        obj = cls.__new__(cls)
        obj.__dict__["_cell"] = cell
        obj.__dict__["_arrow"] = None
        obj._dtype = _STR
        obj._cache = {}
        return obj

    @property  # type: ignore[override]
    def _pa_array(self) -> pa.ChunkedArray:
        value = self.__dict__.get("_arrow")
        if value is None:
            value = self.__dict__["_cell"].value()
            self.__dict__["_arrow"] = value
        return value

    @_pa_array.setter
    def _pa_array(self, value: pa.ChunkedArray) -> None:
        self.__dict__["_arrow"] = value
        self.__dict__["_cell"] = None

    @property
    def loaded(self) -> bool:
        """True once the column has been read."""
        cell = self.__dict__.get("_cell")
        return self.__dict__.get("_arrow") is not None or cell is None or cell._value is not None

    def __len__(self) -> int:
        cell = self.__dict__.get("_cell")
        if self.__dict__.get("_arrow") is None and cell is not None:
            return int(cell.length)
        return len(self._pa_array)

    def _still_deferred(self) -> bool:
        return self.__dict__.get("_arrow") is None and self.__dict__.get("_cell") is not None

    def copy(self) -> Any:
        if self._still_deferred():
            return DeferredStringArray.deferred(self.__dict__["_cell"])
        return super().copy()

    def view(self, dtype: Any = None) -> Any:
        if dtype is None and self._still_deferred():
            return self.copy()
        return super().view(dtype)

    def __setstate__(self, state: Any) -> None:
        super().__setstate__(state)
        value = self.__dict__.pop("_pa_array", None)
        if value is not None:
            self._pa_array = value


def _date_ms(col: pa.ChunkedArray) -> np.ndarray:
    """``date32``/``date64`` → ``datetime64[ms]`` (midnight), NaT for nulls."""
    if pa.types.is_date32(col.type):  # days since 1970 → numpy datetime64[D] → ms: no Arrow cast kernel
        return np.asarray(col.to_numpy(), dtype="datetime64[D]").astype("datetime64[ms]")
    return _owned(col.cast(pa.timestamp("ms")).to_numpy(zero_copy_only=False))


_STR = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default "str" dtype


def _timestamp_ms(col: pa.ChunkedArray) -> np.ndarray:
    """Any ``timestamp`` → naive UTC ``datetime64[ms]`` (Arrow keeps instants in UTC already)."""
    t = col.type
    assert isinstance(t, pa.TimestampType)
    if t.tz is not None:
        col = col.cast(pa.timestamp(t.unit))
    if t.unit != "ms":
        col = col.cast(pa.timestamp("ms"), safe=False)
    return _owned(col.to_numpy(zero_copy_only=False))


def _owned(values: np.ndarray) -> np.ndarray:
    """``datetime64[ms]`` values the frame may write to: Arrow's own buffer (one chunk) is copied, a
    concatenation of several chunks is already a new array and is kept (one copy of the column less)."""
    values = values.astype("datetime64[ms]", copy=False)
    return values if values.flags.writeable else values.copy()


def _column(col: pa.ChunkedArray, kind: str | None) -> Any:
    """One Arrow column as the pandas values :func:`coerce_layer` would give, or None for the generic path."""
    t = col.type
    if kind == "date" and (pa.types.is_date(t) or pa.types.is_timestamp(t)):
        if pa.types.is_timestamp(t):
            values = _timestamp_ms(col)
            ms = values.view("int64")
            if ((ms % 86_400_000 != 0) & ~np.isnat(values)).any():
                return None  # times of day: normalise on the generic path
            return values
        return _date_ms(col)
    if kind == "datetime" and pa.types.is_timestamp(t):
        return _timestamp_ms(col)
    if kind == "int" and pa.types.is_integer(t):
        return col.to_pandas(types_mapper=lambda _t: pd.Int64Dtype()).array
    if kind == "text" and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return pd.arrays.ArrowStringArray(col, dtype=_STR)
    if (
        kind == "text"
        and pa.types.is_dictionary(t)
        and (pa.types.is_string(t.value_type) or pa.types.is_large_string(t.value_type))
    ):  # read from dictionary pages on request (read_part's categorical=): the same strings, as categories
        col = col.unify_dictionaries()
        if not col.num_chunks:
            return pd.Categorical([], categories=pd.Index([], dtype=_STR))
        codes = [np.asarray(c.indices.fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int32) for c in col.chunks]
        words = pd.Index(pd.arrays.ArrowStringArray(pa.chunked_array([col.chunk(0).dictionary]), dtype=_STR))
        return pd.Categorical.from_codes(np.concatenate(codes), categories=words)
    if kind == "float" and pa.types.is_floating(t):
        return col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    return None


def table_to_frame(
    table: pa.Table,
    layer_spec: LayerSpec | None,
    *,
    geometry: str | None = None,
    crs: Any = None,
    deferred: Mapping[str, Callable[[], pa.ChunkedArray]] | None = None,
    order: Sequence[str] | None = None,
    what: str = "the layer",
) -> pd.DataFrame | gpd.GeoDataFrame:
    """An Arrow table as a frame with the model's dtypes; the geometry column (WKB) lazily decoded.

    Parameters
    ----------
    table : pyarrow.Table
        As read from the backend. Columns of the model get their dtypes here; others are converted
        by pyarrow's defaults (and then by :func:`~kcn_gis.store.base.coerce_layer`).
    layer_spec : LayerSpec, optional
        The layer's model (column kinds).
    geometry : str, optional
        Name of the WKB geometry column; the result is then a GeoDataFrame with the geometry as its
        last column, named ``geometry``, in ``crs``.
    crs : optional
        The CRS of the geometry (anything pyproj accepts).
    deferred : mapping of column name to loader, optional
        Text columns not in ``table``, read by ``loader()`` (an Arrow string column of the same rows)
        only when first used (:class:`DeferredStringArray`).
    order : sequence of str, optional
        The column order of the result (the layer's field order).
    what : str
        How errors name the layer (file and layer).
    """
    kinds = {c.name: c.kind for c in layer_spec.columns} if layer_spec is not None else {}
    data: dict[str, Any] = {}
    generic: list[str] = []
    for name in table.column_names:
        if name == geometry:
            continue
        values = _column(table.column(name), kinds.get(name))
        if values is None:
            generic.append(name)
            data[name] = None
        else:
            data[name] = values
    if generic:
        conv = table.select(generic).to_pandas()
        for name in generic:
            data[name] = conv[name].array
    for name, loader in (deferred or {}).items():
        data[name] = DeferredStringArray.deferred(_Deferred(table.num_rows, loader, f"{what}, column '{name}',"))
    if order is not None:
        data = {name: data[name] for name in order if name in data} | data
    index = pd.RangeIndex(table.num_rows)
    frame = pd.DataFrame(data, index=index, copy=False)
    if geometry is None:
        return frame
    geom = LazyGeometryArray.from_wkb(table.column(geometry), crs=crs)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geom, index=index, crs=crs), crs=crs)
