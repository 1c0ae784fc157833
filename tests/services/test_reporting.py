"""reporting_status, non_filers and report revisions (hand-built)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kcn_gis.analytics import current_reports, non_filers, period_bounds, reporting_status
from kcn_gis.errors import KcnGisError
from tests.services.conftest import projects

PLOTS = None


def report(pid, period, filed_on, *, revision=1, output=10.0, workers=100, income=2.0):
    return {
        "report_id": f"{pid}/{period}/r{revision}",
        "project_id": pid,
        "period": period,
        "revision": revision,
        "filed_on": pd.Timestamp(filed_on),
        "workers": workers,
        "local_workers": 0,
        "female_workers": 0,
        "output_bn_vnd": output,
        "exports_musd": 1.0,
        "budget_bn_vnd": 0.5,
        "avg_income_m_vnd": income,
        "recorded_at": pd.Timestamp(filed_on),
        "recorded_by": "test",
    }


FOUR = projects(*({"project_id": f"P{i}", "workers": 100} for i in range(1, 5)))


def _province(t):
    return t.set_index("park_id").loc["province"]


def test_three_of_four_projects_filing_gives_three_quarters():
    reps = pd.DataFrame([report(f"P{i}", "2011", "2012-01-05") for i in (1, 2, 3)])
    t = reporting_status(FOUR, reps, period="2011")
    p = _province(t)
    assert (p["due"], p["filed_on_time"], p["filed_late"], p["not_filed"]) == (4, 3, 0, 1)
    assert p["filed_share"] == 3 / 4
    assert p["missing"] == ["P4"]
    assert not p["complete"]  # the sums below are incomplete
    assert p["output_bn_vnd"] == 30.0


def test_on_time_until_the_deadline_inclusive_and_late_after():
    reps = pd.DataFrame([report("P1", "2011", "2012-01-15"), report("P2", "2011", "2012-01-16")])
    p = _province(reporting_status(FOUR, reps, period="2011"))  # deadline: 2011-12-31 + 15 days
    assert (p["filed_on_time"], p["filed_late"], p["not_filed"]) == (1, 1, 2)
    p = _province(reporting_status(FOUR, reps, period="2011", due_on="2012-01-31"))
    assert (p["filed_on_time"], p["filed_late"]) == (2, 0)


def test_due_means_valid_at_the_end_of_the_period_and_operating_by_then():
    prj = projects(
        {"project_id": "OK", "workers": 1},
        {"project_id": "STARTS_2012", "workers": 1, "operating_since": "2012-01-01"},
        {"project_id": "REVOKED", "workers": 1, "revoked_on": "2011-06-30"},
        {"project_id": "REVOKED_2012", "workers": 1, "revoked_on": "2012-02-01"},
    )
    p = _province(reporting_status(prj, pd.DataFrame([report("OK", "2011", "2012-01-02")]), period="2011"))
    assert p["due"] == 2 and p["missing"] == ["REVOKED_2012"]


def test_a_correction_replaces_the_figures_but_not_the_filing_date():
    reps = pd.DataFrame(
        [
            report("P1", "2011", "2012-01-10", output=50.0),
            report("P1", "2011", "2012-02-20", revision=2, output=40.0),
        ]
    )
    cur = current_reports(reps, period="2011")
    assert list(cur["revision"]) == [2] and list(cur["output_bn_vnd"]) == [40.0]
    p = _province(reporting_status(FOUR, reps, period="2011"))
    assert p["filed_on_time"] == 1 and p["output_bn_vnd"] == 40.0  # judged by the first filing, summed from the last


def test_income_is_worker_weighted():
    reps = pd.DataFrame(
        [
            report("P1", "2011", "2012-01-05", workers=300, income=2.0),
            report("P2", "2011", "2012-01-05", workers=100, income=4.0),
        ]
    )
    p = _province(reporting_status(FOUR, reps, period="2011"))
    assert p["avg_income_m_vnd"] == pytest.approx((300 * 2.0 + 100 * 4.0) / 400)


def test_other_periods_do_not_count():
    reps = pd.DataFrame([report("P1", "2010", "2011-01-05"), report("P2", "2011-Q4", "2012-01-05")])
    assert _province(reporting_status(FOUR, reps, period="2011"))["not_filed"] == 4
    assert _province(reporting_status(FOUR, reps, period="2011-Q4"))["filed_on_time"] == 1


def test_non_filers_name_the_investor():
    reps = pd.DataFrame([report(f"P{i}", "2011", "2012-01-05") for i in (1, 2, 3)])
    nf = non_filers(FOUR, reps, period="2011")
    assert list(nf["project_id"]) == ["P4"] and list(nf["investor"]) == ["Công ty P4"]


def test_nothing_due_gives_nan_share():
    p = _province(
        reporting_status(FOUR.iloc[:0], pd.DataFrame([report("P1", "2011", "2012-01-05")]).iloc[:0], period="2011")
    )
    assert p["due"] == 0 and math.isnan(p["filed_share"])


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("2011", "2011-01-01", "2011-12-31"),
        ("2011-Q1", "2011-01-01", "2011-03-31"),
        ("2012-02", "2012-02-01", "2012-02-29"),
    ],
)
def test_period_bounds(period, start, end):
    assert period_bounds(period) == (pd.Timestamp(start), pd.Timestamp(end))


@pytest.mark.parametrize("bad", ["2011-13", "11", "2011-Q5", "năm 2011"])
def test_bad_period_says_how_to_write_one(bad):
    with pytest.raises(KcnGisError, match=r"a year \(2011\), a quarter \(2011-Q4\) or a month \(2011-12\)"):
        period_bounds(bad)


def test_check_consistency_flags_bad_reports():
    from kcn_gis.analytics import check_consistency

    reps = pd.DataFrame(
        [
            report("P1", "2011", "2012-01-05"),
            report("P1", "2011", "2012-01-06"),  # same revision again
            report("NOPE", "2011", "2012-01-05"),
            report("P2", "2011-Q5", "2012-01-05"),
        ]
    )
    found = check_consistency(parks=None, plots=None, parcels=None, projects=FOUR, reports=reps)
    got = [(p.check, p.row, p.field) for p in found]
    assert got == [
        ("report_unknown_project", 3, "project_id"),
        ("report_bad_period", 4, "period"),
        ("report_duplicate_revision", 2, "revision"),
    ]
    assert all(p.severity == "error" and p.layer == "enterprise_reports" for p in found)
