"""Scenario files: the format, base inheritance, and located errors (file, change, field, problem)."""

from __future__ import annotations

import textwrap

import pytest
import shapely

from kcn_gis.errors import ScenarioError
from kcn_gis.scenario import apply_scenario, load_scenario
from tests.conftest import atlas_snapshot, box
from tests.scenario.conftest import SOUTH_PARK_WKT


def _write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_load_parses_dates_schedules_and_geometry(tmp_path):
    path = _write(
        tmp_path,
        "s.yaml",
        f"""
        name: "Khu Nam 2013"
        changes:
          - add_park:
              park_id: C
              name: KCN Lương Tài
              district: Lương Tài
              boundary: "{SOUTH_PARK_WKT}"
              status: {{construction: 2012-06-01, operating: 2013-01-01}}
              industrial_share: 0.65
              schedule:
                acquired_ha: {{2012: 65, 2013: 65}}
                leased_ha: {{2013: 10, 2014: 20, 2015: 30}}
          - set_status: {{park_id: E, status: construction, on: 2013-01-01}}
        """,
    )
    s = load_scenario(path)
    assert s.name == "Khu Nam 2013"
    assert [c.kind for c in s.changes] == ["add_park", "set_status"]
    add = s.changes[0].params
    assert add["boundary"].area == pytest.approx(1_000_000.0)
    assert add["status"]["operating"].isoformat().startswith("2013-01-01")
    leased = add["schedule"]["leased_ha"]
    assert [(d.strftime("%Y-%m-%d"), v) for d, v in leased.items()] == [
        ("2013-12-31", 10.0),
        ("2014-12-31", 20.0),
        ("2015-12-31", 30.0),
    ]


def test_base_inheritance_puts_the_base_changes_first(tmp_path):
    _write(tmp_path, "a.yaml", "name: A\nchanges:\n  - drop_park: {park_id: B}\n")
    _write(
        tmp_path,
        "b.yaml",
        "name: B\nbase: a.yaml\nchanges:\n  - set_status: {park_id: E, status: operating, on: 2013-01-01}\n",
    )
    s = load_scenario(tmp_path / "b.yaml")
    assert [(c.kind, c.park_id) for c in s.changes] == [("drop_park", "B"), ("set_status", "E")]
    assert s.changes[0].source.endswith("a.yaml")
    _write(tmp_path, "c.yaml", "name: C\nbase: d.yaml\nchanges: []\n")
    _write(tmp_path, "d.yaml", "name: D\nbase: c.yaml\nchanges: []\n")
    with pytest.raises(ScenarioError, match="a cycle"):
        load_scenario(tmp_path / "c.yaml")


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        ("- drop_park: {park_id: B, when: 2013}", "change 2 (drop_park B) field 'when'", "unknown field"),
        ("- set_status: {park_id: E, status: open, on: 2013-01-01}", "field 'status'", "not a park status"),
        ("- set_status: {park_id: E, status: operating, on: 2013-13-01}", "field 'on'", "not a date"),
        (
            "- resize_park: {park_id: A}",
            "change 2 (resize_park A) field 'boundary'",
            "either a new boundary or buffer_m",
        ),
        ("- rephase: {park_id: A, shift_months: 1.5}", "field 'shift_months'", "whole number of months"),
        ("- grow_park: {park_id: A}", "change 2 (grow_park)", "unknown change"),
        (
            "- add_park: {park_id: X, name: X, district: Gia Bình, boundary: 'POLYGON ((0 0, 1 1))', "
            "status: {operating: 2013-01-01}}",
            "change 2 (add_park X) field 'boundary'",
            "not valid WKT",
        ),
        (
            f"- add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{SOUTH_PARK_WKT}', "
            "status: {operating: 2013-01-01}, schedule: {leased_ha: {2013: 20, 2014: 10}}}",
            "field 'schedule.leased_ha.2014'",
            "never goes down",
        ),
        (
            f"- add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{SOUTH_PARK_WKT}', "
            "status: {operating: 2013-01-01}, schedule: {acquired_ha: {2013: 5}, leased_ha: {2013: 10}}}",
            "field 'schedule.leased_ha.2013'",
            "only 5 ha acquired",
        ),
    ],
)
def test_malformed_changes_are_located(tmp_path, change, where, problem):
    path = _write(tmp_path, "bad.yaml", f"name: bad\nchanges:\n  - drop_park: {{park_id: B}}\n  {change}\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    text = str(err.value)
    assert str(path) in text and where in text and problem in text, text


@pytest.mark.parametrize(
    ("change", "where", "problem"),
    [
        ("drop_park: {park_id: ZZ}", "change 1 (drop_park ZZ) field 'park_id'", "unknown park 'ZZ'"),
        (
            f"add_park: {{park_id: A, name: X, district: Gia Bình, boundary: '{SOUTH_PARK_WKT}', status: {{operating: 2013-01-01}}}}",
            "field 'park_id'",
            "already in the atlas",
        ),
        (
            f"add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{shapely.to_wkt(box(9_500, 100, 10_500, 1_100))}', "
            "status: {operating: 2013-01-01}}",
            "change 1 (add_park X) field 'boundary'",
            "50.00 ha of the boundary lie outside the province",
        ),
        (
            f"add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{shapely.to_wkt(box(7_250, 1_000, 8_250, 2_000))}', "
            "status: {operating: 2013-01-01}}",
            "change 1 (add_park X) field 'boundary'",
            "overlaps park 'E' by 25.00 ha",
        ),
        (
            f"add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{SOUTH_PARK_WKT}', "
            "status: {operating: 2013-01-01}, schedule: {leased_ha: {2012: 5, 2013: 10}}}",
            "field 'schedule.leased_ha.2012'",
            "before the park exists",
        ),
        ("set_status: {park_id: A, status: construction, on: 2005-01-01}", "field 'on'", "before the park exists"),
        (
            f"add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{SOUTH_PARK_WKT}', "
            "status: {operating: 2010-01-01}, schedule: {leased_ha: {2010: 5, 2013: 10}}}",
            "change 1 (add_park X) field 'schedule.leased_ha.2010'",
            "is not after the end of the recorded history (2011-06-01)",
        ),
        (
            f"add_park: {{park_id: X, name: X, district: Gia Bình, boundary: '{SOUTH_PARK_WKT}', industrial_share: 0.5, "
            "status: {operating: 2013-01-01}, schedule: {leased_ha: {2013: 60}}}",
            "field 'schedule.leased_ha'",
            "only 50.00 ha of planned industrial land",
        ),
    ],
)
def test_changes_that_do_not_fit_the_atlas_are_located_and_nothing_is_written(
    tmp_path, hand_atlas, hand_atlas_path, change, where, problem
):
    path = _write(tmp_path, "bad.yaml", f"name: bad\nchanges:\n  - {change}\n")
    before = atlas_snapshot(hand_atlas_path)
    with pytest.raises(ScenarioError) as err:
        apply_scenario(hand_atlas, load_scenario(path))
    text = str(err.value)
    assert str(path) in text and where in text and problem in text, text
    assert "nothing was" in text
    assert atlas_snapshot(hand_atlas_path) == before


def test_every_problem_is_reported_at_once(tmp_path):
    path = _write(
        tmp_path,
        "bad.yaml",
        "name: bad\nchanges:\n  - set_status: {park_id: E, status: open, on: 2013-01-01}\n  - rephase: {park_id: A}\n",
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "change 1 (set_status E) field 'status'" in str(err.value)
    assert "change 2 (rephase A) field 'shift_months'" in str(err.value)
    assert len(err.value.problems) == 2


def test_not_a_scenario(tmp_path):
    with pytest.raises(ScenarioError, match="is not valid YAML"):
        load_scenario(_write(tmp_path, "x.yaml", "name: [unclosed\n"))
    with pytest.raises(ScenarioError, match="field 'name': is required"):
        load_scenario(_write(tmp_path, "y.yaml", "changes:\n  - drop_park: {park_id: B}\n"))
    with pytest.raises(ScenarioError, match="'baseline' is reserved"):
        load_scenario(_write(tmp_path, "z.yaml", "name: baseline\nchanges:\n  - drop_park: {park_id: B}\n"))
    with pytest.raises(ScenarioError, match="no such scenario file"):
        load_scenario(tmp_path / "missing.yaml")
