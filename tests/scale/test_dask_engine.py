"""The Dask engine gives the in-memory engine's results to 1e-6 ha."""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis.schema import Layer

pytest.importorskip("dask_geopandas")

AS_OF = "2020-06-30"
TOL_HA = 1e-6


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a.columns) == list(b.columns)
    assert len(a) == len(b) and len(a) > 0
    pd.testing.assert_frame_equal(a, b, check_exact=False, atol=TOL_HA, rtol=0)


@pytest.mark.parametrize("by", ["park", "district", "province", "bank"])
def test_fill_rates(small_layers, partitioned, dask_client, by):
    from kcn_gis.analytics import fill_rates, split_banks
    from kcn_gis.dask_engine import fill_rates_dask

    banks = split_banks(small_layers[Layer.PROVINCE], small_layers[Layer.RIVERS]) if by == "bank" else None
    want = fill_rates(
        small_layers[Layer.PLOTS], small_layers[Layer.PARKS], as_of=AS_OF, by=by, banks=banks, parks_included="all"
    )
    got = fill_rates_dask(partitioned, as_of=AS_OF, by=by, parks_included="all", scheduler=dask_client)
    assert want["planned_ha"].sum() > 0
    _same(got, want)


def test_river_balance(small_layers, partitioned, dask_client):
    from kcn_gis.analytics import river_balance
    from kcn_gis.dask_engine import river_balance_dask

    lay = small_layers
    want = river_balance(
        lay[Layer.PROVINCE], lay[Layer.RIVERS], lay[Layer.PARKS], lay[Layer.PLOTS], lay[Layer.PROJECTS], as_of=AS_OF
    )
    got = river_balance_dask(partitioned, as_of=AS_OF, scheduler=dask_client)
    assert want["leased_ha"].sum() > 0
    _same(got, want)


def test_clearance_progress(small_layers, partitioned, dask_client):
    from kcn_gis.clearance import clearance_progress
    from kcn_gis.dask_engine import clearance_progress_dask

    want = clearance_progress(small_layers[Layer.CLEARANCE_EVENTS], small_layers[Layer.PARCELS], as_of=AS_OF)
    got = clearance_progress_dask(partitioned, as_of=AS_OF, scheduler=dask_client)
    assert want["handed_over_ha"].sum() > 0
    _same(got, want)


def test_clearance_progress_selected_parks(small_layers, partitioned, dask_client):
    from kcn_gis.clearance import clearance_progress
    from kcn_gis.dask_engine import clearance_progress_dask

    parks = ["KCN003", "kcn001"]  # park ids match without case, in both engines
    want = clearance_progress(
        small_layers[Layer.CLEARANCE_EVENTS], small_layers[Layer.PARCELS], as_of=AS_OF, park=parks
    )
    got = clearance_progress_dask(partitioned, as_of=AS_OF, park=parks, scheduler=dask_client)
    assert got["park_id"].tolist() == want["park_id"].tolist() == ["KCN003", "KCN001"]
    _same(got, want)
    from kcn_gis.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="NO-SUCH-PARK"):
        clearance_progress_dask(partitioned, as_of=AS_OF, park=["NO-SUCH-PARK"], scheduler=dask_client)


def test_clearance_progress_without_copartitioning(synth, small_layers, tmp_path, dask_client):
    """Events in one part (not aligned with the parcel parts) are shuffled on parcel_id first."""
    from kcn_gis.clearance import clearance_progress
    from kcn_gis.dask_engine import clearance_progress_dask
    from kcn_gis.store.geoparquet import read_manifest, write_manifest, write_partitioned

    layers = dict(small_layers)
    events = layers.pop(Layer.CLEARANCE_EVENTS)
    out = write_partitioned(layers, tmp_path / "x.parquet", partitions=3)
    (out / str(Layer.CLEARANCE_EVENTS)).mkdir()
    events.to_parquet(out / str(Layer.CLEARANCE_EVENTS) / "part.00000.parquet", index=False)
    manifest = read_manifest(out)
    assert manifest["copartitioned"] == {}
    write_manifest(out, manifest)
    want = clearance_progress(events, small_layers[Layer.PARCELS], as_of=AS_OF)
    got = clearance_progress_dask(out, as_of=AS_OF, scheduler=dask_client)
    _same(got, want)


def test_synth_parquet_directory_is_engine_input(synth, tmp_path, dask_client):
    """bench/synth.py --out DIR.parquet writes whole parks per part, events with their parcels."""
    from kcn_gis.analytics import fill_rates
    from kcn_gis.clearance import clearance_progress
    from kcn_gis.dask_engine import clearance_progress_dask, fill_rates_dask

    out = synth.write_parquet_dir(tmp_path / "s.parquet", 1_500, 4, seed=9, chunk_parcels=400)
    layers = synth.generate(1_500, 4, seed=9)
    _same(
        fill_rates_dask(out, as_of=AS_OF, scheduler=dask_client),
        fill_rates(layers[Layer.PLOTS], layers[Layer.PARKS], as_of=AS_OF),
    )
    _same(
        clearance_progress_dask(out, as_of=AS_OF, scheduler=dask_client),
        clearance_progress(layers[Layer.CLEARANCE_EVENTS], layers[Layer.PARCELS], as_of=AS_OF),
    )


def test_not_a_partitioned_atlas(tmp_path):
    from kcn_gis.dask_engine import fill_rates_dask
    from kcn_gis.errors import StoreError

    with pytest.raises(StoreError, match="not a partitioned GeoParquet atlas"):
        fill_rates_dask(tmp_path, scheduler="threads")


def test_unknown_scheduler(partitioned):
    from kcn_gis.dask_engine import fill_rates_dask
    from kcn_gis.errors import KcnGisError

    with pytest.raises(KcnGisError, match="scheduler='nonsense'"):
        fill_rates_dask(partitioned, scheduler="nonsense")


def test_progress_on_a_terminal_goes_to_stderr_and_leaves_results_alone(partitioned, dask_client, monkeypatch, capsys):
    """With progress enabled (a terminal, no --quiet) the cluster's work is shown on stderr only."""
    from kcn_gis import progress as kcn_progress
    from kcn_gis.dask_engine import clearance_progress_dask

    quiet = clearance_progress_dask(partitioned, as_of=AS_OF, scheduler=dask_client)
    capsys.readouterr()
    monkeypatch.setattr(kcn_progress, "enabled", lambda: True)
    shown = clearance_progress_dask(partitioned, as_of=AS_OF, scheduler=dask_client)
    out = capsys.readouterr()
    pd.testing.assert_frame_equal(shown, quiet)
    assert out.out == ""  # stdout stays clean for piped tables
    assert "clearance progress: http" in out.err  # the dashboard link of the cluster


def test_clearance_progress_counts_corrections_in_each_part(small_layers, tmp_path, dask_client):
    """A correction voids the event it names: the per-part reader keeps ``corrects_event_id``."""
    from kcn_gis.clearance import clearance_progress
    from kcn_gis.dask_engine import clearance_progress_dask
    from kcn_gis.store.geoparquet import write_partitioned
    from tests.scale.conftest import with_corrections

    layers = with_corrections(small_layers, 40)
    events = small_layers[Layer.CLEARANCE_EVENTS]
    out = write_partitioned(layers, tmp_path / "fixed.parquet", partitions=3)
    want = clearance_progress(layers[Layer.CLEARANCE_EVENTS], small_layers[Layer.PARCELS], as_of=AS_OF)
    before = clearance_progress(events, small_layers[Layer.PARCELS], as_of=AS_OF)
    assert want["handed_over_parcels"].sum() == before["handed_over_parcels"].sum() - 40
    got = clearance_progress_dask(out, as_of=AS_OF, scheduler=dask_client)
    _same(got, want)
