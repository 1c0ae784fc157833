"""``--engine dask`` on the CLI gives the in-memory answers, from a GeoParquet atlas written by ``kcn-gis export``."""

from __future__ import annotations

import json

import pytest

from kcn_gis import write_atlas
from kcn_gis.cli import main

pytest.importorskip("dask_geopandas")

AS_OF = "2020-06-30"


@pytest.fixture(scope="module")
def atlases(small_layers, tmp_path_factory):
    root = tmp_path_factory.mktemp("cli_dask")
    gpkg = root / "atlas.gpkg"
    write_atlas(gpkg, small_layers)
    pq = root / "atlas.parquet"
    assert main(["export", "--atlas", str(gpkg), "--to", "geoparquet", "--partitions", "3", "--out", str(pq)]) == 0
    return gpkg, pq


def _json(capsys, *argv: str) -> list[dict]:
    capsys.readouterr()
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    "command",
    [
        ("fill-rates", "--by", "park", "--all-parks"),
        ("fill-rates", "--by", "bank"),
        ("balance",),
        ("clearance", "progress"),
    ],
)
def test_dask_engine_matches_memory(atlases, dask_client, capsys, command):
    gpkg, pq = atlases
    common = ("--as-of", AS_OF, "--format", "json")
    memory = _json(capsys, *command, "--atlas", str(gpkg), *common)
    dask = _json(
        capsys, *command, "--atlas", str(pq), *common, "--engine", "dask", "--scheduler", dask_client.scheduler.address
    )
    assert len(memory) == len(dask) > 0
    for m, d in zip(memory, dask, strict=True):
        assert m.keys() == d.keys()
        for key, value in m.items():
            if isinstance(value, float):
                assert d[key] == pytest.approx(value, abs=1e-6), key
            elif key == "by_stage":
                assert value.keys() == d[key].keys()
                for stage, numbers in value.items():
                    assert d[key][stage]["parcels"] == numbers["parcels"], stage
                    assert d[key][stage]["area_ha"] == pytest.approx(numbers["area_ha"], abs=1e-6), stage
            else:
                assert d[key] == value, key


def test_dask_engine_needs_a_parquet_atlas(capsys):
    assert main(["fill-rates", "--engine", "dask"]) == 2
    assert "needs --atlas DIR" in capsys.readouterr().err
