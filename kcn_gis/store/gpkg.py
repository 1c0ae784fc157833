"""GeoPackage backend: the embedded default store.

* Reads go through pyogrio with Arrow, and use the GeoPackage R-tree for
  ``bbox`` filters.
* Every write happens inside the existing file, as ONE SQLite transaction
  (``BEGIN IMMEDIATE ... COMMIT``) through :mod:`sqlite3` with a busy timeout:
  append rows, replace the rows of some parks, replace whole layers, update rows by
  key. The file is never copied, moved or recreated, so its inode, owner, mode and
  ACLs stay, and SQLite's own locking is respected by QGIS, GDAL and kcn-gis alike.
  The R-tree is kept by GDAL's own triggers (their ``ST_*`` functions are registered
  on the connection, see :mod:`kcn_gis.store.gpkg_sql`), ``gpkg_contents`` extent and
  ``last_change`` are updated in the same transaction. A brand-new atlas is written
  beside the target and linked into place (never over an existing file).
* A new atlas is a GeoPackage 1.2 (``KCN_GIS_GPKG_VERSION`` or ``gpkg_version=`` asks for
  1.3 or 1.4), which QGIS 3.22 / GDAL 3.6 read without a version warning; in-place writes
  keep the file's ``application_id`` and ``user_version``. Every styled layer gets its
  default QGIS style in ``layer_styles`` when the atlas or the layer is written
  (:mod:`kcn_gis.layer_styles`; a style saved from QGIS is kept).
* Appends to attribute tables (the clearance history) are idempotent on the key
  (a stored ``event_id`` is skipped); appends to spatial layers refuse a stored key.
* A write that would leave rows pointing to nothing (:data:`~kcn_gis.store.base.REFERENCES`)
  is refused inside the transaction.
* kcn-gis writers also take an advisory lock (``<atlas>.lock``), re-entrant within a
  process, so :meth:`GeoPackageBackend.lock` can wrap a read-validate-append sequence.
* Plots carry a ``version`` column (see :meth:`kcn_gis.store.base.Atlas.edit`):
  every write stamps the rows it writes with a new version, taken from the
  counter ``row_version`` in ``kcn_gis_meta``.

See ``docs/write-model.md``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import fcntl
import logging
import os
import sqlite3
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

import kcn_gis.store.gpkg_rtree as gpkg_rtree
import kcn_gis.store.gpkg_sql as gpkg_sql
from kcn_gis import cores
from kcn_gis.errors import ConcurrencyError, SchemaError, StoreError
from kcn_gis.schema import Col, spec
from kcn_gis.store.arrow import DEFER_FROM_ROWS, DEFERRED_COLUMNS, table_to_frame
from kcn_gis.store.base import (
    REFERENCES,
    VALIDATED_PENDING,
    VALIDATED_PREFIX,
    VERSIONED_LAYERS,
    WriteResult,
    orphan_error,
)

__all__ = ["META_TABLE", "ROW_VERSION_KEY", "GeoPackageBackend"]

log = logging.getLogger(__name__)

#: Attribute table holding ``schema_version``, ``crs`` and other atlas metadata.
META_TABLE = "kcn_gis_meta"
#: Meta key holding the last row version handed out in this GeoPackage.
ROW_VERSION_KEY = "row_version"
_VERSION = str(Col.VERSION)

#: From this many rows on, a whole-layer read runs as two parallel halves (see GeoPackageBackend._read_halves).
_PARALLEL_READ_ROWS = 500_000

# Re-entrant process-wide locking: flock() locks of two open() calls on the same file
# conflict even within one process, so nested acquisitions only count depth.
_GUARD = threading.Lock()
_HELD: dict[str, tuple[threading.RLock, list[int]]] = {}


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    key = os.path.abspath(lock_path)
    with _GUARD:
        rlock, depth = _HELD.setdefault(key, (threading.RLock(), [0]))
    with rlock:
        if depth[0]:
            depth[0] += 1
            try:
                yield
            finally:
                depth[0] -= 1
            return
        with open(lock_path, "a+") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            depth[0] = 1
            try:
                yield
            finally:
                depth[0] = 0
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GeoPackageBackend:
    """Store an atlas in one GeoPackage file.

    Parameters
    ----------
    path : path-like
        The ``.gpkg`` file. It need not exist yet when ``create=True``.
    gpkg_version : {"1.2", "1.3", "1.4"}, optional
        GeoPackage version of a file this backend creates (default ``$KCN_GIS_GPKG_VERSION``
        or 1.2, see :func:`kcn_gis.store.gpkg_sql.gpkg_version`). An existing file keeps its version.
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False, gpkg_version: str | None = None) -> None:
        # checked now when this backend may create the file; reads never look at it
        self.gpkg_version = gpkg_sql.gpkg_version(gpkg_version) if create or gpkg_version is not None else None
        self.path = Path(path)
        self.location = str(self.path)
        if not create and not self.path.exists():
            raise StoreError(
                f"atlas {self.path} does not exist. Check the path, or create one with "
                "kcn_gis.write_atlas(path, layers) or kcn-gis import."
            )
        self._layers: dict[str, str | None] | None = None
        if self.path.exists():
            _recover(self.path)

    #: Equality ``filters`` are turned into a quoted SQLite condition by this backend.
    supports_filters = True
    #: each read opens its own SQLite connection: reads may run in other threads (Atlas.validate reads ahead)
    concurrent_reads = True

    # -- reading ---------------------------------------------------------------------------------------
    def list_layers(self) -> dict[str, str | None]:
        if self._layers is None:
            if not self.path.exists():
                self._layers = {}
            else:
                try:
                    self._layers = {str(n): (str(t) if t else None) for n, t in pyogrio.list_layers(self.path)}
                except Exception as exc:  # pyogrio raises DataSourceError and friends
                    raise StoreError(f"{self.path} cannot be opened as a GeoPackage: {exc}") from exc
        return self._layers

    def layer_crs(self, layer: str) -> Any:
        return pyogrio.read_info(self.path, layer=layer)["crs"]

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
        if filters:
            cond = " AND ".join(_sqlite_condition(c, v) for c, v in filters.items())
            where = f"({where}) AND {cond}" if where else cond
        if columns is not None and layer in {str(x) for x in VERSIONED_LAYERS}:
            fields = set(pyogrio.read_info(self.path, layer=layer)["fields"])
            if _VERSION in fields and _VERSION not in columns:
                columns = [*columns, _VERSION]
        deferred: dict[str, Any] = {}
        order: list[str] | None = None
        if defer and bbox is None and where is None and columns is None and layer in DEFERRED_COLUMNS:
            # a whole large layer: its free-text and personal columns are read when first used
            info = self._info(layer)
            if int(info.get("features") or 0) >= DEFER_FROM_ROWS:
                order = [str(f) for f in info["fields"]]
                later = [f for f in DEFERRED_COLUMNS[layer] if f in order]
                stamp = self.layer_stamp(layer)
                deferred = {f: self._column_loader(layer, f, stamp) for f in later}
                columns = [f for f in order if f not in deferred]
        try:
            with warnings.catch_warnings():
                # GDAL warns on measured/3D geometries or odd field types; surface them as log lines.
                warnings.simplefilter("ignore", RuntimeWarning)
                halves = self._halves(layer) if bbox is None and where is None else None
                if halves is not None:
                    meta, table = self._read_halves(layer, columns, halves)
                else:
                    meta, table = pyogrio.read_arrow(self.path, layer=layer, bbox=bbox, where=where, columns=columns)
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(f"{self.path} layer '{layer}' cannot be read: {exc}") from exc
        geometry = meta.get("geometry_name") or ("wkb_geometry" if "wkb_geometry" in table.column_names else None)
        if geometry is not None and geometry not in table.column_names:
            geometry = None
        try:
            layer_spec = spec(layer)
        except SchemaError:  # a layer outside the model (e.g. the meta table): pyarrow's defaults
            layer_spec = None
        try:
            return table_to_frame(
                table,
                layer_spec,
                geometry=geometry,
                crs=meta.get("crs"),
                deferred=deferred,
                order=order,
                what=f"{self.path} layer '{layer}'",
            )
        except UnicodeDecodeError as exc:
            raise StoreError(f"{self.path} layer '{layer}' is not encoded in UTF-8: {exc}") from exc

    def _halves(self, layer: str) -> tuple[str, int] | None:
        """(fid column, split fid) for reading a large layer in two parallel halves; None for small layers."""
        if cores.available() < 2:
            return None
        qt = _q(layer)
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            pk = next((str(r[1]) for r in con.execute(f"PRAGMA table_info({qt})") if r[5] == 1), None)
            if pk is None:
                return None
            # two subqueries: SQLite answers min() or max() of the key alone from the b-tree's ends, but
            # "SELECT min(k), max(k)" scans the whole table (0.35 s for 3.9 M clearance events)
            lo, hi = con.execute(
                f"SELECT (SELECT min({_q(pk)}) FROM {qt}), (SELECT max({_q(pk)}) FROM {qt})"
            ).fetchone()
        if lo is None or int(hi) - int(lo) < _PARALLEL_READ_ROWS:
            return None
        return pk, (int(lo) + int(hi)) // 2

    def _read_halves(self, layer: str, columns: list[str] | None, halves: tuple[str, int]) -> tuple[Any, Any]:
        """Read a large layer as two fid ranges in two threads (GDAL reads without the GIL), in fid order.

        Each half is its own SQLite read; if the layer changed in between (its ``last_change``
        moved), the layer is read again in one piece, so the frame is always one version of it.
        """
        import pyarrow as pa

        pk, mid = halves
        stamp = self.layer_stamp(layer)
        conds = [f"{_q(pk)} <= {mid}", f"{_q(pk)} > {mid}"]
        with ThreadPoolExecutor(2) as ex:
            parts = list(ex.map(lambda w: pyogrio.read_arrow(self.path, layer=layer, where=w, columns=columns), conds))
        if self.layer_stamp(layer) != stamp:
            return pyogrio.read_arrow(self.path, layer=layer, columns=columns)
        meta = parts[0][0]
        return meta, pa.concat_tables([parts[0][1], parts[1][1]])

    def _info(self, layer: str) -> dict[str, Any]:
        try:
            return dict(pyogrio.read_info(self.path, layer=layer))
        except Exception as exc:
            raise StoreError(f"{self.path} layer '{layer}' cannot be read: {exc}") from exc

    def _column_loader(self, layer: str, column: str, stamp: str | None) -> Any:
        """A function reading one column of ``layer`` later, refusing if the layer changed meanwhile."""

        def load() -> Any:
            if self.layer_stamp(layer) != stamp:
                raise StoreError(
                    f"{self.path} layer '{layer}' changed on disk after it was read, before its column "
                    f"'{column}' was used; call atlas.clear_cache() and read the layer again"
                )
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                _, table = pyogrio.read_arrow(self.path, layer=layer, columns=[column], read_geometry=False)
            return table.column(column)

        return load

    def read_meta(self) -> dict[str, str]:
        if META_TABLE not in self.list_layers():
            return {}
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            return {str(k): str(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}")}

    # -- writing ---------------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """Raise :class:`StoreError` unless this process may write the atlas in place.

        Refused: the bundled demo atlas, a read-only file, and a file in a read-only
        folder (SQLite needs to create its journal beside the file).
        """
        _refuse_bundled(self.path)
        if not self.path.exists():
            folder = self.path.parent if self.path.parent.exists() else None
            if folder is not None and (not os.access(folder, os.W_OK) or not folder.stat().st_mode & 0o222):
                raise StoreError(f"cannot create the atlas {self.path}: the folder {folder} is read-only")
            return
        # The permission bits are honoured also for root (who may write anything): a file or folder
        # without any write bit was made read-only on purpose.
        if not os.access(self.path, os.W_OK) or not self.path.stat().st_mode & 0o222:
            raise StoreError(
                f"{self.path} is read-only (file permissions); nothing was written. Make it writable "
                f"(chmod u+w) or import into a copy."
            )
        if not os.access(self.path.parent, os.W_OK | os.X_OK) or not self.path.parent.stat().st_mode & 0o222:
            raise StoreError(
                f"{self.path} is in the read-only folder {self.path.parent}; SQLite must create its journal "
                "beside the file, so nothing was written. Make the folder writable or import into a copy elsewhere."
            )

    def write_layers(self, layers: Mapping[str, pd.DataFrame], meta: Mapping[str, str]) -> None:
        """Replace whole layers (and meta entries) in one SQLite transaction inside the existing file.

        A file that does not exist yet is created whole (nothing to protect then).
        """
        self.check_writable()
        if not self.path.exists():
            self._create(layers, meta)
            return
        self._apply([_Change(name, frame, "replace_all") for name, frame in layers.items()], meta)

    def change_layer(
        self,
        layer: str,
        frame: pd.DataFrame,
        *,
        mode: str,
        parks: Sequence[str] = (),
        meta: Mapping[str, str] | None = None,
        validated: bool = True,
    ) -> WriteResult:
        """Append rows to ``layer``, or replace the rows of ``parks``, in one transaction.

        Parameters
        ----------
        mode : {"append", "replace_parks"}
            ``append`` refuses rows whose key is already stored (:class:`ConcurrencyError`:
            another program added it since it was read). ``replace_parks`` deletes the rows
            whose ``park_id`` (for ``parks``: the park itself) is in ``parks``, then inserts ``frame``.
        """
        self.check_writable()
        if mode not in ("append", "replace_parks"):
            raise StoreError(f"unknown write mode '{mode}'")
        if not self.path.exists():
            self._create({layer: frame}, meta or {})
            return WriteResult(layer, inserted=len(frame), deleted=0)
        out = self._apply([_Change(layer, frame, mode, tuple(parks), validated)], meta or {})
        return out[0]

    def _create(self, layers: Mapping[str, pd.DataFrame], meta: Mapping[str, str]) -> None:
        """Write a brand-new GeoPackage beside the target and link it into place (never over an existing file)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.new.gpkg")
        token = 1
        try:
            for i, (name, frame) in enumerate(layers.items()):
                if name in {str(x) for x in VERSIONED_LAYERS}:
                    frame = _with_versions(frame, np.full(len(frame), token, dtype="int64"))
                # the first write creates the file: in the GeoPackage version asked for (1.2 by default)
                version = self.gpkg_version or gpkg_sql.gpkg_version()
                extra: dict[str, Any] = {} if i else {"dataset_options": {"VERSION": version}}
                self._write_one(tmp, name, frame, **extra)
            self._write_meta(tmp, {**meta, ROW_VERSION_KEY: str(token)})
            with contextlib.closing(sqlite3.connect(tmp)) as con:
                for name in layers:
                    _ensure_indexes(
                        con, name, {str(r[1]): str(r[2]) for r in con.execute(f"PRAGMA table_info({_q(name)})")}
                    )
                gpkg_sql.ensure_layer_styles(con, list(layers), stamp=_now_stamp(con))
                con.commit()
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            try:
                os.link(tmp, self.path)  # atomic, and fails instead of overwriting a file created meanwhile
            except FileExistsError as exc:
                raise ConcurrencyError(
                    f"{self.path} was created by another program while this one was creating it; nothing was "
                    "written. Run the command again to write into the existing atlas."
                ) from exc
            _fsync_dir(self.path.parent)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            self._layers = None

    def _ensure_layers(self, changes: Sequence[_Change]) -> None:
        """Add the layers (and the meta table) that the file lacks, empty, through GDAL (in place)."""
        present = set(self.list_layers())
        for ch in changes:
            if ch.layer in present:
                continue
            frame = ch.frame
            if ch.layer in {str(x) for x in VERSIONED_LAYERS}:
                frame = _with_versions(frame, np.zeros(len(frame), dtype="int64"))
            empty = frame.iloc[:0]
            kwargs: dict[str, Any] = {}
            if isinstance(frame, gpd.GeoDataFrame):
                # GEOMETRY, not the type of the first rows: later writes may bring polygons and multipolygons
                kwargs["geometry_type"] = "Unknown"
            log.info("%s: adding layer '%s'", self.path, ch.layer)
            try:
                self._write_one(self.path, ch.layer, empty, append_layer=True, **kwargs)
            except Exception as exc:  # GDAL: locked, read-only, ...
                raise StoreError(f"{self.path}: cannot add layer '{ch.layer}'; nothing was written ({exc})") from exc
            present.add(ch.layer)
        if META_TABLE not in present:
            try:
                pyogrio.write_dataframe(
                    pd.DataFrame({"key": pd.Series([], dtype=str), "value": pd.Series([], dtype=str)}),
                    self.path,
                    layer=META_TABLE,
                    driver="GPKG",
                    append=False,
                )
            except Exception as exc:
                raise StoreError(
                    f"{self.path}: cannot add the table {META_TABLE}; nothing was written ({exc})"
                ) from exc
        self._layers = None

    def _apply(self, changes: Sequence[_Change], meta: Mapping[str, str]) -> list[WriteResult]:
        """Run ``changes`` and the meta update in ONE SQLite transaction (BEGIN IMMEDIATE ... COMMIT)."""
        with _lock(self.path):
            self._ensure_layers(changes)
            con = gpkg_sql.connect(self.path)
            try:
                with _transaction(self.path, con):
                    stored_meta = {str(k): str(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}")}
                    token = int(stored_meta.get(ROW_VERSION_KEY, 0) or 0) + 1
                    stamp = _now_stamp(con)
                    results = []
                    removed: dict[str, str] = {}
                    for ch in changes:
                        res, temp = self._apply_one(con, ch, token, stamp)
                        results.append(res)
                        if temp:
                            removed[ch.layer] = temp
                    _refuse_orphans(con, self.path, removed)
                    # a layer written (or added) gets its default QGIS style, unless it has one
                    gpkg_sql.ensure_layer_styles(con, [ch.layer for ch in changes], stamp=stamp)
                    markers: dict[str, str] = {}
                    for ch, res in zip(changes, results, strict=True):
                        mk = f"{VALIDATED_PREFIX}{ch.layer}"
                        if ch.mode == "replace_all":
                            continue  # the caller's meta sets (or clears) the marker of a whole-layer write
                        # Still validated only if the rest of the layer was validated and unchanged before.
                        was = stored_meta.get(mk)
                        markers[mk] = stamp if ch.validated and was and was == res.stamp_before else ""
                    resolved = {k: (stamp if v == VALIDATED_PENDING else v) for k, v in meta.items()}
                    _upsert_meta(con, {**markers, **resolved, ROW_VERSION_KEY: str(token)}, stamp)
            finally:
                con.close()
                self._layers = None
        for res in results:
            log.info("%s layer '%s': %d row(s) inserted, %d deleted", self.path, res.layer, res.inserted, res.deleted)
        return results

    def _apply_one(self, con: sqlite3.Connection, ch: _Change, token: int, stamp: str) -> tuple[WriteResult, str]:
        layer = ch.layer
        s = spec(layer)
        key = s.key
        qt = _q(layer)
        frame = ch.frame
        decl = {str(r[1]): str(r[2] or "TEXT") for r in con.execute(f"PRAGMA table_info({qt})")}
        geom_row = con.execute(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
        ).fetchone()
        geom_col, srs_id = (str(geom_row[0]), int(geom_row[1])) if geom_row else (None, 0)
        before = con.execute("SELECT last_change FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone()
        stamp_before = str(before[0]) if before else None
        frame_geom = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
        attrs = [str(c) for c in frame.columns if c != frame_geom and c != _VERSION]
        for c in attrs:
            if c not in decl:
                t = gpkg_sql.sql_type(frame[c])
                log.info("%s: adding column %s %s to layer '%s'", self.path, c, t, layer)
                con.execute(f"ALTER TABLE {qt} ADD COLUMN {_q(c)} {t}")
                decl[c] = t
        _ensure_indexes(con, layer, decl)
        # rows leaving the layer: remember their keys, to refuse orphans after the inserts
        temp = ""
        deleted = 0
        if ch.mode in ("replace_all", "replace_parks"):
            where = ""
            if ch.mode == "replace_parks":
                if str(Col.PARK_ID) not in decl:
                    raise StoreError(f"{self.path} layer '{layer}' has no park_id; it can only be replaced whole")
                if not ch.parks:
                    where = "WHERE 0"
                else:
                    _temp_values(con, "kcn_scope", list(ch.parks))
                    where = f"WHERE {_q(str(Col.PARK_ID))} IN (SELECT k FROM temp.kcn_scope)"
            if key and key in decl:
                temp = f"kcn_removed_{layer}"
                con.execute(f"DROP TABLE IF EXISTS temp.{_q(temp)}")
                con.execute(f"CREATE TEMP TABLE {_q(temp)} (k PRIMARY KEY) WITHOUT ROWID")
                con.execute(
                    f"INSERT OR IGNORE INTO temp.{_q(temp)} SELECT {_q(key)} FROM {qt} {where} "
                    f"AND {_q(key)} IS NOT NULL"
                    if where
                    else f"INSERT OR IGNORE INTO temp.{_q(temp)} SELECT {_q(key)} FROM {qt} WHERE {_q(key)} IS NOT NULL"
                )
            deleted = con.execute(f"DELETE FROM {qt} {where}").rowcount
        elif key and key in frame.columns and len(frame):
            _temp_values(con, "kcn_incoming", frame[key].tolist())
            clash = [
                r[0]
                for r in con.execute(
                    f"SELECT {_q(key)} FROM {qt} WHERE {_q(key)} IN (SELECT k FROM temp.kcn_incoming) LIMIT 11"
                )
            ]
            if clash:
                raise ConcurrencyError(
                    f"{self.path} layer '{layer}': {key} {', '.join(repr(k) for k in clash[:10])}"
                    f"{' ...' if len(clash) > 10 else ''} already stored; another program added them since this one "
                    "read the atlas. Nothing was written. Run the command again: it will list them as duplicates."
                )
        # insert
        versioned = _VERSION in decl and layer in {str(x) for x in VERSIONED_LAYERS}
        spatial = geom_col is not None and frame_geom is not None
        cols = attrs + ([_VERSION] if versioned else []) + ([str(geom_col)] if spatial else [])

        def block(i: int, j: int) -> list[list[Any]]:
            """The SQL values of rows i..j-1, column by column (built per block: see :func:`_insert`)."""
            part = frame.iloc[i:j]
            values = [gpkg_sql.column_values(part[c], decl[c]) for c in attrs]
            if versioned:
                values.append([token] * len(part))
            if spatial:
                values.append(gpkg_sql.geometry_blobs(np.asarray(part.geometry.values), srs_id))
            return values

        if len(frame) and cols:
            _insert(con, layer, cols, block, len(frame), frame if spatial else None)
        if temp:
            con.execute(f"DELETE FROM temp.{_q(temp)} WHERE k IN (SELECT {_q(key or '')} FROM {qt})")
        _touch_contents(con, layer, geom_col, frame if frame_geom else None, stamp, grew_only=ch.mode == "append")
        return WriteResult(layer, inserted=len(frame), deleted=int(deleted), stamp_before=stamp_before), temp

    @staticmethod
    def _write_one(target: Path, name: str, frame: pd.DataFrame, *, append_layer: bool = False, **extra: Any) -> None:
        kwargs: dict[str, Any] = {"layer": name, "driver": "GPKG", "use_arrow": True}
        if not append_layer:
            kwargs["layer_options"] = {"OVERWRITE": "YES"}
        if isinstance(frame, gpd.GeoDataFrame):
            kwargs["promote_to_multi"] = False
            if len(frame) == 0:
                kwargs["geometry_type"] = "Unknown"
        else:
            frame = pd.DataFrame(frame)
        kwargs.update(extra)
        pyogrio.write_dataframe(frame, target, **kwargs)

    def layer_stamp(self, layer: str) -> str | None:
        """The layer's ``gpkg_contents.last_change``: GDAL updates it whenever the layer is edited."""
        if not self.path.exists():
            return None
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            row = con.execute("SELECT last_change FROM gpkg_contents WHERE table_name = ?", (layer,)).fetchone()
        return str(row[0]) if row else None

    @staticmethod
    def _write_meta(target: Path, meta: Mapping[str, str]) -> None:
        """Write the meta table of a file being created (resolving the validated-on-write markers)."""
        with contextlib.closing(sqlite3.connect(target)) as con:
            stamps = dict(con.execute("SELECT table_name, last_change FROM gpkg_contents"))
        meta = {
            k: (str(stamps.get(k.removeprefix(VALIDATED_PREFIX), "")) if v == VALIDATED_PENDING else v)
            for k, v in meta.items()
        }
        frame = pd.DataFrame({"key": list(meta), "value": list(meta.values())})
        pyogrio.write_dataframe(frame, target, layer=META_TABLE, driver="GPKG", layer_options={"OVERWRITE": "YES"})

    def append_rows(self, layer: str, frame: pd.DataFrame) -> int:
        """Append rows to an existing attribute table in a single SQLite transaction.

        Rows whose key is already stored (or repeated in ``frame``) are skipped;
        returns the number of rows inserted.
        """
        self.check_writable()
        if layer not in self.list_layers():
            raise StoreError(f"{self.path}: cannot append to missing layer '{layer}'")
        cols = list(frame.columns)
        key = spec(layer).key
        with _lock(self.path), contextlib.closing(gpkg_sql.connect(self.path)) as con:
            table_cols = {str(r[1]): str(r[2] or "TEXT") for r in con.execute(f'PRAGMA table_info("{layer}")')}
            unknown = [c for c in cols if c not in table_cols]
            if unknown:
                raise StoreError(
                    f"{self.path} layer '{layer}' has no column(s) {', '.join(unknown)}; "
                    "migrate the atlas (kcn-gis validate shows its schema version)"
                )
            # values as GDAL stores them for each declared type (DATE, DATETIME as ISO text ...)
            columns = [gpkg_sql.column_values(frame[c], table_cols[c]) for c in cols]
            records = list(zip(*columns, strict=True)) if columns else []
            placeholders = ", ".join("?" for _ in cols)
            col_sql = ", ".join(f'"{c}"' for c in cols)
            with _transaction(self.path, con):
                if key is not None and key in cols:
                    kpos = cols.index(key)
                    _temp_values(con, "kcn_incoming", [rec[kpos] for rec in records])
                    seen = {
                        r[0]
                        for r in con.execute(
                            f'SELECT "{key}" FROM "{layer}" WHERE "{key}" IN (SELECT k FROM temp.kcn_incoming)'
                        )
                    }
                    fresh = []
                    for rec in records:
                        if rec[kpos] not in seen:
                            seen.add(rec[kpos])
                            fresh.append(rec)
                    if len(fresh) < len(records):
                        log.info(
                            "%s: %d row(s) of %s already stored; skipped", self.path, len(records) - len(fresh), layer
                        )
                    records = fresh
                con.executemany(f'INSERT INTO "{layer}" ({col_sql}) VALUES ({placeholders})', records)
                con.execute(
                    "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?",
                    (_now_stamp(con), layer),
                )
        return len(records)

    def update_rows(self, layer: str, rows: pd.DataFrame, expected: Mapping[Any, int]) -> dict[Any, int]:
        """Update rows by key if their stored version equals ``expected``; one SQLite transaction, in place.

        Returns the new version of each key. A row changed by someone else since it was
        read raises :class:`ConcurrencyError` and nothing is written.
        """
        from kcn_gis.store.postgis import _check_versions  # shared check; no psycopg needed

        self.check_writable()
        s = spec(layer)
        key = s.key
        assert key is not None
        keys = rows[key].tolist()
        qt = _q(layer)
        with _lock(self.path):
            con = gpkg_sql.connect(self.path)
            try:
                with _transaction(self.path, con):
                    decl = {str(r[1]): str(r[2] or "TEXT") for r in con.execute(f"PRAGMA table_info({qt})")}
                    _temp_values(con, "kcn_incoming", keys)
                    has_v = _VERSION in decl
                    stored = {
                        k: int(v or 0)
                        for k, v in con.execute(
                            f"SELECT {_q(key)}, {_q(_VERSION) if has_v else '0'} FROM {qt} "
                            f"WHERE {_q(key)} IN (SELECT k FROM temp.kcn_incoming)"
                        )
                    }
                    _check_versions(str(self.path), layer, key, keys, stored, expected)
                    meta = {str(k): str(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}")}
                    token = int(meta.get(ROW_VERSION_KEY, 0) or 0) + 1
                    geom_row = con.execute(
                        "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?", (layer,)
                    ).fetchone()
                    frame_geom = rows.geometry.name if isinstance(rows, gpd.GeoDataFrame) else None
                    cols: list[str] = []
                    values: list[list[Any]] = []
                    for c in rows.columns:
                        if c in (key, _VERSION, frame_geom):
                            continue
                        if c not in decl:
                            t = gpkg_sql.sql_type(rows[c])
                            con.execute(f"ALTER TABLE {qt} ADD COLUMN {_q(str(c))} {t}")
                            decl[str(c)] = t
                        cols.append(str(c))
                        values.append(gpkg_sql.column_values(rows[c], decl[str(c)]))
                    if frame_geom is not None and geom_row is not None:
                        cols.append(str(geom_row[0]))
                        values.append(gpkg_sql.geometry_blobs(np.asarray(rows.geometry.values), int(geom_row[1])))
                    if not has_v:
                        con.execute(f"ALTER TABLE {qt} ADD COLUMN {_q(_VERSION)} INTEGER")
                    sets = ", ".join([f"{_q(c)} = ?" for c in cols] + [f"{_q(_VERSION)} = ?"])
                    params = (
                        [(*vals, token, k) for vals, k in zip(zip(*values, strict=True), keys, strict=True)]
                        if cols
                        else [(token, k) for k in keys]
                    )
                    con.executemany(f"UPDATE {qt} SET {sets} WHERE {_q(key)} = ?", params)
                    stamp = _now_stamp(con)
                    _touch_contents(con, layer, geom_row[0] if geom_row and frame_geom else None, None, stamp)
                    mk = f"{VALIDATED_PREFIX}{layer}"
                    before = con.execute("SELECT value FROM " + META_TABLE + " WHERE key = ?", (mk,)).fetchone()
                    _upsert_meta(
                        con, {ROW_VERSION_KEY: str(token), mk: ""} if before else {ROW_VERSION_KEY: str(token)}, stamp
                    )
            finally:
                con.close()
                self._layers = None
        return dict.fromkeys(keys, token)

    @contextlib.contextmanager
    def lock(self, layer: str) -> Iterator[None]:
        """Hold the atlas's exclusive file lock (the GeoPackage is locked as a whole)."""
        with _lock(self.path):
            self._layers = None
            yield


@dataclasses.dataclass(frozen=True)
class _Change:
    layer: str
    frame: pd.DataFrame
    mode: str  # "append", "replace_parks" or "replace_all"
    parks: tuple[str, ...] = ()
    validated: bool = True


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _with_versions(frame: pd.DataFrame, versions: np.ndarray) -> pd.DataFrame:
    frame = frame.drop(columns=[_VERSION], errors="ignore")
    frame = frame.assign(**{_VERSION: pd.array(versions, dtype="Int64")})
    if isinstance(frame, gpd.GeoDataFrame):  # keep the geometry the last column
        geom = frame.geometry.name
        frame = frame[[c for c in frame.columns if c != geom] + [geom]]
    return frame


def _recover(path: Path) -> None:
    """Roll back what a killed writer left (a hot rollback journal), so that read-only opens work again.

    SQLite does this on the first read-write open; read-only readers (GDAL, ``mode=ro``) cannot.
    """
    journal = path.with_name(path.name + "-journal")
    try:
        hot = journal.exists() and journal.stat().st_size > 0
    except OSError:
        return
    if not hot or not os.access(path, os.W_OK) or not os.access(path.parent, os.W_OK):
        return
    with contextlib.suppress(sqlite3.Error), contextlib.closing(gpkg_sql.connect(path)) as con:
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        log.info("%s: rolled back an interrupted write", path)


def _refuse_bundled(path: Path) -> None:
    from kcn_gis.bundled import atlas_path as bundled_atlas_path

    bundled = bundled_atlas_path()
    try:
        same = path.exists() and bundled.exists() and os.path.samefile(path, bundled)
    except OSError:
        same = False
    if same:
        raise StoreError(
            f"{path} is the bundled demo atlas, which is read-only. Copy it first (cp {path} my_atlas.gpkg) and "
            "pass --atlas my_atlas.gpkg (or open_atlas('my_atlas.gpkg') in Python)."
        )


@contextlib.contextmanager
def _transaction(path: Path, con: sqlite3.Connection) -> Iterator[None]:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` on ``con``; rolled back on any error, SQLite lock errors as StoreError."""
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise _sqlite_error(path, exc) from exc
    try:
        yield
        con.execute("COMMIT")
    except BaseException as exc:
        with contextlib.suppress(sqlite3.Error):
            con.execute("ROLLBACK")
        if isinstance(exc, sqlite3.OperationalError):
            raise _sqlite_error(path, exc) from exc
        raise


def _sqlite_error(path: Path, exc: sqlite3.OperationalError) -> StoreError:
    text = str(exc).lower()
    if "locked" in text or "busy" in text:
        return gpkg_sql.locked_error(path, exc)
    if "readonly" in text or "read-only" in text:
        return StoreError(f"{path} is read-only for this process ({exc}); nothing was written.")
    return StoreError(f"{path}: the write failed and was rolled back, nothing was written ({exc})")


def _now_stamp(con: sqlite3.Connection) -> str:
    """A ``last_change`` stamp as GDAL writes it, strictly later than any stamp in ``gpkg_contents``."""
    now = _dt.datetime.now(_dt.UTC).replace(tzinfo=None)
    latest = con.execute("SELECT max(last_change) FROM gpkg_contents").fetchone()[0]
    if latest:
        with contextlib.suppress(ValueError):
            prev = _dt.datetime.fromisoformat(str(latest).rstrip("Z"))
            if now <= prev:
                now = prev + _dt.timedelta(milliseconds=1)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _temp_values(con: sqlite3.Connection, name: str, values: Sequence[Any]) -> None:
    con.execute(f"DROP TABLE IF EXISTS temp.{_q(name)}")
    con.execute(f"CREATE TEMP TABLE {_q(name)} (k PRIMARY KEY) WITHOUT ROWID")
    con.executemany(
        f"INSERT OR IGNORE INTO temp.{_q(name)} VALUES (?)", ((_sql_value(v),) for v in values if not _isna(v))
    )


def _isna(v: Any) -> bool:
    return v is None or (not isinstance(v, str) and bool(pd.isna(v)))


def _ensure_indexes(con: sqlite3.Connection, layer: str, decl: Mapping[str, str]) -> None:
    """Index the layer's key and ``park_id``, so id checks and scoped replaces cost what they touch."""
    key = spec(layer).key
    for col in (key, str(Col.PARK_ID)):
        if col and col in decl:
            con.execute(f"CREATE INDEX IF NOT EXISTS {_q(f'{layer}_{col}_idx')} ON {_q(layer)} ({_q(col)})")


#: From this many rows on, an insert fills the R-tree itself instead of through GDAL's per-row trigger.
_BULK_RTREE_ROWS = 500


#: Rows turned into SQL values at a time: a large import never holds a Python object per cell of the whole layer.
_INSERT_BLOCK_ROWS = 10_000


def _insert(
    con: sqlite3.Connection,
    layer: str,
    cols: list[str],
    block: Callable[[int, int], list[list[Any]]],
    n: int,
    spatial: pd.DataFrame | None,
) -> None:
    """Insert ``n`` rows (inside the caller's transaction), keeping the layer's R-tree in step.

    ``block(i, j)`` gives the values of rows ``i..j-1`` column by column; rows are inserted a block at a
    time, all in the caller's one transaction, so that memory stays flat however large the write.

    Small inserts go through GDAL's R-tree insert trigger (its ``ST_*`` functions are registered on
    the connection). Large ones drop that trigger, insert the rows with explicit ids, fill the R-tree
    from the geometries' bounds, and create the trigger again with its original SQL (the same for
    GDAL's per-row feature count trigger, whose count is raised once): all in the same transaction,
    so other programs only ever see the triggers in place.
    """
    qt = _q(layer)
    geom_col = cols[-1] if spatial is not None else None
    rtree = f"rtree_{layer}_{geom_col}"
    trigger = (
        con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (f"{rtree}_insert",)
        ).fetchone()
        if spatial is not None and n >= _BULK_RTREE_ROWS
        else None
    )
    pk = next((str(r[1]) for r in con.execute(f"PRAGMA table_info({qt})") if r[5] == 1), None)
    blocks = [(i, min(i + _INSERT_BLOCK_ROWS, n)) for i in range(0, n, _INSERT_BLOCK_ROWS)]
    if trigger is None or pk is None:
        sql = f"INSERT INTO {qt} ({', '.join(_q(c) for c in cols)}) VALUES ({', '.join('?' for _ in cols)})"
        for i, j in blocks:
            con.executemany(sql, zip(*block(i, j), strict=True))
        return
    assert spatial is not None
    top = con.execute(f"SELECT coalesce(max({_q(pk)}), 0) FROM {qt}").fetchone()[0]
    with contextlib.suppress(sqlite3.OperationalError):  # AUTOINCREMENT never reuses an id: respect its counter
        seq = con.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (layer,)).fetchone()
        if seq is not None:
            top = max(int(top), int(seq[0]))
    fids = np.arange(int(top) + 1, int(top) + 1 + n, dtype="int64")
    con.execute(f"DROP TRIGGER {_q(str(trigger[0]))}")
    # GDAL's feature count trigger updates gpkg_ogr_contents once per row: once for all rows instead
    counter = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name = ?",
        (f"trigger_insert_feature_count_{layer}",),
    ).fetchone()
    if counter is not None:
        con.execute(f"DROP TRIGGER {_q(str(counter[0]))}")
    sql = (
        f"INSERT INTO {qt} ({_q(pk)}, {', '.join(_q(c) for c in cols)}) "
        f"VALUES ({', '.join('?' for _ in range(len(cols) + 1))})"
    )
    for i, j in blocks:
        con.executemany(sql, zip(fids[i:j].tolist(), *block(i, j), strict=True))
    g = np.asarray(spatial.geometry.values)
    ok = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    b = shapely.bounds(g[ok])
    ids = fids[ok]
    if gpkg_rtree.should_rebuild(con, rtree, len(ids), at_least=_BULK_RTREE_ROWS):
        gpkg_rtree.bulk_fill(con, rtree, ids, b)  # packed in SQLite's format: ~10x faster than row by row
    else:
        for i in range(0, len(ids), _INSERT_BLOCK_ROWS):
            k = slice(i, i + _INSERT_BLOCK_ROWS)
            con.executemany(
                f"INSERT INTO {_q(rtree)} VALUES (?, ?, ?, ?, ?)",
                zip(
                    ids[k].tolist(),
                    b[k, 0].tolist(),
                    b[k, 2].tolist(),
                    b[k, 1].tolist(),
                    b[k, 3].tolist(),
                    strict=True,
                ),
            )
    con.execute(str(trigger[1]))
    if counter is not None:
        con.execute(
            "UPDATE gpkg_ogr_contents SET feature_count = feature_count + ? WHERE lower(table_name) = lower(?)",
            (n, layer),
        )
        con.execute(str(counter[1]))


def _touch_contents(
    con: sqlite3.Connection,
    layer: str,
    geom_col: str | None,
    added: pd.DataFrame | None,
    stamp: str,
    *,
    grew_only: bool = False,
) -> None:
    """Set ``last_change`` and keep the extent in ``gpkg_contents`` covering every geometry of the layer."""
    con.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (stamp, layer))
    if geom_col is None:
        return
    rtree = f"rtree_{layer}_{geom_col}"
    has_rtree = con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (rtree,)).fetchone() is not None
    if grew_only or not has_rtree:
        if added is None or not len(added):
            return
        g = np.asarray(added.geometry.values)
        ok = ~shapely.is_missing(g) & ~shapely.is_empty(g)
        if not ok.any():
            return
        b = shapely.bounds(g[ok])
        new = (float(np.min(b[:, 0])), float(np.min(b[:, 1])), float(np.max(b[:, 2])), float(np.max(b[:, 3])))
        con.execute(
            "UPDATE gpkg_contents SET min_x = min(coalesce(min_x, ?), ?), min_y = min(coalesce(min_y, ?), ?), "
            "max_x = max(coalesce(max_x, ?), ?), max_y = max(coalesce(max_y, ?), ?) WHERE table_name = ?",
            (new[0], new[0], new[1], new[1], new[2], new[2], new[3], new[3], layer),
        )
        return
    ext = con.execute(f"SELECT min(minx), min(miny), max(maxx), max(maxy) FROM {_q(rtree)}").fetchone()
    if ext and ext[0] is not None:
        con.execute(
            "UPDATE gpkg_contents SET min_x = ?, min_y = ?, max_x = ?, max_y = ? WHERE table_name = ?", (*ext, layer)
        )


def _upsert_meta(con: sqlite3.Connection, entries: Mapping[str, str], stamp: str) -> None:
    for k, v in entries.items():
        con.execute(f"DELETE FROM {META_TABLE} WHERE key = ?", (k,))
        con.execute(f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?)", (k, str(v)))
    con.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (stamp, META_TABLE))


def _refuse_orphans(con: sqlite3.Connection, path: Path, removed: Mapping[str, str]) -> None:
    """Raise when rows that other layers still refer to left their layer in this transaction."""
    tables = {str(r[0]) for r in con.execute("SELECT table_name FROM gpkg_contents")}
    found = []
    for child, fk, parent, pk in REFERENCES:
        temp = removed.get(str(parent))
        if not temp or str(child) not in tables:
            continue
        ckey = spec(child).key or "fid"
        cols = {str(r[1]) for r in con.execute(f"PRAGMA table_info({_q(str(child))})")}
        if str(fk) not in cols:
            continue
        sql = f"FROM {_q(str(child))} WHERE {_q(str(fk))} IN (SELECT k FROM temp.{_q(temp)})"
        n = con.execute(f"SELECT count(*) {sql}").fetchone()[0]
        if not n:
            continue
        examples = con.execute(f"SELECT {_q(ckey)}, {_q(str(fk))} {sql} LIMIT 5").fetchall()
        gone = con.execute(f"SELECT count(DISTINCT {_q(str(fk))}) {sql}").fetchone()[0]
        found.append((str(child), int(n), int(gone), str(parent), str(pk), examples))
    if found:
        raise orphan_error(str(path), found)


def _sqlite_condition(column: str, value: Any) -> str:
    """An SQLite condition ``"column" = 'value'`` with the identifier and values quoted safely."""
    ident = '"' + str(column).replace('"', '""') + '"'
    if isinstance(value, str) or not isinstance(value, list | tuple | set | np.ndarray | pd.Series | pd.Index):
        lit = _sqlite_literal(value)
        return f"{ident} IS NULL" if lit == "NULL" else f"{ident} = {lit}"
    items = [_sqlite_literal(v) for v in value]
    if not items:
        return "0"
    return f"{ident} IN ({', '.join(items)})"


def _sqlite_literal(value: Any) -> str:
    v = _sql_value(value)
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, int | float):
        return repr(v)
    text = str(v)
    if "\x00" in text:
        raise StoreError("a filter value contains a NUL character")
    return "'" + text.replace("'", "''") + "'"


def _sql_value(v: Any) -> Any:
    """Convert a pandas value to what GDAL's GeoPackage driver stores for the same field type."""
    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%dT%H:%M:%S.") + f"{v.microsecond // 1000:03d}Z"
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v
