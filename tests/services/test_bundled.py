"""The bundled Bắc Ninh 2011 atlas: housing, plants and the 2011 reports against the Board's report."""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis import open_atlas
from kcn_gis.analytics import environment_status, housing_coverage, non_filers, reporting_status
from kcn_gis.reconcile import reconcile
from kcn_gis.schema import Col

AS_OF = "2011-12-26"


@pytest.fixture(scope="module")
def atlas():
    return open_atlas()


def test_six_housing_projects_house_16512_workers_on_115733_m2(atlas):
    fac = atlas.facilities
    housing = fac[fac[Col.KIND] == "worker_housing"]
    assert len(housing) == 6
    assert housing[Col.FLOOR_AREA_M2].sum() == 115_733
    t = housing_coverage(atlas.parks, atlas.projects, fac, plots=atlas.plots, as_of=AS_OF)
    province = t.set_index("park_id").loc["province"]
    assert province["beds_within_reach"] == pytest.approx(16_512)
    assert province["workers"] == 87_053
    # the parks' shares add up to the province's beds (nothing counted twice or lost)
    assert t[t["park_id"] != "province"]["beds_within_reach"].sum() == pytest.approx(16_512)


def test_2011_operating_totals_come_out_exactly(atlas):
    t = reporting_status(atlas.projects, atlas.enterprise_reports, period="2011", plots=atlas.plots)
    p = t.set_index("park_id").loc["province"]
    assert p["output_bn_vnd"] == 142_704
    assert p["exports_musd"] == 6_512
    assert p["budget_bn_vnd"] == 2_653
    assert round(p["avg_income_m_vnd"], 6) == 2.4
    assert p["due"] == 263  # the operating projects (B.I.1.3)
    assert not p["complete"] and p["not_filed"] > 0


def test_non_filers_are_traceable_to_their_projects(atlas):
    nf = non_filers(atlas.projects, atlas.enterprise_reports, period="2011", plots=atlas.plots)
    assert len(nf) > 0
    proj = atlas.projects.set_index(Col.PROJECT_ID)
    for r in nf.itertuples(index=False):
        assert proj.loc[r.project_id, Col.INVESTOR] == r.investor
        assert pd.notna(proj.loc[r.project_id, Col.OPERATING_SINCE])
    filed = set(atlas.enterprise_reports[Col.PROJECT_ID])
    assert not set(nf["project_id"]) & filed
    status = reporting_status(atlas.projects, atlas.enterprise_reports, period="2011", plots=atlas.plots)
    assert sorted(status.set_index("park_id").loc["province", "missing"]) == sorted(nf["project_id"])


def test_report_history_keeps_corrections(atlas):
    reps = atlas.enterprise_reports
    assert (reps[Col.REVISION] > 1).any()
    assert not reps.duplicated([Col.PROJECT_ID, Col.PERIOD, Col.REVISION]).any()


def test_reconcile_puts_the_operating_figures_beside_the_report(atlas):
    t = reconcile(
        parks=atlas.parks, plots=atlas.plots, projects=atlas.projects, as_of=AS_OF, reports=atlas.enterprise_reports
    )
    rows = t[t["figure"].str.contains("2011 enterprise reports")].set_index("unit")
    assert rows.loc["bn VND", "difference"].tolist() == [0.0, 0.0]
    assert rows.loc["M USD", "difference"] == 0.0
    assert abs(rows.loc["M VND/month", "difference"]) < 1e-9
    # workers in the reports fall short of the register by exactly the non-filers' workers
    nf = non_filers(atlas.projects, atlas.enterprise_reports, period="2011")
    gap = int(atlas.projects.set_index(Col.PROJECT_ID).loc[nf["project_id"], Col.WORKERS].sum())
    assert rows.loc["people", "difference"] == -gap


def test_plants_per_park_in_2011(atlas):
    t = environment_status(atlas.parks, atlas.facilities, as_of=AS_OF, projects=atlas.projects, plots=atlas.plots)
    t = t.set_index("park_id")
    with_plant = set(t.index[t["wastewater_plant"]])
    plants = atlas.facilities[
        (atlas.facilities[Col.KIND] == "wastewater_plant") & atlas.facilities[Col.COMMISSIONED_ON].le(AS_OF)
    ]
    assert with_plant == set(plants[Col.PARK_ID])
    assert not t["waste_storage"].any()  # B.II.4: developers lack temporary waste storage
    op = t[t["status"] == "operating"]
    assert (op.loc[~op["wastewater_plant"] & op["operating_since"].notna(), "days_operating_without_plant"] > 0).all()
