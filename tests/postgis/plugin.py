"""Pytest fixtures to run tests against both atlas backends (GeoPackage and PostGIS).

Loaded by ``tests/postgis/conftest.py``; the shared suite can load it from
``tests/conftest.py`` with ``pytest_plugins = ["tests.postgis.plugin"]`` (pytest
imports the test tree as the package ``tests``) to parametrise its own tests over
the backends.

Fixtures
--------
postgis_server (session)
    The throwaway server (:mod:`postgis.cluster`). Skips the test with the reason when
    none can be started, or fails it when ``KCN_GIS_REQUIRE_POSTGIS=1`` (CI).
pg_url
    URL of a fresh, empty PostgreSQL schema (not yet a kcn_gis atlas) for this test.
backend
    ``"gpkg"`` or ``"postgis"``; tests using it (or ``atlas_url``/``new_atlas_url``)
    run once per backend. ``KCN_GIS_TEST_BACKENDS=gpkg`` restricts the list.
new_atlas_url
    Factory: ``new_atlas_url(layers=None)`` -> a fresh atlas location (path or URL)
    of the current backend, holding ``layers`` (default: ``make_layers()``).
atlas_url
    The tiny atlas of ``tests/conftest.py`` in the current backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from .cluster import Server, ServerUnavailableError, get_server

__all__ = ["BACKENDS", "atlas_url", "backend", "new_atlas_url", "pg_url", "postgis_server", "require_postgis"]

requires_postgis = pytest.mark.requires_postgis


def pytest_configure(config: pytest.Config) -> None:
    """Called only when this module is loaded as a plugin (``pytest_plugins``), not when imported."""
    global _LOADED
    _LOADED = True


_LOADED = False


def _backends() -> list[str]:
    wanted = os.environ.get("KCN_GIS_TEST_BACKENDS", "gpkg,postgis")
    return [b.strip() for b in wanted.split(",") if b.strip()]


BACKENDS = [
    pytest.param(b, marks=requires_postgis, id=b) if b == "postgis" else pytest.param(b, id=b) for b in _backends()
]


def require_postgis() -> Server:
    """The test server, or skip (fail under ``KCN_GIS_REQUIRE_POSTGIS=1``) with the reason."""
    try:
        return get_server()
    except ServerUnavailableError as exc:
        if os.environ.get("KCN_GIS_REQUIRE_POSTGIS") == "1":
            pytest.fail(f"KCN_GIS_REQUIRE_POSTGIS=1 but no PostGIS server is available: {exc}", pytrace=False)
        pytest.skip(f"no PostGIS server available: {str(exc).splitlines()[0]}")


@pytest.fixture(scope="session")
def postgis_server() -> Iterator[Server]:
    server = require_postgis()
    yield server
    server.stop()


def _drop_schema(server: Server, schema: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@pytest.fixture
def pg_url(postgis_server: Server) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex[:12]}"
    yield postgis_server.url(schema=schema)
    _drop_schema(postgis_server, schema)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_atlas_url(backend: str, tmp_path, request: pytest.FixtureRequest) -> Iterator[Callable[..., str]]:
    from kcn_gis import write_atlas

    made: list[str] = []
    server = request.getfixturevalue("postgis_server") if backend == "postgis" else None

    def make(layers=None) -> str:
        if layers is None:
            from tests.conftest import make_layers

            layers = make_layers()
        if server is not None:
            schema = f"t_{uuid.uuid4().hex[:12]}"
            made.append(schema)
            url = server.url(schema=schema)
        else:
            url = str(tmp_path / f"atlas_{uuid.uuid4().hex[:8]}.gpkg")
        write_atlas(url, layers)
        return url

    yield make
    if server is not None:
        for schema in made:
            _drop_schema(server, schema)


@pytest.fixture
def atlas_url(new_atlas_url: Callable[..., str]) -> str:
    return new_atlas_url()
