"""The fill-rate kernel shared by fill rates, the river balance, the trend and the consistency checks.

The heavy geometry work (clipping plots to their own park, splitting them by
bank) is done once by :func:`prepare`, which returns :class:`Pieces`; the status
on a date is then a cheap masked sum (:func:`aggregate`), so a yearly trend
costs little more than one date. Areas are in m² on the pieces and in hectares
in the sums, computed in the frames' projected CRS (EPSG:9209).

Public within the package; the user-facing functions are in
:mod:`kcn_gis.analytics.fill`, :mod:`~kcn_gis.analytics.balance` and
:mod:`~kcn_gis.analytics.trend`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Literal, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis import cores
from kcn_gis.analytics._common import (
    M2_PER_HA,
    check_land_uses,
    dates,
    geoms,
    group_sum,
    included_parks_mask,
    require_columns,
    require_same_crs,
    usable,
)
from kcn_gis.analytics.banks import BANK_COLUMN
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import Col

__all__ = [
    "GROUP_KEYS",
    "GroupBy",
    "Pieces",
    "aggregate",
    "bank_pieces",
    "clip_to_own_park",
    "covered",
    "park_lookup",
    "prepare",
]

log = logging.getLogger(__name__)

#: How results are grouped: the ``by`` argument of the fill-rate functions.
GroupBy: TypeAlias = Literal["park", "district", "bank", "province"]

#: ``by`` value -> name of the key column in the result.
GROUP_KEYS: dict[str, str] = {
    "park": str(Col.PARK_ID),
    "district": str(Col.DISTRICT),
    "bank": BANK_COLUMN,
    "province": "province",
}


@dataclass(frozen=True)
class Pieces:
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


def covered(park_geoms: np.ndarray, g: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """``covers(park, g)`` where ``todo``, False elsewhere; the fast ``contains_properly`` test first (parks prepared)."""
    covered = np.zeros(g.shape, dtype=bool)
    covered[todo] = shapely.contains_properly(park_geoms[todo], g[todo])
    edge = todo & ~covered  # on or across the park boundary: the exact test
    covered[edge] = shapely.covers(park_geoms[edge], g[edge])
    return covered


#: From this many geometries on, :func:`covered_by` runs in two threads.
_THREADED_COVER = 50_000


def covered_by(parks: np.ndarray, which: np.ndarray, g: np.ndarray, todo: np.ndarray) -> np.ndarray:
    """:func:`covered` with ``parks[which]`` as the park of each geometry, in two threads for large layers.

    GEOS releases the GIL, but a prepared geometry builds its index on first use and must not be
    shared between threads: each thread prepares its own copies of the (few) parks, rebuilt from
    their WKB (the same coordinates, bit for bit).

    Parameters
    ----------
    parks : ndarray of shapely geometries
        The distinct park boundaries (projected CRS, metres).
    which : ndarray of int
        Position in ``parks`` of each geometry's park.
    g, todo : ndarray
        The geometries and the mask of those to test (False elsewhere).
    """
    if len(g) < _THREADED_COVER or cores.available() < 2:
        own = _copies(parks)
        return covered(own[which], g, todo)
    half = len(g) // 2

    def run(part: slice) -> np.ndarray:
        own = _copies(parks)
        return covered(own[which[part]], g[part], todo[part])

    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(run, (slice(0, half), slice(half, None))))
    return np.concatenate(parts)


def _copies(parks: np.ndarray) -> np.ndarray:
    """Prepared copies of the parks for one thread (missing ones stay None)."""
    own = shapely.from_wkb(shapely.to_wkb(parks))
    shapely.prepare(own)
    return np.asarray(own, dtype=object)


def clip_to_own_park(
    plot_geoms: np.ndarray, park_geoms: np.ndarray, *, keep_geometry: bool = False, which: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Area in m² of each plot inside its own park (aligned arrays), and optionally the clipped shapes.

    Only plots not covered by their park are intersected (vectorised shapely 2).
    Missing or empty geometries count 0 m². With ``which``, ``park_geoms`` are the distinct parks and
    ``which`` the position of each plot's park among them (the covering test then runs in two threads).
    """
    if which is None:
        shapely.prepare(park_geoms)
        aligned = park_geoms
    else:
        aligned = park_geoms[which]
    present = ~shapely.is_missing(plot_geoms) & ~shapely.is_missing(aligned)
    covered_ = (
        covered(aligned, plot_geoms, present) if which is None else covered_by(park_geoms, which, plot_geoms, present)
    )
    area = np.nan_to_num(shapely.area(plot_geoms), nan=0.0)
    clip = present & ~covered_
    clipped = plot_geoms.copy() if keep_geometry else None
    if clip.any():
        pieces = shapely.intersection(plot_geoms[clip], aligned[clip])
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


def prepare(
    plots: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    *,
    by: GroupBy,
    parks_included: str,
    land_uses: Sequence[str],
    banks: gpd.GeoDataFrame | None,
    province_name: str | None,
) -> Pieces:
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
    area, clipped = clip_to_own_park(plot_geoms, park_geoms, keep_geometry=by == "bank", which=pos[sel])
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
    return Pieces(
        key_name=GROUP_KEYS[by],
        keys=keys,
        codes=codes,
        area_m2=area,
        acquired_on=_dt64(plots, Col.ACQUIRED_ON)[rows],
        leased_on=_dt64(plots, Col.LEASED_ON)[rows],
        lease_ended_on=_dt64(plots, Col.LEASE_ENDED_ON)[rows],
    )


def aggregate(pieces: Pieces, as_of: DateLike | None) -> pd.DataFrame:
    """Planned, acquired and leased hectares per group on ``as_of`` (a masked sum over the pieces).

    Returns the additive part of a fill-rates table: the key column, then
    ``planned_ha``, ``acquired_ha`` and ``leased_ha`` (hectares). The rates are
    added by :func:`kcn_gis.analytics.fill.finish`.
    """
    d = np.datetime64(as_of_date(as_of).to_datetime64(), "s")
    acquired = pieces.acquired_on <= d  # NaT compares False
    leased = (pieces.leased_on <= d) & ~(pieces.lease_ended_on <= d)
    n = len(pieces.keys)
    return pd.DataFrame(
        {
            pieces.key_name: pd.array(pieces.keys, dtype="str"),
            "planned_ha": group_sum(pieces.codes, pieces.area_m2, n) / M2_PER_HA,
            "acquired_ha": group_sum(pieces.codes, pieces.area_m2 * acquired, n) / M2_PER_HA,
            "leased_ha": group_sum(pieces.codes, pieces.area_m2 * leased, n) / M2_PER_HA,
        }
    )
