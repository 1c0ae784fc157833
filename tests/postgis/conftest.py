"""Fixtures for the PostGIS tests.

The backend fixtures come from :mod:`tests.postgis.plugin`: ``tests/conftest.py`` loads that
plugin for the whole suite (``pytest_plugins = ["tests.postgis.plugin"]``), so ``backend``,
``atlas_url``, ``new_atlas_url``, ``shared_atlas_url``, ``pg_url`` and ``postgis_server`` are
(and ``atlas_copy``) available here and in every other test directory.
"""

from __future__ import annotations

import shutil
import uuid

import pytest


@pytest.fixture(scope="session")
def bundled_pair(postgis_server, tmp_path_factory):
    """(GeoPackage copy, PostGIS URL) of the bundled Bắc Ninh 2011 atlas, pushed once per session (read-only)."""
    from kcn_gis.cli import main
    from kcn_gis.store import bundled_atlas_path
    from tests.conftest import atlas_snapshot

    from .plugin import _drop_schema

    bundled = bundled_atlas_path()
    if not bundled.exists():
        pytest.skip(f"the bundled atlas {bundled} is not built (scripts/setup.sh builds it)")
    src = tmp_path_factory.mktemp("bundled") / "bundled.gpkg"
    shutil.copyfile(bundled, src)
    schema = f"bundled_{uuid.uuid4().hex[:8]}"
    url = postgis_server.url(schema=schema)
    try:
        assert main(["db", "push", "--from", str(src), "--to", url]) == 0
        before = atlas_snapshot(url), atlas_snapshot(src)
        yield src, url
        assert (atlas_snapshot(url), atlas_snapshot(src)) == before, "a test wrote to the shared bundled atlas"
    finally:
        _drop_schema(postgis_server, schema)
