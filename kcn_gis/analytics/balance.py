"""The river balance: how development splits between the two banks of the Đuống."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics._common import (
    M2_PER_HA,
    dates,
    geoms,
    group_sum,
    included_parks_mask,
    ratio,
    require_columns,
    require_same_crs,
    usable,
)
from kcn_gis.analytics.banks import BANK_COLUMN, DUONG, split_banks
from kcn_gis.analytics.fill import finish as finish_fill
from kcn_gis.analytics.pieces import aggregate, bank_pieces, prepare
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.schema import Col, LandUse

__all__ = ["BALANCE_COLUMNS", "SHARED_COLUMNS", "balance_index", "finish", "river_balance"]

log = logging.getLogger(__name__)

#: Columns whose per-bank share is reported as ``<column>_share``.
SHARED_COLUMNS = (
    "park_count",
    "park_area_ha",
    "planned_ha",
    "acquired_ha",
    "leased_ha",
    "valid_projects",
    "registered_capital_usd",
    "workers",
    "province_area_ha",
)
#: All columns of :func:`river_balance`, in order.
BALANCE_COLUMNS = (
    BANK_COLUMN,
    "park_count",
    "park_area_ha",
    "planned_ha",
    "acquired_ha",
    "leased_ha",
    "fill_rate_planned",
    "fill_rate_acquired",
    "valid_projects",
    "registered_capital_usd",
    "workers",
    "province_area_ha",
    *(f"{c}_share" for c in SHARED_COLUMNS),
    "balance_index",
)


def balance_index(leased_share: Any, area_share: Any) -> Any:
    """The balance index of a bank: its share of leased land divided by its share of the province area.

    1 means the bank has exactly its proportional share of leased industrial
    land; below 1 it lags, above 1 it leads. NaN when the area share is 0.
    """
    return ratio(np.asarray(leased_share, dtype=float), np.asarray(area_share, dtype=float))


def finish(base: pd.DataFrame) -> pd.DataFrame:
    """Add each bank's shares and the balance index: the combine step of :func:`river_balance`, both engines.

    Parameters
    ----------
    base : DataFrame
        One row per bank with the ``bank`` column, the :data:`SHARED_COLUMNS`
        (hectares, counts, USD: additive) and ``fill_rate_planned``,
        ``fill_rate_acquired``.

    Returns
    -------
    DataFrame
        Columns :data:`BALANCE_COLUMNS`: ``<column>_share`` is the bank's share of
        the total over the banks (fraction 0-1, NaN when the total is 0) and
        ``balance_index`` is :func:`balance_index` of the leased-land and area shares.
    """
    out = base.reset_index(drop=True).copy()
    n = len(out)
    for c in SHARED_COLUMNS:
        values = out[c].to_numpy(dtype=float)
        out[f"{c}_share"] = ratio(values, np.full(n, float(values.sum())))
    out["balance_index"] = balance_index(out["leased_ha_share"], out["province_area_ha_share"])
    return out[list(BALANCE_COLUMNS)]


def _valid_projects(projects: pd.DataFrame, d: pd.Timestamp) -> np.ndarray:
    licensed = dates(projects, Col.LICENSED_ON)
    revoked = dates(projects, Col.REVOKED_ON)
    ok = licensed.notna() & (licensed <= d) & ~(revoked.notna() & (revoked <= d))
    return ok.to_numpy(dtype=bool)


def _numbers(projects: pd.DataFrame, col: str) -> np.ndarray:
    return pd.to_numeric(projects[col], errors="coerce").astype("float64").fillna(0.0).to_numpy()


def river_balance(
    province: gpd.GeoDataFrame,
    rivers: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    plots: gpd.GeoDataFrame,
    projects: pd.DataFrame,
    *,
    as_of: DateLike | None = None,
    river: str = DUONG,
    parks_included: str = "operating",
    land_uses: Sequence[str] = (str(LandUse.INDUSTRIAL),),
) -> pd.DataFrame:
    """Compare the two banks of ``river``: parks, land, fill rates, projects and workers, and their shares.

    The province is split with :func:`~kcn_gis.analytics.split_banks`. Then per bank:

    * ``park_count`` – parks counted by area share: a park with 30 % of its area
      south of the river counts 0.3 south and 0.7 north (so the count is fractional);
    * ``park_area_ha`` – park area on the bank (parks split by the river);
    * ``planned_ha``, ``acquired_ha``, ``leased_ha``, ``fill_rate_planned``,
      ``fill_rate_acquired`` – as :func:`~kcn_gis.analytics.fill_rates` with ``by="bank"``;
    * ``valid_projects``, ``registered_capital_usd``, ``workers`` – projects valid on
      ``as_of`` (``licensed_on <= as_of`` and not revoked by then), placed on the
      banks through their plots (all plots with the project's ``project_id``, split
      by area share; a project with no plot is not counted, the checks list it);
    * ``province_area_ha`` – the bank's area;
    * ``<column>_share`` – the bank's share of each of those (NaN when the total is 0);
    * ``balance_index`` – :func:`balance_index`: leased-land share / province-area share.

    ``parks_included`` and ``land_uses`` apply to the park and land figures (as in
    :func:`~kcn_gis.analytics.fill_rates`); projects are placed by all their plots.

    Parameters
    ----------
    province, rivers, parks, plots : GeoDataFrame
        Atlas layers, all in the same projected CRS (metres; EPSG:9209 for Bắc Ninh).
    projects : DataFrame
        The ``projects`` table.
    as_of : date-like, optional
        The date (``None`` = today).
    river : str, default "Sông Đuống"
        The river that splits the province.
    parks_included : {"operating", "all"}
        Which parks count (``"operating"`` is the official definition).
    land_uses : str or sequence of str (a single string is one land use)
        Plot land uses that count as planned/acquired/leased land.

    Returns
    -------
    DataFrame
        One row per bank (``north``, ``south``); columns :data:`BALANCE_COLUMNS`.
        Areas in hectares, capital in USD, rates and shares as fractions 0-1.

    Raises
    ------
    RiverSplitError
        If the river is unknown or cannot split the province.
    CRSError
        On a geographic or missing CRS, or layers in different CRSs.
    """
    require_same_crs((province, "province"), (rivers, "rivers"), (parks, "parks"), (plots, "plots"))
    require_columns(projects, (Col.PROJECT_ID, Col.LICENSED_ON, Col.REVOKED_ON), "projects")
    d = as_of_date(as_of)
    banks = split_banks(province, rivers, river=river)
    nb = len(banks)
    fill = finish_fill(
        aggregate(
            prepare(
                plots,
                parks,
                by="bank",
                parks_included=parks_included,
                land_uses=land_uses,
                banks=banks,
                province_name=None,
            ),
            d,
        )
    )

    # parks, by area share
    inc = np.flatnonzero(included_parks_mask(parks, parks_included))
    pg = usable(geoms(parks)[inc])
    src, code, area = bank_pieces(pg, banks)
    park_area = np.nan_to_num(shapely.area(pg), nan=0.0)
    park_count = group_sum(code, ratio(area, park_area[src]), nb)
    park_area_ha = group_sum(code, area, nb) / M2_PER_HA

    # projects, through their plots
    pid_series = projects[Col.PROJECT_ID].astype(object)
    first = pid_series.notna() & ~pid_series.duplicated()
    if int((pid_series.notna() & ~first).sum()):
        log.warning("projects: duplicate project_id values; only the first row of each counts")
    first_rows = np.flatnonzero(first.to_numpy())
    proj_index = pd.Index(pid_series.to_numpy()[first_rows])
    plot_pid = plots[Col.PROJECT_ID].astype(object).to_numpy() if Col.PROJECT_ID in plots.columns else np.array([])
    proj_pos = proj_index.get_indexer(plot_pid) if plot_pid.size else np.array([], dtype=np.int64)
    with_project = np.flatnonzero(proj_pos >= 0)
    psrc, pcode, parea = bank_pieces(usable(geoms(plots)[with_project]), banks)
    owner = proj_pos[with_project][psrc]
    total = np.bincount(owner, weights=parea, minlength=len(proj_index))
    weight = ratio(parea, total[owner])
    valid = _valid_projects(projects, d)[first_rows]
    capital = (
        _numbers(projects, Col.REGISTERED_CAPITAL_USD)[first_rows] if Col.REGISTERED_CAPITAL_USD in projects else 0
    )
    workers = _numbers(projects, Col.WORKERS)[first_rows] if Col.WORKERS in projects else 0
    w_valid = np.nan_to_num(weight) * valid[owner]
    valid_projects = group_sum(pcode, w_valid, nb)
    capital_usd = group_sum(pcode, w_valid * np.broadcast_to(capital, valid.shape)[owner], nb)
    workers_n = group_sum(pcode, w_valid * np.broadcast_to(workers, valid.shape)[owner], nb)

    out = pd.DataFrame(
        {
            BANK_COLUMN: pd.array([str(b) for b in banks[BANK_COLUMN]], dtype="str"),
            "park_count": park_count,
            "park_area_ha": park_area_ha,
            "planned_ha": fill["planned_ha"].to_numpy(),
            "acquired_ha": fill["acquired_ha"].to_numpy(),
            "leased_ha": fill["leased_ha"].to_numpy(),
            "fill_rate_planned": fill["fill_rate_planned"].to_numpy(),
            "fill_rate_acquired": fill["fill_rate_acquired"].to_numpy(),
            "valid_projects": valid_projects,
            "registered_capital_usd": capital_usd,
            "workers": workers_n,
            "province_area_ha": np.asarray(shapely.area(geoms(banks)), dtype=float) / M2_PER_HA,
        }
    )
    return finish(out)
