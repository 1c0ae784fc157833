"""History: yearly fill rates (and the bank balance) as a tidy series, and a chart of it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics._common import M2_PER_HA, geoms, ratio
from kcn_gis.analytics.balance import balance_index
from kcn_gis.analytics.banks import BANK_COLUMN
from kcn_gis.analytics.fill import finish as finish_fill
from kcn_gis.analytics.pieces import GROUP_KEYS, GroupBy, aggregate, prepare
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import Bank, LandUse

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["TREND_VALUES", "fill_rate_trend", "plot_trend"]

log = logging.getLogger(__name__)

#: Columns :func:`plot_trend` can draw, with their axis labels.
TREND_VALUES: dict[str, str] = {
    "fill_rate_planned": "Fill rate on planned area (%)",
    "fill_rate_acquired": "Fill rate on acquired area (%)",
    "leased_ha": "Leased area (ha)",
    "acquired_ha": "Acquired area (ha)",
    "planned_ha": "Planned area (ha)",
    "leased_ha_share": "Share of leased land (%)",
    "balance_index": "Balance index (leased share / area share)",
}
_PERCENT = {"fill_rate_planned", "fill_rate_acquired", "leased_ha_share"}


def _year(value: Any, what: str) -> int:
    try:
        year = int(value.year) if hasattr(value, "year") else int(value)
    except (TypeError, ValueError) as exc:
        raise KcnGisError(f"{what}={value!r} is not a year; give e.g. 2000") from exc
    return year


def fill_rate_trend(
    plots: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    *,
    start: Any,
    end: Any,
    by: GroupBy = "bank",
    banks: gpd.GeoDataFrame | None = None,
    parks_included: str = "operating",
    land_uses: Sequence[str] = (str(LandUse.INDUSTRIAL),),
    province_name: str | None = None,
) -> pd.DataFrame:
    """Yearly fill rates from ``start`` to ``end`` (inclusive), each year as of 31 December.

    The geometry (clipping plots to their park, splitting by bank) is computed
    once; each year is then a masked sum of the same pieces, so the series is
    consistent with :func:`~kcn_gis.analytics.fill_rates` on each 31 December.

    Parameters
    ----------
    plots, parks : GeoDataFrame
        The ``plots`` and ``parks`` layers in the same projected CRS (metres).
    start, end : int or date-like
        First and last year (a date counts as its year).
    by : {"bank", "park", "district", "province"}
        Grouping, as in :func:`~kcn_gis.analytics.fill_rates`.
    banks : GeoDataFrame, optional
        From :func:`~kcn_gis.analytics.split_banks`; required for ``by="bank"``.
    parks_included, land_uses, province_name
        As in :func:`~kcn_gis.analytics.fill_rates`.

    Returns
    -------
    DataFrame
        Long format: ``year``, ``as_of`` (the 31 December used), the key column,
        ``planned_ha``, ``acquired_ha``, ``leased_ha``, ``fill_rate_planned``,
        ``fill_rate_acquired``. With ``by="bank"`` also ``leased_ha_share`` (the
        bank's share of leased land that year), ``province_area_ha_share`` and
        ``balance_index`` (see :func:`~kcn_gis.analytics.balance_index`).
    """
    y0, y1 = _year(start, "start"), _year(end, "end")
    if y1 < y0:
        raise KcnGisError(f"the trend runs from {y0} to {y1}: the end year must not be before the start year")
    pieces = prepare(
        plots,
        parks,
        by=by,
        parks_included=parks_included,
        land_uses=land_uses,
        banks=banks,
        province_name=province_name,
    )
    frames = []
    for year in range(y0, y1 + 1):
        day = pd.Timestamp(year=year, month=12, day=31)
        f = finish_fill(aggregate(pieces, day))
        f.insert(0, "as_of", day)
        f.insert(0, "year", year)
        if by == "bank":
            assert banks is not None
            area = np.asarray(shapely.area(geoms(banks)), dtype=float) / M2_PER_HA
            f["leased_ha_share"] = ratio(f["leased_ha"].to_numpy(), np.full(len(f), f["leased_ha"].sum()))
            f["province_area_ha_share"] = ratio(area, np.full(len(f), area.sum()))
            f["balance_index"] = balance_index(f["leased_ha_share"], f["province_area_ha_share"])
        frames.append(f)
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype("int64")
    return out


def plot_trend(
    trend: pd.DataFrame,
    path: str | Path | None = None,
    *,
    value: str = "fill_rate_planned",
    title: str | None = None,
) -> Figure:
    """Draw a trend from :func:`fill_rate_trend` as lines per group (save it with :func:`kcn_gis.interop.exporters.write_chart`).

    Parameters
    ----------
    trend : DataFrame
        Output of :func:`fill_rate_trend` (``year``, a key column, values).
    path : None
        No longer accepted: analytics write no files. Pass the returned figure to
        :func:`kcn_gis.interop.exporters.write_chart` (``.png`` or ``.svg``).
    value : str, default "fill_rate_planned"
        The column to draw (one of :data:`TREND_VALUES`); fractions are drawn in %.
    title : str, optional
        Chart title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (not attached to pyplot, so nothing pops up).
    """
    from matplotlib.figure import Figure

    from kcn_gis.style import BANK_COLORS

    if value not in trend.columns:
        raise KcnGisError(f"the trend has no column '{value}'; draw one of {', '.join(TREND_VALUES)}")
    keys = [k for k in GROUP_KEYS.values() if k in trend.columns]
    if "year" not in trend.columns or not keys:
        raise KcnGisError("plot_trend needs a frame from fill_rate_trend (columns 'year' and a group key)")
    key = keys[0]
    if path is not None:
        raise KcnGisError(
            f"plot_trend draws the chart and writes no file (analytics do no I/O); to write {path}, use "
            "kcn_gis.interop.exporters.write_chart(plot_trend(trend, ...), path)"
        )
    fig = Figure(figsize=(8, 4.5), layout="constrained")
    ax = fig.add_subplot()
    scale = 100.0 if value in _PERCENT else 1.0
    for name, group in trend.groupby(key, sort=False):
        colour = BANK_COLORS.get(Bank(name)) if key == BANK_COLUMN and name in {str(b) for b in Bank} else None
        ax.plot(group["year"], group[value] * scale, marker="o", label=str(name), color=colour)
    ax.set_xlabel("Year (as of 31 December)")
    ax.set_ylabel(TREND_VALUES.get(value, value))
    ax.grid(True, alpha=0.3)
    ax.legend(title=key, fontsize="small")
    if title:
        ax.set_title(title)
    return fig
