"""Shared fixtures: a tiny atlas built in code, with areas that can be computed by hand.

Coordinates are EPSG:9209 metres around Bắc Ninh (E 540 000, N 2 330 000).
Layout (1 ha = 100 m x 100 m):

* province: a 10 km x 10 km square, E 540 000-550 000, N 2 330 000-2 340 000 (10 000 ha);
* the river "Sông Đuống": a horizontal line at N 2 335 000 from edge to edge, so the
  north and south banks are 5 000 ha each;
* park "N1" (north, operating): 1 000 m x 1 000 m = 100 ha at E 541 000-542 000, N 2 336 000-2 337 000;
* park "S1" (south, preparing): 500 m x 1 000 m = 50 ha at E 545 000-545 500, N 2 331 000-2 332 000;
* plots in N1: P1 industrial 40 ha (acquired 2005-01-01, leased 2006-06-01),
  P2 industrial 30 ha (acquired 2007-01-01, not leased), P3 green 10 ha;
* parcels in S1: two 250 m x 1 000 m parcels (25 ha each);
* one project PRJ1 on P1.

The backend fixtures of :mod:`tests.postgis.plugin` are loaded for the whole suite
(``backend``, ``atlas_url``, ``new_atlas_url``, ``atlas_copy``, ``shared_atlas_url``, ``pg_url``):
a test taking ``tiny_atlas`` (or any fixture built on ``backend``) runs once on a
GeoPackage and once on PostGIS. :func:`atlas_snapshot` is what "nothing was
written" compares on either backend.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.schema import Col, Layer

pytest_plugins = ["tests.postgis.plugin"]

CRS = "EPSG:9209"
E0, N0 = 540_000.0, 2_330_000.0


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    """A rectangle in metres relative to (E0, N0)."""
    return shapely.box(E0 + x0, N0 + y0, E0 + x1, N0 + y1)


def ts(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text) if text else pd.NaT


def make_layers() -> dict[str, pd.DataFrame]:
    province = gpd.GeoDataFrame({Col.NAME: ["Tỉnh Thử"]}, geometry=[box(0, 0, 10_000, 10_000)], crs=CRS)
    rivers = gpd.GeoDataFrame(
        {Col.NAME: ["Sông Đuống"]},
        geometry=[shapely.LineString([(E0, N0 + 5_000), (E0 + 10_000, N0 + 5_000)])],
        crs=CRS,
    )
    parks = gpd.GeoDataFrame(
        {
            Col.PARK_ID: ["N1", "S1"],
            Col.NAME: ["KCN Bắc Một", "KCN Nam Một"],
            Col.NAME_EN: ["North One IP", "South One IP"],
            Col.DISTRICT: ["Tiên Du", "Thuận Thành"],
            Col.STATUS: ["operating", "preparing"],
            Col.LISTED_AREA_HA: [100.0, 50.0],
            Col.DETAIL_PLAN_APPROVED: [True, False],
            Col.DEVELOPER: ["Công ty Hạ tầng Một", None],
        },
        geometry=[box(1_000, 6_000, 2_000, 7_000), box(5_000, 1_000, 5_500, 2_000)],
        crs=CRS,
    )
    plots = gpd.GeoDataFrame(
        {
            Col.PLOT_ID: ["P1", "P2", "P3"],
            Col.PARK_ID: ["N1", "N1", "N1"],
            Col.LAND_USE: ["industrial", "industrial", "green"],
            Col.ACQUIRED_ON: [ts("2005-01-01"), ts("2007-01-01"), ts("2005-01-01")],
            Col.LEASED_ON: [ts("2006-06-01"), ts(None), ts(None)],
            Col.LEASE_ENDED_ON: [ts(None), ts(None), ts(None)],
            Col.TENANT: ['O\'Brien & "Sons"', None, None],
            Col.PROJECT_ID: ["PRJ1", None, None],
        },
        geometry=[box(1_000, 6_000, 1_400, 7_000), box(1_400, 6_000, 1_700, 7_000), box(1_700, 6_000, 1_800, 7_000)],
        crs=CRS,
    )
    parcels = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: ["S1-1-1", "S1-1-2"],
            Col.PARK_ID: ["S1", "S1"],
            Col.COMMUNE: ["Xã Thử", "Xã Thử"],
            Col.MAP_SHEET: ["1", "1"],
            Col.PARCEL_NO: ["1", "2"],
            Col.LAND_TYPE: ["LUC", "LUC"],
            Col.HOLDER_TYPE: ["household", "household"],
            Col.HOLDER_NAME: ["Hộ Giả Định A", "Hộ Giả Định B"],
            Col.LEGAL_AREA_M2: [250_000.0, 250_000.0],
        },
        geometry=[box(5_000, 1_000, 5_250, 2_000), box(5_250, 1_000, 5_500, 2_000)],
        crs=CRS,
    )
    events = pd.DataFrame(
        {
            Col.EVENT_ID: ["E1"],
            Col.PARCEL_ID: ["S1-1-1"],
            Col.EVENT: ["notified"],
            Col.EVENT_DATE: [ts("2011-03-01")],
            Col.REFERENCE: ["123/TB-UBND"],
            Col.NOTE: [None],
            Col.RECORDED_AT: [pd.Timestamp("2011-03-02 08:00:00")],
            Col.RECORDED_BY: ["test"],
            Col.CORRECTS_EVENT_ID: [None],
        }
    )
    projects = pd.DataFrame(
        {
            Col.PROJECT_ID: ["PRJ1"],
            Col.INVESTOR: ['O\'Brien & "Sons"'],
            Col.COUNTRY: ["Ireland"],
            Col.REGISTERED_CAPITAL_USD: [10_000_000.0],
            Col.LICENSED_ON: [ts("2006-05-01")],
            Col.OPERATING_SINCE: [ts("2007-01-01")],
            Col.REVOKED_ON: [ts(None)],
            Col.WORKERS: pd.array([100], dtype="Int64"),
            Col.LOCAL_WORKERS: pd.array([40], dtype="Int64"),
            Col.FEMALE_WORKERS: pd.array([70], dtype="Int64"),
        }
    )
    return {
        Layer.PROVINCE: province,
        Layer.RIVERS: rivers,
        Layer.PARKS: parks,
        Layer.PLOTS: plots,
        Layer.PARCELS: parcels,
        Layer.CLEARANCE_EVENTS: events,
        Layer.PROJECTS: projects,
    }


@pytest.fixture
def tiny_layers() -> dict[str, pd.DataFrame]:
    """The tiny atlas's layers as frames (fresh copies for each test)."""
    return make_layers()


@pytest.fixture
def tiny_atlas_path(tmp_path):
    """A GeoPackage holding the tiny atlas (for tests about the GeoPackage file itself)."""
    from kcn_gis import write_atlas

    path = tmp_path / "tiny.gpkg"
    write_atlas(path, make_layers())
    return path


@pytest.fixture
def tiny_atlas(atlas_url):
    """The tiny atlas, opened, on each backend in turn (a fresh GeoPackage, a fresh PostGIS schema)."""
    from kcn_gis import open_atlas

    return open_atlas(atlas_url)


def atlas_snapshot(location: str | Path, *, file_bytes: bool = True) -> dict[str, object]:
    """Everything an atlas stores, to check that an operation wrote nothing: compare two snapshots with ``==``.

    Every table of the atlas -- the layers with the store's hidden columns (row
    ``version``, ``fid``), the metadata, and any other table -- with its column
    names and all its rows, geometries as their stored bytes. Floats are compared
    by ``repr`` so that NaN equals NaN.

    * GeoPackage: every SQLite table of the file (GeoPackage system tables and the
      spatial-index tables included) and, with ``file_bytes``, the SHA-256 of the
      file, so a GeoPackage is still checked byte for byte.
    * PostGIS: every table of the atlas schema with each row's ``xmin`` (the
      transaction that last wrote it), so that rewriting a row with identical
      values counts as a write. Sequences are left out: PostgreSQL never rolls
      back ``nextval()``, so a refused write may advance them.
    """
    text = str(location)
    if text.startswith(("postgresql://", "postgres://")):
        return _postgis_snapshot(text)
    return _gpkg_snapshot(Path(text), file_bytes=file_bytes)


def _comparable(row: tuple) -> tuple:
    return tuple(("float", repr(v)) if isinstance(v, float) else v for v in row)


def _gpkg_snapshot(path: Path, *, file_bytes: bool) -> dict[str, object]:
    out: dict[str, object] = {}
    if file_bytes:
        out["file_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        for table in tables:
            cur = con.execute('SELECT * FROM "{}"'.format(table.replace('"', '""')))
            out[table] = (tuple(d[0] for d in cur.description), [_comparable(r) for r in cur.fetchall()])
    return out


def _postgis_snapshot(url: str) -> dict[str, object]:
    import psycopg
    from psycopg import sql

    from kcn_gis.store.postgis import parse_url

    conninfo, schema, _ = parse_url(url)
    out: dict[str, object] = {}
    with psycopg.connect(conninfo) as conn:
        conn.read_only = True
        tables = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'p') ORDER BY 1",
            [schema],
        ).fetchall()
        for (table,) in tables:
            cur = conn.execute(sql.SQL("SELECT t.xmin::text, t.* FROM {} AS t").format(sql.Identifier(schema, table)))
            assert cur.description is not None
            rows = sorted((_comparable(r) for r in cur.fetchall()), key=repr)
            out[table] = (tuple(d.name for d in cur.description), rows)
    return out


__all__ = ["CRS", "E0", "N0", "atlas_snapshot", "box", "dt", "make_layers", "ts"]


def use_engine(monkeypatch, engine: str, module, *thresholds: str) -> str:
    """Make a test run a step's numpy path (``engine="numpy"``) or its compiled one from the first item.

    ``module`` holds the step's thresholds (``thresholds``: attribute names, set to 0 for the compiled
    run); the compiled run is skipped without numba.
    """
    if engine == "numpy":
        monkeypatch.setenv("KCN_GIS_NUMBA", "0")
        return engine
    pytest.importorskip("numba")
    monkeypatch.setenv("KCN_GIS_NUMBA", "1")
    for name in thresholds:
        monkeypatch.setattr(module, name, 0)
    return engine
