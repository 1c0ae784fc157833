"""Central wastewater treatment and temporary waste storage per park (B.II.4 of the Board's report).

A park has a plant or a storage when a facility of that kind is in service on
the date (``commissioned_on <= as_of``; undated facilities count when their
``status`` is ``operating``) and serves the park: its ``park_id`` is the park,
or it has no ``park_id`` and lies in or on the park (EPSG:9209 geometry).
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics._around import in_service, project_parks, valid_on
from kcn_gis.analytics._common import dates, geoms, require_columns, require_same_crs, usable
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import Problem
from kcn_gis.schema import CapacityUnit, Col, FacilityKind, Layer, ParkStatus

__all__ = ["ENVIRONMENT_CHECKS", "ENVIRONMENT_COLUMNS", "environment_problems", "environment_status"]

log = logging.getLogger(__name__)

#: Columns of :func:`environment_status`, in order.
ENVIRONMENT_COLUMNS = (
    "park_id",
    "name",
    "status",
    "wastewater_plant",
    "wastewater_capacity_m3_day",
    "waste_storage",
    "operating_since",
    "days_operating_without_plant",
)

#: Consistency checks on facilities (merged into :data:`kcn_gis.analytics.CHECKS`).
ENVIRONMENT_CHECKS: dict[str, tuple[str, str]] = {
    "facility_unknown_park": ("error", "a facility's park_id is not in the parks layer"),
    "park_without_wastewater_plant": (
        "warning",
        "an operating park has no central wastewater plant in service (B.II.4)",
    ),
    "park_without_waste_storage": ("warning", "an operating park has no temporary waste storage in service (B.II.4)"),
}


def _serving(parks: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame, wanted: np.ndarray) -> np.ndarray:
    """Boolean matrix facilities x parks: the facility (where ``wanted``) serves the park."""
    n, m = len(facilities), len(parks)
    out = np.zeros((n, m), dtype=bool)
    if not n or not m:
        return out
    park_ids = parks[Col.PARK_ID].astype(object).to_numpy()
    own = facilities[Col.PARK_ID].astype(object).to_numpy()
    has_own = ~pd.isna(own)
    out[has_own] = own[has_own][:, None] == park_ids[None, :]
    free = np.flatnonzero(~has_own & wanted)
    if free.size:
        pg = usable(geoms(parks))
        fg = geoms(facilities)[free]
        ok = ~shapely.is_missing(fg)
        inter = np.zeros((free.size, m), dtype=bool)
        inter[ok] = shapely.intersects(fg[ok][:, None], pg[None, :])
        out[free] = inter
    return out & wanted[:, None]


def _park_operating_since(parks: pd.DataFrame, projects: pd.DataFrame | None, plots: pd.DataFrame | None, d):
    """Per park, the earliest ``operating_since`` of its projects valid on ``d`` (NaT if none known)."""
    since = pd.Series(pd.NaT, index=range(len(parks)), dtype="datetime64[ms]")
    if projects is None or not len(projects):
        return since
    op = dates(projects, Col.OPERATING_SINCE)
    park_of = project_parks(projects, plots)
    ok = valid_on(projects, d) & op.notna().to_numpy()
    first = pd.Series(op.to_numpy()[ok], index=park_of[ok]).groupby(level=0).min()
    ids = parks[Col.PARK_ID].astype(object).to_numpy()
    return pd.Series([first.get(p, pd.NaT) for p in ids], dtype="datetime64[ms]")


def environment_status(
    parks: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    as_of: DateLike | None = None,
    projects: pd.DataFrame | None = None,
    plots: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Wastewater plant, its capacity and waste storage per park, and days operating without a plant.

    Parameters
    ----------
    parks : GeoDataFrame
        The ``parks`` layer, in a projected CRS in metres (EPSG:9209 for Bắc Ninh).
    facilities : GeoDataFrame
        The ``facilities`` layer, in the same CRS.
    as_of : date-like, optional
        Evaluation date; default today. A plant commissioned on ``as_of`` counts.
    projects, plots : optional
        The ``projects`` and ``plots`` layers. A park has been operating since the
        earliest ``operating_since`` of its valid projects (placed through their
        plots); without them that date is unknown.

    Returns
    -------
    DataFrame
        Columns :data:`ENVIRONMENT_COLUMNS`, one row per park:
        ``wastewater_plant`` (bool), ``wastewater_capacity_m3_day`` (m³/day, sum of
        the plants in service with capacity in ``m3_day``; 0 without),
        ``waste_storage`` (bool), ``operating_since`` (date) and
        ``days_operating_without_plant``: for a park whose ``status`` is
        ``operating`` and that had started operating on ``as_of``, the days since
        it started if it has no plant in service, 0 if it has one; null for parks
        not operating (or whose start is unknown).

    Raises
    ------
    CRSError
        If a layer has a geographic or missing CRS, or the CRSs differ.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.analytics import environment_status
    >>> atlas = kcn_gis.open_atlas()
    >>> t = environment_status(atlas.parks, atlas.facilities, as_of="2011-12-26",
    ...                        projects=atlas.projects, plots=atlas.plots)
    >>> bool(t.loc[t["park_id"] == "TS", "wastewater_plant"].iloc[0])
    True
    """
    d = as_of_date(as_of)
    require_same_crs((parks, "parks"), (facilities, "facilities"), *([(plots, "plots")] if plots is not None else []))
    require_columns(parks, (Col.PARK_ID, Col.STATUS), "parks")
    require_columns(facilities, (Col.KIND, Col.PARK_ID, Col.CAPACITY, Col.CAPACITY_UNIT, Col.STATUS), "facilities")
    live = in_service(facilities, d)
    kind = facilities[Col.KIND].astype(object).to_numpy()
    plant = _serving(parks, facilities, live & (kind == str(FacilityKind.WASTEWATER_PLANT)))
    storage = _serving(parks, facilities, live & (kind == str(FacilityKind.WASTE_STORAGE)))
    cap = pd.to_numeric(facilities[Col.CAPACITY], errors="coerce").fillna(0).to_numpy(dtype=float)
    m3 = facilities[Col.CAPACITY_UNIT].astype(object).to_numpy() == str(CapacityUnit.M3_DAY)
    capacity = (plant * np.where(m3, cap, 0.0)[:, None]).sum(axis=0) if len(facilities) else np.zeros(len(parks))
    has_plant = plant.any(axis=0) if len(facilities) else np.zeros(len(parks), dtype=bool)
    has_storage = storage.any(axis=0) if len(facilities) else np.zeros(len(parks), dtype=bool)

    since = _park_operating_since(parks, projects, plots, d)
    status = parks[Col.STATUS].astype(object).to_numpy()
    started = since.notna().to_numpy() & (since <= d).to_numpy()
    operating = (status == str(ParkStatus.OPERATING)) & started
    days = np.where(has_plant, 0.0, (d - since).dt.days.to_numpy(dtype=float))
    days = np.where(operating, days, np.nan)
    out = pd.DataFrame(
        {
            "park_id": parks[Col.PARK_ID].astype(object).to_numpy(),
            "name": parks[Col.NAME].astype(object).to_numpy() if Col.NAME in parks.columns else None,
            "status": status,
            "wastewater_plant": has_plant.astype(bool),
            "wastewater_capacity_m3_day": capacity.astype(float),
            "waste_storage": has_storage.astype(bool),
            "operating_since": since.to_numpy(),
            "days_operating_without_plant": pd.array([None if np.isnan(x) else int(x) for x in days], dtype="Int64"),
        }
    )
    log.info("environment on %s: %d of %d operating parks without a plant", d.date(),
             int((operating & ~has_plant).sum()), int(operating.sum()))  # fmt: skip
    return out[list(ENVIRONMENT_COLUMNS)]


def environment_problems(
    parks: gpd.GeoDataFrame,
    facilities: gpd.GeoDataFrame,
    *,
    as_of: DateLike | None = None,
    projects: pd.DataFrame | None = None,
    plots: gpd.GeoDataFrame | None = None,
) -> list[Problem]:
    """The facility checks of :func:`kcn_gis.analytics.check_consistency` (see :data:`ENVIRONMENT_CHECKS`).

    Facilities naming an unknown park are errors; operating parks without a
    wastewater plant or without waste storage in service on ``as_of`` are warnings
    that say for how many days the park has operated without a plant.
    """
    out: list[Problem] = []
    ids = parks[Col.PARK_ID].astype(object)
    known = set(ids.dropna())
    fac_ids = facilities[Col.FACILITY_ID].astype(object).to_numpy() if Col.FACILITY_ID in facilities else None
    own = facilities[Col.PARK_ID].astype(object)
    for p in np.flatnonzero(own.notna().to_numpy() & ~own.isin(known).to_numpy()):
        fid = fac_ids[p] if fac_ids is not None else None
        out.append(
            Problem(
                ENVIRONMENT_CHECKS["facility_unknown_park"][0],
                "facility_unknown_park",
                f"facility '{fid}' serves park_id '{own.iloc[p]}', which is not in the parks layer. "
                "Correct the park_id, or leave it empty for a facility serving several parks.",
                layer=str(Layer.FACILITIES),
                row=int(p) + 1,
                field=str(Col.PARK_ID),
                ids=(f"{Col.FACILITY_ID} '{fid}'",),
            )
        )
    status = environment_status(parks, facilities, as_of=as_of, projects=projects, plots=plots)
    d = as_of_date(as_of)
    for k, r in status.iterrows():
        if r["status"] != str(ParkStatus.OPERATING):
            continue
        row = int(k) + 1  # type: ignore[call-overload]
        if not r["wastewater_plant"]:
            days = r["days_operating_without_plant"]
            how_long = (
                f" for {int(days):,} days (since {pd.Timestamp(r['operating_since']).date()})"
                if not pd.isna(days)
                else ""
            )
            out.append(
                Problem(
                    ENVIRONMENT_CHECKS["park_without_wastewater_plant"][0],
                    "park_without_wastewater_plant",
                    f"park '{r['park_id']}' has operated without a central wastewater plant in service on {d.date()}"
                    f"{how_long}. Record the plant in the facilities layer (kind wastewater_plant) with its "
                    "commissioned_on date, or follow up with the developer.",
                    layer=str(Layer.PARKS),
                    row=row,
                    ids=(f"{Col.PARK_ID} '{r['park_id']}'",),
                )
            )
        if not r["waste_storage"]:
            out.append(
                Problem(
                    ENVIRONMENT_CHECKS["park_without_waste_storage"][0],
                    "park_without_waste_storage",
                    f"park '{r['park_id']}' has no temporary waste storage in service on {d.date()}. Record it in "
                    "the facilities layer (kind waste_storage), or follow up with the developer.",
                    layer=str(Layer.PARKS),
                    row=row,
                    ids=(f"{Col.PARK_ID} '{r['park_id']}'",),
                )
            )
    return out
