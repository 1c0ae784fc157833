"""The PostGIS schema of an atlas, generated from :mod:`kcn_gis.schema`, and its migrations.

A PostGIS atlas lives in one PostgreSQL schema (default ``kcn_gis``). Its
structure is versioned: the table ``kcn_gis_schema_version`` records every
migration applied, with who applied it and when. :func:`migrate` brings a
schema up to :data:`LATEST`; ``kcn-gis db init`` and ``kcn-gis db migrate``
call it.

Two kinds of steps run:

* **versioned migrations** (:data:`MIGRATIONS`), applied once each, in order.
  They are additive: a new model column gets a new migration, never an edit of
  an old one.
* **repeatable steps**, re-run by every :func:`migrate`: the ``CHECK``
  constraints on enumerations and the investor views. They are generated from
  the current :mod:`kcn_gis.schema` (enum values and
  :data:`~kcn_gis.schema.INVESTOR_FIELDS`), so the database never keeps a stale
  copy of a list.

What the database enforces (so that a client other than kcn_gis cannot break it):

* primary keys on the key columns and deferred foreign keys
  (``plots.park_id``, ``parcels.park_id`` -> ``parks``; ``plots.project_id`` ->
  ``projects``; ``clearance_events.parcel_id`` -> ``parcels``);
* ``NOT NULL`` on required values, ``CHECK`` on enumerations;
* geometries typed with the atlas SRID (EPSG:9209 for Bắc Ninh), of the layer's
  geometry family, present, non-empty and valid (``ST_IsValid``), with a GiST index;
* ``clearance_events`` is append-only: a trigger refuses ``UPDATE``,
  ``DELETE`` and ``TRUNCATE``, for every role including the owner.

Version 3 gives every styled layer (and its investor view) its default QGIS style
(:mod:`kcn_gis.layer_styles`) in ``public.layer_styles``, the table QGIS reads
styles from when it opens a PostGIS layer (created as QGIS creates it when missing).

Hidden columns: ``fid`` (insertion order, so reads return rows in the order
they were written) on every layer and ``version`` (optimistic locking) on
:data:`~kcn_gis.store.base.VERSIONED_LAYERS`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kcn_gis.layer_styles import LAYER_STYLES_TABLE, style_rows
from kcn_gis.schema import ATLAS_LAYERS, INVESTOR_FIELDS, Col, Layer, LayerSpec
from kcn_gis.store.base import VERSIONED_LAYERS
from kcn_gis.store.postgis._driver import ident as _ident
from kcn_gis.store.postgis._driver import quote as _quote
from kcn_gis.store.postgis._driver import sql as _sql

__all__ = [
    "FID",
    "GEOMETRY",
    "INVESTOR_VIEW_PREFIX",
    "LATEST",
    "LAYER_STYLES_SCHEMA",
    "META_TABLE",
    "MIGRATIONS",
    "VERSION_SEQUENCE",
    "VERSION_TABLE",
    "Migration",
    "current_version",
    "investor_views",
    "migrate",
    "pending",
    "schema_exists",
]

log = logging.getLogger(__name__)

#: Key/value table of atlas metadata (``schema_version``, ``crs``, ...), as in a GeoPackage.
META_TABLE = "kcn_gis_meta"
#: Table recording the applied migrations.
VERSION_TABLE = "kcn_gis_schema_version"
#: Sequence that hands out row versions (unique across the atlas, never reused).
VERSION_SEQUENCE = "kcn_gis_row_version"
#: Hidden insertion-order column of every layer table.
FID = "fid"
#: Geometry column of spatial layers.
GEOMETRY = str(Col.GEOMETRY)
#: Investor views are named ``investor_<layer>``.
INVESTOR_VIEW_PREFIX = "investor_"
#: Schema of QGIS's ``layer_styles`` table (QGIS looks it up through the search path: ``public``).
LAYER_STYLES_SCHEMA = "public"

#: SQL column types for the kinds of :class:`kcn_gis.schema.Column`.
SQL_TYPES: dict[str, str] = {
    "text": "text",
    "int": "bigint",
    "float": "double precision",
    "bool": "boolean",
    "date": "date",
    "datetime": "timestamp without time zone",
}

#: Geometry type names (``GeometryType()``) allowed per layer geometry family.
_GEOM_TYPES = {
    "polygon": ("POLYGON", "MULTIPOLYGON"),
    "line": ("LINESTRING", "MULTILINESTRING"),
    "point_or_polygon": ("POINT", "MULTIPOINT", "POLYGON", "MULTIPOLYGON"),
}

#: Foreign keys: (layer, column) -> (referenced layer, referenced column).
FOREIGN_KEYS: dict[tuple[Layer, str], tuple[Layer, str]] = {
    (Layer.PLOTS, str(Col.PARK_ID)): (Layer.PARKS, str(Col.PARK_ID)),
    (Layer.PLOTS, str(Col.PROJECT_ID)): (Layer.PROJECTS, str(Col.PROJECT_ID)),
    (Layer.PARCELS, str(Col.PARK_ID)): (Layer.PARKS, str(Col.PARK_ID)),
    (Layer.CLEARANCE_EVENTS, str(Col.PARCEL_ID)): (Layer.PARCELS, str(Col.PARCEL_ID)),
}

#: Foreign keys of the layers added in version 2 (``facilities.park_id`` may be null: a facility serving no one park).
FOREIGN_KEYS_V2: dict[tuple[Layer, str], tuple[Layer, str]] = {
    (Layer.FACILITIES, str(Col.PARK_ID)): (Layer.PARKS, str(Col.PARK_ID)),
    (Layer.ENTERPRISE_REPORTS, str(Col.PROJECT_ID)): (Layer.PROJECTS, str(Col.PROJECT_ID)),
}

#: The layers created by version 1 (the seven layers of the first data model). Never change this tuple.
V1_LAYERS: tuple[Layer, ...] = (
    Layer.PROVINCE,
    Layer.RIVERS,
    Layer.PARKS,
    Layer.PLOTS,
    Layer.PARCELS,
    Layer.CLEARANCE_EVENTS,
    Layer.PROJECTS,
)

#: The layers created by version 2.
V2_LAYERS: tuple[Layer, ...] = (Layer.FACILITIES, Layer.ENTERPRISE_REPORTS)

#: Layers carrying a hidden ``version`` column for optimistic locking.
VERSIONED: tuple[Layer, ...] = VERSIONED_LAYERS

#: Layers whose history may only grow (a corrected enterprise report is a new revision, never an edit).
APPEND_ONLY: tuple[Layer, ...] = (Layer.CLEARANCE_EVENTS, Layer.ENTERPRISE_REPORTS)


@dataclass(frozen=True)
class Migration:
    """One versioned step: ``apply(cursor, schema, srid)`` runs inside the migration transaction."""

    version: int
    description: str
    apply: Callable[[Any, str, int], None]


def _column_sql(layer_spec: LayerSpec, c: Any) -> Any:
    sql = _sql()
    parts = [sql.Identifier(c.name), sql.SQL(SQL_TYPES[c.kind])]
    if not c.nullable:
        parts.append(sql.SQL("NOT NULL"))
    return sql.SQL(" ").join(parts)


def _geometry_sql(layer_spec: LayerSpec, srid: int) -> Any:
    sql = _sql()
    assert layer_spec.geometry is not None
    types = sql.SQL(", ").join(sql.Literal(t) for t in _GEOM_TYPES[layer_spec.geometry])
    g = sql.Identifier(GEOMETRY)
    name = str(layer_spec.name)
    return sql.SQL(
        "{g} geometry(Geometry, {srid}) NOT NULL, "
        "CONSTRAINT {c_type} CHECK (GeometryType({g}) IN ({types})), "
        "CONSTRAINT {c_empty} CHECK (NOT ST_IsEmpty({g})), "
        "CONSTRAINT {c_valid} CHECK (ST_IsValid({g}))"
    ).format(
        g=g,
        srid=sql.Literal(int(srid)),
        types=types,
        c_type=sql.Identifier(f"{name}_geometry_type"),
        c_empty=sql.Identifier(f"{name}_geometry_not_empty"),
        c_valid=sql.Identifier(f"{name}_geometry_valid"),
    )


def _ensure_srid(cur: Any, srid: int) -> None:
    """Make sure ``spatial_ref_sys`` knows ``srid`` (PostGIS 3.3 lacks EPSG:9209); add it from PROJ if not."""
    cur.execute("SELECT 1 FROM spatial_ref_sys WHERE srid = %s", [srid])
    if cur.fetchone():
        return
    import warnings

    from pyproj import CRS
    from pyproj.enums import WktVersion

    crs = CRS.from_epsg(srid)
    with warnings.catch_warnings():  # PROJ strings lose detail; PostGIS 3 uses the EPSG code via PROJ anyway
        warnings.simplefilter("ignore", UserWarning)
        proj4 = crs.to_proj4()
    log.info("adding EPSG:%s (%s) to spatial_ref_sys from the PROJ database", srid, crs.name)
    cur.execute(
        "INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) VALUES (%s, %s, %s, %s, %s)",
        [srid, "EPSG", srid, crs.to_wkt(WktVersion.WKT1_GDAL), proj4],
    )


def _initial(cur: Any, schema: str, srid: int) -> None:
    """Version 1: the seven layers of the data model, metadata, row versions and the append-only trigger."""
    sql = _sql()
    _ensure_srid(cur, srid)
    s = schema
    cur.execute(sql.SQL("CREATE TABLE {} (key text PRIMARY KEY, value text NOT NULL)").format(_ident(s, META_TABLE)))
    cur.execute(sql.SQL("CREATE SEQUENCE {}").format(_ident(s, VERSION_SEQUENCE)))
    for name in V1_LAYERS:
        _create_layer(cur, s, name, srid)
    _add_foreign_keys(cur, s, FOREIGN_KEYS)
    func = _ident(s, "kcn_gis_refuse_history_change")
    cur.execute(
        sql.SQL(
            "CREATE FUNCTION {f}() RETURNS trigger LANGUAGE plpgsql AS $body$ "
            "BEGIN RAISE EXCEPTION USING "
            "ERRCODE = 'insufficient_privilege', "
            "MESSAGE = format('%s.%s is append-only: %s is refused', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_OP), "
            "HINT = 'history is never edited or deleted; record a correction event instead'; "
            "END $body$"
        ).format(f=func)
    )
    _append_only(cur, s, Layer.CLEARANCE_EVENTS)


def _facilities_and_reports(cur: Any, schema: str, srid: int) -> None:
    """Version 2: the ``facilities`` and ``enterprise_reports`` layers; reports are append-only."""
    _ensure_srid(cur, srid)
    for name in V2_LAYERS:
        _create_layer(cur, schema, name, srid)
    _add_foreign_keys(cur, schema, FOREIGN_KEYS_V2)
    _append_only(cur, schema, Layer.ENTERPRISE_REPORTS)


def _create_layer(cur: Any, s: str, name: Layer, srid: int) -> None:
    """CREATE TABLE for one layer from its :class:`LayerSpec` (hidden fid, key, typed geometry, GiST index)."""
    sql = _sql()
    ls = ATLAS_LAYERS[name]
    cols = [sql.SQL("{} bigint GENERATED ALWAYS AS IDENTITY UNIQUE").format(sql.Identifier(FID))]
    cols += [_column_sql(ls, c) for c in ls.columns]
    if name in VERSIONED:
        cols.append(
            sql.SQL("{} bigint NOT NULL DEFAULT nextval({})").format(
                sql.Identifier(str(Col.VERSION)), sql.Literal(f"{_quote(s)}.{_quote(VERSION_SEQUENCE)}")
            )
        )
    if ls.geometry is not None:
        cols.append(_geometry_sql(ls, srid))
    if ls.key:
        cols.append(
            sql.SQL("CONSTRAINT {} PRIMARY KEY ({})").format(sql.Identifier(f"{name}_pkey"), sql.Identifier(ls.key))
        )
    cur.execute(sql.SQL("CREATE TABLE {} ({})").format(_ident(s, str(name)), sql.SQL(", ").join(cols)))
    if ls.geometry is not None:
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} USING gist ({})").format(
                sql.Identifier(f"{name}_geometry_gist"), _ident(s, str(name)), sql.Identifier(GEOMETRY)
            )
        )


def _add_foreign_keys(cur: Any, s: str, keys: dict[tuple[Layer, str], tuple[Layer, str]]) -> None:
    sql = _sql()
    for (layer, col), (ref_layer, ref_col) in keys.items():
        cur.execute(
            sql.SQL(
                "ALTER TABLE {t} ADD CONSTRAINT {c} FOREIGN KEY ({col}) REFERENCES {rt} ({rc}) "
                "DEFERRABLE INITIALLY DEFERRED"
            ).format(
                t=_ident(s, str(layer)),
                c=sql.Identifier(f"{layer}_{col}_fkey"),
                col=sql.Identifier(col),
                rt=_ident(s, str(ref_layer)),
                rc=sql.Identifier(ref_col),
            )
        )
        cur.execute(
            sql.SQL("CREATE INDEX {} ON {} ({})").format(
                sql.Identifier(f"{layer}_{col}_idx"), _ident(s, str(layer)), sql.Identifier(col)
            )
        )


def _append_only(cur: Any, s: str, layer: Layer) -> None:
    """Triggers refusing UPDATE, DELETE and TRUNCATE on ``layer`` (the function is created by version 1)."""
    sql = _sql()
    func = _ident(s, "kcn_gis_refuse_history_change")
    t = _ident(s, str(layer))
    cur.execute(
        sql.SQL("CREATE TRIGGER {n} BEFORE UPDATE OR DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {f}()").format(
            n=sql.Identifier(f"{layer}_append_only"), t=t, f=func
        )
    )
    cur.execute(
        sql.SQL("CREATE TRIGGER {n} BEFORE TRUNCATE ON {t} FOR EACH STATEMENT EXECUTE FUNCTION {f}()").format(
            n=sql.Identifier(f"{layer}_no_truncate"), t=t, f=func
        )
    )


def _layer_styles(cur: Any, schema: str, srid: int) -> None:
    """Version 3: the default QGIS style of each styled layer and investor view, in ``public.layer_styles``.

    The table is created as QGIS creates it (same columns and types) when missing. A layer that
    has a style row already (one saved from QGIS) gets none, so users' styles are kept.
    """
    sql = _sql()
    table = _ident(LAYER_STYLES_SCHEMA, LAYER_STYLES_TABLE)
    cur.execute("SELECT pg_advisory_xact_lock(hashtext('kcn_gis:layer_styles'))")  # two atlases migrating at once
    cur.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (id SERIAL PRIMARY KEY, f_table_catalog varchar, f_table_schema varchar, "
            "f_table_name varchar, f_geometry_column varchar, styleName text, styleQML xml, styleSLD xml, "
            "useAsDefault boolean, description text, owner varchar(63) DEFAULT CURRENT_USER, ui xml, "
            "update_time timestamp DEFAULT CURRENT_TIMESTAMP, type varchar)"
        ).format(table)
    )
    cur.execute("SELECT current_database()")
    catalog = str(cur.fetchone()[0])
    layers = {str(name): GEOMETRY for name, ls in ATLAS_LAYERS.items() if ls.geometry is not None}
    rows = style_rows(layers, catalog=catalog, schema=schema)
    by_layer = {r["f_table_name"]: r for r in rows}
    for view, (layer, cols) in investor_views().items():
        if str(layer) in by_layer and GEOMETRY in cols:
            rows.append({**by_layer[str(layer)], "f_table_name": view})
    cur.execute(
        sql.SQL("SELECT DISTINCT f_table_name FROM {} WHERE f_table_catalog = %s AND f_table_schema = %s").format(
            table
        ),
        [catalog, schema],
    )
    styled = {str(r[0]) for r in cur.fetchall()}
    for r in rows:
        if r["f_table_name"] in styled:
            continue
        cur.execute(
            sql.SQL(
                "INSERT INTO {} (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
                "styleQML, styleSLD, useAsDefault, description) "
                "VALUES (%s, %s, %s, %s, %s, XMLPARSE(DOCUMENT %s), XMLPARSE(DOCUMENT %s), %s, %s)"
            ).format(table),
            [
                r["f_table_catalog"],
                r["f_table_schema"],
                r["f_table_name"],
                r["f_geometry_column"],
                r["styleName"],
                r["styleQML"],
                r["styleSLD"],
                bool(r["useAsDefault"]),
                r["description"],
            ],
        )


#: The versioned migrations, in order. Never edit a released one; append a new one.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "the seven layers of the atlas data model, metadata, row versions, append-only history", _initial),
    Migration(2, "facilities and enterprise_reports (append-only report revisions)", _facilities_and_reports),
    Migration(3, "default QGIS styles of the layers in public.layer_styles", _layer_styles),
)

#: The schema version this kcn_gis brings a database to.
LATEST = MIGRATIONS[-1].version


def investor_views() -> dict[str, tuple[Layer, tuple[str, ...]]]:
    """Investor views: view name -> (layer, allow-listed columns), from :data:`kcn_gis.schema.INVESTOR_FIELDS`.

    Layers with no investor field (parcels, clearance events) get no view at all.
    """
    out: dict[str, tuple[Layer, tuple[str, ...]]] = {}
    for layer, fields in INVESTOR_FIELDS.items():
        if not fields:
            continue
        cols = tuple(str(f) for f in fields)
        if ATLAS_LAYERS[layer].geometry is not None:
            cols += (GEOMETRY,)
        out[f"{INVESTOR_VIEW_PREFIX}{layer}"] = (layer, cols)
    return out


def _refresh(cur: Any, schema: str) -> None:
    """Repeatable steps: enumeration CHECKs and investor views, generated from the current schema module."""
    sql = _sql()
    cur.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
    present = {str(r[0]) for r in cur.fetchall()}  # a schema migrated to an earlier target lacks later layers
    for name, ls in ATLAS_LAYERS.items():
        if str(name) not in present:
            continue
        t = _ident(schema, str(name))
        for c in ls.columns:
            if c.enum is None:
                continue
            cname = sql.Identifier(f"{name}_{c.name}_enum")
            values = sql.SQL(", ").join(sql.Literal(str(v)) for v in c.enum)
            cur.execute(sql.SQL("ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}").format(t, cname))
            cur.execute(
                sql.SQL("ALTER TABLE {t} ADD CONSTRAINT {c} CHECK ({col} IN ({values}))").format(
                    t=t, c=cname, col=sql.Identifier(c.name), values=values
                )
            )
    for view, (layer, cols) in investor_views().items():
        if str(layer) not in present:
            continue
        v = _ident(schema, view)
        cur.execute(sql.SQL("DROP VIEW IF EXISTS {}").format(v))
        cur.execute(
            sql.SQL("CREATE VIEW {v} AS SELECT {cols} FROM {t} ORDER BY {fid}").format(
                v=v,
                cols=sql.SQL(", ").join(sql.Identifier(c) for c in cols),
                t=_ident(schema, str(layer)),
                fid=sql.Identifier(FID),
            )
        )


def schema_exists(cur: Any, schema: str) -> bool:
    """True when ``schema`` holds a kcn_gis atlas (its migration table exists)."""
    cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f"{_quote(schema)}.{_quote(VERSION_TABLE)}"])
    row = cur.fetchone()
    return bool(row and row[0])


def current_version(cur: Any, schema: str) -> int:
    """The migration version of ``schema`` (0 when it holds no atlas)."""
    if not schema_exists(cur, schema):
        return 0
    sql = _sql()
    cur.execute(sql.SQL("SELECT coalesce(max(version), 0) FROM {}").format(_ident(schema, VERSION_TABLE)))
    row = cur.fetchone()
    return int(row[0]) if row else 0


def migrate(cur: Any, schema: str, *, srid: int, target: int | None = None) -> list[int]:
    """Bring ``schema`` up to ``target`` (default :data:`LATEST`) inside the caller's transaction.

    Creates the schema when missing. Takes a transaction-scoped advisory lock so
    that two ``migrate`` runs never interleave. Returns the versions applied
    (empty when already up to date; the repeatable steps run anyway).

    Parameters
    ----------
    cur : psycopg.Cursor
        A cursor whose connection is inside a transaction; the caller commits.
    schema : str
        PostgreSQL schema holding the atlas.
    srid : int
        SRID of the atlas CRS (9209 for Bắc Ninh); used when creating tables.
    """
    sql = _sql()
    target = LATEST if target is None else target
    cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kcn_gis:{schema}:migrate"])
    cur.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    cur.execute(
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (version integer PRIMARY KEY, description text NOT NULL, "
            "applied_at timestamptz NOT NULL DEFAULT now(), applied_by text NOT NULL DEFAULT current_user)"
        ).format(_ident(schema, VERSION_TABLE))
    )
    have = current_version(cur, schema)
    applied: list[int] = []
    for m in MIGRATIONS:
        if have < m.version <= target:
            log.info("migrating %s to version %s: %s", schema, m.version, m.description)
            m.apply(cur, schema, srid)
            cur.execute(
                sql.SQL("INSERT INTO {} (version, description) VALUES (%s, %s)").format(_ident(schema, VERSION_TABLE)),
                [m.version, m.description],
            )
            applied.append(m.version)
    _refresh(cur, schema)
    return applied


def pending(have: int) -> Sequence[Migration]:
    """Migrations not yet applied to a schema at version ``have``."""
    return [m for m in MIGRATIONS if m.version > have]
