"""The PostgreSQL driver side of the PostGIS store: the psycopg guard, identifier quoting, URL parsing, SRIDs.

The leaf of :mod:`kcn_gis.store.postgis`: every other module of the sub-package
(the backend, the migrations, the roles, the admin commands) depends on this one,
and it depends on none of them. psycopg is imported only when a function here is
called, so importing the store does not need the ``postgis`` extra.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from kcn_gis.errors import MissingDependencyError, StoreError

__all__ = ["DEFAULT_SCHEMA", "ident", "parse_url", "psycopg", "qualified", "quote", "sql", "srid_of"]

#: PostgreSQL schema holding the atlas unless the URL says ``?schema=NAME``.
DEFAULT_SCHEMA = "kcn_gis"


def psycopg() -> Any:
    """The ``psycopg`` module (with ``psycopg.sql``); a clear error naming the ``postgis`` extra when missing."""
    try:
        import psycopg
        import psycopg.sql
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise MissingDependencyError.for_extra("psycopg", "postgis", "A PostGIS atlas (postgresql:// URL)") from exc
    return psycopg


def sql() -> Any:
    """The ``psycopg.sql`` module (identifiers and literals composed safely)."""
    return psycopg().sql


def ident(*names: str) -> Any:
    """A quoted (possibly schema-qualified) identifier, ``psycopg.sql.Identifier(*names)``."""
    return sql().Identifier(*names)


def qualified(schema: str, name: str) -> Any:
    """The identifier ``"schema"."name"``."""
    return ident(schema, name)


def quote(name: str) -> str:
    """Double-quote an identifier for use inside a regclass literal (``nextval('"s"."seq"')``)."""
    return '"' + name.replace('"', '""') + '"'


def parse_url(url: str, *, schema: str | None = None) -> tuple[str, str, str]:
    """Split a ``postgresql://`` atlas URL into (libpq conninfo, schema, display text).

    The ``schema`` query parameter is kcn_gis's own and is removed from the
    conninfo; every other parameter (``sslmode``, ``application_name``, ...)
    goes to libpq. The display text hides the password.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    found = [v for k, v in query if k == "schema"]
    rest = [(k, v) for k, v in query if k != "schema"]
    chosen = schema or (found[-1] if found else None) or DEFAULT_SCHEMA
    conninfo = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(rest), ""))
    netloc = parts.netloc
    if parts.password is not None:
        user_part, host_part = netloc.rsplit("@", 1)
        netloc = f"{user_part.split(':', 1)[0]}:***@{host_part}"
    display = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if chosen != DEFAULT_SCHEMA:
        display += "?" + urlencode({"schema": chosen})
    return conninfo, chosen, display


def srid_of(crs: Any) -> int:
    """The EPSG code of a CRS (default EPSG:9209) as a PostGIS SRID; :class:`StoreError` when it has none."""
    from pyproj import CRS

    from kcn_gis.crs import WORKING_CRS

    epsg = CRS.from_user_input(crs or WORKING_CRS).to_epsg()
    if not epsg:
        raise StoreError("a PostGIS atlas needs a CRS with an EPSG code (e.g. EPSG:9209)")
    return int(epsg)
