"""Private helpers shared by the analytics modules (dates, CRS checks, ids, group sums)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.crs import require_projected, same_crs
from kcn_gis.errors import CRSError, KcnGisError, SchemaError
from kcn_gis.names import as_items
from kcn_gis.schema import LandUse, ParkStatus

__all__: list[str] = []

log = logging.getLogger(__name__)

#: m² in one hectare.
M2_PER_HA = 10_000.0

#: Areas below this many m² are slivers from digitising or rounding and are ignored by the checks.
SLIVER_M2 = 1.0

PARKS_INCLUDED = ("operating", "all")


def dates(frame: pd.DataFrame, col: str) -> pd.Series:
    """Column ``col`` as ``datetime64`` (unparseable values become NaT: the schema checks report them)."""
    s = frame[col]
    if pd.api.types.is_datetime64_any_dtype(s):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_convert("UTC").dt.tz_localize(None)
        return s
    return pd.to_datetime(s, errors="coerce", format="mixed")


def on_or_before(values: pd.Series, d: pd.Timestamp) -> np.ndarray:
    """Boolean array: the date is known and ``<= d``."""
    return (values.notna() & (values <= d)).to_numpy(dtype=bool)


def require_columns(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [str(c) for c in columns if str(c) not in frame.columns]
    if missing:
        have = ", ".join(str(c) for c in frame.columns if c != "geometry") or "none"
        raise SchemaError(
            f"{what} lacks the column(s) {', '.join(missing)} needed here; columns present: {have}. "
            "Check the layer against the data model (kcn-gis validate)."
        )


def require_same_crs(*frames: tuple[gpd.GeoDataFrame, str]) -> None:
    """Raise unless all frames have the same projected CRS."""
    first, first_name = frames[0]
    require_projected(first, first_name)
    for frame, name in frames[1:]:
        require_projected(frame, name)
        if not same_crs(first.crs, frame.crs):
            raise CRSError(
                f"{name} is in {frame.crs.to_string()} but {first_name} is in {first.crs.to_string()}; "
                "reproject one explicitly with kcn_gis.crs.to_crs() so both are in the same projected CRS."
            )


def check_parks_included(parks_included: str) -> None:
    if parks_included not in PARKS_INCLUDED:
        raise KcnGisError(f"parks_included={parks_included!r}; use 'operating' (the official definition) or 'all'")


def check_land_uses(land_uses: str | Iterable[str]) -> tuple[str, ...]:
    """The land uses as a tuple: a single string is one land use (``"industrial"``, not its letters)."""
    uses = tuple(as_items(land_uses) or ())
    valid = {str(u) for u in LandUse}
    bad = [u for u in uses if u not in valid]
    if bad or not uses:
        raise KcnGisError(
            f"land_uses {list(uses)!r} must be a non-empty selection of {', '.join(str(u) for u in LandUse)}"
        )
    return uses


def included_parks_mask(parks: pd.DataFrame, parks_included: str) -> np.ndarray:
    check_parks_included(parks_included)
    if parks_included == "all":
        return np.ones(len(parks), dtype=bool)
    from kcn_gis.schema import Col

    return (parks[Col.STATUS].astype(object) == str(ParkStatus.OPERATING)).to_numpy(dtype=bool)


def geoms(frame: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    """The geometries as a numpy object array."""
    series = frame.geometry if isinstance(frame, gpd.GeoDataFrame) else frame
    return np.asarray(series.values, dtype=object)


def usable(g: np.ndarray, *, warn: bool = True) -> np.ndarray:
    """Geometries as valid shapes for area computations (invalid ones repaired in memory, never written).

    The checks report invalid geometries; analytics still give a number for them.
    """
    bad = ~shapely.is_missing(g) & ~shapely.is_valid(g)
    if bad.any():
        g = g.copy()
        g[bad] = shapely.make_valid(g[bad], method="structure", keep_collapsed=False)
        (log.warning if warn else log.debug)(
            "%d invalid geometries repaired in memory for computation; run kcn-gis validate", int(bad.sum())
        )
    return g


def group_sum(codes: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Sum ``weights`` per integer code 0..n-1 (codes < 0 are ignored)."""
    keep = codes >= 0
    return np.bincount(codes[keep], weights=weights[keep], minlength=n)[:n].astype(float)


def ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` with NaN where ``den`` is 0."""
    num = np.asarray(num, dtype=float)
    den = np.asarray(den, dtype=float)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out
