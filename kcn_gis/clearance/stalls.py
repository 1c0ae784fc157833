"""What is stuck and why: stalled parcels, disputed parcels, and the completion forecast per park.

All functions are pure and vectorised; areas in hectares from the parcel
geometries in their projected CRS (EPSG:9209).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from kcn_gis.clearance.history import (
    _EVENTS,
    _KIND,
    _NAT,
    STAGE_RANK,
    _ms,
    _positions,
    _prepare,
    _voided,
    parcel_stages,
)
from kcn_gis.clearance.progress import _blocks_with_park, _reached_area_at, parcel_area_ha, requested_parks
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.schema import Col, Event

__all__ = [
    "DAYS_PER_MONTH",
    "ForecastStatus",
    "clearance_forecast",
    "disputed_parcels",
    "stalled_parcels",
]

log = logging.getLogger(__name__)

#: Mean length of a month in days (365.25 / 12), used for paces in ha per month.
DAYS_PER_MONTH = 30.4375

_FORECAST_COLUMNS = (
    "park_id",
    "area_total_ha",
    "handed_over_ha",
    "remaining_ha",
    "window_start",
    "window_end",
    "window_handed_over_ha",
    "pace_ha_per_month",
    "pace_low_ha_per_month",
    "pace_high_ha_per_month",
    "forecast_date",
    "forecast_earliest",
    "forecast_latest",
    "status",
    "message",
)

_PARCEL_INFO = (Col.PARK_ID, Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO)


class ForecastStatus:
    """Values of the ``status`` column of :func:`clearance_forecast`."""

    COMPLETE = "complete"
    FORECAST = "forecast"
    NO_RECENT_PROGRESS = "no_recent_progress"
    NO_PARCELS = "no_parcels"


def _last_rows(
    ev: pd.DataFrame,
    pos: np.ndarray,
    n: int,
    as_of: pd.Timestamp,
    *,
    kinds: Iterable[str] | None = None,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Row number (into ``ev``) of each parcel position's last event up to ``as_of`` (-1 when none)."""
    date = ev["date"].to_numpy()
    m = (pos >= 0) & (date <= _ms(as_of))
    if kinds is not None:
        m &= np.isin(ev["kind"].to_numpy(), [_KIND[k] for k in kinds])
    if mask is not None:
        m &= mask
    idx = np.flatnonzero(m)
    order = np.lexsort((ev["recorded_at"].to_numpy()[idx], ev["rank"].to_numpy()[idx], date[idx], pos[idx]))
    idx = idx[order]
    out = np.full(n, -1, dtype=np.int64)
    if idx.size:
        ps = pos[idx]
        last = np.r_[ps[1:] != ps[:-1], True]
        out[ps[last]] = idx[last]
    return out


def _take(values: Any, rows: np.ndarray) -> np.ndarray:
    """``values[rows]`` as objects, None where ``rows`` is -1."""
    if len(values) == 0:
        return np.full(len(rows), None, dtype=object)
    out = pd.Series(values).astype(object).to_numpy()[np.maximum(rows, 0)].copy()
    out[rows < 0] = None
    return out


def _take_date(values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return np.full(len(rows), np.datetime64("NaT", "ms"))
    out = values[np.maximum(rows, 0)].copy()
    out[rows < 0] = _NAT
    return out.view("datetime64[ms]")


def _info(parcels: pd.DataFrame, rows: np.ndarray) -> dict[str, Any]:
    return {str(c): parcels[c].to_numpy()[rows] for c in _PARCEL_INFO if c in parcels.columns}


def stalled_parcels(
    events: pd.DataFrame, parcels: gpd.GeoDataFrame, *, as_of: DateLike | None = None, days: int = 90
) -> pd.DataFrame:
    """Return the parcels whose clearance has made no progress for ``days`` days.

    A parcel is stalled on ``as_of`` when it has started (it has a stage), is not
    handed over, and its last stage event still in force is ``days`` days or more
    before ``as_of``. Complaints, enforcement and corrections are not progress.
    Parcels that have not started are not listed (see :func:`clearance_progress`).

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    parcels : GeoDataFrame
        The ``parcels`` layer, projected CRS (EPSG:9209).
    as_of : date-like, optional
        Default: today.
    days : int, default 90
        Days without progress.

    Returns
    -------
    DataFrame
        Indexed like ``parcels`` (stalled ones only, longest stalled first), with
        ``parcel_id``, ``park_id``, ``commune``, ``map_sheet``, ``parcel_no``,
        ``stage``, ``last_progress_date``, ``days_without_progress``,
        ``open_complaint``, ``last_event``, ``last_event_date``,
        ``last_event_reference``, ``last_event_note`` and ``area_ha`` (hectares).
    """
    if days < 0:
        raise ValueError("days must be >= 0")
    asof = as_of_date(as_of)
    area = parcel_area_ha(parcels)
    st = parcel_stages(events, parcels, as_of=asof)
    idle = (asof - st["last_progress_date"]).dt.days
    mask = (st["stage"].notna() & (st["stage"] != str(Event.HANDED_OVER)) & (idle >= days)).to_numpy()
    rows = np.flatnonzero(mask)
    ev = _prepare(events)
    last = _last_rows(ev, _positions(ev, parcels), len(parcels), asof)[rows]
    src = events.iloc[np.maximum(last, 0)] if len(events) else events
    kind = ev["kind"].to_numpy()
    out = pd.DataFrame(
        {
            Col.PARCEL_ID: st[Col.PARCEL_ID].to_numpy()[rows],
            **_info(parcels, rows),
            "stage": st["stage"].to_numpy()[rows],
            "last_progress_date": st["last_progress_date"].to_numpy()[rows],
            "days_without_progress": idle.to_numpy()[rows].astype("int64"),
            "open_complaint": st["open_complaint"].to_numpy()[rows],
            "last_event": np.array([_EVENTS[k] for k in kind[last]], dtype=object) if len(rows) else [],
            "last_event_date": _take_date(ev["date"].to_numpy(), last),
            "last_event_reference": _take(src.get(Col.REFERENCE, []), np.arange(len(rows))),
            "last_event_note": _take(src.get(Col.NOTE, []), np.arange(len(rows))),
            "area_ha": area.to_numpy()[rows],
        },
        index=parcels.index[rows],
    )
    out = _text_columns(out)
    out["last_event_date"] = pd.to_datetime(out["last_event_date"]).astype("datetime64[ms]")
    out["last_progress_date"] = pd.to_datetime(out["last_progress_date"]).astype("datetime64[ms]")
    return out.sort_values(["days_without_progress", Col.PARCEL_ID], ascending=[False, True], kind="stable")


def _text_columns(frame: pd.DataFrame) -> pd.DataFrame:
    for c in frame.columns:
        if frame[c].dtype == object:
            frame[c] = frame[c].astype("str")
    return frame


def disputed_parcels(events: pd.DataFrame, parcels: gpd.GeoDataFrame, *, as_of: DateLike | None = None) -> pd.DataFrame:
    """Return the parcels with an open complaint on ``as_of``.

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    parcels : GeoDataFrame
        The ``parcels`` layer, projected CRS (EPSG:9209).
    as_of : date-like, optional
        Default: today.

    Returns
    -------
    DataFrame
        Indexed like ``parcels`` (disputed ones only, oldest complaint first), with
        ``parcel_id``, ``park_id``, ``commune``, ``map_sheet``, ``parcel_no``,
        ``stage``, ``complaint_date``, ``days_open``, ``complaint_reference``,
        ``complaint_note``, ``enforcement_date`` (last enforcement up to
        ``as_of``, NaT if none) and ``area_ha`` (hectares).
    """
    asof = as_of_date(as_of)
    area = parcel_area_ha(parcels)
    st = parcel_stages(events, parcels, as_of=asof)
    rows = np.flatnonzero(st["open_complaint"].to_numpy())
    ev = _prepare(events)
    pos = _positions(ev, parcels)
    in_force = ~_voided(ev, asof)
    comp = _last_rows(ev, pos, len(parcels), asof, kinds=[str(Event.COMPLAINT)], mask=in_force)[rows]
    enf = _last_rows(ev, pos, len(parcels), asof, kinds=[str(Event.ENFORCEMENT)], mask=in_force)[rows]
    cdate = _take_date(ev["date"].to_numpy(), comp)
    out = pd.DataFrame(
        {
            Col.PARCEL_ID: st[Col.PARCEL_ID].to_numpy()[rows],
            **_info(parcels, rows),
            "stage": st["stage"].to_numpy()[rows],
            "complaint_date": cdate,
            "days_open": (asof - pd.DatetimeIndex(cdate)).days.to_numpy().astype("int64"),
            "complaint_reference": _take(events.get(Col.REFERENCE, []), comp),
            "complaint_note": _take(events.get(Col.NOTE, []), comp),
            "enforcement_date": _take_date(ev["date"].to_numpy(), enf),
            "area_ha": area.to_numpy()[rows],
        },
        index=parcels.index[rows],
    )
    out = _text_columns(out)
    return out.sort_values(["complaint_date", Col.PARCEL_ID], kind="stable")


def clearance_forecast(
    events: pd.DataFrame,
    parcels: gpd.GeoDataFrame,
    *,
    as_of: DateLike | None = None,
    window_days: int = 180,
    park: str | Iterable[str] | None = None,
    parks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Forecast when each park will be fully handed over, at the recent pace.

    The pace is the net area handed over during the ``window_days`` days up to
    ``as_of``, in hectares per month (a month = 30.4375 days). The window is cut
    into (about) monthly bins; the range of the pace is the mean monthly rate
    plus or minus one standard error of the monthly rates (never below zero).
    The forecast date is ``as_of`` plus the remaining area divided by the pace;
    the earliest date uses the high pace and the latest the low pace.

    If nothing was handed over in the window (pace 0 or a net loss after
    corrections), ``status`` is ``"no_recent_progress"`` and every date is NaT:
    no date is invented. When the low pace is 0 the latest date is NaT (open-ended).

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    parcels : GeoDataFrame
        The ``parcels`` layer, projected CRS (EPSG:9209).
    as_of : date-like, optional
        Default: today.
    window_days : int, default 180
        Length of the recent window, in days.
    park : str or list of str, optional
        Only these parks (ids without case; names with ``parks``, as in
        :func:`~kcn_gis.clearance.clearance_progress`). Default: every park with parcels.
    parks : DataFrame, optional
        The ``parks`` layer, to know parks without parcels and to match names.

    Returns
    -------
    DataFrame
        One row per park: ``park_id``, ``area_total_ha``, ``handed_over_ha``,
        ``remaining_ha``, ``window_start``, ``window_end``, ``window_handed_over_ha``,
        ``pace_ha_per_month``, ``pace_low_ha_per_month``, ``pace_high_ha_per_month``,
        ``forecast_date``, ``forecast_earliest``, ``forecast_latest``, ``status``
        (see :class:`ForecastStatus`) and ``message`` (a sentence for people).
    """
    if window_days <= 0:
        raise ValueError("window_days must be > 0")
    asof = as_of_date(as_of)
    area = parcel_area_ha(parcels)
    start = asof - pd.Timedelta(days=window_days)
    nbins = max(1, round(window_days / DAYS_PER_MONTH))
    edges = [start + (asof - start) * i / nbins for i in range(nbins + 1)]
    park_of = parcels[Col.PARK_ID].to_numpy()
    totals = pd.Series(area.to_numpy()).groupby(park_of).sum()
    wanted = requested_parks(park, pd.Index(totals.index), parks)
    blocks = _blocks_with_park(events, parcels, area, min_rank=STAGE_RANK[str(Event.HANDED_OVER)])
    at = _reached_area_at(blocks, edges).reindex(index=wanted, columns=range(nbins + 1)).fillna(0.0)
    bin_months = (asof - start).days / nbins / DAYS_PER_MONTH
    rows = []
    for p in wanted:
        total = float(totals.get(p, 0.0))
        done_ha = float(at.loc[p, nbins])
        remaining = max(total - done_ha, 0.0)
        series = at.loc[p].to_numpy()
        gained = float(series[-1] - series[0])
        rates = np.diff(series) / bin_months
        pace = gained / (window_days / DAYS_PER_MONTH)
        se = float(np.std(rates, ddof=1) / math.sqrt(len(rates))) if len(rates) > 1 else 0.0
        low, high = max(pace - se, 0.0), max(pace + se, 0.0)
        fc = fe = fl = pd.NaT
        if total <= 0:
            status = ForecastStatus.NO_PARCELS
            msg = "The park has no parcel area; nothing to forecast."
        elif remaining <= 1e-9:
            status = ForecastStatus.COMPLETE
            msg = f"All {total:,.2f} ha are handed over."
        elif pace <= 0:
            status = ForecastStatus.NO_RECENT_PROGRESS
            low = high = pace = max(pace, 0.0)
            msg = (
                f"No recent progress: no net area was handed over in the {window_days} days to "
                f"{asof:%d/%m/%Y}; {remaining:,.2f} ha remain and no completion date can be forecast at this pace."
            )
        else:
            status = ForecastStatus.FORECAST
            fc = _after(asof, remaining / pace)
            fe = _after(asof, remaining / high)
            fl = _after(asof, remaining / low) if low > 0 else pd.NaT
            latest = _month(fl) if low > 0 else "open-ended (some months had no progress)"
            msg = (
                f"At {pace:,.2f} ha/month (range {low:,.2f}-{high:,.2f}) over the last {window_days} days, "
                f"the remaining {remaining:,.2f} ha would be handed over around {_month(fc)} "
                f"(earliest {_month(fe)}, latest {latest})."
            )
        rows.append(
            {
                "park_id": p,
                "area_total_ha": total,
                "handed_over_ha": done_ha,
                "remaining_ha": remaining,
                "window_start": start,
                "window_end": asof,
                "window_handed_over_ha": gained,
                "pace_ha_per_month": pace,
                "pace_low_ha_per_month": low,
                "pace_high_ha_per_month": high,
                "forecast_date": fc,
                "forecast_earliest": fe,
                "forecast_latest": fl,
                "status": status,
                "message": msg,
            }
        )
    out = pd.DataFrame(rows, columns=list(_FORECAST_COLUMNS))
    for c in ("window_start", "window_end", "forecast_date", "forecast_earliest", "forecast_latest"):
        if c in out:
            out[c] = pd.to_datetime(out[c]).astype("datetime64[ms]")
    return _text_columns(out)


_MAX_FORECAST_DAYS = 100 * 365  # beyond a century a date is meaningless: NaT, and the message says so


def _after(start: pd.Timestamp, months: float) -> pd.Timestamp:
    """``start`` plus ``months`` mean months, rounded up to a whole day; NaT beyond a century."""
    days = math.ceil(months * DAYS_PER_MONTH)
    if days > _MAX_FORECAST_DAYS:
        return pd.NaT
    return start + pd.Timedelta(days=days)


def _month(ts: Any) -> str:
    return "more than 100 years away" if pd.isna(ts) else f"{ts:%m/%Y}"
