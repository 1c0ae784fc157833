"""check_consistency: each planted inconsistency is found, with severity, ids and area; clean data gives none."""

from __future__ import annotations

import pytest
import shapely

from kcn_gis.analytics import CHECKS, check_consistency
from kcn_gis.errors import CRSError, Problem
from kcn_gis.schema import Col, Layer
from tests.analytics.conftest import add_rows, park_row, plot_row, project_row, straddle_layers
from tests.conftest import E0, N0, box, make_layers, ts


def run(layers) -> list[Problem]:
    return check_consistency(
        parks=layers[Layer.PARKS],
        plots=layers[Layer.PLOTS],
        parcels=layers[Layer.PARCELS],
        projects=layers[Layer.PROJECTS],
    )


def only(problems: list[Problem], check: str) -> list[Problem]:
    found = [p for p in problems if p.check == check]
    assert found, f"{check} not reported; got {[p.check for p in problems]}"
    assert all(p.severity == CHECKS[check][0] for p in found)
    return found


def test_clean_layers_have_no_problems():
    assert run(make_layers()) == []
    assert run(straddle_layers()) == []


def test_plot_outside_its_park_with_area():
    layers = make_layers()
    layers[Layer.PLOTS] = add_rows(layers[Layer.PLOTS], [plot_row("P4", "N1", box(1_800, 6_000, 2_200, 7_000))])
    (p,) = only(run(layers), "plot_outside_park")
    assert p.severity == "error"
    assert p.layer == "plots" and p.row == 4
    assert p.ids == ("plot_id 'P4'", "park_id 'N1'")
    assert "20.0000 ha" in p.message and "50.0% of the plot" in p.message


def test_sliver_outside_is_tolerated():
    layers = make_layers()
    # 0.5 m x 1 m = 0.5 m² outside: below the 1 m² tolerance
    layers[Layer.PLOTS] = add_rows(layers[Layer.PLOTS], [plot_row("P4", "N1", box(1_800, 6_000, 2_000.5, 6_001))])
    assert [p for p in run(layers) if p.check == "plot_outside_park"] == []


def test_double_leasing_and_plain_overlap():
    layers = make_layers()
    # PD overlaps P1 (leased since 2006-06-01) by 100 m x 1 000 m = 10 ha and is leased from 2009: double leasing
    # PO overlaps P2 (never leased) by 50 m x 1 000 m = 5 ha: a warning
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS],
        [
            plot_row("PD", "N1", box(1_300, 6_000, 1_400, 7_000), acquired="2005-01-01", leased="2009-01-01"),
            plot_row("PO", "N1", box(1_650, 6_000, 1_700, 7_000), acquired="2005-01-01", leased="2009-01-01"),
        ],
    )
    problems = run(layers)
    (d,) = only(problems, "double_leasing")
    assert set(d.ids) == {"plot_id 'P1'", "plot_id 'PD'"}
    assert "10.0000 ha" in d.message and "2009-01-01" in d.message
    (o,) = only(problems, "overlapping_plots")
    assert set(o.ids) == {"plot_id 'P2'", "plot_id 'PO'"}
    assert "5.0000 ha" in o.message


def test_overlap_after_lease_ended_is_only_a_warning():
    layers = make_layers()
    layers[Layer.PLOTS].loc[0, Col.LEASE_ENDED_ON] = ts("2008-01-01")
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS],
        [plot_row("PD", "N1", box(1_300, 6_000, 1_400, 7_000), acquired="2005-01-01", leased="2008-01-01")],
    )
    problems = run(layers)
    assert [p.check for p in problems] == ["overlapping_plots"]


def test_plot_inside_another_plot_is_found():
    layers = make_layers()
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS], [plot_row("PIN", "N1", box(1_100, 6_100, 1_200, 6_200), acquired="2005-01-01")]
    )
    (o,) = only(run(layers), "overlapping_plots")
    assert set(o.ids) == {"plot_id 'P1'", "plot_id 'PIN'"} and "1.0000 ha" in o.message


def test_touching_plots_do_not_overlap():
    # P1, P2 and P3 share edges in the tiny atlas: nothing reported (see test_clean_layers_have_no_problems);
    # a tiny 0.5 m² overlap is a sliver
    layers = make_layers()
    layers[Layer.PLOTS] = add_rows(
        layers[Layer.PLOTS], [plot_row("PS", "N1", box(1_799.5, 6_000, 1_800.5, 6_000.5), acquired="2005-01-01")]
    )
    # PS overlaps P3 by 0.5 m x 0.5 m = 0.25 m² (P3 ends at x 1 800): below the 1 m² tolerance
    assert [p.check for p in run(layers) if "overlap" in p.check] == []


def test_overlapping_parks():
    layers = make_layers()
    layers[Layer.PARKS] = add_rows(layers[Layer.PARKS], [park_row("N2", box(1_500, 6_500, 2_500, 7_500))])
    (p,) = only(run(layers), "overlapping_parks")
    assert p.ids == ("park_id 'N1'", "park_id 'N2'")
    assert "25.0000 ha" in p.message


def test_parcels_outside_and_unknown_park():
    layers = make_layers()
    parcels = layers[Layer.PARCELS]
    parcels.loc[1, "geometry"] = box(5_250, 1_000, 5_750, 2_000)  # half outside S1: 25 ha out
    parcels.loc[0, Col.PARK_ID] = "NOPE"
    problems = run(layers)
    (o,) = only(problems, "parcel_outside_park")
    assert o.severity == "warning" and o.row == 2 and "25.0000 ha" in o.message
    (u,) = only(problems, "parcel_unknown_park")
    assert u.row == 1 and "'NOPE'" in u.message and u.field == "park_id"


def test_plot_unknown_park():
    layers = make_layers()
    layers[Layer.PLOTS].loc[2, Col.PARK_ID] = "ZZ"
    (p,) = only(run(layers), "plot_unknown_park")
    assert p.ids == ("plot_id 'P3'",) and p.row == 3


def test_date_order():
    layers = make_layers()
    plots = layers[Layer.PLOTS]
    plots.loc[1, Col.LEASED_ON] = ts("2006-12-31")  # P2 acquired 2007-01-01: leased before acquired
    plots.loc[2, Col.ACQUIRED_ON] = ts(None)
    plots.loc[2, Col.LEASED_ON] = ts("2008-01-01")  # P3 never acquired
    plots.loc[0, Col.LEASE_ENDED_ON] = ts("2006-01-01")  # P1 lease ends before it starts
    problems = run(layers)
    assert only(problems, "leased_before_acquired")[0].ids == ("plot_id 'P2'",)
    assert only(problems, "leased_not_acquired")[0].ids == ("plot_id 'P3'",)
    assert only(problems, "lease_end_not_after_start")[0].ids == ("plot_id 'P1'",)


def test_projects_and_plots_references():
    layers = make_layers()
    layers[Layer.PROJECTS] = add_rows(layers[Layer.PROJECTS], [project_row("PRJ9", capital=1.0, workers=1)])
    layers[Layer.PLOTS].loc[1, Col.PROJECT_ID] = "GHOST"
    problems = run(layers)
    (w,) = only(problems, "project_without_plot")
    assert w.severity == "warning" and w.layer == "projects" and w.ids == ("project_id 'PRJ9'",)
    (e,) = only(problems, "plot_unknown_project")
    assert e.severity == "error" and e.ids == ("plot_id 'P2'",) and "'GHOST'" in e.message


def test_invalid_geometry_is_reported_and_other_checks_still_run():
    layers = make_layers()
    bowtie = shapely.Polygon(
        [(E0 + 1_000, N0 + 6_000), (E0 + 1_400, N0 + 7_000), (E0 + 1_400, N0 + 6_000), (E0 + 1_000, N0 + 7_000)]
    )
    layers[Layer.PLOTS].loc[0, "geometry"] = bowtie
    problems = run(layers)
    (p,) = only(problems, "invalid_geometry")
    assert p.layer == "plots" and p.ids == ("plot_id 'P1'",) and "Self-intersection" in p.message


def test_every_check_is_documented_and_crs_is_required():
    assert set(CHECKS) >= {
        "plot_outside_park",
        "double_leasing",
        "overlapping_plots",
        "overlapping_parks",
        "parcel_outside_park",
        "leased_not_acquired",
        "leased_before_acquired",
        "project_without_plot",
        "plot_unknown_project",
        "plot_unknown_park",
        "parcel_unknown_park",
        "invalid_geometry",
    }
    layers = make_layers()
    with pytest.raises(CRSError):
        check_consistency(
            parks=layers[Layer.PARKS].to_crs("EPSG:4326"), plots=layers[Layer.PLOTS], parcels=None, projects=None
        )


def test_none_layers_skip_their_checks():
    layers = make_layers()
    layers[Layer.PLOTS].loc[1, Col.PROJECT_ID] = "GHOST"
    assert check_consistency(parks=None, plots=None, parcels=None, projects=None) == []
    assert check_consistency(parks=layers[Layer.PARKS], plots=layers[Layer.PLOTS], parcels=None, projects=None) == []


def test_checks_started_early_in_threads_report_the_same_problems_in_the_same_order(monkeypatch):
    """Parcel overlaps and orphan events run beside the other checks: same problems, same order."""
    import pandas as pd

    from kcn_gis.analytics import checks

    layers = make_layers()
    base = layers[Layer.PARCELS]
    extra = base.iloc[[0]].copy()
    extra[Col.PARCEL_ID] = "S1-1-3"
    extra["geometry"] = [shapely.buffer(base.geometry.iloc[0], -10.0)]  # inside parcel 1: overlaps it
    parcels = pd.concat([base, extra], ignore_index=True)
    parcels.loc[1, "geometry"] = box(5_250, 1_000, 5_750, 2_000)  # half outside its park
    parcels.loc[1, Col.PARK_ID] = "S1"
    events = pd.DataFrame(
        {
            Col.EVENT_ID: pd.Series(["E1", "E2", "E3"], dtype="str"),
            Col.PARCEL_ID: pd.Series([parcels[Col.PARCEL_ID].iloc[0], "GHOST-1", "GHOST-2"], dtype="str"),
        }
    )

    def both() -> list[tuple]:
        found = check_consistency(
            parks=layers[Layer.PARKS],
            plots=layers[Layer.PLOTS],
            parcels=parcels,
            projects=layers[Layer.PROJECTS],
            clearance_events=events,
        )
        return [(p.check, p.layer, p.row, p.message) for p in found]

    monkeypatch.setattr(checks, "_EARLY_CHECKS", False)
    in_order = both()
    monkeypatch.setattr(checks, "_EARLY_CHECKS", True)
    assert both() == in_order
    kinds = [c for c, *_ in in_order]
    assert {"parcel_outside_park", "overlapping_parcels", "event_unknown_parcel"} <= set(kinds)
    assert kinds.index("overlapping_parcels") < kinds.index("event_unknown_parcel")  # check order kept
    assert kinds.count("event_unknown_parcel") == 2


def test_corrections_must_name_an_event_of_their_own_parcel():
    """A correction naming nothing, or another parcel's event, is an error with its row and ids; a good one is not."""
    import pandas as pd

    layers = make_layers()
    pids = layers[Layer.PARCELS][Col.PARCEL_ID].tolist()
    a, b = pids[0], pids[1]
    events = pd.DataFrame(
        {
            Col.EVENT_ID: pd.Series(["E1", "E2", "C1", "C2", "C3", "N1"], dtype="str"),
            Col.PARCEL_ID: pd.Series([a, b, a, a, b, b], dtype="str"),
            Col.EVENT: pd.Series(
                ["handed_over", "handed_over", "correction", "correction", "correction", "notified"], dtype="str"
            ),
            Col.CORRECTS_EVENT_ID: pd.Series([None, None, "E1", "E2", "E404", None], dtype="str"),
        }
    )
    found = [
        p
        for p in check_consistency(
            parks=layers[Layer.PARKS],
            plots=layers[Layer.PLOTS],
            parcels=layers[Layer.PARCELS],
            projects=layers[Layer.PROJECTS],
            clearance_events=events,
        )
        if p.check.startswith("correction_")
    ]
    assert [(p.check, p.row, p.severity) for p in found] == [
        ("correction_other_parcel", 4, "error"),
        ("correction_unknown_event", 5, "error"),
    ]
    assert "'C2' of parcel" in found[0].message and f"parcel '{b}'" in found[0].message
    assert found[0].field == "corrects_event_id" and "event_id 'C2'" in found[0].ids
    assert "'E404'" in found[1].message
    # without corrections nothing is looked up, and the column may be absent
    assert not [
        p
        for p in check_consistency(
            parks=layers[Layer.PARKS],
            plots=layers[Layer.PLOTS],
            parcels=layers[Layer.PARCELS],
            projects=layers[Layer.PROJECTS],
            clearance_events=events.drop(columns=Col.CORRECTS_EVENT_ID),
        )
        if p.check.startswith("correction_")
    ]
