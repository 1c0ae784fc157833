"""The synthetic province generator: determinism, exact counts and a valid data model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.ops import split

from kcn_gis import open_atlas, write_atlas
from kcn_gis.schema import ATLAS_LAYERS, OPTIONAL_LAYERS, STAGES, Col, Layer


def test_all_layers_with_model_columns(small_layers):
    # the synthetic province has the seven mandatory layers; the optional ones (schema version 2) read as empty
    assert list(small_layers) == [x for x in ATLAS_LAYERS if x not in OPTIONAL_LAYERS]
    for layer, frame in small_layers.items():
        required = set(ATLAS_LAYERS[layer].required)
        assert required <= set(frame.columns), layer
        if ATLAS_LAYERS[layer].geometry is not None:
            assert frame.crs.to_epsg() == 9209


def test_exact_counts_and_unique_ids(small_layers):
    parcels = small_layers[Layer.PARCELS]
    assert len(parcels) == 3_000
    assert len(small_layers[Layer.PARKS]) == 5
    for layer, key in [
        (Layer.PARCELS, Col.PARCEL_ID),
        (Layer.PLOTS, Col.PLOT_ID),
        (Layer.PARKS, Col.PARK_ID),
        (Layer.CLEARANCE_EVENTS, Col.EVENT_ID),
        (Layer.PROJECTS, Col.PROJECT_ID),
    ]:
        assert small_layers[layer][key].is_unique, layer
    # commune + map sheet + parcel number identifies a parcel within a park
    assert not parcels.duplicated([Col.PARK_ID, Col.MAP_SHEET, Col.PARCEL_NO]).any()


@pytest.mark.parametrize("seed", [0, 3])
def test_deterministic_for_a_seed(synth, seed):
    a = synth.generate(500, 3, seed=seed)
    b = synth.generate(500, 3, seed=seed)
    for layer in a:
        pd.testing.assert_frame_equal(pd.DataFrame(a[layer]), pd.DataFrame(b[layer]))


def test_other_seed_gives_other_province(synth):
    a = synth.generate(500, 3, seed=0)[Layer.PARCELS]
    b = synth.generate(500, 3, seed=1)[Layer.PARCELS]
    assert not np.allclose(a.area.to_numpy(), b.area.to_numpy())


def test_parcels_are_irregular_and_realistic(small_layers):
    geoms = small_layers[Layer.PARCELS].geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    area = shapely.area(geoms)
    assert 300 < np.median(area) < 1_500  # m², rice-field strips
    assert area.std() / area.mean() > 0.2  # not all the same size
    # not axis-aligned rectangles: the envelope is clearly larger than the parcel
    assert np.median(area / shapely.area(shapely.envelope(geoms))) < 0.95
    n_vertices = shapely.get_num_coordinates(geoms)
    assert set(np.unique(n_vertices)) == {5, 7}  # quadrilaterals and merged hexagons


def test_parcels_and_plots_tile_their_parks(small_layers):
    parks = small_layers[Layer.PARKS].set_index(Col.PARK_ID)
    park_area = parks.area
    parcel_area = small_layers[Layer.PARCELS].assign(a=lambda f: f.area).groupby(Col.PARK_ID)["a"].sum()
    plot_area = small_layers[Layer.PLOTS].assign(a=lambda f: f.area).groupby(Col.PARK_ID)["a"].sum()
    np.testing.assert_allclose(parcel_area[park_area.index], park_area, rtol=1e-9)
    np.testing.assert_allclose(plot_area[park_area.index], park_area, rtol=1e-9)
    plots = small_layers[Layer.PLOTS]
    # plots do not overlap each other
    left, _right = plots.sindex.query(plots.geometry, predicate="overlaps")
    assert left.size == 0


def test_river_splits_the_province_in_two(synth, small_layers):
    province = small_layers[Layer.PROVINCE].geometry.iloc[0]
    rivers = small_layers[Layer.RIVERS]
    duong = rivers.loc[rivers[Col.NAME] == synth.RIVER].geometry.iloc[0]
    pieces = split(province, duong).geoms
    assert len(pieces) == 2
    assert min(p.area for p in pieces) > 0.2 * province.area
    assert small_layers[Layer.PARKS].within(province).all()


def test_dates_are_consistent(synth, small_layers):
    plots = small_layers[Layer.PLOTS]
    leased = plots[Col.LEASED_ON].notna()
    assert leased.any()
    assert (plots.loc[leased, Col.ACQUIRED_ON] <= plots.loc[leased, Col.LEASED_ON]).all()
    ended = plots[Col.LEASE_ENDED_ON].notna()
    assert (plots.loc[ended, Col.LEASED_ON] < plots.loc[ended, Col.LEASE_ENDED_ON]).all()
    assert set(plots.loc[leased, Col.PROJECT_ID]) == set(small_layers[Layer.PROJECTS][Col.PROJECT_ID])
    ev = small_layers[Layer.CLEARANCE_EVENTS]
    assert ev[Col.EVENT_DATE].max() <= pd.Timestamp(str(synth.CAP_DATE))
    assert set(ev[Col.PARCEL_ID]) <= set(small_layers[Layer.PARCELS][Col.PARCEL_ID])
    # stages of a parcel come in order: ranks of the stage events never decrease with date
    rank = {str(s): i for i, s in enumerate(STAGES)}
    st = ev[ev[Col.EVENT].isin(list(rank))].sort_values([Col.PARCEL_ID, Col.EVENT_DATE], kind="stable")
    r = st[Col.EVENT].map(rank)
    assert (r.groupby(st[Col.PARCEL_ID]).diff().dropna() == 1).all()


def test_chunks_concatenate_to_generate(synth):
    whole = synth.generate(2_000, 6, seed=2)
    chunks = list(synth.iter_chunks(2_000, 6, seed=2, chunk_parcels=500))
    assert len(chunks) > 1
    for layer in (Layer.PARCELS, Layer.PLOTS, Layer.CLEARANCE_EVENTS):
        joined = pd.concat([c[layer] for c in chunks], ignore_index=True)
        pd.testing.assert_frame_equal(pd.DataFrame(joined), pd.DataFrame(whole[layer]))


def test_written_atlas_validates_clean(small_layers, tmp_path):
    path = tmp_path / "synth.gpkg"
    write_atlas(path, small_layers)
    atlas = open_atlas(path)
    assert atlas.validate() == []
    assert len(atlas.parcels) == 3_000


def test_cli_writes_gpkg_and_parquet(synth, tmp_path):
    gpkg = tmp_path / "cli.gpkg"
    assert synth.main(["--parcels", "300", "--parks", "2", "--out", str(gpkg), "--seed", "1"]) == 0
    assert open_atlas(gpkg).validate() == []
    pq = tmp_path / "cli.parquet"
    assert synth.main(["--parcels", "300", "--parks", "2", "--out", str(pq), "--chunk-parcels", "100"]) == 0
    import geopandas as gpd

    parcels = gpd.read_parquet(pq / "parcels")
    assert len(parcels) == 300 and parcels.crs.to_epsg() == 9209
    assert len(list((pq / "parcels").glob("part.*.parquet"))) == 2
