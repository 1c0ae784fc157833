"""Applying a scenario to an atlas, in memory: the changed layers, the park timelines and the projected plots.

Nothing here writes: the result is an in-memory atlas
(:func:`kcn_gis.store.memory.memory_atlas`) on which every analytics function
runs unchanged. Projected leases are materialised as plots: the free industrial
land of each park (its plots not leased on ``history_end``, and for added or
enlarged land ``industrial_share`` of the new area) is cut, along the hectare
axis, into pieces whose ``acquired_on``/``leased_on`` dates follow the
projection (31 December of each projected year, or the dates of an explicit
schedule). A piece is cut from each bank in proportion to the bank's part of
the free land, so the projection does not favour a bank.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.analytics import split_banks
from kcn_gis.analytics._common import M2_PER_HA, dates
from kcn_gis.analytics.banks import DUONG
from kcn_gis.errors import Problem, ScenarioError
from kcn_gis.scenario.model import BASELINE, Change, Scenario, load_scenario, scenario_from_dict
from kcn_gis.scenario.projection import BANDS, DAYS_PER_YEAR, LeasePaceModel, PaceFit, industrial_area_ha
from kcn_gis.schema import Col, LandUse, Layer, ParkStatus

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = ["ParkPlan", "ScenarioState", "apply_scenario", "as_scenario", "build_state", "history_end_of"]

log = logging.getLogger(__name__)

#: Overlaps and protrusions smaller than this (m²) are digitising slivers and accepted.
_TOLERANCE_M2 = 1.0
_STATUS_ORDER = {str(ParkStatus.PREPARING): 0, str(ParkStatus.CONSTRUCTION): 1, str(ParkStatus.OPERATING): 2}
DEFAULT_HORIZON = 2030


@dataclass
class ParkPlan:
    """What a scenario says about one park (beyond its row in the parks layer).

    ``timeline`` maps a status to the date it starts; before the first date the
    park keeps ``base_status``. ``land`` is the area (EPSG:9209) from which new
    industrial land is carved (``share`` of it), ``schedule`` the explicit
    cumulative hectares (dates -> ha) that override the model.
    """

    park_id: str
    base_status: str
    timeline: dict[str, pd.Timestamp] = field(default_factory=dict)
    schedule: dict[str, dict[pd.Timestamp, float]] = field(default_factory=dict)
    schedule_change: Change | None = None
    land: Any = None
    share: float | None = None
    origin: str = ""  # "added", "enlarged", "reduced", "rephased", "status" or ""
    exists_from: pd.Timestamp | None = None

    def status_on(self, day: pd.Timestamp) -> str:
        past = [(d, _STATUS_ORDER[s], s) for s, d in self.timeline.items() if d <= day]
        return max(past)[2] if past else self.base_status

    def start(self) -> pd.Timestamp | None:
        """Start of leasing for a park without history: its construction (else operating) date."""
        for s in (str(ParkStatus.CONSTRUCTION), str(ParkStatus.OPERATING)):
            if s in self.timeline:
                return self.timeline[s]
        return None


@dataclass
class ScenarioState:
    """An atlas with a scenario's changes applied (in memory), before and after projection."""

    name: str
    layers: dict[str, Any]
    plans: dict[str, ParkPlan]
    crs: Any
    dropped: gpd.GeoDataFrame
    old_boundaries: dict[str, Any]
    source: str | None = None
    plots_by_band: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    fit: PaceFit | None = None
    horizon: int = DEFAULT_HORIZON

    def parks_on(self, day: Any) -> gpd.GeoDataFrame:
        """The parks layer with each park's status on ``day`` (per the scenario's timelines)."""
        d = pd.Timestamp(day).normalize()
        parks = self.layers[str(Layer.PARKS)].copy()
        parks[Col.STATUS] = [self.plans[str(p)].status_on(d) for p in parks[Col.PARK_ID]]
        return parks

    def to_atlas(self, *, band: str = "mid", as_of: Any = None) -> Any:
        from kcn_gis.store.memory import memory_atlas

        day = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(year=self.horizon, month=12, day=31)
        layers = dict(self.layers)
        layers[str(Layer.PARKS)] = self.parks_on(day)
        layers[str(Layer.PLOTS)] = self.plots_by_band[band]
        return memory_atlas(layers, location=f"memory:scenario '{self.name}' ({band})", crs=self.crs)


def as_scenario(scenario: Scenario | str | os.PathLike[str] | Mapping[str, Any] | None) -> Scenario:
    """A :class:`Scenario` from a scenario, a YAML path, a mapping, or ``None``/``"baseline"`` (no change)."""
    if scenario is None or (isinstance(scenario, str) and scenario == BASELINE):
        return Scenario.baseline()
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return scenario_from_dict(scenario)
    return load_scenario(scenario)


def history_end_of(plots: pd.DataFrame) -> pd.Timestamp:
    """Latest date recorded in the plots (acquired, leased or lease ended): where the history stops."""
    vals = [dates(plots, c).max() for c in (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON)]
    vals = [v for v in vals if not pd.isna(v)]
    if not vals:
        raise ScenarioError("the atlas has no dated plots, so there is no history to project from")
    return pd.Timestamp(max(vals)).normalize()


def build_state(atlas: Atlas, scenario: Scenario, *, river: str = DUONG) -> ScenarioState:
    """Apply the changes of ``scenario`` to the layers of ``atlas`` (in memory) and check them.

    Raises
    ------
    ScenarioError
        Naming the change, the field and the problem: unknown or duplicate park id, a boundary
        outside the province or overlapping another park, a date before the park exists.
    """
    layers: dict[str, Any] = {str(k): atlas.read(k) for k in Layer}
    parks: gpd.GeoDataFrame = layers[str(Layer.PARKS)].copy()
    plots: gpd.GeoDataFrame = layers[str(Layer.PLOTS)].copy()
    province = layers[str(Layer.PROVINCE)]
    outline = shapely.union_all(np.asarray(province.geometry.values, dtype=object))
    plans: dict[str, ParkPlan] = {}
    first_dates = pd.concat([dates(plots, Col.ACQUIRED_ON), dates(plots, Col.LEASED_ON)], axis=1).min(axis=1)
    first_by_park = first_dates.groupby(plots[Col.PARK_ID].astype(str)).min()
    for pid, st in zip(parks[Col.PARK_ID].astype(str), parks[Col.STATUS].astype(str), strict=True):
        f = first_by_park.get(pid)
        plans[pid] = ParkPlan(pid, st, exists_from=None if f is None or pd.isna(f) else pd.Timestamp(f))
    with_plots = set(plots[Col.PARK_ID].astype(str))
    dropped_rows: list[int] = []
    dropped_frames: list[gpd.GeoDataFrame] = []
    old_boundaries: dict[str, Any] = {}
    touched: dict[str, Change] = {}
    problems: list[Problem] = []

    def index_of(pid: str) -> int | None:
        hit = np.flatnonzero(parks[Col.PARK_ID].astype(str).to_numpy() == pid)
        return int(hit[0]) if hit.size else None

    def check_inside(change: Change, geom: Any, fld: str) -> bool:
        outside = shapely.area(shapely.difference(geom, outline))
        if outside > _TOLERANCE_M2:
            problems.append(
                change.problem(
                    fld,
                    f"{outside / M2_PER_HA:.2f} ha of the boundary lie outside the province; "
                    "draw it inside the province outline (EPSG:9209)",
                    "boundary_outside_province",
                )
            )
            return False
        return True

    def check_date(change: Change, plan: ParkPlan, day: pd.Timestamp | None, fld: str) -> None:
        if day is not None and plan.exists_from is not None and day < plan.exists_from:
            problems.append(
                change.problem(
                    fld,
                    f"{day.date()} is before the park exists (its first date is {plan.exists_from.date()}); "
                    "give a later date",
                    "date_before_park",
                )
            )

    for change in scenario.changes:
        pid = change.park_id
        i = index_of(pid)
        if change.kind == "add_park":
            if i is not None:
                problems.append(
                    change.problem(
                        "park_id", f"park '{pid}' is already in the atlas; choose a new id", "duplicate_park"
                    )
                )
                continue
            geom = change.params.get("boundary")
            timeline = dict(change.params.get("status") or {})
            if geom is None or not timeline:
                continue  # reported by the loader
            check_inside(change, geom, "boundary")
            first = min(timeline.values())
            plan = ParkPlan(pid, str(ParkStatus.PREPARING), timeline, origin="added", exists_from=first)
            plan.land, plan.share = geom, change.params.get("industrial_share")
            if change.params.get("schedule"):
                plan.schedule, plan.schedule_change = dict(change.params["schedule"]), change
                for kind, steps in plan.schedule.items():
                    for d in steps:
                        check_date(change, plan, d, f"schedule.{kind}.{d.year}")
            plans[pid] = plan
            row = {
                Col.PARK_ID: pid,
                Col.NAME: change.params.get("name"),
                Col.NAME_EN: change.params.get("name_en"),
                Col.DISTRICT: change.params.get("district"),
                Col.STATUS: str(ParkStatus.PREPARING),
                Col.LISTED_AREA_HA: change.params.get("listed_area_ha") or round(geom.area / M2_PER_HA, 2),
                Col.DETAIL_PLAN_APPROVED: bool(change.params.get("detail_plan_approved", True)),
                Col.DEVELOPER: change.params.get("developer"),
            }
            extra = gpd.GeoDataFrame([row], geometry=[geom], crs=parks.crs)
            parks = gpd.GeoDataFrame(pd.concat([parks, extra], ignore_index=True), geometry="geometry", crs=parks.crs)
            touched[pid] = change
            continue
        if i is None:
            problems.append(
                change.problem(
                    "park_id",
                    f"unknown park '{pid}'; parks are {', '.join(parks[Col.PARK_ID].astype(str))}",
                    "unknown_park",
                )
            )
            continue
        plan = plans[pid]
        if change.kind == "drop_park":
            dropped_frames.append(parks.iloc[[i]])
            parks = parks.drop(index=parks.index[i]).reset_index(drop=True)
            plots = plots[plots[Col.PARK_ID].astype(str) != pid].reset_index(drop=True)
            plans.pop(pid)
            dropped_rows.append(i)
            touched.pop(pid, None)
        elif change.kind == "resize_park":
            old = parks.geometry.iloc[i]
            if change.params.get("boundary") is not None:
                new = change.params["boundary"]
            elif change.params.get("buffer_m") is not None:
                new = shapely.buffer(old, float(change.params["buffer_m"]), join_style="mitre")
                if new.is_empty:
                    problems.append(change.problem("buffer_m", "removes the whole park; use drop_park instead"))
                    continue
            else:
                continue
            if not check_inside(change, new, "boundary" if change.params.get("boundary") is not None else "buffer_m"):
                continue
            old_boundaries.setdefault(pid, old)
            parks.loc[parks.index[i], "geometry"] = new
            gained = shapely.difference(new, old)
            plan.origin = "enlarged" if shapely.area(gained) > _TOLERANCE_M2 else "reduced"
            if change.params.get("industrial_share") is not None:
                plan.share = change.params["industrial_share"]
            if pid in with_plots:
                plan.land = gained if shapely.area(gained) > _TOLERANCE_M2 else None
            else:
                plan.land = new
            touched[pid] = change
        elif change.kind == "set_status":
            day = change.params.get("on")
            if day is None:
                continue
            check_date(change, plan, day, "on")
            plan.timeline[change.params["status"]] = day
            plan.origin = plan.origin or "status"
            if plan.land is None and pid not in with_plots:
                plan.land = parks.geometry.iloc[i]
        elif change.kind == "rephase":
            months = change.params.get("shift_months")
            if months:
                off = pd.DateOffset(months=int(months))
                plan.timeline = {s: d + off for s, d in plan.timeline.items()}
                plan.schedule = {k: {d + off: v for d, v in steps.items()} for k, steps in plan.schedule.items()}
                mask = (plots[Col.PARK_ID].astype(str) == pid).to_numpy()
                for c in (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON):
                    d = dates(plots, c)
                    plots[c] = d.where(~mask, d + off).astype("datetime64[ms]")
                if plan.exists_from is not None:
                    plan.exists_from = plan.exists_from + off
            if change.params.get("status"):
                for s, d in change.params["status"].items():
                    check_date(change, plan, d, f"status.{s}")
                plan.timeline = dict(change.params["status"])
            if change.params.get("schedule"):
                plan.schedule, plan.schedule_change = dict(change.params["schedule"]), change
            plan.origin = plan.origin or "rephased"
            if plan.land is None and pid not in with_plots:
                plan.land = parks.geometry.iloc[i]

    # overlaps between the changed parks and every other park
    g = np.asarray(parks.geometry.values, dtype=object)
    ids = parks[Col.PARK_ID].astype(str).to_numpy()
    for pid, change in touched.items():
        j = int(np.flatnonzero(ids == pid)[0])
        for k in np.flatnonzero(shapely.intersects(g[j], g)):
            if k == j:
                continue
            a = shapely.area(shapely.intersection(g[j], g[k]))
            if a > _TOLERANCE_M2 and (ids[k] not in touched or pid < ids[k]):
                problems.append(
                    change.problem(
                        "boundary" if "boundary" in change.params else "buffer_m",
                        f"overlaps park '{ids[k]}' by {a / M2_PER_HA:.2f} ha; parks must not overlap",
                        "overlapping_parks",
                    )
                )
    if problems:
        src = scenario.source or scenario.name
        raise ScenarioError.from_problems(
            problems, header=f"scenario {src} cannot be applied to {atlas.location} (nothing was changed or written):"
        )

    kept = set(parks[Col.PARK_ID].astype(str))
    parcels = layers[str(Layer.PARCELS)]
    gone = parcels[~parcels[Col.PARK_ID].astype(str).isin(kept)]
    layers[str(Layer.PARCELS)] = parcels[parcels[Col.PARK_ID].astype(str).isin(kept)].reset_index(drop=True)
    events = layers[str(Layer.CLEARANCE_EVENTS)]
    layers[str(Layer.CLEARANCE_EVENTS)] = events[~events[Col.PARCEL_ID].isin(gone[Col.PARCEL_ID])].reset_index(
        drop=True
    )
    layers[str(Layer.PARKS)] = parks
    layers[str(Layer.PLOTS)] = plots
    dropped = (
        gpd.GeoDataFrame(pd.concat(dropped_frames, ignore_index=True), geometry="geometry", crs=parks.crs)
        if dropped_frames
        else parks.iloc[0:0].copy()
    )
    log.info("scenario %s: %d change(s) applied in memory", scenario.name, len(scenario.changes))
    return ScenarioState(scenario.name, layers, plans, atlas.crs, dropped, old_boundaries, source=scenario.source)


# -- materialising the projection as plots -------------------------------------------------------------


def _carve_one(g: Any, area: float) -> tuple[Any, Any]:
    """Split ``g`` by a vertical line into a western piece of ``area`` m² and the rest (bisection on x)."""
    total = shapely.area(g)
    if area >= total - 1e-6:
        return g, shapely.Polygon()
    if area <= 1e-9:
        return shapely.Polygon(), g
    minx, miny, maxx, maxy = g.bounds
    lo, hi = minx, maxx
    for _ in range(64):
        mid = (lo + hi) / 2
        if shapely.area(shapely.intersection(g, shapely.box(minx - 1, miny - 1, mid, maxy + 1))) < area:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9:
            break
    x = (lo + hi) / 2
    return (
        shapely.intersection(g, shapely.box(minx - 1, miny - 1, x, maxy + 1)),
        shapely.intersection(g, shapely.box(x, miny - 1, maxx + 1, maxy + 1)),
    )


def _carve(g: Any, area: float, bank_geoms: np.ndarray) -> tuple[Any, Any]:
    """A piece of ``area`` m² of ``g`` taken from each bank in proportion to the bank's part of ``g``."""
    total = shapely.area(g)
    if area >= total - 1e-6:
        return g, shapely.Polygon()
    parts = [shapely.intersection(g, b) for b in bank_geoms]
    areas = np.array([shapely.area(p) for p in parts])
    if (areas > 1e-6).sum() <= 1:
        return _carve_one(g, area)
    f = area / total
    cuts = [_carve_one(p, f * a) for p, a in zip(parts, areas, strict=True) if a > 1e-6]
    return shapely.union_all([c[0] for c in cuts]), shapely.union_all([c[1] for c in cuts])


def _first_reaching(steps: list[tuple[pd.Timestamp, float]], h: float) -> pd.Timestamp:
    for d, v in steps:
        if v >= h - 1e-9:
            return d
    return pd.NaT


def _step_value(steps: Mapping[pd.Timestamp, float], day: pd.Timestamp) -> float:
    held = [v for d, v in steps.items() if d <= day]
    return held[-1] if held else 0.0


def _materialise_park(
    state: ScenarioState,
    plan: ParkPlan,
    fit: PaceFit,
    band: str,
    park_plots: gpd.GeoDataFrame,
    areas_ha: np.ndarray,
    park_geom: Any,
    bank_geoms: np.ndarray,
    problems: list[Problem],
) -> tuple[list[int], list[dict]]:
    """Rows (positions in ``park_plots``) replaced and the new pieces for one park."""
    end = fit.history_end
    is_ind = (park_plots[Col.LAND_USE].astype(str) == str(LandUse.INDUSTRIAL)).to_numpy()
    acq = dates(park_plots, Col.ACQUIRED_ON)
    lea = dates(park_plots, Col.LEASED_ON)
    ended = dates(park_plots, Col.LEASE_ENDED_ON)
    leased_now = (lea.notna() & (lea <= end)).to_numpy()
    ever_ended = ended.notna().to_numpy()
    free = is_ind & ~leased_now & ~ever_ended & ~(lea.notna() & (lea > end)).to_numpy()
    free_pos = np.flatnonzero(free)
    acquired_now = (acq.notna() & (acq <= end)).to_numpy()
    order = sorted(
        free_pos,
        key=lambda p: (
            not acquired_now[p],
            acq.iloc[p] if acquired_now[p] else pd.Timestamp.max,
            str(park_plots[Col.PLOT_ID].iloc[p]),
        ),
    )
    segs: list[dict] = []
    for p in order:
        if areas_ha[p] <= 0:
            continue
        geom = shapely.intersection(park_plots.geometry.iloc[p], park_geom)
        segs.append({"geom": geom, "ha": areas_ha[p], "acq": acq.iloc[p] if acquired_now[p] else pd.NaT, "row": p})
    leased_hist = float(areas_ha[is_ind & leased_now & ~((ended.notna()) & (ended <= end)).to_numpy()].sum())
    acq_hist = float(areas_ha[is_ind & acquired_now].sum())
    pre_acquired = float(sum(s["ha"] for s in segs if not pd.isna(s["acq"])))
    if plan.land is not None and shapely.area(plan.land) > 0:
        share = plan.share if plan.share is not None else fit.default_share
        land = shapely.intersection(plan.land, park_geom)
        new_ha = share * shapely.area(land) / M2_PER_HA
        if new_ha > 0:
            piece, _ = _carve(land, new_ha * M2_PER_HA, bank_geoms)
            segs.append({"geom": piece, "ha": shapely.area(piece) / M2_PER_HA, "acq": pd.NaT, "row": None})
    free_ha = float(sum(s["ha"] for s in segs))
    if free_ha <= 1e-9:
        return [], []
    planned_total = leased_hist + free_ha
    # the leased target: cumulative hectares (park total) at each date after the history
    horizon_day = pd.Timestamp(year=state.horizon, month=12, day=31)
    lease_steps: list[tuple[pd.Timestamp, float]] = []
    sched_l = plan.schedule.get("leased_ha")
    if plan.schedule_change is not None:
        for kind, steps in plan.schedule.items():
            early = [d for d in steps if d <= end]
            if early:
                problems.append(
                    plan.schedule_change.problem(
                        f"schedule.{kind}.{early[0].year}",
                        f"is not after the end of the recorded history ({end.date()}); the history comes from the "
                        "plots, a schedule only projects later years",
                        "schedule_in_history",
                    )
                )
    if sched_l:
        top = max(sched_l.values())
        if top > planned_total + 1e-6 and plan.schedule_change is not None:
            problems.append(
                plan.schedule_change.problem(
                    "schedule.leased_ha",
                    f"leases {top:g} ha but the park has only {planned_total:.2f} ha of planned industrial land "
                    "(industrial_share x area); lower the schedule or raise industrial_share",
                    "schedule_over_planned",
                )
            )
        lease_steps = [(d, v) for d, v in sched_l.items() if d > end and d <= horizon_day]
    else:
        years = range(fit.fit_year + 1, state.horizon + 1)
        if fit.started(plan.park_id):
            pace = fit.pace(plan.park_id, band)
            lease_steps = [
                (pd.Timestamp(year=y, month=12, day=31), leased_hist + pace * (y - fit.fit_year)) for y in years
            ]
        else:
            start = plan.start()
            if start is not None:
                pace = fit.pace(None, band)
                for y in years:
                    day = pd.Timestamp(year=y, month=12, day=31)
                    t = (day - start).days / DAYS_PER_YEAR
                    if t > 0:
                        lease_steps.append((day, leased_hist + pace * t))
    new_steps = []
    best = 0.0
    for d, v in lease_steps:
        best = max(best, min(free_ha, v - leased_hist))
        new_steps.append((d, best))
    sched_a = plan.schedule.get("acquired_ha")
    acq_steps: list[tuple[pd.Timestamp, float]] = []
    if sched_a:
        acq_steps = [
            (d, pre_acquired + max(0.0, v - acq_hist)) for d, v in sched_a.items() if d > end and d <= horizon_day
        ]
    cuts = {0.0, free_ha}
    h = 0.0
    for s in segs:
        h += s["ha"]
        s["end"] = h
        cuts.add(min(h, free_ha))
    cuts |= {min(v, free_ha) for _, v in new_steps if v > 0}
    cuts |= {min(v, free_ha) for _, v in acq_steps if v > 0}
    points = sorted(cuts)
    pieces: list[dict] = []
    replaced: list[int] = []
    for s in segs:
        s0, s1 = s["end"] - s["ha"], s["end"]
        inner = [p for p in points if s0 + 1e-9 < p < s1 - 1e-9]
        bounds = [s0, *inner, s1]
        intervals: list[list[Any]] = []
        for a, b in itertools.pairwise(bounds):
            leased_on = _first_reaching(new_steps, b)
            acquired_on = s["acq"]
            if pd.isna(acquired_on):
                acquired_on = _first_reaching(acq_steps, b) if acq_steps else pd.NaT
            if not pd.isna(leased_on) and (pd.isna(acquired_on) or acquired_on > leased_on):
                acquired_on = leased_on
            if (intervals and intervals[-1][2] == leased_on and intervals[-1][3] == acquired_on) or (
                intervals
                and pd.isna(intervals[-1][2])
                and pd.isna(leased_on)
                and (intervals[-1][3] == acquired_on or (pd.isna(intervals[-1][3]) and pd.isna(acquired_on)))
            ):
                intervals[-1][1] = b
            else:
                intervals.append([a, b, leased_on, acquired_on])
        changed = (
            len(intervals) > 1
            or not pd.isna(intervals[0][2])
            or s["row"] is None
            or (not pd.isna(intervals[0][3]) and pd.isna(s["acq"]))
        )
        if not changed:
            continue
        if s["row"] is not None:
            replaced.append(int(s["row"]))
            template = park_plots.iloc[s["row"]]
            base_id = str(template[Col.PLOT_ID])
        else:
            template = None
            base_id = f"{plan.park_id}~new"
        rest = s["geom"]
        seg_area = shapely.area(rest)
        scale = seg_area / (s["ha"] * M2_PER_HA) if s["ha"] > 0 else 1.0
        for k, (a, b, leased_on, acquired_on) in enumerate(intervals):
            if k == len(intervals) - 1:
                piece = rest
            else:
                piece, rest = _carve(rest, (b - a) * M2_PER_HA * scale, bank_geoms)
            pieces.append(
                {
                    Col.PLOT_ID: base_id if len(intervals) == 1 and template is not None else f"{base_id}~{k + 1}",
                    Col.PARK_ID: plan.park_id,
                    Col.LAND_USE: str(LandUse.INDUSTRIAL),
                    Col.ACQUIRED_ON: acquired_on,
                    Col.LEASED_ON: leased_on,
                    Col.LEASE_ENDED_ON: pd.NaT,
                    Col.TENANT: None,
                    Col.PROJECT_ID: None if template is None else template.get(Col.PROJECT_ID),
                    "geometry": piece,
                }
            )
    return replaced, pieces


def project_state(state: ScenarioState, fit: PaceFit, *, horizon: int, river: str = DUONG) -> ScenarioState:
    """Materialise the projection of every park as plots, for each band (see the module docstring)."""
    state.fit, state.horizon = fit, horizon
    parks = state.layers[str(Layer.PARKS)]
    plots = state.layers[str(Layer.PLOTS)]
    banks = split_banks(state.layers[str(Layer.PROVINCE)], state.layers[str(Layer.RIVERS)], river=river)
    bank_geoms = np.asarray(banks.geometry.values, dtype=object)
    areas = industrial_area_ha(plots, parks)
    pid_of_plot = plots[Col.PARK_ID].astype(str).to_numpy()
    problems: list[Problem] = []
    for band in BANDS:
        drop: list[int] = []
        extra: list[dict] = []
        for i, pid in enumerate(parks[Col.PARK_ID].astype(str)):
            plan = state.plans[pid]
            pos = np.flatnonzero(pid_of_plot == pid)
            if plan.land is None and not fit.started(pid) and not plan.schedule and plan.start() is None:
                continue
            rows, pieces = _materialise_park(
                state, plan, fit, band, plots.iloc[pos], areas[pos], parks.geometry.iloc[i], bank_geoms, problems
            )
            drop += [int(pos[r]) for r in rows]
            extra += pieces
        if problems:
            raise ScenarioError.from_problems(
                problems, header=f"scenario {state.source or state.name} cannot be projected (nothing was written):"
            )
        kept = plots.drop(index=plots.index[drop])
        if extra:
            new = gpd.GeoDataFrame(pd.DataFrame(extra), geometry="geometry", crs=plots.crs)
            for c in (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON):
                new[c] = pd.to_datetime(new[c]).astype("datetime64[ms]")
            for c in (Col.TENANT, Col.PROJECT_ID):
                new[c] = new[c].astype(object)
            out = gpd.GeoDataFrame(pd.concat([kept, new], ignore_index=True), geometry="geometry", crs=plots.crs)
        else:
            out = kept.reset_index(drop=True)
        state.plots_by_band[band] = out
    return state


def apply_scenario(
    atlas: Atlas,
    scenario: Scenario | str | os.PathLike[str] | Mapping[str, Any] | None,
    *,
    as_of: Any = None,
    band: str = "mid",
    horizon: int = DEFAULT_HORIZON,
    history_end: Any = None,
    model: Any = None,
    river: str = DUONG,
) -> Any:
    """Apply a scenario to an atlas in memory and return the result as an atlas with the same API.

    The source atlas is never written. The changes are checked against the atlas
    (unknown park ids, boundaries outside the province or overlapping other parks,
    dates before a park exists) and every layer of the result is validated against
    the schema on first read, as an import would be. The projection (see
    :mod:`kcn_gis.scenario.projection`) is materialised as plots with future
    ``acquired_on``/``leased_on`` dates, so :func:`kcn_gis.fill_rates`,
    :func:`kcn_gis.river_balance` and the maps work unchanged.

    Parameters
    ----------
    atlas : Atlas
        The atlas (EPSG:9209; areas in hectares).
    scenario : Scenario, path, mapping or None
        The scenario (a YAML file, a parsed mapping, or ``None``/``"baseline"`` for no change).
    as_of : date-like, optional
        Parks carry their status on this date (timelines of the scenario). Default:
        31 December of ``horizon``. Compute figures at the same date.
    band : {"low", "mid", "high"}
        Which projection (quartile pace) the plots follow.
    horizon : int, default 2030
        Last year projected; figures stay flat after it.
    history_end : date-like, optional
        End of the history the model is fitted on (default: the latest plot date).
    model : optional
        A projection model with ``fit(plots, parks, *, history_end)`` (default :class:`LeasePaceModel`).
    river : str, default "Sông Đuống"

    Returns
    -------
    Atlas
        In memory (``location`` starts with ``memory:``).

    Raises
    ------
    ScenarioError
        Naming the scenario file, the change, the field and the problem.
    """
    if band not in BANDS:
        raise ScenarioError(f"band={band!r}; use one of {', '.join(BANDS)}")
    state = run_scenario(atlas, scenario, horizon=horizon, history_end=history_end, model=model, river=river)
    return state.to_atlas(band=band, as_of=as_of)


def fit_model(atlas_plots: Any, atlas_parks: Any, *, history_end: Any = None, model: Any = None) -> PaceFit:
    end = history_end_of(atlas_plots) if history_end is None else pd.Timestamp(history_end).normalize()
    return (model or LeasePaceModel()).fit(atlas_plots, atlas_parks, history_end=end)


def run_scenario(
    atlas: Atlas,
    scenario: Any,
    *,
    horizon: int = DEFAULT_HORIZON,
    history_end: Any = None,
    model: Any = None,
    river: str = DUONG,
    fit: PaceFit | None = None,
) -> ScenarioState:
    """Apply and project one scenario: the state with plots for every band."""
    sc = as_scenario(scenario)
    if fit is None:
        fit = fit_model(atlas.plots, atlas.parks, history_end=history_end, model=model)
    state = build_state(atlas, sc, river=river)
    return project_state(state, fit, horizon=horizon, river=river)
