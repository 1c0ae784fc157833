"""kcn_gis against DuckDB spatial on the same file: ``python bench/duckdb_race.py``.

For the GeoPackage atlas (``--gpkg``, default the 1M-parcel benchmark atlas in the cache) and its
partitioned GeoParquet layout (``--parquet``, made with ``bench/synth.py --out DIR.parquet``), every
job runs as a **whole fresh process**, kcn_gis and DuckDB one after the other, interleaved,
``--repeats`` times:

==========  =====================================================  ==========================================
job         kcn_gis                                                DuckDB spatial (``bench/peers/duckdb_spatial.py``)
==========  =====================================================  ==========================================
fill        ``kcn-gis fill-rates --by park --format json``         the fill-rates SQL
balance     ``kcn-gis balance --format json``                      the balance SQL
progress    ``kcn-gis clearance progress --format json``           the clearance-progress SQL
all         Python: ``open_atlas`` + ``fill_rates`` +               the three queries on one connection
            ``river_balance`` + ``clearance_progress``
floor       (kcn_gis's floor, see below)                           —
==========  =====================================================  ==========================================

Before anything is timed, each job runs once with both and their numbers must agree (hectares to
0.01 ha, counts exactly); a disagreement stops the run. When DuckDB or its spatial extension cannot
be loaded the DuckDB cells are skipped with the reason.

Each cell reports the wall time of the whole process (interpreter start, imports, reading, compute,
output), its CPU time (user + system, all threads) and its peak RSS (``ru_maxrss`` of that process,
from ``wait4``), and for ``all`` also the time inside the process after the imports. The ``floor``
row is the least any Python implementation must do for the ``all`` job on that file: read only the
needed columns of the seven layers (pyogrio ``read_arrow`` / pyarrow), decode the parcel, plot, park,
province and river geometries (``shapely.from_wkb``) and compute the parcel areas; kcn_gis's
analytics compute on frames already in memory is measured by ``bench/run.py`` (``fill_rates``,
``balance``, ``clearance`` steps).

Writes all numbers to ``bench/out/duckdb_race.json`` (``--json``).

Examples::

    python bench/duckdb_race.py                                   # 1M, GeoPackage + GeoParquet, 3 repeats
    python bench/duckdb_race.py --formats gpkg --jobs all --repeats 1
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
CACHE = Path(os.environ.get("KCN_BENCH_DATA", str(Path.home() / ".cache" / "kcn_gis_bench")))
AS_OF = "2025-01-01"
JOBS = ("fill", "balance", "progress", "all")
STAGES = ("notified", "inventoried", "plan_approved", "compensated", "handed_over")
TOL_HA = 0.01
KCN_CLI = {
    "fill": ["fill-rates", "--by", "park"],
    "balance": ["balance"],
    "progress": ["clearance", "progress"],
}


# -- the kcn_gis sides -----------------------------------------------------------------------------------------------
def _kcn_cli_numbers(job: str, out: str) -> dict[str, float]:
    rows = json.loads(out)
    res: dict[str, float] = {}
    for r in rows:
        if job == "fill":
            for c in ("planned_ha", "acquired_ha", "leased_ha"):
                res[f"{r['park_id']}.{c}"] = float(r[c])
        elif job == "balance":
            for c in ("park_area_ha", "planned_ha", "acquired_ha", "leased_ha", "valid_projects"):
                res[f"{r['bank']}.{c}"] = float(r[c])
        else:
            for c in ("parcels_total", "area_total_ha", "handed_over_ha", "open_complaints"):
                res[f"{r['park_id']}.{c}"] = float(r[c])
            for s in STAGES:
                res[f"{r['park_id']}.{s}_parcels"] = float(r["by_stage"][s]["parcels"])
    return res


def child_all(path: str) -> None:
    """kcn_gis API, one process: open + fill rates + balance + clearance progress (prints one RESULT line)."""
    t0 = time.perf_counter()
    import kcn_gis
    from kcn_gis.analytics import fill_rates, river_balance
    from kcn_gis.clearance import clearance_progress

    t1 = time.perf_counter()
    atlas = kcn_gis.open_atlas(path)
    fill = fill_rates(atlas.plots, atlas.parks, as_of=AS_OF, by="park")
    bal = river_balance(atlas.province, atlas.rivers, atlas.parks, atlas.plots, atlas.projects, as_of=AS_OF)
    prog = clearance_progress(atlas.clearance_events, atlas.parcels, as_of=AS_OF)
    t2 = time.perf_counter()
    result = {
        "leased_ha": float(fill["leased_ha"].sum()),
        "balance_leased_ha": float(bal["leased_ha"].sum()),
        "handed_over_ha": float(prog["handed_over_ha"].sum()),
    }
    print("RESULT " + json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "result": result}))


def child_floor(path: str) -> None:
    """The I/O floor of the ``all`` job: needed columns only, needed geometries decoded, parcel areas."""
    t0 = time.perf_counter()
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    if path.endswith(".gpkg"):
        import pyogrio
    t1 = time.perf_counter()
    need = {
        "province": [],
        "rivers": ["name"],
        "parks": ["park_id", "status"],
        "plots": ["park_id", "land_use", "acquired_on", "leased_on", "lease_ended_on", "project_id"],
        "projects": ["project_id", "licensed_on", "revoked_on"],
        "parcels": ["parcel_id", "park_id"],
        "clearance_events": ["event_id", "parcel_id", "event", "event_date", "recorded_at", "corrects_event_id"],
    }
    spatial = {"province", "rivers", "parks", "plots", "parcels"}
    tables: dict[str, Any] = {}
    if path.endswith(".gpkg"):
        for layer, cols in need.items():
            _, tab = pyogrio.read_arrow(path, layer=layer, columns=cols, read_geometry=layer in spatial)
            tables[layer] = tab
        gname = "wkb_geometry"
    else:
        for layer, cols in need.items():
            parts = sorted(Path(path, layer).glob("part.*.parquet"))
            extra = ["geometry"] if layer in spatial else []
            tables[layer] = pa.concat_tables([pq.read_table(p, columns=cols + extra) for p in parts])
        gname = "geometry"
    areas = 0.0
    for layer in spatial:
        tab = tables[layer]
        col = tab.column(gname if gname in tab.column_names else tab.column_names[-1])
        g = shapely.from_wkb(col.to_numpy(zero_copy_only=False))
        if layer == "parcels":
            areas = float(np.sum(shapely.area(g)))
    t2 = time.perf_counter()
    rows = {k: t.num_rows for k, t in tables.items()}
    print(
        "RESULT " + json.dumps({"seconds": t2 - t1, "import_seconds": t1 - t0, "result": {"rows": rows, "area": areas}})
    )


# -- parent ---------------------------------------------------------------------------------------------------------
def _run(cmd: list[str], timeout: float) -> dict[str, Any]:
    """Run ``cmd`` as a fresh process; wall time, CPU time and peak RSS of that process (wait4)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                return {"error": f"timeout after {timeout:.0f} s"}
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    rec: dict[str, Any] = {
        "wall_seconds": wall,
        "cpu_seconds": ru.ru_utime + ru.ru_stime,
        "peak_mb": ru.ru_maxrss / 1024,
        "returncode": proc.returncode,
        "stdout": stdout,
    }
    if proc.returncode == 3 and stdout.startswith("SKIP"):
        rec["skipped"] = stdout[5:].strip()
    elif proc.returncode != 0:
        rec["error"] = " | ".join((stderr or stdout).strip().splitlines()[-3:]) or f"exit {proc.returncode}"
    for line in stdout.splitlines():
        if line.startswith("RESULT "):
            rec.update(json.loads(line[7:]))
    return rec


def _cmd(impl: str, job: str, path: Path) -> list[str]:
    py = sys.executable
    if impl == "duckdb":
        return [py, str(HERE / "peers" / "duckdb_spatial.py"), job, str(path), "--as-of", AS_OF, "--json"]
    if job in ("all", "floor"):
        return [py, str(Path(__file__).resolve()), f"--child-{job}", str(path)]
    kcn = Path(py).with_name("kcn-gis")
    return [str(kcn), *KCN_CLI[job], "--atlas", str(path), "--as-of", AS_OF, "--format", "json"]


def _numbers(impl: str, job: str, rec: dict[str, Any]) -> dict[str, float] | None:
    if "error" in rec or "skipped" in rec:
        return None
    if impl == "kcn" and job in KCN_CLI:
        return _kcn_cli_numbers(job, rec["stdout"])
    return rec.get("result")


def _compare(a: dict[str, float], b: dict[str, float]) -> tuple[bool, str]:
    if set(a) != set(b):
        return False, f"different keys: {sorted(set(a) ^ set(b))[:5]}"
    worst, where = 0.0, ""
    for k in a:
        tol = 0.0 if (k.endswith("_parcels") or k.endswith(("parcels_total", "open_complaints"))) else TOL_HA
        d = abs(a[k] - b[k])
        if d > tol + 1e-9 and d - tol > worst:
            worst, where = d - tol, k
    return (not where), (f"{where}: {a[where]} vs {b[where]}" if where else "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="kcn_gis against DuckDB spatial, same files, fresh process per cell")
    p.add_argument("--child-all", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--child-floor", metavar="PATH", help=argparse.SUPPRESS)
    p.add_argument("--gpkg", default=str(CACHE / "synth_1000000_16_s0.gpkg"))
    p.add_argument("--parquet", default=str(CACHE / "perf" / "synth_1000000_16_s0.parquet"))
    p.add_argument("--formats", default="gpkg,parquet")
    p.add_argument("--jobs", default=",".join(JOBS))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--no-floor", action="store_true", help="skip the floor row")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--json", default=str(HERE / "out" / "duckdb_race.json"))
    args = p.parse_args(argv)
    if args.child_all:
        child_all(args.child_all)
        return 0
    if args.child_floor:
        child_floor(args.child_floor)
        return 0

    files = {"gpkg": Path(args.gpkg), "parquet": Path(args.parquet)}
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    jobs = [j.strip() for j in args.jobs.split(",") if j.strip()]
    for f in formats:
        if not files[f].exists():
            print(f"missing {files[f]}: make it with bench/synth.py --parcels 1000000 --parks 16 --out {files[f]}")
            return 2
    cells = [(f, j) for f in formats for j in jobs]
    results: dict[str, Any] = {"as_of": AS_OF, "files": {f: str(files[f]) for f in formats}, "cells": {}}

    # 1. the numbers must agree before anything is timed
    duck_skip: str | None = None
    for f, j in cells:
        k = _run(_cmd("kcn", j, files[f]), args.timeout)
        d = _run(_cmd("duckdb", j, files[f]), args.timeout)
        if "skipped" in d:
            duck_skip = d["skipped"]
            print(f"DuckDB spatial skipped: {duck_skip}")
            break
        kn, dn = _numbers("kcn", j, k), _numbers("duckdb", j, d)
        if kn is None or dn is None:
            print(f"{f} {j}: a run failed: kcn {k.get('error')} / duckdb {d.get('error')}")
            return 1
        same, why = _compare(kn, dn)
        print(f"check {f:<8} {j:<9} {len(kn):>4} numbers  {'same' if same else 'DIFFERENT ' + why}", flush=True)
        if not same:
            return 1

    # 2. timed, interleaved
    impls = ["kcn"] + ([] if duck_skip else ["duckdb"])
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    floor_cells = [] if args.no_floor else [(f, "floor") for f in formats]
    for r in range(args.repeats):
        for f, j in cells + floor_cells:
            for impl in impls if j != "floor" else ["kcn"]:
                rec = _run(_cmd(impl, j, files[f]), args.timeout)
                rec.pop("stdout", None)
                runs.setdefault((f, j, impl), []).append(rec)
                print(
                    f"  run {r + 1} {f:<8} {j:<9} {impl:<7} wall {rec.get('wall_seconds', float('nan')):6.2f} s  "
                    f"cpu {rec.get('cpu_seconds', float('nan')):6.2f} s  peak {rec.get('peak_mb', float('nan')):6.0f} MB"
                    + (f"  in-process {rec['seconds']:.2f} s" if "seconds" in rec else "")
                    + (f"  ERROR {rec['error']}" if "error" in rec else ""),
                    flush=True,
                )

    def med(recs: list[dict[str, Any]], key: str) -> float | None:
        vals = [x[key] for x in recs if key in x and "error" not in x]
        return statistics.median(vals) if vals else None

    header = (
        f"{'file':<8} {'job':<9} {'kcn s':>7} {'duck s':>7} {'duck/kcn':>8} "
        f"{'kcn MB':>7} {'duck MB':>7} {'kcn cpu':>7} {'duck cpu':>8} {'kcn in-proc':>11}"
    )
    lines = [header]
    for f, j in cells + floor_cells:
        k = runs.get((f, j, "kcn"), [])
        d = runs.get((f, j, "duckdb"), [])
        kw, dw = med(k, "wall_seconds"), med(d, "wall_seconds")
        ratio = dw / kw if kw and dw else None
        summary = {
            "kcn": {m: med(k, m) for m in ("wall_seconds", "cpu_seconds", "peak_mb", "seconds")},
            "duckdb": {m: med(d, m) for m in ("wall_seconds", "cpu_seconds", "peak_mb", "seconds")} if d else None,
            "ratio_duckdb_over_kcn": ratio,
            "runs": {"kcn": k, "duckdb": d},
        }
        results["cells"][f"{f}/{j}"] = summary

        def fmt(v: float | None, spec: str) -> str:
            return format(v, spec) if v is not None else "—"

        lines.append(
            f"{f:<8} {j:<9} {fmt(kw, '7.2f')} {fmt(dw, '7.2f')} {fmt(ratio, '7.2f') + ('x' if ratio else ''):>8} "
            f"{fmt(med(k, 'peak_mb'), '7.0f')} {fmt(med(d, 'peak_mb'), '7.0f')} "
            f"{fmt(med(k, 'cpu_seconds'), '7.2f')} {fmt(med(d, 'cpu_seconds'), '8.2f')} {fmt(med(k, 'seconds'), '11.2f')}"
        )
    if duck_skip:
        results["duckdb_skipped"] = duck_skip
    print(f"\nmedian of {args.repeats} (whole process; duck/kcn > 1 means kcn_gis is faster)")
    print("\n".join(lines))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1, default=str))
    print(f"\nall numbers: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
