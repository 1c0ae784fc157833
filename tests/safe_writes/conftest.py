"""Fixtures of the safe-write tests: real atlas files, real second processes, real parcel files.

The atlas is a copy of the bundled Bắc Ninh atlas (15 parks, 6 307 parcels, 8 012 clearance
events), made by the test as a user would (``cp``). Imported files are GeoPackages of squares
built in code inside park QV2 (KCN Quế Võ II, 949 ha, which has no parcels and no plots), so
every number a test checks is derived from the grid it built.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely

from kcn_gis.schema import Col, Layer
from kcn_gis.store import bundled_atlas_path

#: The park the imported parcel grids are placed in (no parcels or plots in the bundled atlas).
PARK = "QV2"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def bundled_counts() -> dict[str, int]:
    """Rows per layer of the bundled atlas, read with plain SQLite."""
    with contextlib.closing(sqlite3.connect(f"file:{bundled_atlas_path()}?mode=ro", uri=True)) as con:
        return {
            str(layer): con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
            for layer in (Layer.PARKS, Layer.PLOTS, Layer.PARCELS, Layer.CLEARANCE_EVENTS)
        }


@pytest.fixture
def atlas_file(tmp_path) -> Path:
    """A user's copy of the bundled atlas (``cp``), in its own folder."""
    folder = tmp_path / "shared"
    folder.mkdir()
    path = folder / "atlas.gpkg"
    shutil.copyfile(bundled_atlas_path(), path)
    return path


@pytest.fixture(scope="session")
def park_geometry() -> shapely.Geometry:
    parks = pyogrio.read_dataframe(bundled_atlas_path(), layer=str(Layer.PARKS), where=f"park_id = '{PARK}'")
    return parks.geometry.iloc[0]


def parcel_grid(park: shapely.Geometry, n: int, *, prefix: str, side: float = 10.0, start: int = 0) -> gpd.GeoDataFrame:
    """``n`` touching ``side`` x ``side`` m squares inside ``park`` (EPSG:9209), as a cadastral parcel file.

    ``start`` skips the first squares of the grid, so grids with different starts do not overlap.
    """
    x0, y0, x1, y1 = park.bounds
    cols = int((x1 - x0) // side)
    need = start + n
    out: list[shapely.Geometry] = []
    row = 0
    shapely.prepare(park)
    while len(out) < need:
        xs = x0 + np.arange(cols) * side
        ys = np.full(cols, y0 + row * side)
        squares = shapely.box(xs, ys, xs + side, ys + side)
        inside = shapely.contains(park, squares)
        out.extend(squares[inside])
        row += 1
        if y0 + row * side > y1:
            raise AssertionError(f"park {PARK} holds fewer than {need} squares of {side} m")
    geoms = out[start:need]
    ids = [f"{prefix}-{i:06d}" for i in range(n)]
    return gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: ids,
            Col.PARK_ID: PARK,
            Col.COMMUNE: "Xã Phù Lãng",
            Col.MAP_SHEET: "7",
            Col.PARCEL_NO: [str(i + 1) for i in range(n)],
            Col.LAND_TYPE: "LUC",
            Col.HOLDER_TYPE: "household",
            Col.HOLDER_NAME: [f"Hộ Nguyễn Văn {i}" for i in range(n)],
            Col.LEGAL_AREA_M2: side * side,
        },
        geometry=geoms,
        crs="EPSG:9209",
    )


def write_file(frame: gpd.GeoDataFrame, path: Path) -> Path:
    pyogrio.write_dataframe(frame, path, driver="GPKG", layer="thua_dat")
    return path


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run ``kcn-gis`` in a new process, as a user does."""
    return subprocess.run(
        [sys.executable, "-m", "kcn_gis", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def start_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "kcn_gis", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def count(path: Path, layer: str, where: str = "1") -> int:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return int(con.execute(f'SELECT count(*) FROM "{layer}" WHERE {where}').fetchone()[0])


def ids(path: Path, layer: str, key: str) -> set[str]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        return {r[0] for r in con.execute(f'SELECT "{key}" FROM "{layer}"')}


def assert_valid_geopackage(path: Path, layers: Sequence[str] = ("parks", "plots", "parcels")) -> None:
    """The file is a sound GeoPackage: SQLite integrity, R-tree in step with the rows, GDAL reads it."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        for layer in layers:
            rows = con.execute(f'SELECT count(*) FROM "{layer}" WHERE geom IS NOT NULL').fetchone()[0]
            in_tree = con.execute(f'SELECT count(*) FROM "rtree_{layer}_geom"').fetchone()[0]
            assert rows == in_tree, f"R-tree of {layer}: {in_tree} entries for {rows} geometries"
            # SQLite's own check of the tree's structure: node sizes, parents, rowids, boxes within boxes
            assert con.execute("SELECT rtreecheck(?)", (f"rtree_{layer}_geom",)).fetchone()[0] == "ok"
            stored = con.execute(
                "SELECT feature_count FROM gpkg_ogr_contents WHERE table_name = ?", (layer,)
            ).fetchone()[0]
            assert stored == con.execute(f'SELECT count(*) FROM "{layer}"').fetchone()[0]
            triggers = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
            # a bulk insert drops these two for its rows and must always put them back
            assert {f"rtree_{layer}_geom_insert", f"trigger_insert_feature_count_{layer}"} <= triggers
            ext = con.execute(
                "SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?", (layer,)
            ).fetchone()
            tree = con.execute(
                f'SELECT min(minx), min(miny), max(maxx), max(maxy) FROM "rtree_{layer}_geom"'
            ).fetchone()
            if tree[0] is not None:  # the extent covers every geometry (R-tree boxes are float32, rounded outwards)
                assert (
                    ext[0] <= tree[0] + 1 and ext[1] <= tree[1] + 1 and ext[2] >= tree[2] - 1 and ext[3] >= tree[3] - 1
                )
    for layer in layers:
        info = pyogrio.read_info(path, layer=layer, force_feature_count=True)
        assert info["features"] == count(path, layer)
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo:
        done = subprocess.run([ogrinfo, "-ro", "-so", "-al", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
