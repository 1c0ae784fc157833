"""``kcn-gis db init|status|push|pull``: a GeoPackage -> PostGIS -> GeoPackage round trip preserves everything."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pandas.testing as pdt
import pyogrio
import pytest
import shapely

from kcn_gis import SchemaError, StoreError, open_atlas, write_atlas
from kcn_gis.cli import main
from kcn_gis.schema import OPTIONAL_LAYERS, Col, Layer
from tests.conftest import atlas_snapshot, box, make_layers

pytestmark = pytest.mark.requires_postgis


def _rich_layers() -> dict[str, pd.DataFrame]:
    """The tiny atlas plus what a round trip could lose: user columns, NaN, MultiPolygons, a correction event."""
    layers = make_layers()
    parks = layers[Layer.PARKS]
    parks["ghi_chu_noi_bo"] = ["Ghi chú nội bộ: ưu tiên", None]
    plots = layers[Layer.PLOTS]
    plots["do_cao_m"] = [4.25, np.nan, 1e-300]
    parcels = layers[Layer.PARCELS]
    two = shapely.MultiPolygon([box(5_250, 1_000, 5_500, 1_400), box(5_250, 1_600, 5_500, 2_000)])
    parcels.geometry = gpd.GeoSeries([parcels.geometry.iloc[0], two], crs=parcels.crs)
    parcels[Col.LEGAL_AREA_M2] = [250_000.123456789, 0.1 + 0.2]
    events = layers[Layer.CLEARANCE_EVENTS]
    correction = events.copy()
    correction[Col.EVENT_ID] = ["E2"]
    correction[Col.EVENT] = ["correction"]
    correction[Col.CORRECTS_EVENT_ID] = ["E1"]
    correction[Col.NOTE] = ["nhập nhầm ngày"]
    correction[Col.RECORDED_AT] = [pd.Timestamp("2011-03-05 17:45:12.345")]
    layers[Layer.CLEARANCE_EVENTS] = pd.concat([events, correction], ignore_index=True)
    return layers


def _assert_same_atlas(a: str, b: str) -> None:
    left, right = open_atlas(a), open_atlas(b)
    assert left.layer_names() == right.layer_names() == [str(x) for x in Layer]
    for name in left.layer_names():
        pdt.assert_frame_equal(right.read(name), left.read(name), check_exact=True)
        if name in (Layer.PARKS, Layer.PLOTS, Layer.PARCELS):
            geoms_l, geoms_r = left.read(name).geometry.values, right.read(name).geometry.values
            assert (shapely.to_wkb(geoms_l) == shapely.to_wkb(geoms_r)).all()  # bit for bit, types kept
    assert left.crs == right.crs


def test_push_pull_round_trip_preserves_every_layer(pg_url, tmp_path, capsys):
    src = tmp_path / "source.gpkg"
    back = tmp_path / "back.gpkg"
    write_atlas(src, _rich_layers())
    pyogrio.write_dataframe(pd.DataFrame({"x": [1]}), src, layer="my_notes", driver="GPKG")  # not in the model
    assert main(["db", "push", "--from", str(src), "--to", pg_url]) == 0
    captured = capsys.readouterr()
    assert "my_notes" in captured.err and "not copied" in captured.err
    assert "clearance_events 2" in captured.out
    _assert_same_atlas(str(src), pg_url)
    assert main(["db", "pull", "--from", pg_url, "--to", str(back)]) == 0
    _assert_same_atlas(str(src), str(back))
    got = open_atlas(back)
    assert got.parcels.geometry.iloc[1].geom_type == "MultiPolygon"
    assert got.parcels.geometry.iloc[0].geom_type == "Polygon"
    assert got.parcels[Col.LEGAL_AREA_M2].iloc[1] == 0.1 + 0.2
    assert got.clearance_events[Col.RECORDED_AT].iloc[1] == pd.Timestamp("2011-03-05 17:45:12.345")
    assert got.parks["ghi_chu_noi_bo"].iloc[0] == "Ghi chú nội bộ: ưu tiên"


def test_init_status_then_push(pg_url, tmp_path, capsys):
    assert main(["db", "status", pg_url]) == 1
    assert "no atlas in this schema" in capsys.readouterr().out
    assert main(["db", "init", pg_url]) == 0
    assert "created the atlas schema" in capsys.readouterr().out
    assert main(["db", "init", pg_url]) == 0
    assert "already up to date" in capsys.readouterr().out
    empty = open_atlas(pg_url)
    assert [len(empty.read(n)) for n in empty.layer_names()] == [0] * len(Layer)  # 7 layers + 2 of version 2
    src = tmp_path / "a.gpkg"
    write_atlas(src, make_layers())
    assert main(["db", "push", "--from", str(src), "--to", pg_url]) == 0
    capsys.readouterr()
    assert main(["db", "status", pg_url, "--format", "json"]) == 0
    import json

    st = json.loads(capsys.readouterr().out)
    # the pushed atlas has the two (empty) optional layers of schema version 2 that write_atlas adds
    assert st["layers"] == {
        **{str(k): len(v) for k, v in make_layers().items()},
        **{str(x): 0 for x in OPTIONAL_LAYERS},
    }
    assert st["schema_version"] == st["latest_version"] == 3  # migration 3: the QGIS styles
    assert st["meta"]["crs"] == "EPSG:9209"


def test_push_is_one_transaction(pg_url, tmp_path):
    """A push refused at commit (a plot of an unknown park) leaves the database exactly as it was."""
    good = tmp_path / "good.gpkg"
    write_atlas(good, make_layers())
    assert main(["db", "push", "--from", str(good), "--to", pg_url]) == 0
    before = {n: open_atlas(pg_url).read(n) for n in open_atlas(pg_url).layer_names()}
    snapshot = atlas_snapshot(pg_url)
    bad_layers = make_layers()
    bad_layers[Layer.PARKS] = bad_layers[Layer.PARKS].iloc[[1]].reset_index(drop=True)
    bad_layers[Layer.PARKS].loc[0, Col.NAME] = "Đã đổi tên"
    bad = tmp_path / "bad.gpkg"
    write_atlas(bad, bad_layers)
    from kcn_gis.store import copy_atlas

    with pytest.raises(SchemaError, match="plots_park_id_fkey.*Nothing was written"):
        copy_atlas(bad, pg_url)
    after = open_atlas(pg_url)
    for name, frame in before.items():
        pdt.assert_frame_equal(after.read(name), frame)
    assert atlas_snapshot(pg_url) == snapshot  # not even rewritten with the same values


def test_failed_first_push_creates_nothing(pg_url, tmp_path):
    bad_layers = make_layers()
    bad_layers[Layer.PLOTS].loc[0, Col.PARK_ID] = "KHONG_CO"
    bad = tmp_path / "bad.gpkg"
    write_atlas(bad, bad_layers)
    assert main(["db", "push", "--from", str(bad), "--to", pg_url]) == 2
    with pytest.raises(StoreError, match="holds no kcn_gis atlas"):
        open_atlas(pg_url)


def test_push_cannot_erase_history(pg_url, tmp_path):
    full = tmp_path / "full.gpkg"
    layers = _rich_layers()
    write_atlas(full, layers)
    assert main(["db", "push", "--from", str(full), "--to", pg_url]) == 0
    older = tmp_path / "older.gpkg"
    layers[Layer.CLEARANCE_EVENTS] = layers[Layer.CLEARANCE_EVENTS].iloc[[0]]
    write_atlas(older, layers)
    from kcn_gis.store import copy_atlas

    with pytest.raises(StoreError, match=r"append-only: 1 stored event\(s\) would be deleted \(E2\)"):
        copy_atlas(older, pg_url)
    assert open_atlas(pg_url).clearance_events[Col.EVENT_ID].tolist() == ["E1", "E2"]


def test_bundled_atlas_round_trip(bundled_pair, tmp_path):
    src, pg_url = bundled_pair  # pushed with kcn-gis db push
    back = tmp_path / "back.gpkg"
    assert main(["db", "pull", "--from", pg_url, "--to", str(back)]) == 0
    _assert_same_atlas(str(src), pg_url)
    _assert_same_atlas(str(src), str(back))
