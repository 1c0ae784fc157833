"""Spatial and logical consistency checks between the layers of an atlas.

The schema checks (:mod:`kcn_gis.validation`) look at one layer at a time; these
look across layers: plots against their park, plots against each other, dates
against dates, projects against plots. Each problem is a
:class:`~kcn_gis.errors.Problem` with a severity, a check name, the layer, the
1-based row and the ids involved. Nothing here raises on bad data.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from kcn_gis.analytics._common import (
    M2_PER_HA,
    SLIVER_M2,
    dates,
    geoms,
    require_columns,
    require_same_crs,
)
from kcn_gis.analytics._overlaps import KERNEL_FROM, MIN_TOLERANCE_M2, candidate_pairs, parallel, warm_up
from kcn_gis.analytics.environment import ENVIRONMENT_CHECKS, environment_problems
from kcn_gis.analytics.pieces import covered_by as _covered_by
from kcn_gis.analytics.pieces import park_lookup
from kcn_gis.analytics.reporting import REPORTS_CHECKS, reporting_problems
from kcn_gis.errors import Problem
from kcn_gis.schema import Col, Event, Layer
from kcn_gis.validation import is_valid

__all__ = ["CHECKS", "check_consistency", "prepare_overlap_search"]

log = logging.getLogger(__name__)

#: Check name -> (severity, what it finds).
CHECKS: dict[str, tuple[str, str]] = {
    "invalid_geometry": ("error", "a park, plot or parcel geometry is not valid (e.g. self-intersecting)"),
    "plot_unknown_park": ("error", "a plot's park_id is not in the parks layer"),
    "plot_outside_park": ("error", "a plot sticks out of its own park (area outside given)"),
    "double_leasing": ("error", "two plots overlap and were both leased on the same date"),
    "overlapping_plots": ("warning", "two plots overlap (never both leased at the same time)"),
    "overlapping_parks": ("error", "two parks overlap"),
    "parcel_unknown_park": ("error", "a parcel's park_id is not in the parks layer"),
    "parcel_outside_park": ("warning", "a cadastral parcel lies partly outside its park"),
    "overlapping_parcels": ("error", "two cadastral parcels overlap (the same land would be compensated twice)"),
    "event_unknown_parcel": ("error", "a clearance event's parcel_id is not in the parcels layer (an orphan)"),
    "correction_unknown_event": ("error", "a correction names an event id that is not in the clearance events"),
    "correction_other_parcel": ("error", "a correction names an event of another parcel"),
    "leased_not_acquired": ("error", "a plot was leased but has no acquired_on date"),
    "leased_before_acquired": ("error", "a plot's leased_on is before its acquired_on"),
    "lease_end_not_after_start": ("error", "a lease ends before it starts, or ends without a start"),
    "plot_unknown_project": ("error", "a plot's project_id is not in the projects table"),
    "project_without_plot": ("warning", "a project has no plot"),
}


CHECKS.update(ENVIRONMENT_CHECKS)  # facilities and environment (kcn_gis.analytics.environment)
CHECKS.update(REPORTS_CHECKS)  # enterprise reports (kcn_gis.analytics.reporting)


def _ident(key: str, value: object) -> str:
    return f"{key} '{value}'"


def _problem(check: str, message: str, *, layer: Layer, row: int | None, ids: tuple[str, ...], field=None) -> Problem:
    return Problem(CHECKS[check][0], check, message, layer=str(layer), row=row, field=field, ids=ids)


def _fmt_ha(m2: float) -> str:
    return f"{m2 / M2_PER_HA:,.4f} ha ({m2:,.0f} m²)"


def _prepared(frame: gpd.GeoDataFrame, focus: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(bad, usable)``: positions of invalid geometries, and the geometries repaired in memory (empty -> None).

    With ``focus`` (a boolean mask) only those rows are checked for validity.
    """
    g = geoms(frame)
    present = ~shapely.is_missing(g) & ~shapely.is_empty(g)
    bad = present.copy()
    if focus is None:
        bad &= ~is_valid(frame.geometry.values)  # once per array: the schema checks may have asked already
    else:
        bad &= focus
        bad[bad] = ~shapely.is_valid(g[bad])
    fixed = g.copy()
    if bad.any():
        fixed[bad] = shapely.make_valid(g[bad], method="structure", keep_collapsed=False)
    fixed[~present] = None
    return np.flatnonzero(bad), fixed


def _invalid(frame: gpd.GeoDataFrame, layer: Layer, key: str, bad: np.ndarray) -> list[Problem]:
    if len(bad) == 0:
        return []  # no ids turned into Python objects for nothing (a million parcels: 0.25 s)
    g = geoms(frame)
    ids = frame[key].astype(object).to_numpy() if key in frame.columns else np.full(len(frame), None)
    return [
        _problem(
            "invalid_geometry",
            f"invalid geometry ({shapely.is_valid_reason(g[p])}); repair it with kcn-gis validate --fix NEW.gpkg, "
            "which writes a new atlas and lists every change",
            layer=layer,
            row=int(p) + 1,
            ids=(_ident(key, ids[p]),),
            field="geometry",
        )
        for p in bad
    ]


def _inside_own_park(
    frame: gpd.GeoDataFrame,
    parks: gpd.GeoDataFrame,
    frame_geoms: np.ndarray,
    park_geoms: np.ndarray,
    *,
    layer: Layer,
    key: str,
    unknown_check: str,
    outside_check: str,
    tolerance_m2: float,
) -> list[Problem]:
    out: list[Problem] = []
    lookup, park_pos = park_lookup(parks)
    # park ids as integer codes, and row ids read only for the rows reported: no Python string per row
    park_ids = frame[Col.PARK_ID]
    ids = frame[key]
    codes, uniques = pd.factorize(park_ids)
    # a missing park id (code -1) takes the appended -1: not found
    pos = np.append(lookup.get_indexer(np.asarray(uniques, dtype=object)), -1)[codes]
    what = "plot" if layer == Layer.PLOTS else "parcel"
    for p in np.flatnonzero((pos < 0) & (codes >= 0)):
        out.append(
            _problem(
                unknown_check,
                f"{what} '{ids.iloc[p]}' refers to park_id '{park_ids.iloc[p]}', which is not in the parks layer; "
                f"it is not counted anywhere. Correct the park_id or add the park.",
                layer=layer,
                row=int(p) + 1,
                ids=(_ident(key, ids.iloc[p]),),
                field=str(Col.PARK_ID),
            )
        )
    sel = np.flatnonzero(pos >= 0)
    g = frame_geoms[sel]
    distinct = park_geoms[park_pos]
    pg = distinct[pos[sel]]
    ok = ~shapely.is_missing(g) & ~shapely.is_empty(g) & ~shapely.is_missing(pg)
    covered = _covered_by(distinct, pos[sel], g, ok) | ~ok
    check = np.flatnonzero(~covered)
    if check.size == 0:
        return out
    outside = shapely.area(shapely.difference(g[check], pg[check]))
    total = shapely.area(g[check])
    for k, m2, whole in zip(check, outside, total, strict=True):
        if m2 < tolerance_m2:
            continue
        p = sel[k]
        share = m2 / whole * 100 if whole > 0 else 100.0
        counted = " Only the part inside counts in fill rates." if layer == Layer.PLOTS else ""
        out.append(
            _problem(
                outside_check,
                f"{what} '{ids.iloc[p]}' lies {_fmt_ha(m2)} outside its park '{park_ids.iloc[p]}' "
                f"({share:.1f}% of the {what}).{counted} Redraw the {what} or the park boundary.",
                layer=layer,
                row=int(p) + 1,
                ids=(_ident(key, ids.iloc[p]), _ident(str(Col.PARK_ID), park_ids.iloc[p])),
                field="geometry",
            )
        )
    return out


def _overlap_pairs(
    g: np.ndarray, tolerance_m2: float, focus: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) of polygons whose interiors overlap by at least ``tolerance_m2``, and the overlap in m².

    With ``focus`` (a boolean mask), only pairs with at least one focused polygon: the focused
    polygons are queried against an STRtree of all of them (cost grows with the focused rows).
    """
    # the whole-layer search, also when most polygons are focused (a large first import): it finds every
    # pair, and keeping those with a focused polygon is cheaper than three STRtree predicate queries
    if tolerance_m2 >= MIN_TOLERANCE_M2 and (focus is None or 2 * int(np.count_nonzero(focus)) >= len(g)):
        i, j = _whole_layer_overlaps(g)
        if focus is not None:
            mine = focus[i] | focus[j]
            i, j = i[mine], j[mine]
        area = shapely.area(parallel(shapely.intersection, g[i], g[j]))
        big = area >= tolerance_m2
        i, j, area = i[big], j[big], area[big]
        if focus is not None:  # the focused (new) polygon first, so that problems are reported on it
            swap = ~focus[i] & focus[j]
            i, j = np.where(swap, j, i), np.where(swap, i, j)
        return i, j, area
    tree = shapely.STRtree(g)
    if focus is None:
        a = tree.query(g, predicate="overlaps")
        b = tree.query(g, predicate="contains")
        pairs = np.concatenate([a, b], axis=1)
    else:
        sel = np.flatnonzero(focus)
        q = g[sel]
        found = [tree.query(q, predicate=pred) for pred in ("overlaps", "contains", "within")]
        pairs = np.concatenate(found, axis=1)
        pairs[0] = sel[pairs[0]]
    i, j = np.minimum(pairs[0], pairs[1]), np.maximum(pairs[0], pairs[1])
    keep = i != j
    if not keep.any():
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=float)
    uniq = np.unique(np.stack([i[keep], j[keep]]), axis=1)
    i, j = uniq[0], uniq[1]
    area = shapely.area(shapely.intersection(g[i], g[j]))
    big = area >= tolerance_m2
    i, j, area = i[big], j[big], area[big]
    if focus is not None:  # the focused (new) polygon first, so that problems are reported on it
        swap = ~focus[i] & focus[j]
        i, j = np.where(swap, j, i), np.where(swap, i, j)
    return i, j, area


def _whole_layer_overlaps(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j, sorted) with ``overlaps(g[i], g[j])`` or one containing the other: the same pairs as
    the STRtree queries with those predicates, found faster.

    Touching neighbours are ruled out by separating lines in numpy (:mod:`kcn_gis.analytics._overlaps`);
    GEOS decides the rest: first whether the interiors meet (which each of the three predicates requires),
    then the three predicates themselves on the few pairs left.
    """
    i, j = candidate_pairs(g)
    meet = parallel(lambda a, b: shapely.relate_pattern(a, b, "T********"), g[i], g[j])
    i, j = i[meet], j[meet]
    gi, gj = g[i], g[j]
    hit = shapely.overlaps(gi, gj) | shapely.contains(gi, gj) | shapely.contains(gj, gi)
    return i[hit], j[hit]


def _plot_overlaps(
    plots: gpd.GeoDataFrame, g: np.ndarray, tolerance_m2: float, focus: np.ndarray | None = None
) -> list[Problem]:
    i, j, area = _overlap_pairs(g, tolerance_m2, focus)
    if i.size == 0:
        return []
    ids = plots[Col.PLOT_ID].astype(object).to_numpy()
    start = dates(plots, Col.LEASED_ON).to_numpy(dtype="datetime64[s]")
    end = dates(plots, Col.LEASE_ENDED_ON).to_numpy(dtype="datetime64[s]")
    far = np.datetime64("9999-12-31", "s")
    end = np.where(np.isnat(end), far, end)
    both = ~np.isnat(start[i]) & ~np.isnat(start[j])
    common_start = np.maximum(start[i], start[j])
    common = both & (common_start < np.minimum(end[i], end[j]))
    out = []
    for a, b, m2, dbl, since in zip(i, j, area, common, common_start, strict=True):
        pair = (_ident(str(Col.PLOT_ID), ids[a]), _ident(str(Col.PLOT_ID), ids[b]))
        if dbl:
            day = pd.Timestamp(since).date().isoformat()
            out.append(
                _problem(
                    "double_leasing",
                    f"plots '{ids[a]}' and '{ids[b]}' overlap by {_fmt_ha(m2)} and were both leased from {day}: "
                    "the same land is leased twice. Correct the plot boundaries or the lease dates.",
                    layer=Layer.PLOTS,
                    row=int(a) + 1,
                    ids=pair,
                    field="geometry",
                )
            )
        else:
            out.append(
                _problem(
                    "overlapping_plots",
                    f"plots '{ids[a]}' and '{ids[b]}' overlap by {_fmt_ha(m2)}; the overlap is counted twice in "
                    "planned area. Correct the plot boundaries.",
                    layer=Layer.PLOTS,
                    row=int(a) + 1,
                    ids=pair,
                    field="geometry",
                )
            )
    return out


def _parcel_overlaps(
    parcels: gpd.GeoDataFrame, g: np.ndarray, tolerance_m2: float, focus: np.ndarray | None
) -> list[Problem]:
    i, j, area = _overlap_pairs(g, tolerance_m2, focus)
    if i.size == 0:
        return []
    ids = parcels[Col.PARCEL_ID].astype(object).to_numpy()
    out = []
    for a, b, m2 in zip(i, j, area, strict=True):
        out.append(
            _problem(
                "overlapping_parcels",
                f"parcels '{ids[a]}' and '{ids[b]}' overlap by {_fmt_ha(m2)}; the same land would be counted "
                "(and compensated) twice. Correct the parcel boundaries.",
                layer=Layer.PARCELS,
                row=int(a) + 1,
                ids=(_ident(str(Col.PARCEL_ID), ids[a]), _ident(str(Col.PARCEL_ID), ids[b])),
                field="geometry",
            )
        )
    return out


def _unknown(values: pd.Series, known: pd.Series) -> np.ndarray:
    """Positions of the non-null ``values`` that are not among the ``known`` values (``isin`` semantics).

    Text columns are compared by hashing in Arrow, without copying millions of ids to Python objects;
    other types take the pandas path.
    """
    try:
        v = pa.array(values, from_pandas=True)
        k = pa.array(known, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        v = k = None
    text = (pa.types.is_string, pa.types.is_large_string)
    if v is not None and k is not None and any(t(v.type) for t in text) and any(t(k.type) for t in text):
        # the lookup builds its own hash set of the known ids (duplicates and nulls are harmless there:
        # null values are excluded below), so no separate unique() pass over them
        inside = pc.is_in(v, value_set=k.cast(v.type))
        found = inside.fill_null(False).to_numpy(zero_copy_only=False)
        return np.flatnonzero(~found & ~values.isna().to_numpy())
    known_ids = pd.Index(known.dropna().astype(object).unique())
    obj = values.astype(object)
    return np.flatnonzero((obj.notna() & ~obj.isin(known_ids)).to_numpy())


def _event_orphans(events: pd.DataFrame, parcels: pd.DataFrame) -> list[Problem]:
    bad = _unknown(events[Col.PARCEL_ID], parcels[Col.PARCEL_ID])
    pid = events[Col.PARCEL_ID].iloc[bad].astype(object).to_numpy()
    eid = events[Col.EVENT_ID].iloc[bad].astype(object).to_numpy()
    return [
        _problem(
            "event_unknown_parcel",
            f"clearance event '{e}' refers to parcel_id '{q}', which is not in the parcels layer; "
            "its history is lost from every report. Restore the parcel (import it again) or correct the parcel_id.",
            layer=Layer.CLEARANCE_EVENTS,
            row=int(p) + 1,
            ids=(_ident(str(Col.EVENT_ID), e), _ident(str(Col.PARCEL_ID), q)),
            field=str(Col.PARCEL_ID),
        )
        for p, e, q in zip(bad, eid, pid, strict=True)
    ]


def _correction_targets(events: pd.DataFrame) -> list[Problem]:
    """Corrections that name no event of the atlas, or an event of another parcel.

    A correction voids the event it names from its date on; one that names nothing voids nothing, and
    one that names another parcel's event changes that parcel's stage from a row filed under this one
    (the sheet import refuses both; the partitioned engines read each parcel's events with the parcel).
    Cheap when there are no corrections: only the ``corrects_event_id`` nulls are looked at.
    """
    if Col.CORRECTS_EVENT_ID not in events.columns or Col.EVENT_ID not in events.columns:
        return []
    named = events[Col.CORRECTS_EVENT_ID].notna().to_numpy()
    if not named.any():
        return []
    rows = np.flatnonzero(named)
    rows = rows[events[Col.EVENT].iloc[rows].astype(object).to_numpy() == str(Event.CORRECTION)]
    if not rows.size:
        return []
    targets = events[Col.CORRECTS_EVENT_ID].iloc[rows].astype(object).to_numpy()
    ids = events[Col.EVENT_ID]
    wanted = pd.unique(targets)
    hit = np.flatnonzero(ids.isin(list(wanted)).to_numpy())  # one pass over the ids, a small set of targets
    parcel_of: dict[object, object] = {}
    for k in hit:  # the first event with the id wins, as in the stage derivation
        parcel_of.setdefault(ids.iloc[k], events[Col.PARCEL_ID].iloc[k])
    own = events[Col.PARCEL_ID].iloc[rows].astype(object).to_numpy()
    eid = ids.iloc[rows].astype(object).to_numpy()
    out: list[Problem] = []
    for r, e, t, q in zip(rows, eid, targets, own, strict=True):
        ident = (_ident(str(Col.EVENT_ID), e), _ident(str(Col.CORRECTS_EVENT_ID), t))
        if t not in parcel_of:
            out.append(
                _problem(
                    "correction_unknown_event",
                    f"correction '{e}' names event '{t}', which is not in the clearance events; it corrects "
                    "nothing. Name the event it corrects (kcn-gis clearance timeline PARCEL lists them).",
                    layer=Layer.CLEARANCE_EVENTS,
                    row=int(r) + 1,
                    ids=ident,
                    field=str(Col.CORRECTS_EVENT_ID),
                )
            )
        elif str(parcel_of[t]) != str(q):
            out.append(
                _problem(
                    "correction_other_parcel",
                    f"correction '{e}' of parcel '{q}' names event '{t}' of parcel '{parcel_of[t]}'; a correction "
                    f"must name an event of its own parcel. Record it for parcel '{parcel_of[t]}' instead.",
                    layer=Layer.CLEARANCE_EVENTS,
                    row=int(r) + 1,
                    ids=ident,
                    field=str(Col.CORRECTS_EVENT_ID),
                )
            )
    return out


def _park_overlaps(
    parks: gpd.GeoDataFrame, g: np.ndarray, tolerance_m2: float, focus: np.ndarray | None = None
) -> list[Problem]:
    i, j, area = _overlap_pairs(g, tolerance_m2, focus)
    ids = parks[Col.PARK_ID].astype(object).to_numpy()
    return [
        _problem(
            "overlapping_parks",
            f"parks '{ids[a]}' and '{ids[b]}' overlap by {_fmt_ha(m2)}; correct the park boundaries.",
            layer=Layer.PARKS,
            row=int(a) + 1,
            ids=(_ident(str(Col.PARK_ID), ids[a]), _ident(str(Col.PARK_ID), ids[b])),
            field="geometry",
        )
        for a, b, m2 in zip(i, j, area, strict=True)
    ]


def _date_checks(plots: pd.DataFrame) -> list[Problem]:
    ids = plots[Col.PLOT_ID].astype(object).to_numpy()
    acq = dates(plots, Col.ACQUIRED_ON)
    lease = dates(plots, Col.LEASED_ON)
    ended = dates(plots, Col.LEASE_ENDED_ON)
    out: list[Problem] = []

    def add(check: str, mask: pd.Series, field: Col, message) -> None:
        for p in np.flatnonzero(mask.to_numpy(dtype=bool)):
            out.append(
                _problem(
                    check,
                    message(p),
                    layer=Layer.PLOTS,
                    row=int(p) + 1,
                    ids=(_ident(str(Col.PLOT_ID), ids[p]),),
                    field=str(field),
                )
            )

    def day(s: pd.Series, p: int) -> str:
        return s.iloc[p].date().isoformat()

    add(
        "leased_not_acquired",
        lease.notna() & acq.isna(),
        Col.ACQUIRED_ON,
        lambda p: (
            f"plot '{ids[p]}' was leased on {day(lease, p)} but was never acquired (acquired_on is empty); "
            "fill in acquired_on."
        ),
    )
    add(
        "leased_before_acquired",
        lease.notna() & acq.notna() & (lease < acq),
        Col.LEASED_ON,
        lambda p: (
            f"plot '{ids[p]}' was leased on {day(lease, p)}, before it was acquired on {day(acq, p)}; "
            "correct one of the dates."
        ),
    )
    add(
        "lease_end_not_after_start",
        ended.notna() & (lease.isna() | (ended <= lease)),
        Col.LEASE_ENDED_ON,
        lambda p: (
            f"plot '{ids[p]}' has lease_ended_on {day(ended, p)} "
            + ("but no leased_on" if pd.isna(lease.iloc[p]) else f"not after leased_on {day(lease, p)}")
            + "; correct the dates."
        ),
    )
    return out


def _project_checks(plots: pd.DataFrame, projects: pd.DataFrame) -> list[Problem]:
    out: list[Problem] = []
    plot_pid = plots[Col.PROJECT_ID].astype(object)
    proj_ids = projects[Col.PROJECT_ID].astype(object)
    known = pd.Index(proj_ids.dropna().unique())
    used = pd.Index(plot_pid.dropna().unique())
    plot_ids = plots[Col.PLOT_ID].astype(object).to_numpy()
    for p in np.flatnonzero((plot_pid.notna() & ~plot_pid.isin(known)).to_numpy()):
        out.append(
            _problem(
                "plot_unknown_project",
                f"plot '{plot_ids[p]}' refers to project_id '{plot_pid.iloc[p]}', which is not in the projects "
                "table. Correct the project_id or add the project.",
                layer=Layer.PLOTS,
                row=int(p) + 1,
                ids=(_ident(str(Col.PLOT_ID), plot_ids[p]),),
                field=str(Col.PROJECT_ID),
            )
        )
    for p in np.flatnonzero((proj_ids.notna() & ~proj_ids.isin(used)).to_numpy()):
        out.append(
            _problem(
                "project_without_plot",
                f"project '{proj_ids.iloc[p]}' has no plot, so it is not placed on a bank in the river balance. "
                "Set its project_id on the plot(s) it occupies.",
                layer=Layer.PROJECTS,
                row=int(p) + 1,
                ids=(_ident(str(Col.PROJECT_ID), proj_ids.iloc[p]),),
                field=str(Col.PROJECT_ID),
            )
        )
    return out


#: The whole-layer parcel overlaps and orphan events run in threads beside the other checks (False: in order).
_EARLY_CHECKS = True


def prepare_overlap_search() -> None:
    """Start loading the compiled overlap search in the background, ahead of a large check.

    With numba installed (the ``fast`` extra), the whole-layer overlap search of
    :func:`check_consistency` runs compiled code that takes about a second to import and load.
    A caller that knows a large atlas (tens of thousands of parcels) is about to be read and
    checked calls this first, so the loading runs while the layers are read. It does nothing
    without numba, when ``KCN_GIS_NUMBA=0``, or when already started; it never changes a result.
    """
    warm_up(KERNEL_FROM)


def check_consistency(
    *,
    parks: gpd.GeoDataFrame | None,
    plots: gpd.GeoDataFrame | None,
    parcels: gpd.GeoDataFrame | None,
    projects: pd.DataFrame | None,
    clearance_events: pd.DataFrame | None = None,
    tolerance_m2: float = SLIVER_M2,
    facilities: gpd.GeoDataFrame | None = None,
    as_of: object = None,
    reports: pd.DataFrame | None = None,
    changed: Mapping[str, np.ndarray] | None = None,
) -> list[Problem]:
    """Find spatial and logical inconsistencies between parks, plots, parcels, projects and clearance events.

    Checks and severities are listed in :data:`CHECKS`. Overlaps and areas
    outside a park smaller than ``tolerance_m2`` (default 1 m²) are slivers and
    ignored. Overlaps are found with an STRtree query (no pairwise loop). Invalid
    geometries are reported and, for the other checks, repaired in memory only.

    Parameters
    ----------
    parks, plots, parcels : GeoDataFrame or None
        Atlas layers in the same projected CRS (metres; EPSG:9209). ``None`` skips
        the checks that need the layer.
    projects : DataFrame or None
        The ``projects`` table.
    clearance_events : DataFrame or None
        The clearance history; with ``parcels``, events pointing to no parcel are reported.
    tolerance_m2 : float, default 1.0
        Sliver tolerance in m².
    facilities : GeoDataFrame or None
        The ``facilities`` layer; with ``parks`` it adds the environment checks
        (unknown park, operating parks without a wastewater plant or waste
        storage in service on ``as_of``, default today).
    reports : DataFrame or None
        The ``enterprise_reports`` table; with ``projects`` it adds the report
        checks (unknown project, bad period, duplicate revision).
    changed : mapping of layer name to boolean mask, optional
        Check a write before it is made: the frames are the layers as they would be
        after the write, and ``changed[layer]`` marks the new rows. Only problems that
        involve a new row (or, for changed parks, the plots and parcels of those
        parks) are reported, and overlaps are searched for the new rows only (an
        STRtree of the layer queried with them). Layers not in the mapping are unchanged.

    Returns
    -------
    list of Problem
        In check order; empty when everything is consistent. Rows are 1-based
        positions in the given frames.

    Raises
    ------
    CRSError
        If a layer has a geographic or missing CRS, or the layers' CRSs differ.
    """
    spatial = [(f, n) for f, n in ((parks, "parks"), (plots, "plots"), (parcels, "parcels")) if f is not None]
    if spatial:
        require_same_crs(*spatial)
    if parks is not None:
        require_columns(parks, (Col.PARK_ID,), "parks")
    if plots is not None:
        require_columns(
            plots,
            (Col.PLOT_ID, Col.PARK_ID, Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON, Col.PROJECT_ID),
            "plots",
        )
    if parcels is not None:
        require_columns(parcels, (Col.PARCEL_ID, Col.PARK_ID), "parcels")
    if projects is not None:
        require_columns(projects, (Col.PROJECT_ID,), "projects")
    if clearance_events is not None:
        require_columns(clearance_events, (Col.EVENT_ID, Col.PARCEL_ID), "clearance_events")

    if changed is None:  # a whole-layer overlap search follows: load its compiled test while GEOS checks validity
        warm_up(max(len(plots) if plots is not None else 0, len(parcels) if parcels is not None else 0))

    def focus_of(layer: Layer, frame: pd.DataFrame | None) -> np.ndarray | None:
        """None: check every row; a mask: check these rows (all False: the layer is unchanged)."""
        if changed is None or frame is None:
            return None
        mask = changed.get(str(layer))
        if mask is None:
            return np.zeros(len(frame), dtype=bool)
        return np.asarray(mask, dtype=bool)

    f_parks = focus_of(Layer.PARKS, parks)
    f_plots = focus_of(Layer.PLOTS, plots)
    f_parcels = focus_of(Layer.PARCELS, parcels)
    if changed is not None and parks is not None and f_parks is not None and f_parks.any():
        # New park boundaries: the plots and parcels of those parks are checked against them again.
        touched = set(parks[Col.PARK_ID][f_parks].dropna().astype(str))
        known = set(parks[Col.PARK_ID].dropna().astype(str))
        for frame, f in ((plots, f_plots), (parcels, f_parcels)):
            if frame is not None and f is not None:
                pid = frame[Col.PARK_ID].astype(object)
                f |= (pid.astype(str).isin(touched) | (pid.notna() & ~pid.astype(str).isin(known))).to_numpy()

    out: list[Problem] = []
    fixed: dict[Layer, np.ndarray] = {}
    for frame, layer, key, f in (
        (parks, Layer.PARKS, Col.PARK_ID, f_parks),
        (plots, Layer.PLOTS, Col.PLOT_ID, f_plots),
        (parcels, Layer.PARCELS, Col.PARCEL_ID, f_parcels),
    ):
        if frame is not None:
            bad, fixed[layer] = _prepared(frame, f)
            out += _invalid(frame, layer, str(key), bad)
    # Two whole-layer checks that need nothing else start now in two threads (compiled code, GEOS and Arrow
    # work without the GIL), while the checks below run; their problems are put back in check order.
    early: dict[str, Any] = {}
    pool = ThreadPoolExecutor(2, thread_name_prefix="kcn_gis-checks") if changed is None and _EARLY_CHECKS else None
    try:
        if pool is not None and parcels is not None:
            early["parcel_overlaps"] = pool.submit(_parcel_overlaps, parcels, fixed[Layer.PARCELS], tolerance_m2, None)
            if clearance_events is not None:
                early["orphans"] = pool.submit(_event_orphans, clearance_events, parcels)
        out += _checks_in_order(
            parks=parks,
            plots=plots,
            parcels=parcels,
            projects=projects,
            clearance_events=clearance_events,
            tolerance_m2=tolerance_m2,
            changed=changed,
            fixed=fixed,
            focus=(f_parks, f_plots, f_parcels),
            early=early,
        )
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    out += _facility_checks(parks, facilities, projects, plots, as_of)
    if reports is not None and projects is not None:
        out += reporting_problems(projects, reports)
    log.info("consistency checks: %d problem(s)", len(out))
    return out


def _checks_in_order(
    *,
    parks: gpd.GeoDataFrame | None,
    plots: gpd.GeoDataFrame | None,
    parcels: gpd.GeoDataFrame | None,
    projects: pd.DataFrame | None,
    clearance_events: pd.DataFrame | None,
    tolerance_m2: float,
    changed: Mapping[str, np.ndarray] | None,
    fixed: dict[Layer, np.ndarray],
    focus: tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None],
    early: Mapping[str, Any],
) -> list[Problem]:
    """The checks of :func:`check_consistency` after the validity ones, in check order (``early``: futures
    of checks already started)."""
    f_parks, f_plots, f_parcels = focus
    out: list[Problem] = []
    if parks is not None and (f_parks is None or f_parks.any()):
        out += _park_overlaps(parks, fixed[Layer.PARKS], tolerance_m2, f_parks)
    if plots is not None and parks is not None and (f_plots is None or f_plots.any()):
        g_plots = fixed[Layer.PLOTS]
        out += _on_rows(
            plots,
            f_plots,
            lambda sub, sel: _inside_own_park(
                sub,
                parks,
                g_plots[sel],
                fixed[Layer.PARKS],
                layer=Layer.PLOTS,
                key=str(Col.PLOT_ID),
                unknown_check="plot_unknown_park",
                outside_check="plot_outside_park",
                tolerance_m2=tolerance_m2,
            ),
        )
    if plots is not None and (f_plots is None or f_plots.any()):
        out += _plot_overlaps(plots, fixed[Layer.PLOTS], tolerance_m2, f_plots)
        out += _on_rows(plots, f_plots, lambda sub, sel: _date_checks(sub))
    if parcels is not None and parks is not None and (f_parcels is None or f_parcels.any()):
        g_parcels = fixed[Layer.PARCELS]
        out += _on_rows(
            parcels,
            f_parcels,
            lambda sub, sel: _inside_own_park(
                sub,
                parks,
                g_parcels[sel],
                fixed[Layer.PARKS],
                layer=Layer.PARCELS,
                key=str(Col.PARCEL_ID),
                unknown_check="parcel_unknown_park",
                outside_check="parcel_outside_park",
                tolerance_m2=tolerance_m2,
            ),
        )
    if parcels is not None and (f_parcels is None or f_parcels.any()):
        if "parcel_overlaps" in early:
            out += early["parcel_overlaps"].result()
        else:
            out += _parcel_overlaps(parcels, fixed[Layer.PARCELS], tolerance_m2, f_parcels)
    if plots is not None and projects is not None:
        if changed is None:
            out += _project_checks(plots, projects)
        elif str(Layer.PROJECTS) in changed or str(Layer.PLOTS) in changed:
            unknown = [p for p in _project_checks(plots, projects) if p.check == "plot_unknown_project"]
            if str(Layer.PROJECTS) not in changed and f_plots is not None:
                unknown = [p for p in unknown if p.row is not None and f_plots[p.row - 1]]
            out += unknown
    events_affected = changed is None or str(Layer.PARCELS) in changed or str(Layer.CLEARANCE_EVENTS) in changed
    if clearance_events is not None and parcels is not None and events_affected:
        out += early["orphans"].result() if "orphans" in early else _event_orphans(clearance_events, parcels)
    if clearance_events is not None and (changed is None or str(Layer.CLEARANCE_EVENTS) in changed):
        out += _correction_targets(clearance_events)
    return out


def _facility_checks(parks, facilities, projects, plots, as_of) -> list[Problem]:
    """The environment checks (:data:`~kcn_gis.analytics.environment.ENVIRONMENT_CHECKS`), when both layers are given."""
    if parks is None or facilities is None:
        return []
    return environment_problems(parks, facilities, as_of=as_of, projects=projects, plots=plots)


def _on_rows(
    frame: gpd.GeoDataFrame, focus: np.ndarray | None, run: Callable[[gpd.GeoDataFrame, np.ndarray], list[Problem]]
) -> list[Problem]:
    """Run a per-row check on the focused rows only (all rows without a focus), numbered as in ``frame``."""
    sel = np.arange(len(frame)) if focus is None else np.flatnonzero(focus)
    if focus is None or len(sel) == len(frame):  # every row: no copy of the frame (a first import checks them all)
        return run(frame, sel)
    found = run(frame.iloc[sel].reset_index(drop=True), sel)
    return [
        Problem(
            p.severity,
            p.check,
            p.message,
            layer=p.layer,
            row=int(sel[p.row - 1]) + 1 if p.row else p.row,
            field=p.field,
            ids=p.ids,
            file=p.file,
        )
        for p in found
    ]
