"""Hand-built layers for the analytics tests (areas computable by hand; 1 ha = 100 m x 100 m).

``straddle_layers()`` extends the shared tiny atlas (``tests/conftest.py``):

* park ``X1`` (operating, district Quế Võ): 1 000 m x 1 000 m = 100 ha at x 3 000-4 000, y 4 500-5 500,
  straddling the river at y 5 000: 50 ha north, 50 ha south;
* plot ``XA`` (industrial, acquired 2009-01-01, leased 2010-01-01, project PRJ2):
  x 3 000-3 600, y 4 500-5 500 = 60 ha, 30 ha on each bank;
* plot ``XB`` (industrial, acquired 2009-01-01, not leased, project PRJ3): x 3 600-4 000, y 4 500-5 000 = 20 ha south;
* project ``PRJ2``: licensed 2009-06-01, 20 M USD, 200 workers; ``PRJ3``: licensed 2009-06-01, revoked
  2010-06-01, 5 M USD, 50 workers.

So on 2011-12-26 with operating parks (N1, X1): north planned 70 + 30 = 100 ha, acquired 100, leased 40 + 30 = 70;
south planned 30 + 20 = 50, acquired 50, leased 30.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest

from kcn_gis.schema import Col, Layer
from tests.conftest import CRS, box, make_layers, ts


def add_rows(frame: pd.DataFrame, rows: list[dict]) -> pd.DataFrame:
    """Append rows (dicts with a ``geometry`` key for spatial frames) keeping dtypes and CRS."""
    extra = pd.DataFrame(rows)
    if isinstance(frame, gpd.GeoDataFrame):
        extra = gpd.GeoDataFrame(extra, geometry="geometry", crs=frame.crs)
    out = pd.concat([frame, extra], ignore_index=True)
    if isinstance(frame, gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry="geometry", crs=frame.crs)
    for c in frame.columns:
        if c != "geometry" and str(frame[c].dtype) == "Int64":
            out[c] = out[c].astype("Int64")
    return out


def plot_row(
    plot_id: str, park_id: str, geom, *, land_use="industrial", acquired=None, leased=None, ended=None, project=None
) -> dict:
    return {
        Col.PLOT_ID: plot_id,
        Col.PARK_ID: park_id,
        Col.LAND_USE: land_use,
        Col.ACQUIRED_ON: ts(acquired),
        Col.LEASED_ON: ts(leased),
        Col.LEASE_ENDED_ON: ts(ended),
        Col.TENANT: None,
        Col.PROJECT_ID: project,
        "geometry": geom,
    }


def park_row(park_id: str, geom, *, status="operating", district="Quế Võ") -> dict:
    return {
        Col.PARK_ID: park_id,
        Col.NAME: f"KCN {park_id}",
        Col.NAME_EN: f"{park_id} IP",
        Col.DISTRICT: district,
        Col.STATUS: status,
        Col.LISTED_AREA_HA: 100.0,
        Col.DETAIL_PLAN_APPROVED: True,
        Col.DEVELOPER: None,
        "geometry": geom,
    }


def project_row(project_id: str, *, capital: float, workers: int, licensed="2009-06-01", revoked=None) -> dict:
    return {
        Col.PROJECT_ID: project_id,
        Col.INVESTOR: f"Investor {project_id}",
        Col.COUNTRY: "Việt Nam",
        Col.REGISTERED_CAPITAL_USD: capital,
        Col.LICENSED_ON: ts(licensed),
        Col.OPERATING_SINCE: ts(None),
        Col.REVOKED_ON: ts(revoked),
        Col.WORKERS: workers,
        Col.LOCAL_WORKERS: 0,
        Col.FEMALE_WORKERS: 0,
    }


def straddle_layers() -> dict[str, pd.DataFrame]:
    layers = make_layers()
    layers[Layer.PARKS] = add_rows(layers[Layer.PARKS], [park_row("X1", box(3_000, 4_500, 4_000, 5_500))])
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS],
        [
            plot_row(
                "XA", "X1", box(3_000, 4_500, 3_600, 5_500), acquired="2009-01-01", leased="2010-01-01", project="PRJ2"
            ),
            plot_row("XB", "X1", box(3_600, 4_500, 4_000, 5_000), acquired="2009-01-01", project="PRJ3"),
        ],
    )
    layers[Layer.PROJECTS] = add_rows(
        layers[Layer.PROJECTS],
        [
            project_row("PRJ2", capital=20_000_000.0, workers=200),
            project_row("PRJ3", capital=5_000_000.0, workers=50, revoked="2010-06-01"),
        ],
    )
    return layers


@pytest.fixture
def straddle() -> dict[str, pd.DataFrame]:
    return straddle_layers()


__all__ = ["CRS", "add_rows", "box", "park_row", "plot_row", "project_row", "straddle_layers", "ts"]
