"""An R-tree filled in bulk (:mod:`kcn_gis.store.gpkg_rtree`) is a tree SQLite, GDAL and later edits accept.

A large write packs the whole tree in SQLite's storage format instead of inserting entry by
entry. These tests check it as the programs that read it do: SQLite's own ``rtreecheck()``,
GDAL's bbox reads (which go through the tree), and SQLite's own code editing the tree
afterwards. Every expected answer is computed from the geometries by brute force.
"""

from __future__ import annotations

import contextlib
import sqlite3

import numpy as np
import pyogrio
import pytest
import shapely

from kcn_gis.schema import Col
from kcn_gis.store import gpkg_rtree
from tests.safe_writes.conftest import assert_valid_geopackage, cli, parcel_grid, write_file

TREE = "rtree_parcels_geom"


def _tree(path) -> np.ndarray:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return np.array(con.execute(f"SELECT id, minx, maxx, miny, maxy FROM {TREE} ORDER BY id").fetchall())


def _depth(path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return int.from_bytes(con.execute(f"SELECT data FROM {TREE}_node WHERE nodeno = 1").fetchone()[0][:2], "big")


def _bbox_reads_match(path, rng, n_boxes: int = 12) -> None:
    stored = pyogrio.read_dataframe(path, layer="parcels")
    x0, y0, x1, y1 = stored.total_bounds
    for _ in range(n_boxes):
        cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
        w, h = rng.uniform(5, 3000, size=2)
        box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
        expected = set(stored[stored.intersects(shapely.box(*box))][Col.PARCEL_ID])
        got = set(pyogrio.read_dataframe(path, layer="parcels", bbox=box)[Col.PARCEL_ID])
        assert got == expected, f"bbox {box}: {len(got)} parcels through the R-tree, {len(expected)} by brute force"


def test_a_bulk_write_rebuilds_a_tree_holding_every_box_old_and_new(atlas_file, park_geometry, tmp_path):
    before = _tree(atlas_file)
    assert _depth(atlas_file) >= 1 and len(before) > 6000  # the bundled atlas: its own tree, built by GDAL
    grid = parcel_grid(park_geometry, 3000, prefix="BK")  # 3,000 >= a quarter of 6,307: the tree is rebuilt
    done = cli("import", str(write_file(grid, tmp_path / "b.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 0, done.stderr
    assert_valid_geopackage(atlas_file)  # rtreecheck() included
    tree = _tree(atlas_file)
    stored = pyogrio.read_dataframe(atlas_file, layer="parcels", fid_as_index=True)
    assert tree[:, 0].astype(int).tolist() == sorted(stored.index.tolist())
    # the old entries are kept exactly (SQLite's float32 boxes round-trip); the new ones hold their squares
    old = {int(r[0]): tuple(r[1:]) for r in before}
    assert all(old[int(r[0])] == tuple(r[1:]) for r in tree if int(r[0]) in old)
    b = shapely.bounds(stored.loc[tree[:, 0].astype(int)].geometry.values)
    assert (tree[:, 1] <= b[:, 0]).all() and (tree[:, 2] >= b[:, 2]).all()
    assert (tree[:, 3] <= b[:, 1]).all() and (tree[:, 4] >= b[:, 3]).all()
    # ... and the new boxes are no larger than float32 needs: within one float32 step of the bounds
    # (0.25 m at 2.3 million m); GDAL's own boxes for the bundled parcels may be wider, and are kept
    new = ~np.isin(tree[:, 0].astype(int), list(old))
    step = np.spacing(np.abs(tree[new, 1:]).astype(np.float32)).astype(np.float64)
    assert new.sum() == 3000 and (np.abs(tree[new, 1:] - b[new][:, [0, 2, 1, 3]]) <= step).all()
    _bbox_reads_match(atlas_file, np.random.default_rng(7))


def test_sqlite_and_gdal_keep_a_bulk_tree_sound_through_later_edits(atlas_file, park_geometry, tmp_path):
    big = parcel_grid(park_geometry, 4000, prefix="E1")
    done = cli("import", str(write_file(big, tmp_path / "e1.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 0, done.stderr
    # a small import: through GDAL's per-row trigger, into the packed tree
    small = parcel_grid(park_geometry, 40, prefix="E2", start=4000)
    done = cli("import", str(write_file(small, tmp_path / "e2.gpkg")), "--layer", "parcels", "--atlas", str(atlas_file))
    assert done.returncode == 0, done.stderr
    # a colleague deletes some rows in plain SQLite (GDAL's delete trigger edits the tree), and GDAL appends
    with contextlib.closing(sqlite3.connect(atlas_file)) as con, con:
        con.execute("DELETE FROM parcels WHERE parcel_id LIKE 'E1-%' AND (fid % 7) = 0")
    extra = parcel_grid(park_geometry, 30, prefix="E3", start=4040)
    pyogrio.write_dataframe(extra, atlas_file, layer="parcels", append=True)
    assert_valid_geopackage(atlas_file)
    n = pyogrio.read_info(atlas_file, layer="parcels", force_feature_count=True)["features"]
    assert len(_tree(atlas_file)) == n
    _bbox_reads_match(atlas_file, np.random.default_rng(11))


def test_small_writes_keep_sqlites_own_inserts():
    con = sqlite3.connect(":memory:")
    con.execute(f"CREATE VIRTUAL TABLE {TREE} USING rtree(id, minx, maxx, miny, maxy)")
    assert not gpkg_rtree.should_rebuild(con, TREE, 499, at_least=500)  # too few to bother
    assert gpkg_rtree.should_rebuild(con, TREE, 500, at_least=500)  # into an empty tree
    con.executemany(f"INSERT INTO {TREE} VALUES (?, ?, ?, ?, ?)", [(i, i, i + 1, 0, 1) for i in range(1, 4001)])
    assert not gpkg_rtree.should_rebuild(con, TREE, 999, at_least=500)  # under a quarter of 4,000
    assert gpkg_rtree.should_rebuild(con, TREE, 1000, at_least=500)


@pytest.mark.parametrize("held, adding", [(0, 0), (0, 1), (0, 51), (0, 52), (0, 2601), (0, 2602), (700, 9000)])
def test_packed_trees_answer_every_query_as_brute_force_does(held, adding):
    """Sizes around one full node (51 cells) and one full two-level tree (51 x 51), boxes of any shape."""
    rng = np.random.default_rng(held * 7 + adding)
    n = held + adding
    lo = np.column_stack([rng.uniform(-1e4, 6e5, n), rng.uniform(2.3e6, 2.4e6, n)])
    hi = lo + rng.uniform(0, 80, (n, 2)) * (rng.random((n, 1)) > 0.05)  # some boxes are points
    bounds = np.column_stack([lo, hi])  # min x, min y, max x, max y, as shapely.bounds gives them
    ids = rng.permutation(np.arange(1, n + 1) * 3)  # ids in no order, with gaps
    con = sqlite3.connect(":memory:")
    con.execute("CREATE VIRTUAL TABLE t USING rtree(id, minx, maxx, miny, maxy)")
    con.executemany(
        "INSERT INTO t VALUES (?, ?, ?, ?, ?)",
        [(int(i), b[0], b[2], b[1], b[3]) for i, b in zip(ids[:held], bounds[:held], strict=True)],
    )
    with con:
        gpkg_rtree.bulk_fill(con, "t", ids[held:], bounds[held:])
    assert con.execute("SELECT rtreecheck('t')").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == n
    for _ in range(40):
        q0 = np.array([rng.uniform(-1e4, 6e5), rng.uniform(2.3e6, 2.4e6)])
        q1 = q0 + rng.uniform(0, 5e4, 2)
        got = {
            r[0]
            for r in con.execute(
                "SELECT id FROM t WHERE maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?",
                (q0[0], q1[0], q0[1], q1[1]),
            )
        }
        hit = (bounds[:, 2] >= q0[0]) & (bounds[:, 0] <= q1[0]) & (bounds[:, 3] >= q0[1]) & (bounds[:, 1] <= q1[1])
        assert set(ids[hit].tolist()) <= got  # boxes rounded outwards: never a miss
        assert len(got) - int(hit.sum()) <= 2  # and hardly an extra (only boxes within a float32 step)
    # SQLite's own inserts and deletes keep working on the packed tree
    with con:
        con.execute("DELETE FROM t WHERE id % 2 = 0")
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", [(10**9 + i, i, i + 1.0, 5.0, 6.0) for i in range(120)])
    assert con.execute("SELECT rtreecheck('t')").fetchone()[0] == "ok"
    assert con.execute("SELECT count(*) FROM t").fetchone()[0] == int((ids % 2 == 1).sum()) + 120
