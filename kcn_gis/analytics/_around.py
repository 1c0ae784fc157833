"""Private helpers shared by the analytics around the parks (housing, environment, reporting).

Which facilities are in service on a date, which projects are valid and operating,
and which park a project belongs to.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

from kcn_gis.analytics._common import dates
from kcn_gis.crs import require_projected
from kcn_gis.schema import Col, FacilityStatus

__all__: list[str] = []

#: ``park_id`` of a project that holds no plot (it rents a ready-built factory): its park is unknown.
UNPLACED = "unplaced"
#: ``park_id`` of the province-wide row of the tables.
PROVINCE = "province"


def in_service(facilities: pd.DataFrame, d: pd.Timestamp) -> np.ndarray:
    """Boolean array: the facility is in service on ``d``.

    With a ``commissioned_on`` date: in service from that day on (inclusive).
    Without one: in service when its recorded ``status`` is ``operating``.
    """
    if len(facilities) == 0:
        return np.zeros(0, dtype=bool)
    commissioned = dates(facilities, Col.COMMISSIONED_ON)
    status = facilities[Col.STATUS].astype(object).to_numpy()
    known = commissioned.notna().to_numpy()
    on = (commissioned <= d).fillna(False).to_numpy(dtype=bool)
    return np.where(known, on, status == str(FacilityStatus.OPERATING))


def valid_on(projects: pd.DataFrame, d: pd.Timestamp) -> np.ndarray:
    """Projects licensed on or before ``d`` (or undated) and not revoked on ``d``."""
    lic = dates(projects, Col.LICENSED_ON)
    rev = dates(projects, Col.REVOKED_ON)
    return ((lic.isna() | (lic <= d)) & (rev.isna() | (rev > d))).to_numpy(dtype=bool)


def operating_on(projects: pd.DataFrame, d: pd.Timestamp) -> np.ndarray:
    """Projects valid on ``d`` whose ``operating_since`` is on or before ``d``."""
    op = dates(projects, Col.OPERATING_SINCE)
    return valid_on(projects, d) & (op.notna() & (op <= d)).to_numpy(dtype=bool)


def project_parks(projects: pd.DataFrame, plots: pd.DataFrame | None) -> np.ndarray:
    """The park of each project, as an object array aligned with ``projects``.

    A ``park_id`` column in ``projects`` (not part of the model, but kept when a
    user adds it) wins. Otherwise the park is the one holding the largest plot area
    (m², in the plots' projected CRS) with the project's ``project_id``. Projects
    without a plot get :data:`UNPLACED`.
    """
    out = np.full(len(projects), UNPLACED, dtype=object)
    pid = projects[Col.PROJECT_ID].astype(object).to_numpy()
    if plots is not None and len(plots) and Col.PROJECT_ID in plots.columns:
        if isinstance(plots, gpd.GeoDataFrame):
            require_projected(plots, "plots")  # areas rank a project's parks: metres only
            area = plots.geometry.area.to_numpy()
        else:
            area = np.ones(len(plots))
        frame = pd.DataFrame(
            {
                "pid": plots[Col.PROJECT_ID].astype(object).to_numpy(),
                "park": plots[Col.PARK_ID].astype(object).to_numpy(),
                "area": area,
            }
        ).dropna(subset=["pid", "park"])
        if len(frame):
            best = (
                frame.groupby(["pid", "park"], sort=True)["area"]
                .sum()
                .reset_index()
                .sort_values(["pid", "area", "park"], ascending=[True, False, True], kind="stable")
                .drop_duplicates("pid")
            )
            lookup = dict(zip(best["pid"], best["park"], strict=True))
            out = np.array([lookup.get(p, UNPLACED) for p in pid], dtype=object)
    if Col.PARK_ID in projects.columns:
        own = projects[Col.PARK_ID].astype(object)
        out = np.where(own.notna().to_numpy(), own.to_numpy(), out)
    return out
