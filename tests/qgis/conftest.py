"""Fixtures of the QGIS tests: a hand-built atlas with one feature of every class, and real QGIS in a subprocess.

QGIS is not importable from the .venv: the tests run Debian's ``/usr/bin/python3`` with
``python3-qgis`` (QGIS 3.22, GDAL 3.6) on :mod:`tests.qgis.qgis_probe`, offscreen. Without it
the tests skip with the reason, unless ``KCN_GIS_REQUIRE_QGIS=1`` (CI), which makes them fail.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.schema import Col, Layer
from tests.conftest import CRS, E0, N0, box, ts

#: Debian's Python, where ``python3-qgis`` installs the ``qgis`` package.
QGIS_PYTHON = os.environ.get("KCN_GIS_QGIS_PYTHON", "/usr/bin/python3")
PROBE = Path(__file__).with_name("qgis_probe.py")
#: Rendered PNGs go here (repository root, ignored by git; CI keeps them).
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

#: The class each hand-built feature must fall in (derived by hand from its attributes, see make_styled_layers).
EXPECTED_PLOTS = {
    "A": "industrial:planned",  # no dates
    "B": "industrial:acquired",  # acquired 2005, never leased: available
    "C": "industrial:leased",  # leased 2006, lease running
    "D": "industrial:acquired",  # lease ended 2009: acquired again
    "E": "services",
    "F": "infrastructure",
    "G": "green",
    "H": "other",
}
EXPECTED_PARKS = {"OP": "operating", "CO": "construction", "PR": "preparing"}
EXPECTED_RIVERS = {"Sông Đuống": "duong", "Sông Cầu": "river"}
#: Stage classes on 2011-12-26.
EXPECTED_CLEARANCE = {"Q1": "not_started", "Q2": "notified", "Q3": "compensated:complaint"}
AS_OF = "2011-12-26"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requires_qgis: needs Debian's python3-qgis (QGIS 3.22) at /usr/bin/python3")


def make_styled_layers() -> dict[str, pd.DataFrame]:
    """A 10 km square province split by the Đuống, three parks (one per status), eight plots (one per plot
    class), three parcels (not started, notified, compensated with an open complaint)."""
    province = gpd.GeoDataFrame({Col.NAME: ["Tỉnh Thử"]}, geometry=[box(0, 0, 10_000, 10_000)], crs=CRS)
    rivers = gpd.GeoDataFrame(
        {Col.NAME: list(EXPECTED_RIVERS)},
        geometry=[
            shapely.LineString([(E0, N0 + 5_000), (E0 + 10_000, N0 + 5_000)]),
            shapely.LineString([(E0, N0 + 9_000), (E0 + 10_000, N0 + 9_500)]),
        ],
        crs=CRS,
    )
    parks = gpd.GeoDataFrame(
        {
            Col.PARK_ID: list(EXPECTED_PARKS),
            Col.NAME: ["KCN Quế Võ Thử", "KCN Yên Phong Thử", "KCN Gia Bình Thử"],
            Col.NAME_EN: ["Que Vo Test IP", "Yen Phong Test IP", "Gia Binh Test IP"],
            Col.DISTRICT: ["Quế Võ", "Yên Phong", "Gia Bình"],
            Col.STATUS: list(EXPECTED_PARKS.values()),
            Col.LISTED_AREA_HA: [400.0, 400.0, 400.0],
            Col.DETAIL_PLAN_APPROVED: [True, True, False],
            Col.DEVELOPER: ["Công ty Thử", None, None],
        },
        geometry=[box(1_000, 6_000, 3_000, 8_000), box(6_000, 6_000, 8_000, 8_000), box(5_000, 1_000, 7_000, 3_000)],
        crs=CRS,
    )
    ids = list(EXPECTED_PLOTS)
    land_use = ["industrial"] * 4 + ["services", "infrastructure", "green", "other"]
    acquired = [None, "2005-01-01", "2005-01-01", "2005-01-01", "2005-01-01", None, "2005-01-01", None]
    leased = [None, None, "2006-06-01", "2006-06-01", None, None, None, None]
    ended = [None, None, None, "2009-03-01", None, None, None, None]
    plots = gpd.GeoDataFrame(
        {
            Col.PLOT_ID: ids,
            Col.PARK_ID: ["OP"] * len(ids),
            Col.LAND_USE: land_use,
            Col.ACQUIRED_ON: [ts(v) for v in acquired],
            Col.LEASED_ON: [ts(v) for v in leased],
            Col.LEASE_ENDED_ON: [ts(v) for v in ended],
            Col.TENANT: [None, None, "Công ty Thuê Đất", "Công ty Cũ", None, None, None, None],
            Col.PROJECT_ID: [None] * len(ids),
        },
        geometry=[box(1_000 + 250 * i, 6_000, 1_250 + 250 * i, 8_000) for i in range(len(ids))],
        crs=CRS,
    )
    parcels = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: list(EXPECTED_CLEARANCE),
            Col.PARK_ID: ["PR"] * 3,
            Col.COMMUNE: ["Xã Đại Lai"] * 3,
            Col.MAP_SHEET: ["1"] * 3,
            Col.PARCEL_NO: ["1", "2", "3"],
            Col.LAND_TYPE: ["LUC"] * 3,
            Col.HOLDER_TYPE: ["household"] * 3,
            Col.HOLDER_NAME: ["Hộ Thử A", "Hộ Thử B", "Hộ Thử C"],
            Col.LEGAL_AREA_M2: [1_000_000.0] * 3,
        },
        geometry=[box(5_000, 1_000, 5_600, 3_000), box(5_600, 1_000, 6_300, 3_000), box(6_300, 1_000, 7_000, 3_000)],
        crs=CRS,
    )
    ev = [
        ("E1", "Q2", "notified", "2011-03-01"),
        ("E2", "Q3", "notified", "2010-01-01"),
        ("E3", "Q3", "compensated", "2011-05-01"),
        ("E4", "Q3", "complaint", "2011-06-01"),
    ]
    events = pd.DataFrame(
        {
            Col.EVENT_ID: [e[0] for e in ev],
            Col.PARCEL_ID: [e[1] for e in ev],
            Col.EVENT: [e[2] for e in ev],
            Col.EVENT_DATE: [ts(e[3]) for e in ev],
            Col.REFERENCE: [None] * len(ev),
            Col.NOTE: [None] * len(ev),
            Col.RECORDED_AT: [pd.Timestamp(e[3]) + pd.Timedelta(hours=9) for e in ev],
            Col.RECORDED_BY: ["test"] * len(ev),
            Col.CORRECTS_EVENT_ID: [None] * len(ev),
        }
    )
    return {
        Layer.PROVINCE: province,
        Layer.RIVERS: rivers,
        Layer.PARKS: parks,
        Layer.PLOTS: plots,
        Layer.PARCELS: parcels,
        Layer.CLEARANCE_EVENTS: events,
    }


@pytest.fixture
def styled_atlas(tmp_path: Path) -> Path:
    """A fresh GeoPackage atlas (written by the store) of :func:`make_styled_layers`."""
    from kcn_gis import write_atlas

    path = tmp_path / "atlas" / "styled.gpkg"
    write_atlas(path, make_styled_layers())
    return path


def _qgis_missing() -> str | None:
    if not Path(QGIS_PYTHON).exists():
        return f"{QGIS_PYTHON} does not exist"
    try:
        done = subprocess.run(
            [QGIS_PYTHON, "-c", "import qgis.core; print(qgis.core.Qgis.QGIS_VERSION)"],
            capture_output=True,
            text=True,
            timeout=120,
            env=_env(Path("/tmp")),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{QGIS_PYTHON} cannot run: {exc}"
    if done.returncode != 0:
        return f"{QGIS_PYTHON} cannot import qgis.core (install Debian's python3-qgis): {done.stderr.strip()[-300:]}"
    return None


def _env(home: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "XDG_RUNTIME_DIR": str(home),
        "QT_QPA_PLATFORM": "offscreen",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
    }


@pytest.fixture(scope="session")
def qgis_available() -> None:
    """Skip (or fail, with ``KCN_GIS_REQUIRE_QGIS=1``) when Debian's python3-qgis is missing."""
    reason = _qgis_missing()
    if reason is None:
        return
    if os.environ.get("KCN_GIS_REQUIRE_QGIS") == "1":
        pytest.fail(f"KCN_GIS_REQUIRE_QGIS=1 but QGIS is not usable: {reason}")
    pytest.skip(f"real QGIS is not available: {reason}")


@pytest.fixture
def run_qgis(qgis_available: None, tmp_path: Path):
    """``run_qgis(job) -> (report, stderr)``: run :mod:`tests.qgis.qgis_probe` on ``job`` in real QGIS."""
    home = tmp_path / "qgis-home"
    home.mkdir(mode=0o700)

    def run(job: dict[str, Any]) -> tuple[dict[str, Any], str]:
        spec = tmp_path / "job.json"
        spec.write_text(json.dumps(job), encoding="utf-8")
        done = subprocess.run(
            [QGIS_PYTHON, str(PROBE), str(spec)], capture_output=True, text=True, timeout=600, env=_env(home)
        )
        lines = [ln for ln in done.stdout.splitlines() if ln.startswith("KCN_GIS_PROBE ")]
        assert lines, f"the QGIS probe printed no report (exit {done.returncode}):\n{done.stdout}\n{done.stderr}"
        return json.loads(lines[-1].removeprefix("KCN_GIS_PROBE ")), done.stderr

    return run
