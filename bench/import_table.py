"""Benchmark: importing a coordinate table of N parcels, kcn_gis against the plain way, in the same run.

The table is what survey offices send: one row per vertex (``ID``, ``STT``,
``X`` = northing, ``Y`` = easting, VN-2000 / EPSG:9209), with the parcel's
map sheet, number, land type, legal area, holder and commune repeated on
each of its rows; vertices in file order, rings not closed. N parcels are
quadrilaterals of about 25 m x 20 m in a grid inside one park.

* **kcn_gis**: ``kcn-gis import TABLE.csv --layer parcels --atlas ATLAS --crs EPSG:9209``
  through the library (``prepare_import`` + ``commit_import``): header
  detection, text repair, column mapping, park by location (the atlas has
  the park), CRS checks, parcel ids, validation, write.
* **plain**: ``pandas.read_csv`` + sort + ``shapely.linearrings``/``shapely.polygons``
  + first attribute per parcel + ``pyogrio.write_dataframe`` to a GeoPackage.

Each runs in a fresh Python process, one after the other; the time is the
import alone (libraries imported and the atlas written before the clock
starts, and one 20-parcel import done first so that libraries loaded on
first use are loaded). Memory is the growth of the process's peak RSS
(``VmHWM``) during the import over the RSS just before it, compared with the
size of the CSV.

Usage::

    .venv/bin/python bench/import_table.py --parcels 100000          # prints a table, writes JSON
    .venv/bin/python bench/import_table.py --parcels 10000 --repeat 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

E0, N0 = 540_000.0, 2_330_000.0
HERE = Path(__file__).resolve().parent


def make_table(parcels: int, path: Path, *, seed: int = 0) -> int:
    """Write the coordinate table of ``parcels`` parcels to ``path``; return its size in bytes."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(parcels)))
    k = np.arange(parcels)
    gx, gy = (k % cols) * 25.0, (k // cols) * 20.0
    corners = np.array([(0, 0), (25, 0), (25, 20), (0, 20)], dtype=float)
    # shared corners move together, so parcels tile without gaps: jitter per grid node
    node = rng.uniform(-2.0, 2.0, size=(cols + 2, parcels // cols + 3, 2))
    ix, iy = (k % cols), (k // cols)
    offs = np.stack([node[ix, iy], node[ix + 1, iy], node[ix + 1, iy + 1], node[ix, iy + 1]], axis=1)  # (parcels, 4, 2)
    xy = corners[None, :, :] + offs
    east = (E0 + 100 + gx[:, None] + xy[:, :, 0]).ravel()
    north = (N0 + 100 + gy[:, None] + xy[:, :, 1]).ravel()
    sheet = (k // 2000 + 1).astype(int)
    number = (k % 2000 + 1).astype(int)
    holders = np.array(["Nguyễn Văn Ấn", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung", "Hoàng Văn Em"])
    frame = pd.DataFrame(
        {
            "ID": np.repeat(k + 1, 4),
            "STT": np.tile(np.arange(1, 5), parcels),
            "X": np.round(north, 3),
            "Y": np.round(east, 3),
            "Số tờ": np.repeat(sheet, 4),
            "Số thửa": np.repeat(number, 4),
            "Loại đất": np.repeat(np.where(k % 3 == 0, "ONT", "LUC"), 4),
            "Diện tích": np.repeat(np.round(500 + (k % 97), 1), 4),
            "Chủ sử dụng": np.repeat(holders[k % len(holders)], 4),
            "Xã": "Xã Mão Điền",
        }
    )
    frame.to_csv(path, index=False)
    return path.stat().st_size


def make_atlas(path: Path, parcels: int) -> None:
    """An atlas with one park around the whole grid (so parcels get their park by location)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from kcn_gis.schema import Col, Layer
    from kcn_gis.store import write_atlas

    cols = int(np.ceil(np.sqrt(parcels)))
    w, h = cols * 25.0 + 200, (parcels // cols + 1) * 20.0 + 200
    parks = gpd.GeoDataFrame(
        {
            Col.PARK_ID: ["B1"],
            Col.NAME: ["KCN Thử"],
            Col.NAME_EN: ["Bench IP"],
            Col.DISTRICT: ["Thuận Thành"],
            Col.STATUS: ["construction"],
            Col.LISTED_AREA_HA: [w * h / 10_000],
            Col.DETAIL_PLAN_APPROVED: [True],
            Col.DEVELOPER: [None],
        },
        geometry=[shapely.box(E0, N0, E0 + w, N0 + h)],
        crs="EPSG:9209",
    )
    write_atlas(path, {Layer.PARKS: parks})


# -- the two implementations, each run in its own process -----------------------------------------------------
def _rss(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def run_kcn(table: Path, atlas: Path) -> dict[str, float]:
    from kcn_gis.interop.importers.pipeline import commit_import, prepare_import

    rss0 = _rss("VmRSS")
    t0 = time.perf_counter()
    result, target, atlas_path, to_write = prepare_import(table, "parcels", atlas=atlas, crs="EPSG:9209")
    if result.errors:
        raise SystemExit(result.summary())
    commit_import(result, target, atlas_path, to_write, source=table)
    dt = time.perf_counter() - t0
    n = len(result.frame) if result.frame is not None else 0
    area = float(result.frame.geometry.area.sum()) if result.frame is not None else 0.0
    return {"seconds": dt, "peak_growth": _rss("VmHWM") - rss0, "features": n, "area_m2": area}


def run_plain(table: Path, out: Path) -> dict[str, float]:
    import geopandas as gpd
    import numpy as np
    import pandas as pd
    import pyogrio
    import shapely

    rss0 = _rss("VmRSS")
    t0 = time.perf_counter()
    df = pd.read_csv(table)
    df = df.sort_values(["ID", "STT"], kind="stable")
    ids = df["ID"].to_numpy()
    codes = np.unique(ids, return_inverse=True)[1]
    rings = shapely.linearrings(df[["Y", "X"]].to_numpy(), indices=codes)  # X = northing
    polys = shapely.polygons(rings)
    attrs = df.drop(columns=["X", "Y", "STT"]).groupby("ID", sort=True).first().reset_index()
    frame = gpd.GeoDataFrame(attrs, geometry=polys, crs="EPSG:9209")
    pyogrio.write_dataframe(frame, out, layer="parcels", driver="GPKG")
    dt = time.perf_counter() - t0
    return {
        "seconds": dt,
        "peak_growth": _rss("VmHWM") - rss0,
        "features": len(frame),
        "area_m2": float(frame.area.sum()),
    }


def _child(which: str, table: str, target: str) -> None:
    # warm up on a 20-parcel table, so that libraries loaded on first use (GDAL drivers, pyarrow) are
    # loaded before the clock and the memory baseline
    warm = Path(tempfile.mkdtemp(prefix=f"warm_{which}_", dir=Path(target).parent))
    make_table(20, warm / "t.csv")
    if which == "kcn":
        make_atlas(warm / "a.gpkg", 20)
        run_kcn(warm / "t.csv", warm / "a.gpkg")
    else:
        run_plain(warm / "t.csv", warm / "p.gpkg")
    res = run_kcn(Path(table), Path(target)) if which == "kcn" else run_plain(Path(table), Path(target))
    print(json.dumps(res))


def _spawn(which: str, table: Path, target: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", which, str(table), str(target)],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=2, help="runs of each (the best time is kept)")
    ap.add_argument("--json", type=Path, default=HERE / "import_table.json")
    ap.add_argument("--child", nargs=3, metavar=("WHICH", "TABLE", "TARGET"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    with tempfile.TemporaryDirectory(prefix="kcn_bench_import_") as tmp:
        d = Path(tmp)
        table = d / "toa_do.csv"
        t0 = time.perf_counter()
        size = make_table(args.parcels, table)
        print(f"table: {args.parcels} parcels, {size / 1e6:.1f} MB, written in {time.perf_counter() - t0:.1f} s")
        runs: dict[str, list[dict[str, float]]] = {"kcn": [], "plain": []}
        for r in range(args.repeat):
            for which in ("plain", "kcn"):
                if which == "kcn":
                    target = d / f"atlas{r}.gpkg"
                    make_atlas(target, args.parcels)
                else:
                    target = d / f"plain{r}.gpkg"
                runs[which].append(_spawn(which, table, target))
        best = {k: min(v, key=lambda x: x["seconds"]) for k, v in runs.items()}
        ratio = best["kcn"]["seconds"] / best["plain"]["seconds"]
        same = (
            best["kcn"]["features"] == best["plain"]["features"]
            and abs(best["kcn"]["area_m2"] - best["plain"]["area_m2"]) < 1e-3
        )
        report = {
            "parcels": args.parcels,
            "csv_bytes": size,
            "runs": runs,
            "kcn_seconds": best["kcn"]["seconds"],
            "plain_seconds": best["plain"]["seconds"],
            "ratio": ratio,
            "kcn_peak_growth_bytes": max(x["peak_growth"] for x in runs["kcn"]),
            "kcn_peak_over_input": max(x["peak_growth"] for x in runs["kcn"]) / size,
            "plain_peak_over_input": max(x["peak_growth"] for x in runs["plain"]) / size,
            "same_result": same,
            "load": os.getloadavg()[0],
        }
    print(f"plain  : {best['plain']['seconds']:.2f} s, peak +{best['plain']['peak_growth'] / 1e6:.0f} MB")
    print(f"kcn_gis: {best['kcn']['seconds']:.2f} s, peak +{best['kcn']['peak_growth'] / 1e6:.0f} MB")
    print(
        f"ratio kcn/plain = {ratio:.2f} (target <= 5); peak growth / input = {report['kcn_peak_over_input']:.2f} "
        f"(target < 3); same polygons and area: {same}; load {report['load']:.1f}"
    )
    args.json.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
