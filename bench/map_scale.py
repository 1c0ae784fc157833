"""Benchmark: the kcn_gis clearance map against lonboard and ``geopandas.explore()`` on the same synthetic atlas.

Every cell is a fresh Python process, and the cells are interleaved (kcn_gis,
lonboard, explore, the CLI, then again) so that a busy machine slows every side
alike. Each process opens the same GeoPackage (from ``bench/synth.py``) and
reads the layers the map needs (``load``), then builds the map into an HTML
file (``build``):

* ``kcn``: :func:`kcn_gis.maps.clearance_map` + :func:`~kcn_gis.maps.save_map`
  with ``offline=True`` (what ``kcn-gis map clearance --offline`` does); the
  online page (CDN scripts, as explore's) is then written too, untimed, for its size;
* ``lonboard``: ``bench/peers/lonboard_map.py``: the same stages (one
  :func:`~kcn_gis.clearance.parcel_stages` call), the same popup fields and
  colours, ``lonboard.Map(...).to_html()``;
* ``explore``: ``parcels.explore().save(...)`` (folium GeoJSON), for the HTML
  size and the render time only (at most ``--explore-max`` parcels);
* ``kcn_cli``: the command ``kcn-gis map clearance --offline`` itself, timed as
  a whole process (imports, open, build, write).

For every cell it records the build time, the load time, the whole process's
wall time and its peak memory (``VmHWM`` of the cell process; for the CLI the
child's ``ru_maxrss``), and the HTML size. Then it opens the kcn_gis page and
the explore page in headless Debian Chromium (Playwright with
``executable_path``, network requests aborted, ``file://``) and measures the
time from navigation to two animation frames after every feature was drawn.
lonboard's page loads its widget manager from a CDN, so it cannot be rendered
without network and is not.

Usage::

    .venv/bin/python bench/map_scale.py --sizes 100k,1m --repeat 3
    .venv/bin/python bench/map_scale.py --sizes 10k --repeat 1 --no-browser     # quick

Atlases are read from ``~/.cache/kcn_gis_bench/synth_<N>_16_s0.gpkg`` (generated
with ``bench/synth.py`` when missing) or given with ``--atlas N=PATH``.
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
sys.path.insert(0, str(HERE))

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Set a flag two animation frames after the load event (all inline scripts have run by then).
DRAWN_JS = """
window.__drawn = null;
window.addEventListener('load', () => requestAnimationFrame(() => requestAnimationFrame(() => {
  window.__drawn = performance.now();
})));
"""
LAYERS = ("parks", "parcels", "clearance_events", "province", "rivers")
IMPLS = ("kcn", "lonboard", "explore", "kcn_cli")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


# -- one cell, in its own process ---------------------------------------------------------------------
def _cell(impl: str, atlas_path: str, out: Path, as_of: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    from kcn_gis import open_atlas

    atlas = open_atlas(atlas_path)
    for name in LAYERS:
        getattr(atlas, name)
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    if impl == "kcn":
        from kcn_gis.maps import clearance_map, save_map

        save_map(clearance_map(atlas, as_of=as_of), out, offline=True)
    elif impl == "lonboard":
        from peers.lonboard_map import available, build

        why = available()
        if why:
            return {"skipped": why}
        build(atlas, out, as_of=as_of)
    elif impl == "explore":
        atlas.parcels.explore().save(str(out))
    else:
        raise SystemExit(f"unknown cell {impl}")
    build_s = time.perf_counter() - t1
    res = {"load_s": load_s, "build_s": build_s, "peak_mb": _hwm_kb() / 1024, "size_bytes": out.stat().st_size}
    if impl == "kcn":  # the online page too (CDN scripts, like explore's), not timed (peak memory taken before)
        online = out.with_name(out.stem + "_online.html")
        save_map(clearance_map(atlas, as_of=as_of), online)
        res["size_online_bytes"] = online.stat().st_size
    return res


def _run_cell(impl: str, atlas_path: Path, out: Path, as_of: str) -> dict[str, Any]:
    """Run one cell in a fresh process; wall time and the child's peak RSS measured from here."""
    if impl == "kcn_cli":
        exe = Path(sys.executable).with_name("kcn-gis")
        cmd = [str(exe), "map", "clearance", "--offline", "--atlas", str(atlas_path), "--as-of", as_of]
        cmd += ["--out", str(out), "--quiet"]
    else:
        cmd = [sys.executable, __file__, "--cell", impl, "--atlas-path", str(atlas_path), "--out", str(out)]
        cmd += ["--as-of", as_of]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    stdout, stderr = proc.stdout.read(), proc.stderr.read()  # type: ignore[union-attr]
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"cell {impl} failed ({proc.returncode}):\n{stderr[-3000:]}")
    res: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1]) if impl != "kcn_cli" else {}
    res["wall_s"] = wall
    res["child_maxrss_mb"] = usage.ru_maxrss / 1024
    if impl == "kcn_cli":
        res["peak_mb"] = res["child_maxrss_mb"]
        res["size_bytes"] = out.stat().st_size
    return res


# -- rendering ----------------------------------------------------------------------------------------
def _offline_copy(src: Path, dst: Path) -> Path:
    """explore's page with Leaflet/jQuery inlined and CDN-only extras dropped (no network in the benchmark)."""
    import re

    from kcn_gis.maps.assets import inline_html

    html = src.read_text(encoding="utf-8")
    html = re.sub(r"https://tile\.openstreetmap\.org/\{z\}/\{x\}/\{y\}\.png", "", html)
    dst.write_text(inline_html(html), encoding="utf-8")
    return dst


def _render_time(browser: Any, path: Path, count_js: str, expected: int, timeout_s: float) -> tuple[float, int]:
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    try:
        page.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:")) else r.abort())
        page.add_init_script(DRAWN_JS)
        page.goto(path.as_uri(), wait_until="commit", timeout=timeout_s * 1000)
        page.wait_for_function(
            "window.__drawn !== null && window.__drawn !== undefined", timeout=timeout_s * 1000, polling=100
        )
        drawn_ms = page.evaluate("window.__drawn")
        n = int(page.evaluate(count_js))
        if n != expected:
            print(f"warning: {path.name}: {n} features drawn, expected {expected}", file=sys.stderr)
        return drawn_ms / 1000, n
    finally:
        page.close()


def _atlas_for(label: str, n: int, given: dict[str, str], seed: int) -> Path:
    if label in given:
        return Path(given[label])
    path = Path.home() / ".cache" / "kcn_gis_bench" / f"synth_{n}_16_s{seed}.gpkg"
    if not path.exists():
        print(f"generating {path} ...", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, str(HERE / "synth.py"), "--parcels", str(n), "--parks", "16", "--out", str(path)]
        subprocess.run([*cmd, "--seed", str(seed)], check=True)
    return path


def _median(rows: list[dict[str, Any]], key: str) -> float | None:
    vals = [r[key] for r in rows if key in r]
    return statistics.median(vals) if vals else None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", default="100k,1m", help="comma-separated: 10k, 100k, 1m")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--impls", default=",".join(IMPLS), help=f"comma-separated subset of {', '.join(IMPLS)}")
    p.add_argument("--explore-max", type=int, default=200_000, help="skip explore() above this many parcels")
    p.add_argument("--atlas", action="append", default=[], metavar="SIZE=PATH", help="e.g. 1m=/data/atlas.gpkg")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--as-of", default="2011-12-26")
    p.add_argument("--out-dir", help="keep the HTML files here (default: a temporary directory)")
    p.add_argument("--no-browser", action="store_true", help="skip the chromium render timing")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for a page to draw")
    p.add_argument("--json", default=str(HERE / "out" / "map_scale.json"), help="write the results here")
    # internal: one cell
    p.add_argument("--cell", help=argparse.SUPPRESS)
    p.add_argument("--atlas-path", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.cell:
        print(json.dumps(_cell(args.cell, args.atlas_path, Path(args.out), args.as_of)))
        return 0

    tmp = tempfile.TemporaryDirectory(prefix="kcn_map_scale_")
    d = Path(args.out_dir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    given = dict(a.split("=", 1) for a in args.atlas)
    impls = [i for i in args.impls.split(",") if i]
    report: dict[str, Any] = {"as_of": args.as_of, "repeat": args.repeat, "sizes": {}}
    for label in args.sizes.split(","):
        n = SIZES[label]
        atlas = _atlas_for(label, n, given, args.seed)
        todo = [i for i in impls if i != "explore" or n <= args.explore_max]
        runs: dict[str, list[dict[str, Any]]] = {i: [] for i in todo}
        for r in range(args.repeat):
            order = todo[r % len(todo) :] + todo[: r % len(todo)]  # rotate who goes first
            for impl in order:
                res = _run_cell(impl, atlas, d / f"{label}_{impl}.html", args.as_of)
                runs[impl].append(res)
                shown = {k: round(v, 2) if isinstance(v, float) else v for k, v in res.items()}
                print(f"{label} run {r + 1} {impl}: {shown}", flush=True)
        summary = {
            i: {
                k: _median(rs, k) for k in ("build_s", "load_s", "wall_s", "peak_mb", "size_bytes", "size_online_bytes")
            }
            | {"runs": rs}
            for i, rs in runs.items()
        }
        if not args.no_browser and "kcn" in runs:
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                try:
                    renders = [
                        _render_time(
                            browser,
                            d / f"{label}_kcn.html",
                            "kcnGis.ready ? kcnGis.layers.parcels.painted : -1",
                            n,
                            args.timeout,
                        )
                        for _ in range(max(1, args.repeat))
                    ]
                    summary["kcn"]["render_s"] = statistics.median(x[0] for x in renders)
                    summary["kcn"]["renders_s"] = [x[0] for x in renders]
                    summary["kcn"]["drawn"] = renders[-1][1]
                    if "explore" in runs:
                        off = _offline_copy(d / f"{label}_explore.html", d / f"{label}_explore_offline.html")
                        summary["explore"]["size_offline_bytes"] = off.stat().st_size
                        t, k = _render_time(
                            browser, off, "document.querySelectorAll('.leaflet-overlay-pane path').length", n, 1800
                        )
                        summary["explore"]["render_s"], summary["explore"]["drawn"] = t, k
                finally:
                    browser.close()
        report["sizes"][label] = {"parcels": n, "atlas": str(atlas), "results": summary}
        _print(label, n, summary)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(report, indent=2))
    print(f"wrote {args.json}")
    tmp.cleanup()
    return 0


def _print(label: str, n: int, s: dict[str, Any]) -> None:
    def f(v: Any, fmt: str = ".2f") -> str:
        return "—" if v is None else format(v, fmt)

    print(f"\n{label} ({n} parcels), medians")
    print(f"{'':10s}{'build s':>10s}{'load s':>10s}{'process s':>11s}{'peak MB':>10s}{'HTML MB':>10s}{'render s':>10s}")
    for impl, r in s.items():
        size = r.get("size_bytes")
        print(
            f"{impl:10s}{f(r.get('build_s')):>10s}{f(r.get('load_s')):>10s}{f(r.get('wall_s')):>11s}"
            f"{f(r.get('peak_mb'), '.0f'):>10s}{f(size / 1e6 if size else None):>10s}{f(r.get('render_s')):>10s}"
        )
    k, lb, ex = s.get("kcn", {}), s.get("lonboard", {}), s.get("explore", {})
    if k.get("build_s") and lb.get("build_s"):
        print(f"build kcn/lonboard: {k['build_s'] / lb['build_s']:.2f}x (target <= 1)")
    if k.get("size_online_bytes") and ex.get("size_bytes"):
        print(f"HTML size kcn/explore, both online: {k['size_online_bytes'] / ex['size_bytes']:.3f}x (target <= 0.12)")
    if k.get("size_bytes") and ex.get("size_offline_bytes"):
        print(f"HTML size kcn/explore, both offline: {k['size_bytes'] / ex['size_offline_bytes']:.3f}x")
    if k.get("render_s") and ex.get("render_s"):
        print(f"first render kcn/explore: {k['render_s'] / ex['render_s']:.3f}x")


if __name__ == "__main__":
    sys.exit(main())
