"""Fixtures for the PostGIS tests: those of :mod:`tests.postgis.plugin`.

When ``tests/conftest.py`` loads the plugin for the whole suite
(``pytest_plugins = ["tests.postgis.plugin"]``), its fixtures are already
registered and are not imported a second time here.
"""

from __future__ import annotations

import sys

if "tests.postgis.plugin" not in sys.modules or not getattr(sys.modules["tests.postgis.plugin"], "_LOADED", False):
    from .plugin import atlas_url, backend, new_atlas_url, pg_url, postgis_server  # noqa: F401
