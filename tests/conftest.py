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
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.schema import Col, Layer

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
    """A GeoPackage holding the tiny atlas."""
    from kcn_gis import write_atlas

    path = tmp_path / "tiny.gpkg"
    write_atlas(path, make_layers())
    return path


@pytest.fixture
def tiny_atlas(tiny_atlas_path):
    from kcn_gis import open_atlas

    return open_atlas(tiny_atlas_path)


__all__ = ["CRS", "E0", "N0", "box", "dt", "make_layers", "ts"]
