"""Fill rates (tỷ lệ lấp đầy): leased industrial land against planned and acquired land, per group.

The geometry work is done by the shared kernel :mod:`kcn_gis.analytics.pieces`
(:func:`~kcn_gis.analytics.pieces.prepare`, then the masked sum
:func:`~kcn_gis.analytics.pieces.aggregate`); :func:`finish` adds the rates, and
is also the combine step of the Dask engine.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import geopandas as gpd
import pandas as pd

from kcn_gis.analytics._common import ratio
from kcn_gis.analytics.pieces import (
    GROUP_KEYS,
    GroupBy,
    aggregate,
    bank_pieces,
    clip_to_own_park,
    park_lookup,
    prepare,
)
from kcn_gis.dates import DateLike
from kcn_gis.schema import Col, LandUse

__all__ = [
    "FILL_COLUMNS",
    "GROUP_KEYS",
    "bank_pieces",
    "clip_to_own_park",
    "fill_rates",
    "finish",
    "park_lookup",
]

log = logging.getLogger(__name__)

#: The value columns of :func:`fill_rates`, after the key column.
FILL_COLUMNS = ("planned_ha", "acquired_ha", "leased_ha", "fill_rate_planned", "fill_rate_acquired")


def finish(sums: pd.DataFrame) -> pd.DataFrame:
    """Add the fill rates to summed hectares: the combine step of :func:`fill_rates`, used by both engines.

    Parameters
    ----------
    sums : DataFrame
        The key column first, then ``planned_ha``, ``acquired_ha`` and ``leased_ha``
        (hectares, additive: per-partition sums may be added before this step).

    Returns
    -------
    DataFrame
        The key, :data:`FILL_COLUMNS` (``fill_rate_planned`` = leased / planned,
        ``fill_rate_acquired`` = leased / acquired, fractions 0-1, NaN when the
        denominator is 0). RangeIndex.
    """
    key = str(sums.columns[0])
    out = sums[[key, "planned_ha", "acquired_ha", "leased_ha"]].reset_index(drop=True).copy()
    leased = out["leased_ha"].to_numpy(dtype=float)
    out["fill_rate_planned"] = ratio(leased, out["planned_ha"].to_numpy(dtype=float))
    out["fill_rate_acquired"] = ratio(leased, out["acquired_ha"].to_numpy(dtype=float))
    return out


def fill_rates(
    plots: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    *,
    as_of: DateLike | None = None,
    by: GroupBy = "park",
    parks_included: str = "operating",
    land_uses: Sequence[str] = (str(LandUse.INDUSTRIAL),),
    banks: gpd.GeoDataFrame | None = None,
    province_name: str | None = None,
) -> pd.DataFrame:
    """Planned, acquired and leased area and the fill rates, per park, district, bank or province.

    Each plot counts only with its part inside its **own** park (joined on
    ``park_id``); the part sticking out is not counted (the consistency checks
    report it). Plots whose ``park_id`` is not in ``parks`` are not counted
    (logged; the checks report them). A plot is acquired on ``as_of`` when
    ``acquired_on <= as_of`` and leased when ``leased_on <= as_of`` and its lease
    has not ended (see :func:`~kcn_gis.analytics.plot_status`).

    Parameters
    ----------
    plots, parks : GeoDataFrame
        The ``plots`` and ``parks`` layers, in the same projected CRS (metres;
        EPSG:9209 for Bắc Ninh). Raises :class:`~kcn_gis.errors.CRSError` otherwise.
    as_of : date-like, optional
        The date (``None`` = today).
    by : {"park", "district", "bank", "province"}
        Grouping. ``park``: one row per included park (parks order); ``district``:
        one row per district of the parks layer (all parks, so a district without
        included parks shows 0 ha); ``bank``: one row per bank of ``banks``, plots
        crossing the river split by area; ``province``: one row.
    parks_included : {"operating", "all"}
        ``"operating"`` (the official definition) counts only parks with status
        ``operating``; ``"all"`` counts every park.
    land_uses : str or sequence of str (a single string is one land use), default ("industrial",)
        Plot land uses that count (official rates: industrial land only).
    banks : GeoDataFrame, optional
        The banks from :func:`~kcn_gis.analytics.split_banks`; required for ``by="bank"``.
    province_name : str, optional
        Key value of the single row for ``by="province"`` (default ``"all"``).

    Returns
    -------
    DataFrame
        Columns: the key (``park_id``, ``district``, ``bank`` or ``province``);
        for ``by="park"`` the park's names ``name`` (Vietnamese) and ``name_en`` (English; the
        Vietnamese name where the layer has none) right after ``park_id``; ``planned_ha``, ``acquired_ha``, ``leased_ha`` (hectares, computed from
        geometry in the frames' projected CRS), ``fill_rate_planned`` (leased /
        planned) and ``fill_rate_acquired`` (leased / acquired) as fractions 0-1.
        An empty group has 0 ha and NaN rates. RangeIndex.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.analytics import fill_rates
    >>> atlas = kcn_gis.open_atlas()
    >>> row = fill_rates(atlas.plots, atlas.parks, as_of="2011-12-26", by="province").iloc[0]
    >>> round(row.fill_rate_planned * 100, 2), round(row.fill_rate_acquired * 100, 2)  # doctest: +SKIP
    (58.16, 75.38)
    """
    pieces = prepare(
        plots,
        parks,
        by=by,
        parks_included=parks_included,
        land_uses=land_uses,
        banks=banks,
        province_name=province_name,
    )
    out = finish(aggregate(pieces, as_of))
    return with_park_names(out, parks) if by == "park" else out


def with_park_names(table: pd.DataFrame, parks: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the park's ``name`` and ``name_en`` inserted after its ``park_id`` column.

    ``name_en`` falls back to the Vietnamese name where the parks layer has no English one.
    A table without ``park_id``, or parks without ``name``, is returned unchanged.
    """
    if Col.PARK_ID not in table.columns or Col.NAME not in parks.columns or Col.NAME in table.columns:
        return table
    first = ~parks[Col.PARK_ID].astype(object).duplicated()
    ids = parks[Col.PARK_ID].astype(object)[first].to_numpy()
    vi = pd.Series(parks[Col.NAME].astype(object)[first].to_numpy(), index=ids)
    en_src = parks[Col.NAME_EN].astype(object)[first].to_numpy() if Col.NAME_EN in parks.columns else vi.to_numpy()
    en = pd.Series(en_src, index=ids)
    en = en.where(en.map(lambda v: isinstance(v, str) and bool(v.strip())), vi)
    keys = table[Col.PARK_ID].astype(object)
    out = table.copy()
    at = list(out.columns).index(Col.PARK_ID) + 1
    out.insert(at, str(Col.NAME_EN), pd.array(keys.map(en).to_numpy(), dtype="str"))
    out.insert(at, str(Col.NAME), pd.array(keys.map(vi).to_numpy(), dtype="str"))
    return out
