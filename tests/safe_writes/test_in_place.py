"""Every kind of write happens inside the existing file: same inode, owner and mode, a sound GeoPackage.

On the old store (copy the file, write the copy, ``os.replace`` it) the inode changed on every write,
and a 640 atlas came back 644.
"""

from __future__ import annotations

import os
import stat

import pandas as pd
import pyogrio
import pytest
import shapely

import kcn_gis
from kcn_gis.errors import StoreError
from kcn_gis.schema import Col, Layer
from kcn_gis.store import bundled_atlas_path
from tests.safe_writes.conftest import PARK, assert_valid_geopackage, cli, count, ids, parcel_grid, write_file


def _identity(path):
    st = os.stat(path)
    return st.st_ino, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)


def _event(event_id: str, parcel_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            Col.EVENT_ID: [event_id],
            Col.PARCEL_ID: [parcel_id],
            Col.EVENT: ["notified"],
            Col.EVENT_DATE: [pd.Timestamp("2011-04-01")],
            Col.REFERENCE: ["45/TB-UBND"],
            Col.NOTE: [None],
            Col.RECORDED_AT: [pd.Timestamp("2011-04-02 09:30:00")],
            Col.RECORDED_BY: ["Phòng GPMB"],
            Col.CORRECTS_EVENT_ID: [None],
        }
    )


def test_every_kind_of_write_keeps_inode_owner_and_mode(atlas_file, park_geometry, tmp_path, bundled_counts):
    os.chmod(atlas_file, 0o640)
    before = _identity(atlas_file)
    assert before[3] == 0o640
    n = bundled_counts["parcels"]

    def same(what: str) -> None:
        assert _identity(atlas_file) == before, f"the file was replaced or its mode changed by: {what}"
        assert not list(atlas_file.parent.glob("*.tmp*")), what

    grid = parcel_grid(park_geometry, 30, prefix="A")
    # 1. kcn-gis import, append
    done = cli(
        "import", str(write_file(grid.iloc[:20], tmp_path / "a.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file)
    )
    assert done.returncode == 0, done.stderr
    same("import --mode append")
    assert count(atlas_file, "parcels") == n + 20
    # 2. kcn-gis import, replace the rows of park QV2 (the 20 become these 30)
    done = cli(
        "import", str(write_file(grid, tmp_path / "b.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file),
        "--mode", "replace",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    same("import --mode replace")
    assert count(atlas_file, "parcels") == n + 30
    atlas = kcn_gis.open_atlas(atlas_file)
    # 3. append to the clearance history
    assert atlas.append(Layer.CLEARANCE_EVENTS, _event("SW-E1", "A-000000")) == 1
    same("append clearance_events")
    # 4. edit a plot (optimistic locking, UPDATE in place)
    plot = atlas.plots.iloc[[0]].assign(**{Col.TENANT: "Công ty TNHH Thử Nghiệm"})
    atlas.edit(Layer.PLOTS, plot)
    same("edit plots")
    # 5. a whole-layer write of the projects table
    atlas.write({Layer.PROJECTS: atlas.projects})
    same("write projects")
    assert_valid_geopackage(atlas_file)
    reopened = kcn_gis.open_atlas(atlas_file)
    assert reopened.plots.set_index(Col.PLOT_ID).loc[plot[Col.PLOT_ID].iloc[0], Col.TENANT] == "Công ty TNHH Thử Nghiệm"
    assert "SW-E1" in set(reopened.clearance_events[Col.EVENT_ID])


def test_a_missing_layer_is_added_inside_the_existing_file(tmp_path, park_geometry):
    bundled = kcn_gis.open_atlas()
    path = tmp_path / "parks_only.gpkg"
    kcn_gis.write_atlas(path, {Layer.PARKS: bundled.parks}, fill_missing=False, validate=False)
    os.chmod(path, 0o640)
    before = _identity(path)
    assert set(dict(pyogrio.list_layers(path))) == {"parks", "kcn_gis_meta", "layer_styles"}  # + its QGIS style
    grid = parcel_grid(park_geometry, 25, prefix="N")
    # the parcels layer and the other (empty) layers of the data model are added to the same file
    atlas = kcn_gis.write_atlas(path, {Layer.PARCELS: grid})
    assert _identity(path) == before
    assert len(atlas.parcels) == 25 and len(atlas.parks) == len(bundled.parks)
    assert {str(x) for x in Layer} <= set(dict(pyogrio.list_layers(path)))
    assert_valid_geopackage(path, layers=("parks", "parcels"))


@pytest.mark.parametrize("n", [200, 2000])  # through GDAL's R-tree trigger, and filled in bulk
def test_appended_rows_are_found_through_the_rtree(atlas_file, park_geometry, tmp_path, n):
    grid = parcel_grid(park_geometry, n, prefix="R")
    done = cli("import", str(write_file(grid, tmp_path / "r.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 0, done.stderr
    # a bbox read uses the GeoPackage R-tree: exactly the squares within the box come back
    x0, y0, _x1, y1 = grid.total_bounds
    box = (x0 + 0.5, y0 + 0.5, x0 + 35.5, y1 - 0.5)
    expected = set(grid[grid.intersects(shapely.box(*box))][Col.PARCEL_ID])
    got = pyogrio.read_dataframe(atlas_file, layer="parcels", bbox=box)
    assert set(got[Col.PARCEL_ID]) & set(grid[Col.PARCEL_ID]) == expected
    assert len(expected) > 0
    # the stored geometries are the grid's, to the bit
    stored = pyogrio.read_dataframe(atlas_file, layer="parcels", where=f"park_id = '{PARK}'")
    assert shapely.equals_exact(
        stored.set_index(Col.PARCEL_ID).loc[grid[Col.PARCEL_ID]].geometry.values, grid.geometry.values, tolerance=0
    ).all()
    assert_valid_geopackage(atlas_file)


def test_dates_are_stored_as_gdal_stores_them(atlas_file):
    atlas = kcn_gis.open_atlas(atlas_file)
    atlas.append(Layer.CLEARANCE_EVENTS, _event("SW-D1", atlas.parcels[Col.PARCEL_ID].iloc[0]))
    import sqlite3

    with sqlite3.connect(atlas_file) as con:
        row = con.execute("SELECT event_date, recorded_at FROM clearance_events WHERE event_id = 'SW-D1'").fetchone()
    assert row == ("2011-04-01", "2011-04-02T09:30:00")
    # the validated-on-write marker no longer matches (the layer changed): reads validate again, and pass
    again = kcn_gis.open_atlas(atlas_file)
    assert pd.Timestamp("2011-04-01") in set(again.clearance_events[Col.EVENT_DATE])


def test_read_only_atlas_file_is_refused_before_any_work(atlas_file, park_geometry, tmp_path):
    src = write_file(parcel_grid(park_geometry, 10, prefix="RO"), tmp_path / "ro.gpkg")
    os.chmod(atlas_file, 0o444)
    before = atlas_file.read_bytes()
    done = cli("import", str(src), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 3  # the atlas cannot be written: a runtime failure
    assert "read-only" in done.stderr and str(atlas_file) in done.stderr
    assert "Traceback" not in done.stderr
    assert "feature(s)" not in done.stderr  # refused before the file was even read
    assert atlas_file.read_bytes() == before
    assert stat.S_IMODE(os.stat(atlas_file).st_mode) == 0o444


def test_atlas_in_read_only_folder_is_refused(atlas_file, park_geometry, tmp_path):
    src = write_file(parcel_grid(park_geometry, 10, prefix="RF"), tmp_path / "rf.gpkg")
    folder = atlas_file.parent
    os.chmod(folder, 0o555)
    try:
        done = cli("import", str(src), "--layer", "parcels", "--atlas", str(atlas_file))
        assert done.returncode == 3
        assert "read-only folder" in done.stderr and "Traceback" not in done.stderr
        with pytest.raises(StoreError, match="read-only folder"):
            kcn_gis.open_atlas(atlas_file).append(Layer.CLEARANCE_EVENTS, _event("X", "Y"))
    finally:
        os.chmod(folder, 0o755)


def test_bundled_atlas_is_read_only_for_the_store():
    before = bundled_atlas_path().read_bytes()
    atlas = kcn_gis.open_atlas()
    with pytest.raises(StoreError, match=r"bundled demo atlas, which is read-only. Copy it .* --atlas"):
        atlas.append(Layer.CLEARANCE_EVENTS, _event("SW-B1", atlas.parcels[Col.PARCEL_ID].iloc[0]))
    with pytest.raises(StoreError, match="bundled demo atlas"):
        atlas.write({Layer.PROJECTS: atlas.projects})
    assert bundled_atlas_path().read_bytes() == before


def test_a_multipolygon_goes_into_a_polygon_layer_as_gdal_puts_it(atlas_file):
    """The bundled parks layer is declared POLYGON; GDAL stores a MULTIPOLYGON there as it is, so do we."""
    atlas = kcn_gis.open_atlas(atlas_file)
    parks = atlas.parks
    x0, y0, _, _ = parks.total_bounds
    parts = [shapely.box(x0 - 5000, y0, x0 - 4000, y0 + 1000), shapely.box(x0 - 3000, y0, x0 - 2500, y0 + 1000)]
    new = parks.iloc[[0]].assign(**{Col.PARK_ID: "MP1", Col.NAME: "KCN Hai Mảnh"})
    new = new.set_geometry([shapely.MultiPolygon(parts)])
    assert atlas.append(Layer.PARKS, new) == 1
    stored = kcn_gis.open_atlas(atlas_file).parks.set_index(Col.PARK_ID).loc["MP1"].geometry
    assert stored.geom_type == "MultiPolygon" and stored.area == pytest.approx(1_500_000.0)
    assert_valid_geopackage(atlas_file)


def test_edited_geometry_moves_in_the_rtree(atlas_file):
    atlas = kcn_gis.open_atlas(atlas_file)
    plot = atlas.plots.iloc[[0]]
    old_box = plot.geometry.iloc[0].bounds
    x0, y0, _, _ = atlas.parks.total_bounds
    moved = plot.set_geometry([shapely.box(x0 - 900, y0 - 900, x0 - 800, y0 - 800)])  # 1 ha, away from all
    atlas.edit(Layer.PLOTS, moved)
    pid = plot[Col.PLOT_ID].iloc[0]
    found = pyogrio.read_dataframe(atlas_file, layer="plots", bbox=(x0 - 950, y0 - 950, x0 - 750, y0 - 750))
    assert list(found[Col.PLOT_ID]) == [pid]
    still = pyogrio.read_dataframe(atlas_file, layer="plots", bbox=old_box)
    assert pid not in set(still[Col.PLOT_ID])
    assert_valid_geopackage(atlas_file)


def test_a_bulk_append_block_by_block_stores_every_row_once(atlas_file, park_geometry, monkeypatch):
    """Rows are turned into SQL values a block at a time (bounded memory), all in one transaction."""
    from kcn_gis.store import gpkg

    monkeypatch.setattr(gpkg, "_INSERT_BLOCK_ROWS", 300)  # 2000 rows: 7 blocks, the last one short
    grid = parcel_grid(park_geometry, 2000, prefix="B")
    before = count(atlas_file, "parcels")
    kcn_gis.open_atlas(atlas_file).append(Layer.PARCELS, grid)
    assert count(atlas_file, "parcels") == before + 2000
    assert ids(atlas_file, "parcels", Col.PARCEL_ID) >= set(grid[Col.PARCEL_ID])
    stored = pyogrio.read_dataframe(atlas_file, layer="parcels", where="parcel_id LIKE 'B%'")
    assert shapely.equals_exact(
        stored.set_index(Col.PARCEL_ID).loc[grid[Col.PARCEL_ID]].geometry.values, grid.geometry.values, tolerance=0
    ).all()
    assert_valid_geopackage(atlas_file)
