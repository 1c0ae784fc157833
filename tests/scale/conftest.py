"""Fixtures for the scale tests: the synthetic generator from ``bench/synth.py``."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

_SYNTH = Path(__file__).resolve().parents[2] / "bench" / "synth.py"


def load_synth() -> ModuleType:
    """Import ``bench/synth.py`` (bench/ is not a package)."""
    if "kcn_bench_synth" in sys.modules:
        return sys.modules["kcn_bench_synth"]
    spec = importlib.util.spec_from_file_location("kcn_bench_synth", _SYNTH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kcn_bench_synth"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def synth() -> ModuleType:
    return load_synth()


@pytest.fixture(scope="session")
def small_layers(synth):
    """A small synthetic province: 3 000 parcels in 5 parks (seed 7)."""
    return synth.generate(3_000, 5, seed=7)


@pytest.fixture(scope="session")
def dask_client():
    """One small in-process Dask cluster for the whole session (2 threads, dashboard on a free port)."""
    pytest.importorskip("dask_geopandas")
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0")
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="session")
def partitioned(small_layers, tmp_path_factory):
    """``small_layers`` written as partitioned GeoParquet (3 parcel parts)."""
    from kcn_gis.store.geoparquet import write_partitioned

    return write_partitioned(small_layers, tmp_path_factory.mktemp("pq") / "atlas.parquet", partitions=3)


def with_corrections(layers: dict, n: int) -> dict:
    """``layers`` with ``n`` corrections added, each voiding a ``handed_over`` event of its own parcel."""
    import pandas as pd

    from kcn_gis.schema import Layer

    out = dict(layers)
    events = out[Layer.CLEARANCE_EVENTS]
    handed = events[events["event"] == "handed_over"].head(n)
    fixes = pd.DataFrame(
        {
            "event_id": pd.array([f"FIX-{i}" for i in range(len(handed))], dtype="str"),
            "parcel_id": handed["parcel_id"].to_numpy(),
            "event": "correction",
            "event_date": pd.Timestamp("2019-01-01"),
            "corrects_event_id": handed["event_id"].to_numpy(),
            "note": "bàn giao ghi nhầm ngày",
            "recorded_at": pd.Timestamp("2019-01-02 08:00"),
            "recorded_by": "kiểm thử",
        }
    )
    out[Layer.CLEARANCE_EVENTS] = pd.concat([events, fixes], ignore_index=True).astype(
        {"event_date": "datetime64[ms]", "recorded_at": "datetime64[ms]"}
    )
    return out
