"""The self-contained HTML review report (kcn_gis.clearance.review) and the CLI commands around it."""

from __future__ import annotations

import html
import json
import re

import pytest

from kcn_gis import open_atlas
from kcn_gis.clearance import stage_color, write_review_report
from kcn_gis.cli import main
from kcn_gis.errors import ClearanceError
from kcn_gis.style import NOT_STARTED_COLOR, STAGE_COLORS

from .conftest import QUOTES, XSS


@pytest.fixture
def report(clearance_atlas_path, tmp_path) -> str:
    out = write_review_report(
        open_atlas(clearance_atlas_path), "S1", tmp_path / "S1.html", as_of="2011-12-26", since="2011-06-15"
    )
    return out.read_text(encoding="utf-8")


def test_report_is_self_contained_and_offline(report):
    assert report.startswith("<!DOCTYPE html>")
    assert "http://" not in report and "https://" not in report
    assert not re.search(r"""(src|href)\s*=\s*["']?(?!#|data:)""", report, flags=re.I)
    assert "<script" not in report.lower() and "<iframe" not in report.lower()
    assert "<link" not in report.lower()
    assert "default-src 'none'" in report  # a CSP: nothing can be loaded even if something slipped through


def test_every_value_is_escaped(report):
    assert XSS not in report
    assert html.escape(XSS) in report  # holder of S1-1-1 and the note of the complaint on S1-1-2
    assert QUOTES not in report
    assert html.escape(QUOTES, quote=True) in report
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in report


def test_map_colours_and_legend_come_from_the_style(report):
    fills = re.findall(r'<path d="[^"]+" fill="(#[0-9a-fA-F]{6})"', report)
    # S1-1-1 and S1-2-1 handed over, S1-1-2 inventoried, S1-2-2 not started
    assert sorted(fills) == sorted(
        [STAGE_COLORS["handed_over"], STAGE_COLORS["handed_over"], STAGE_COLORS["inventoried"], NOT_STARTED_COLOR]
    )
    legend = report[report.index('<ul class="legend">') : report.index("</ul>")]
    for color in [NOT_STARTED_COLOR, *STAGE_COLORS.values()]:
        assert f"background:{color}" in legend
    assert stage_color(None) == NOT_STARTED_COLOR


def test_report_sections(report):
    for heading in (
        "Parcels by stage",
        "burn-up",
        "Stage table",
        "Stalled parcels",
        "Disputed parcels",
        "Changes since",
    ):
        assert heading in report
    assert '<svg class="chart"' in report and '<svg class="map"' in report
    assert "10.00 ha" in report and "4.00 ha" in report and "40.0%" in report
    stalled = report[report.index("Stalled parcels") : report.index("Disputed parcels")]
    assert "S1-1-2" in stalled and "S1-1-1" not in stalled
    changes = report[report.index("Changes since") :]
    assert "S1-2-1" in changes and "BB-03" in changes  # handed over 01/10/2011, after 15/06/2011
    assert "Đính chính" in changes  # the correction of 01/08 is a new event too


def test_unknown_park(clearance_atlas_path, tmp_path):
    with pytest.raises(ClearanceError, match="park 'NOPE' is not in"):
        write_review_report(open_atlas(clearance_atlas_path), "NOPE", tmp_path / "x.html")


def test_cli_commands(clearance_atlas_path, tmp_path, capsys):
    atlas = ["--atlas", str(clearance_atlas_path)]
    assert main(["clearance", "progress", *atlas, "--as-of", "2011-12-26", "--format", "json"]) == 0
    recs = json.loads(capsys.readouterr().out)
    s1 = next(r for r in recs if r["park_id"] == "S1")
    assert s1["handed_over_ha"] == pytest.approx(4.0) and s1["by_stage"]["inventoried"]["parcels"] == 1
    assert main(["clearance", "progress", *atlas, "--park", "S1", "--as-of", "2011-01-09", "--format", "json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert only["by_stage"]["not_started"]["parcels"] == 4
    assert main(["clearance", "stalls", *atlas, "--as-of", "2011-12-26", "--format", "csv"]) == 0
    assert "S1-1-2" in capsys.readouterr().out
    assert main(["clearance", "stalls", *atlas, "--as-of", "2011-12-26", "--disputed", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["parcel_id"] == "S1-1-2"
    assert main(["clearance", "forecast", *atlas, "--as-of", "2012-12-31"]) == 0
    assert "No recent progress" in capsys.readouterr().out
    assert main(["clearance", "timeline", "S1-2-1", *atlas, "--format", "json"]) == 0
    tl = json.loads(capsys.readouterr().out)
    assert [r["event_id"] for r in tl] == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    out = tmp_path / "r.html"
    assert main(["clearance", "report", *atlas, "--park", "S1", "--as-of", "2011-12-26", "--out", str(out)]) == 0
    assert "Stage table" in out.read_text(encoding="utf-8")
    tpl = tmp_path / "t.xlsx"
    assert main(["clearance", "template", *atlas, "--park", "S1", "--out", str(tpl)]) == 0
    assert tpl.stat().st_size > 0
    assert main(["clearance", "progress", *atlas, "--park", "NOPE"]) == 1  # not in this atlas: a data problem
    assert "unknown park" in capsys.readouterr().err
    assert main(["clearance", "timeline", "NOPE", *atlas]) == 1
