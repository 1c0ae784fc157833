"""``kcn-gis validate`` on a valid atlas and on each broken input named in the foundation issue."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from kcn_gis import SchemaError, open_atlas
from kcn_gis.cli import main
from kcn_gis.schema import Col, Layer
from tests.conftest import make_layers


def write_raw(path: Path, layers: dict) -> Path:
    """Write layers with pyogrio directly, bypassing kcn_gis's own checks (to build broken atlases)."""
    for name, frame in layers.items():
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "'crs' was not provided", UserWarning)
            pyogrio.write_dataframe(frame, path, layer=str(name), driver="GPKG")
    return path


def run_validate(path: Path, capsys) -> tuple[int, str]:
    code = main(["validate", "--atlas", str(path)])
    out = capsys.readouterr()
    return code, out.out + out.err


def test_valid_atlas_passes(tiny_atlas_path, capsys):
    code, text = run_validate(tiny_atlas_path, capsys)
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


def test_write_refuses_invalid_frames_and_writes_nothing(tiny_atlas_path):
    atlas = open_atlas(tiny_atlas_path)
    before = tiny_atlas_path.read_bytes()
    plots = atlas.plots.copy()
    plots.loc[0, Col.LAND_USE] = "thue"
    with pytest.raises(SchemaError, match="(?s)refusing to write.*row 1.*land_use 'thue'"):
        atlas.write({Layer.PLOTS: plots})
    assert tiny_atlas_path.read_bytes() == before


def test_geographic_frame_is_not_written(tiny_atlas_path):
    atlas = open_atlas(tiny_atlas_path)
    parks = gpd.GeoDataFrame(atlas.parks).to_crs(4326)
    with pytest.raises(SchemaError, match="EPSG:4326"):
        atlas.write({Layer.PARKS: parks})


def test_decomposed_text_is_a_warning_with_its_row(tmp_path, capsys):
    import unicodedata

    def mutate(ls):
        ls[Layer.PARKS].loc[1, Col.NAME] = unicodedata.normalize("NFD", "KCN Nam Một")

    path = _broken(tmp_path, mutate)
    code, text = run_validate(path, capsys)
    assert code == 0  # a warning does not fail validation
    problems = open_atlas(path, validate=False).validate()
    (p,) = [p for p in problems if p.check == "not_nfc"]
    assert (p.severity, p.layer, p.row, p.field) == ("warning", "parks", 2, "name")
