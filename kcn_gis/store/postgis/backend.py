"""The PostGIS backend class: a shared, multi-user atlas in one PostgreSQL schema.

Open it with ``kcn_gis.open_atlas("postgresql://user@host/db")``; add
``?schema=NAME`` to use another schema than ``kcn_gis``. Everything else is
the same :class:`~kcn_gis.store.base.Atlas` API as for a GeoPackage.

Guarantees:

* every statement is parameterised; identifiers go through
  ``psycopg.sql.Identifier`` and values are bound parameters or
  ``psycopg.sql.Literal``. The one exception is the ``where`` argument of
  :meth:`Atlas.read`, which *is* SQL by definition: it runs in a READ ONLY
  transaction with the extended query protocol (one statement only). Use
  ``filters=`` for values that come from users;
* a whole-layer write, an append and a ``kcn-gis db push`` are each one
  transaction: a client that dies midway leaves nothing behind;
* appends are idempotent on the key (``INSERT ... ON CONFLICT DO NOTHING``),
  so two imports racing on the same events both succeed and store each event once;
* plot edits are checked against the row version read (optimistic locking)
  under ``SELECT ... FOR UPDATE`` and raise :class:`~kcn_gis.errors.ConcurrencyError`
  instead of overwriting someone else's change;
* the clearance history is append-only in the database itself (see
  :mod:`kcn_gis.store.postgis.migrations`).

Geometries travel as WKB (``ST_AsBinary`` / hex EWKB in ``COPY``) and are
decoded with :func:`shapely.from_wkb`, so coordinates round-trip bit for bit.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import weakref
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.errors import ConcurrencyError, KcnGisError, SchemaError, StoreError
from kcn_gis.schema import ATLAS_LAYERS, Col, Layer, spec
from kcn_gis.store.postgis import migrations as mig
from kcn_gis.store.postgis._driver import parse_url
from kcn_gis.store.postgis._driver import psycopg as _psycopg
from kcn_gis.store.postgis._driver import qualified as _qualified
from kcn_gis.store.postgis._driver import srid_of as _srid_of

__all__ = ["PostGISBackend"]

log = logging.getLogger(__name__)


_VERSION = str(Col.VERSION)
_HIDDEN = {mig.FID}

# PostgreSQL type name (format_type) -> column kind, for columns not in the data model.
_PG_KINDS = {
    "text": "text",
    "character varying": "text",
    "bigint": "int",
    "integer": "int",
    "smallint": "int",
    "double precision": "float",
    "real": "float",
    "numeric": "float",
    "boolean": "bool",
    "date": "date",
    "timestamp without time zone": "datetime",
    "timestamp with time zone": "datetime",
}


class PostGISBackend:
    """Store an atlas in a PostgreSQL/PostGIS schema.

    Parameters
    ----------
    url : str
        ``postgresql://[user[:password]@]host[:port]/dbname[?schema=NAME&sslmode=...]``.
    create : bool, default False
        Allow a schema with no atlas yet: it is created (all migrations) by the
        first :meth:`write_layers`, inside that write's transaction.
    schema : str, optional
        Overrides the URL's ``schema`` parameter.
    """

    #: Equality ``filters`` are pushed down into SQL by this backend.
    supports_filters = True

    def __init__(self, url: str, *, create: bool = False, schema: str | None = None) -> None:
        self.url = url
        self.conninfo, self.schema, self.location = parse_url(url, schema=schema)
        self._layers: dict[str, str | None] | None = None
        self._columns: dict[str, list[tuple[str, str]]] = {}
        self._srid: int | None = None
        self._srids: dict[str, int] = {}
        self._reader: Any = None
        self._reader_pid = 0
        with self._connect(read_only=True) as conn, conn.cursor() as cur:
            have = mig.current_version(cur, self.schema)
        self._needs_init = have == 0
        if have == 0 and not create:
            raise StoreError(
                f"{self.location}: schema '{self.schema}' holds no kcn_gis atlas. Create one with "
                f"kcn-gis db init URL, or copy a GeoPackage in with kcn-gis db push --from ATLAS.gpkg --to URL "
                "(add ?schema=NAME to the URL for another schema)."
            )
        if have > mig.LATEST:
            raise StoreError(
                f"{self.location}: the database schema is at version {have}, newer than this kcn_gis understands "
                f"({mig.LATEST}). Upgrade kcn_gis: pip install -U 'kcn_gis[postgis]'"
            )
        if 0 < have < mig.LATEST:
            raise StoreError(
                f"{self.location}: the database schema is at version {have}; this kcn_gis needs {mig.LATEST}. "
                "Ask the atlas owner to run: kcn-gis db migrate URL"
            )

    # -- connections -----------------------------------------------------------------------------------
    def _open(self, *, autocommit: bool) -> Any:
        psycopg = _psycopg()
        try:
            return psycopg.connect(self.conninfo, autocommit=autocommit, connect_timeout=30)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"cannot connect to the PostGIS atlas {self.location}: {str(exc).strip()}. "
                "Check host, port, database, user and password (or ~/.pgpass), and that the server is running."
            ) from exc

    @contextlib.contextmanager
    def _connect(self, *, read_only: bool = False, autocommit: bool = False) -> Iterator[Any]:
        """A connection inside one transaction: committed on success, rolled back on any error.

        Read-only work reuses one connection per process (each use is its own
        READ ONLY transaction); writes get a fresh connection.
        """
        if read_only and not autocommit:
            conn = self._reader if self._reader_pid == os.getpid() else None
            if conn is None or conn.closed or conn.broken:
                conn = self._open(autocommit=True)
                conn.read_only = True
                self._reader, self._reader_pid = conn, os.getpid()
                weakref.finalize(self, _close_in_owner, conn, os.getpid())
            with conn.transaction():
                yield conn
            return
        conn = self._open(autocommit=autocommit)
        with conn:
            if read_only:
                conn.read_only = True
            yield conn

    def close(self) -> None:
        """Close the cached read connection (also done when the backend is garbage-collected)."""
        if self._reader is not None and self._reader_pid == os.getpid():
            self._reader.close()
        self._reader = None

    def _fail(self, exc: Exception, action: str) -> KcnGisError:
        psycopg = _psycopg()
        errors = psycopg.errors
        diag = getattr(exc, "diag", None)
        detail = getattr(diag, "message_detail", None)
        hint = getattr(diag, "message_hint", None)
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        extra = "".join(f" {x}" for x in (detail, hint) if x)
        if isinstance(exc, errors.InsufficientPrivilege):
            return StoreError(
                f"{self.location}: {action} is not allowed for this database role: {text}.{extra} "
                "Ask the atlas owner for the right role (kcn-gis db roles: editor, viewer, investor_export)."
            )
        if isinstance(exc, errors.ForeignKeyViolation | errors.CheckViolation | errors.NotNullViolation):
            constraint = getattr(diag, "constraint_name", None)
            return SchemaError(
                f"{self.location}: {action} refused by the database constraint '{constraint}': {text}.{extra} "
                "Nothing was written. Fix the data (kcn-gis validate shows schema problems; a foreign key needs "
                "the referenced park, parcel or project to exist)."
            )
        if isinstance(exc, errors.UniqueViolation):
            return SchemaError(f"{self.location}: {action} refused: duplicate key: {text}.{extra} Nothing was written.")
        return StoreError(f"{self.location}: {action} failed: {text}.{extra}")

    # -- structure -------------------------------------------------------------------------------------
    def list_layers(self) -> dict[str, str | None]:
        if self._needs_init:
            return {}
        if self._layers is None:
            with self._connect(read_only=True) as conn, conn.cursor() as cur:
                cur.execute(
                    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = %s AND c.relkind IN ('r', 'p')",
                    [self.schema],
                )
                tables = {str(r[0]) for r in cur.fetchall()}
                cur.execute(
                    "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = %s "
                    "AND f_geometry_column = %s",
                    [self.schema, mig.GEOMETRY],
                )
                self._srids = {str(t): int(v) for t, v in cur.fetchall()}
            self._layers = {
                str(name): ("Geometry" if s.geometry is not None else None)
                for name, s in ATLAS_LAYERS.items()
                if str(name) in tables
            }
        return self._layers

    def _table_columns(self, cur: Any, layer: str) -> list[tuple[str, str]]:
        """(name, SQL type) of the table's columns in table order, hidden ``fid`` excluded."""
        if layer not in self._columns:
            cur.execute(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
                "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                [f"{mig._quote(self.schema)}.{mig._quote(layer)}"],
            )
            self._columns[layer] = [(str(n), str(t)) for n, t in cur.fetchall() if n not in _HIDDEN]
        return self._columns[layer]

    def srid(self) -> int:
        """SRID of the atlas geometries (from the ``crs`` metadata)."""
        if self._srid is None:
            from pyproj import CRS

            crs = self.read_meta().get("crs")
            epsg = CRS.from_user_input(crs).to_epsg() if crs else None
            if not epsg:
                raise StoreError(f"{self.location}: the atlas metadata has no EPSG CRS; run kcn-gis db init URL")
            self._srid = int(epsg)
        return self._srid

    def layer_crs(self, layer: str) -> Any:
        self.list_layers()
        srid = self._srids.get(layer)
        return f"EPSG:{srid}" if srid else None

    def layer_stamp(self, layer: str) -> str | None:
        """None: PostgreSQL keeps no change stamp kcn_gis can trust, so layers are validated on every read."""
        return None

    def read_meta(self) -> dict[str, str]:
        if self._needs_init:
            return {}
        sql = _psycopg().sql
        with self._connect(read_only=True) as conn, conn.cursor() as cur:
            cur.execute(sql.SQL("SELECT key, value FROM {}").format(_qualified(self.schema, mig.META_TABLE)))
            return {str(k): str(v) for k, v in cur.fetchall()}

    def schema_version(self) -> int:
        """The migration version of the atlas schema."""
        with self._connect(read_only=True) as conn, conn.cursor() as cur:
            return mig.current_version(cur, self.schema)

    # -- reading ---------------------------------------------------------------------------------------
    def read_layer(
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: str | None = None,
        columns: list[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        defer: bool = True,
    ) -> pd.DataFrame | gpd.GeoDataFrame:
        psycopg = _psycopg()
        sql = psycopg.sql
        s = spec(layer)
        try:
            with self._connect(read_only=True) as conn, conn.cursor(binary=True) as cur:
                table_cols = self._table_columns(cur, layer)
                types = dict(table_cols)
                attrs = [n for n, _ in table_cols if n != mig.GEOMETRY]
                if columns is not None:
                    unknown = [c for c in columns if c not in types or c == mig.GEOMETRY]
                    if unknown:
                        raise StoreError(
                            f"{self.location} layer '{layer}' has no column(s) {', '.join(map(str, unknown))}; "
                            f"it has: {', '.join(a for a in attrs if a != _VERSION)}"
                        )
                    wanted = [c for c in attrs if c in columns or c == _VERSION]
                else:
                    wanted = attrs
                select = [sql.Identifier(c) for c in wanted]
                spatial = s.geometry is not None
                if spatial:
                    select.append(sql.SQL("ST_AsBinary({})").format(sql.Identifier(mig.GEOMETRY)))
                conds: list[Any] = []
                params: list[Any] = []
                if bbox is not None:
                    if not spatial:
                        raise StoreError(f"bbox filters need a spatial layer; '{layer}' has no geometry")
                    conds.append(
                        sql.SQL("ST_Intersects({}, ST_MakeEnvelope(%s, %s, %s, %s, %s))").format(
                            sql.Identifier(mig.GEOMETRY)
                        )
                    )
                    params += [float(x) for x in bbox] + [self.srid()]
                for col, value in (filters or {}).items():
                    if col not in types:
                        raise StoreError(f"{self.location} layer '{layer}' has no column '{col}' to filter on")
                    if isinstance(value, str) or not isinstance(value, Sequence | np.ndarray | pd.Series | pd.Index):
                        conds.append(sql.SQL("{} = %s").format(sql.Identifier(col)))
                        params.append(_py(value))
                    else:
                        conds.append(sql.SQL("{} = ANY(%s)").format(sql.Identifier(col)))
                        params.append([_py(v) for v in value])
                if where:
                    conds.append(
                        sql.SQL("({})").format(sql.SQL(where.replace("%", "%%")))
                    )  # documented: where is SQL, read only
                query = sql.SQL("SELECT {cols} FROM {t}{w} ORDER BY {fid}").format(
                    cols=sql.SQL(", ").join(select),
                    t=_qualified(self.schema, layer),
                    w=sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL(""),
                    fid=sql.Identifier(mig.FID),
                )
                # A binary cursor always uses the extended protocol: one statement only, even in `where`.
                cur.execute(query, params)
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise self._fail(exc, f"reading layer '{layer}'") from exc
        data: dict[str, Any] = {}
        for i, name in enumerate(wanted):
            kind = _kind(s, name, types[name])
            data[name] = _column([r[i] for r in rows], kind)
        frame = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
        if not spatial:
            return frame
        wkb = [bytes(r[-1]) if r[-1] is not None else None for r in rows]
        geoms = shapely.from_wkb(np.array(wkb, dtype=object)) if wkb else np.array([], dtype=object)
        crs = f"EPSG:{self.srid()}"
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, index=frame.index, crs=crs), crs=crs)

    # -- writing ---------------------------------------------------------------------------------------
    def write_layers(self, layers: Mapping[str, pd.DataFrame], meta: Mapping[str, str]) -> None:
        """Replace the given layers and meta entries in one transaction (creating the schema if needed).

        ``clearance_events`` is append-only: the new frame must contain every
        stored event unchanged; only the new ones are inserted.
        """
        psycopg = _psycopg()
        sql = psycopg.sql
        srid = _srid_of(meta.get("crs")) if self._needs_init else self.srid()
        try:
            with self._connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kcn_gis:{self.schema}:write"])
                if self._needs_init:
                    mig.migrate(cur, self.schema, srid=srid)
                for name, frame in layers.items():
                    if Layer(name) in mig.APPEND_ONLY:
                        self._merge_history(cur, name, frame)
                    else:
                        self._ensure_columns(cur, name, frame)
                        cur.execute(sql.SQL("DELETE FROM {}").format(_qualified(self.schema, name)))
                        self._copy(cur, _qualified(self.schema, name), name, frame, srid)
                for key, value in meta.items():
                    cur.execute(
                        sql.SQL(
                            "INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
                            "EXCLUDED.value"
                        ).format(_qualified(self.schema, mig.META_TABLE)),
                        [str(key), str(value)],
                    )
                conn.commit()  # deferred foreign keys are checked here
        except psycopg.Error as exc:
            raise self._fail(exc, f"writing layer(s) {', '.join(layers)}") from exc
        finally:
            self._layers = None
            self._columns.clear()
        self._needs_init = False
        self._srid = srid

    def _ensure_columns(self, cur: Any, layer: str, frame: pd.DataFrame) -> None:
        """Add columns the frame has and the table lacks (user columns are kept, never dropped)."""
        sql = _psycopg().sql
        have = {n for n, _ in self._table_columns(cur, layer)}
        for col in frame.columns:
            if col in have or col == _VERSION or (isinstance(frame, gpd.GeoDataFrame) and col == frame.geometry.name):
                continue
            sql_type = _infer_sql_type(frame[col])
            log.info("adding column %s %s to %s.%s", col, sql_type, self.schema, layer)
            cur.execute(
                sql.SQL("ALTER TABLE {} ADD COLUMN {} {}").format(
                    _qualified(self.schema, layer), sql.Identifier(str(col)), sql.SQL(sql_type)
                )
            )
        self._columns.pop(layer, None)

    def _rows(self, layer: str, frame: pd.DataFrame, srid: int) -> tuple[list[str], list[list[Any]]]:
        """Column names and Python rows for COPY/INSERT; geometry as hex EWKB."""
        s = spec(layer)
        cols = [c for c in frame.columns if c != _VERSION]
        geom_name = frame.geometry.name if isinstance(frame, gpd.GeoDataFrame) else None
        attr_cols = [c for c in cols if c != geom_name]
        values = [_pylist(frame[c], _kind(s, str(c), None)) for c in attr_cols]
        names = [str(c) for c in attr_cols]
        if geom_name is not None:
            _require_srid(self.location, layer, frame.crs, srid)
            geoms = np.asarray(frame.geometry.values)
            missing = shapely.is_missing(geoms)
            hexes = shapely.to_wkb(shapely.set_srid(geoms, srid), hex=True, include_srid=True)
            values.append([None if m else h for m, h in zip(missing, hexes, strict=True)])
            names.append(mig.GEOMETRY)
        rows = [list(r) for r in zip(*values, strict=True)] if values else []
        return names, rows

    def _copy(self, cur: Any, target: Any, layer: str, frame: pd.DataFrame, srid: int) -> None:
        sql = _psycopg().sql
        names, rows = self._rows(layer, frame, srid)
        if not rows:
            return
        stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(target, sql.SQL(", ").join(sql.Identifier(n) for n in names))
        with cur.copy(stmt) as cp:
            for row in rows:
                cp.write_row(row)

    def _merge_history(self, cur: Any, layer: str, frame: pd.DataFrame) -> None:
        """Whole-layer write of an append-only layer: refuse to drop or change stored rows; insert the new ones."""
        sql = _psycopg().sql
        s = spec(layer)
        key = s.key
        assert key is not None
        self._ensure_columns(cur, layer, frame)
        names, rows = self._rows(layer, frame, 0)
        kpos = names.index(key)
        incoming = {r[kpos]: r for r in rows}
        cur.execute(
            sql.SQL("SELECT {} FROM {} ORDER BY {}").format(
                sql.SQL(", ").join(sql.Identifier(n) for n in names),
                _qualified(self.schema, layer),
                sql.Identifier(mig.FID),
            )
        )
        stored = cur.fetchall()
        dropped = [r[kpos] for r in stored if r[kpos] not in incoming]
        changed = [r[kpos] for r in stored if r[kpos] in incoming and not _same_row(list(r), incoming[r[kpos]])]
        if dropped or changed:
            parts = []
            if dropped:
                parts.append(f"{len(dropped)} stored event(s) would be deleted ({', '.join(map(str, dropped[:10]))})")
            if changed:
                parts.append(f"{len(changed)} stored event(s) would be changed ({', '.join(map(str, changed[:10]))})")
            raise StoreError(
                f"{self.location} layer '{layer}' is append-only: {'; '.join(parts)}. Nothing was written. "
                "History is never edited: append new events (kcn-gis clearance import) and record corrections "
                "as 'correction' events."
            )
        have = {r[kpos] for r in stored}
        new = frame[[k not in have for k in (r[kpos] for r in rows)]]
        self._insert_new(cur, layer, new, 0)

    def _insert_new(self, cur: Any, layer: str, frame: pd.DataFrame, srid: int) -> int:
        """Insert rows whose key is not stored yet, in frame order; return how many were inserted."""
        sql = _psycopg().sql
        s = spec(layer)
        if not len(frame):
            return 0
        names, _ = self._rows(layer, frame.iloc[:0], srid)
        idents = sql.SQL(", ").join(sql.Identifier(n) for n in names)
        cur.execute(
            sql.SQL("CREATE TEMPORARY TABLE kcn_gis_incoming ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
                idents, _qualified(self.schema, layer)
            )
        )
        cur.execute("ALTER TABLE kcn_gis_incoming ADD COLUMN kcn_gis_ord bigint GENERATED ALWAYS AS IDENTITY")
        self._copy(cur, sql.Identifier("kcn_gis_incoming"), layer, frame, srid)
        conflict = sql.SQL(" ON CONFLICT ({}) DO NOTHING").format(sql.Identifier(s.key)) if s.key else sql.SQL("")
        cur.execute(
            sql.SQL("INSERT INTO {t} ({cols}) SELECT {cols} FROM kcn_gis_incoming ORDER BY kcn_gis_ord{c}").format(
                t=_qualified(self.schema, layer), cols=idents, c=conflict
            )
        )
        inserted = int(cur.rowcount)
        cur.execute("DROP TABLE kcn_gis_incoming")
        return inserted

    def append_rows(self, layer: str, frame: pd.DataFrame) -> int:
        """Append rows in one transaction; rows whose key is already stored are skipped (idempotent).

        Returns the number of rows actually inserted.
        """
        psycopg = _psycopg()
        if layer not in self.list_layers():
            raise StoreError(f"{self.location}: cannot append to missing layer '{layer}'")
        try:
            with self._connect() as conn, conn.cursor() as cur:
                have = {n for n, _ in self._table_columns(cur, layer)}
                unknown = [c for c in frame.columns if c not in have]
                if unknown:
                    raise StoreError(
                        f"{self.location} layer '{layer}' has no column(s) {', '.join(map(str, unknown))}; "
                        "migrate the atlas (kcn-gis db migrate URL)"
                    )
                inserted = self._insert_new(cur, layer, frame, 0)
                conn.commit()
        except psycopg.Error as exc:
            raise self._fail(exc, f"appending to layer '{layer}'") from exc
        skipped = len(frame) - inserted
        if skipped:
            log.info("%s: %d row(s) of %s were already stored and were skipped", self.location, skipped, layer)
        return inserted

    def change_layer(
        self,
        layer: str,
        frame: pd.DataFrame,
        *,
        mode: str,
        parks: Sequence[str] = (),
        meta: Mapping[str, str] | None = None,
        validated: bool = True,
    ) -> Any:
        """Append rows, or replace the rows of ``parks``, in one transaction (as the GeoPackage store does).

        ``append`` refuses keys already stored (:class:`ConcurrencyError`); a write that would orphan
        rows is refused with the count and examples (:class:`StoreError`), before the deferred
        foreign keys would refuse it at commit.
        """
        from kcn_gis.store.base import REFERENCES, WriteResult, orphan_error

        if self._needs_init:
            self.write_layers({layer: frame}, meta or {})
            return WriteResult(layer, inserted=len(frame), deleted=0)
        if mode not in ("append", "replace_parks"):
            raise StoreError(f"unknown write mode '{mode}'")
        psycopg = _psycopg()
        sql = psycopg.sql
        s = spec(layer)
        key = s.key
        t = _qualified(self.schema, layer)
        srid = self.srid()
        deleted = 0
        try:
            with self._connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"kcn_gis:{self.schema}:write"])
                self._ensure_columns(cur, layer, frame)
                incoming = [k for k in frame[key].tolist()] if key and key in frame.columns else []
                removed: list[Any] = []
                if mode == "replace_parks":
                    scope = sql.SQL("{} = ANY(%s)").format(sql.Identifier(str(Col.PARK_ID)))
                    if key:
                        cur.execute(
                            sql.SQL("SELECT {} FROM {} WHERE ").format(sql.Identifier(key), t) + scope, [list(parks)]
                        )
                        new_keys = set(incoming)
                        removed = [r[0] for r in cur.fetchall() if r[0] not in new_keys]
                    cur.execute(sql.SQL("DELETE FROM {} WHERE ").format(t) + scope, [list(parks)])
                    deleted = int(cur.rowcount)
                elif incoming:
                    cur.execute(
                        sql.SQL("SELECT {k} FROM {t} WHERE {k} = ANY(%s) LIMIT 11").format(k=sql.Identifier(key), t=t),
                        [incoming],
                    )
                    clash = [r[0] for r in cur.fetchall()]
                    if clash:
                        raise ConcurrencyError(
                            f"{self.location} layer '{layer}': {key} {', '.join(repr(k) for k in clash[:10])}"
                            f"{' ...' if len(clash) > 10 else ''} already stored; another program added them since "
                            "this one read the atlas. Nothing was written. Run the command again: it will list them "
                            "as duplicates."
                        )
                self._copy(cur, t, layer, frame, srid)
                found = []
                if removed:
                    present = set(self.list_layers())
                    for child, fk, parent, pk in REFERENCES:
                        if str(parent) != layer or str(child) not in present:
                            continue
                        ckey = spec(child).key or mig.FID
                        ct = _qualified(self.schema, str(child))
                        cond = sql.SQL("{} = ANY(%s)").format(sql.Identifier(str(fk)))
                        cur.execute(
                            sql.SQL("SELECT count(*), count(DISTINCT {}) FROM {} WHERE ").format(
                                sql.Identifier(str(fk)), ct
                            )
                            + cond,
                            [removed],
                        )
                        n, gone = cur.fetchone()
                        if n:
                            cur.execute(
                                sql.SQL("SELECT {}, {} FROM {} WHERE ").format(
                                    sql.Identifier(ckey), sql.Identifier(str(fk)), ct
                                )
                                + cond
                                + sql.SQL(" LIMIT 5"),
                                [removed],
                            )
                            found.append((str(child), int(n), int(gone), str(parent), str(pk), cur.fetchall()))
                if found:
                    raise orphan_error(self.location, found)
                for k, v in (meta or {}).items():
                    cur.execute(
                        sql.SQL(
                            "INSERT INTO {} (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = "
                            "EXCLUDED.value"
                        ).format(_qualified(self.schema, mig.META_TABLE)),
                        [str(k), str(v)],
                    )
                conn.commit()  # deferred foreign keys are checked here
        except psycopg.Error as exc:
            raise self._fail(exc, f"writing layer '{layer}'") from exc
        finally:
            self._layers = None
        return WriteResult(layer, inserted=len(frame), deleted=deleted)

    def update_rows(self, layer: str, rows: pd.DataFrame, expected: Mapping[Any, int]) -> dict[Any, int]:
        """Update existing rows by key if their stored version still equals ``expected``; one transaction.

        Returns the new version of each updated key.

        Raises
        ------
        ConcurrencyError
            If any row changed since it was read; nothing is written.
        """
        psycopg = _psycopg()
        sql = psycopg.sql
        s = spec(layer)
        key = s.key
        assert key is not None
        srid = self.srid()
        names, values = self._rows(layer, rows, srid)
        kpos = names.index(key)
        keys = [r[kpos] for r in values]
        t = _qualified(self.schema, layer)
        out: dict[Any, int] = {}
        try:
            with self._connect() as conn, conn.cursor() as cur:
                self._ensure_columns(cur, layer, rows)
                cur.execute(
                    sql.SQL("SELECT {k}, {v} FROM {t} WHERE {k} = ANY(%s) ORDER BY {k} FOR UPDATE").format(
                        k=sql.Identifier(key), v=sql.Identifier(_VERSION), t=t
                    ),
                    [keys],
                )
                stored = {k: int(v) for k, v in cur.fetchall()}
                _check_versions(self.location, layer, key, keys, stored, expected)
                sets = sql.SQL(", ").join(
                    sql.SQL("{} = %s").format(sql.Identifier(n)) for i, n in enumerate(names) if i != kpos
                )
                stmt = sql.SQL(
                    "UPDATE {t} SET {sets}, {v} = nextval({seq}) WHERE {k} = %s AND {v} = %s RETURNING {v}"
                ).format(
                    t=t,
                    sets=sets,
                    v=sql.Identifier(_VERSION),
                    seq=sql.Literal(f"{mig._quote(self.schema)}.{mig._quote(mig.VERSION_SEQUENCE)}"),
                    k=sql.Identifier(key),
                )
                for r in values:
                    k = r[kpos]
                    cur.execute(stmt, [v for i, v in enumerate(r) if i != kpos] + [k, stored[k]])
                    got = cur.fetchone()
                    if got is None:  # pragma: no cover - impossible under FOR UPDATE
                        raise ConcurrencyError(f"{self.location} layer '{layer}': {key} '{k}' changed meanwhile")
                    out[k] = int(got[0])
                conn.commit()
        except psycopg.Error as exc:
            raise self._fail(exc, f"editing layer '{layer}'") from exc
        return out

    @contextlib.contextmanager
    def lock(self, layer: str) -> Iterator[None]:
        """Hold an exclusive advisory lock on ``layer`` of this atlas across processes and machines.

        Released at exit, or by the server when the process dies.
        """
        psycopg = _psycopg()
        key = f"kcn_gis:{self.schema}:{layer}"
        with self._connect(autocommit=True) as conn:
            try:
                conn.execute("SELECT pg_advisory_lock(hashtext(%s))", [key])
            except psycopg.Error as exc:
                raise self._fail(exc, f"locking layer '{layer}'") from exc
            try:
                yield
            finally:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", [key])


def _close_in_owner(conn: Any, pid: int) -> None:
    """Close a cached connection, but only in the process that opened it (never a forked child's copy)."""
    if os.getpid() == pid:
        conn.close()


def _check_versions(
    location: str, layer: str, key: str, keys: Sequence[Any], stored: Mapping[Any, int], expected: Mapping[Any, int]
) -> None:
    """Raise when a key is missing or its stored version differs from the expected one (shared by both backends)."""
    missing = [k for k in keys if k not in stored]
    if missing:
        raise StoreError(
            f"{location} layer '{layer}': {key} {', '.join(repr(k) for k in missing[:10])} not found; "
            "edit() changes existing rows only (add new ones with write())."
        )
    stale = [k for k in keys if int(expected[k]) != stored[k]]
    if stale:
        raise ConcurrencyError(
            f"{location} layer '{layer}': {len(stale)} row(s) were changed by someone else since you read them "
            f"({', '.join(f'{key} {k!r}' for k in stale[:10])}). Nothing was written. Read the layer again "
            "(atlas.clear_cache()), re-apply your edits and save again."
        )


def _require_srid(location: str, layer: str, crs: Any, srid: int) -> None:
    """Refuse geometries whose CRS is missing or is not the atlas SRID: they are never relabelled or reprojected.

    (Without this, ``ST_SetSRID`` semantics would store e.g. EPSG:4326 degrees as EPSG:9209 metres,
    also with ``validate=False``, and nothing could detect it afterwards.)
    """
    from pyproj import CRS

    epsg = CRS.from_user_input(crs).to_epsg() if crs is not None else None
    if epsg != srid:
        what = f"is in {CRS.from_user_input(crs).to_string()}" if crs is not None else "has no CRS"
        raise SchemaError(
            f"{location} layer '{layer}': the frame {what}, the atlas is in EPSG:{srid}. Nothing was written. "
            f"Reproject it explicitly first (kcn_gis.crs.to_crs(frame, 'EPSG:{srid}')), or set the CRS it really "
            "is in; kcn_gis never reprojects or relabels geometries silently."
        )


def _kind(s: Any, name: str, sql_type: str | None) -> str:
    if name == _VERSION:
        return "int"
    for c in s.columns:
        if c.name == name:
            return str(c.kind)
    if sql_type is None:
        return "any"
    return _PG_KINDS.get(sql_type, "text")


def _py(v: Any) -> Any:
    """A pandas/numpy scalar as a plain Python value for psycopg (missing -> None)."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return None if pd.isna(v) else v.to_pydatetime()
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    if not isinstance(v, str | bytes | list | tuple | dict):
        try:
            if pd.isna(v):
                return None
        except (TypeError, ValueError):
            pass
    return v


def _pylist(s: pd.Series, kind: str) -> list[Any]:
    vals = [_py(v) for v in s.astype(object).tolist()]
    if kind == "date":
        return [v.date() if isinstance(v, dt.datetime) else v for v in vals]
    return vals


def _column(values: list[Any], kind: str) -> Any:
    """Build a pandas column with the model dtype of ``kind`` from Python values (None = missing)."""
    if kind == "text":
        return pd.array(values, dtype="str")
    if kind == "int":
        return pd.array(values, dtype="Int64")
    if kind == "float":
        return np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
    if kind == "bool":
        return pd.array(values, dtype="boolean") if any(v is None for v in values) else np.array(values, dtype=bool)
    if kind in ("date", "datetime"):
        conv = pd.to_datetime(pd.Series(values, dtype=object), utc=kind == "datetime" and _aware(values))
        if getattr(conv.dt, "tz", None) is not None:
            conv = conv.dt.tz_convert("UTC").dt.tz_localize(None)
        return conv.astype("datetime64[ms]").to_numpy()
    return pd.array(values, dtype=object)


def _aware(values: list[Any]) -> bool:
    return any(isinstance(v, dt.datetime) and v.tzinfo is not None for v in values)


def _infer_sql_type(s: pd.Series) -> str:
    """SQL type for a user column the data model does not know."""
    if pd.api.types.is_bool_dtype(s):
        return "boolean"
    if pd.api.types.is_integer_dtype(s):
        return "bigint"
    if pd.api.types.is_float_dtype(s):
        return "double precision"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "timestamp without time zone"
    if isinstance(s.dtype, pd.ArrowDtype) and "date32" in str(s.dtype):
        return "date"
    present = s.dropna()
    if len(present) and all(isinstance(v, dt.date) and not isinstance(v, dt.datetime) for v in present):
        return "date"
    return "text"


def _same_row(a: list[Any], b: list[Any]) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float) and np.isnan(x) and np.isnan(y):
            continue
        if isinstance(x, dt.datetime) and isinstance(y, dt.datetime):
            if x.replace(tzinfo=None) != y.replace(tzinfo=None):
                return False
            continue
        if x != y:
            return False
    return True
