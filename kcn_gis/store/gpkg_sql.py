"""Low-level pieces of in-place GeoPackage writes through Python's :mod:`sqlite3`.

* :func:`connect` opens the existing file (never creating, copying or moving it) with a
  busy timeout, and registers the SQL functions that GDAL's R-tree triggers call
  (``ST_IsEmpty``, ``ST_MinX`` ...), read from the GeoPackage geometry header.
* :func:`geometry_blobs` builds GeoPackage geometry blobs (header + ISO WKB) from
  shapely geometries, vectorised.
* :func:`column_values` converts a frame column to what GDAL's GeoPackage driver stores
  for the declared SQLite type (DATE and DATETIME as ISO text, BOOLEAN as 0/1).
* :func:`gpkg_version` is the GeoPackage version new atlases are written in (1.2, which
  the GDAL 3.6 of QGIS 3.22 reads without a warning), and :func:`ensure_layer_styles`
  adds the default QGIS styles of the layers (table ``layer_styles``, see
  :mod:`kcn_gis.layer_styles`) inside the caller's transaction.

See ``docs/write-model.md``.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from kcn_gis.errors import ConcurrencyError, StoreError
from kcn_gis.layer_styles import LAYER_STYLES_COLUMNS, LAYER_STYLES_TABLE, STYLED_LAYERS, style_rows

__all__ = [
    "BUSY_TIMEOUT_S",
    "DEFAULT_GPKG_VERSION",
    "GPKG_VERSIONS",
    "column_values",
    "connect",
    "ensure_layer_styles",
    "geometry_blobs",
    "gpkg_version",
    "locked_error",
    "sql_type",
]

#: Seconds a writer waits for another program's write lock before giving up (``KCN_GIS_BUSY_TIMEOUT``).
BUSY_TIMEOUT_S = 30.0

#: GeoPackage versions kcn_gis writes on request (GDAL's ``VERSION`` creation option).
GPKG_VERSIONS: tuple[str, ...] = ("1.2", "1.3", "1.4")
#: The default: GeoPackage 1.2. GDAL 3.6 (QGIS 3.22 on Debian 12) warns on 1.4 files
#: ("user_version=0x000028A0 ... may only be partially supported"); 1.2 has all kcn_gis needs.
DEFAULT_GPKG_VERSION = "1.2"
#: ``PRAGMA application_id`` of a GeoPackage 1.2+ ("GPKG").
APPLICATION_ID = 0x47504B47

_HEADER = np.dtype([("magic", "S2"), ("version", "u1"), ("flags", "u1"), ("srs_id", "<i4"), ("env", "<f8", (4,))])
_EMPTY_FLAG = 0x10


def busy_timeout() -> float:
    """The busy timeout in seconds (``KCN_GIS_BUSY_TIMEOUT`` overrides :data:`BUSY_TIMEOUT_S`)."""
    try:
        return float(os.environ.get("KCN_GIS_BUSY_TIMEOUT", BUSY_TIMEOUT_S))
    except ValueError:
        return BUSY_TIMEOUT_S


def locked_error(path: Path, exc: BaseException | None = None) -> ConcurrencyError:
    """The error raised when another program holds the write lock past the busy timeout."""
    return ConcurrencyError(
        f"{path} is locked: another program (QGIS, ogr2ogr, another kcn-gis) is writing to it and did not "
        f"finish within {busy_timeout():g} s. Nothing was written. Save or close the edits in the other program "
        "and run the command again (KCN_GIS_BUSY_TIMEOUT=SECONDS waits longer)."
        + (f" ({exc})" if exc is not None else "")
    )


def _envelope(blob: Any) -> tuple[float, float, float, float] | None:
    """``(minx, maxx, miny, maxy)`` of a GeoPackage geometry blob, from its header (or its WKB without one)."""
    if blob is None:
        return None
    b = bytes(blob)
    if len(b) < 8 or b[:2] != b"GP":
        return None
    flags = b[3]
    if flags & _EMPTY_FLAG:
        return None
    indicator = (flags >> 1) & 0x07
    order = "<" if flags & 0x01 else ">"
    if indicator:
        minx, maxx, miny, maxy = struct.unpack_from(f"{order}4d", b, 8)
        return minx, maxx, miny, maxy
    g = shapely.from_wkb(b[8:])
    if g is None or g.is_empty:
        return None
    x0, y0, x1, y1 = g.bounds
    return x0, x1, y0, y1


def _is_empty(blob: Any) -> int | None:
    if blob is None:
        return None
    b = bytes(blob)
    if len(b) < 8 or b[:2] != b"GP":
        return None
    if b[3] & _EMPTY_FLAG:
        return 1
    return 0 if _envelope(b) is not None else 1


def _part(i: int) -> Any:
    def fn(blob: Any) -> float | None:
        env = _envelope(blob)
        return None if env is None else env[i]

    return fn


def connect(path: Path, *, timeout: float | None = None) -> sqlite3.Connection:
    """Open the existing GeoPackage ``path`` for writing, in autocommit mode (transactions are explicit).

    The file must exist: ``mode=rw`` never creates it. The journal mode is left as the file has it.
    """
    try:
        con = sqlite3.connect(
            f"file:{path}?mode=rw",
            uri=True,
            timeout=busy_timeout() if timeout is None else timeout,
            isolation_level=None,
        )
    except sqlite3.OperationalError as exc:
        raise StoreError(f"{path} cannot be opened for writing: {exc}") from exc
    con.execute("PRAGMA cache_size = -8192")  # 8 MB (8192 KiB) for this connection: index and R-tree pages of big layers
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _part(i), deterministic=True)
    return con


def geometry_blobs(geoms: np.ndarray, srs_id: int) -> list[bytes | None]:
    """GeoPackage geometry blobs (standard header with an XY envelope, little-endian ISO WKB).

    Missing geometries give ``None`` (SQL NULL); empty ones a blob flagged empty, without envelope.
    """
    g = np.asarray(geoms, dtype=object)
    n = len(g)
    if n == 0:
        return []
    missing = shapely.is_missing(g)
    empty = ~missing & shapely.is_empty(g)
    wkb = shapely.to_wkb(g, byte_order=1, include_srid=False)
    header = np.zeros(n, dtype=_HEADER)
    header["magic"] = b"GP"
    header["srs_id"] = srs_id
    bounds = shapely.bounds(g)  # minx, miny, maxx, maxy
    header["env"] = bounds[:, [0, 2, 1, 3]]
    header["flags"] = np.where(empty, 0x01 | _EMPTY_FLAG, 0x03)
    full = header.tobytes()
    size = _HEADER.itemsize
    out: list[bytes | None] = []
    for i in range(n):
        if missing[i]:
            out.append(None)
        elif empty[i]:
            out.append(full[i * size : i * size + 8] + wkb[i])
        else:
            out.append(full[i * size : (i + 1) * size] + wkb[i])
    return out


def sql_type(s: pd.Series) -> str:
    """The GeoPackage column type GDAL would give a new column holding ``s``."""
    dtype = s.dtype
    if isinstance(dtype, pd.ArrowDtype):
        text = str(dtype.pyarrow_dtype)
        if text.startswith("date"):
            return "DATE"
        if text.startswith("timestamp"):
            return "DATETIME"
    if pd.api.types.is_bool_dtype(dtype):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(dtype):
        return "INTEGER"
    if pd.api.types.is_float_dtype(dtype):
        return "REAL"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "DATETIME"
    return "TEXT"


def _timestamps(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.ArrowDtype) or s.dtype == object:
        s = pd.to_datetime(pd.Series(s.astype(object), index=s.index), errors="raise", format="mixed")
    if getattr(s.dt, "tz", None) is not None:
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    return s


def column_values(s: pd.Series, decl: str) -> list[Any]:
    """Python values of ``s`` as GDAL stores them in a column declared ``decl`` (None for missing values)."""
    kind = decl.upper()
    na = s.isna().to_numpy()
    if kind == "DATE":
        text = _timestamps(s).dt.strftime("%Y-%m-%d")
    elif kind == "DATETIME":
        ts = _timestamps(s)
        base = ts.dt.strftime("%Y-%m-%dT%H:%M:%S")
        ms = (ts.dt.microsecond // 1000).fillna(0).astype("int64")
        frac = pd.Series(np.where(ms.to_numpy() > 0, "." + ms.astype(str).str.zfill(3), ""), index=s.index)
        text = base + frac
    elif kind in ("BOOLEAN", "INTEGER", "INT", "TINYINT", "SMALLINT", "MEDIUMINT", "BIGINT"):
        vals = s.astype(object).to_numpy()
        return [None if m else int(v) for v, m in zip(vals, na, strict=True)]
    elif kind in ("REAL", "FLOAT", "DOUBLE"):
        vals = s.astype(object).to_numpy()
        return [None if m else float(v) for v, m in zip(vals, na, strict=True)]
    else:
        vals = s.astype(object).to_numpy()
        # values are passed as they are: a value SQLite cannot store raises instead of being stringified
        return [None if m else v for v, m in zip(vals, na, strict=True)]
    out = text.astype(object).to_numpy()
    return [None if m else str(v) for v, m in zip(out, na, strict=True)]


def gpkg_version(requested: str | None = None) -> str:
    """The GeoPackage version to create a new file in: ``requested``, else ``$KCN_GIS_GPKG_VERSION``, else 1.2.

    Raises
    ------
    StoreError
        If the version is not one of :data:`GPKG_VERSIONS`.
    """
    value = requested if requested is not None else os.environ.get("KCN_GIS_GPKG_VERSION") or DEFAULT_GPKG_VERSION
    value = str(value).strip()
    if value not in GPKG_VERSIONS:
        where = "" if requested is not None else " (from KCN_GIS_GPKG_VERSION)"
        raise StoreError(
            f"GeoPackage version '{value}'{where} is not one kcn_gis writes; use one of {', '.join(GPKG_VERSIONS)} "
            f"(default {DEFAULT_GPKG_VERSION}, which QGIS 3.22 / GDAL 3.6 read without a warning)"
        )
    return value


_LAYER_STYLES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LAYER_STYLES_TABLE} ("
    '"id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, '
    '"f_table_catalog" TEXT(256), "f_table_schema" TEXT(256), "f_table_name" TEXT(256), '
    '"f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT, "styleSLD" TEXT, '
    '"useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30), '
    "\"update_time\" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
)


def ensure_layer_styles(con: sqlite3.Connection, layers: Sequence[str], *, stamp: str) -> list[str]:
    """Give each styled layer among ``layers`` its kcn_gis default style, unless it has a style already.

    Runs inside the caller's transaction (or as one statement group on a file being created):
    creates the table ``layer_styles`` as QGIS does (registered in ``gpkg_contents`` as an
    attributes table, so GDAL and QGIS see it) when missing, then inserts one row per styled
    layer that has no row at all, so a style a user saved from QGIS is never replaced.

    Parameters
    ----------
    con : sqlite3.Connection
        An open GeoPackage.
    layers : sequence of str
        Layer (table) names; those without a kcn_gis style are skipped.
    stamp : str
        ``update_time`` and ``last_change`` (ISO UTC, as GDAL writes them).

    Returns
    -------
    list of str
        The layers that got a style.
    """
    wanted = [str(n) for n in layers if str(n) in STYLED_LAYERS]
    if not wanted:
        return []
    geoms = {
        str(t): str(c)
        for t, c in con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns")
        if str(t) in wanted
    }
    if not geoms:
        return []
    exists = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (LAYER_STYLES_TABLE,)
    ).fetchone()
    if not exists:
        con.execute(_LAYER_STYLES_DDL)
    registered = con.execute("SELECT 1 FROM gpkg_contents WHERE table_name = ?", (LAYER_STYLES_TABLE,)).fetchone()
    if not registered:
        con.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
            "VALUES (?, 'attributes', ?, ?, ?)",
            (LAYER_STYLES_TABLE, LAYER_STYLES_TABLE, "QGIS layer styles (kcn_gis writes the default ones)", stamp),
        )
    styled = {str(r[0]) for r in con.execute(f"SELECT DISTINCT f_table_name FROM {LAYER_STYLES_TABLE}")}
    todo = {t: c for t, c in geoms.items() if t not in styled}
    rows = style_rows(todo, update_time=stamp)
    cols = list(LAYER_STYLES_COLUMNS)
    names = ", ".join('"' + c + '"' for c in cols)
    con.executemany(
        f"INSERT INTO {LAYER_STYLES_TABLE} ({names}) VALUES ({', '.join('?' for _ in cols)})",
        [tuple(int(r[c]) if c == "useAsDefault" else r[c] for c in cols) for r in rows],
    )
    if rows:
        con.execute("UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?", (stamp, LAYER_STYLES_TABLE))
    return [str(r["f_table_name"]) for r in rows]
