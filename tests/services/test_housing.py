"""housing_coverage: beds within reach, shared by workers, and the nearest services (hand-built)."""

from __future__ import annotations

import math

import pytest

from kcn_gis.analytics import housing_coverage
from kcn_gis.errors import CRSError
from tests.services.conftest import facilities, parks, plots_for, projects

# Park A: x 0-1000, y 0-1000. A dormitory at x = 4000 is 3 km east of its boundary.
A = ("A", (0, 0, 1_000, 1_000), "operating")
# Park B: x 8000-9000; the dormitory at x = 4000 is 4 km west of it.
B = ("B", (8_000, 0, 9_000, 1_000), "operating")
DORM = {"facility_id": "KTX1", "kind": "worker_housing", "x": 4_000, "y": 500, "capacity": 1_000, "unit": "beds"}


def _one_park(workers: int = 2_000, **dorm):
    prj = projects({"project_id": "PA", "workers": workers})
    pl = plots_for({"PA": ("A", (100, 100, 300, 300))})
    return parks(A), prj, pl, facilities({**DORM, **dorm})


def _row(table, park_id):
    return table.set_index("park_id").loc[park_id]


def test_a_1000_bed_dormitory_3_km_from_a_park_of_2000_workers_gives_half_a_bed_per_worker():
    pk, prj, pl, fac = _one_park()
    t = housing_coverage(pk, prj, fac, plots=pl, as_of="2011-12-26")
    a = _row(t, "A")
    assert a["workers"] == 2_000
    assert a["beds_within_reach"] == pytest.approx(1_000)
    assert a["beds_per_worker"] == pytest.approx(1_000 / 2_000)
    assert _row(t, "province")["beds_within_reach"] == pytest.approx(1_000)


def test_a_second_park_at_4_km_with_2000_workers_halves_it():
    prj = projects({"project_id": "PA", "workers": 2_000}, {"project_id": "PB", "workers": 2_000})
    pl = plots_for({"PA": ("A", (100, 100, 300, 300)), "PB": ("B", (8_100, 100, 8_300, 300))})
    t = housing_coverage(parks(A, B), prj, facilities(DORM), plots=pl, as_of="2011-12-26")
    assert _row(t, "A")["beds_per_worker"] == pytest.approx(0.5 / 2)
    assert _row(t, "B")["beds_per_worker"] == pytest.approx(0.5 / 2)
    # no bed counted twice: the province still has the one dormitory
    assert _row(t, "province")["beds_within_reach"] == pytest.approx(1_000)
    assert _row(t, "province")["workers"] == 4_000


def test_shared_in_proportion_to_workers():
    prj = projects({"project_id": "PA", "workers": 3_000}, {"project_id": "PB", "workers": 1_000})
    pl = plots_for({"PA": ("A", (100, 100, 300, 300)), "PB": ("B", (8_100, 100, 8_300, 300))})
    t = housing_coverage(parks(A, B), prj, facilities(DORM), plots=pl, as_of="2011-12-26")
    assert _row(t, "A")["beds_within_reach"] == pytest.approx(1_000 * 3_000 / 4_000)
    assert _row(t, "B")["beds_within_reach"] == pytest.approx(1_000 * 1_000 / 4_000)


def test_reach_is_straight_line_metres_from_the_boundary():
    pk, prj, pl, fac = _one_park()
    # 3,000 m away: in reach at 3,000 m, out of reach at 2,999 m
    assert (
        _row(housing_coverage(pk, prj, fac, plots=pl, as_of="2011-01-01", reach_m=3_000), "A")["beds_within_reach"] == 1_000
    )
    assert _row(housing_coverage(pk, prj, fac, plots=pl, as_of="2011-01-01", reach_m=2_999), "A")["beds_within_reach"] == 0


def test_housing_not_yet_commissioned_does_not_count():
    pk, prj, pl, fac = _one_park(commissioned_on="2012-03-01")
    before = housing_coverage(pk, prj, fac, plots=pl, as_of="2012-02-29")
    on = housing_coverage(pk, prj, fac, plots=pl, as_of="2012-03-01")
    assert _row(before, "A")["beds_within_reach"] == 0
    assert _row(on, "A")["beds_within_reach"] == 1_000


def test_workers_count_only_operating_valid_projects():
    prj = projects(
        {"project_id": "PA", "workers": 2_000},
        {"project_id": "LATE", "workers": 500, "operating_since": "2013-01-01"},
        {"project_id": "GONE", "workers": 700, "revoked_on": "2010-01-01"},
    )
    pl = plots_for({k: ("A", (100 + 200 * i, 100, 300 + 200 * i, 300)) for i, k in enumerate(["PA", "LATE", "GONE"])})
    t = housing_coverage(parks(A), prj, facilities(DORM), plots=pl, as_of="2011-12-26")
    assert _row(t, "A")["workers"] == 2_000


def test_nearest_services_in_metres_and_count_within_reach():
    fac = facilities(
        {"facility_id": "S1", "kind": "school", "x": 1_000 + 1_200, "y": 500},  # 1,200 m east
        {"facility_id": "S2", "kind": "school", "x": 500, "y": -2_500},  # 2,500 m south
        {"facility_id": "K1", "kind": "kindergarten", "x": 500, "y": 500},  # inside: 0 m
        {"facility_id": "C1", "kind": "clinic", "x": 1_000 + 3_000, "y": 1_000 + 4_000},  # 5,000 m (3-4-5)
        {"facility_id": "M1", "kind": "market", "x": -7_000, "y": 500, "status": "building"},  # not in service
    )
    prj = projects({"project_id": "PA", "workers": 10})
    t = housing_coverage(parks(A), prj, fac, plots=plots_for({"PA": ("A", (0, 0, 10, 10))}), as_of="2011-01-01")
    a = _row(t, "A")
    assert a["nearest_school_m"] == pytest.approx(1_200)
    assert a["nearest_kindergarten_m"] == 0
    assert a["nearest_clinic_m"] == pytest.approx(5_000)
    assert math.isnan(a["nearest_market_m"])
    assert a["services_within_reach"] == 3  # school, kindergarten, clinic (5,000 m is within 5,000 m)


def test_unplaced_workers_count_in_the_province_row_only():
    prj = projects({"project_id": "PA", "workers": 2_000}, {"project_id": "NOPLOT", "workers": 1_000})
    pl = plots_for({"PA": ("A", (100, 100, 300, 300))})
    t = housing_coverage(parks(A), prj, facilities(DORM), plots=pl, as_of="2011-01-01")
    assert _row(t, "A")["workers"] == 2_000
    assert _row(t, "province")["workers"] == 3_000
    assert _row(t, "province")["beds_per_worker"] == pytest.approx(1_000 / 3_000)


def test_geographic_crs_is_refused():
    pk, prj, pl, fac = _one_park()
    with pytest.raises(CRSError, match="geographic"):
        housing_coverage(pk.to_crs("EPSG:4326"), prj, fac, plots=pl, as_of="2011-01-01")
