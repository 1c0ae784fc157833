"""Spatially partitioned GeoParquet: the on-disk layout of an atlas for the Dask engine.

A partitioned atlas is a directory::

    DIR/
      kcn_gis_meta.json           schema version, CRS, parts per layer, co-partitioning
      province/part.00000.parquet
      rivers/part.00000.parquet
      parks/part.00000.parquet
      plots/part.00000.parquet ... part.P.parquet      (Hilbert order, P <= K parts)
      parcels/part.00000.parquet ... part.K.parquet    (Hilbert order, K parts)
      clearance_events/part.00000.parquet ... part.K   (co-partitioned with parcels)
      projects/part.00000.parquet

* Spatial layers are GeoParquet 1.1 with a bbox covering column, so readers
  can skip row groups by bounding box.
* ``parcels`` and ``plots`` are sorted along a Hilbert curve (of the centres
  of their bounding boxes) and cut into parts of equal size, so each part is a
  compact area of the map.
* ``clearance_events`` part *i* holds exactly the events of the parcels in
  ``parcels`` part *i* (``"copartitioned"`` in the manifest), so per-parcel
  work needs no shuffle (:mod:`kcn_gis.dask_engine`).
* Column dtypes are those of the atlas (dates ``datetime64[ms]``, ints
  ``Int64``, text strings); nothing is reprojected: the CRS is the atlas's.

``bench/synth.py`` writes the same layout (parts of whole parks) directly.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis import cores
from kcn_gis.errors import StoreError
from kcn_gis.schema import SCHEMA_VERSION, Col, Layer, spec

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = [
    "MANIFEST",
    "GeoParquetBackend",
    "hilbert_distance",
    "layer_parts",
    "read_layer",
    "read_manifest",
    "read_part",
    "record_validation",
    "write_manifest",
    "write_partitioned",
]

log = logging.getLogger(__name__)

#: Name of the manifest file at the root of a partitioned atlas.
MANIFEST = "kcn_gis_meta.json"
_FORMAT = "kcn_gis-partitioned-geoparquet"
#: Layers cut into many parts; the others are written as one part.
_SPLIT_LAYERS = (Layer.PARCELS, Layer.PLOTS)
_MIN_ROWS_PER_PART = 5_000


def hilbert_distance(
    geoms: np.ndarray, *, bounds: tuple[float, float, float, float] | None = None, level: int = 16
) -> np.ndarray:
    """Position of each geometry along a Hilbert curve over ``bounds`` (the centre of its bounding box).

    Parameters
    ----------
    geoms : array of shapely geometries
        In any CRS; only the bounding boxes are used. Missing or empty
        geometries get distance 0.
    bounds : (xmin, ymin, xmax, ymax), optional
        Extent of the curve; default the total bounds of ``geoms``.
    level : int, default 16
        The curve fills a ``2**level`` x ``2**level`` grid.

    Returns
    -------
    numpy.ndarray of uint64
    """
    b = shapely.bounds(geoms)
    cx = (b[:, 0] + b[:, 2]) / 2
    cy = (b[:, 1] + b[:, 3]) / 2
    ok = np.isfinite(cx) & np.isfinite(cy)
    if bounds is None:
        bounds = (
            (float(np.min(cx[ok])), float(np.min(cy[ok])), float(np.max(cx[ok])), float(np.max(cy[ok])))
            if ok.any()
            else (0.0, 0.0, 1.0, 1.0)
        )
    n = 1 << level
    x0, y0, x1, y1 = bounds
    sx = (n - 1) / (x1 - x0) if x1 > x0 else 0.0
    sy = (n - 1) / (y1 - y0) if y1 > y0 else 0.0
    x = np.clip(np.where(ok, (cx - x0) * sx, 0), 0, n - 1).astype(np.int64)
    y = np.clip(np.where(ok, (cy - y0) * sy, 0), 0, n - 1).astype(np.int64)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (x & s) > 0
        ry = (y & s) > 0
        d += s * s * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        flip = ~ry & rx
        x = np.where(flip, n - 1 - x, x)
        y = np.where(flip, n - 1 - y, y)
        swap = ~ry
        x, y = np.where(swap, y, x), np.where(swap, x, y)
        s >>= 1
    return d.astype(np.uint64)


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.reset_index(drop=True)
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False, schema_version="1.1.0", write_covering_bbox=True)
    else:
        pd.DataFrame(frame).to_parquet(path, index=False)


def write_manifest(out_dir: str | os.PathLike[str], manifest: Mapping[str, Any]) -> Path:
    """Write the manifest (``kcn_gis_meta.json``) of a partitioned atlas; fills ``format`` and ``schema_version``."""
    data = {"format": _FORMAT, "schema_version": SCHEMA_VERSION, **dict(manifest)}
    path = Path(out_dir) / MANIFEST
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False), encoding="utf-8")
    return path


def read_manifest(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read the manifest of a partitioned atlas.

    Raises
    ------
    StoreError
        If ``directory`` is not a partitioned atlas or was written by a newer kcn_gis.
    """
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise StoreError(
            f"{directory} is not a partitioned GeoParquet atlas (no {MANIFEST}). Write one with "
            "kcn-gis export --to geoparquet --partitions K, or bench/synth.py --out DIR.parquet."
        )
    data = json.loads(path.read_text(encoding="utf-8"))
    if int(data.get("schema_version", SCHEMA_VERSION)) > SCHEMA_VERSION:
        raise StoreError(
            f"{directory} was written by a newer kcn_gis (schema version {data['schema_version']}); upgrade kcn_gis"
        )
    return data


def layer_parts(directory: str | os.PathLike[str], layer: str | Layer) -> list[Path]:
    """The part files of ``layer`` in a partitioned atlas, in partition order.

    Raises
    ------
    StoreError
        If the layer has no parts.
    """
    name = str(spec(layer).name)
    parts = sorted((Path(directory) / name).glob("part.*.parquet"))
    if not parts:
        raise StoreError(f"{directory}: layer '{name}' has no parts ({name}/part.*.parquet); re-export the atlas")
    return parts


def read_layer(
    directory: str | os.PathLike[str],
    layer: str | Layer,
    *,
    columns: list[str] | None = None,
    bbox: tuple[float, float, float, float] | None = None,
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Read a whole layer of a partitioned atlas into memory (for the small layers, or tests).

    Parameters
    ----------
    directory : path
        The partitioned atlas.
    layer : str
        Layer name.
    columns : list of str, optional
        Only these columns (the geometry is always read for spatial layers).
    bbox : (xmin, ymin, xmax, ymax), optional
        Only features whose bounding box intersects it (atlas CRS, metres), using
        the GeoParquet bbox covering.

    Returns
    -------
    GeoDataFrame or DataFrame
        In the atlas CRS, rows in partition order.
    """
    s = spec(layer)
    parts = layer_parts(directory, layer)
    if s.geometry is None:
        frames = [pd.read_parquet(p, columns=columns) for p in parts]
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    cols = None if columns is None else [*columns, Col.GEOMETRY]
    gframes = [gpd.read_parquet(p, columns=cols, bbox=bbox) for p in parts]
    return pd.concat(gframes, ignore_index=True) if len(gframes) > 1 else gframes[0]


def read_part(
    path: str | os.PathLike[str],
    layer: str | Layer,
    *,
    columns: list[str] | None = None,
    crs: Any = None,
    threads: bool | None = None,
    defer: Sequence[str] = (),
    categorical: Sequence[str] = (),
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Read one part file of a layer as the atlas reader reads a whole layer (for the Dask engine's tasks).

    Columns get the model's dtypes (dates ``datetime64[ms]``, text Arrow-backed strings) and the
    geometry stays WKB until it is first used: ``frame.geometry.values.area`` is computed from
    the bytes, without building the shapes.

    Parameters
    ----------
    path : path
        A ``part.NNNNN.parquet`` file of the layer (:func:`layer_parts`).
    layer : str
        The layer the part belongs to.
    columns : list of str, optional
        Only these columns; the geometry of a spatial layer is always read, last.
    crs : optional
        The atlas CRS (the manifest's ``crs``; EPSG:9209 for Bắc Ninh). Nothing is reprojected.
    threads : bool, optional
        Let Arrow decode the columns in its thread pool. Default: when more than one core is
        available (:func:`kcn_gis.cores.available`; a Dask task limits itself to one, as each worker
        is already one core's work and the pool's threads only added CPU time there).
    defer : sequence of str, optional
        Text columns (of ``columns``) read only when first used, as the atlas reader defers notes and
        ids (:class:`~kcn_gis.store.arrow.DeferredStringArray`): event ids, for instance, matter only
        where a correction names one. If the file changed on disk in between, that read raises
        :class:`~kcn_gis.errors.StoreError`.
    categorical : sequence of str, optional
        Text columns of few distinct values (event kinds, park ids) returned as pandas ``Categorical``
        of the same strings, read from the file's dictionary pages without building a string per row.

    Raises
    ------
    StoreError
        If the file cannot be read or lacks a requested column.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kcn_gis.store.arrow import table_to_frame

    s = spec(layer)
    try:
        names = pq.read_schema(path).names
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path} (layer '{s.name}') cannot be read: {exc}") from exc
    geom = str(Col.GEOMETRY) if s.geometry is not None and str(Col.GEOMETRY) in names else None
    wanted = [c for c in names if c not in ("bbox", "__index_level_0__")] if columns is None else list(columns)
    missing = [c for c in (*wanted, *defer, *categorical) if c not in names]
    if missing:
        raise StoreError(f"{path} (layer '{s.name}') has no column(s) {', '.join(missing)}; re-export the atlas")
    cols = [c for c in wanted if c != geom] + ([geom] if geom else [])
    later = [c for c in defer if c in cols and c != geom]
    order = cols if later else None
    use_threads = cores.available() > 1 if threads is None else threads
    deferred: dict[str, Any] = {}
    if later:
        stamp = _fingerprint([Path(path)])

        def loader(column: str) -> Any:
            def load() -> Any:
                if _fingerprint([Path(path)]) != stamp:
                    raise StoreError(f"{path} (layer '{s.name}') changed on disk after it was read; read it again")
                try:
                    return pq.read_table(path, columns=[column], use_threads=use_threads, pre_buffer=False)[column]
                except (pa.ArrowInvalid, OSError) as exc:
                    raise StoreError(f"{path} (layer '{s.name}') cannot be read: {exc}") from exc

            return load

        deferred = {c: loader(c) for c in later}
    try:
        table = pq.read_table(
            path,
            columns=[c for c in cols if c not in deferred],
            use_threads=use_threads,
            read_dictionary=[c for c in categorical if c in cols] or None,
            pre_buffer=False,  # see _parquet_format
        )
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path} (layer '{s.name}') cannot be read: {exc}") from exc
    return table_to_frame(
        table, s, geometry=geom, crs=crs, deferred=deferred, order=order, what=f"{path} (layer '{s.name}')"
    )


def _layers_of(atlas: Atlas) -> dict[str, pd.DataFrame]:
    if isinstance(atlas, Mapping):
        return {str(spec(k).name): v for k, v in atlas.items()}
    return {name: atlas.read(name) for name in atlas.layer_names()}


def write_partitioned(
    atlas: Atlas,
    out_dir: str | os.PathLike[str],
    *,
    partitions: int,
    overwrite: bool = False,
) -> Path:
    """Write an atlas as spatially partitioned GeoParquet (the input of the Dask engine).

    Parameters
    ----------
    atlas : Atlas or mapping of layer name to frame
        An open atlas (:func:`kcn_gis.open_atlas`) or its layers. Spatial layers
        must share one projected CRS (the atlas CRS, EPSG:9209 for Bắc Ninh); it
        is kept, nothing is reprojected.
    out_dir : path
        The directory to create. It must not exist unless ``overwrite``.
    partitions : int
        Number of parts K of ``parcels`` (and of its co-partitioned
        ``clearance_events``); ``plots`` get at most K parts of at least 5 000 rows.
        Each part is a compact piece of the map along a Hilbert curve.
    overwrite : bool, default False
        Replace an existing directory.

    Returns
    -------
    Path
        ``out_dir``.

    Raises
    ------
    StoreError
        If ``out_dir`` exists (and not ``overwrite``), ``partitions < 1``, or the
        spatial layers are in different CRSs.
    """
    if partitions < 1:
        raise StoreError(f"partitions={partitions}: give at least 1 (e.g. --partitions 8)")
    out = Path(out_dir)
    if out.exists():
        if not overwrite:
            raise StoreError(f"{out} already exists; choose another directory or remove it")
        shutil.rmtree(out)
    layers = _layers_of(atlas)
    crs_values = {f.crs.to_string() for f in layers.values() if isinstance(f, gpd.GeoDataFrame) and f.crs is not None}
    if len(crs_values) > 1:
        raise StoreError(
            f"the spatial layers are in different CRSs ({', '.join(sorted(crs_values))}); fix the atlas first"
        )
    crs = next(iter(crs_values), None)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    manifest: dict[str, Any] = {"crs": crs, "layers": {}, "copartitioned": {}}
    parcel_part: pd.Series | None = None
    try:
        spatial = [f for f in layers.values() if isinstance(f, gpd.GeoDataFrame) and len(f)]
        total = (
            shapely.total_bounds(np.concatenate([np.asarray(f.geometry.values) for f in spatial])) if spatial else None
        )
        bounds: tuple[float, float, float, float] | None = None
        if total is not None and np.isfinite(total).all():
            bounds = (float(total[0]), float(total[1]), float(total[2]), float(total[3]))
        ordered = [Layer(n) for n in layers if n != str(Layer.CLEARANCE_EVENTS)]
        for layer in ordered:
            frame = layers[str(layer)]
            k = 1
            if layer in _SPLIT_LAYERS and len(frame):
                k = partitions if layer == Layer.PARCELS else max(1, min(partitions, len(frame) // _MIN_ROWS_PER_PART))
            if k > 1:
                order = np.argsort(hilbert_distance(np.asarray(frame.geometry.values), bounds=bounds), kind="stable")
                chunks = np.array_split(order, k)
            else:
                chunks = [np.arange(len(frame))]
            for i, idx in enumerate(chunks):
                _write_frame(frame.iloc[idx], tmp / str(layer) / f"part.{i:05d}.parquet")
            if layer == Layer.PARCELS:
                part_of = np.empty(len(frame), dtype=np.int64)
                for i, idx in enumerate(chunks):
                    part_of[idx] = i
                parcel_part = pd.Series(part_of, index=pd.Index(frame[Col.PARCEL_ID].to_numpy()))
                parcel_part = parcel_part[~parcel_part.index.duplicated()]
            manifest["layers"][str(layer)] = {"parts": len(chunks), "rows": len(frame)}
        if str(Layer.CLEARANCE_EVENTS) in layers:
            events = layers[str(Layer.CLEARANCE_EVENTS)]
            if parcel_part is not None and len(parcel_part):
                k = int(parcel_part.max()) + 1
                pos = parcel_part.index.get_indexer(events[Col.PARCEL_ID].to_numpy())
                # events of unknown parcels go with part 0 (they belong to no parcel in any part)
                dest = np.where(pos >= 0, parcel_part.to_numpy()[np.maximum(pos, 0)], 0)
                for i in range(k):
                    _write_frame(
                        events.iloc[np.flatnonzero(dest == i)],
                        tmp / str(Layer.CLEARANCE_EVENTS) / f"part.{i:05d}.parquet",
                    )
                manifest["copartitioned"][str(Layer.CLEARANCE_EVENTS)] = str(Layer.PARCELS)
            else:
                k = 1
                _write_frame(events, tmp / str(Layer.CLEARANCE_EVENTS) / "part.00000.parquet")
            manifest["layers"][str(Layer.CLEARANCE_EVENTS)] = {"parts": k, "rows": len(events)}
        write_manifest(tmp, manifest)
        tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("wrote partitioned GeoParquet atlas %s (%d parcel parts)", out, partitions)
    return out


# -- reading a partitioned atlas as an Atlas (read-only backend) ----------------------------------------------------
#: Manifest key holding, per layer, the fingerprint of its parts when they were validated.
VALIDATED_KEY = "validated"


def _parquet_format() -> Any:
    """Parquet scanning without Arrow's pre-buffering of whole column chunks.

    Pre-buffering coalesces the reads of a column chunk into one large fresh buffer, which helps
    object stores; on a local disk it only added page faults: a fresh ``kcn-gis clearance progress``
    on a 1M-parcel atlas spent 0.45-0.65 s in the kernel with it and 0.22-0.30 s without (1.43-1.62 s
    against 1.16-1.27 s in all).
    """
    import pyarrow.dataset as ds

    return ds.ParquetFileFormat(default_fragment_scan_options=ds.ParquetFragmentScanOptions(pre_buffer=False))


def _fingerprint(parts: list[Path]) -> str:
    """Changes whenever a part of the layer is added, removed or rewritten (name, size, modification time)."""
    import hashlib

    h = hashlib.sha1()
    for p in parts:
        st = p.stat()
        h.update(f"{p.name}:{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()


class GeoParquetBackend:
    """A partitioned GeoParquet atlas (see the module docstring) opened for reading, as a store backend.

    ``open_atlas(DIR)`` uses it, so the analytics run on the layout as on a GeoPackage. Reads use
    pyarrow datasets (threads, column projection, equality filters and the bbox covering pushed into
    the scan) and give the same frames as the GeoPackage reader. The layout is written whole by
    :func:`write_partitioned` (or ``bench/synth.py``); this backend never writes it.
    """

    supports_filters = True
    #: each read opens its own Parquet reader: reads may run in other threads
    concurrent_reads = True

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.path = Path(directory)
        self.location = str(self.path)
        self._manifest = read_manifest(self.path)

    def _read_only(self, what: str) -> StoreError:
        return StoreError(
            f"{self.location} is a partitioned GeoParquet atlas, which kcn_gis only reads; cannot {what}. "
            "Edit the GeoPackage atlas and export it again (kcn-gis export --to geoparquet --partitions K)."
        )

    def list_layers(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in self._manifest.get("layers", {}):
            try:
                geom = spec(name).geometry
            except Exception:
                geom = None
            out[str(name)] = str(geom).capitalize() if geom else None
        return out

    def layer_crs(self, layer: str) -> Any:
        return self._manifest.get("crs")

    def layer_stamp(self, layer: str) -> str | None:
        return _fingerprint(layer_parts(self.path, layer))

    def read_meta(self) -> dict[str, str]:
        meta = {"schema_version": str(self._manifest.get("schema_version", SCHEMA_VERSION))}
        if self._manifest.get("crs"):
            meta["crs"] = str(self._manifest["crs"])
        for layer, stamp in (self._manifest.get(VALIDATED_KEY) or {}).items():
            meta[f"validated:{layer}"] = str(stamp)
        return meta

    def read_layer(
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: str | None = None,
        columns: list[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        defer: bool = True,
    ) -> pd.DataFrame | gpd.GeoDataFrame:
        import pyarrow as pa
        import pyarrow.dataset as ds

        from kcn_gis.store.arrow import DEFER_FROM_ROWS, DEFERRED_COLUMNS, table_to_frame

        if where is not None:
            raise StoreError(
                f"{self.location}: SQL where= filters need a GeoPackage or PostGIS atlas; use filters={{column: value}}"
            )
        parts = layer_parts(self.path, layer)
        s = spec(layer)
        dataset = ds.dataset([str(p) for p in parts], format=_parquet_format())
        names = dataset.schema.names
        geom = str(Col.GEOMETRY) if s.geometry is not None and str(Col.GEOMETRY) in names else None
        deferred: dict[str, Any] = {}
        order: list[str] | None = None
        if columns is None:
            cols = [c for c in names if c not in ("bbox", "__index_level_0__")]
            if (
                defer
                and bbox is None
                and not filters
                and layer in DEFERRED_COLUMNS
                and dataset.count_rows() >= DEFER_FROM_ROWS
            ):
                order = list(cols)
                stamp = _fingerprint(parts)

                def loader(column: str) -> Any:
                    def load() -> Any:
                        if _fingerprint(layer_parts(self.path, layer)) != stamp:
                            raise StoreError(
                                f"{self.location} layer '{layer}' changed on disk after it was read; "
                                "call atlas.clear_cache() and read it again"
                            )
                        parquet = _parquet_format()
                        return ds.dataset([str(p) for p in parts], format=parquet).to_table(columns=[column])[column]

                    return load

                deferred = {c: loader(c) for c in DEFERRED_COLUMNS[layer] if c in cols}
                cols = [c for c in cols if c not in deferred]
        else:
            missing = [c for c in columns if c not in names]
            if missing:
                raise StoreError(f"{self.location} layer '{layer}' has no column(s) {', '.join(missing)}")
            cols = [c for c in columns if c != geom] + ([geom] if geom else [])
        expr = None
        for col, value in (filters or {}).items():
            values = [value] if isinstance(value, str) or not hasattr(value, "__iter__") else list(value)
            cond = ds.field(col).isin(values)
            expr = cond if expr is None else expr & cond
        if bbox is not None and "bbox" in names:
            x0, y0, x1, y1 = bbox
            b = ds.field("bbox")
            cond = (b["xmin"] <= x1) & (b["xmax"] >= x0) & (b["ymin"] <= y1) & (b["ymax"] >= y0)
            expr = cond if expr is None else expr & cond
        try:
            table = dataset.to_table(columns=cols, filter=expr)
        except (pa.ArrowInvalid, OSError) as exc:
            raise StoreError(f"{self.location} layer '{layer}' cannot be read: {exc}") from exc
        frame = table_to_frame(
            table,
            s,
            geometry=geom,
            crs=self._manifest.get("crs"),
            deferred=deferred,
            order=order,
            what=f"{self.location} layer '{layer}'",
        )
        if bbox is not None and geom is not None and "bbox" not in names and len(frame):
            box = shapely.box(*bbox)
            frame = frame[shapely.intersects(np.asarray(frame.geometry.values), box)].reset_index(drop=True)
        return frame

    # the layout is read-only
    def check_writable(self) -> None:
        raise self._read_only("write")

    def write_layers(self, layers: Mapping[str, pd.DataFrame], meta: Mapping[str, str]) -> None:
        raise self._read_only("write layers")

    def append_rows(self, layer: str, frame: pd.DataFrame) -> int | None:
        raise self._read_only(f"append to '{layer}'")

    def update_rows(self, layer: str, rows: pd.DataFrame, expected: Mapping[Any, int]) -> dict[Any, int]:
        raise self._read_only(f"edit '{layer}'")

    def lock(self, layer: str) -> Any:
        raise self._read_only(f"lock '{layer}'")


def record_validation(directory: str | os.PathLike[str]) -> dict[str, str]:
    """Validate every layer of a partitioned atlas against the schema and record it in the manifest.

    Each layer is read and checked (:func:`kcn_gis.validation.check_layer`); when no layer has an
    error, the manifest gets the fingerprint of each layer's parts, so later ``open_atlas(DIR)``
    reads skip the same checks while the parts are unchanged (any rewrite of a part changes its
    fingerprint). ``kcn-gis validate`` and :meth:`Atlas.validate` always check everything.

    Returns
    -------
    dict
        Layer -> fingerprint recorded.

    Raises
    ------
    SchemaError
        If a layer breaks the data model (nothing is recorded).
    """
    from kcn_gis.errors import SchemaError
    from kcn_gis.store.base import Atlas

    backend = GeoParquetBackend(directory)
    atlas = Atlas(backend, validate=False)
    problems = [p for p in atlas.validate() if p.severity == "error"]
    if problems:
        raise SchemaError.from_problems(problems, header=f"{directory} is not a valid kcn_gis atlas:")
    stamps = {name: _fingerprint(layer_parts(directory, name)) for name in backend.list_layers()}
    manifest = dict(read_manifest(directory))
    manifest[VALIDATED_KEY] = stamps
    write_manifest(directory, {k: v for k, v in manifest.items() if k not in ("format", "schema_version")})
    return stamps
