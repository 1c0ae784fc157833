"""Run every kcn_gis benchmark against its plain-geopandas equivalent: ``python bench/run.py``.

For each size N (default 10k, 100k and 1M parcels) the runner

1. generates a synthetic atlas with ``bench/synth.py`` (cached in ``--data``,
   default ``$KCN_BENCH_DATA`` or ``~/.cache/kcn_gis_bench``);
2. runs every step (``open``, ``fill_rates``, ``balance``, ``clearance``,
   ``validate``, ``map``, ``end_to_end``) twice, once with kcn_gis and once with
   the plain-geopandas script of :mod:`steps`, **each in a fresh subprocess**,
   so nothing is cached between them and peak memory is per run;
3. times only the step (inputs that the step does not read itself are loaded
   before the clock starts and are the same frames for both), records the
   process's peak resident memory (``VmHWM``, whole process) and the peak growth
   during the step, and checks that both implementations give the same numbers;
4. prints a table with both times and the speed-up (plain / kcn_gis), and writes
   all numbers to ``bench/results.json``.

Examples::

    python bench/run.py                          # everything (the 1M runs take minutes)
    python bench/run.py --sizes 10k,100k         # quick
    python bench/run.py --sizes 1m --steps end_to_end,fill_rates
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}
#: Parks per size: the province grows with the cadastre.
PARKS = {10_000: 16, 100_000: 16, 1_000_000: 16}
DEFAULT_STEPS = ("open", "fill_rates", "balance", "clearance", "validate", "map", "end_to_end")
#: Steps whose plain-geopandas baseline is skipped at large N (recorded with the reason).
SKIP_PLAIN = {("map", 1_000_000): "explore() of the 1M-parcel atlas is skipped (see RESULTS.md)"}
TOL_HA = 1e-6


# -- child side: one step, one implementation, fresh process --------------------------------------------------------
def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def child(step: str, impl: str, path: str) -> None:
    import resource

    sys.path.insert(0, str(HERE))
    import steps

    t_load = time.perf_counter()
    inputs = steps.load_inputs(Path(path), step)
    load_s = time.perf_counter() - t_load
    before_kb = _status_kb("VmRSS")
    reset = _reset_peak()
    fn = steps.STEPS[step][0 if impl == "kcn" else 1]
    t0 = time.perf_counter()
    result = fn(inputs)
    seconds = time.perf_counter() - t0
    peak_kb = _status_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        "RESULT "
        + json.dumps(
            {
                "seconds": seconds,
                "load_seconds": load_s,
                "rss_before_mb": before_kb / 1024,
                "peak_mb": max(peak_kb, before_kb) / 1024,
                "step_peak_growth_mb": max(peak_kb - before_kb, 0) / 1024,
                "process_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "result": result,
            }
        )
    )


# -- parent side ------------------------------------------------------------------------------------------------------
def _run_child(step: str, impl: str, path: Path, timeout: float) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step, impl, str(path)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    wall = time.perf_counter() - t0
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            out = json.loads(line[7:])
            out["wall_seconds"] = wall
            return out
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {"error": " | ".join(tail) or f"exit code {proc.returncode}"}


def _compare(a: dict[str, float], b: dict[str, float]) -> tuple[bool, float]:
    if set(a) != set(b):
        missing = sorted(set(a) ^ set(b))[:3]
        return False, float("inf") if missing else 0.0
    diff = max((abs(a[k] - b[k]) for k in a), default=0.0)
    return diff <= TOL_HA + 1e-9 * max((abs(v) for v in a.values()), default=0.0), diff


def ensure_data(n: int, data_dir: Path, seed: int) -> tuple[Path, float | None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / f"synth_{n}_{PARKS[n]}_s{seed}.gpkg"
    if path.exists():
        return path, None
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            str(HERE / "synth.py"),
            "--parcels",
            str(n),
            "--parks",
            str(PARKS[n]),
            "--seed",
            str(seed),
            "--out",
            str(path),
        ],
        check=True,
    )
    return path, time.perf_counter() - t0


def machine_info() -> dict[str, Any]:
    import geopandas
    import pandas
    import pyarrow
    import pyogrio
    import shapely

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(mem_gb, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "geopandas": geopandas.__version__,
        "shapely": shapely.__version__,
        "pandas": pandas.__version__,
        "pyogrio": pyogrio.__version__,
        "gdal": pyogrio.__gdal_version_string__,
        "pyarrow": pyarrow.__version__,
    }


def _fmt_s(r: dict[str, Any]) -> str:
    return f"{r['seconds']:.2f}" if "seconds" in r else "—"


def _fmt_mb(r: dict[str, Any]) -> str:
    return f"{r['peak_mb']:.0f}" if "peak_mb" in r else "—"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="kcn_gis benchmarks against plain geopandas")
    p.add_argument("--child", nargs=3, metavar=("STEP", "IMPL", "PATH"), help=argparse.SUPPRESS)
    p.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k,100k,1m")
    p.add_argument("--steps", default=",".join(DEFAULT_STEPS))
    p.add_argument("--data", default=os.environ.get("KCN_BENCH_DATA", str(Path.home() / ".cache" / "kcn_gis_bench")))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    p.add_argument("--only", choices=("kcn", "plain"), help="run one implementation only")
    p.add_argument("--json", default=str(HERE / "results.json"), help="where to write all numbers")
    args = p.parse_args(argv)
    if args.child:
        child(*args.child)
        return 0

    info = machine_info()
    print("machine:", json.dumps(info))
    steps_wanted = [s.strip() for s in args.steps.split(",") if s.strip()]
    all_results: dict[str, Any] = {"machine": info, "runs": []}
    header = f"{'N':>9} {'step':<11} {'kcn s':>8} {'plain s':>8} {'speed-up':>8} {'kcn MB':>7} {'plain MB':>8}  same"
    rows: list[str] = []
    for size in [s.strip().lower() for s in args.sizes.split(",") if s.strip()]:
        n = SIZES[size]
        path, gen_s = ensure_data(n, Path(args.data), args.seed)
        if gen_s is not None:
            print(f"generated {path} in {gen_s:.1f} s")
        print(header)
        for step in steps_wanted:
            res: dict[str, dict[str, Any]] = {}
            for impl in ("kcn", "plain"):
                if args.only and impl != args.only:
                    res[impl] = {"skipped": "--only"}
                    continue
                reason = SKIP_PLAIN.get((step, n)) if impl == "plain" else None
                res[impl] = {"skipped": reason} if reason else _run_child(step, impl, path, args.timeout)
            k, pl = res["kcn"], res["plain"]
            speed = pl["seconds"] / k["seconds"] if "seconds" in k and "seconds" in pl and k["seconds"] > 0 else None
            same: bool | None = None
            diff: float | None = None
            if "result" in k and "result" in pl:
                same, diff = _compare(k["result"], pl["result"])
            note = "; ".join(f"{i}: {r.get('error') or r.get('skipped')}" for i, r in res.items() if "seconds" not in r)
            line = (
                f"{n:>9} {step:<11} {_fmt_s(k):>8} {_fmt_s(pl):>8} "
                f"{(f'{speed:.1f}x' if speed else '—'):>8} {_fmt_mb(k):>7} {_fmt_mb(pl):>8}  "
                f"{'—' if same is None else ('yes' if same else f'NO (max diff {diff:.3g})')}"
                + (f"  [{note}]" if note else "")
            )
            print(line, flush=True)
            rows.append(line)
            all_results["runs"].append(
                {"n": n, "step": step, "kcn": k, "plain": pl, "speedup": speed, "same": same, "max_diff": diff}
            )
            Path(args.json).write_text(json.dumps(all_results, indent=1, default=str))
    print("\n" + header + "\n" + "\n".join(rows))
    print(f"\nall numbers: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
