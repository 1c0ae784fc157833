"""The store on both backends: round trip, dtypes, schema version, atomic writes, transactional appends.

Tests taking ``tiny_atlas``/``atlas_url``/``new_atlas_url``/``backend`` run once on a
GeoPackage and once on PostGIS. "Nothing was written" is checked with
:func:`tests.conftest.atlas_snapshot` (for a GeoPackage it includes the file's
SHA-256, so the GeoPackage is still checked byte for byte). Tests about the
GeoPackage file itself (missing file, suffix, temporary files) take
``tiny_atlas_path``.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
import shapely

import kcn_gis
from kcn_gis import SchemaError, StoreError, open_atlas, write_atlas
from kcn_gis.schema import SCHEMA_VERSION, Col, Layer
from kcn_gis.store.gpkg import META_TABLE
from tests.conftest import atlas_snapshot, make_layers
from tests.postgis.plugin import is_postgis


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pg(location: str):
    """(connection, schema) of a PostGIS atlas URL, for tests that must reach under the store."""
    import psycopg

    from kcn_gis.store.postgis import parse_url

    conninfo, schema, _ = parse_url(location)
    return psycopg.connect(conninfo, autocommit=True), schema


def _stored_meta(location: str) -> dict[str, str]:
    """The atlas metadata table, read directly from the file or the database (not through kcn_gis)."""
    if not is_postgis(location):
        with sqlite3.connect(location) as con:
            return dict(con.execute(f"SELECT key, value FROM {META_TABLE}"))
    from psycopg import sql

    conn, schema = _pg(location)
    with conn:
        return dict(conn.execute(sql.SQL("SELECT key, value FROM {}").format(sql.Identifier(schema, META_TABLE))))


def _set_stored_meta(location: str, key: str, value: str) -> None:
    if not is_postgis(location):
        with sqlite3.connect(location) as con:
            con.execute(f"UPDATE {META_TABLE} SET value = ? WHERE key = ?", (value, key))
        return
    from psycopg import sql

    conn, schema = _pg(location)
    with conn:
        conn.execute(
            sql.SQL("UPDATE {} SET value = %s WHERE key = %s").format(sql.Identifier(schema, META_TABLE)), [value, key]
        )


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


def test_schema_version_is_recorded(atlas_url):
    meta = _stored_meta(atlas_url)
    assert meta["schema_version"] == str(SCHEMA_VERSION)
    assert meta["crs"] == "EPSG:9209"
    assert open_atlas(atlas_url).schema_version == SCHEMA_VERSION


def test_newer_schema_version_is_refused(atlas_url):
    _set_stored_meta(atlas_url, "schema_version", str(SCHEMA_VERSION + 1))
    assert _stored_meta(atlas_url)["schema_version"] == str(SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="newer kcn_gis.*Upgrade"):
        open_atlas(atlas_url)


def test_missing_file_and_wrong_suffix_are_clear(tmp_path):
    with pytest.raises(StoreError, match="does not exist"):
        open_atlas(tmp_path / "nope.gpkg")
    with pytest.raises(StoreError, match="kcn-gis import"):
        open_atlas(tmp_path / "parks.shp")


def test_failed_write_leaves_previous_atlas_intact(atlas_url, monkeypatch):
    """The second of two layers fails to be written: the first is not written either."""
    before = atlas_snapshot(atlas_url)
    atlas = open_atlas(atlas_url)
    calls = {"n": 0}
    if is_postgis(atlas_url):
        from kcn_gis.store import postgis

        real_copy = postgis.PostGISBackend._copy

        def failing_copy(self, cur, target, layer, frame, srid):
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full (simulated)")
            real_copy(self, cur, target, layer, frame, srid)

        monkeypatch.setattr(postgis.PostGISBackend, "_copy", failing_copy)
    else:
        from kcn_gis.store import gpkg_sql

        real = gpkg_sql.geometry_blobs

        def failing(geoms, srs_id):  # the second layer fails inside the one write transaction
            calls["n"] += 1
            if calls["n"] == 2:
                raise OSError("disk full (simulated)")
            return real(geoms, srs_id)

        monkeypatch.setattr(gpkg_sql, "geometry_blobs", failing)
    layers = make_layers()
    parks = layers[Layer.PARKS].assign(**{Col.NAME: ["KCN Đổi Tên", "KCN Khác"]})
    with pytest.raises(OSError, match="simulated"):
        atlas.write({Layer.PARKS: parks, Layer.PLOTS: layers[Layer.PLOTS]})
    assert calls["n"] == 2  # the first layer really was written before the failure
    assert atlas_snapshot(atlas_url) == before
    if not is_postgis(atlas_url):
        path = Path(atlas_url)
        assert sha256(path) == before["file_sha256"]
        assert not list(path.parent.glob(".*.tmp.gpkg"))
    assert open_atlas(atlas_url).parks[Col.NAME].tolist() == ["KCN Bắc Một", "KCN Nam Một"]


_WRITER = textwrap.dedent(
    """
    import sys
    import geopandas as gpd, numpy as np, shapely
    import kcn_gis
    from kcn_gis.schema import Layer
    atlas = kcn_gis.open_atlas(sys.argv[1])
    n = int(sys.argv[2])
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


def _gpkg_writer_is_midway(path: Path) -> bool:
    """The writer's transaction is open inside the GeoPackage and has written more than 1 MB.

    Writes happen in place: an uncommitted transaction shows as SQLite's rollback journal beside
    the file (deleted at commit) while the file grows with the new, uncommitted pages.
    """
    journal = path.with_name(path.name + "-journal")
    try:
        return journal.exists() and journal.stat().st_size > 0 and path.stat().st_size > 1_000_000
    except FileNotFoundError:
        return False


def _pg_writer_is_midway(location: str) -> bool:
    """A COPY into the atlas's plots table is running and has sent more than 10 000 rows (uncommitted)."""
    conn, schema = _pg(location)
    with conn:
        row = conn.execute(
            "SELECT max(tuples_processed) FROM pg_stat_progress_copy WHERE relid = to_regclass(%s)",
            [f'"{schema}".plots'],
        ).fetchone()
    return row is not None and row[0] is not None and row[0] > 10_000


def test_killed_writer_leaves_previous_atlas_intact(atlas_url):
    """Kill a real writer process with SIGKILL while it writes; the old atlas must still open unchanged."""
    before = atlas_snapshot(atlas_url)
    # 400 000 plots make a GeoPackage write last long enough to be caught midway; PostGIS streams the rows
    # to the server in one COPY (seen in pg_stat_progress_copy), where 100 000 are plenty.
    n = 100_000 if is_postgis(atlas_url) else 400_000
    proc = subprocess.Popen([sys.executable, "-c", _WRITER, atlas_url, str(n)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "writing"
        # Wait until the writer is midway: its temporary file is growing (GeoPackage), or its
        # uncommitted COPY has sent rows (PostGIS).
        deadline = time.monotonic() + 60
        midway = False
        while time.monotonic() < deadline and proc.poll() is None:
            midway = (
                _pg_writer_is_midway(atlas_url) if is_postgis(atlas_url) else _gpkg_writer_is_midway(Path(atlas_url))
            )
            if midway:
                break
            time.sleep(0.02)
        assert midway, "the writer was never seen midway through its write"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # Writes are in place: the killed writer left SQLite's hot rollback journal, which the next opening
    # of the atlas rolls back (a user's next command does exactly this).
    open_atlas(atlas_url, validate=False)
    assert atlas_snapshot(atlas_url) == before
    if not is_postgis(atlas_url):
        assert sha256(Path(atlas_url)) == before["file_sha256"]
    atlas = open_atlas(atlas_url)
    assert atlas.plots[Col.PLOT_ID].tolist() == ["P1", "P2", "P3"]


def test_append_is_one_transaction(atlas_url):
    atlas = open_atlas(atlas_url)
    events = atlas.clearance_events
    new = events.copy()
    new[Col.EVENT_ID] = ["E2"]
    new[Col.EVENT] = ["inventoried"]
    new[Col.EVENT_DATE] = [pd.Timestamp("2011-05-01")]
    assert atlas.append(Layer.CLEARANCE_EVENTS, new) == 1
    after = open_atlas(atlas_url).clearance_events
    assert after[Col.EVENT_ID].tolist() == ["E1", "E2"]
    assert after.loc[1, Col.EVENT_DATE] == pd.Timestamp("2011-05-01")
    assert after.loc[1, Col.RECORDED_AT] == pd.Timestamp("2011-03-02 08:00:00")

    # A bad row refuses the whole batch: nothing is appended.
    bad = pd.concat([new.assign(**{Col.EVENT_ID: "E3"}), new.assign(**{Col.EVENT_ID: "E4", Col.EVENT: "finished"})])
    before = atlas_snapshot(atlas_url)
    with pytest.raises(SchemaError, match="(?s)row 2.*event 'finished' is not one of notified"):
        atlas.append(Layer.CLEARANCE_EVENTS, bad)
    assert atlas_snapshot(atlas_url) == before


def test_append_rolls_back_on_database_error(atlas_url):
    atlas = open_atlas(atlas_url)
    before = atlas_snapshot(atlas_url)
    rows = atlas.clearance_events.assign(**{Col.EVENT_ID: "E9"})
    rows = pd.concat([rows, rows.assign(**{Col.RECORDED_BY: object()})], ignore_index=True)  # 2nd row unbindable
    rows[Col.EVENT_ID] = ["E8", "E9"]
    with pytest.raises(Exception):  # noqa: B017 - sqlite3 and psycopg raise their own binding errors
        atlas.backend.append_rows(str(Layer.CLEARANCE_EVENTS), rows)
    assert open_atlas(atlas_url).clearance_events[Col.EVENT_ID].tolist() == ["E1"]
    assert atlas_snapshot(atlas_url) == before


def test_write_atlas_fills_missing_layers(new_atlas_url):
    layers = make_layers()
    atlas = open_atlas(new_atlas_url({Layer.PARKS: layers[Layer.PARKS]}))
    assert atlas.layer_names() == [str(x) for x in Layer]
    assert len(atlas.plots) == 0
    assert atlas.parks[Col.PARK_ID].tolist() == ["N1", "S1"]


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
