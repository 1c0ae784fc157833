"""The PostGIS store: a shared, multi-user atlas in one PostgreSQL schema.

Open it with ``kcn_gis.open_atlas("postgresql://user@host/db")`` (add
``?schema=NAME`` for another schema than ``kcn_gis``); needs the ``postgis``
extra (psycopg). The sub-package, with imports running one way only:

* :mod:`~kcn_gis.store.postgis._driver` - the psycopg guard, identifier quoting,
  URL parsing, SRIDs (the leaf: it imports none of the others);
* :mod:`~kcn_gis.store.postgis.migrations` - the versioned database schema (uses ``_driver``);
* :mod:`~kcn_gis.store.postgis.roles` - the ``editor``/``viewer``/``investor_export`` roles
  (uses ``_driver`` and the migrations' table names);
* :mod:`~kcn_gis.store.postgis.backend` - :class:`PostGISBackend`, the store backend;
* :mod:`~kcn_gis.store.postgis.admin` - ``kcn-gis db init/migrate/roles/status``.
"""

from __future__ import annotations

from kcn_gis.store.postgis._driver import DEFAULT_SCHEMA, parse_url
from kcn_gis.store.postgis.admin import database_status, init_database, migrate_database, setup_roles
from kcn_gis.store.postgis.backend import PostGISBackend
from kcn_gis.store.postgis.backend import _check_versions as _check_versions  # shared with store.gpkg

__all__ = [
    "DEFAULT_SCHEMA",
    "PostGISBackend",
    "database_status",
    "init_database",
    "migrate_database",
    "parse_url",
    "setup_roles",
]
