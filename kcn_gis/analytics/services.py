"""Worker housing and services within reach of each park (direction C.3 of the Board's report).

Reach is the straight-line distance in the atlas's projected CRS (EPSG:9209,
metres) from a facility to the park boundary (0 when the facility is inside the
park). A road network is out of scope: a clinic 3 km away across the Đuống with
no bridge counts as 3 km. See ``docs/analytics.md``.
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics._around import PROVINCE, in_service, operating_on, project_parks
from kcn_gis.analytics._common import geoms, ratio, require_columns, require_same_crs, usable
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.schema import SERVICE_KINDS, CapacityUnit, Col, FacilityKind

__all__ = ["DEFAULT_REACH_M", "HOUSING_COLUMNS", "housing_coverage", "workers_by_park"]

log = logging.getLogger(__name__)

#: Default reach, metres (straight line, EPSG:9209).
DEFAULT_REACH_M = 5000.0

#: Columns of :func:`housing_coverage`, in order.
HOUSING_COLUMNS = (
    "park_id",
    "name",
    "workers",
    "beds_within_reach",
    "beds_per_worker",
    *(f"nearest_{k}_m" for k in SERVICE_KINDS),
    "services_within_reach",
)


def workers_by_park(
    parks: pd.DataFrame, projects: pd.DataFrame, *, plots: pd.DataFrame | None = None, as_of: DateLike | None = None
) -> tuple[np.ndarray, int]:
    """Workers of the projects operating on ``as_of``, per park (aligned with ``parks``) and province-wide.

    A project's park is the park of its plots (see ``docs/analytics.md``); the
    province total also counts projects without a plot.

    Returns
    -------
    (numpy.ndarray, int)
        Workers per park (people) and the province total (people).
    """
    d = as_of_date(as_of)
    require_columns(projects, (Col.PROJECT_ID, Col.LICENSED_ON, Col.REVOKED_ON, Col.OPERATING_SINCE), "projects")
    op = operating_on(projects, d)
    wk = pd.to_numeric(projects[Col.WORKERS], errors="coerce").fillna(0).to_numpy(dtype=float)
    wk = np.where(op, wk, 0.0)
    park_of = project_parks(projects, plots)
    ids = parks[Col.PARK_ID].astype(object).to_numpy()
    per = np.array([wk[park_of == p].sum() for p in ids], dtype=float)
    return per, round(wk.sum())


def housing_coverage(
    parks: gpd.GeoDataFrame,
    projects: pd.DataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    plots: gpd.GeoDataFrame | None = None,
    as_of: DateLike | None = None,
    reach_m: float = DEFAULT_REACH_M,
) -> pd.DataFrame:
    """Housing beds and services within reach of each park, per park and province-wide.

    Parameters
    ----------
    parks : GeoDataFrame
        The ``parks`` layer, in a projected CRS in metres (EPSG:9209 for Bắc Ninh).
    projects : DataFrame
        The ``projects`` table. A park's workers are the ``workers`` of the projects
        valid and operating on ``as_of`` whose plots lie in the park.
    facilities : GeoDataFrame
        The ``facilities`` layer, in the same CRS as ``parks``. Only facilities in
        service on ``as_of`` count (``commissioned_on <= as_of``; without a date,
        ``status == 'operating'``).
    plots : GeoDataFrame, optional
        The ``plots`` layer, which places projects in parks. Without it (and
        without a ``park_id`` column in ``projects``) no worker is placed in a park.
    as_of : date-like, optional
        Evaluation date; default today.
    reach_m : float, default 5000
        Straight-line reach in metres from the park boundary.

    Returns
    -------
    DataFrame
        Columns :data:`HOUSING_COLUMNS`, one row per park, then one whose
        ``park_id`` is ``"province"``:

        * ``workers`` - people;
        * ``beds_within_reach`` - beds of worker housing (``capacity`` in
          ``beds``) within ``reach_m``. A housing project within reach of several
          parks is shared between them in proportion to their workers (equally
          if none of them has workers), so no bed is counted twice;
        * ``beds_per_worker`` - beds / workers (NaN without workers);
        * ``nearest_<kind>_m`` - metres from the park boundary to the nearest
          school, kindergarten, clinic and market in service (NaN if none);
        * ``services_within_reach`` - how many of those four kinds are within reach.

        The province row counts every worker (also those of projects with no
        plot) and every bed within reach of some park; its distances are NaN.

    Raises
    ------
    CRSError
        If a layer has a geographic or missing CRS, or the CRSs differ.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.analytics import housing_coverage
    >>> atlas = kcn_gis.open_atlas()
    >>> t = housing_coverage(atlas.parks, atlas.projects, atlas.facilities, plots=atlas.plots, as_of="2011-12-26")
    >>> int(t.loc[t["park_id"] == "province", "beds_within_reach"].iloc[0])
    16512
    """
    d = as_of_date(as_of)
    require_same_crs((parks, "parks"), (facilities, "facilities"), *([(plots, "plots")] if plots is not None else []))
    require_columns(parks, (Col.PARK_ID,), "parks")
    require_columns(
        facilities, (Col.KIND, Col.CAPACITY, Col.CAPACITY_UNIT, Col.STATUS, Col.COMMISSIONED_ON), "facilities"
    )
    reach = float(reach_m)
    workers, province_workers = workers_by_park(parks, projects, plots=plots, as_of=d)
    park_g = usable(geoms(parks))
    n = len(parks)

    live = in_service(facilities, d)
    kind = facilities[Col.KIND].astype(object).to_numpy()
    fac_g = geoms(facilities)
    # distance (m) from every facility in service to every park boundary: facilities x parks
    dist = np.full((len(facilities), n), np.inf)
    sel = np.flatnonzero(live & ~shapely.is_missing(fac_g))
    if sel.size and n:
        dist[sel] = shapely.distance(fac_g[sel][:, None], park_g[None, :])

    unit = facilities[Col.CAPACITY_UNIT].astype(object).to_numpy()
    housing = live & (kind == str(FacilityKind.WORKER_HOUSING)) & ((unit == str(CapacityUnit.BEDS)) | pd.isna(unit))
    beds = pd.to_numeric(facilities[Col.CAPACITY], errors="coerce").fillna(0).to_numpy(dtype=float)
    park_beds = np.zeros(n)
    province_beds = 0.0
    for i in np.flatnonzero(housing):
        near = dist[i] <= reach
        if not near.any() or beds[i] <= 0:
            continue
        w = np.where(near, workers, 0.0)
        share = w / w.sum() if w.sum() > 0 else near / near.sum()
        park_beds += beds[i] * share
        province_beds += beds[i]

    out = pd.DataFrame(
        {
            "park_id": parks[Col.PARK_ID].astype(object).to_numpy(),
            "name": parks[Col.NAME].astype(object).to_numpy() if Col.NAME in parks.columns else None,
            "workers": workers.astype(np.int64),
            "beds_within_reach": park_beds,
            "beds_per_worker": ratio(park_beds, workers),
        }
    )
    within = np.zeros(n, dtype=np.int64)
    for k in SERVICE_KINDS:
        rows = kind == str(k)
        nearest = dist[rows].min(axis=0) if rows.any() and n else np.full(n, np.inf)
        out[f"nearest_{k}_m"] = np.where(np.isfinite(nearest), nearest, np.nan)
        within += (nearest <= reach).astype(np.int64)
    out["services_within_reach"] = within
    province: dict[str, Any] = {c: np.nan for c in HOUSING_COLUMNS}
    province.update(
        {
            "park_id": PROVINCE,
            "name": None,
            "workers": province_workers,
            "beds_within_reach": province_beds,
            "beds_per_worker": province_beds / province_workers if province_workers else np.nan,
            "services_within_reach": pd.NA,
        }
    )
    out = pd.concat([out, pd.DataFrame([province])], ignore_index=True)
    out["workers"] = out["workers"].astype(np.int64)
    out["services_within_reach"] = out["services_within_reach"].astype("Int64")
    log.info("housing coverage on %s within %.0f m: %.0f beds for %d workers", d.date(), reach, province_beds,
             province_workers)  # fmt: skip
    return out[list(HOUSING_COLUMNS)]
