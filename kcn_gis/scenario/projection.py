"""The projection model: how fast each park leases its land, fitted from the atlas's own history.

:class:`LeasePaceModel` is the default model; any object with a ``fit(plots,
parks, *, history_end)`` method returning something with the attributes of
:class:`PaceFit` can replace it (pass ``model=`` to the scenario functions).

Method (see ``docs/scenarios.md``):

* The yearly series of leased industrial hectares per park (31 December of each
  year, :func:`kcn_gis.analytics.fill_rate_trend` with ``by="park"``) is built
  from the plot dates up to ``history_end``.
* A park that has started (a dated industrial plot) leases, after
  ``history_end``, at its *recent pace*: the yearly increments of its last
  ``window`` years (only years from its start). Their lower quartile, median
  and upper quartile give the low, central and high pace.
* A park that has not started leases, from its start date, at the *ramp-up
  pace* of the parks that have: for each, the hectares leased by 31 December of
  its ``ramp_years``-th year divided by the years elapsed since its first plot
  date; the quartiles across parks give low, central and high.
* Cumulative leased land never exceeds the park's planned industrial land.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from kcn_gis.analytics import fill_rate_trend
from kcn_gis.analytics._common import M2_PER_HA, dates
from kcn_gis.analytics.pieces import clip_to_own_park, park_lookup
from kcn_gis.schema import Col, LandUse, ParkStatus

__all__ = ["BANDS", "LeasePaceModel", "PaceFit", "truncate_history"]

log = logging.getLogger(__name__)

#: The three projections of every figure: low (lower quartile pace), mid (median), high (upper quartile).
BANDS = ("low", "mid", "high")
_DATE_COLS = (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON)
DAYS_PER_YEAR = 365.25


def truncate_history(plots: gpd.GeoDataFrame, until: pd.Timestamp) -> gpd.GeoDataFrame:
    """The plots as they were known on ``until``: every date after it is cleared (NaT). Geometry is kept."""
    out = plots.copy()
    for c in _DATE_COLS:
        d = dates(out, c)
        out[c] = d.where(~(d > until)).astype("datetime64[ms]")
    return out


@dataclass(frozen=True)
class PaceFit:
    """A fitted lease pace.

    Attributes
    ----------
    history_end : Timestamp
        Last date of the history used.
    fit_year : int
        ``history_end.year``; projections step from 31 December of the following years.
    parks : DataFrame
        One row per park that has started: ``park_id``, ``start`` (first plot date), ``leased_ha``
        (on ``history_end``), ``planned_ha``, ``years_used``, ``pace_low``, ``pace_mid``, ``pace_high``
        (ha per year).
    ramp : DataFrame
        The parks used for the ramp-up pace: ``park_id``, ``start``, ``ramp_pace`` (ha per year).
    new_park_pace : dict
        Band -> ha per year for a park that has not started (quartiles of ``ramp.ramp_pace``).
    default_share : float
        Median planned industrial share (planned industrial ha / park area) of the operating
        parks with plots, used for a park without plots when a scenario gives no share.
    """

    history_end: pd.Timestamp
    fit_year: int
    parks: pd.DataFrame
    ramp: pd.DataFrame
    new_park_pace: dict[str, float]
    default_share: float
    window: int = 3
    ramp_years: int = 3
    notes: tuple[str, ...] = field(default=())

    def pace(self, park_id: str | None, band: str) -> float:
        """Lease pace in ha/year of ``park_id`` (``None`` or a park that has not started: the ramp-up pace)."""
        if park_id is not None:
            row = self.parks[self.parks[Col.PARK_ID] == park_id]
            if len(row):
                return float(row[f"pace_{band}"].iloc[0])
        return float(self.new_park_pace[band])

    def started(self, park_id: str) -> bool:
        return bool((self.parks[Col.PARK_ID] == park_id).any())


@dataclass(frozen=True)
class LeasePaceModel:
    """The default projection model: per-park recent lease pace, ramp-up pace of comparable parks for new ones.

    Parameters
    ----------
    window : int, default 3
        Years of recent history per park (yearly increments of leased hectares).
    ramp_years : int, default 3
        Years after its start over which a park's ramp-up pace is measured.
    """

    window: int = 3
    ramp_years: int = 3

    def fit(self, plots: gpd.GeoDataFrame, parks: gpd.GeoDataFrame, *, history_end: Any) -> PaceFit:
        """Fit the pace from the plot dates up to ``history_end`` (later dates are ignored).

        Parameters
        ----------
        plots, parks : GeoDataFrame
            Atlas layers in the same projected CRS (EPSG:9209 metres); areas in hectares.
        history_end : date-like
            Last date of the history to use.

        Returns
        -------
        PaceFit
        """
        end = pd.Timestamp(history_end).normalize()
        fit_year = int(end.year)
        hist = truncate_history(plots, end)
        ind = hist[hist[Col.LAND_USE].astype(str) == str(LandUse.INDUSTRIAL)]
        first = pd.concat([dates(ind, Col.ACQUIRED_ON), dates(ind, Col.LEASED_ON)], axis=1).min(axis=1)
        start = first.groupby(ind[Col.PARK_ID].astype(str)).min().dropna()
        lookup, pos = park_lookup(parks)
        park_area = pd.Series(np.asarray(parks.geometry.area, dtype=float)[pos] / M2_PER_HA, index=lookup.astype(str))
        if start.empty:
            y0 = fit_year - max(self.window, self.ramp_years)
        else:
            y0 = min(int(start.min().year) - 1, fit_year - self.window)
        trend = fill_rate_trend(hist, parks, start=y0, end=fit_year, by="park", parks_included="all")
        series = trend.pivot(index="year", columns=str(Col.PARK_ID), values="leased_ha")
        planned = trend[trend["year"] == fit_year].set_index(str(Col.PARK_ID))["planned_ha"]
        rows, ramp_rows, notes = [], [], []
        for pid, s0 in start.items():
            if pid not in series.columns:
                continue
            s = series[pid]
            sy = int(s0.year)
            years = [y for y in range(fit_year - self.window + 1, fit_year + 1) if y >= sy]
            inc = np.array([s.loc[y] - s.loc[y - 1] for y in years], dtype=float)
            q = np.percentile(inc, [25, 50, 75]) if inc.size else np.zeros(3)
            q = np.maximum(q, 0.0)
            rows.append(
                {
                    str(Col.PARK_ID): pid,
                    "start": s0,
                    "leased_ha": float(s.loc[fit_year]),
                    "planned_ha": float(planned.get(pid, 0.0)),
                    "years_used": len(years),
                    "pace_low": float(q[0]),
                    "pace_mid": float(q[1]),
                    "pace_high": float(q[2]),
                }
            )
            ry = sy + self.ramp_years - 1
            if ry <= fit_year:
                t = (pd.Timestamp(year=ry, month=12, day=31) - s0).days / DAYS_PER_YEAR
                ramp_rows.append({str(Col.PARK_ID): pid, "start": s0, "ramp_pace": float(s.loc[ry]) / t})
        parks_fit = pd.DataFrame(
            rows,
            columns=[
                str(Col.PARK_ID),
                "start",
                "leased_ha",
                "planned_ha",
                "years_used",
                "pace_low",
                "pace_mid",
                "pace_high",
            ],
        )
        ramp = pd.DataFrame(ramp_rows, columns=[str(Col.PARK_ID), "start", "ramp_pace"])
        if len(ramp):
            rq = np.percentile(ramp["ramp_pace"].to_numpy(), [25, 50, 75])
        else:
            rq = np.zeros(3)
            notes.append("no park has ramp_years of history: parks that have not started are projected at 0 ha/year")
            log.warning(notes[-1])
        operating = parks[Col.STATUS].astype(str).to_numpy()[pos] == str(ParkStatus.OPERATING)
        with_plots = [p for p, op in zip(lookup.astype(str), operating, strict=True) if op and planned.get(p, 0) > 0]
        shares = [float(planned[p]) / float(park_area[p]) for p in with_plots if park_area[p] > 0]
        default_share = float(np.median(shares)) if shares else 0.5
        return PaceFit(
            history_end=end,
            fit_year=fit_year,
            parks=parks_fit,
            ramp=ramp,
            new_park_pace=dict(zip(BANDS, (float(x) for x in rq), strict=True)),
            default_share=default_share,
            window=self.window,
            ramp_years=self.ramp_years,
            notes=tuple(notes),
        )


def industrial_area_ha(plots: gpd.GeoDataFrame, parks: gpd.GeoDataFrame) -> np.ndarray:
    """Area in ha of each plot inside its own park (0 for plots of unknown parks), aligned with ``plots``."""
    lookup, pos = park_lookup(parks)
    idx = lookup.get_indexer(plots[Col.PARK_ID].astype(object).to_numpy())
    pg = np.asarray(parks.geometry.values, dtype=object)[pos]
    g = np.asarray(plots.geometry.values, dtype=object)
    out = np.zeros(len(plots))
    ok = idx >= 0
    if ok.any():
        area, _ = clip_to_own_park(g[ok], pg[idx[ok]])
        out[ok] = area / M2_PER_HA
    return out
