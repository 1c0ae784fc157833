"""The enterprises' periodic statistical reports: who had to file, who filed, on time or late (B.II.3, C.4).

A *period* is a year (``2011``), a quarter (``2011-Q4``) or a month
(``2011-12``). A project must file for a period when it is valid at the end of
the period and operating by then (``operating_since`` on or before the end).
A report is on time when its first revision was filed by the deadline: the end
of the period plus :data:`DEFAULT_GRACE_DAYS` days (modelled convention; pass
``due_on`` for the Board's actual deadline). Corrections are new revisions of
the same project and period; the highest revision is the current report, and
its figures count.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd

from kcn_gis.analytics._around import PROVINCE, UNPLACED, project_parks, valid_on
from kcn_gis.analytics._common import dates, require_columns
from kcn_gis.errors import KcnGisError, Problem
from kcn_gis.schema import Col, Layer

__all__ = [
    "DEFAULT_GRACE_DAYS",
    "REPORTING_COLUMNS",
    "REPORTS_CHECKS",
    "REPORT_FIGURES",
    "current_reports",
    "due_projects",
    "non_filers",
    "period_bounds",
    "report_totals",
    "reporting_problems",
    "reporting_status",
]

log = logging.getLogger(__name__)

#: Days after the end of a period by which its report is due (modelled convention).
DEFAULT_GRACE_DAYS = 15

#: The summed figures of a report (worker counts and the B.I.1.3 operating figures).
REPORT_FIGURES = (
    Col.WORKERS,
    Col.LOCAL_WORKERS,
    Col.FEMALE_WORKERS,
    Col.OUTPUT_BN_VND,
    Col.EXPORTS_MUSD,
    Col.BUDGET_BN_VND,
)

#: Columns of :func:`reporting_status`, in order.
REPORTING_COLUMNS = (
    "park_id",
    "due",
    "filed_on_time",
    "filed_late",
    "not_filed",
    "filed_share",
    "missing",
    "complete",
    *(str(c) for c in REPORT_FIGURES),
    str(Col.AVG_INCOME_M_VND),
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def period_bounds(period: Any) -> tuple[pd.Timestamp, pd.Timestamp]:
    """First and last day of a period ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``.

    Raises
    ------
    KcnGisError
        If ``period`` is not written in one of these forms.
    """
    text = str(period).strip()
    if m := _YEAR.match(text):
        y = int(m.group(1))
        return pd.Timestamp(y, 1, 1), pd.Timestamp(y, 12, 31)
    if m := _QUARTER.match(text):
        y, q = int(m.group(1)), int(m.group(2))
        start = pd.Timestamp(y, 3 * q - 2, 1)
        return start, (start + pd.offsets.QuarterEnd(0)).normalize()
    if m := _MONTH.match(text):
        start = pd.Timestamp(int(m.group(1)), int(m.group(2)), 1)
        return start, (start + pd.offsets.MonthEnd(0)).normalize()
    raise KcnGisError(f"period {text!r} is not a period; write a year (2011), a quarter (2011-Q4) or a month (2011-12)")


def current_reports(reports: pd.DataFrame, *, period: Any | None = None) -> pd.DataFrame:
    """The current report of each project and period: its highest ``revision``.

    Adds ``first_filed_on``, the ``filed_on`` of the project's first revision for
    the period (what on-time filing is judged by). With ``period``, only that
    period's reports.
    """
    require_columns(reports, (Col.PROJECT_ID, Col.PERIOD, Col.REVISION, Col.FILED_ON), "enterprise_reports")
    r = reports
    if period is not None:
        period_bounds(period)
        r = r[r[Col.PERIOD].astype(object) == str(period).strip()]
    r = r.assign(**{Col.FILED_ON: dates(r, Col.FILED_ON)})
    first = r.groupby([Col.PROJECT_ID, Col.PERIOD], sort=False)[Col.FILED_ON].min().rename("first_filed_on")
    cur = r.sort_values([Col.PROJECT_ID, Col.PERIOD, Col.REVISION], kind="stable").drop_duplicates(
        [Col.PROJECT_ID, Col.PERIOD], keep="last"
    )
    cur = cur.join(first, on=[Col.PROJECT_ID, Col.PERIOD])
    return cur.reset_index(drop=True)


def due_projects(projects: pd.DataFrame, *, period: Any) -> np.ndarray:
    """Boolean array: the project must file for ``period`` (valid at its end and operating by then)."""
    require_columns(projects, (Col.PROJECT_ID, Col.LICENSED_ON, Col.REVOKED_ON, Col.OPERATING_SINCE), "projects")
    _, end = period_bounds(period)
    op = dates(projects, Col.OPERATING_SINCE)
    return valid_on(projects, end) & (op.notna() & (op <= end)).to_numpy(dtype=bool)


def _deadline(period: Any, due_on: Any, grace_days: int) -> pd.Timestamp:
    if due_on is not None:
        return pd.Timestamp(due_on).normalize()
    return period_bounds(period)[1] + pd.Timedelta(days=int(grace_days))


def report_totals(reports: pd.DataFrame) -> pd.Series:
    """Sums of the current reports' figures and their worker-weighted average income.

    Returns
    -------
    Series
        ``reports`` (count), the :data:`REPORT_FIGURES` sums (people, bn VND,
        M USD) and ``avg_income_m_vnd`` (M VND per worker and month, weighted by
        each report's ``workers``; NaN without workers).
    """
    out: dict[str, float] = {"reports": float(len(reports))}
    for c in REPORT_FIGURES:
        out[str(c)] = float(pd.to_numeric(reports[c], errors="coerce").fillna(0).sum()) if len(reports) else 0.0
    w = pd.to_numeric(reports[Col.WORKERS], errors="coerce").fillna(0).to_numpy(dtype=float)
    inc = pd.to_numeric(reports[Col.AVG_INCOME_M_VND], errors="coerce").to_numpy(dtype=float)
    ok = ~np.isnan(inc) & (w > 0)
    out[str(Col.AVG_INCOME_M_VND)] = float((w[ok] * inc[ok]).sum() / w[ok].sum()) if ok.any() else float("nan")
    return pd.Series(out)


def reporting_status(
    projects: pd.DataFrame,
    reports: pd.DataFrame,
    *,
    period: Any,
    plots: pd.DataFrame | None = None,
    parks: pd.DataFrame | None = None,
    due_on: Any = None,
    grace_days: int = DEFAULT_GRACE_DAYS,
) -> pd.DataFrame:
    """Who had to file for ``period``, who filed on time, late or not at all, per park and province-wide.

    Parameters
    ----------
    projects : DataFrame
        The ``projects`` table.
    reports : DataFrame
        The ``enterprise_reports`` table (every revision).
    period : str or int
        ``YYYY``, ``YYYY-Qn`` or ``YYYY-MM``.
    plots : GeoDataFrame, optional
        Places projects in parks (the park holding most of the project's plot
        area). Projects without a plot are in the row ``"unplaced"``.
    parks : DataFrame, optional
        Gives the park rows (every park, in layer order, also parks with nothing due).
    due_on : date-like, optional
        The deadline; default the end of the period plus ``grace_days``.
    grace_days : int, default 15

    Returns
    -------
    DataFrame
        Columns :data:`REPORTING_COLUMNS`: one row per park (plus ``"unplaced"``
        when a due project has no plot), then ``"province"``. ``due``,
        ``filed_on_time``, ``filed_late`` and ``not_filed`` count projects;
        ``filed_share`` is (on time + late) / due (NaN when nothing is due);
        ``missing`` lists the non-filers' ``project_id``; ``complete`` is False
        when some due project did not file, so the sums beside it (the current
        reports' workers, output in bn VND, exports in M USD, budget in bn VND,
        and the worker-weighted average income in M VND/month) are incomplete.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.analytics import reporting_status
    >>> atlas = kcn_gis.open_atlas()
    >>> t = reporting_status(atlas.projects, atlas.enterprise_reports, period=2011, plots=atlas.plots)
    >>> float(t.loc[t["park_id"] == "province", "output_bn_vnd"].iloc[0])
    142704.0
    """
    deadline = _deadline(period, due_on, grace_days)
    due = due_projects(projects, period=period)
    cur = current_reports(reports, period=period)
    park_of = project_parks(projects, plots)
    pid = projects[Col.PROJECT_ID].astype(object).to_numpy()
    first = dict(zip(cur[Col.PROJECT_ID].astype(object), cur["first_filed_on"], strict=True))
    filed_at = pd.Series([first.get(p, pd.NaT) for p in pid], dtype="datetime64[ms]")
    filed = filed_at.notna().to_numpy()
    on_time = filed & (filed_at <= deadline).to_numpy()
    cur_park = dict(zip(pid, park_of, strict=True))
    cur = cur.assign(_park=[cur_park.get(p, UNPLACED) for p in cur[Col.PROJECT_ID].astype(object)])

    if parks is not None:
        order = [str(p) for p in parks[Col.PARK_ID].astype(object)]
    else:
        order = sorted({str(p) for p in park_of[due] if p != UNPLACED} | set(cur["_park"]) - {UNPLACED})
    if (due & (park_of == UNPLACED)).any() or (cur["_park"] == UNPLACED).any():
        order.append(UNPLACED)

    def row(name: str, sel: np.ndarray, reps: pd.DataFrame) -> dict[str, Any]:
        d = int((sel & due).sum())
        ok = int((sel & due & on_time).sum())
        late = int((sel & due & filed & ~on_time).sum())
        missing = [str(p) for p in pid[sel & due & ~filed]]
        sums = report_totals(reps)
        out: dict[str, Any] = {
            "park_id": name,
            "due": d,
            "filed_on_time": ok,
            "filed_late": late,
            "not_filed": len(missing),
            "filed_share": (ok + late) / d if d else float("nan"),
            "missing": missing,
            "complete": not missing,
        }
        out.update({str(c): sums[str(c)] for c in REPORT_FIGURES})
        out[str(Col.AVG_INCOME_M_VND)] = sums[str(Col.AVG_INCOME_M_VND)]
        return out

    rows = [row(p, park_of == p, cur[cur["_park"] == p]) for p in order]
    rows.append(row(PROVINCE, np.ones(len(projects), dtype=bool), cur))
    out = pd.DataFrame(rows, columns=list(REPORTING_COLUMNS))
    for c in ("due", "filed_on_time", "filed_late", "not_filed"):
        out[c] = out[c].astype(np.int64)
    log.info("reporting %s: %d of %d due projects filed", period, int(out["due"].iloc[-1] - out["not_filed"].iloc[-1]),
             int(out["due"].iloc[-1]))  # fmt: skip
    return out


def non_filers(
    projects: pd.DataFrame, reports: pd.DataFrame, *, period: Any, plots: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The projects that had to file for ``period`` and did not, with their investor and park.

    Returns
    -------
    DataFrame
        Columns ``project_id``, ``investor``, ``park_id`` (``"unplaced"`` without
        a plot), ``operating_since``; sorted by park and project.
    """
    due = due_projects(projects, period=period)
    cur = current_reports(reports, period=period)
    filed = projects[Col.PROJECT_ID].astype(object).isin(set(cur[Col.PROJECT_ID].astype(object))).to_numpy()
    park_of = project_parks(projects, plots)
    sel = due & ~filed
    out = pd.DataFrame(
        {
            "project_id": projects[Col.PROJECT_ID].astype(object).to_numpy()[sel],
            "investor": projects[Col.INVESTOR].astype(object).to_numpy()[sel] if Col.INVESTOR in projects else None,
            "park_id": park_of[sel],
            "operating_since": dates(projects, Col.OPERATING_SINCE).to_numpy()[sel],
        }
    )
    return out.sort_values(["park_id", "project_id"], kind="stable").reset_index(drop=True)


#: Consistency checks on enterprise reports (merged into :data:`kcn_gis.analytics.CHECKS`).
REPORTS_CHECKS: dict[str, tuple[str, str]] = {
    "report_unknown_project": ("error", "a report's project_id is not in the projects table"),
    "report_bad_period": ("error", "a report's period is not YYYY, YYYY-Qn or YYYY-MM"),
    "report_duplicate_revision": ("error", "two reports share project, period and revision"),
}


def reporting_problems(projects: pd.DataFrame, reports: pd.DataFrame) -> list[Problem]:
    """The report checks of :func:`kcn_gis.analytics.check_consistency` (see :data:`REPORTS_CHECKS`)."""
    out: list[Problem] = []
    if not len(reports):
        return out
    layer = str(Layer.ENTERPRISE_REPORTS)
    rid = reports[Col.REPORT_ID].astype(object).to_numpy() if Col.REPORT_ID in reports else [None] * len(reports)
    known = set(projects[Col.PROJECT_ID].astype(object).dropna())
    pid = reports[Col.PROJECT_ID].astype(object)

    def add(check: str, row: int, field: str, message: str) -> None:
        ids = (f"{Col.REPORT_ID} '{rid[row]}'",)
        out.append(Problem(REPORTS_CHECKS[check][0], check, message, layer=layer, row=row + 1, field=field, ids=ids))

    for i in np.flatnonzero(pid.notna().to_numpy() & ~pid.isin(known).to_numpy()):
        add("report_unknown_project", int(i), str(Col.PROJECT_ID),
            f"report '{rid[i]}' is for project '{pid.iloc[i]}', which is not in the projects table; "
            "correct the project_id or add the project")  # fmt: skip
    for k, period in enumerate(reports[Col.PERIOD].astype(object)):
        try:
            period_bounds(period)
        except KcnGisError as exc:
            add("report_bad_period", k, str(Col.PERIOD), str(exc))
    dup = reports.duplicated([Col.PROJECT_ID, Col.PERIOD, Col.REVISION], keep="first").to_numpy()
    for i in np.flatnonzero(dup):
        add("report_duplicate_revision", int(i), str(Col.REVISION),
            f"project '{pid.iloc[i]}', period {reports[Col.PERIOD].iloc[i]}, revision {reports[Col.REVISION].iloc[i]} "
            "is stored twice; a correction is the next revision")  # fmt: skip
    return out
