"""Append N parcels to a large atlas: the in-place write against the old full-file rewrite, same run.

Usage::

    .venv/bin/python bench/synth.py --parcels 1000000 --parks 16 --out bench/out/atlas_1m.gpkg
    .venv/bin/python bench/append.py bench/out/atlas_1m.gpkg --rows 10000

Both measurements start from their own copy of the atlas, copied and flushed to disk (fsync)
before the clock starts:

* ``in_place`` – ``Atlas.append("parcels", rows)``: schema check of the rows, then one SQLite
  transaction inside the existing file (what ``kcn-gis import --mode append`` does since issue 12).
* ``old_rewrite`` – BASELINE, the store's write before issue 12, kept here verbatim in spirit:
  copy the whole GeoPackage to a temporary file, write the whole ``parcels`` layer (stored rows +
  new rows) into the copy with pyogrio (``OVERWRITE=YES``), rewrite the meta table, fsync and
  ``os.replace`` the copy over the atlas. Reading the stored layer (which the old import also did)
  is timed separately and NOT counted in the baseline, which makes the ratio conservative.

Prints a table and writes ``bench/out/append.json``. Not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def new_parcels(atlas: Path, n: int) -> gpd.GeoDataFrame:
    """``n`` 10 m squares east of the atlas extent, in the atlas's first park (ids not in the atlas)."""
    with contextlib.closing(sqlite3.connect(f"file:{atlas}?mode=ro", uri=True)) as con:
        park = con.execute("SELECT park_id FROM parks ORDER BY fid LIMIT 1").fetchone()[0]
        max_x, min_y = con.execute("SELECT max_x, min_y FROM gpkg_contents WHERE table_name = 'parcels'").fetchone()
    i = np.arange(n)
    x = max_x + 1000 + (i % 100) * 10.0
    y = min_y + (i // 100) * 10.0
    return gpd.GeoDataFrame(
        {
            "parcel_id": [f"BENCH-{k:07d}" for k in i],
            "park_id": park,
            "commune": "Xã Thử",
            "map_sheet": "99",
            "parcel_no": [str(k + 1) for k in i],
            "land_type": "LUC",
            "holder_type": "household",
            "holder_name": [f"Hộ Thử {k}" for k in i],
            "legal_area_m2": 100.0,
        },
        geometry=shapely.box(x, y, x + 10, y + 10),
        crs="EPSG:9209",
    )


def in_place(atlas: Path, rows: gpd.GeoDataFrame) -> float:
    import kcn_gis

    a = kcn_gis.open_atlas(atlas, validate=False)
    t = time.perf_counter()
    added = a.append("parcels", rows)
    elapsed = time.perf_counter() - t
    assert added == len(rows)
    return elapsed


def old_rewrite(atlas: Path, rows: gpd.GeoDataFrame) -> tuple[float, float]:
    """BASELINE: the pre-issue-12 copy-and-replace write of the whole layer. Returns (read s, write s)."""
    t = time.perf_counter()
    existing = pyogrio.read_dataframe(atlas, layer="parcels", use_arrow=True)
    read_s = time.perf_counter() - t
    combined = gpd.GeoDataFrame(
        pd.concat([existing, rows[list(existing.columns)]], ignore_index=True), geometry="geometry", crs=rows.crs
    )
    t = time.perf_counter()
    tmp = atlas.with_name(f".{atlas.stem}.{os.getpid()}.tmp.gpkg")
    shutil.copyfile(atlas, tmp)
    pyogrio.write_dataframe(
        combined, tmp, layer="parcels", driver="GPKG", use_arrow=True, promote_to_multi=False,
        layer_options={"OVERWRITE": "YES"},
    )  # fmt: skip
    with contextlib.closing(sqlite3.connect(tmp)) as con:
        meta = {str(k): str(v) for k, v in con.execute("SELECT key, value FROM kcn_gis_meta")}
    meta["row_version"] = str(int(meta.get("row_version", 0)) + 1)
    frame = pd.DataFrame({"key": list(meta), "value": list(meta.values())})
    pyogrio.write_dataframe(frame, tmp, layer="kcn_gis_meta", driver="GPKG", layer_options={"OVERWRITE": "YES"})
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, atlas)  # the old store's move over the original (what issue 12 removed)
    fd = os.open(atlas.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return read_s, time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("atlas", type=Path, help="a large atlas (bench/synth.py), left unchanged")
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--work", type=Path, default=OUT, help="folder for the two working copies")
    args = p.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    rows = new_parcels(args.atlas, args.rows)
    with contextlib.closing(sqlite3.connect(f"file:{args.atlas}?mode=ro", uri=True)) as con:
        before = con.execute("SELECT count(*) FROM parcels").fetchone()[0]
    size = args.atlas.stat().st_size
    a, b = args.work / "append_in_place.gpkg", args.work / "append_old_rewrite.gpkg"
    for path in (a, b):
        shutil.copyfile(args.atlas, path)
        # flush the copy to disk before any clock starts: otherwise the first fsync of either write
        # would pay for writing out the whole freshly copied file
        with open(path, "rb+") as fh:
            os.fsync(fh.fileno())
    new_s = in_place(a, rows)
    read_s, old_s = old_rewrite(b, rows)
    for path in (a, b):
        with contextlib.closing(sqlite3.connect(path)) as con:
            assert con.execute("SELECT count(*) FROM parcels").fetchone()[0] == before + args.rows
            assert con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
    result = {
        "atlas": str(args.atlas),
        "atlas_mb": round(size / 1e6, 1),
        "stored_parcels": before,
        "appended": args.rows,
        "in_place_s": round(new_s, 3),
        "old_rewrite_s": round(old_s, 3),
        "old_read_layer_s_not_counted": round(read_s, 3),
        "ratio_old_over_new": round(old_s / new_s, 1),
        "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
    }
    print(f"append {args.rows:,} parcels to {before:,} ({result['atlas_mb']} MB)")
    print(f"  in place (one transaction)       {new_s:8.2f} s")
    print(f"  BASELINE old copy+rewrite+replace {old_s:8.2f} s   (+ {read_s:.2f} s reading the layer, not counted)")
    print(f"  ratio old / new                  {old_s / new_s:8.1f}x  (target >= 20x)")
    (OUT / "append.json").write_text(json.dumps(result, indent=2) + "\n")
    for path in (a, b):
        path.unlink()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
