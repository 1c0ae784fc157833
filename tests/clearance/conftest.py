"""Fixtures for the clearance tests: a hand-built atlas with parcels of known area and a known history.

Coordinates are EPSG:9209 metres relative to (E 540 000, N 2 330 000), 1 ha = 100 m x 100 m.

Park S1 (500 m x 1 000 m) holds four parcels:

=========  ============================  ======  =======================================================
parcel      box (m)                       area    history
=========  ============================  ======  =======================================================
S1-1-1      5000-5100 x 1000-1100         1 ha    notified 10/01/2011 ... handed over 01/06/2011
S1-1-2      5100-5300 x 1000-1100         2 ha    notified 10/01, inventoried 15/02, complaint 01/03 (open)
S1-2-1      5000-5300 x 1100-1200         3 ha    handed over 01/07, corrected 01/08, handed over 01/10/2011
S1-2-2      5300-5500 x 1000-1200         4 ha    no event (not started)
=========  ============================  ======  =======================================================

Park N1 holds N1-1-1 (5 ha: 1000-1500 x 6000-6100): notified 01/06/2010, complaint 01/07/2010,
resolved 01/09/2010. Its commune/map sheet/parcel number equal those of S1-1-1, so that triple is ambiguous.
The holder of S1-1-1 is ``<script>alert(1)</script>`` and of S1-1-2 ``O'Brien & "Sons"``.

``clearance_atlas_url`` (alias ``clearance_atlas_path``) and ``clearance_atlas`` run each test once
per backend (GeoPackage, PostGIS) on a fresh copy of a session master atlas.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.schema import Col, Layer

CRS = "EPSG:9209"
E0, N0 = 540_000.0, 2_330_000.0
XSS = "<script>alert(1)</script>"
QUOTES = 'O\'Brien & "Sons"'

AREA_HA = {"S1-1-1": 1.0, "S1-1-2": 2.0, "S1-2-1": 3.0, "S1-2-2": 4.0, "N1-1-1": 5.0}


def box(x0: float, y0: float, x1: float, y1: float) -> shapely.Polygon:
    return shapely.box(E0 + x0, N0 + y0, E0 + x1, N0 + y1)


def ts(text: str | None) -> pd.Timestamp:
    return pd.Timestamp(text) if text else pd.NaT


def make_parcels() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: ["S1-1-1", "S1-1-2", "S1-2-1", "S1-2-2", "N1-1-1"],
            Col.PARK_ID: ["S1", "S1", "S1", "S1", "N1"],
            Col.COMMUNE: ["Xã Thử", "Xã Thử", "Xã Thử", "Xã Thử", "Xã Thử"],
            Col.MAP_SHEET: ["1", "1", "2", "2", "1"],
            Col.PARCEL_NO: ["1", "2", "1", "2", "1"],
            Col.LAND_TYPE: ["LUC", "LUC", "ONT", "LUC", "LUC"],
            Col.HOLDER_TYPE: ["household", "household", "household", "organization", "state"],
            Col.HOLDER_NAME: [XSS, QUOTES, "Nguyễn Văn Giả", "Công ty Giả Định", None],
            Col.LEGAL_AREA_M2: [10_000.0, 20_000.0, 30_000.0, 40_000.0, 50_000.0],
        },
        geometry=[
            box(5_000, 1_000, 5_100, 1_100),
            box(5_100, 1_000, 5_300, 1_100),
            box(5_000, 1_100, 5_300, 1_200),
            box(5_300, 1_000, 5_500, 1_200),
            box(1_000, 6_000, 1_500, 6_100),
        ],
        crs=CRS,
    )


_EVENTS = [
    # event_id, parcel_id, event, date, reference, note, corrects
    ("A1", "S1-1-1", "notified", "2011-01-10", "12/TB-UBND", None, None),
    ("A2", "S1-1-1", "inventoried", "2011-02-15", None, None, None),
    ("A3", "S1-1-1", "plan_approved", "2011-04-01", "88/QĐ-UBND", None, None),
    ("A4", "S1-1-1", "compensated", "2011-05-10", None, None, None),
    ("A5", "S1-1-1", "handed_over", "2011-06-01", "BB-01", None, None),
    ("B1", "S1-1-2", "notified", "2011-01-10", "12/TB-UBND", None, None),
    ("B2", "S1-1-2", "inventoried", "2011-02-15", None, None, None),
    ("B3", "S1-1-2", "complaint", "2011-03-01", "KN-7", XSS, None),
    ("C1", "S1-2-1", "notified", "2011-01-10", "12/TB-UBND", None, None),
    ("C2", "S1-2-1", "inventoried", "2011-02-20", None, None, None),
    ("C3", "S1-2-1", "plan_approved", "2011-04-01", "88/QĐ-UBND", None, None),
    ("C4", "S1-2-1", "compensated", "2011-05-10", None, None, None),
    ("C5", "S1-2-1", "handed_over", "2011-07-01", "BB-02", None, None),
    ("C6", "S1-2-1", "correction", "2011-08-01", None, "bàn giao nhầm thửa", "C5"),
    ("C7", "S1-2-1", "handed_over", "2011-10-01", "BB-03", None, None),
    ("N1", "N1-1-1", "notified", "2010-06-01", "5/TB", None, None),
    ("N2", "N1-1-1", "complaint", "2010-07-01", None, QUOTES, None),
    ("N3", "N1-1-1", "complaint_resolved", "2010-09-01", None, None, None),
]


def make_events() -> pd.DataFrame:
    rows = [
        {
            Col.EVENT_ID: e,
            Col.PARCEL_ID: p,
            Col.EVENT: k,
            Col.EVENT_DATE: ts(d),
            Col.REFERENCE: r,
            Col.NOTE: n,
            Col.RECORDED_AT: ts(d) + pd.Timedelta(days=1, hours=9),
            Col.RECORDED_BY: "fixture",
            Col.CORRECTS_EVENT_ID: c,
        }
        for e, p, k, d, r, n, c in _EVENTS
    ]
    frame = pd.DataFrame(rows)
    for c in (Col.REFERENCE, Col.NOTE, Col.CORRECTS_EVENT_ID):
        frame[c] = frame[c].astype("str")
    frame[Col.EVENT_DATE] = frame[Col.EVENT_DATE].astype("datetime64[ms]")
    frame[Col.RECORDED_AT] = frame[Col.RECORDED_AT].astype("datetime64[ms]")
    return frame


def make_clearance_layers() -> dict[str, pd.DataFrame]:
    """The shared tiny atlas (``tests/conftest.py``) with the parcels and the history above."""
    from tests.conftest import make_layers

    layers = make_layers()
    layers[Layer.PARCELS] = make_parcels()
    layers[Layer.CLEARANCE_EVENTS] = make_events()
    return layers


@pytest.fixture
def parcels() -> gpd.GeoDataFrame:
    return make_parcels()


@pytest.fixture
def events() -> pd.DataFrame:
    return make_events()


@pytest.fixture
def clearance_atlas_url(atlas_copy) -> str:
    """A fresh atlas (per test) holding the clearance fixture atlas, on each backend; tests may write to it.

    A copy of a session master: a GeoPackage file path, or a ``postgresql://`` URL of a new schema.
    """
    return atlas_copy("clearance", make_clearance_layers)


@pytest.fixture
def clearance_atlas_path(clearance_atlas_url):
    """The older name of ``clearance_atlas_url``: on PostGIS it is a URL, not a path."""
    return clearance_atlas_url


@pytest.fixture
def clearance_atlas(clearance_atlas_url):
    from kcn_gis import open_atlas

    return open_atlas(clearance_atlas_url)
