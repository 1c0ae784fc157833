"""The GeoPackage store: round trip, dtypes, schema version, atomic writes, transactional appends."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pandas as pd
import pytest
import shapely

import kcn_gis
from kcn_gis import SchemaError, StoreError, open_atlas, write_atlas
from kcn_gis.schema import SCHEMA_VERSION, Col, Layer
from kcn_gis.store.gpkg import META_TABLE
from tests.conftest import make_layers


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_round_trip_keeps_values_and_types(tiny_atlas):
    src = make_layers()
    plots = tiny_atlas.plots
    assert list(plots[Col.PLOT_ID]) == ["P1", "P2", "P3"]
    assert plots[Col.ACQUIRED_ON].dtype == "datetime64[ms]"
    assert plots.loc[0, Col.LEASED_ON] == pd.Timestamp("2006-06-01")
    assert pd.isna(plots.loc[1, Col.LEASED_ON])
    assert plots.loc[0, Col.TENANT] == 'O\'Brien & "Sons"'
    assert tiny_atlas.parks[Col.DETAIL_PLAN_APPROVED].tolist() == [True, False]
    assert str(tiny_atlas.projects[Col.WORKERS].dtype) == "Int64"
    assert tiny_atlas.clearance_events.loc[0, Col.RECORDED_AT] == pd.Timestamp("2011-03-02 08:00:00")
    # Geometry comes back exactly; areas are computed (100 ha and 50 ha), never stored.
    assert tiny_atlas.parks.area.round(6).tolist() == [1_000_000.0, 500_000.0]
    assert shapely.equals(tiny_atlas.plots.geometry.values, src[Layer.PLOTS].geometry.values).all()
    assert tiny_atlas.crs.to_epsg() == 9209


def test_schema_version_is_recorded(tiny_atlas_path):
    with sqlite3.connect(tiny_atlas_path) as con:
        meta = dict(con.execute(f"SELECT key, value FROM {META_TABLE}"))
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["crs"] == "EPSG:9209"
    assert open_atlas(tiny_atlas_path).schema_version == SCHEMA_VERSION


def test_newer_schema_version_is_refused(tiny_atlas_path):
    with sqlite3.connect(tiny_atlas_path) as con:
        con.execute(f"UPDATE {META_TABLE} SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(StoreError, match="newer kcn_gis.*Upgrade"):
        open_atlas(tiny_atlas_path)


def test_missing_file_and_wrong_suffix_are_clear(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_atlas(tmp_path / "nope.gpkg")
    with pytest.raises(StoreError, match="kcn-gis import"):
        open_atlas(tmp_path / "parks.shp")


def test_failed_write_leaves_previous_atlas_intact(tiny_atlas_path, monkeypatch):
    from kcn_gis.store import gpkg

    before = sha256(tiny_atlas_path)
    atlas = open_atlas(tiny_atlas_path)
    calls = {"n": 0}
    real = gpkg.GeoPackageBackend._write_one

    def failing(target, name, frame):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full (simulated)")
        real(target, name, frame)

    monkeypatch.setattr(gpkg.GeoPackageBackend, "_write_one", staticmethod(failing))
    layers = make_layers()
    with pytest.raises(OSError, match="simulated"):
        atlas.write({Layer.PARKS: layers[Layer.PARKS], Layer.PLOTS: layers[Layer.PLOTS]})
    assert sha256(tiny_atlas_path) == before
    assert not list(tiny_atlas_path.parent.glob(".*.tmp.gpkg"))


_WRITER = textwrap.dedent(
    """
    import sys
    import geopandas as gpd, numpy as np, shapely
    import kcn_gis
    from kcn_gis.schema import Layer
    atlas = kcn_gis.open_atlas(sys.argv[1])
    n = 400_000
    x = np.arange(n) % 1000 * 5.0 + 540_000
    y = np.arange(n) // 1000 * 5.0 + 2_330_000
    plots = gpd.GeoDataFrame({
        "plot_id": [f"X{i}" for i in range(n)], "park_id": "N1", "land_use": "industrial",
        "acquired_on": None, "leased_on": None, "lease_ended_on": None, "tenant": None, "project_id": None,
    }, geometry=shapely.box(x, y, x + 4, y + 4), crs="EPSG:9209")
    print("writing", flush=True)
    atlas.write({Layer.PLOTS: plots}, validate=False)
    print("done", flush=True)
    """
)


def test_killed_writer_leaves_previous_atlas_intact(tiny_atlas_path):
    """Kill a real writer process with SIGKILL while it writes; the old atlas must still open unchanged."""
    before = sha256(tiny_atlas_path)
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, str(tiny_atlas_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        # Wait until the temporary file exists and is growing: the writer is midway.
        deadline = time.monotonic() + 60
        tmp = []
        while time.monotonic() < deadline:
            tmp = list(tiny_atlas_path.parent.glob(".tiny.*.tmp.gpkg"))
            if tmp and tmp[0].stat().st_size > tiny_atlas_path.stat().st_size + 1_000_000:
                break
            time.sleep(0.02)
        assert tmp, "the writer never started writing its temporary file"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert sha256(tiny_atlas_path) == before
    atlas = open_atlas(tiny_atlas_path)
    assert atlas.plots[Col.PLOT_ID].tolist() == ["P1", "P2", "P3"]


def test_append_is_one_transaction(tiny_atlas_path):
    atlas = open_atlas(tiny_atlas_path)
    events = atlas.clearance_events
    new = events.copy()
    new[Col.EVENT_ID] = ["E2"]
    new[Col.EVENT] = ["inventoried"]
    new[Col.EVENT_DATE] = [pd.Timestamp("2011-05-01")]
    assert atlas.append(Layer.CLEARANCE_EVENTS, new) == 1
    after = open_atlas(tiny_atlas_path).clearance_events
    assert after[Col.EVENT_ID].tolist() == ["E1", "E2"]
    assert after.loc[1, Col.EVENT_DATE] == pd.Timestamp("2011-05-01")
    assert after.loc[1, Col.RECORDED_AT] == pd.Timestamp("2011-03-02 08:00:00")

    # A bad row refuses the whole batch: nothing is appended.
    bad = pd.concat([new.assign(**{Col.EVENT_ID: "E3"}), new.assign(**{Col.EVENT_ID: "E4", Col.EVENT: "finished"})])
    before = sha256(tiny_atlas_path)
    with pytest.raises(SchemaError, match="(?s)row 2.*event 'finished' is not one of notified"):
        atlas.append(Layer.CLEARANCE_EVENTS, bad)
    assert sha256(tiny_atlas_path) == before


def test_append_rolls_back_on_database_error(tiny_atlas_path, monkeypatch):
    atlas = open_atlas(tiny_atlas_path)
    rows = atlas.clearance_events.assign(**{Col.EVENT_ID: "E9"})
    rows = pd.concat([rows, rows.assign(**{Col.RECORDED_BY: object()})], ignore_index=True)  # 2nd row unbindable
    rows[Col.EVENT_ID] = ["E8", "E9"]
    with pytest.raises(Exception):  # noqa: B017 - sqlite3 raises its own binding error
        atlas.backend.append_rows(str(Layer.CLEARANCE_EVENTS), rows)
    assert open_atlas(tiny_atlas_path).clearance_events[Col.EVENT_ID].tolist() == ["E1"]


def test_write_atlas_fills_missing_layers(tmp_path):
    layers = make_layers()
    path = tmp_path / "partial.gpkg"
    atlas = write_atlas(path, {Layer.PARKS: layers[Layer.PARKS]})
    assert atlas.layer_names() == [str(x) for x in Layer]
    assert len(atlas.plots) == 0


def test_public_api_is_sorted_and_resolves():
    assert kcn_gis.__all__ == sorted(kcn_gis.__all__)
    for name in kcn_gis.__all__:
        assert getattr(kcn_gis, name) is not None


def test_layers_validated_on_write_are_not_rechecked_until_edited(tiny_atlas_path, monkeypatch):
    """A layer kcn_gis validated when writing it is trusted on read, until another tool edits it."""
    import pyogrio

    from kcn_gis.store import base

    calls: list[str] = []
    real = base.check_layer

    def counting(layer_spec, frame, **kw):
        calls.append(str(layer_spec.name))
        return real(layer_spec, frame, **kw)

    monkeypatch.setattr(base, "check_layer", counting)
    atlas = open_atlas(tiny_atlas_path)
    atlas.plots  # noqa: B018 - the read is the point
    assert "plots" not in calls

    # Another tool (GDAL) rewrites the layer with a bad value: the stamp changes, the read checks again.
    bad = make_layers()[Layer.PLOTS]
    bad.loc[0, Col.LAND_USE] = "thue"
    pyogrio.write_dataframe(bad, tiny_atlas_path, layer="plots", driver="GPKG", layer_options={"OVERWRITE": "YES"})
    with pytest.raises(SchemaError, match="land_use 'thue'"):
        open_atlas(tiny_atlas_path).plots  # noqa: B018
    assert "plots" in calls


def test_layers_written_without_validation_are_checked_on_read(tmp_path):
    layers = make_layers()
    layers[Layer.PLOTS].loc[0, Col.LAND_USE] = "thue"
    path = tmp_path / "unchecked.gpkg"
    write_atlas(path, layers, validate=False)
    with pytest.raises(SchemaError, match="land_use 'thue'"):
        open_atlas(path).plots  # noqa: B018
