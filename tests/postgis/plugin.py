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
backend (session)
    ``"gpkg"`` or ``"postgis"``; tests using it (or any fixture built on it) run once
    per backend. ``KCN_GIS_TEST_BACKENDS=gpkg`` restricts the list. Session-scoped, so
    that module- and session-scoped fixtures can depend on it: pytest runs the tests
    grouped by backend.
new_atlas_url
    Factory: ``new_atlas_url(layers=None)`` -> a fresh atlas location (path or URL)
    of the current backend, holding ``layers`` (default: ``make_layers()``). The test
    owns it and may write to it.
shared_atlas_url (session)
    Factory: ``shared_atlas_url(name, make_layers)`` -> the location of an atlas of the
    current backend built once per session from ``make_layers()`` and shared by every
    test asking for ``name``. For tests that only read: the atlas is checked with
    :func:`tests.conftest.atlas_snapshot` when the session (or the backend) ends, and
    a test that wrote to it fails the run.
atlas_copy
    Factory: ``atlas_copy(name, make_layers)`` -> a fresh copy, owned by the test, of the
    shared atlas ``name``: a file copy (GeoPackage) or a schema created by the store's
    migrations and filled with the master's rows (PostGIS). Cheaper than writing the
    frames again in every test.
atlas_url
    A fresh copy of the tiny atlas of ``tests/conftest.py`` in the current backend.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator

import pytest

from .cluster import Server, ServerUnavailableError, get_server

__all__ = [
    "BACKENDS",
    "atlas_copy",
    "atlas_url",
    "backend",
    "is_postgis",
    "new_atlas_url",
    "pg_url",
    "postgis_server",
    "require_postgis",
    "shared_atlas_url",
]

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


def is_postgis(location: object) -> bool:
    """Whether an atlas location is a PostGIS URL (else it is a GeoPackage path)."""
    return str(location).startswith(("postgresql://", "postgres://"))


@pytest.fixture(scope="session", params=BACKENDS)
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
def atlas_url(atlas_copy: Callable[..., str]) -> str:
    from tests.conftest import make_layers

    return atlas_copy("tiny", make_layers)


class _Masters:
    """Atlases built once per session and backend, by name: ``masters(name, make_layers) -> location``."""

    def __init__(self, backend: str, tmp_path_factory: pytest.TempPathFactory, server: Server | None) -> None:
        self.backend = backend
        self._tmp = tmp_path_factory
        self._server = server
        self._made: dict[str, tuple[str, str, dict]] = {}  # name -> (location, schema, snapshot)

    def __call__(self, name: str, make: Callable[[], dict]) -> str:
        from kcn_gis import write_atlas
        from tests.conftest import atlas_snapshot

        if name not in self._made:
            schema = f"s_{name}_{uuid.uuid4().hex[:8]}"
            if self._server is not None:
                url = self._server.url(schema=schema)
            else:
                url = str(self._tmp.mktemp(f"shared_{name}") / f"{name}.gpkg")
            try:
                write_atlas(url, make())
            except BaseException:
                if self._server is not None:
                    _drop_schema(self._server, schema)
                raise
            self._made[name] = (url, schema, atlas_snapshot(url))
        return self._made[name][0]

    def schema(self, name: str) -> str:
        return self._made[name][1]

    def close(self) -> list[str]:
        """Drop the PostGIS masters; return the names of those a test wrote to."""
        from tests.conftest import atlas_snapshot

        changed = [name for name, (url, _, before) in self._made.items() if atlas_snapshot(url) != before]
        if self._server is not None:
            for _, schema, _ in self._made.values():
                _drop_schema(self._server, schema)
        return changed


@pytest.fixture(scope="session")
def shared_atlas_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[_Masters]:
    server = request.getfixturevalue("postgis_server") if backend == "postgis" else None
    masters = _Masters(backend, tmp_path_factory, server)
    yield masters
    changed = masters.close()
    if changed:
        pytest.fail(f"a test wrote to the shared read-only atlas(es) {', '.join(changed)} ({backend})", pytrace=False)


@pytest.fixture
def atlas_copy(
    backend: str, shared_atlas_url: _Masters, tmp_path, request: pytest.FixtureRequest
) -> Iterator[Callable[..., str]]:
    made: list[str] = []
    server = request.getfixturevalue("postgis_server") if backend == "postgis" else None

    def copy(name: str, make: Callable[[], dict]) -> str:
        master = shared_atlas_url(name, make)
        if server is None:
            path = tmp_path / f"{name}_{uuid.uuid4().hex[:8]}.gpkg"
            shutil.copyfile(master, path)
            return str(path)
        schema = f"t_{uuid.uuid4().hex[:12]}"
        made.append(schema)
        _clone_schema(server, shared_atlas_url.schema(name), schema)
        return server.url(schema=schema)

    yield copy
    if server is not None:
        for schema in made:
            _drop_schema(server, schema)


def _clone_schema(server: Server, master: str, schema: str) -> None:
    """Copy the PostGIS atlas in schema ``master`` into a new schema, in one transaction.

    The new schema is created by the store's own migrations (tables, constraints, indexes,
    triggers, views), then every row is copied as stored: hidden ``fid`` and row ``version``
    included, and the identity and version sequences are moved past them. About twice as
    fast as writing the frames again (migrations dominate).
    """
    import psycopg
    from psycopg import sql
    from pyproj import CRS

    from kcn_gis.store.postgis import migrations as mig

    def table(name: str, where: str = schema) -> sql.Composable:
        return sql.Identifier(where, name)

    with psycopg.connect(server.url()) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("SELECT value FROM {} WHERE key = 'crs'").format(table(mig.META_TABLE, master)))
        row = cur.fetchone()
        assert row is not None, f"the master atlas {master} has no CRS"
        mig.migrate(cur, schema, srid=int(CRS.from_user_input(row[0]).to_epsg()))
        cur.execute(
            "SELECT c.relname, array_agg(a.attname::text ORDER BY a.attnum) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_attribute a ON a.attrelid = c.oid "
            "WHERE n.nspname = %s AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped GROUP BY c.relname",
            [master],
        )
        for name, cols in cur.fetchall():
            if name == mig.VERSION_TABLE:
                continue  # written by migrate
            names = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
            cur.execute(
                sql.SQL("INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM {}").format(
                    table(name), names, names, table(name, master)
                )
            )
            if mig.FID in cols:
                cur.execute(
                    sql.SQL(
                        "SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max({}), 0) + 1, false) FROM {}"
                    ).format(sql.Identifier(mig.FID), table(name)),
                    [f"{mig._quote(schema)}.{mig._quote(name)}", mig.FID],
                )
        seq = table(mig.VERSION_SEQUENCE, master)
        cur.execute(
            sql.SQL("SELECT setval(%s, last_value, is_called) FROM {}").format(seq),
            [f"{mig._quote(schema)}.{mig._quote(mig.VERSION_SEQUENCE)}"],
        )
