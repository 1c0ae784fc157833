"""``kcn-gis validate`` on a valid atlas and on each broken input named in the foundation issue.

Tests on valid atlases run on both backends (``atlas_url``/``new_atlas_url``). The broken
inputs are GeoPackages written with pyogrio, bypassing kcn_gis: a GeoPackage can hold
them. A PostGIS atlas cannot: its database refuses each of them, even from a writer
that skips kcn_gis's own checks (``test_postgis_refuses_each_broken_input``); what
another client *can* do to a PostGIS atlas (drop a table or a column) is reported by
``validate`` like on a GeoPackage.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from kcn_gis import SchemaError, open_atlas, write_atlas
from kcn_gis.cli import main
from kcn_gis.schema import Col, Layer
from tests.conftest import atlas_snapshot, make_layers
from tests.postgis.plugin import is_postgis


def write_raw(path: Path, layers: dict) -> Path:
    """Write layers with pyogrio directly, bypassing kcn_gis's own checks (to build broken atlases)."""
    for name, frame in layers.items():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
            pyogrio.write_dataframe(frame, path, layer=str(name), driver="GPKG")
    return path


def run_validate(path: Path | str, capsys) -> tuple[int, str]:
    code = main(["validate", "--atlas", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_valid_atlas_passes(atlas_url, capsys):
    code, text = run_validate(atlas_url, capsys)
    assert code == 0, text
    assert "valid" in text


def _broken(tmp_path, mutate) -> Path:
    layers = make_layers()
    mutate(layers)
    return write_raw(tmp_path / "broken.gpkg", layers)


def test_missing_layer(tmp_path, capsys):
    path = _broken(tmp_path, lambda ls: ls.pop(Layer.PROJECTS))
    code, text = run_validate(path, capsys)
    assert code == 1
    assert "missing_layer" in text and "projects" in text


def test_missing_column(tmp_path, capsys):
    def mutate(ls):
        ls[Layer.PLOTS] = ls[Layer.PLOTS].drop(columns=[Col.LAND_USE])

    path = _broken(tmp_path, mutate)
    code, text = run_validate(path, capsys)
    assert code == 1
    assert "missing_column" in text and "land_use" in text and "plots" in text


def test_duplicate_park_id(tmp_path, capsys):
    def mutate(ls):
        ls[Layer.PARKS].loc[1, Col.PARK_ID] = "N1"

    code, text = run_validate(_broken(tmp_path, mutate), capsys)
    assert code == 1
    assert "duplicate_id" in text and "park_id 'N1'" in text
    # Both rows are named, 1-based.
    problems = open_atlas(tmp_path / "broken.gpkg", validate=False).validate()
    rows = sorted(p.row for p in problems if p.check == "duplicate_id")
    assert rows == [1, 2]


def test_unknown_land_use(tmp_path, capsys):
    def mutate(ls):
        ls[Layer.PLOTS].loc[2, Col.LAND_USE] = "thue"

    code, text = run_validate(_broken(tmp_path, mutate), capsys)
    assert code == 1
    assert "land_use 'thue' is not one of industrial" in text
    problems = open_atlas(tmp_path / "broken.gpkg", validate=False).validate()
    (p,) = [p for p in problems if p.check == "unknown_value"]
    assert (p.layer, p.row, p.field, p.ids) == ("plots", 3, "land_use", ("plot_id 'P3'",))


def test_layer_without_crs(tmp_path, capsys):
    def mutate(ls):
        ls[Layer.PARKS] = ls[Layer.PARKS].set_crs(None, allow_override=True)

    path = _broken(tmp_path, mutate)
    code, text = run_validate(path, capsys)
    assert code == 1
    assert "missing_crs" in text and "--crs EPSG:9209" in text
    with pytest.raises(SchemaError, match="layer 'parks'.*has no CRS"):
        open_atlas(path)


def test_invalid_self_intersecting_polygon(tmp_path, capsys):
    bowtie = shapely.Polygon([(540_000, 2_330_000), (541_000, 2_331_000), (541_000, 2_330_000), (540_000, 2_331_000)])

    def mutate(ls):
        ls[Layer.PLOTS].loc[1, "geometry"] = bowtie

    code, text = run_validate(_broken(tmp_path, mutate), capsys)
    assert code == 1
    assert "invalid_geometry" in text and "Self-intersection" in text
    problems = open_atlas(tmp_path / "broken.gpkg", validate=False).validate()
    (p,) = [p for p in problems if p.check == "invalid_geometry"]
    assert (p.layer, p.row, p.field) == ("plots", 2, "geometry")


def test_empty_geometry(tmp_path, capsys):
    def mutate(ls):
        ls[Layer.PARKS].loc[0, "geometry"] = shapely.Polygon()

    code, text = run_validate(_broken(tmp_path, mutate), capsys)
    assert code == 1
    assert "geometry is empty" in text or "no geometry" in text
    problems = open_atlas(tmp_path / "broken.gpkg", validate=False).validate()
    assert {(p.layer, p.row) for p in problems if p.check in ("empty_geometry", "null_geometry")} == {("parks", 1)}


def test_layer_in_epsg4326(tmp_path, capsys):
    def mutate(ls):
        ls[Layer.PLOTS] = ls[Layer.PLOTS].to_crs(4326)

    path = _broken(tmp_path, mutate)
    code, text = run_validate(path, capsys)
    assert code == 1
    assert "wrong_crs" in text and "geographic CRS EPSG:4326" in text
    with pytest.raises(SchemaError, match="layer 'plots'.*EPSG:4326"):
        open_atlas(path)


def test_validate_json_lists_problems(tmp_path, capsys):
    import json

    def mutate(ls):
        ls[Layer.PLOTS].loc[2, Col.LAND_USE] = "thue"

    path = _broken(tmp_path, mutate)
    assert main(["validate", "--atlas", str(path), "--format", "json"]) == 1
    out = capsys.readouterr().out
    records = json.loads(out)
    assert any(r["check"] == "unknown_value" and r["row"] == 3 and r["field"] == "land_use" for r in records)


def test_write_refuses_invalid_frames_and_writes_nothing(atlas_url):
    atlas = open_atlas(atlas_url)
    before = atlas_snapshot(atlas_url)  # a GeoPackage's snapshot includes its bytes
    file_bytes = None if is_postgis(atlas_url) else Path(atlas_url).read_bytes()
    plots = atlas.plots.copy()
    plots.loc[0, Col.LAND_USE] = "thue"
    with pytest.raises(SchemaError, match="(?s)refusing to write.*row 1.*land_use 'thue'"):
        atlas.write({Layer.PLOTS: plots})
    assert atlas_snapshot(atlas_url) == before
    if file_bytes is not None:
        assert Path(atlas_url).read_bytes() == file_bytes


def test_geographic_frame_is_not_written(atlas_url):
    atlas = open_atlas(atlas_url)
    before = atlas_snapshot(atlas_url)
    parks = gpd.GeoDataFrame(atlas.parks).to_crs(4326)
    with pytest.raises(SchemaError, match="EPSG:4326"):
        atlas.write({Layer.PARKS: parks})
    assert atlas_snapshot(atlas_url) == before


def test_decomposed_text_is_a_warning_with_its_row(new_atlas_url, capsys):
    import unicodedata

    layers = make_layers()
    layers[Layer.PARKS].loc[1, Col.NAME] = unicodedata.normalize("NFD", "KCN Nam Một")
    path = new_atlas_url(layers)  # a warning does not stop a write
    code, _ = run_validate(path, capsys)
    assert code == 0  # a warning does not fail validation
    problems = open_atlas(path, validate=False).validate()
    (p,) = [p for p in problems if p.check == "not_nfc"]
    assert (p.severity, p.layer, p.row, p.field) == ("warning", "parks", 2, "name")


# -- what a PostGIS atlas can and cannot hold ---------------------------------------------------------------


def _pg_execute(url: str, statement) -> None:
    import psycopg

    from kcn_gis.store.postgis import parse_url

    conninfo, _, _ = parse_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(statement)


def _pg_table(url: str, table: str):
    from psycopg import sql

    from kcn_gis.store.postgis import parse_url

    return sql.Identifier(parse_url(url)[1], table)


@pytest.mark.requires_postgis
def test_postgis_layer_dropped_by_another_client(pg_url, capsys):
    from psycopg import sql

    write_atlas(pg_url, make_layers())
    _pg_execute(pg_url, sql.SQL("DROP TABLE {} CASCADE").format(_pg_table(pg_url, "projects")))
    code, text = run_validate(pg_url, capsys)
    assert code == 1
    assert "missing_layer" in text and "projects" in text
    with pytest.raises(SchemaError, match="layer 'projects'.*is missing"):
        open_atlas(pg_url)


@pytest.mark.requires_postgis
def test_postgis_column_dropped_by_another_client(pg_url, capsys):
    from psycopg import sql

    write_atlas(pg_url, make_layers())
    _pg_execute(pg_url, sql.SQL("ALTER TABLE {} DROP COLUMN land_use CASCADE").format(_pg_table(pg_url, "plots")))
    code, text = run_validate(pg_url, capsys)
    assert code == 1
    assert "missing_column" in text and "land_use" in text and "plots" in text


def _bowtie(frame):
    bowtie = shapely.Polygon([(540_000, 2_330_000), (541_000, 2_331_000), (541_000, 2_330_000), (540_000, 2_331_000)])
    frame.loc[1, "geometry"] = bowtie
    return frame


def _set(frame, row, column, value):
    frame.loc[row, column] = value
    return frame


#: The broken inputs of the GeoPackage tests above, as frames: (layer, break it, what the refusal says).
BROKEN_FRAMES = {
    "duplicate park_id": (Layer.PARKS, lambda f: _set(f, 1, Col.PARK_ID, "N1"), "duplicate key"),
    "unknown land_use": (Layer.PLOTS, lambda f: _set(f, 2, Col.LAND_USE, "thue"), "plots_land_use_enum"),
    "self-intersecting polygon": (Layer.PLOTS, _bowtie, "plots_geometry_valid"),
    "empty geometry": (Layer.PARKS, lambda f: _set(f, 0, "geometry", shapely.Polygon()), "parks_geometry_not_empty"),
    "layer without CRS": (Layer.PARKS, lambda f: f.set_crs(None, allow_override=True), "parks.*has no CRS"),
    "layer in EPSG:4326": (Layer.PLOTS, lambda f: f.to_crs(4326), "plots.*is in EPSG:4326"),
}


@pytest.mark.requires_postgis
@pytest.mark.parametrize("case", list(BROKEN_FRAMES))
def test_postgis_refuses_each_broken_input(pg_url, case):
    """Written without kcn_gis's checks (validate=False), each broken input is still refused; nothing is written."""
    layer, breaks, message = BROKEN_FRAMES[case]
    write_atlas(pg_url, make_layers())
    atlas = open_atlas(pg_url)
    before = atlas_snapshot(pg_url)
    with pytest.raises(SchemaError, match=f"(?s){message}.*Nothing was written"):
        atlas.write({layer: breaks(make_layers()[layer])}, validate=False)
    assert atlas_snapshot(pg_url) == before
    assert open_atlas(pg_url).validate() == []


def test_validate_of_a_large_atlas_loads_the_overlap_search_early_with_the_same_report(tmp_path, capsys, monkeypatch):
    """From 32 MB on, `kcn-gis validate` starts loading the compiled overlap search before reading: same output."""
    import kcn_gis.cli.validate as cli_validate
    from kcn_gis.analytics import checks

    def mutate(ls):
        ls[Layer.PLOTS].loc[1, "geometry"] = shapely.Polygon(
            [(540_000, 2_330_000), (541_000, 2_331_000), (541_000, 2_330_000), (540_000, 2_331_000)]
        )

    path = _broken(tmp_path, mutate)
    small = run_validate(path, capsys)
    started = []
    monkeypatch.setattr(checks, "prepare_overlap_search", lambda: started.append(True))
    monkeypatch.setattr(cli_validate, "_LARGE_ATLAS_BYTES", 1)
    assert run_validate(path, capsys) == small and small[0] == 1
    assert started == [True]
    assert cli_validate._bytes(str(path)) == path.stat().st_size
    (tmp_path / "parts" / "a").mkdir(parents=True)
    (tmp_path / "parts" / "a" / "x.parquet").write_bytes(b"0" * 10)
    (tmp_path / "parts" / "y.json").write_bytes(b"0" * 5)
    assert cli_validate._bytes(str(tmp_path / "parts")) == 15
    assert cli_validate._bytes("postgresql://localhost/atlas") == 0
