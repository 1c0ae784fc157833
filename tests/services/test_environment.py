"""environment_status and its consistency flags (hand-built)."""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis.analytics import check_consistency, environment_status
from tests.services.conftest import facilities, parks, plots_for, projects

A = ("A", (0, 0, 1_000, 1_000), "operating")
B = ("B", (5_000, 0, 6_000, 1_000), "construction")
PLANT = {
    "facility_id": "XL1",
    "kind": "wastewater_plant",
    "x": 500,
    "y": 500,
    "capacity": 2_500,
    "unit": "m3_day",
    "status": "building",
    "commissioned_on": "2010-07-15",
}


def _status(as_of, *fac_rows, since="2008-03-01"):
    prj = projects({"project_id": "PA", "workers": 10, "operating_since": since})
    pl = plots_for({"PA": ("A", (100, 100, 200, 200))})
    return environment_status(parks(A, B), facilities(*fac_rows), as_of=as_of, projects=prj, plots=pl).set_index(
        "park_id"
    )


def test_the_plant_flag_flips_exactly_on_the_commissioning_date():
    before = _status("2010-07-14", PLANT).loc["A"]
    on = _status("2010-07-15", PLANT).loc["A"]
    assert not before["wastewater_plant"] and before["wastewater_capacity_m3_day"] == 0
    assert on["wastewater_plant"] and on["wastewater_capacity_m3_day"] == 2_500
    # days without a plant: from the first project's start (2008-03-01) to the day before commissioning
    assert before["days_operating_without_plant"] == (pd.Timestamp("2010-07-14") - pd.Timestamp("2008-03-01")).days
    assert on["days_operating_without_plant"] == 0


def test_plant_by_park_id_or_by_location_and_undated_status():
    # a plant outside park A but naming it; an undated storage inside A with no park_id
    t = _status(
        "2011-12-26",
        {**PLANT, "x": 3_000, "park_id": "A", "commissioned_on": None, "status": "operating"},
        {"facility_id": "LG1", "kind": "waste_storage", "x": 900, "y": 900, "status": "operating"},
    )
    assert t.loc["A", "wastewater_plant"] and t.loc["A", "waste_storage"]
    assert not t.loc["B", "wastewater_plant"] and not t.loc["B", "waste_storage"]


def test_parks_not_operating_have_no_day_count():
    t = _status("2011-12-26")
    assert pd.isna(t.loc["B", "days_operating_without_plant"])
    assert t.loc["A", "days_operating_without_plant"] == (pd.Timestamp("2011-12-26") - pd.Timestamp("2008-03-01")).days
    # before the park's first project operates, the park is not operating yet
    assert pd.isna(_status("2008-02-29").loc["A", "days_operating_without_plant"])


def test_check_consistency_flags_operating_parks_without_plant_or_storage():
    pk = parks(A, B)
    fac = facilities(PLANT, {"facility_id": "X9", "kind": "school", "x": 0, "y": 0, "park_id": "NOPE"})
    prj = projects({"project_id": "PA", "workers": 10, "operating_since": "2008-03-01"})
    pl = plots_for({"PA": ("A", (100, 100, 200, 200))})

    def checks(as_of):
        found = check_consistency(parks=pk, plots=pl, parcels=None, projects=prj, facilities=fac, as_of=as_of)
        return [(p.check, p.severity, p.ids) for p in found if p.layer in ("parks", "facilities")]

    before = checks("2010-07-14")
    assert ("park_without_wastewater_plant", "warning", ("park_id 'A'",)) in before
    assert ("park_without_waste_storage", "warning", ("park_id 'A'",)) in before
    assert ("facility_unknown_park", "error", ("facility_id 'X9'",)) in before
    assert not [c for c in before if c[2] == ("park_id 'B'",)]  # B is not operating
    after = checks("2010-07-15")
    assert not [c for c in after if c[0] == "park_without_wastewater_plant"]
    msg = next(
        p.message
        for p in check_consistency(parks=pk, plots=pl, parcels=None, projects=prj, facilities=fac, as_of="2010-07-14")
        if p.check == "park_without_wastewater_plant"
    )
    days = (pd.Timestamp("2010-07-14") - pd.Timestamp("2008-03-01")).days
    assert f"for {days:,} days (since 2008-03-01)" in msg


def test_without_facilities_check_consistency_is_unchanged(tiny_layers):
    found = check_consistency(
        parks=tiny_layers["parks"], plots=tiny_layers["plots"], parcels=None, projects=tiny_layers["projects"]
    )
    assert not [p for p in found if p.check.startswith(("park_without", "facility_"))]


@pytest.mark.parametrize("kind", ["wastewater_plant", "waste_storage"])
def test_a_planned_facility_never_counts(kind):
    t = _status("2030-01-01", {**PLANT, "kind": kind, "status": "planned", "commissioned_on": None})
    assert not t.loc["A", "wastewater_plant"] and not t.loc["A", "waste_storage"]
