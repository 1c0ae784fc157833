"""Hand-built parks, projects, plots and facilities for the analytics around the parks.

Coordinates are EPSG:9209 metres relative to (E 540 000, N 2 330 000), as in tests/conftest.py.
Parks are 1 km x 1 km squares; distances to them can be read off the coordinates.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import shapely

from kcn_gis.schema import Col
from kcn_gis.store.base import empty_layer
from tests.conftest import CRS, box, ts

E0, N0 = 540_000.0, 2_330_000.0


def parks(*specs: tuple[str, tuple[float, float, float, float], str]) -> gpd.GeoDataFrame:
    """Parks from (park_id, (x0, y0, x1, y1) in metres, status)."""
    return gpd.GeoDataFrame(
        {
            Col.PARK_ID: [s[0] for s in specs],
            Col.NAME: [f"KCN {s[0]}" for s in specs],
            Col.NAME_EN: [None] * len(specs),
            Col.DISTRICT: ["Tiên Du"] * len(specs),
            Col.STATUS: [s[2] for s in specs],
            Col.LISTED_AREA_HA: [100.0] * len(specs),
            Col.DETAIL_PLAN_APPROVED: [True] * len(specs),
            Col.DEVELOPER: [None] * len(specs),
        },
        geometry=[box(*s[1]) for s in specs],
        crs=CRS,
    )


def projects(*rows: dict) -> pd.DataFrame:
    """Projects from dicts with project_id, workers, operating_since and optional licensed_on/revoked_on/investor."""
    return pd.DataFrame(
        {
            Col.PROJECT_ID: [r["project_id"] for r in rows],
            Col.INVESTOR: [r.get("investor", f"Công ty {r['project_id']}") for r in rows],
            Col.COUNTRY: ["Việt Nam"] * len(rows),
            Col.REGISTERED_CAPITAL_USD: [1e6] * len(rows),
            Col.LICENSED_ON: [ts(r.get("licensed_on", "2005-01-01")) for r in rows],
            Col.OPERATING_SINCE: [ts(r.get("operating_since", "2006-01-01")) for r in rows],
            Col.REVOKED_ON: [ts(r.get("revoked_on")) for r in rows],
            Col.WORKERS: pd.array([r.get("workers", 0) for r in rows], dtype="Int64"),
            Col.LOCAL_WORKERS: pd.array([0] * len(rows), dtype="Int64"),
            Col.FEMALE_WORKERS: pd.array([0] * len(rows), dtype="Int64"),
        }
    )


def plots_for(placements: dict[str, tuple[str, tuple[float, float, float, float]]]) -> gpd.GeoDataFrame:
    """One leased industrial plot per project: project_id -> (park_id, box)."""
    keys = list(placements)
    return gpd.GeoDataFrame(
        {
            Col.PLOT_ID: [f"P-{k}" for k in keys],
            Col.PARK_ID: [placements[k][0] for k in keys],
            Col.LAND_USE: ["industrial"] * len(keys),
            Col.ACQUIRED_ON: [ts("2005-01-01")] * len(keys),
            Col.LEASED_ON: [ts("2005-06-01")] * len(keys),
            Col.LEASE_ENDED_ON: [ts(None)] * len(keys),
            Col.TENANT: [None] * len(keys),
            Col.PROJECT_ID: keys,
        },
        geometry=[box(*placements[k][1]) for k in keys],
        crs=CRS,
    )


def facilities(*rows: dict) -> gpd.GeoDataFrame:
    """Facilities from dicts with facility_id, kind, x, y (metres) and optional capacity/unit/status/dates."""
    if not rows:
        return empty_layer("facilities", CRS)  # type: ignore[return-value]
    return gpd.GeoDataFrame(
        {
            Col.FACILITY_ID: [r["facility_id"] for r in rows],
            Col.KIND: [r["kind"] for r in rows],
            Col.NAME: [r.get("name", f"Công trình {r['facility_id']}") for r in rows],
            Col.NAME_EN: [None] * len(rows),
            Col.PARK_ID: [r.get("park_id") for r in rows],
            Col.CAPACITY: [float(r.get("capacity", 0.0)) for r in rows],
            Col.CAPACITY_UNIT: [r.get("unit") for r in rows],
            Col.FLOOR_AREA_M2: [r.get("floor_area_m2") for r in rows],
            Col.STATUS: [r.get("status", "operating") for r in rows],
            Col.PLANNED_ON: [ts(None)] * len(rows),
            Col.CONSTRUCTION_ON: [ts(None)] * len(rows),
            Col.COMMISSIONED_ON: [ts(r.get("commissioned_on")) for r in rows],
        },
        geometry=[shapely.Point(E0 + r["x"], N0 + r["y"]) for r in rows],
        crs=CRS,
    )
