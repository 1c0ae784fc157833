"""The in-memory atlas: same API as a stored atlas, nothing written; geometry files beside a scenario; drop_park."""

from __future__ import annotations

import textwrap

import geopandas as gpd
import pytest

from kcn_gis.errors import ScenarioError, SchemaError
from kcn_gis.scenario import apply_scenario, load_scenario
from kcn_gis.schema import Layer
from kcn_gis.store.memory import memory_atlas
from tests.conftest import CRS, atlas_snapshot, box, make_layers


def test_memory_atlas_reads_filters_validates_and_keeps_writes_in_memory(tmp_path):
    layers = make_layers()
    atlas = memory_atlas(layers, location="memory:test", crs=CRS)
    assert atlas.location == "memory:test" and atlas.crs.to_epsg() == 9209
    assert list(atlas.parks.park_id) == ["N1", "S1"]
    north = atlas.read(Layer.PARKS, bbox=(540_000, 2_335_000, 550_000, 2_340_000))
    assert list(north.park_id) == ["N1"]
    assert list(atlas.read(Layer.PLOTS, filters={"park_id": "N1", "land_use": "green"}).plot_id) == ["P3"]
    assert [p for p in atlas.validate() if p.severity == "error"] == []
    parks = atlas.parks.copy()
    parks.loc[0, "status"] = "preparing"
    atlas.write({Layer.PARKS: parks})
    assert list(atlas.parks.status) == ["preparing", "preparing"]
    assert list(tmp_path.iterdir()) == []
    bad = make_layers()
    bad[Layer.PARKS].loc[0, "status"] = "open"
    with pytest.raises(SchemaError, match="status"):
        memory_atlas(bad, location="memory:bad", crs=CRS).read(Layer.PARKS)


def test_boundary_from_a_geojson_beside_the_scenario(tmp_path, hand_atlas):
    gpd.GeoDataFrame({"park_id": ["C"]}, geometry=[box(5_000, 1_000, 6_000, 2_000)], crs=CRS).to_file(
        tmp_path / "parks.geojson"
    )
    gpd.GeoDataFrame({"park_id": ["C"]}, geometry=[box(5_000, 1_000, 6_000, 2_000)], crs=CRS).to_crs(4326).to_file(
        tmp_path / "wgs84.geojson"
    )
    body = """
        name: file
        changes:
          - add_park:
              park_id: C
              name: KCN C
              district: Lương Tài
              boundary: {{file: {file}, id: C}}
              status: {{operating: 2013-01-01}}
        """
    (tmp_path / "ok.yaml").write_text(textwrap.dedent(body.format(file="parks.geojson")), encoding="utf-8")
    atlas = apply_scenario(hand_atlas, load_scenario(tmp_path / "ok.yaml"), as_of="2013-12-31")
    assert atlas.parks.set_index("park_id").geometry["C"].area == pytest.approx(1_000_000.0)
    (tmp_path / "bad.yaml").write_text(textwrap.dedent(body.format(file="wgs84.geojson")), encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"change 1 \(add_park C\) field 'boundary.file'.*nothing is reprojected"):
        load_scenario(tmp_path / "bad.yaml")


def test_drop_park_removes_its_plots_parcels_and_their_events(tiny_atlas_path):
    from kcn_gis import open_atlas

    atlas = open_atlas(tiny_atlas_path)
    before = atlas_snapshot(tiny_atlas_path)
    out = apply_scenario(atlas, {"name": "no S1", "changes": [{"drop_park": {"park_id": "S1"}}]})
    assert list(out.parks.park_id) == ["N1"]
    assert len(out.parcels) == 0 and len(out.clearance_events) == 0
    assert len(out.plots[out.plots.land_use == "green"]) == 1
    assert [p for p in out.validate() if p.severity == "error"] == []
    assert atlas_snapshot(tiny_atlas_path) == before
