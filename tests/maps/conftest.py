"""Fixtures of the map tests: a tiny atlas with hostile text and planted personal data, and one chromium.

The maps take their numbers from the real analytics (``kcn_gis.analytics``,
``kcn_gis.clearance.parcel_stages``); expected values in the tests are computed
by hand from the layout documented in ``tests/conftest.py``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kcn_gis.schema import Col

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


# -- atlases ----------------------------------------------------------------------------------------
XSS = "<script>alert(1)</script>"
OBRIEN = 'O\'Brien & "Sons"'
#: Holder names planted in the parcels; no investor output may contain them.
PLANTED_HOLDERS = ("Nguyễn Văn Bímật Zq7", "PLANTED-HOLDER-9f3c1a", "Trần Thị Riêngtư Xk2")


def map_layers(tiny_layers):
    """The tiny atlas with hostile tenant names, planted holder names and a few clearance events."""
    layers = {k: v.copy() for k, v in tiny_layers.items()}
    plots = layers["plots"]
    plots[Col.TENANT] = plots[Col.TENANT].astype(object)
    plots.loc[plots[Col.PLOT_ID] == "P1", Col.TENANT] = XSS + " " + OBRIEN
    parcels = layers["parcels"]
    parcels[Col.HOLDER_NAME] = list(PLANTED_HOLDERS[:2])
    events = layers["clearance_events"]
    extra = pd.DataFrame(
        {
            Col.EVENT_ID: ["E2", "E3", "E4"],
            Col.PARCEL_ID: ["S1-1-1", "S1-1-1", "S1-1-2"],
            Col.EVENT: ["inventoried", "complaint", "notified"],
            Col.EVENT_DATE: pd.to_datetime(["2011-05-01", "2011-06-01", "2011-07-01"]),
            Col.REFERENCE: ["45/QĐ", None, "46/TB"],
            Col.NOTE: [PLANTED_HOLDERS[2], None, None],
            Col.RECORDED_AT: pd.to_datetime(["2011-05-02", "2011-06-02", "2011-07-02"]),
            Col.RECORDED_BY: ["test", "test", "test"],
            Col.CORRECTS_EVENT_ID: [None, None, None],
        }
    )
    layers["clearance_events"] = pd.concat([events, extra], ignore_index=True)
    return layers


@pytest.fixture(scope="session")
def hostile_atlas(tmp_path_factory):
    """The hostile tiny atlas in a GeoPackage (shared: tests must not write to it).

    For the browser tests (which check the rendering of the page, the same on either backend: the page
    data itself is compared on both backends in ``test_maps.py``) and the notebook (which is pointed at
    the atlas through ``KCN_GIS_BUNDLED_ATLAS``, a file path).
    """
    from kcn_gis import open_atlas, write_atlas
    from tests.conftest import make_layers

    path = tmp_path_factory.mktemp("maps") / "hostile.gpkg"
    write_atlas(path, map_layers(make_layers()))
    return open_atlas(path)


@pytest.fixture(scope="session")
def backend_hostile_atlas(shared_atlas_url):
    """The hostile tiny atlas on each backend, GeoPackage and PostGIS (shared, read-only)."""
    from kcn_gis import open_atlas
    from tests.conftest import make_layers

    return open_atlas(shared_atlas_url("hostile", lambda: map_layers(make_layers())))


# -- browser -----------------------------------------------------------------------------------------
def _require() -> bool:
    return os.environ.get("KCN_GIS_REQUIRE_CHROMIUM") == "1"


@pytest.fixture(scope="session")
def browser():
    """One headless Debian chromium for the session (never downloads a browser)."""
    why = None
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        why = f"{CHROMIUM} is not installed (apt-get install chromium)"
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        why = why or "playwright is not installed (pip install 'kcn_gis[browser]')"
    if why:
        if _require():
            pytest.fail(f"KCN_GIS_REQUIRE_CHROMIUM=1 but {why}")
        pytest.skip(why)
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
