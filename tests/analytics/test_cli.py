"""The CLI: fill-rates, balance and trend JSON fields, validate with consistency checks, validate --fix.

Every command runs on both backends: ``straddle_url`` is a read-only atlas shared per backend
(GeoPackage, PostGIS), and atlases a test builds come from ``new_atlas_url``. ``validate --fix``
repairs invalid geometries, which only a GeoPackage can hold (PostGIS refuses them with a
``CHECK (ST_IsValid(...))``), so its tests stay on GeoPackage files.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest
import shapely

from kcn_gis import open_atlas, write_atlas
from kcn_gis.cli import main
from kcn_gis.schema import Col, Layer
from tests.analytics.conftest import add_rows, park_row, plot_row, project_row, straddle_layers
from tests.conftest import E0, N0, box, make_layers, ts

FILL_FIELDS = ["planned_ha", "acquired_ha", "leased_ha", "fill_rate_planned", "fill_rate_acquired"]


@pytest.fixture
def straddle_url(shared_atlas_url):
    """The straddle atlas on each backend (shared, read-only: the commands tested here only read)."""
    return shared_atlas_url("straddle", straddle_layers)


def run_json(capsys, *argv) -> list[dict]:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("by", "key"), [("park", "park_id"), ("district", "district"), ("bank", "bank"), ("province", "province")]
)
def test_fill_rates_json_fields(capsys, straddle_url, by, key):
    recs = run_json(
        capsys, "fill-rates", "--atlas", str(straddle_url), "--as-of", "2011-12-26", "--by", by, "--format", "json"
    )
    names = ["name", "name_en"] if by == "park" else []  # the park's names, in both languages
    assert all(list(r) == [key, *names, *FILL_FIELDS] for r in recs)
    if by == "bank":
        assert recs[0] == {
            "bank": "north",
            "planned_ha": pytest.approx(100.0),
            "acquired_ha": pytest.approx(100.0),
            "leased_ha": pytest.approx(70.0),
            "fill_rate_planned": pytest.approx(0.7),
            "fill_rate_acquired": pytest.approx(0.7),
        }
    if by == "province":
        assert recs == [
            {
                "province": "Tỉnh Thử",
                "planned_ha": pytest.approx(150.0),
                "acquired_ha": pytest.approx(150.0),
                "leased_ha": pytest.approx(100.0),
                "fill_rate_planned": pytest.approx(100 / 150),
                "fill_rate_acquired": pytest.approx(100 / 150),
            }
        ]


def test_fill_rates_all_parks_gives_null_rates_for_empty_park(capsys, straddle_url):
    recs = run_json(
        capsys, "fill-rates", "--atlas", str(straddle_url), "--as-of", "2011-12-26", "--all-parks", "--format", "json"
    )
    s1 = next(r for r in recs if r["park_id"] == "S1")
    assert s1["planned_ha"] == 0.0 and s1["fill_rate_planned"] is None


def test_fill_rates_as_of_changes_the_answer(capsys, straddle_url):
    recs = run_json(
        capsys,
        "fill-rates",
        "--atlas",
        str(straddle_url),
        "--as-of",
        "2006-05-31",
        "--by",
        "province",
        "--format",
        "json",
    )
    assert recs[0]["leased_ha"] == 0.0 and recs[0]["acquired_ha"] == pytest.approx(40.0)


def test_fill_rates_table_csv_xlsx(capsys, straddle_url, tmp_path):
    assert main(["fill-rates", "--atlas", str(straddle_url), "--as-of", "2011-12-26", "--by", "bank"]) == 0
    table = capsys.readouterr().out
    assert "fill_rate_planned_pct" in table and "70.00" in table
    out = tmp_path / "f.csv"
    assert (
        main(
            ["fill-rates", "--atlas", str(straddle_url), "--as-of", "2011-12-26", "--format", "csv", "--out", str(out)]
        )
        == 0
    )
    assert list(pd.read_csv(out).columns) == ["park_id", "name", "name_en", *FILL_FIELDS]
    xlsx = tmp_path / "f.xlsx"
    assert (
        main(
            [
                "fill-rates",
                "--atlas",
                str(straddle_url),
                "--as-of",
                "2011-12-26",
                "--format",
                "xlsx",
                "--out",
                str(xlsx),
            ]
        )
        == 0
    )
    assert pd.read_excel(xlsx)["planned_ha"].tolist() == pytest.approx([70.0, 80.0])  # N1; X1 = XA 60 + XB 20


def test_balance_json_fields(capsys, straddle_url):
    recs = run_json(capsys, "balance", "--atlas", str(straddle_url), "--as-of", "2011-12-26", "--format", "json")
    assert [r["bank"] for r in recs] == ["north", "south"]
    required = [
        "bank",
        "park_count",
        "park_area_ha",
        "planned_ha",
        "acquired_ha",
        "leased_ha",
        "fill_rate_planned",
        "fill_rate_acquired",
    ]
    assert list(recs[0])[: len(required)] == required
    south = recs[1]
    assert south["park_count"] == pytest.approx(0.5)
    assert south["park_area_ha"] == pytest.approx(50.0)
    assert south["leased_ha"] == pytest.approx(30.0)
    assert south["balance_index"] == pytest.approx(0.6)


def test_balance_unknown_river_exits_2(capsys, straddle_url):
    assert main(["balance", "--atlas", str(straddle_url), "--river", "Sông Cầu"]) == 2
    assert "available names: 'Sông Đuống'" in capsys.readouterr().err


def test_trend_json_and_chart(capsys, straddle_url, tmp_path):
    chart = tmp_path / "trend.svg"
    recs = run_json(
        capsys,
        "trend",
        "--atlas",
        str(straddle_url),
        "--from",
        "2009",
        "--to",
        "2011",
        "--by",
        "bank",
        "--format",
        "json",
        "--chart",
        str(chart),
    )
    assert [(r["year"], r["bank"]) for r in recs] == [(y, b) for y in (2009, 2010, 2011) for b in ("north", "south")]
    assert recs[0]["as_of"] == "2009-12-31"
    assert recs[-1]["balance_index"] == pytest.approx(0.6)
    assert b"<svg" in chart.read_bytes()[:2000]


# -- validate ---------------------------------------------------------------------------------------------------


def planted_layers():
    """The straddle layers with one of each inconsistency planted."""
    layers = straddle_layers()
    plots = layers[Layer.PLOTS]
    plots = add_rows(
        plots,
        [
            plot_row("OUT", "N1", box(1_800, 6_000, 2_200, 6_500), acquired="2008-01-01"),  # 10 ha outside N1
            plot_row("DBL", "N1", box(1_300, 6_000, 1_400, 7_000), acquired="2005-01-01", leased="2009-01-01"),
            plot_row("NOPARK", "ZZ", box(9_000, 9_000, 9_100, 9_100)),
            plot_row("NOACQ", "X1", box(3_000, 5_000, 3_100, 5_100), leased="2010-01-01"),  # also overlaps XA
            plot_row("GHOSTP", "S1", box(5_000, 1_000, 5_100, 1_100), acquired="2010-01-01", project="GHOST"),
        ],
    )
    plots.loc[plots[Col.PLOT_ID] == "P2", Col.LEASED_ON] = ts("2006-12-01")  # before acquired 2007-01-01
    layers[Layer.PLOTS] = plots
    layers[Layer.PARKS] = add_rows(layers[Layer.PARKS], [park_row("OVL", box(1_500, 6_900, 2_500, 7_500))])
    parcels = layers[Layer.PARCELS]
    parcels.loc[1, "geometry"] = box(5_250, 1_000, 5_750, 2_000)
    layers[Layer.PROJECTS] = add_rows(layers[Layer.PROJECTS], [project_row("LONELY", capital=1.0, workers=1)])
    return layers


#: Planted plots that reference a park or project that does not exist: a PostGIS atlas refuses them (foreign keys).
DANGLING = {"NOPARK": "plots_park_id_fkey", "GHOSTP": "plots_project_id_fkey"}


def test_validate_catches_each_planted_inconsistency(capsys, backend, new_atlas_url):
    layers = planted_layers()
    expected = {
        ("plot_outside_park", "plot_id 'OUT', park_id 'N1'"),
        ("double_leasing", "plot_id 'P1', plot_id 'DBL'"),
        ("overlapping_parks", "park_id 'N1', park_id 'OVL'"),
        ("parcel_outside_park", "parcel_id 'S1-1-2', park_id 'S1'"),
        ("plot_unknown_park", "plot_id 'NOPARK'"),
        ("leased_not_acquired", "plot_id 'NOACQ'"),
        ("leased_before_acquired", "plot_id 'P2'"),
        ("plot_unknown_project", "plot_id 'GHOSTP'"),
        ("project_without_plot", "project_id 'LONELY'"),
    }
    if backend == "postgis":
        from kcn_gis import SchemaError

        plots = layers[Layer.PLOTS]
        clean = plots[~plots[Col.PLOT_ID].isin(list(DANGLING))].reset_index(drop=True)
        for plot_id, constraint in DANGLING.items():  # the database refuses each dangling reference ...
            one = pd.concat([clean, plots[plots[Col.PLOT_ID] == plot_id]], ignore_index=True)
            with pytest.raises(SchemaError, match=constraint):
                new_atlas_url({**layers, Layer.PLOTS: one})
        layers[Layer.PLOTS] = clean
        expected = {e for e in expected if not any(f"'{p}'" in e[1] for p in DANGLING)}  # ... validate finds the rest
    path = new_atlas_url(layers)
    assert main(["validate", "--atlas", str(path), "--format", "json"]) == 1
    recs = json.loads(capsys.readouterr().out)
    found = {(r["check"], r["ids"]) for r in recs}
    assert expected <= found, expected - found
    assert any(c == "double_leasing" or c == "overlapping_plots" for c, ids in found if "NOACQ" in ids)
    by_check = {r["check"]: r for r in recs}
    assert by_check["plot_outside_park"]["severity"] == "error"
    assert "10.0000 ha" in by_check["plot_outside_park"]["message"]
    assert by_check["project_without_plot"]["severity"] == "warning"


def test_validate_passes_on_clean_atlas(capsys, straddle_url):
    assert main(["validate", "--atlas", str(straddle_url)]) == 0
    assert "valid (0 errors, 0 warnings)" in capsys.readouterr().out


def test_validate_warnings_do_not_fail(capsys, new_atlas_url):
    layers = make_layers()
    layers[Layer.PROJECTS] = add_rows(layers[Layer.PROJECTS], [project_row("LONELY", capital=1.0, workers=1)])
    path = new_atlas_url(layers)
    assert main(["validate", "--atlas", str(path)]) == 0
    captured = capsys.readouterr()
    assert "project_without_plot" in captured.out and "0 error(s), 1 warning(s)" in captured.err


def bowtie_atlas(tmp_path):
    layers = make_layers()
    # P1 as a bow-tie over x 1 000-1 400: two triangles of 200 m x 500 m... = 2 x 10 ha = 20 ha once repaired
    layers[Layer.PLOTS].loc[0, "geometry"] = shapely.Polygon(
        [(E0 + 1_000, N0 + 6_000), (E0 + 1_400, N0 + 7_000), (E0 + 1_400, N0 + 6_000), (E0 + 1_000, N0 + 7_000)]
    )
    path = tmp_path / "bowtie.gpkg"
    write_atlas(path, layers, validate=False)
    return path


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_validate_fix_writes_a_new_atlas_and_lists_changes(capsys, tmp_path):
    src = bowtie_atlas(tmp_path)
    before = sha256(src)
    new = tmp_path / "fixed.gpkg"
    assert main(["validate", "--atlas", str(src), "--fix", str(new)]) == 1  # the source still has the error
    out = capsys.readouterr().out
    assert "invalid_geometry" in out
    assert sha256(src) == before
    assert f"wrote {new}" in out
    change_line = next(line for line in out.splitlines() if "plot_id 'P1'" in line and "made valid" in line)
    assert "plots" in change_line and "MultiPolygon" in change_line
    assert "20.0000" in change_line  # area after: two triangles 400 m x 500 m / 2 each = 2 x 10 ha
    fixed = open_atlas(new)
    p1 = fixed.plots.set_index(Col.PLOT_ID).loc["P1", "geometry"]
    assert p1.is_valid and p1.area == pytest.approx(200_000.0)
    assert len(fixed.plots) == 3 and len(fixed.parcels) == 2
    assert main(["validate", "--atlas", str(new)]) == 0


def test_validate_fix_never_edits_the_source(capsys, tmp_path):
    src = bowtie_atlas(tmp_path)
    assert main(["validate", "--atlas", str(src), "--fix", str(src)]) == 2
    assert "never edits the source" in capsys.readouterr().err
    other = tmp_path / "exists.gpkg"
    other.write_bytes(b"")
    assert main(["validate", "--atlas", str(src), "--fix", str(other)]) == 2
    assert "exists" in capsys.readouterr().err


def test_validate_fix_with_nothing_to_repair(capsys, straddle_url, tmp_path):
    new = tmp_path / "new.gpkg"
    assert main(["validate", "--atlas", str(straddle_url), "--fix", str(new)]) == 0
    assert "no invalid geometries to repair" in capsys.readouterr().out
    assert not new.exists()


def test_validate_lists_50_per_check_and_counts_the_rest(capsys, new_atlas_url):
    layers = make_layers()
    layers[Layer.PROJECTS] = add_rows(
        layers[Layer.PROJECTS], [project_row(f"L{i:02d}", capital=1.0, workers=1) for i in range(60)]
    )
    path = new_atlas_url(layers)
    assert main(["validate", "--atlas", str(path), "--format", "json"]) == 0
    captured = capsys.readouterr()
    recs = [r for r in json.loads(captured.out) if r["check"] == "project_without_plot"]
    assert len(recs) == 51 and "... and 10 more projects row(s)" in recs[-1]["message"]
    assert "0 error(s), 60 warning(s)" in captured.err
