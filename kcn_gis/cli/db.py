"""``kcn-gis db``: set up and move a shared PostGIS atlas.

* ``db init --atlas URL`` creates the atlas schema (PostGIS extension, seven empty layers,
  constraints, indexes); ``db migrate --atlas URL`` applies pending migrations;
* ``db roles --atlas URL`` creates the ``editor``, ``viewer`` and ``investor_export`` roles;
* ``db status --atlas URL`` shows the schema version and row counts;
* ``db push --from ATLAS.gpkg --atlas URL`` and ``db pull --atlas URL --to ATLAS.gpkg``
  copy a whole atlas, each in one transaction.

``--atlas`` is the PostGIS atlas, as for every command; the positional ``URL`` of
init/migrate/roles/status and ``--to URL`` (push) / ``--from URL`` (pull) stay as aliases.
"""

from __future__ import annotations

import argparse
import json

from kcn_gis.cli._common import UsageError, note
from kcn_gis.progress import steps

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
    _add_url(q)
    q.add_argument("--crs", default="EPSG:9209", help="working CRS of the atlas (default: EPSG:9209, VN-2000 TM-3)")
    q.set_defaults(func=_init)

    q = dsub.add_parser("migrate", help="apply pending schema migrations")
    _add_url(q)
    q.set_defaults(func=_migrate)

    q = dsub.add_parser(
        "roles",
        help="create the editor, viewer and investor_export roles",
        description="Create the group roles PREFIXviewer (read everything), PREFIXeditor (also append clearance "
        "events and edit plots) and PREFIXinvestor_export (read only the investor views; no personal data), "
        "and grant their privileges on the atlas. Needs CREATEROLE and ownership of the atlas.",
    )
    _add_url(q)
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
    _add_url(q)
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.set_defaults(func=_status)

    q = dsub.add_parser("push", help="copy a GeoPackage atlas into PostGIS (one transaction)")
    q.add_argument("--from", dest="source", required=True, metavar="ATLAS.gpkg")
    q.add_argument("--atlas", dest="atlas", metavar="URL", help="the PostGIS atlas to fill (postgresql:// URL)")
    q.add_argument("--to", dest="target", metavar="URL", help="the same as --atlas (kept as an alias)")
    q.set_defaults(func=_copy, db_direction="push")

    q = dsub.add_parser("pull", help="copy a PostGIS atlas into a GeoPackage (atomic file replace)")
    q.add_argument("--atlas", dest="atlas", metavar="URL", help="the PostGIS atlas to copy (postgresql:// URL)")
    q.add_argument("--from", dest="source", metavar="URL", help="the same as --atlas (kept as an alias)")
    q.add_argument("--to", dest="target", required=True, metavar="ATLAS.gpkg")
    q.set_defaults(func=_copy, db_direction="pull")


def _add_url(q: argparse.ArgumentParser) -> None:
    q.add_argument("--atlas", metavar="URL", help="the PostGIS atlas: postgresql://user@host:port/dbname")
    q.add_argument("url", metavar="URL", nargs="?", help="the same as --atlas (kept as an alias)")


def _is_url(text: str) -> bool:
    return text.split("://", 1)[0].lower() in ("postgresql", "postgres") and "://" in text


def _url(args: argparse.Namespace) -> str:
    """The PostGIS URL of a db command: --atlas, or the positional URL; a usage error for anything else."""
    if args.atlas and args.url and args.atlas != args.url:
        raise UsageError(f"give the atlas once: --atlas {args.atlas} and URL {args.url} disagree")
    url = args.atlas or args.url
    if not url:
        raise UsageError(f"kcn-gis db {args.db_command} needs --atlas postgresql://user@host:port/dbname")
    return _check_url(url, args.db_command)


def _check_url(url: str, command: str) -> str:
    if not _is_url(url):
        raise UsageError(
            f"{url}: kcn-gis db {command} works on a PostGIS atlas, given as postgresql://user@host:port/dbname. "
            "A GeoPackage needs no db command: check it with kcn-gis validate --atlas FILE.gpkg, copy it into "
            "PostGIS with kcn-gis db push --from FILE.gpkg --atlas URL"
        )
    return url


def _init(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import init_database, parse_url

    url = _url(args)
    applied = init_database(url, crs=args.crs)
    where = parse_url(url)[2]
    if applied:
        print(f"{where}: created the atlas schema (migrations {', '.join(map(str, applied))} applied)")
    else:
        print(f"{where}: the atlas schema is already up to date")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import migrate_database, parse_url

    url = _url(args)
    before, after, applied = migrate_database(url)
    where = parse_url(url)[2]
    if applied:
        print(f"{where}: migrated from version {before} to {after}")
    else:
        print(f"{where}: already at version {after}; nothing to migrate")
    return 0


def _roles(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import setup_roles

    url = _url(args)
    members: dict[str, str] = {}
    for item in args.member:
        login, sep, kind = item.partition("=")
        if not sep or not login or not kind:
            raise UsageError(f"--member {item!r}: write it as LOGIN=ROLE, e.g. --member alice=editor")
        members[login] = kind
    names = setup_roles(url, prefix=args.prefix, members=members)
    for kind, name in names.items():
        print(f"{kind}: {name}")
    for login, kind in members.items():
        print(f"{login} is now a member of {names[kind]}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from kcn_gis.store.postgis import database_status

    st = database_status(_url(args))
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

    push = args.db_direction == "push"
    alias = args.target if push else args.source
    if args.atlas and alias and args.atlas != alias:
        raise UsageError(f"give the PostGIS atlas once: --atlas {args.atlas} and {alias} disagree")
    url = args.atlas or alias
    if not url:
        raise UsageError(
            "kcn-gis db push needs --atlas URL (the PostGIS atlas to fill)"
            if push
            else "kcn-gis db pull needs --atlas URL (the PostGIS atlas to copy)"
        )
    _check_url(url, args.db_command)
    source_loc, target_loc = (args.source, url) if push else (url, args.target)
    with steps(f"kcn-gis db {args.db_command}", ["read", "copy"]) as step:
        step("read")
        source = open_atlas(source_loc)
        skipped = extra_layers(source)
        step("copy")
        target = copy_atlas(source, target_loc)
    if skipped:
        note(
            f"warning: layer(s) {', '.join(skipped)} of {source.location} are not part of the data model and were "
            "not copied"
        )
    counts = ", ".join(f"{name} {len(target.read(name))}" for name in target.layer_names())
    print(f"copied {source.location} -> {target.location}: {counts}")
    return 0
