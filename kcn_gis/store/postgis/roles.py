"""Database roles of a shared PostGIS atlas: ``editor``, ``viewer`` and ``investor_export``.

The roles are group roles (``NOLOGIN``); people log in with their own login
role made a member of one of them (``kcn-gis db roles URL --member
alice=editor``). Role names get a prefix (default ``kcn_``), so several atlases
or test runs in one cluster do not clash.

=================  =====================================================================
role               may
=================  =====================================================================
viewer             read every layer (including personal data in ``parcels``)
editor             what a viewer may, plus append clearance events and edit plots
                   (``INSERT`` on ``clearance_events``; ``INSERT``/``UPDATE`` on ``plots``).
                   No ``UPDATE``/``DELETE`` on the history, no whole-layer rewrites.
investor_export    read only the investor views (``investor_parks``, ``investor_plots``,
                   ``investor_projects``, ...), whose columns are
                   :data:`kcn_gis.schema.INVESTOR_FIELDS`; no access to any table, so
                   ``parcels.holder_name`` cannot be read.
=================  =====================================================================
"""

from __future__ import annotations

import logging
from typing import Any

from kcn_gis.errors import StoreError
from kcn_gis.schema import ATLAS_LAYERS, Layer
from kcn_gis.store.postgis import migrations as mig
from kcn_gis.store.postgis._driver import quote as _quote
from kcn_gis.store.postgis._driver import sql as _sql

__all__ = [
    "DEFAULT_PREFIX",
    "ROLES_META_KEY",
    "ROLE_KINDS",
    "create_roles",
    "grant_privileges",
    "role_names",
    "roles_prefix",
]

log = logging.getLogger(__name__)

#: The kinds of role, in the order ``kcn-gis db roles`` creates them.
ROLE_KINDS: tuple[str, ...] = ("viewer", "editor", "investor_export")
#: Default prefix of the role names (``kcn_viewer``, ``kcn_editor``, ``kcn_investor_export``).
DEFAULT_PREFIX = "kcn_"
#: Meta key remembering the prefix, so that ``migrate`` re-grants after re-creating views.
ROLES_META_KEY = "roles_prefix"


def role_names(prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Role kind -> role name for ``prefix``."""
    return {kind: f"{prefix}{kind}" for kind in ROLE_KINDS}


def roles_prefix(cur: Any, schema: str) -> str | None:
    """The role prefix recorded by ``kcn-gis db roles`` for ``schema``, or None when no roles were set up."""
    sql = _sql()
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{_quote(schema)}.{_quote(mig.META_TABLE)}"])
    row = cur.fetchone()
    if not (row and row[0]):
        return None
    cur.execute(
        sql.SQL("SELECT value FROM {} WHERE key = %s").format(sql.Identifier(schema, mig.META_TABLE)), [ROLES_META_KEY]
    )
    found = cur.fetchone()
    return str(found[0]) if found else None


def grant_privileges(cur: Any, schema: str, prefix: str) -> None:
    """(Re-)grant the privileges of the three roles on ``schema``; revoke everything else they had."""
    sql = _sql()
    names = role_names(prefix)
    s = sql.Identifier(schema)
    tables = [str(x) for x in ATLAS_LAYERS]
    views = list(mig.investor_views())
    internal = [mig.META_TABLE, mig.VERSION_TABLE]
    every = tables + views + internal
    for role in names.values():
        r = sql.Identifier(role)
        cur.execute(sql.SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
        for t in every:
            cur.execute(sql.SQL("REVOKE ALL ON {} FROM {}").format(sql.Identifier(schema, t), r))
        cur.execute(
            sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(sql.Identifier(schema, mig.VERSION_SEQUENCE), r)
        )
    viewer, editor, investor = (sql.Identifier(names[k]) for k in ROLE_KINDS)
    for t in tables + internal + views:
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}, {}").format(sql.Identifier(schema, t), viewer, editor))
    cur.execute(sql.SQL("GRANT INSERT ON {} TO {}").format(sql.Identifier(schema, str(Layer.CLEARANCE_EVENTS)), editor))
    cur.execute(sql.SQL("GRANT INSERT, UPDATE ON {} TO {}").format(sql.Identifier(schema, str(Layer.PLOTS)), editor))
    cur.execute(
        sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(sql.Identifier(schema, mig.VERSION_SEQUENCE), editor)
    )
    for t in [*views, *internal]:
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(schema, t), investor))
    # QGIS reads the default styles of the layers from public.layer_styles (migration 3)
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{mig.LAYER_STYLES_SCHEMA}.layer_styles"])
    found = cur.fetchone()
    if found and found[0]:
        styles = sql.Identifier(mig.LAYER_STYLES_SCHEMA, "layer_styles")
        cur.execute(sql.SQL("GRANT SELECT ON {} TO {}, {}, {}").format(styles, viewer, editor, investor))


def create_roles(cur: Any, schema: str, *, prefix: str = DEFAULT_PREFIX) -> dict[str, str]:
    """Create the three group roles when missing and grant their privileges on ``schema``.

    Runs inside the caller's transaction. Needs the ``CREATEROLE`` privilege
    and ownership of the atlas tables. Returns role kind -> role name.
    """
    sql = _sql()
    if not prefix.replace("_", "").isalnum() or len(prefix) > 40:
        raise StoreError(f"role prefix {prefix!r} must be letters, digits and '_' (at most 40 characters)")
    names = role_names(prefix)
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('kcn_gis:roles'))")
    for role in names.values():
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
        if cur.fetchone() is None:
            log.info("creating role %s", role)
            cur.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))
    grant_privileges(cur, schema, prefix)
    cur.execute(
        sql.SQL(
            "INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
        ).format(sql.Identifier(schema, mig.META_TABLE)),
        [ROLES_META_KEY, prefix],
    )
    return names


def grant_membership(cur: Any, login: str, kind: str, *, prefix: str = DEFAULT_PREFIX) -> str:
    """Make the existing login role ``login`` a member of the ``kind`` role; returns the group role name."""
    sql = _sql()
    names = role_names(prefix)
    if kind not in names:
        raise StoreError(f"unknown role kind {kind!r}; use one of {', '.join(ROLE_KINDS)}")
    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [login])
    if cur.fetchone() is None:
        raise StoreError(
            f"there is no database role {login!r}; create it first, e.g. CREATE ROLE {login} LOGIN PASSWORD '...'"
        )
    cur.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(names[kind]), sql.Identifier(login)))
    return names[kind]
