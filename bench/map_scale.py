"""Benchmark: our clearance map vs ``geopandas.explore()`` on the same synthetic 100 000-parcel atlas.

In one run, on one atlas from ``bench/synth.py``'s ``generate(...)``, it measures for
both maps:

* HTML size (bytes) of the page as saved (online: CDN scripts; and offline: scripts inlined);
* build time (s): from the in-memory frames to the HTML file on disk;
* time to first render in headless Debian chromium (Playwright, network blocked,
  file:// page with Leaflet inlined from xstatic for both): from navigation start
  until the page's scripts have run, every feature has been added, and two
  animation frames have passed (so the canvas/SVG has been painted). It also
  checks the drawn feature count (features painted on the canvas for ours, SVG paths for explore).

and prints both and the ratios ours / explore. Targets: size <= 1/5, render <= 1/10.

Usage::

    .venv/bin/python bench/map_scale.py --parcels 100000 --parks 16
    .venv/bin/python bench/map_scale.py --parcels 10000 --no-browser     # quick
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent))

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


def _atlas(parcels: int, parks: int, seed: int) -> SimpleNamespace:
    from synth import generate

    layers = generate(parcels, parks, seed=seed)
    return SimpleNamespace(**{str(k): v for k, v in layers.items()})


def _build_ours(atlas, out: Path, as_of: str, offline: bool) -> float:
    from kcn_gis.maps import clearance_map, save_map

    t = time.perf_counter()
    save_map(clearance_map(atlas, as_of=as_of, tiles="OpenStreetMap"), out, offline=offline)
    return time.perf_counter() - t


def _build_explore(atlas, out: Path) -> float:
    t = time.perf_counter()
    atlas.parcels.explore().save(str(out))
    return time.perf_counter() - t


def _offline_copy(src: Path, dst: Path) -> Path:
    """The same page with Leaflet/jQuery inlined and CDN-only extras dropped (no network in the benchmark)."""
    import re

    from kcn_gis.maps.assets import inline_html

    html = src.read_text(encoding="utf-8")
    # tiles cannot load without network either way; drop the tile layer URL so nothing is requested
    html = re.sub(r"https://tile\.openstreetmap\.org/\{z\}/\{x\}/\{y\}\.png", "", html)
    dst.write_text(inline_html(html), encoding="utf-8")
    return dst


def _render_time(browser, path: Path, count_js: str, expected: int, timeout_s: float) -> tuple[float, int]:
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parcels", type=int, default=100_000)
    p.add_argument("--parks", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--as-of", default="2011-12-26")
    p.add_argument("--out-dir", help="keep the HTML files here (default: a temporary directory)")
    p.add_argument("--no-browser", action="store_true", help="skip the chromium render timing")
    p.add_argument("--timeout", type=float, default=600, help="seconds to wait for a page to draw")
    p.add_argument("--json", help="also write the results as JSON to this file")
    args = p.parse_args(argv)

    tmp = tempfile.TemporaryDirectory(prefix="kcn_map_scale_")
    d = Path(args.out_dir or tmp.name)
    d.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    atlas = _atlas(args.parcels, args.parks, args.seed)
    n = len(atlas.parcels)
    print(f"synthetic atlas: {n} parcels, {len(atlas.parks)} parks ({time.perf_counter() - t:.1f} s)")

    # warm up (imports, folium's template compilation) so neither side pays one-off costs
    small = _atlas(200, 2, args.seed)
    _build_ours(small, d / "warmup_ours.html", args.as_of, offline=True)
    _build_explore(small, d / "warmup_explore.html")

    res: dict[str, dict[str, float]] = {"ours": {}, "explore": {}}
    res["ours"]["build_s"] = _build_ours(atlas, d / "ours.html", args.as_of, offline=False)
    res["ours"]["build_offline_s"] = _build_ours(atlas, d / "ours_offline.html", args.as_of, offline=True)
    res["explore"]["build_s"] = _build_explore(atlas, d / "explore.html")
    _offline_copy(d / "explore.html", d / "explore_offline.html")
    for who in ("ours", "explore"):
        res[who]["size_bytes"] = (d / f"{who}.html").stat().st_size
        res[who]["size_offline_bytes"] = (d / f"{who}_offline.html").stat().st_size

    if not args.no_browser:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            try:
                res["ours"]["render_s"], res["ours"]["drawn"] = _render_time(
                    browser,
                    d / "ours_offline.html",
                    "kcnGis.ready ? kcnGis.layers.parcels.painted : -1",
                    n,
                    args.timeout,
                )
                res["explore"]["render_s"], res["explore"]["drawn"] = _render_time(
                    browser,
                    d / "explore_offline.html",
                    "document.querySelectorAll('.leaflet-overlay-pane path').length",
                    n,
                    args.timeout,
                )
            finally:
                browser.close()

    o, e = res["ours"], res["explore"]
    print(f"{'':24s}{'ours':>14s}{'explore':>14s}{'ratio':>10s}")
    rows = [
        ("HTML size (MB)", "size_bytes", 1e-6),
        ("HTML size offline (MB)", "size_offline_bytes", 1e-6),
        ("build time (s)", "build_s", 1.0),
        ("first render (s)", "render_s", 1.0),
    ]
    ratios = {}
    for label, key, scale in rows:
        if key in o and key in e:
            ratios[key] = o[key] / e[key]
            print(f"{label:24s}{o[key] * scale:14.2f}{e[key] * scale:14.2f}{ratios[key]:10.3f}")
    if "render_s" in o:
        print(f"features drawn: ours {o['drawn']}, explore {e['drawn']} (expected {n})")
    print(f"targets: size ratio <= 0.20 ({'met' if ratios['size_bytes'] <= 0.2 else 'NOT met'})", end="")
    if "render_s" in ratios:
        print(f", render ratio <= 0.10 ({'met' if ratios['render_s'] <= 0.1 else 'NOT met'})")
    else:
        print()
    if args.json:
        Path(args.json).write_text(json.dumps({"parcels": n, "results": res, "ratios": ratios}, indent=2))
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
