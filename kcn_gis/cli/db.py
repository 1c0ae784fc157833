"""``kcn-gis db``: set up and move a shared PostGIS atlas.

* ``db init URL`` creates the atlas schema (PostGIS extension, seven empty layers,
  constraints, indexes); ``db migrate URL`` applies pending migrations;
* ``db roles URL`` creates the ``editor``, ``viewer`` and ``investor_export`` roles;
* ``db status URL`` shows the schema version and row counts;
* ``db push --from ATLAS.gpkg --to URL`` and ``db pull --from URL --to ATLAS.gpkg``
  copy a whole atlas, each in one transaction.
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``db`` subcommands to the kcn-gis parser."""
    p = sub.add_parser(
        "db",
        help="set up, migrate and fill a shared PostGIS atlas (postgresql:// URL)",
        description="Manage a shared PostGIS atlas. URL is postgresql://user@host:port/dbname, with "
        "?schema=NAME for another PostgreSQL schema than kcn_gis. Passwords: use ~/.pgpass or PGPASSWORD "
        "rather than the URL.",
    )
    dsub = p.add_subparsers(dest="db_command", metavar="DB_COMMAND", required=True)

    q = dsub.add_parser("init", help="create the atlas schema (tables, constraints, indexes) in a database")
    q.add_argument("url", metavar="URL", help="postgresql:// URL")
    q.add_argument("--crs", default="EPSG:9209", help="working CRS of the atlas (default: EPSG:9209, VN-2000 TM-3)")
    q.set_defaults(func=_init)

    q = dsub.add_parser("migrate", help="apply pending schema migrations")
    q.add_argument("url", metavar="URL", help="postgresql:// URL")
    q.set_defaults(func=_migrate)

    q = dsub.add_parser(
        "roles",
        help="create the editor, viewer and investor_export roles",
        description="Create the group roles PREFIXviewer (read everything), PREFIXeditor (also append clearance "
        "events and edit plots) and PREFIXinvestor_export (read only the investor views; no personal data), "
        "and grant their privileges on the atlas. Needs CREATEROLE and ownership of the atlas.",
    )
    q.add_argument("url", metavar="URL", help="postgresql:// URL")
    q.add_argument("--prefix", default="kcn_", help="prefix of the role names (default: kcn_)")
    q.add_argument(
        "--member",
        action="append",
        default=[],
        metavar="LOGIN=ROLE",
        help="make an existing login role a member, e.g. --member alice=editor (repeatable)",
    )
    q.set_defaults(func=_roles)

    q = dsub.add_parser("status", help="show the schema version, CRS and row counts of a PostGIS atlas")
    q.add_argument("url", metavar="URL", help="postgresql:// URL")
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=_status)

    q = dsub.add_parser("push", help="copy a GeoPackage atlas into PostGIS (one transaction)")
    q.add_argument("--from", dest="source", required=True, metavar="ATLAS.gpkg")
    q.add_argument("--to", dest="target", required=True, metavar="URL")
    q.set_defaults(func=_copy)

    q = dsub.add_parser("pull", help="copy a PostGIS atlas into a GeoPackage (atomic file replace)")
    q.add_argument("--from", dest="source", required=True, metavar="URL")
    q.add_argument("--to", dest="target", required=True, metavar="ATLAS.gpkg")
    q.set_defaults(func=_copy)


def _init(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import init_database, parse_url

    applied = init_database(args.url, crs=args.crs)
    where = parse_url(args.url)[2]
    if applied:
        print(f"{where}: created the atlas schema (migrations {', '.join(map(str, applied))} applied)")
    else:
        print(f"{where}: the atlas schema is already up to date")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import migrate_database, parse_url

    before, after, applied = migrate_database(args.url)
    where = parse_url(args.url)[2]
    if applied:
        print(f"{where}: migrated from version {before} to {after}")
    else:
        print(f"{where}: already at version {after}; nothing to migrate")
    return 0


def _roles(args: argparse.Namespace) -> int:
    from kcn_gis.errors import KcnGisError
    from kcn_gis.store.postgis import setup_roles

    members: dict[str, str] = {}
    for item in args.member:
        login, sep, kind = item.partition("=")
        if not sep or not login or not kind:
            raise KcnGisError(f"--member {item!r}: write it as LOGIN=ROLE, e.g. --member alice=editor")
        members[login] = kind
    names = setup_roles(args.url, prefix=args.prefix, members=members)
    for kind, name in names.items():
        print(f"{kind}: {name}")
    for login, kind in members.items():
        print(f"{login} is now a member of {names[kind]}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import database_status

    st = database_status(args.url)
    if args.format == "json":
        print(json.dumps(st, ensure_ascii=False, indent=2))
        return 0
    print(f"atlas:          {st['location']}")
    print(f"postgis:        {st['postgis'] or 'not installed'}")
    print(f"schema version: {st['schema_version']} (this kcn_gis: {st['latest_version']})")
    if st["schema_version"] == 0:
        print("no atlas in this schema yet: kcn-gis db init URL")
        return 1
    print(f"crs:            {st['meta'].get('crs', '?')}")
    if "roles_prefix" in st["meta"]:
        print(f"roles prefix:   {st['meta']['roles_prefix']}")
    for name, n in st["layers"].items():
        print(f"  {name:<18} {n:>8} rows")
    return 0 if st["schema_version"] == st["latest_version"] else 1


def _copy(args: argparse.Namespace) -> int:
    from kcn_gis.store import copy_atlas, open_atlas
    from kcn_gis.store.transfer import extra_layers

    source = open_atlas(args.source)
    skipped = extra_layers(source)
    if skipped:
        print(
            f"warning: layer(s) {', '.join(skipped)} of {source.location} are not part of the data model and are "
            "not copied",
            file=sys.stderr,
        )
    target = copy_atlas(source, args.target)
    counts = ", ".join(f"{name} {len(target.read(name))}" for name in target.layer_names())
    print(f"copied {source.location} -> {target.location}: {counts}")
    return 0
