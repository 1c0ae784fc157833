"""Clearance progress part by part in this process's threads: the whole-atlas frame, bit for bit."""

from __future__ import annotations

import json

import pandas as pd
import pytest

import kcn_gis
from kcn_gis.errors import KcnGisError, UnknownNameError
from kcn_gis.schema import Layer

AS_OF = "2020-06-30"


def _whole(path, **kw) -> pd.DataFrame:
    from kcn_gis.clearance import clearance_progress

    atlas = kcn_gis.open_atlas(path)
    return clearance_progress(atlas.clearance_events, atlas.parcels, as_of=AS_OF, parks=atlas.parks, **kw)


@pytest.mark.parametrize("threads", [1, 2])
def test_parts_give_the_whole_atlas_frame_exactly(partitioned, small_layers, threads):
    from kcn_gis.dask_engine import clearance_progress_parts

    want = _whole(partitioned)
    got = clearance_progress_parts(partitioned, as_of=AS_OF, threads=threads)
    assert want["handed_over_ha"].sum() > 0 and len(want) == 5
    pd.testing.assert_frame_equal(got, want, check_exact=True)
    # and the frames that were written, computed in memory: the same parks and counts
    from kcn_gis.clearance import clearance_progress

    mem = clearance_progress(small_layers[Layer.CLEARANCE_EVENTS], small_layers[Layer.PARCELS], as_of=AS_OF)
    assert got["parcels_total"].tolist() == mem["parcels_total"].tolist()
    assert got["area_total_ha"].to_numpy() == pytest.approx(mem["area_total_ha"].to_numpy(), abs=1e-9)


def test_parts_resolve_parks_and_refuse_unknown_ones(partitioned):
    from kcn_gis.dask_engine import clearance_progress_parts

    parks = ["KCN003", "kcn001"]
    got = clearance_progress_parts(partitioned, as_of=AS_OF, park=parks)
    assert got["park_id"].tolist() == ["KCN003", "KCN001"]
    pd.testing.assert_frame_equal(got, _whole(partitioned, park=parks), check_exact=True)
    with pytest.raises(UnknownNameError, match="NO-SUCH-PARK"):
        clearance_progress_parts(partitioned, as_of=AS_OF, park=["NO-SUCH-PARK"])


def test_parts_count_corrections(small_layers, tmp_path):
    from kcn_gis.dask_engine import clearance_progress_parts
    from kcn_gis.store.geoparquet import write_partitioned
    from tests.scale.conftest import with_corrections

    layers = with_corrections(small_layers, 25)
    out = write_partitioned(layers, tmp_path / "fixed.parquet", partitions=3)
    got = clearance_progress_parts(out, as_of=AS_OF)
    pd.testing.assert_frame_equal(got, _whole(out), check_exact=True)
    plain = clearance_progress_parts(write_partitioned(small_layers, tmp_path / "p.parquet", partitions=3), as_of=AS_OF)
    assert got["handed_over_parcels"].sum() == plain["handed_over_parcels"].sum() - 25


def test_not_copartitioned_is_refused_with_what_to_do(small_layers, tmp_path):
    from kcn_gis.dask_engine import clearance_progress_parts, copartitioned
    from kcn_gis.store.geoparquet import write_partitioned

    layers = dict(small_layers)
    events = layers.pop(Layer.CLEARANCE_EVENTS)
    out = write_partitioned(layers, tmp_path / "x.parquet", partitions=3)
    (out / str(Layer.CLEARANCE_EVENTS)).mkdir()
    events.to_parquet(out / str(Layer.CLEARANCE_EVENTS) / "part.00000.parquet", index=False)
    assert not copartitioned(out) and not copartitioned(tmp_path / "nothing-here")
    with pytest.raises(KcnGisError, match=r"not co-partitioned.*open_atlas"):
        clearance_progress_parts(out, as_of=AS_OF)


def test_cli_progress_on_a_partitioned_atlas_uses_the_parts_and_prints_the_same(partitioned, tmp_path, monkeypatch):
    from kcn_gis import dask_engine
    from kcn_gis.cli import main

    calls = []
    real = dask_engine.clearance_progress_parts
    monkeypatch.setattr(dask_engine, "clearance_progress_parts", lambda *a, **k: calls.append(a) or real(*a, **k))
    out = tmp_path / "p.json"
    assert (
        main(
            [
                "clearance",
                "progress",
                "--atlas",
                str(partitioned),
                "--as-of",
                AS_OF,
                "--format",
                "json",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert calls, "the CLI did not take the per-part path"
    rows = json.loads(out.read_text(encoding="utf-8"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    want = _whole(partitioned)
    assert [r["park_id"] for r in rows] == want["park_id"].tolist()
    assert [r["handed_over_ha"] for r in rows] == pytest.approx(want["handed_over_ha"].tolist(), rel=0, abs=1e-12)


def test_parts_show_a_bar_on_a_terminal_only_on_stderr(partitioned, monkeypatch, capsys):
    from kcn_gis import progress as kcn_progress
    from kcn_gis.dask_engine import clearance_progress_parts

    quiet = clearance_progress_parts(partitioned, as_of=AS_OF)
    capsys.readouterr()
    monkeypatch.setattr(kcn_progress, "enabled", lambda: True)
    monkeypatch.setattr(kcn_progress, "DELAY_S", 0.0)
    shown = clearance_progress_parts(partitioned, as_of=AS_OF)
    out = capsys.readouterr()
    pd.testing.assert_frame_equal(shown, quiet, check_exact=True)
    assert out.out == ""
    assert "clearance progress, parts" in out.err and "/3 " in out.err  # three parts
