"""GeoPackage backend: the embedded default store.

* Reads go through pyogrio with Arrow, and use the GeoPackage R-tree for
  ``bbox`` filters.
* Whole-layer writes are atomic: the new atlas is written to a temporary file
  beside the old one, flushed to disk and moved over it with ``os.replace``.
  A writer that dies midway leaves the previous atlas untouched.
* Appends to attribute tables (the clearance history) are one SQLite
  transaction, so they are atomic without rewriting the file.
* Writers take an exclusive advisory lock (``<atlas>.lock``), so two writers on
  one machine never interleave.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import sqlite3
import uuid
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from kcn_gis.errors import StoreError

__all__ = ["META_TABLE", "GeoPackageBackend"]

log = logging.getLogger(__name__)

#: Attribute table holding ``schema_version``, ``crs`` and other atlas metadata.
META_TABLE = "kcn_gis_meta"


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
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
    ) -> pd.DataFrame | gpd.GeoDataFrame:
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
            tmp = self.path.with_name(f".{self.path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp.gpkg")
            try:
                if self.path.exists():
                    shutil.copyfile(self.path, tmp)
                for name, frame in layers.items():
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

    @staticmethod
    def _write_meta(target: Path, meta: Mapping[str, str]) -> None:
        existing: dict[str, str] = {}
        if META_TABLE in {str(n) for n, _ in pyogrio.list_layers(target)}:
            with contextlib.closing(sqlite3.connect(target)) as con:
                existing = {str(k): str(v) for k, v in con.execute(f"SELECT key, value FROM {META_TABLE}")}
        existing.update(meta)
        frame = pd.DataFrame({"key": list(existing), "value": list(existing.values())})
        pyogrio.write_dataframe(frame, target, layer=META_TABLE, driver="GPKG", layer_options={"OVERWRITE": "YES"})

    def append_rows(self, layer: str, frame: pd.DataFrame) -> None:
        """Append rows to an existing attribute table in a single SQLite transaction."""
        if layer not in self.list_layers():
            raise StoreError(f"{self.path}: cannot append to missing layer '{layer}'")
        cols = list(frame.columns)
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
                con.executemany(f'INSERT INTO "{layer}" ({col_sql}) VALUES ({placeholders})', records)
                con.execute(
                    "UPDATE gpkg_contents SET last_change = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE table_name = ?",
                    (layer,),
                )
                con.execute("COMMIT")
            except BaseException:
                con.rollback()
                raise


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
