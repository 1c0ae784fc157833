"""Clearance progress per park on any date, and the burn-up of area handed over through time.

Areas are computed from the parcel geometries in their projected CRS (metres;
EPSG:9209 for Bắc Ninh) and reported in hectares. Nothing here reads files.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from kcn_gis import cores
from kcn_gis.clearance.history import NOT_STARTED, STAGE_RANK, _parcel_state, _reached_blocks, _use_compiled_state
from kcn_gis.crs import require_projected
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import ClearanceError
from kcn_gis.names import resolve_park_ids
from kcn_gis.schema import STAGES, Col, Event

__all__ = ["PROGRESS_STAGES", "burn_up", "clearance_progress", "finish", "parcel_area_ha", "progress_records"]

log = logging.getLogger(__name__)

#: The stage keys of a progress row, in process order: ``not_started`` then the five stages.
PROGRESS_STAGES: tuple[str, ...] = (NOT_STARTED, *(str(s) for s in STAGES))

_M2_PER_HA = 10_000.0
#: From this many parcels :func:`clearance_progress` measures the parcels in a second thread.
_AREA_BESIDE_FROM = 50_000


def parcel_area_ha(parcels: gpd.GeoDataFrame) -> pd.Series:
    """Area of each parcel in hectares, computed from its geometry in the projected CRS.

    Raises
    ------
    CRSError
        If ``parcels`` has no CRS or a geographic one.
    """
    require_projected(parcels, "parcels")
    # the array's own area: a store-read layer answers it from the WKB without building the shapes (same values)
    return pd.Series(np.asarray(parcels.geometry.values.area) / _M2_PER_HA, index=parcels.index, name="area_ha")


def finish(sums: pd.DataFrame) -> pd.DataFrame:
    """Add ``handed_over_share`` to summed counts and hectares: the combine step of :func:`clearance_progress`.

    Used by both engines (the Dask engine sums the additive columns over partitions first).

    Parameters
    ----------
    sums : DataFrame
        ``park_id``, ``parcels_total``, ``area_total_ha``, ``handed_over_ha`` (ha)
        and the per-stage and complaint columns, all additive.

    Returns
    -------
    DataFrame
        The same rows with ``handed_over_share`` (handed-over area / parcel area,
        fraction 0-1, NaN when the park has no parcel area) after ``handed_over_ha``.
    """
    out = sums.reset_index(drop=True).drop(columns="handed_over_share", errors="ignore")
    area = out["area_total_ha"].to_numpy(dtype=float)
    handed = out["handed_over_ha"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(area > 0, handed / area, np.nan)
    out.insert(list(out.columns).index("handed_over_ha") + 1, "handed_over_share", share)
    return out


def requested_parks(
    park: str | Iterable[str] | None, present: pd.Index, parks: pd.DataFrame | None = None
) -> list[str]:
    """The park ids asked for: every park with parcels by default; else ``park`` resolved by
    :func:`kcn_gis.names.resolve_park_ids` among the parks with parcels and the ``parks`` layer."""
    if park is None:
        return sorted(str(p) for p in present)
    ids = [str(p) for p in present]
    names: dict[str, list[object]] | None = None
    if parks is not None and Col.PARK_ID in parks.columns:
        pid = parks[Col.PARK_ID].astype(object)
        ids += [str(p) for p in pid.dropna()]
        cols = [parks[c].astype(object).tolist() for c in (Col.NAME, Col.NAME_EN) if c in parks.columns]
        names = {str(i): [c[k] for c in cols] for k, i in enumerate(pid.tolist()) if i is not None}
    return resolve_park_ids(park, ids, names=names) or []


def clearance_progress(
    events: pd.DataFrame,
    parcels: gpd.GeoDataFrame,
    *,
    as_of: DateLike | None = None,
    park: str | Iterable[str] | None = None,
    parks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return clearance progress per park on a date: parcels and area in each stage.

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    parcels : GeoDataFrame
        The ``parcels`` layer, in a projected CRS (EPSG:9209); areas come from the geometry.
    as_of : date-like, optional
        The date (inclusive). Default: today.
    park : str or list of str, optional
        Only these parks: ``park_id`` (without case: ``"gb"`` is ``GB``) or, with ``parks``, the park's
        name (without diacritics: ``"gia binh"``). A single string is one park. Default: every park
        that has parcels.
    parks : DataFrame, optional
        The ``parks`` layer: a park of it without parcels gets a row of zeros, and names resolve.
        Without it only the parks of the parcels are known.

    Returns
    -------
    DataFrame
        One row per park, sorted by ``park_id`` when ``park`` is None, with

        * ``park_id``, ``parcels_total``, ``area_total_ha`` (ha);
        * ``handed_over_ha`` and ``handed_over_share`` (fraction 0-1 of the area,
          NaN when the park has no parcel area);
        * for each key of :data:`PROGRESS_STAGES` (``not_started`` and the five
          stages): ``<stage>_parcels`` and ``<stage>_ha`` (hectares);
        * ``open_complaints`` - parcels with an open complaint.

    Raises
    ------
    CRSError
        If ``parcels`` is not in a projected CRS.
    UnknownNameError
        If a requested park is neither a park of the parcels nor of ``parks``.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.clearance import clearance_progress
    >>> atlas = kcn_gis.open_atlas()
    >>> prog = clearance_progress(atlas.clearance_events, atlas.parcels, as_of="2011-12-26")
    >>> bool((prog["handed_over_share"].between(0, 1)).all())
    True
    """
    park_ids, max_rank, area, opened = parcel_rows(events, parcels, as_of=as_of)
    return progress_of_rows(park_ids, max_rank, area, opened, park=park, parks=parks)


def parcel_rows(
    events: pd.DataFrame, parcels: gpd.GeoDataFrame, *, as_of: DateLike | None = None
) -> tuple[pd.Series, np.ndarray, np.ndarray, np.ndarray]:
    """Each parcel's park, stage rank, area (ha) and open complaint on a date: the inputs of the sums.

    :func:`clearance_progress` is ``progress_of_rows(*parcel_rows(events, parcels, as_of=...))``; an
    engine that reads an atlas part by part (co-partitioned parcels and events) calls this on each part
    and :func:`progress_of_rows` once on the rows of all parts in layer order, which gives the same bits.

    Returns
    -------
    (park_ids, max_rank, area_ha, open_complaint)
        ``parcels[park_id]``; int8 ranks (0 not started, :data:`STAGE_RANK`); float64 hectares from the
        geometry in the projected CRS; booleans.

    Raises
    ------
    CRSError
        If ``parcels`` is not in a projected CRS.
    ClearanceError
        If a column is missing or an event is not in the vocabulary.
    """
    require_projected(parcels, "parcels")
    if Col.PARK_ID not in parcels.columns:
        raise ClearanceError("parcels lack the column 'park_id'; pass the atlas layer 'parcels'")
    if len(parcels) >= _AREA_BESIDE_FROM and cores.available() >= 2:
        # the areas (WKB arithmetic or GEOS, without the GIL) are computed while the stages are derived
        with ThreadPoolExecutor(1, thread_name_prefix="kcn_gis-area") as pool:
            pending = pool.submit(parcel_area_ha, parcels)
            state = _parcel_state(events, parcels, as_of=as_of)
            area = pending.result()
    else:
        area = parcel_area_ha(parcels)
        state = _parcel_state(events, parcels, as_of=as_of)
    return parcels[Col.PARK_ID], state["max_rank"], area.to_numpy(), state["open_complaint"]


def progress_of_rows(
    park_ids: pd.Series | pd.api.extensions.ExtensionArray,
    max_rank: np.ndarray,
    area_ha: np.ndarray,
    open_complaint: np.ndarray,
    *,
    park: str | Iterable[str] | None = None,
    parks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The progress frame of :func:`clearance_progress` from per-parcel rows (:func:`parcel_rows`).

    Parameters
    ----------
    park_ids, max_rank, area_ha, open_complaint
        One value per parcel, in layer order: park id, stage rank, area (ha), open complaint.
    park, parks
        As for :func:`clearance_progress`.
    """
    # parks as integer codes (one factorize), stages as ranks: the sums below run over the same rows
    # in the same order as grouping by the park_id text, so they are the same bits.
    codes, uniques = pd.factorize(park_ids)
    wanted = requested_parks(park, pd.Index(uniques), parks)
    where = {p: i for i, p in enumerate(wanted)}
    park_of_code = np.array([where.get(u, -1) for u in uniques] + [-1], dtype=np.int64)  # last slot: missing
    pidx = park_of_code[codes]
    n_totals, ha_totals, n_open, n, ha = _sums(
        pidx, max_rank, np.asarray(area_ha, dtype=float), open_complaint, len(wanted), len(PROGRESS_STAGES)
    )
    out = pd.DataFrame({"park_id": pd.array(wanted, dtype="str")})
    out["parcels_total"] = n_totals
    out["area_total_ha"] = ha_totals
    out["handed_over_ha"] = ha[:, PROGRESS_STAGES.index(str(Event.HANDED_OVER))]
    for k, s in enumerate(PROGRESS_STAGES):
        out[f"{s}_parcels"] = n[:, k]
        if s != str(Event.HANDED_OVER):
            out[f"{s}_ha"] = ha[:, k]
    out["open_complaints"] = n_open
    return finish(out)


def _sums(
    park: np.ndarray, stage: np.ndarray, area: np.ndarray, opened: np.ndarray, n_parks: int, n_stages: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per park (``park`` numbers 0..n_parks-1, -1 not counted): parcels, hectares, open complaints, and
    per (park, stage rank): parcels and hectares. pandas' compensated group sums, or the compiled pass
    that performs the same operations in the same order (the same bits) when numba is loaded."""
    if _use_compiled_state(len(park)):
        from kcn_gis.clearance._state_numba import park_stage_sums

        r = park_stage_sums(park, stage, area, opened, n_parks, n_stages)
        return r["n_total"], r["ha_total"], r["n_open"], r["n_stage"], r["ha_stage"]
    keep = park >= 0
    p, s, a = park[keep], stage[keep].astype(np.int64), pd.Series(area[keep], copy=False)
    key = p * n_stages + s
    cells = n_parks * n_stages
    # pandas' compensated group sums over the rows in order (one per park, one per park and stage); counts are exact
    ha_total = a.groupby(p).sum().reindex(pd.RangeIndex(n_parks), fill_value=0.0).to_numpy(dtype=float)
    ha = a.groupby(key).sum().reindex(pd.RangeIndex(cells), fill_value=0.0).to_numpy(dtype=float)
    return (
        np.bincount(p, minlength=n_parks).astype(np.int64),
        ha_total,
        np.bincount(p[np.asarray(opened[keep], dtype=bool)], minlength=n_parks).astype(np.int64),
        np.bincount(key, minlength=cells).astype(np.int64).reshape(n_parks, n_stages),
        ha.reshape(n_parks, n_stages),
    )


def progress_records(progress: pd.DataFrame) -> list[dict[str, Any]]:
    """Turn :func:`clearance_progress` rows into JSON-ready records.

    Each record has ``park_id``, ``parcels_total``, ``area_total_ha``,
    ``handed_over_ha``, ``handed_over_share`` (0-1, or None when the park has no
    area), ``open_complaints`` and ``by_stage`` mapping ``not_started`` and each
    stage to ``{"parcels": int, "area_ha": float}``. Areas in hectares.
    """
    out: list[dict[str, Any]] = []
    for row in progress.to_dict(orient="records"):
        share = row["handed_over_share"]
        by_stage = {
            s: {
                "parcels": int(row[f"{s}_parcels"]),
                "area_ha": float(row["handed_over_ha" if s == str(Event.HANDED_OVER) else f"{s}_ha"]),
            }
            for s in PROGRESS_STAGES
        }
        out.append(
            {
                "park_id": str(row["park_id"]),
                "parcels_total": int(row["parcels_total"]),
                "area_total_ha": float(row["area_total_ha"]),
                "handed_over_ha": float(row["handed_over_ha"]),
                "handed_over_share": None if pd.isna(share) else float(share),
                "open_complaints": int(row["open_complaints"]),
                "by_stage": by_stage,
            }
        )
    return out


def burn_up(
    events: pd.DataFrame,
    parcels: gpd.GeoDataFrame,
    *,
    stage: str | Event = Event.HANDED_OVER,
    park: str | Iterable[str] | None = None,
    as_of: DateLike | None = None,
    parks: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Return the area that had reached a stage, per park, at every date it changed.

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    parcels : GeoDataFrame
        The ``parcels`` layer in a projected CRS (EPSG:9209).
    stage : str, default ``"handed_over"``
        Count parcels that reached this stage or a later one.
    park : str or list of str, optional
        Only these parks (ids without case; names with ``parks``, as in :func:`clearance_progress`).
    as_of : date-like, optional
        Ignore changes after this date. Default: today.
    parks : DataFrame, optional
        The ``parks`` layer, to know parks without parcels and to match names.

    Returns
    -------
    DataFrame
        Columns ``park_id``, ``date``, ``parcels`` and ``area_ha`` (hectares): the
        running totals after the changes of that date, sorted by park and date.
        A correction shows as a step down on its own date.
    """
    if str(stage) not in STAGE_RANK:
        raise ClearanceError(f"'{stage}' is not a stage; use one of {', '.join(STAGE_RANK)}")
    area = parcel_area_ha(parcels)
    asof = as_of_date(as_of)
    blocks = _blocks_with_park(events, parcels, area, min_rank=STAGE_RANK[str(stage)])
    if park is not None:
        present = pd.Index(parcels[Col.PARK_ID].dropna().unique()) if Col.PARK_ID in parcels.columns else pd.Index([])
        blocks = blocks[blocks["park_id"].isin(requested_parks(park, present, parks)).to_numpy()]
    ups = pd.DataFrame({"park_id": blocks["park_id"], "date": blocks["start"], "n": 1, "a": blocks["area"]})
    downs = blocks[blocks["end"] <= asof]
    downs = pd.DataFrame({"park_id": downs["park_id"], "date": downs["end"], "n": -1, "a": -downs["area"]})
    ch = pd.concat([ups, downs], ignore_index=True)
    ch = ch[(ch["date"] <= asof).to_numpy()]
    cols = ["park_id", "date", "parcels", "area_ha"]
    if ch.empty:
        return pd.DataFrame(
            {
                c: pd.Series([], dtype=t)
                for c, t in zip(cols, ["str", "datetime64[ms]", "int64", "float64"], strict=True)
            }
        )
    g = ch.groupby(["park_id", "date"], sort=True)[["n", "a"]].sum().reset_index()
    g["parcels"] = g.groupby("park_id")["n"].cumsum().astype("int64")
    g["area_ha"] = g.groupby("park_id")["a"].cumsum().clip(lower=0.0)
    out = g[cols].copy()
    out["park_id"] = out["park_id"].astype("str")
    out["date"] = out["date"].astype("datetime64[ms]")
    return out.reset_index(drop=True)


def _blocks_with_park(events: pd.DataFrame, parcels: pd.DataFrame, area: pd.Series, *, min_rank: int) -> pd.DataFrame:
    """:func:`_reached_blocks` with each block's ``park_id`` and parcel ``area`` (ha)."""
    blocks = _reached_blocks(events, parcels, min_rank=min_rank)
    pos = blocks["pos"].to_numpy()
    blocks["park_id"] = parcels[Col.PARK_ID].to_numpy()[pos]
    blocks["area"] = area.to_numpy()[pos]
    return blocks


def _reached_area_at(blocks: pd.DataFrame, dates: list[pd.Timestamp]) -> pd.DataFrame:
    """Area (``area`` column of ``blocks``) reached per park at each date: index park_id, one column per date."""
    cols = {}
    for i, d in enumerate(dates):
        m = (blocks["start"] <= d).to_numpy() & (blocks["end"] > d).to_numpy()
        cols[i] = blocks[m].groupby("park_id")["area"].sum()
    return pd.DataFrame(cols).fillna(0.0)
