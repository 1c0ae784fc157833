"""DuckDB spatial as a rival: fill rates by park, the river balance and clearance progress in SQL.

This is the script a speed-minded user would write instead of kcn_gis: ``duckdb`` with the
``spatial`` extension (PyPI ``duckdb-extension-spatial``, which ships the extension binary, so it
loads offline), reading the same GeoPackage with ``ST_Read`` (GDAL inside the extension) or the
same partitioned GeoParquet layout (``DIR/<layer>/part.*.parquet``) with ``read_parquet``.

The definitions are those of kcn_gis (``docs/analytics.md``, ``docs/clearance.md``):

* fill rates: industrial plots of operating parks, each clipped to its own park (``park_id``);
  acquired when ``acquired_on <= d``, leased when ``leased_on <= d`` and its lease has not ended;
* balance: the province cut by the Đuống into two banks (polygonize the outline and the river
  clipped to it; ``north`` is the bank whose centroid is further north); parks, clipped plots and
  project plots split by the banks; projects valid on ``d`` weighted by the share of their plots'
  area on each bank;
* clearance progress: a parcel's stage is the furthest stage event dated ``<= d`` not cancelled
  by a ``correction`` dated ``<= d``; an open complaint is a latest complaint/resolution (by date,
  resolution after complaint on the same day, then ``recorded_at``) that is a complaint.

CLI (one job per process, as the benchmark runs it)::

    python bench/peers/duckdb_spatial.py fill ATLAS.gpkg|DIR.parquet --as-of 2025-01-01
    python bench/peers/duckdb_spatial.py all ATLAS.gpkg --as-of 2025-01-01 --json

It prints the result table, or with ``--json`` one ``RESULT {...}`` line with the numbers in the
benchmark's key format (``KCN001.planned_ha`` ...) and the time of the job inside the process.
Exit code 3 with a ``SKIP`` line when DuckDB or its spatial extension cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["JOBS", "UnavailableError", "connect", "run_job", "sources"]

STAGES = ("notified", "inventoried", "plan_approved", "compensated", "handed_over")
RIVER = "Sông Đuống"


class UnavailableError(RuntimeError):
    """DuckDB or its spatial extension cannot be loaded (the benchmark skips the peer with this message)."""


def connect(threads: int | None = None) -> Any:
    """A DuckDB connection with the spatial extension loaded from the ``duckdb-extension-spatial`` wheel.

    Raises :class:`UnavailableError` with the reason when that is not possible.
    """
    try:
        import duckdb
    except ImportError as exc:
        raise UnavailableError(f"duckdb is not installed ({exc}); pip install duckdb duckdb-extension-spatial") from exc
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    errors = []
    try:
        import duckdb_extension_spatial  # the wheel holds extensions/v<version>/spatial.duckdb_extension

        found = sorted(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
        for path in found:
            try:
                con.execute(f"LOAD '{path}'")
                return con
            except Exception as exc:  # version mismatch, bad signature, ...
                errors.append(f"{path}: {exc}")
    except ImportError as exc:
        errors.append(f"duckdb-extension-spatial is not installed ({exc})")
    try:  # an extension installed in DuckDB's own extension directory
        con.execute("LOAD spatial")
        return con
    except Exception as exc:
        errors.append(f"LOAD spatial: {exc}")
    raise UnavailableError("the DuckDB spatial extension cannot be loaded: " + "; ".join(errors))


def sources(path: str | Path) -> dict[str, str]:
    """Table expressions and geometry column names for each layer of a GeoPackage or GeoParquet atlas."""
    p = Path(path)
    lit = str(p).replace("'", "''")
    layers = ("province", "rivers", "parks", "plots", "parcels", "clearance_events", "projects")
    if p.suffix.lower() == ".gpkg":
        out = {name: f"ST_Read('{lit}', layer='{name}')" for name in layers}
        out["geom"] = "geom"
    else:
        out = {name: f"read_parquet('{lit}/{name}/part.*.parquet')" for name in layers}
        out["geom"] = "geometry"
    return out


def _fill_sql(src: dict[str, str]) -> str:
    g = src["geom"]
    return f"""
WITH op AS (SELECT park_id, {g} AS geom FROM {src["parks"]} WHERE status = 'operating'),
pieces AS (
    SELECT op.park_id, pl.acquired_on, pl.leased_on, pl.lease_ended_on,
           CASE WHEN ST_CoveredBy(pl.{g}, op.geom) THEN ST_Area(pl.{g})
                ELSE ST_Area(ST_Intersection(pl.{g}, op.geom)) END AS a
    FROM {src["plots"]} pl JOIN op ON pl.park_id = op.park_id
    WHERE pl.land_use = 'industrial'
)
SELECT op.park_id,
       coalesce(sum(a), 0) / 1e4 AS planned_ha,
       coalesce(sum(a) FILTER (WHERE acquired_on <= $d), 0) / 1e4 AS acquired_ha,
       coalesce(sum(a) FILTER (WHERE leased_on <= $d AND NOT coalesce(lease_ended_on <= $d, false)), 0) / 1e4
           AS leased_ha
FROM op LEFT JOIN pieces ON pieces.park_id = op.park_id
GROUP BY op.park_id ORDER BY op.park_id
"""


def _balance_sql(src: dict[str, str]) -> str:
    g = src["geom"]
    return f"""
WITH prov AS (SELECT ST_Union_Agg({g}) AS geom FROM {src["province"]}),
river AS (SELECT ST_Union_Agg({g}) AS geom FROM {src["rivers"]} WHERE name = $river),
faces AS (
    SELECT unnest(ST_Dump(ST_Polygonize([ST_Union(ST_Boundary(prov.geom), river.geom)])))
        .geom AS geom
    FROM prov, river
),
banks AS (
    SELECT CASE WHEN row_number() OVER (ORDER BY ST_Y(ST_Centroid(geom)) DESC) = 1 THEN 'north' ELSE 'south' END
               AS bank, geom
    FROM faces
),
op AS (SELECT park_id, {g} AS geom FROM {src["parks"]} WHERE status = 'operating'),
park_parts AS (
    SELECT b.bank, sum(ST_Area(ST_Intersection(op.geom, b.geom))) / 1e4 AS park_area_ha
    FROM op JOIN banks b ON ST_Intersects(op.geom, b.geom) GROUP BY b.bank
),
plots AS (SELECT plot_id, park_id, land_use, project_id, acquired_on, leased_on, lease_ended_on, {g} AS geom
          FROM {src["plots"]}),
pieces AS (
    SELECT pl.acquired_on, pl.leased_on, pl.lease_ended_on,
           CASE WHEN ST_CoveredBy(pl.geom, op.geom) THEN pl.geom ELSE ST_Intersection(pl.geom, op.geom) END AS geom
    FROM plots pl JOIN op ON pl.park_id = op.park_id WHERE pl.land_use = 'industrial'
),
land AS (
    SELECT b.bank, p.acquired_on, p.leased_on, p.lease_ended_on,
           CASE WHEN ST_Within(p.geom, b.geom) THEN ST_Area(p.geom) ELSE ST_Area(ST_Intersection(p.geom, b.geom)) END
               AS a
    FROM pieces p JOIN banks b ON ST_Intersects(p.geom, b.geom)
),
land_sum AS (
    SELECT bank, sum(a) / 1e4 AS planned_ha,
           coalesce(sum(a) FILTER (WHERE acquired_on <= $d), 0) / 1e4 AS acquired_ha,
           coalesce(sum(a) FILTER (WHERE leased_on <= $d AND NOT coalesce(lease_ended_on <= $d, false)), 0) / 1e4
               AS leased_ha
    FROM land GROUP BY bank
),
pparts AS (
    SELECT pl.project_id, b.bank,
           CASE WHEN ST_Within(pl.geom, b.geom) THEN ST_Area(pl.geom) ELSE ST_Area(ST_Intersection(pl.geom, b.geom)) END
               AS a
    FROM plots pl JOIN banks b ON ST_Intersects(pl.geom, b.geom) WHERE pl.project_id IS NOT NULL
),
pw AS (SELECT project_id, bank, a / sum(a) OVER (PARTITION BY project_id) AS w FROM pparts),
vp AS (
    SELECT pw.bank, sum(pw.w) AS valid_projects
    FROM pw JOIN {src["projects"]} pr ON pr.project_id = pw.project_id
    WHERE pr.licensed_on <= $d AND NOT coalesce(pr.revoked_on <= $d, false)
    GROUP BY pw.bank
)
SELECT b.bank, coalesce(park_area_ha, 0) AS park_area_ha, coalesce(planned_ha, 0) AS planned_ha,
       coalesce(acquired_ha, 0) AS acquired_ha, coalesce(leased_ha, 0) AS leased_ha,
       coalesce(valid_projects, 0) AS valid_projects
FROM banks b LEFT JOIN park_parts USING (bank) LEFT JOIN land_sum USING (bank) LEFT JOIN vp USING (bank)
ORDER BY b.bank
"""


def _progress_sql(src: dict[str, str]) -> str:
    g = src["geom"]
    rank = " ".join(f"WHEN '{s}' THEN {i + 1}" for i, s in enumerate(STAGES))
    counts = ",\n       ".join(f"count(*) FILTER (WHERE rank = {i + 1}) AS {s}_parcels" for i, s in enumerate(STAGES))
    return f"""
WITH ev AS (
    SELECT event_id, parcel_id, event, event_date, recorded_at, corrects_event_id
    FROM {src["clearance_events"]} WHERE event_date <= $d
),
voided AS (SELECT DISTINCT corrects_event_id AS event_id FROM ev
           WHERE event = 'correction' AND corrects_event_id IS NOT NULL),
live AS (SELECT * FROM ev ANTI JOIN voided USING (event_id)),
st AS (SELECT parcel_id, max(CASE event {rank} END) AS rank FROM live GROUP BY parcel_id),
cp AS (
    SELECT parcel_id,
           arg_max(event, struct_pack(d := event_date, r := event = 'complaint_resolved', t := recorded_at)) AS last
    FROM live WHERE event IN ('complaint', 'complaint_resolved') GROUP BY parcel_id
),
pc AS (
    SELECT p.park_id, ST_Area(p.{g}) / 1e4 AS ha, coalesce(st.rank, 0) AS rank,
           coalesce(cp.last = 'complaint', false) AS open
    FROM {src["parcels"]} p LEFT JOIN st ON st.parcel_id = p.parcel_id LEFT JOIN cp ON cp.parcel_id = p.parcel_id
)
SELECT park_id, count(*) AS parcels_total, sum(ha) AS area_total_ha,
       coalesce(sum(ha) FILTER (WHERE rank = 5), 0) AS handed_over_ha,
       count(*) FILTER (WHERE open) AS open_complaints,
       {counts}
FROM pc GROUP BY park_id ORDER BY park_id
"""


def _records(con: Any, sql: str, params: dict[str, Any], key: str) -> dict[str, float]:
    cur = con.execute(sql, params)
    cols = [c[0] for c in cur.description]
    out: dict[str, float] = {}
    for row in cur.fetchall():
        rec = dict(zip(cols, row, strict=True))
        k = rec.pop(key)
        for c, v in rec.items():
            out[f"{k}.{c}"] = float(v)
    return out


def job_fill(con: Any, src: dict[str, str], as_of: str) -> dict[str, float]:
    return _records(con, _fill_sql(src), {"d": as_of}, "park_id")


def job_balance(con: Any, src: dict[str, str], as_of: str) -> dict[str, float]:
    return _records(con, _balance_sql(src), {"d": as_of, "river": RIVER}, "bank")


def job_progress(con: Any, src: dict[str, str], as_of: str) -> dict[str, float]:
    return _records(con, _progress_sql(src), {"d": as_of}, "park_id")


def job_all(con: Any, src: dict[str, str], as_of: str) -> dict[str, float]:
    """Fill rates, balance and progress in one process: the totals the benchmark's ``end_to_end`` compares."""
    fill = job_fill(con, src, as_of)
    bal = job_balance(con, src, as_of)
    prog = job_progress(con, src, as_of)
    return {
        "leased_ha": sum(v for k, v in fill.items() if k.endswith(".leased_ha")),
        "balance_leased_ha": sum(v for k, v in bal.items() if k.endswith(".leased_ha")),
        "handed_over_ha": sum(v for k, v in prog.items() if k.endswith(".handed_over_ha")),
    }


JOBS = {"fill": job_fill, "balance": job_balance, "progress": job_progress, "all": job_all}


def run_job(job: str, path: str | Path, as_of: str, con: Any = None) -> dict[str, float]:
    """Run one job on ``path`` and return its numbers (keys as in ``bench/steps.py``)."""
    con = con or connect()
    return JOBS[job](con, sources(path), as_of)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="DuckDB spatial peer of the kcn_gis analytics benchmark")
    p.add_argument("job", choices=sorted(JOBS))
    p.add_argument("path", help="ATLAS.gpkg or a partitioned GeoParquet DIR.parquet")
    p.add_argument("--as-of", default="2025-01-01")
    p.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    p.add_argument("--json", action="store_true", help="print one RESULT line with the numbers and the job time")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    try:
        con = connect(args.threads)
    except UnavailableError as exc:
        print(f"SKIP {exc}", flush=True)
        return 3
    t1 = time.perf_counter()
    result = JOBS[args.job](con, sources(args.path), args.as_of)
    t2 = time.perf_counter()
    if args.json:
        print("RESULT " + json.dumps({"seconds": t2 - t0, "load_seconds": t1 - t0, "result": result}))
    else:
        for k, v in result.items():
            print(f"{k}\t{v:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
