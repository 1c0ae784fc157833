"""``pip install`` gives a working kcn_gis: a wheel built from the checkout, installed outside it.

The wheel is built with the checkout's own environment (``pip wheel --no-deps
--no-build-isolation --no-index``: no network), installed with ``pip install --no-deps
--target`` into a temporary ``site`` folder, and run from a temporary working
directory outside the checkout with ``PYTHONPATH=site``. Every run asserts that the
``kcn_gis`` imported is the installed copy (its ``__file__`` under ``site``), not the
editable one of the checkout, and the bundled atlas is built into a cache directory
the test points at (``XDG_CACHE_HOME``, honoured by platformdirs on Linux).
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HA = 10_000.0

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG_CACHE_HOME is the Linux cache location"),
]


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    # build from a clean copy of the sources, so that no stale build/ folder of the checkout leaks into the wheel
    src = tmp_path_factory.mktemp("src")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "kcn_gis", src / "kcn_gis", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    dist = tmp_path_factory.mktemp("dist")
    proc = _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-v",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(dist),
            str(src),
        ]
    )
    wheels = list(dist.glob("kcn_gis-*.whl"))
    assert len(wheels) == 1, proc.stdout
    return wheels[0], proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("site")
    _run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--target", str(target), str(wheel[0])])
    return target


@pytest.fixture
def env(site, tmp_path) -> dict[str, str]:
    """An environment that sees the installed copy first, with a fresh cache and home."""
    out = {k: v for k, v in os.environ.items() if k not in {"KCN_GIS_BUNDLED_ATLAS", "PYTHONPATH"}}
    (tmp_path / "home").mkdir()
    out.update(
        PYTHONPATH=str(site),
        PYTHONNOUSERSITE="1",
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HOME=str(tmp_path / "home"),
    )
    return out


@pytest.fixture
def workdir(tmp_path) -> Path:
    work = tmp_path / "elsewhere"
    work.mkdir()
    assert REPO not in work.parents
    return work


_PROBE = """
import json, kcn_gis
from kcn_gis.schema import Col
atlas = kcn_gis.open_atlas()
print(json.dumps({
    "file": kcn_gis.__file__,
    "version": kcn_gis.__version__,
    "bundled": str(kcn_gis.bundled_atlas_path()),
    "parks": sorted(atlas.parks[Col.PARK_ID]),
    "area_ha": float(atlas.parks.geometry.area.sum()),
}))
"""


def _facts_parks(site: Path) -> list[dict[str, str]]:
    with open(site / "kcn_gis" / "bundled" / "parks_2011.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_wheel_carries_the_package_data_and_no_licence_warning(wheel):
    path, log = wheel
    names = set(zipfile.ZipFile(path).namelist())
    for needed in (
        "kcn_gis/py.typed",
        "kcn_gis/_version.py",
        "kcn_gis/maps/runtime.js",
        "kcn_gis/maps/runtime.css",
        "kcn_gis/bundled/build_atlas.py",
        "kcn_gis/bundled/parks_2011.csv",
        "kcn_gis/bundled/places_outline.csv",
        "kcn_gis/bundled/places_duong.csv",
        "kcn_gis/bundled/anchor_projects.csv",
        "kcn_gis/bundled/clearance_communes.csv",
    ):
        assert needed in names, needed
    assert not any(n.endswith(".gpkg") for n in names), "the atlas is built on first use, not shipped"
    assert not any(n.startswith(("tests/", "data/", "bench/")) for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(path).read(metadata).decode()
    assert re.search(r"^License-Expression: MIT$", text, re.MULTILINE), text[:800]
    requires = re.findall(r"^Requires-Dist: ([A-Za-z0-9_.-]+)", text, re.MULTILINE)
    for dep in ("platformdirs", "xstatic-leaflet", "xstatic-jquery", "xstatic-font-awesome", "folium"):
        assert dep in requires
    # setuptools prints its deprecation warnings (e.g. "`project.license` as a TOML table is deprecated") with -v
    assert "BuildBackendWarning" not in log and "deprecated" not in log.lower(), log


def test_open_atlas_from_another_directory_builds_into_the_cache(site, env, workdir):
    cache = Path(env["XDG_CACHE_HOME"])
    proc = _run([sys.executable, "-c", _PROBE], cwd=workdir, env=env)
    got = json.loads(proc.stdout)
    assert Path(got["file"]).is_relative_to(site), got["file"]
    assert got["version"] == "0.1.0"
    bundled = Path(got["bundled"])
    assert bundled.parent == cache / "kcn_gis" and bundled.suffix == ".gpkg" and bundled.is_file()
    facts = _facts_parks(site)
    assert got["parks"] == sorted(row["park_id"] for row in facts)
    listed = sum(float(row["listed_area_ha"]) for row in facts)
    assert got["area_ha"] / HA == pytest.approx(listed, abs=0.01)
    # no leftovers of the build, and nothing written beside the working directory
    assert sorted(p.name for p in bundled.parent.iterdir() if p.suffix == ".gpkg") == [bundled.name]
    assert list(workdir.iterdir()) == []


def test_report_and_offline_map_from_the_installed_copy(site, env, workdir):
    proc = _run([sys.executable, "-m", "kcn_gis", "report", "--format", "json"], cwd=workdir, env=env)
    rows = {row["figure"]: row for row in json.loads(proc.stdout)}
    listed = sum(float(row["listed_area_ha"]) for row in _facts_parks(site))
    assert rows["Total park area"]["computed_value"] == pytest.approx(listed, abs=0.01)
    assert rows["Parks on the Prime Minister's list"]["computed_value"] == len(_facts_parks(site))

    out = workdir / "investor.html"
    entry = site / "bin" / "kcn-gis"
    assert entry.is_file()
    _run([str(entry), "map", "investor", "--offline", "--out", str(out)], cwd=workdir, env=env)
    html = out.read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://""", html, re.IGNORECASE)
    import xstatic.pkg.leaflet as leaflet

    leaflet_js = (Path(leaflet.BASE_DIR) / "leaflet.js").read_text(encoding="utf-8")
    assert leaflet_js[-2000:].strip() in html, "Leaflet is not inlined from xstatic-leaflet"
    runtime = (site / "kcn_gis" / "maps" / "runtime.js").read_text(encoding="utf-8")
    assert "window.kcnGisMaps.push(rt);" in runtime and "window.kcnGisMaps.push(rt);" in html, "no canvas renderer"
    # the command really ran the installed copy
    probe = _run([sys.executable, "-c", "import kcn_gis; print(kcn_gis.__file__)"], cwd=workdir, env=env)
    assert Path(probe.stdout.strip()).is_relative_to(site)


def test_two_first_uses_at_once_build_one_good_cache_file(site, env, workdir):
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _PROBE],
            cwd=workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert results[0] == results[1]
    bundled = Path(results[0]["bundled"])
    assert [p.name for p in bundled.parent.iterdir() if p.suffix == ".gpkg"] == [bundled.name]
    assert len(results[0]["parks"]) == len(_facts_parks(site))


def test_a_killed_first_build_leaves_no_file_and_the_next_use_builds_it(site, env, workdir):
    cache = Path(env["XDG_CACHE_HOME"]) / "kcn_gis"
    p = subprocess.Popen([sys.executable, "-c", _PROBE], cwd=workdir, env=env, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(cache.glob(".*.tmp.gpkg")):
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert p.returncode == -signal.SIGKILL
    # whatever the kill interrupted, no half-built atlas is in place
    assert [x for x in cache.glob("*.gpkg") if not x.name.startswith(".")] == []
    got = json.loads(_run([sys.executable, "-c", _PROBE], cwd=workdir, env=env).stdout)
    assert len(got["parks"]) == len(_facts_parks(site))
