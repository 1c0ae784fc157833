"""GeoPackage backend: the embedded default store.

* Reads go through pyogrio with Arrow, and use the GeoPackage R-tree for
  ``bbox`` filters.
* Whole-layer writes are atomic: the new atlas is written to a temporary file
  beside the old one, flushed to disk and moved over it with ``os.replace``.
  A writer that dies midway leaves the previous atlas untouched.
* Appends to attribute tables (the clearance history) are one SQLite
  transaction, so they are atomic without rewriting the file.
* Appends are idempotent on the key (a stored ``event_id`` is skipped).
* Writers take an exclusive advisory lock (``<atlas>.lock``), so two writers on
  one machine never interleave. The lock is re-entrant within a process, so
  :meth:`GeoPackageBackend.lock` can wrap a read-validate-append sequence.
* Plots carry a ``version`` column (see :meth:`kcn_gis.store.base.Atlas.edit`):
  every write stamps the rows it writes with a new version, taken from the
  counter ``row_version`` in ``kcn_gis_meta``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sqlite3
import threading
import uuid
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from kcn_gis.errors import StoreError
from kcn_gis.schema import Col, spec
from kcn_gis.store.base import (
    VALIDATED_PENDING,
    VALIDATED_PREFIX,
    VERSIONED_LAYERS,
    coerce_layer,
    prepare_for_write,
)

__all__ = ["META_TABLE", "ROW_VERSION_KEY", "GeoPackageBackend"]

log = logging.getLogger(__name__)

#: Attribute table holding ``schema_version``, ``crs`` and other atlas metadata.
META_TABLE = "kcn_gis_meta"
#: Meta key holding the last row version handed out in this GeoPackage.
ROW_VERSION_KEY = "row_version"
_VERSION = str(Col.VERSION)

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
    """

    def __init__(self, path: str | os.PathLike[str], *, create: bool = False) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        if not create and not self.path.exists():
            raise StoreError(
                f"atlas {self.path} does not exist. Check the path, or create one with "
                "kcn_gis.write_atlas(path, layers) or kcn-gis import."
            )
        self._layers: dict[str, str | None] | None = None

    #: Equality ``filters`` are turned into a quoted SQLite condition by this backend.
    supports_filters = True

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
    ) -> pd.DataFrame | gpd.GeoDataFrame:
        if filters:
            cond = " AND ".join(_sqlite_condition(c, v) for c, v in filters.items())
            where = f"({where}) AND {cond}" if where else cond
        if columns is not None and layer in {str(x) for x in VERSIONED_LAYERS}:
            fields = set(pyogrio.read_info(self.path, layer=layer)["fields"])
            if _VERSION in fields and _VERSION not in columns:
                columns = [*columns, _VERSION]
        try:
            with warnings.catch_warnings():
                # GDAL warns on measured/3D geometries or odd field types; surface them as log lines.
                warnings.simplefilter("ignore", RuntimeWarning)
                return pyogrio.read_dataframe(
                    self.path, layer=layer, bbox=bbox, where=where, columns=columns, use_arrow=True
                )
        except Exception as exc:
            raise StoreError(f"{self.path} layer '{layer}' cannot be read: {exc}") from exc

    def read_meta(self) -> dict[str, str]:
        if META_TABLE not in self.list_layers():
            return {}
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            return {str(k): str(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}")}

    # -- writing ---------------------------------------------------------------------------------------
    def write_layers(self, layers: Mapping[str, pd.DataFrame], meta: Mapping[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock(self.path):
            self._layers = None
            token = int(self.read_meta().get(ROW_VERSION_KEY, 0)) + 1
            versions = {
                name: np.full(len(frame), token, dtype="int64")
                for name, frame in layers.items()
                if name in {str(x) for x in VERSIONED_LAYERS}
            }
            self._write_locked(layers, {**meta, ROW_VERSION_KEY: str(token)}, versions)

    def _write_locked(
        self, layers: Mapping[str, pd.DataFrame], meta: Mapping[str, str], versions: Mapping[str, np.ndarray]
    ) -> None:
        """Copy the atlas, write ``layers`` (with their row versions) and ``meta`` into the copy, move it over."""
        tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
        try:
            if self.path.exists():
                shutil.copyfile(self.path, tmp)
            for name, frame in layers.items():
                if name in versions:
                    frame = frame.drop(columns=[_VERSION], errors="ignore")
                    frame = frame.assign(**{_VERSION: pd.array(versions[name], dtype="Int64")})
                    if isinstance(frame, gpd.GeoDataFrame):  # keep the geometry the last column
                        geom = frame.geometry.name
                        frame = frame[[c for c in frame.columns if c != geom] + [geom]]
                self._write_one(tmp, name, frame)
            self._write_meta(tmp, meta)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            _fsync_dir(self.path.parent)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        finally:
            self._layers = None

    @staticmethod
    def _write_one(target: Path, name: str, frame: pd.DataFrame) -> None:
        kwargs: dict[str, Any] = {
            "layer": name,
            "driver": "GPKG",
            "use_arrow": True,
            "layer_options": {"OVERWRITE": "YES"},
        }
        if isinstance(frame, gpd.GeoDataFrame):
            kwargs["promote_to_multi"] = False
            if len(frame) == 0:
                kwargs["geometry_type"] = "Unknown"
        else:
            frame = pd.DataFrame(frame)
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
        existing: dict[str, str] = {}
        with contextlib.closing(sqlite3.connect(target)) as con:
            if META_TABLE in {str(n) for n, _ in pyogrio.list_layers(target)}:
                existing = {str(k): str(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}")}
            stamps = dict(con.execute("SELECT table_name, last_change FROM gpkg_contents"))
        meta = {
            k: (str(stamps.get(k.removeprefix(VALIDATED_PREFIX), "")) if v == VALIDATED_PENDING else v)
            for k, v in meta.items()
        }
        existing.update(meta)
        frame = pd.DataFrame({"key": list(existing), "value": list(existing.values())})
        pyogrio.write_dataframe(frame, target, layer=META_TABLE, driver="GPKG", layer_options={"OVERWRITE": "YES"})

    def append_rows(self, layer: str, frame: pd.DataFrame) -> int:
        """Append rows to an existing attribute table in a single SQLite transaction.

        Rows whose key is already stored (or repeated in ``frame``) are skipped;
        returns the number of rows inserted.
        """
        if layer not in self.list_layers():
            raise StoreError(f"{self.path}: cannot append to missing layer '{layer}'")
        cols = list(frame.columns)
        key = spec(layer).key
        records = [tuple(_sql_value(v) for v in row) for row in frame.itertuples(index=False, name=None)]
        with _lock(self.path), contextlib.closing(sqlite3.connect(self.path, timeout=60)) as con:
            table_cols = {r[1] for r in con.execute(f'PRAGMA table_info("{layer}")')}
            unknown = [c for c in cols if c not in table_cols]
            if unknown:
                raise StoreError(
                    f"{self.path} layer '{layer}' has no column(s) {', '.join(unknown)}; "
                    "migrate the atlas (kcn-gis validate shows its schema version)"
                )
            placeholders = ", ".join("?" for _ in cols)
            col_sql = ", ".join(f'"{c}"' for c in cols)
            try:
                con.execute("BEGIN IMMEDIATE")
                if key is not None and key in cols:
                    kpos = cols.index(key)
                    seen = {r[0] for r in con.execute(f'SELECT "{key}" FROM "{layer}"')}
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
                    "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
                    (layer,),
                )
                con.execute("COMMIT")
            except BaseException:
                con.rollback()
                raise
        return len(records)

    def update_rows(self, layer: str, rows: pd.DataFrame, expected: Mapping[Any, int]) -> dict[Any, int]:
        """Replace rows by key if their stored version equals ``expected``; atomic, under the atlas lock.

        The layer is rewritten like any GeoPackage write (copy, write, move), so a
        crash midway leaves the previous atlas. Returns the new version of each key.
        """
        from kcn_gis.store.postgis import _check_versions  # shared check; no psycopg needed

        s = spec(layer)
        key = s.key
        assert key is not None
        with _lock(self.path):
            self._layers = None
            raw = self.read_layer(layer)
            stored_v = (
                pd.to_numeric(raw[_VERSION]).fillna(0).astype("int64").to_numpy()
                if _VERSION in raw.columns
                else np.zeros(len(raw), dtype="int64")
            )
            keys = rows[key].tolist()
            position = {k: i for i, k in enumerate(raw[key].tolist())}
            stored = {k: int(stored_v[position[k]]) for k in keys if k in position}
            _check_versions(self.location, layer, key, keys, stored, expected)
            current = prepare_for_write(s, coerce_layer(s, raw.drop(columns=[_VERSION], errors="ignore")))
            pos = np.array([position[k] for k in keys], dtype="int64")
            for col in rows.columns:
                if col == key:
                    continue
                if isinstance(rows, gpd.GeoDataFrame) and col == rows.geometry.name:
                    geoms = np.asarray(current.geometry.values, dtype=object).copy()
                    geoms[pos] = np.asarray(rows.geometry.values, dtype=object)
                    current = current.set_geometry(gpd.GeoSeries(geoms, index=current.index, crs=current.crs))
                    continue
                if col not in current.columns:
                    current[col] = pd.Series([None] * len(current), index=current.index, dtype=rows[col].dtype)
                values = current[col].astype(object).to_numpy(copy=True)
                values[pos] = rows[col].astype(object).to_numpy()
                try:
                    current[col] = pd.Series(values, index=current.index).astype(current[col].dtype)
                except (TypeError, ValueError):
                    current[col] = pd.Series(values, index=current.index).astype(rows[col].dtype)
            token = int(self.read_meta().get(ROW_VERSION_KEY, 0)) + 1
            new_v = stored_v.copy()
            new_v[pos] = token
            self._write_locked({layer: current}, {ROW_VERSION_KEY: str(token)}, {layer: new_v})
        return dict.fromkeys(keys, token)

    @contextlib.contextmanager
    def lock(self, layer: str) -> Iterator[None]:
        """Hold the atlas's exclusive file lock (the GeoPackage is locked as a whole)."""
        with _lock(self.path):
            self._layers = None
            yield


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
