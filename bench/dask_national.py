"""The national run: fill rates, river balance and clearance progress on the Dask engine.

Usage::

    python bench/synth.py --parcels 10000000 --parks 400 --out /tmp/national.parquet
    python bench/dask_national.py /tmp/national.parquet [--workers 2] [--memory-limit 10GB]

Starts a local ``dask.distributed`` cluster (``--workers`` processes, one
thread each), runs each analytic once on it and prints the wall time of each,
plus the peak resident memory of the whole process tree (client + workers,
sampled every 0.2 s with psutil). Results go to stdout as JSON too.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import psutil


class _PeakRSS:
    """Sample the summed RSS of this process and all its children in a background thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)
            time.sleep(self.interval)

    def __enter__(self) -> _PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("parquet_dir")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--memory-limit", default="10GB", help="per worker")
    p.add_argument("--as-of", default="2025-01-01")
    args = p.parse_args(argv)

    from distributed import Client, LocalCluster

    from kcn_gis.dask_engine import clearance_progress_dask, fill_rates_dask, river_balance_dask
    from kcn_gis.store.geoparquet import read_manifest

    manifest = read_manifest(args.parquet_dir)
    out: dict[str, object] = {"parquet_dir": str(Path(args.parquet_dir)), "layers": manifest.get("layers")}
    t_all = time.perf_counter()
    with (
        _PeakRSS() as peak,
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=args.memory_limit,
            dashboard_address=":0",
        ) as cluster,
        Client(cluster) as client,
    ):
        runs = {
            "fill_rates_by_park": lambda: fill_rates_dask(args.parquet_dir, as_of=args.as_of, scheduler=client),
            "fill_rates_by_province": lambda: fill_rates_dask(
                args.parquet_dir, as_of=args.as_of, by="province", scheduler=client
            ),
            "river_balance": lambda: river_balance_dask(args.parquet_dir, as_of=args.as_of, scheduler=client),
            "clearance_progress": lambda: clearance_progress_dask(args.parquet_dir, as_of=args.as_of, scheduler=client),
        }
        for name, fn in runs.items():
            t0 = time.perf_counter()
            try:
                res = fn()
            except Exception as exc:  # recorded, not hidden
                out[name] = {"error": f"{type(exc).__name__}: {exc}"}
                print(f"{name}: FAILED {type(exc).__name__}: {exc}", flush=True)
                continue
            seconds = time.perf_counter() - t0
            summary = {
                c: float(res[c].sum())
                for c in ("planned_ha", "leased_ha", "handed_over_ha", "parcels_total")
                if c in res.columns
            }
            out[name] = {"seconds": round(seconds, 2), "rows": len(res), "sums": summary}
            print(f"{name}: {seconds:.1f} s, {len(res)} rows, {summary}", flush=True)
    out["total_seconds"] = round(time.perf_counter() - t_all, 1)
    out["peak_rss_tree_gb"] = round(peak.peak / 1024**3, 2)
    out["workers"] = args.workers
    out["memory_limit_per_worker"] = args.memory_limit
    print("RESULT " + json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
