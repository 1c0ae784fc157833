"""Reconcile an atlas with the Management Board's report of 26/12/2011, figure by figure.

:func:`reconcile` puts every figure of the report that the data model covers
(``../shared/seed/FACTS.md``) beside the same figure computed from the atlas:
park areas from geometry (hectares, in the atlas's projected CRS, EPSG:9209 for
Bắc Ninh), fill rates from :func:`kcn_gis.analytics.fill_rates`, and project
counts, capital and workforce from the ``projects`` table on the given date.

Where the report disagrees with itself (4.1 bn USD / 527 projects is 7.78 M USD,
not the 7.73 M USD it prints), a separate row computes the figure from the
report's own numbers, so the disagreement is shown rather than hidden.

Pure: frames in, a DataFrame out, no I/O.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd

from kcn_gis.crs import require_projected
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.schema import Col, ParkStatus

__all__ = ["RECONCILE_COLUMNS", "REPORT_DATE", "reconcile"]

log = logging.getLogger(__name__)

#: Date of the Board's report ("16:16 26/12/2011"), the reference date of the bundled atlas.
REPORT_DATE = pd.Timestamp("2011-12-26")

#: Columns of the frame returned by :func:`reconcile`.
RECONCILE_COLUMNS = ("section", "figure", "report_value", "computed_value", "unit", "difference", "note")

_M2_PER_HA = 10_000.0


@dataclass(frozen=True)
class _Figure:
    section: str
    figure: str
    report_value: float
    computed_value: float
    unit: str
    note: str = ""


def _on_or_before(s: pd.Series, d: pd.Timestamp) -> pd.Series:
    return pd.to_datetime(s).le(d).fillna(False).astype(bool)


def _valid_projects(projects: pd.DataFrame, d: pd.Timestamp) -> pd.Series:
    """Projects licensed on or before ``d`` and not revoked on ``d`` (còn hiệu lực)."""
    licensed = pd.to_datetime(projects[Col.LICENSED_ON])
    revoked = pd.to_datetime(projects[Col.REVOKED_ON])
    ok = licensed.isna() | licensed.le(d)
    return (ok & (revoked.isna() | revoked.gt(d))).astype(bool)


def _leased_mask(plots: pd.DataFrame, d: pd.Timestamp) -> pd.Series:
    leased_on = pd.to_datetime(plots[Col.LEASED_ON])
    ended = pd.to_datetime(plots[Col.LEASE_ENDED_ON])
    return (leased_on.le(d) & (ended.isna() | ended.gt(d))).fillna(False).astype(bool)


def _pct(num: float, den: float) -> float:
    return float(num) / float(den) * 100.0 if den else float("nan")


def reconcile(
    *,
    parks: gpd.GeoDataFrame,
    plots: gpd.GeoDataFrame,
    projects: pd.DataFrame,
    as_of: DateLike | None = None,
    reports: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every report figure the data model covers, beside the same figure computed from the atlas.

    Parameters
    ----------
    parks, plots : GeoDataFrame
        The ``parks`` and ``plots`` layers, in a projected CRS in metres
        (EPSG:9209 for Bắc Ninh). Areas are computed from geometry, in hectares.
    projects : DataFrame
        The ``projects`` layer.
    as_of : date-like, optional
        The date the atlas is evaluated on; default today. The report's own date
        is :data:`REPORT_DATE` (2011-12-26).
    reports : DataFrame, optional
        The ``enterprise_reports`` layer. When given, the B.I.1.3 operating figures
        of the year of ``as_of`` (output, exports, budget, average income, workers)
        are recomputed from the current reports filed for that year; the rows say
        how many due projects did not file (their figures are in no sum).

    Returns
    -------
    DataFrame
        One row per figure, columns :data:`RECONCILE_COLUMNS`: ``section`` (report
        section), ``figure``, ``report_value`` (as printed), ``computed_value``,
        ``unit`` (``ha``, ``%``, ``parks``, ``projects``, ``people``,
        ``bn USD``, ``M USD/project``, ``M USD/ha``), ``difference``
        (computed - report) and ``note``. Rows whose figure is "report's own
        arithmetic" compute the value from the report's other figures.

    Raises
    ------
    CRSError
        If ``parks`` or ``plots`` has a geographic or missing CRS.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.reconcile import reconcile
    >>> atlas = kcn_gis.open_atlas()
    >>> table = reconcile(parks=atlas.parks, plots=atlas.plots, projects=atlas.projects, as_of="2011-12-26")
    >>> int(table.loc[table["figure"].str.startswith("Parks on"), "computed_value"].iloc[0])
    15
    """
    from kcn_gis.analytics import fill_rates

    require_projected(parks, "parks")
    require_projected(plots, "plots")
    d = as_of_date(as_of)

    park_ha = parks.geometry.area.to_numpy() / _M2_PER_HA
    approved = parks[Col.DETAIL_PLAN_APPROVED].fillna(False).astype(bool).to_numpy()
    operating = parks[Col.STATUS].astype(object).eq(str(ParkStatus.OPERATING)).to_numpy()
    total_ha = float(park_ha.sum())
    approved_ha = float(park_ha[approved].sum())

    fr = fill_rates(plots, parks, as_of=d, by="province")
    planned = float(fr["planned_ha"].iloc[0]) if len(fr) else 0.0
    acquired = float(fr["acquired_ha"].iloc[0]) if len(fr) else 0.0
    leased = float(fr["leased_ha"].iloc[0]) if len(fr) else 0.0

    valid = _valid_projects(projects, d)
    n_valid = int(valid.sum())
    capital = float(pd.to_numeric(projects.loc[valid, Col.REGISTERED_CAPITAL_USD], errors="coerce").sum())
    op_proj = int((valid & _on_or_before(projects[Col.OPERATING_SINCE], d)).sum())
    revoked = int(_on_or_before(projects[Col.REVOKED_ON], d).sum())

    def people(col: str) -> int:
        return int(pd.to_numeric(projects.loc[valid, col], errors="coerce").fillna(0).sum())

    workers, local, female = people(Col.WORKERS), people(Col.LOCAL_WORKERS), people(Col.FEMALE_WORKERS)

    # industrial land leased by valid projects: leased plots whose project is valid on the date
    valid_ids = set(projects.loc[valid, Col.PROJECT_ID].astype(str))
    by_project = (
        plots[Col.PROJECT_ID].astype(object).map(lambda v: v is not None and not pd.isna(v) and str(v) in valid_ids)
    )
    industrial = plots[Col.LAND_USE].astype(object).eq("industrial")
    in_operating = plots[Col.PARK_ID].astype(object).isin(set(parks.loc[operating, Col.PARK_ID].astype(object)))
    mask = (_leased_mask(plots, d) & by_project.astype(bool) & industrial & in_operating).to_numpy()
    project_leased_ha = float(plots.geometry.area.to_numpy()[mask].sum() / _M2_PER_HA)

    bn = capital / 1e9
    own = "report's own arithmetic"
    rows = [
        _Figure("B.I.1.1", "Parks on the Prime Minister's list", 15, len(parks), "parks"),
        _Figure("B.I.1.1", "Total park area", 6847, total_ha, "ha", "geometry, EPSG:9209"),
        _Figure("B.I.1.1", "Area with approved detailed plan (QHCT 1/2000)", 5961, approved_ha, "ha"),
        _Figure("B.I.1.1", "Share of area with approved detailed plan", 87.06, _pct(approved_ha, total_ha), "%"),
        _Figure("B.I.1.1", f"Share of area with approved detailed plan ({own}: 5,961 / 6,847)", 87.06,
                _pct(5961, 6847), "%", "consistent"),
        _Figure("B.I.1.1", "Operating parks", 9, int(operating.sum()), "parks"),
        _Figure("B.I.1.1", "Planned industrial land, operating parks", 2093, planned, "ha", "fill_rates"),
        _Figure("B.I.1.1", "Acquired industrial land, operating parks", 1615, acquired, "ha", "fill_rates"),
        _Figure("B.I.1.1", "Leased industrial land, operating parks", 1217, leased, "ha", "fill_rates"),
        _Figure("B.I.1.1", "Fill rate on planned area", 58.16, _pct(leased, planned), "%", "fill_rates"),
        _Figure("B.I.1.1", f"Fill rate on planned area ({own}: 1,217 / 2,093)", 58.16, _pct(1217, 2093), "%",
                "the report's % comes from unrounded hectares"),
        _Figure("B.I.1.1", "Fill rate on acquired area", 75.38, _pct(leased, acquired), "%", "fill_rates"),
        _Figure("B.I.1.1", f"Fill rate on acquired area ({own}: 1,217 / 1,615)", 75.38, _pct(1217, 1615), "%",
                "the report's % comes from unrounded hectares"),
        _Figure("B.I.1.2", "Valid projects", 527, n_valid, "projects"),
        _Figure("B.I.1.2", "Registered capital of valid projects", 4.1, bn, "bn USD"),
        _Figure("B.I.1.2", "Industrial land leased by valid projects", 1152, project_leased_ha, "ha",
                "the rest of the leased land has no project record"),
        _Figure("B.I.1.2", "Investment per project", 7.73, capital / 1e6 / n_valid if n_valid else np.nan,
                "M USD/project"),
        _Figure("B.I.1.2", f"Investment per project ({own}: 4.1 bn / 527)", 7.73, 4100 / 527, "M USD/project",
                "the report disagrees with itself"),
        _Figure("B.I.1.2", "Investment per hectare", 3.56,
                capital / 1e6 / project_leased_ha if project_leased_ha else np.nan, "M USD/ha"),
        _Figure("B.I.1.2", f"Investment per hectare ({own}: 4.1 bn / 1,152 ha)", 3.56, 4100 / 1152, "M USD/ha",
                "consistent"),
        _Figure("B.I.1.3", "Operating projects", 263, op_proj, "projects"),
        _Figure("B.I.1.3", "Revoked projects", 68, revoked, "projects"),
        _Figure("B.I.1.3", "Workers", 87053, workers, "people"),
        _Figure("B.I.1.3", "Local workers", 35655, local, "people"),
        _Figure("B.I.1.3", "Share of local workers", 41, _pct(local, workers), "%"),
        _Figure("B.I.1.3", f"Share of local workers ({own}: 35,655 / 87,053)", 41, _pct(35655, 87053), "%",
                "the report rounds to whole %"),
        _Figure("B.I.1.3", "Female workers", 61575, female, "people"),
        _Figure("B.I.1.3", "Share of female workers", 71, _pct(female, workers), "%"),
        _Figure("B.I.1.3", f"Share of female workers ({own}: 61,575 / 87,053)", 71, _pct(61575, 87053), "%",
                "the report rounds to whole %"),
    ]  # fmt: skip
    if reports is not None:
        rows += _operating_figures(projects, reports, d)
    out = pd.DataFrame([r.__dict__ for r in rows], columns=[*list(RECONCILE_COLUMNS[:-2]), "note"])
    out["report_value"] = out["report_value"].astype(float)
    out["computed_value"] = out["computed_value"].astype(float)
    out["difference"] = out["computed_value"] - out["report_value"]
    out = out[list(RECONCILE_COLUMNS)]
    out["note"] = out["note"].astype(str)
    log.info("reconciled %d figures on %s", len(out), d.date())
    return out


def _operating_figures(projects: pd.DataFrame, reports: pd.DataFrame, d: pd.Timestamp) -> list[_Figure]:
    """B.I.1.3: the year's operating figures from the enterprises' current reports, beside the report's values."""
    from kcn_gis.analytics.reporting import current_reports, due_projects, report_totals

    period = str(d.year)
    cur = current_reports(reports, period=period) if len(reports) else reports
    due = due_projects(projects, period=period)
    filed = projects[Col.PROJECT_ID].astype(object).isin(set(cur[Col.PROJECT_ID].astype(object))).to_numpy()
    n_due, n_missing = int(due.sum()), int((due & ~filed).sum())
    sums = report_totals(cur) if len(cur) else pd.Series(dtype=float)

    def get(col: str) -> float:
        return float(sums.get(col, np.nan))

    note = f"{len(cur)} filed {period} reports; {n_missing} of {n_due} due projects did not file"
    src = f"{period} enterprise reports"
    return [
        _Figure("B.I.1.3", f"Industrial output ({src})", 142704, get(str(Col.OUTPUT_BN_VND)), "bn VND", note),
        _Figure("B.I.1.3", f"Exports ({src})", 6512, get(str(Col.EXPORTS_MUSD)), "M USD", note),
        _Figure("B.I.1.3", f"Paid to the provincial budget ({src})", 2653, get(str(Col.BUDGET_BN_VND)), "bn VND",
                note),
        _Figure("B.I.1.3", f"Average income ({src}, worker-weighted)", 2.4, get(str(Col.AVG_INCOME_M_VND)),
                "M VND/month", note),
        _Figure("B.I.1.3", f"Workers ({src})", 87053, get(str(Col.WORKERS)), "people",
                note + "; the register's workforce row above counts them"),
    ]  # fmt: skip
