"""Administering a PostGIS atlas: the ``kcn-gis db init``, ``migrate``, ``roles`` and ``status`` commands.

:func:`upgrade` is the one way the admin commands bring a schema up to date: it
runs :func:`kcn_gis.store.postgis.migrations.migrate` and then grants the roles
again (the repeatable steps re-create the investor views, which drops their
grants). Each command is one transaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

from kcn_gis.errors import StoreError
from kcn_gis.schema import ATLAS_LAYERS
from kcn_gis.store.postgis import migrations as mig
from kcn_gis.store.postgis import roles
from kcn_gis.store.postgis._driver import parse_url
from kcn_gis.store.postgis._driver import psycopg as _psycopg
from kcn_gis.store.postgis._driver import qualified as _qualified
from kcn_gis.store.postgis._driver import srid_of as _srid_of

__all__ = ["database_status", "init_database", "migrate_database", "setup_roles", "upgrade"]

log = logging.getLogger(__name__)


def upgrade(cur: Any, schema: str, *, srid: int) -> list[int]:
    """Migrate ``schema`` to the latest version and re-grant the roles, inside the caller's transaction.

    Parameters
    ----------
    cur : psycopg.Cursor
        A cursor inside a transaction; the caller commits.
    schema : str
        PostgreSQL schema holding the atlas.
    srid : int
        SRID of the atlas CRS (9209 for Bắc Ninh); used when creating tables.

    Returns
    -------
    list of int
        The migration versions applied.
    """
    applied = mig.migrate(cur, schema, srid=srid)
    prefix = roles.roles_prefix(cur, schema)
    if prefix:  # the views were re-created: grant the roles again
        log.info("granting the %s* roles again on %s", prefix, schema)
        roles.grant_privileges(cur, schema, prefix)
    return applied


@contextlib.contextmanager
def _admin(url: str, *, schema: str | None = None) -> Iterator[tuple[Any, Any, str, str]]:
    """(connection, cursor, schema, display) inside one transaction, for the ``kcn-gis db`` commands."""
    psycopg = _psycopg()
    conninfo, chosen, display = parse_url(url, schema=schema)
    try:
        conn = psycopg.connect(conninfo, connect_timeout=30)
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to {display}: {str(exc).strip()}") from exc
    try:
        with conn, conn.cursor() as cur:
            yield conn, cur, chosen, display
    except psycopg.errors.InsufficientPrivilege as exc:
        raise StoreError(
            f"{display}: permission denied: {str(exc).strip()}. Run this as the atlas owner or a role with "
            "the needed privilege (CREATE on the database, CREATEROLE for roles)."
        ) from exc
    except psycopg.Error as exc:
        raise StoreError(f"{display}: {str(exc).strip()}") from exc


def init_database(url: str, *, crs: Any = None, schema: str | None = None) -> list[int]:
    """Create (or bring up to date) the atlas schema in a PostgreSQL database: ``kcn-gis db init``.

    Creates the ``postgis`` extension when missing (needs a superuser, or ask
    the DBA to run ``CREATE EXTENSION postgis``), the schema, the seven empty
    layers, constraints and indexes, and records the atlas CRS. One transaction.

    Parameters
    ----------
    url : str
        ``postgresql://`` URL (``?schema=NAME`` for another schema than ``kcn_gis``).
    crs : CRS-like, default EPSG:9209
        The working CRS of the atlas; it must have an EPSG code.

    Returns
    -------
    list of int
        The migration versions applied (empty when the schema was up to date).
    """
    from kcn_gis._version import __version__
    from kcn_gis.schema import SCHEMA_VERSION

    srid = _srid_of(crs)
    sql = _psycopg().sql
    with _admin(url, schema=schema) as (_conn, cur, chosen, display):
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'")
        if cur.fetchone() is None:
            try:
                cur.execute("CREATE EXTENSION postgis")
            except _psycopg().Error as exc:
                raise StoreError(
                    f"{display}: the PostGIS extension is not installed in this database and cannot be created by "
                    f"this role ({str(exc).strip()}). Ask the database administrator to run: CREATE EXTENSION postgis"
                ) from exc
        have = mig.current_version(cur, chosen)
        if have:
            cur.execute(sql.SQL("SELECT value FROM {} WHERE key = 'crs'").format(_qualified(chosen, mig.META_TABLE)))
            row = cur.fetchone()
            if row and _srid_of(row[0]) != srid:
                raise StoreError(
                    f"{display}: the atlas already exists with CRS {row[0]}, not EPSG:{srid}; nothing was changed"
                )
        applied = upgrade(cur, chosen, srid=srid)
        for key, value in {
            "schema_version": str(SCHEMA_VERSION),
            "crs": f"EPSG:{srid}",
            "written_by": f"kcn_gis {__version__}",
        }.items():
            cur.execute(
                sql.SQL("INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO NOTHING").format(
                    _qualified(chosen, mig.META_TABLE)
                ),
                [key, value],
            )
    return applied


def migrate_database(url: str, *, schema: str | None = None) -> tuple[int, int, list[int]]:
    """Apply pending migrations to an existing atlas schema: ``kcn-gis db migrate``.

    Returns (version before, version after, versions applied). One transaction.
    """
    with _admin(url, schema=schema) as (_conn, cur, chosen, display):
        before = mig.current_version(cur, chosen)
        if before == 0:
            raise StoreError(f"{display}: schema '{chosen}' holds no kcn_gis atlas; create it with kcn-gis db init URL")
        srid = 0
        if before < mig.LATEST:
            cur.execute(
                _psycopg().sql.SQL("SELECT value FROM {} WHERE key = 'crs'").format(_qualified(chosen, mig.META_TABLE))
            )
            row = cur.fetchone()
            srid = _srid_of(row[0] if row else None)
        applied = upgrade(cur, chosen, srid=srid)
        return before, mig.current_version(cur, chosen), applied


def setup_roles(
    url: str, *, prefix: str | None = None, members: Mapping[str, str] | None = None, schema: str | None = None
) -> dict[str, str]:
    """Create the ``editor``, ``viewer`` and ``investor_export`` roles and their privileges: ``kcn-gis db roles``.

    Parameters
    ----------
    prefix : str, default ``"kcn_"``
        Prefix of the role names.
    members : mapping of login role -> role kind, optional
        Existing login roles to make members, e.g. ``{"alice": "editor"}``.

    Returns
    -------
    dict
        Role kind -> role name.
    """
    with _admin(url, schema=schema) as (_conn, cur, chosen, display):
        if mig.current_version(cur, chosen) == 0:
            raise StoreError(f"{display}: schema '{chosen}' holds no kcn_gis atlas; create it with kcn-gis db init URL")
        names = roles.create_roles(cur, chosen, prefix=prefix or roles.DEFAULT_PREFIX)
        for login, kind in (members or {}).items():
            roles.grant_membership(cur, login, kind, prefix=prefix or roles.DEFAULT_PREFIX)
    return names


def database_status(url: str, *, schema: str | None = None) -> dict[str, Any]:
    """Schema version, CRS, row counts per layer and roles of a PostGIS atlas: ``kcn-gis db status``."""
    sql = _psycopg().sql
    with _admin(url, schema=schema) as (_conn, cur, chosen, display):
        cur.execute("SELECT extversion FROM pg_extension WHERE extname = 'postgis'")
        row = cur.fetchone()
        out: dict[str, Any] = {
            "location": display,
            "schema": chosen,
            "postgis": row[0] if row else None,
            "schema_version": mig.current_version(cur, chosen),
            "latest_version": mig.LATEST,
            "layers": {},
            "meta": {},
        }
        if out["schema_version"]:
            cur.execute(sql.SQL("SELECT key, value FROM {}").format(_qualified(chosen, mig.META_TABLE)))
            out["meta"] = {str(k): str(v) for k, v in cur.fetchall()}
            for name in ATLAS_LAYERS:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f'"{chosen}"."{name}"'])
                exists = cur.fetchone()
                if not (exists and exists[0]):  # a layer of a later migration, not applied yet
                    continue
                cur.execute(sql.SQL("SELECT count(*) FROM {}").format(_qualified(chosen, str(name))))
                got = cur.fetchone()
                out["layers"][str(name)] = int(got[0]) if got else 0
        return out
