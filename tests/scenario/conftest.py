"""A hand-built atlas for the scenario tests: areas and paces derivable by hand (1 ha = 100 m x 100 m).

* province: 10 km x 10 km (E 540 000-550 000, N 2 330 000-2 340 000), split by the river "Sông Đuống"
  at N 2 335 000 (y = 5 000): 5 000 ha north, 5 000 ha south, so each bank's area share is 0.5;
* park ``A`` (north, operating): 100 ha at x 1 000-2 000, y 6 000-7 000. Industrial plots A1 40 ha
  (acquired 2009-01-01, leased 2009-06-01), A2 20 ha (2010-01-01 / 2010-06-01), A3 20 ha
  (2011-01-01 / 2011-06-01); its 80 ha of planned industrial land are fully leased. Yearly increments
  2009-2011: 40, 20, 20 ha;
* park ``B`` (north, operating): 100 ha at x 3 000-4 000, y 6 000-7 000. Industrial plots B1, B2, B3
  of 10 ha each (acquired on the first of February 2009/2010/2011, leased on the first of March), B4 40 ha
  (acquired 2011-01-01, not leased), and a green plot B5 of 30 ha. Increments 2009-2011: 10, 10, 10 ha;
* park ``E`` (south, preparing): 50 ha at x 7 000-7 500, y 1 000-2 000, no plots.

The history ends on 2011-06-01 (the latest plot date), so the model steps from 31 December 2012.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.schema import Col, Layer
from tests.conftest import CRS, E0, N0, box, ts

SOUTH_PARK_WKT = shapely.to_wkt(box(5_000, 1_000, 6_000, 2_000))  # 100 ha, south


def _plot(pid: str, park: str, geom, use="industrial", acquired=None, leased=None) -> dict:
    return {
        Col.PLOT_ID: pid,
        Col.PARK_ID: park,
        Col.LAND_USE: use,
        Col.ACQUIRED_ON: ts(acquired),
        Col.LEASED_ON: ts(leased),
        Col.LEASE_ENDED_ON: ts(None),
        Col.TENANT: None,
        Col.PROJECT_ID: None,
        "geometry": geom,
    }


def hand_layers() -> dict[str, pd.DataFrame]:
    province = gpd.GeoDataFrame({Col.NAME: ["Tỉnh Thử"]}, geometry=[box(0, 0, 10_000, 10_000)], crs=CRS)
    rivers = gpd.GeoDataFrame(
        {Col.NAME: ["Sông Đuống"]},
        geometry=[shapely.LineString([(E0, N0 + 5_000), (E0 + 10_000, N0 + 5_000)])],
        crs=CRS,
    )
    parks = gpd.GeoDataFrame(
        {
            Col.PARK_ID: ["A", "B", "E"],
            Col.NAME: ["KCN Bắc A", "KCN Bắc B", "KCN Nam E"],
            Col.NAME_EN: ["North A IP", "North B IP", "South E IP"],
            Col.DISTRICT: ["Tiên Du", "Quế Võ", "Gia Bình"],
            Col.STATUS: ["operating", "operating", "preparing"],
            Col.LISTED_AREA_HA: [100.0, 100.0, 50.0],
            Col.DETAIL_PLAN_APPROVED: [True, True, False],
            Col.DEVELOPER: [None, None, None],
        },
        geometry=[box(1_000, 6_000, 2_000, 7_000), box(3_000, 6_000, 4_000, 7_000), box(7_000, 1_000, 7_500, 2_000)],
        crs=CRS,
    )
    rows = [
        _plot("A1", "A", box(1_000, 6_000, 1_400, 7_000), acquired="2009-01-01", leased="2009-06-01"),
        _plot("A2", "A", box(1_400, 6_000, 1_600, 7_000), acquired="2010-01-01", leased="2010-06-01"),
        _plot("A3", "A", box(1_600, 6_000, 1_800, 7_000), acquired="2011-01-01", leased="2011-06-01"),
        _plot("B1", "B", box(3_000, 6_000, 3_100, 7_000), acquired="2009-02-01", leased="2009-03-01"),
        _plot("B2", "B", box(3_100, 6_000, 3_200, 7_000), acquired="2010-02-01", leased="2010-03-01"),
        _plot("B3", "B", box(3_200, 6_000, 3_300, 7_000), acquired="2011-02-01", leased="2011-03-01"),
        _plot("B4", "B", box(3_300, 6_000, 3_700, 7_000), acquired="2011-01-01"),
        _plot("B5", "B", box(3_700, 6_000, 4_000, 7_000), use="green"),
    ]
    plots = gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=CRS)
    for c in (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON):
        plots[c] = pd.to_datetime(plots[c]).astype("datetime64[ms]")
    for c in (Col.TENANT, Col.PROJECT_ID):
        plots[c] = plots[c].astype(object)
    from kcn_gis.store.base import empty_layer

    return {
        Layer.PROVINCE: province,
        Layer.RIVERS: rivers,
        Layer.PARKS: parks,
        Layer.PLOTS: plots,
        Layer.PARCELS: empty_layer(Layer.PARCELS),
        Layer.CLEARANCE_EVENTS: empty_layer(Layer.CLEARANCE_EVENTS),
        Layer.PROJECTS: empty_layer(Layer.PROJECTS),
    }


@pytest.fixture
def hand_atlas_path(tmp_path):
    from kcn_gis import write_atlas

    path = tmp_path / "hand.gpkg"
    write_atlas(path, hand_layers())
    return path


@pytest.fixture
def hand_atlas(hand_atlas_path):
    from kcn_gis import open_atlas

    return open_atlas(hand_atlas_path)
