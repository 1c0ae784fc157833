"""Comparing scenarios: the river balance per scenario, bank and year, with ranges; milestones; the back-test."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kcn_gis.analytics import balance_index, river_balance
from kcn_gis.analytics._common import dates
from kcn_gis.analytics.banks import BANK_COLUMN, DUONG
from kcn_gis.errors import ScenarioError
from kcn_gis.scenario.apply import (
    DEFAULT_HORIZON,
    ScenarioState,
    as_scenario,
    build_state,
    fit_model,
    project_state,
)
from kcn_gis.scenario.model import BASELINE, Scenario
from kcn_gis.scenario.projection import BANDS, industrial_area_ha, truncate_history
from kcn_gis.schema import Col, LandUse, Layer, ParkStatus

__all__ = [
    "COMPARE_COLUMNS",
    "MILESTONE_COLUMNS",
    "backtest_projection",
    "compare_scenarios",
    "compare_states",
    "project_scenarios",
    "scenario_milestones",
]

log = logging.getLogger(__name__)

#: Columns of :func:`compare_scenarios`, in order (figures named as in :func:`kcn_gis.river_balance`).
COMPARE_COLUMNS = (
    "scenario",
    "year",
    BANK_COLUMN,
    "park_count",
    "park_area_ha",
    "planned_ha",
    "acquired_ha",
    "leased_ha",
    "leased_ha_low",
    "leased_ha_high",
    "fill_rate_planned",
    "fill_rate_acquired",
    "leased_ha_share",
    "balance_index",
)

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas
#: Columns of :func:`scenario_milestones`.
MILESTONE_COLUMNS = (
    "scenario",
    str(Col.PARK_ID),
    str(Col.NAME),
    "planned_ha",
    "leased_ha_at_horizon",
    "leased_50_on",
    "leased_50_early",
    "leased_50_late",
    "leased_100_on",
    "leased_100_early",
    "leased_100_late",
)
_SUMMED = ("park_count", "park_area_ha", "planned_ha", "acquired_ha", "leased_ha")


def _years(years: Iterable[Any]) -> list[int]:
    out = []
    for y in years:
        try:
            out.append(int(y))
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"years: {y!r} is not a year; give e.g. 2015, 2020") from exc
    if not out:
        raise ScenarioError("years: give at least one year, e.g. 2015, 2020")
    return sorted(set(out))


def project_scenarios(
    atlas: Atlas,
    scenarios: Sequence[Any] = (),
    *,
    horizon: int = DEFAULT_HORIZON,
    history_end: Any = None,
    model: Any = None,
    river: str = DUONG,
    include_baseline: bool = True,
) -> list[ScenarioState]:
    """Apply and project each scenario (the baseline first), with one model fit shared by all.

    Parameters
    ----------
    atlas : Atlas
        The source atlas (EPSG:9209); never written.
    scenarios : sequence of Scenario, path or mapping
    horizon : int
        Last projected year.
    history_end, model, river
        As in :func:`kcn_gis.scenario.apply_scenario`.

    Returns
    -------
    list of ScenarioState
    """
    fit = fit_model(atlas.plots, atlas.parks, history_end=history_end, model=model)
    wanted = [as_scenario(s) for s in scenarios]
    names = [s.name for s in wanted]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ScenarioError(f"two scenarios are named {', '.join(map(repr, dup))}; give each its own name")
    if include_baseline and BASELINE not in names:
        wanted.insert(0, Scenario.baseline())
    return [project_state(build_state(atlas, s, river=river), fit, horizon=horizon, river=river) for s in wanted]


def _balance_rows(state: ScenarioState, band: str, day: pd.Timestamp, river: str) -> pd.DataFrame:
    lay = state.layers
    return river_balance(
        lay[str(Layer.PROVINCE)],
        lay[str(Layer.RIVERS)],
        state.parks_on(day),
        state.plots_by_band[band],
        lay[str(Layer.PROJECTS)],
        as_of=day,
        river=river,
    )


def compare_states(states: Sequence[ScenarioState], years: Iterable[Any], *, river: str = DUONG) -> pd.DataFrame:
    """:func:`compare_scenarios` on already projected states (see :func:`project_scenarios`)."""
    rows = []
    for state in states:
        for year in _years(years):
            if year > state.horizon:
                log.warning(
                    "year %d is after the projection horizon %d: figures stay at %d", year, state.horizon, state.horizon
                )
            day = pd.Timestamp(year=year, month=12, day=31)
            by_band = {b: _balance_rows(state, b, day, river) for b in BANDS}
            mid = by_band["mid"]
            for i in range(len(mid)):
                r: dict[str, Any] = {
                    c: float(mid[c].iloc[i]) for c in (*_SUMMED, "fill_rate_planned", "fill_rate_acquired")
                }
                r.update(
                    scenario=state.name,
                    year=year,
                    bank=str(mid[BANK_COLUMN].iloc[i]),
                    leased_ha_low=float(by_band["low"]["leased_ha"].iloc[i]),
                    leased_ha_high=float(by_band["high"]["leased_ha"].iloc[i]),
                    leased_ha_share=float(mid["leased_ha_share"].iloc[i]),
                    balance_index=float(mid["balance_index"].iloc[i]),
                )
                rows.append(r)
            tot: dict[str, Any] = {c: float(mid[c].sum()) for c in _SUMMED}
            leased_total = tot["leased_ha"]
            share = 1.0 if leased_total > 0 else float("nan")
            rows.append(
                {
                    **tot,
                    "scenario": state.name,
                    "year": year,
                    "bank": "province",
                    "leased_ha_low": float(by_band["low"]["leased_ha"].sum()),
                    "leased_ha_high": float(by_band["high"]["leased_ha"].sum()),
                    "fill_rate_planned": leased_total / tot["planned_ha"] if tot["planned_ha"] else float("nan"),
                    "fill_rate_acquired": leased_total / tot["acquired_ha"] if tot["acquired_ha"] else float("nan"),
                    "leased_ha_share": share,
                    "balance_index": float(balance_index(share, 1.0)),
                }
            )
    out = pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))
    out["year"] = out["year"].astype("int64")
    return out


def compare_scenarios(
    atlas: Atlas,
    scenarios: Sequence[Any] = (),
    *,
    years: Iterable[Any] = (2015, 2020),
    history_end: Any = None,
    model: Any = None,
    river: str = DUONG,
) -> pd.DataFrame:
    """Compare scenarios (and the baseline) on fill and the north/south balance, per bank and year.

    A figure for year ``Y`` is the state on 31 December of ``Y``, computed with
    :func:`kcn_gis.river_balance` on the scenario's in-memory atlas (parks with
    their status that day, plots with the projected dates). Ranges come from the
    low and high (quartile) paces of the model.

    Parameters
    ----------
    atlas : Atlas
        The source atlas (EPSG:9209); never written.
    scenarios : sequence of Scenario, YAML path or mapping
        The baseline (``"baseline"``, no change) is always included, first.
    years : iterable of int, default (2015, 2020)
    history_end : date-like, optional
        End of the history the model is fitted on (default: the latest plot date).
    model : optional
        Replaces :class:`kcn_gis.scenario.LeasePaceModel`.
    river : str, default "Sông Đuống"

    Returns
    -------
    DataFrame
        Columns :data:`COMPARE_COLUMNS`: one row per scenario, year and bank (``north``,
        ``south``, then ``province``). Areas in hectares (computed in EPSG:9209),
        rates and shares as fractions 0-1; ``park_count`` counts operating parks by area
        share; ``balance_index`` as in ``docs/analytics.md`` (1 for the province).

    Raises
    ------
    ScenarioError
        If a scenario cannot be read or applied (the message names the change and field).
    """
    ys = _years(years)
    states = project_scenarios(atlas, scenarios, horizon=max(ys), history_end=history_end, model=model, river=river)
    return compare_states(states, ys, river=river)


def _crossing(events: list[tuple[pd.Timestamp, float]], level: float) -> pd.Timestamp:
    cum = 0.0
    for d, delta in sorted(events, key=lambda e: (e[0], e[1])):
        cum += delta
        if cum >= level - 1e-6:
            return d
    return pd.NaT


def _park_leases(state: ScenarioState, band: str) -> dict[str, tuple[float, list[tuple[pd.Timestamp, float]]]]:
    parks = state.layers[str(Layer.PARKS)]
    plots = state.plots_by_band[band]
    ind = plots[Col.LAND_USE].astype(str).to_numpy() == str(LandUse.INDUSTRIAL)
    area = industrial_area_ha(plots, parks)
    lea, end = dates(plots, Col.LEASED_ON), dates(plots, Col.LEASE_ENDED_ON)
    out: dict[str, tuple[float, list[tuple[pd.Timestamp, float]]]] = {}
    for pid in parks[Col.PARK_ID].astype(str):
        pos = np.flatnonzero(ind & (plots[Col.PARK_ID].astype(str).to_numpy() == pid))
        ev: list[tuple[pd.Timestamp, float]] = []
        for p in pos:
            if not pd.isna(lea.iloc[p]):
                ev.append((lea.iloc[p], float(area[p])))
                if not pd.isna(end.iloc[p]):
                    ev.append((end.iloc[p], -float(area[p])))
        out[pid] = (float(area[pos].sum()), ev)
    return out


def scenario_milestones(states: Sequence[ScenarioState]) -> pd.DataFrame:
    """Per scenario and park: the dates when 50 % and 100 % of its planned industrial land is leased.

    Dates come from the plot history, then from the projection (31 December of the
    projected year, or the schedule's date); ``_early`` uses the high pace, ``_late``
    the low pace. NaT: not reached by the projection horizon (or no planned land).

    Parameters
    ----------
    states : sequence of ScenarioState
        From :func:`project_scenarios`.

    Returns
    -------
    DataFrame
        Columns :data:`MILESTONE_COLUMNS`; hectares computed in EPSG:9209.
    """
    rows = []
    for state in states:
        bands = {b: _park_leases(state, b) for b in BANDS}
        parks = state.layers[str(Layer.PARKS)]
        horizon = pd.Timestamp(year=state.horizon, month=12, day=31)
        for pid, name in zip(parks[Col.PARK_ID].astype(str), parks[Col.NAME].astype(str), strict=True):
            planned, ev = bands["mid"][pid]
            r: dict[str, Any] = {
                "scenario": state.name,
                str(Col.PARK_ID): pid,
                str(Col.NAME): name,
                "planned_ha": planned,
            }
            r["leased_ha_at_horizon"] = sum(d for t, d in ev if t <= horizon)
            for frac, key in ((0.5, "leased_50"), (1.0, "leased_100")):
                for band, suffix in (("mid", "_on"), ("high", "_early"), ("low", "_late")):
                    p, e = bands[band][pid]
                    r[key + suffix] = _crossing(e, frac * p) if p > 0 else pd.NaT
            rows.append(r)
    out = pd.DataFrame(rows, columns=list(MILESTONE_COLUMNS))
    for c in MILESTONE_COLUMNS:
        if c.startswith("leased_") and c != "leased_ha_at_horizon":
            out[c] = pd.to_datetime(out[c])
    return out


def backtest_projection(
    atlas: Atlas, *, fit_until: Any = "2008-12-31", target_year: int = 2011, model: Any = None, river: str = DUONG
) -> pd.DataFrame:
    """Fit the model on the history up to ``fit_until``, project ``target_year``, and compare with what happened.

    Parks with no dated plot by ``fit_until`` are treated as starting on their
    actual first plot date (what a plan would have said) and projected with the
    ramp-up pace. Figures are those of :func:`kcn_gis.river_balance` on 31 December
    of ``target_year``.

    Returns
    -------
    DataFrame
        One row per bank and the province: ``bank``, ``actual_leased_ha``, ``leased_ha``
        (projected, central), ``leased_ha_low``, ``leased_ha_high``, ``within_range``
        (bool), ``error_ha`` (projected - actual). Hectares computed in EPSG:9209.
    """
    from kcn_gis.store.memory import memory_atlas

    until = pd.Timestamp(fit_until).normalize()
    layers = {str(k): atlas.read(k) for k in Layer}
    full_plots = layers[str(Layer.PLOTS)]
    layers[str(Layer.PLOTS)] = truncate_history(full_plots, until)
    past = memory_atlas(layers, location=f"memory:{atlas.location} as known on {until.date()}", crs=atlas.crs)
    fit = fit_model(past.plots, past.parks, history_end=until, model=model)
    state = build_state(past, Scenario("back-test"), river=river)
    firsts = pd.concat([dates(full_plots, Col.ACQUIRED_ON), dates(full_plots, Col.LEASED_ON)], axis=1).min(axis=1)
    first_by_park = firsts.groupby(full_plots[Col.PARK_ID].astype(str)).min()
    for pid, plan in state.plans.items():
        f = first_by_park.get(pid)
        if not fit.started(pid) and f is not None and not pd.isna(f):
            plan.timeline[str(ParkStatus.OPERATING)] = pd.Timestamp(f)
    state = project_state(state, fit, horizon=target_year, river=river)
    got = compare_states([state], [target_year], river=river)
    day = pd.Timestamp(year=target_year, month=12, day=31)
    actual = river_balance(
        atlas.province, atlas.rivers, atlas.parks, atlas.plots, atlas.projects, as_of=day, river=river
    )
    act = dict(zip(actual[BANK_COLUMN].astype(str), actual["leased_ha"].astype(float), strict=True))
    act["province"] = float(actual["leased_ha"].sum())
    out = got[[BANK_COLUMN, "leased_ha", "leased_ha_low", "leased_ha_high"]].copy()
    out.insert(1, "actual_leased_ha", [act[b] for b in out[BANK_COLUMN]])
    out["within_range"] = (out["actual_leased_ha"] >= out["leased_ha_low"] - 1e-9) & (
        out["actual_leased_ha"] <= out["leased_ha_high"] + 1e-9
    )
    out["error_ha"] = out["leased_ha"] - out["actual_leased_ha"]
    return out.reset_index(drop=True)
