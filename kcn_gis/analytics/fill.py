"""Fill rates (tỷ lệ lấp đầy): leased industrial land against planned and acquired land, per group.

The heavy geometry work (clipping plots to their own park, splitting them by
bank) is done once by :func:`_prepare`; the status on a date is then a cheap
masked sum (:func:`_aggregate`), so a yearly trend costs little more than one date.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics._common import (
    M2_PER_HA,
    as_of_timestamp,
    check_land_uses,
    dates,
    geoms,
    group_sum,
    included_parks_mask,
    ratio,
    require_columns,
    require_same_crs,
    usable,
)
from kcn_gis.analytics.banks import BANK_COLUMN
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import Col, LandUse

__all__ = ["FILL_COLUMNS", "GROUP_KEYS", "bank_pieces", "clip_to_own_park", "fill_rates", "park_lookup"]

log = logging.getLogger(__name__)

#: ``by`` value -> name of the key column in the result.
GROUP_KEYS: dict[str, str] = {
    "park": str(Col.PARK_ID),
    "district": str(Col.DISTRICT),
    "bank": BANK_COLUMN,
    "province": "province",
}
#: The value columns of :func:`fill_rates`, after the key column.
FILL_COLUMNS = ("planned_ha", "acquired_ha", "leased_ha", "fill_rate_planned", "fill_rate_acquired")


@dataclass(frozen=True)
class _Pieces:
    """Plot pieces (a plot clipped to its park, possibly split by bank) with their group and dates."""

    key_name: str
    keys: list[str]
    codes: np.ndarray  # group code of each piece (0..len(keys)-1)
    area_m2: np.ndarray
    acquired_on: np.ndarray  # datetime64, NaT when unknown
    leased_on: np.ndarray
    lease_ended_on: np.ndarray


def _dt64(frame: pd.DataFrame, col: str) -> np.ndarray:
    return dates(frame, col).to_numpy(dtype="datetime64[s]")


def park_lookup(parks: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """Index of unique park ids and the positions (in ``parks``) of their first rows."""
    ids = parks[Col.PARK_ID].astype(object)
    first = ~ids.duplicated() & ids.notna()
    if int((ids.notna() & ~first).sum()):
        log.warning("parks: %d duplicate park_id rows ignored (kcn-gis validate lists them)", int((~first).sum()))
    positions = np.flatnonzero(first.to_numpy())
    return pd.Index(ids.to_numpy()[positions]), positions


def _covered(park_geoms: np.ndarray, g: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """``covers(park, g)`` where ``todo``, False elsewhere; the fast ``contains_properly`` test first (parks prepared)."""
    covered = np.zeros(g.shape, dtype=bool)
    covered[todo] = shapely.contains_properly(park_geoms[todo], g[todo])
    edge = todo & ~covered  # on or across the park boundary: the exact test
    covered[edge] = shapely.covers(park_geoms[edge], g[edge])
    return covered


def clip_to_own_park(
    plot_geoms: np.ndarray, park_geoms: np.ndarray, *, keep_geometry: bool = False
) -> tuple[np.ndarray, np.ndarray | None]:
    """Area in m² of each plot inside its own park (aligned arrays), and optionally the clipped shapes.

    Only plots not covered by their park are intersected (vectorised shapely 2).
    Missing or empty geometries count 0 m².
    """
    shapely.prepare(park_geoms)
    present = ~shapely.is_missing(plot_geoms) & ~shapely.is_missing(park_geoms)
    covered = _covered(park_geoms, plot_geoms, present)
    area = np.nan_to_num(shapely.area(plot_geoms), nan=0.0)
    clip = present & ~covered
    clipped = plot_geoms.copy() if keep_geometry else None
    if clip.any():
        pieces = shapely.intersection(plot_geoms[clip], park_geoms[clip])
        area[clip] = shapely.area(pieces)
        if clipped is not None:
            clipped[clip] = pieces
    area[~present] = 0.0
    return area, clipped


def bank_pieces(g: np.ndarray, banks: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split geometries by the bank polygons: ``(source position, bank code, area m²)`` per piece.

    A geometry properly inside one bank goes to it whole; only the others (those
    crossing or touching the river, or the outline) are intersected with the banks.
    Parts outside every bank are not counted.
    """
    bank_geoms = usable(geoms(banks))
    shapely.prepare(bank_geoms)
    n = g.size
    present = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    assigned = np.full(n, -1, dtype=np.int64)
    for j, b in enumerate(bank_geoms):
        todo = present & (assigned < 0)
        inside = np.zeros(n, dtype=bool)
        inside[todo] = shapely.contains_properly(b, g[todo])
        assigned[inside] = j
    whole = np.flatnonzero(assigned >= 0)
    src = [whole]
    code = [assigned[whole]]
    area = [shapely.area(g[whole])]
    rest = np.flatnonzero(present & (assigned < 0))
    if rest.size:
        for j, b in enumerate(bank_geoms):
            hit = rest[shapely.intersects(b, g[rest])]
            a = shapely.area(shapely.intersection(g[hit], b))
            keep = a > 0
            src.append(hit[keep])
            code.append(np.full(int(keep.sum()), j, dtype=np.int64))
            area.append(a[keep])
    out_src = np.concatenate(src).astype(np.int64)
    out_area = np.concatenate(area).astype(float)
    total = np.bincount(out_src, weights=out_area, minlength=n)
    outside = present & (total < np.nan_to_num(shapely.area(g), nan=0.0) - 1.0)
    if outside.any():
        log.warning(
            "%d feature(s) lie partly or wholly outside both banks; those parts are not counted", int(outside.sum())
        )
    return out_src, np.concatenate(code).astype(np.int64), out_area


def _prepare(
    plots: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    *,
    by: str,
    parks_included: str,
    land_uses: Sequence[str],
    banks: gpd.GeoDataFrame | None,
    province_name: str | None,
) -> _Pieces:
    if by not in GROUP_KEYS:
        raise KcnGisError(f"by={by!r}; use one of {', '.join(GROUP_KEYS)}")
    uses = check_land_uses(land_uses)
    frames = [(plots, "plots"), (parks, "parks")]
    if by == "bank":
        if banks is None:
            raise KcnGisError("by='bank' needs banks=split_banks(province, rivers) (kcn_gis.analytics.split_banks)")
        frames.append((banks, "banks"))
    require_same_crs(*frames)
    require_columns(plots, (Col.PARK_ID, Col.LAND_USE, Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON), "plots")
    require_columns(parks, (Col.PARK_ID, Col.STATUS) + ((Col.DISTRICT,) if by == "district" else ()), "parks")

    lookup, park_pos = park_lookup(parks)
    included = included_parks_mask(parks, parks_included)[park_pos]
    pos = lookup.get_indexer(plots[Col.PARK_ID].astype(object).to_numpy())
    unknown = pos < 0
    if unknown.any():
        log.warning(
            "%d plot(s) have a park_id that is not in the parks layer and are not counted; kcn-gis validate lists them",
            int(unknown.sum()),
        )
    use_ok = plots[Col.LAND_USE].astype(object).isin(uses).to_numpy(dtype=bool)
    sel = np.flatnonzero(use_ok & ~unknown & np.where(unknown, False, included[np.maximum(pos, 0)]))
    park_geoms = usable(geoms(parks)[park_pos])
    plot_geoms = usable(geoms(plots)[sel])
    area, clipped = clip_to_own_park(plot_geoms, park_geoms[pos[sel]], keep_geometry=by == "bank")
    park_of_piece = pos[sel]  # position in lookup
    src = np.arange(sel.size)

    if by == "park":
        inc = np.flatnonzero(included)
        keys = [str(k) for k in lookup[inc]]
        remap = np.full(len(lookup), -1, dtype=np.int64)
        remap[inc] = np.arange(inc.size)
        codes = remap[park_of_piece]
    elif by == "district":
        districts = parks[Col.DISTRICT].astype(object).to_numpy()[park_pos]
        keys_idx, uniq = pd.factorize(pd.Series(districts, dtype=object), use_na_sentinel=True)
        keys = [str(k) for k in uniq]
        codes = np.asarray(keys_idx, dtype=np.int64)[park_of_piece]
    elif by == "province":
        keys = [province_name or "all"]
        codes = np.zeros(sel.size, dtype=np.int64)
    else:
        assert banks is not None and clipped is not None
        keys = [str(b) for b in banks[BANK_COLUMN]] if BANK_COLUMN in banks.columns else [str(i) for i in banks.index]
        src, codes, area = bank_pieces(clipped, banks)

    rows = sel[src]
    return _Pieces(
        key_name=GROUP_KEYS[by],
        keys=keys,
        codes=codes,
        area_m2=area,
        acquired_on=_dt64(plots, Col.ACQUIRED_ON)[rows],
        leased_on=_dt64(plots, Col.LEASED_ON)[rows],
        lease_ended_on=_dt64(plots, Col.LEASE_ENDED_ON)[rows],
    )


def _aggregate(pieces: _Pieces, as_of: Any) -> pd.DataFrame:
    d = np.datetime64(as_of_timestamp(as_of).to_datetime64(), "s")
    acquired = pieces.acquired_on <= d  # NaT compares False
    leased = (pieces.leased_on <= d) & ~(pieces.lease_ended_on <= d)
    n = len(pieces.keys)
    planned_ha = group_sum(pieces.codes, pieces.area_m2, n) / M2_PER_HA
    acquired_ha = group_sum(pieces.codes, pieces.area_m2 * acquired, n) / M2_PER_HA
    leased_ha = group_sum(pieces.codes, pieces.area_m2 * leased, n) / M2_PER_HA
    return pd.DataFrame(
        {
            pieces.key_name: pd.array(pieces.keys, dtype="str"),
            "planned_ha": planned_ha,
            "acquired_ha": acquired_ha,
            "leased_ha": leased_ha,
            "fill_rate_planned": ratio(leased_ha, planned_ha),
            "fill_rate_acquired": ratio(leased_ha, acquired_ha),
        }
    )


def fill_rates(
    plots: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    *,
    as_of: Any = None,
    by: str = "park",
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
    land_uses : sequence of str, default ("industrial",)
        Plot land uses that count (official rates: industrial land only).
    banks : GeoDataFrame, optional
        The banks from :func:`~kcn_gis.analytics.split_banks`; required for ``by="bank"``.
    province_name : str, optional
        Key value of the single row for ``by="province"`` (default ``"all"``).

    Returns
    -------
    DataFrame
        Columns: the key (``park_id``, ``district``, ``bank`` or ``province``),
        ``planned_ha``, ``acquired_ha``, ``leased_ha`` (hectares, computed from
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
    pieces = _prepare(
        plots,
        parks,
        by=by,
        parks_included=parks_included,
        land_uses=land_uses,
        banks=banks,
        province_name=province_name,
    )
    return _aggregate(pieces, as_of)
