"""The backend-neutral :class:`Atlas`: lazy, validated access to the layers of an atlas.

A backend (GeoPackage, PostGIS) only moves frames in and out; typing of
columns, validation and caching happen here, once, for every backend.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, TypeAlias

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
from pyproj import CRS

from kcn_gis.crs import WORKING_CRS
from kcn_gis.errors import Problem, SchemaError, StoreError
from kcn_gis.schema import ATLAS_LAYERS, SCHEMA_VERSION, Col, Layer, LayerSpec, spec
from kcn_gis.validation import check_crs, check_layer

__all__ = [
    "REFERENCES",
    "VERSIONED_LAYERS",
    "Atlas",
    "Backend",
    "WriteResult",
    "coerce_layer",
    "empty_layer",
    "prepare_for_write",
]

log = logging.getLogger(__name__)

Frame: TypeAlias = pd.DataFrame | gpd.GeoDataFrame

#: Layers whose rows carry a row version kept by the store (column ``version``), so that
#: :meth:`Atlas.edit` detects edits made by someone else since the rows were read.
VERSIONED_LAYERS: tuple[Layer, ...] = (Layer.PLOTS,)
_VERSION = str(Col.VERSION)

#: (child layer, column, parent layer, key): rows of the child refer to the parent's key. A write that
#: removes a parent row still referred to (an orphan) is refused by the store, inside the transaction.
REFERENCES: tuple[tuple[Layer, Col, Layer, Col], ...] = (
    (Layer.CLEARANCE_EVENTS, Col.PARCEL_ID, Layer.PARCELS, Col.PARCEL_ID),
    (Layer.PLOTS, Col.PARK_ID, Layer.PARKS, Col.PARK_ID),
    (Layer.PARCELS, Col.PARK_ID, Layer.PARKS, Col.PARK_ID),
    (Layer.PLOTS, Col.PROJECT_ID, Layer.PROJECTS, Col.PROJECT_ID),
)


def orphan_error(
    location: str, found: Sequence[tuple[str, int, int, str, str, Sequence[tuple[Any, Any]]]]
) -> StoreError:
    """The error for a write that would orphan rows (same wording on every backend).

    ``found``: (child layer, rows, distinct keys, parent layer, key column, examples (child key, key)).
    """
    lines = []
    for child, n, gone, parent, pk, examples in found:
        ckey = spec(child).key or "fid"
        lines.append(
            f"{n} row(s) of '{child}' would point to {gone} {pk} no longer in '{parent}' (e.g. "
            + ", ".join(f"{ckey} '{a}' -> {pk} '{b}'" for a, b in examples)
            + ")"
        )
    return StoreError(
        f"refusing to write {location}: the write would orphan rows; nothing was written.\n  - "
        + "\n  - ".join(lines)
        + "\nKeep those rows in the file you import (or import the missing ones), or remove the referring "
        "rows first."
    )


@dataclasses.dataclass(frozen=True)
class WriteResult:
    """What one write did to one layer: rows inserted and rows deleted (a replace deletes first)."""

    layer: str
    inserted: int
    deleted: int
    stamp_before: str | None = None


class Backend(Protocol):
    """What a storage backend provides. Implemented by the GeoPackage and PostGIS stores."""

    location: str

    def list_layers(self) -> dict[str, str | None]:
        """Layer name -> geometry type name (None for attribute tables)."""

    def layer_crs(self, layer: str) -> Any: ...

    def read_layer(
        self,
        layer: str,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: str | None = None,
        columns: list[str] | None = None,
        filters: Mapping[str, Any] | None = None,
        defer: bool = True,
    ) -> Frame:
        """Read a layer; ``filters={column: value or list of values}`` are equality filters pushed into the query.

        A whole large layer may have its free-text columns read on first use (see
        :class:`kcn_gis.store.arrow.DeferredStringArray`); ``defer=False`` reads every column now, in one
        pass, for a caller that uses them all (``Atlas.validate``).
        """

    def write_layers(self, layers: Mapping[str, Frame], meta: Mapping[str, str]) -> None:
        """Replace the given layers and meta entries atomically (all or nothing)."""

    def append_rows(self, layer: str, frame: pd.DataFrame) -> int | None:
        """Append rows to an attribute table in one transaction.

        Rows whose key is already stored are skipped (appends are idempotent);
        returns the number inserted (None: unknown, all rows assumed inserted).
        """

    def read_meta(self) -> dict[str, str]: ...

    def update_rows(self, layer: str, rows: pd.DataFrame, expected: Mapping[Any, int]) -> dict[Any, int]:
        """Update existing rows of a versioned layer if their stored versions are ``expected``; new versions.

        Raises :class:`~kcn_gis.errors.ConcurrencyError` (nothing written) when a
        row was changed by someone else since it was read.
        """

    def lock(self, layer: str) -> contextlib.AbstractContextManager[None]:
        """A context manager holding an exclusive lock on ``layer`` across processes."""

    def layer_stamp(self, layer: str) -> str | None:
        """A stamp that changes whenever the layer changes (any writer), or None when the backend has none."""

    # Optional (GeoPackage and PostGIS provide them; the Atlas falls back when absent):
    #   change_layer(layer, frame, mode="append"|"replace_parks", parks=(), meta=None, validated=True)
    #       -> WriteResult, one transaction; refuses stored keys on append and orphans (REFERENCES)
    #   check_writable() -> raise StoreError early for a read-only or protected atlas


#: Meta key prefix of the "validated on write" markers, and the value a backend replaces by the layer's stamp.
VALIDATED_PREFIX = "validated:"
VALIDATED_PENDING = "@stamp"


def coerce_layer(layer_spec: LayerSpec, frame: Frame) -> Frame:
    """Give the known columns of a freshly read layer their model dtypes.

    Dates become ``datetime64[ms]`` at midnight, datetimes ``datetime64[ms]``
    (UTC, naive), integers nullable ``Int64``, booleans ``bool`` (or
    ``boolean`` when nulls are present) and text pandas strings. Values that
    cannot be converted are left as they are, so that validation reports them
    with their row instead of a conversion error hiding them.
    """
    # a shallow copy: with pandas' copy-on-write the caller's frame never sees the conversions below
    out = frame.copy(deep=False) if not isinstance(frame, gpd.GeoDataFrame) else frame
    for c in layer_spec.columns:
        if c.name not in out.columns:
            continue
        s = out[c.name]
        if _has_model_dtype(c.kind, s):
            continue  # already what the conversion below would give (the Arrow readers' output)
        try:
            if c.kind == "date":
                conv = (
                    pd.to_datetime(s, errors="coerce", format="mixed")
                    if s.dtype == object or pd.api.types.is_string_dtype(s)
                    else pd.to_datetime(s, errors="coerce")
                )
                if (conv.isna() & s.notna()).any():
                    continue
                if getattr(conv.dt, "tz", None) is not None:
                    conv = conv.dt.tz_convert("UTC").dt.tz_localize(None)
                out[c.name] = conv.dt.normalize().astype("datetime64[ms]")
            elif c.kind == "datetime":
                conv = (
                    pd.to_datetime(s, errors="coerce", utc=True, format="mixed")
                    if not pd.api.types.is_datetime64_any_dtype(s)
                    else s
                )
                if (conv.isna() & s.notna()).any():
                    continue
                if getattr(conv.dt, "tz", None) is not None:
                    conv = conv.dt.tz_convert("UTC").dt.tz_localize(None)
                out[c.name] = conv.astype("datetime64[ms]")
            elif c.kind == "int":
                num = pd.to_numeric(s, errors="coerce")
                if (num.isna() & s.notna()).any() or (num.dropna() % 1 != 0).any():
                    continue
                out[c.name] = num.astype("Int64")
            elif c.kind == "float":
                num = pd.to_numeric(s, errors="coerce")
                if (num.isna() & s.notna()).any():
                    continue
                out[c.name] = num.astype("float64")
            elif c.kind == "bool":
                if pd.api.types.is_bool_dtype(s):
                    continue
                if s.dropna().isin([True, False, 0, 1]).all():
                    out[c.name] = s.astype("boolean") if s.isna().any() else s.astype(bool)
            elif c.kind == "text" and (s.dtype == object or not pd.api.types.is_string_dtype(s)):
                out[c.name] = s.astype("str")
        except (TypeError, ValueError):  # pragma: no cover - left for validation to report
            continue
    return out


_DAY_MS = 86_400_000


def _has_model_dtype(kind: str, s: pd.Series) -> bool:
    """True when ``coerce_layer`` would leave the column's values and dtype as they are."""
    dtype = s.dtype
    if kind == "date":
        if dtype != np.dtype("datetime64[ms]"):
            return False
        values = s.to_numpy()
        ms = values.view("int64")
        return not bool(((ms % _DAY_MS != 0) & ~np.isnat(values)).any())
    if kind == "datetime":
        return dtype == np.dtype("datetime64[ms]")
    if kind == "int":
        return isinstance(dtype, pd.Int64Dtype)
    if kind == "float":
        return dtype == np.dtype("float64")
    if kind == "bool":
        return pd.api.types.is_bool_dtype(dtype)
    if kind == "text":
        return dtype != np.dtype(object) and pd.api.types.is_string_dtype(dtype)
    return False


def prepare_for_write(layer_spec: LayerSpec, frame: Frame) -> Frame:
    """Return a copy ready for the backend: date columns as Arrow ``date32`` so they are stored as DATE."""
    out = frame.copy()
    for c in layer_spec.columns:
        if c.name in out.columns and c.kind == "date":
            d = pd.to_datetime(out[c.name], errors="raise")
            out[c.name] = pd.array([x.date() if not pd.isna(x) else None for x in d], dtype=pd.ArrowDtype(pa.date32()))
        elif c.name in out.columns and c.kind == "datetime":
            out[c.name] = pd.to_datetime(out[c.name], errors="raise").astype("datetime64[ms]")
    return out


class _ReadAhead:
    """Whole-layer reads for :meth:`Atlas.validate`, the next layer read while this one is checked.

    Only for backends that say their reads may run in another thread (``concurrent_reads``: each read
    opens its own connection, as the GeoPackage and GeoParquet readers do); GDAL and Arrow read
    without the GIL, so reading the 3.9 M clearance events overlaps the GEOS checks of the parcels.
    Others read in order, on demand. A read's error is raised when its layer is taken, as without
    reading ahead.
    """

    def __init__(self, backend: Any, names: Sequence[str]) -> None:
        self._backend = backend
        self._names = list(names)
        self._pool = None
        self._ahead: dict[str, Any] = {}
        if getattr(backend, "concurrent_reads", False) and len(self._names) > 1:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="kcn_gis-read-ahead")
            self._submit(0)

    def _read(self, name: str) -> pd.DataFrame:
        return self._backend.read_layer(name, defer=False)

    def _submit(self, i: int) -> None:
        if self._pool is not None and i < len(self._names) and self._names[i] not in self._ahead:
            self._ahead[self._names[i]] = self._pool.submit(self._read, self._names[i])

    def take(self, name: str) -> pd.DataFrame:
        """The layer's frame as read (one read ahead: the following layer starts reading now)."""
        if name in self._names:
            self._submit(self._names.index(name) + 1)
        future = self._ahead.pop(name, None)
        return self._read(name) if future is None else future.result()

    def close(self) -> None:
        if self._pool is not None:
            for future in self._ahead.values():
                future.cancel()
            self._pool.shutdown(wait=True)
            self._pool = None


class Atlas:
    """An open atlas: the layers of the data model, read lazily and validated on first access.

    Do not build one directly; use :func:`kcn_gis.open_atlas`.

    Attributes
    ----------
    location : str
        The GeoPackage path or PostGIS URL.
    crs : pyproj.CRS
        The working CRS of the atlas (EPSG:9209 for Bắc Ninh). Every spatial
        layer is in it; lengths in metres, areas in m² (reported in ha).
    schema_version : int
        The data-model version recorded in the atlas.
    """

    def __init__(self, backend: Backend, *, validate: bool = True, crs: Any = None) -> None:
        self._backend = backend
        self._validate = validate
        self._cache: dict[str, Frame] = {}
        self._versions: dict[str, dict[Any, int]] = {}
        meta = backend.read_meta()
        self.meta = meta
        self.schema_version = int(meta.get("schema_version", SCHEMA_VERSION))
        self.crs = CRS.from_user_input(crs or meta.get("crs") or WORKING_CRS)
        if self.schema_version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.location} was written by a newer kcn_gis (schema version {self.schema_version}, this one "
                f"understands up to {SCHEMA_VERSION}). Upgrade kcn_gis: pip install -U kcn_gis"
            )
        if validate:
            problems = self.check_structure()
            errors = [p for p in problems if p.severity == "error"]
            if errors:
                raise SchemaError.from_problems(errors, header=f"{self.location} is not a valid kcn_gis atlas:")

    # -- introspection -------------------------------------------------------------------------------
    @property
    def location(self) -> str:
        return self._backend.location

    @property
    def backend(self) -> Backend:
        """The storage backend (for the store package and advanced use)."""
        return self._backend

    def __repr__(self) -> str:
        return f"<Atlas {self.location} crs={self.crs.to_string()} schema_version={self.schema_version}>"

    def layer_names(self) -> list[str]:
        """Names of the data-model layers present in the atlas."""
        present = self._backend.list_layers()
        return [str(x) for x in Layer if str(x) in present]

    def check_structure(self) -> list[Problem]:
        """Cheap checks that need no feature reads: every layer exists, and spatial layers have the atlas CRS."""
        present = self._backend.list_layers()
        out: list[Problem] = []
        for name, s in ATLAS_LAYERS.items():
            if str(name) not in present and s.optional:
                out.append(_optional_missing(s, self.location))
            elif str(name) not in present:
                out.append(
                    Problem(
                        "error",
                        "missing_layer",
                        f"is missing ({s.label_vi}); add it (it may be empty) with {how_to_add(name)}",
                        layer=str(name),
                        file=self.location,
                    )
                )
            elif s.geometry is not None:
                out += check_crs(s, self._backend.layer_crs(str(name)), expected=self.crs, file=self.location)
        return out

    # -- reading ---------------------------------------------------------------------------------------
    def read(
        self,
        layer: str | Layer,
        *,
        bbox: tuple[float, float, float, float] | None = None,
        where: str | None = None,
        columns: list[str] | None = None,
        filters: Mapping[str, Any] | None = None,
    ) -> Frame:
        """Read a layer (or part of it) with model dtypes.

        A full read is cached and validated against the schema on first access
        (unless the atlas was opened with ``validate=False``). A filtered read
        (``bbox`` in atlas CRS metres, ``filters``, or an SQL ``where`` on
        attributes) uses the backend's indexes and is neither cached nor re-validated.

        Parameters
        ----------
        filters : mapping of column to value or list of values, optional
            Keep rows whose column equals the value (or one of the values). Values
            are passed as bound parameters, never pasted into SQL: use this, not
            ``where``, for anything a user typed (a park id, a name).
        where : str, optional
            An SQL condition in the backend's dialect, for programmers. Never build
            it from user input.

        Raises
        ------
        SchemaError
            If the layer breaks the data model; the message names the layer, row and field.
        """
        s = spec(layer)
        name = str(s.name)
        full = bbox is None and where is None and columns is None and not filters
        if full and name in self._cache:
            return self._cache[name]
        if name not in self._backend.list_layers() and s.optional:
            # An atlas from before schema version 2: the optional layer reads as empty, with the model's columns.
            empty = empty_layer(s.name, self.crs)
            if full:
                self._cache[name] = empty
            return empty
        if name not in self._backend.list_layers():
            raise SchemaError(f"{self.location}: layer '{name}' is missing; add it with {how_to_add(name)}")
        raw = self._backend.read_layer(name, bbox=bbox, where=where, columns=columns, filters=filters or None)
        raw = self._take_versions(s, raw)
        frame = coerce_layer(s, raw)
        if full:
            if self._validate and not self._validated_since_written(name):
                errors = [
                    p for p in check_layer(s, frame, file=self.location, expected_crs=self.crs) if p.severity == "error"
                ]
                if errors:
                    raise SchemaError.from_problems(errors, header=f"{self.location} layer '{name}' is not valid:")
            self._cache[name] = frame
        return frame

    def _validated_since_written(self, name: str) -> bool:
        """True when kcn_gis validated the layer on write and nothing changed it since.

        The GeoPackage backend compares the marker written with the layer against the layer's
        ``gpkg_contents.last_change``, which GDAL (QGIS, ogr2ogr, pyogrio) updates on every edit.
        Backends without change stamps always validate. ``Atlas.validate()`` always checks everything.
        """
        stamp = self._backend.layer_stamp(name)
        if stamp is None:
            return False
        marker = self._backend.read_meta().get(f"{VALIDATED_PREFIX}{name}")
        return bool(marker) and marker == stamp

    def _take_versions(self, s: LayerSpec, frame: Frame) -> Frame:
        """Remove the store's ``version`` column from a read frame and remember the versions seen."""
        if _VERSION not in frame.columns:
            return frame
        if s.name in VERSIONED_LAYERS and s.key and s.key in frame.columns:
            seen = self._versions.setdefault(str(s.name), {})
            versions = pd.to_numeric(frame[_VERSION], errors="coerce")
            has = versions.notna().to_numpy(dtype=bool)
            found = dict(zip(frame[s.key][has].tolist(), versions[has].astype("int64").tolist(), strict=True))
            # the oldest version seen is the one edits are based on: what was seen before is kept
            found.update(seen)
            seen.clear()
            seen.update(found)
        return frame.drop(columns=[_VERSION])

    @property
    def province(self) -> gpd.GeoDataFrame:
        """Province outline (``province``), in the atlas CRS."""
        return self.read(Layer.PROVINCE)  # type: ignore[return-value]

    @property
    def rivers(self) -> gpd.GeoDataFrame:
        """River centrelines (``rivers``), in the atlas CRS."""
        return self.read(Layer.RIVERS)  # type: ignore[return-value]

    @property
    def parks(self) -> gpd.GeoDataFrame:
        """Industrial park boundaries (``parks``), in the atlas CRS."""
        return self.read(Layer.PARKS)  # type: ignore[return-value]

    @property
    def plots(self) -> gpd.GeoDataFrame:
        """Plots inside the parks (``plots``), in the atlas CRS."""
        return self.read(Layer.PLOTS)  # type: ignore[return-value]

    @property
    def parcels(self) -> gpd.GeoDataFrame:
        """Cadastral parcels in land clearance (``parcels``), in the atlas CRS. Holds personal data."""
        return self.read(Layer.PARCELS)  # type: ignore[return-value]

    @property
    def clearance_events(self) -> pd.DataFrame:
        """The append-only clearance event history (``clearance_events``)."""
        return self.read(Layer.CLEARANCE_EVENTS)

    @property
    def projects(self) -> pd.DataFrame:
        """Investment projects (``projects``)."""
        return self.read(Layer.PROJECTS)

    @property
    def facilities(self) -> gpd.GeoDataFrame:
        """Housing, services and environment facilities around the parks (``facilities``), in the atlas CRS.

        Optional layer: empty (with the model's columns) in an atlas written before schema version 2.
        """
        return self.read(Layer.FACILITIES)  # type: ignore[return-value]

    @property
    def enterprise_reports(self) -> pd.DataFrame:
        """The enterprises' periodic statistical reports, every revision (``enterprise_reports``).

        Optional layer: empty in an atlas written before schema version 2. The current report of a
        project and period is its highest ``revision`` (:func:`kcn_gis.analytics.current_reports`).
        """
        return self.read(Layer.ENTERPRISE_REPORTS)

    def validate(self) -> list[Problem]:
        """Run every schema check on every layer and return all problems (nothing raises).

        With an atlas opened with ``validate=False`` the layers read here are cached, so a
        following ``atlas.parks`` etc. does not read them again.

        Consistency checks between layers are in :func:`kcn_gis.analytics.check_consistency`.
        """
        out = self.check_structure()
        present = self._backend.list_layers()
        # every column is checked: each layer is read in one pass with all its columns, rather than one
        # more pass per deferred column (5 extra reads of the 3.9 M clearance events at 1M parcels)
        to_read = [str(n) for n in ATLAS_LAYERS if str(n) in present and str(n) not in self._cache]
        reads = _ReadAhead(self._backend, to_read)
        try:
            out += self._check_layers(present, reads)
        finally:
            reads.close()
        return out

    def _check_layers(self, present: Mapping[str, Any], reads: _ReadAhead) -> list[Problem]:
        out: list[Problem] = []
        for name, s in ATLAS_LAYERS.items():
            if str(name) not in present:
                continue
            frame = self._cache.get(str(name))
            if frame is None:
                raw = reads.take(str(name))
                frame = coerce_layer(s, self._take_versions(s, raw))
                if not self._validate:
                    # Opened without checks on read: keep the frame, so the consistency checks and
                    # analytics that usually follow do not read the layer a second time.
                    self._cache[str(name)] = frame
            out += [
                p
                for p in check_layer(s, frame, file=self.location, expected_crs=self.crs)
                if p.check not in ("missing_crs", "wrong_crs")
            ]
        return out

    # -- writing ---------------------------------------------------------------------------------------
    def write(self, layers: Mapping[str | Layer, Frame], *, validate: bool = True) -> None:
        """Replace whole layers atomically (one transaction): either every layer is written, or none is.

        Parameters
        ----------
        layers : mapping of layer name to frame
            Spatial layers must already be in the atlas CRS; nothing is reprojected here.
        validate : bool
            Check each frame against the schema first and refuse to write on any error.

        Raises
        ------
        SchemaError
            If a frame breaks the data model; nothing is written.
        """
        prepared: dict[str, Frame] = {}
        problems: list[Problem] = []
        for layer, frame in layers.items():
            s = spec(layer)
            if _VERSION in frame.columns and s.name in VERSIONED_LAYERS:
                frame = frame.drop(columns=[_VERSION])  # row versions are the store's, never the caller's
            if validate:
                problems += [
                    p for p in check_layer(s, frame, file=self.location, expected_crs=self.crs) if p.severity == "error"
                ]
            prepared[str(s.name)] = prepare_for_write(s, frame)
        if problems:
            raise SchemaError.from_problems(problems, header=f"refusing to write {self.location}; nothing was written:")
        # Layers checked here carry a marker that lets later reads skip the same checks while the layer is
        # unchanged (the backend resolves it to the layer's change stamp); unchecked layers clear it.
        markers = {f"{VALIDATED_PREFIX}{name}": VALIDATED_PENDING if validate else "" for name in prepared}
        self._backend.write_layers(prepared, {**_meta(self.crs), **markers})
        for name in prepared:
            self._cache.pop(name, None)
            self._versions.pop(name, None)
        log.info("wrote layers %s to %s", ", ".join(prepared), self.location)

    def check_writable(self) -> None:
        """Raise :class:`StoreError` now if this atlas cannot be written (read-only file or folder, bundled atlas).

        Call it before long work whose result is to be written.
        """
        check = getattr(self._backend, "check_writable", None)
        if check is not None:
            check()

    def append(self, layer: str | Layer, rows: Frame, *, validate: bool = True) -> int:
        """Append rows to a layer in one transaction, inside the existing atlas.

        * Attribute tables (``clearance_events``): appends are idempotent on the layer key;
          a row whose key (``event_id``) is already stored is skipped, also when another
          process stored it a moment ago. Existing rows are never edited.
        * Spatial layers (``parks``, ``plots``, ``parcels`` ...): a key already stored is a
          :class:`~kcn_gis.errors.ConcurrencyError` and nothing is written. Geometries must
          be in the atlas CRS (metres); nothing is reprojected.

        Returns
        -------
        int
            The number of rows actually added.

        Raises
        ------
        SchemaError
            If a row breaks the data model; nothing is written.
        ConcurrencyError
            If a spatial row's key was stored by someone else meanwhile.
        """
        s = spec(layer)
        if s.geometry is not None:
            return self._change(s, rows, mode="append", parks=(), validate=validate).inserted
        problems = [
            p for p in check_layer(s, rows, file=self.location, checks=("columns", "values")) if p.severity == "error"
        ]
        if problems:
            raise SchemaError.from_problems(problems, header=f"refusing to append to {self.location} layer '{s.name}':")
        added: int | None = 0
        if len(rows):
            added = self._backend.append_rows(str(s.name), prepare_for_write(s, rows))
        self._cache.pop(str(s.name), None)
        return len(rows) if added is None else int(added)

    def replace_parks(
        self, layer: str | Layer, rows: Frame, *, parks: Sequence[str] | None = None, validate: bool = True
    ) -> WriteResult:
        """Replace the rows of some parks in ``layer`` (one transaction); other parks' rows are untouched.

        Parameters
        ----------
        layer : str or Layer
            A layer with a ``park_id`` column (``parks``, ``plots``, ``parcels``).
        rows : DataFrame or GeoDataFrame
            The new rows, in the atlas CRS (metres). Rows of the scoped parks not in here are deleted.
        parks : sequence of str, optional
            The park ids whose rows are replaced. Default: the park ids present in ``rows``,
            so an empty ``rows`` replaces nothing.
        validate : bool, default True
            Check the rows against the schema first.

        Raises
        ------
        StoreError
            If the write would orphan clearance events, plots or parcels (with the count and
            examples); nothing is written.
        """
        s = spec(layer)
        if not any(c.name == Col.PARK_ID for c in s.columns):
            raise StoreError(f"layer '{s.name}' has no park_id; replace it whole with write()")
        if parks is None:
            parks = sorted({str(v) for v in rows[str(Col.PARK_ID)].dropna()}) if len(rows) else []
        return self._change(s, rows, mode="replace_parks", parks=tuple(parks), validate=validate)

    def _change(self, s: LayerSpec, rows: Frame, *, mode: str, parks: tuple[str, ...], validate: bool) -> WriteResult:
        change = getattr(self._backend, "change_layer", None)
        if change is None:
            raise StoreError(f"{self.location}: this backend cannot append to or partly replace layers")
        if _VERSION in rows.columns:
            rows = rows.drop(columns=[_VERSION])  # row versions are the store's, never the caller's
        if validate:
            problems = [
                p for p in check_layer(s, rows, file=self.location, expected_crs=self.crs) if p.severity == "error"
            ]
            if problems:
                raise SchemaError.from_problems(
                    problems, header=f"refusing to write {self.location} layer '{s.name}'; nothing was written:"
                )
        result: WriteResult = change(
            str(s.name), prepare_for_write(s, rows), mode=mode, parks=parks, meta=_meta(self.crs), validated=validate
        )
        self._cache.pop(str(s.name), None)
        self._versions.pop(str(s.name), None)
        log.info("%s layer '%s': %d row(s) added, %d removed", self.location, s.name, result.inserted, result.deleted)
        return result

    # -- multi-user editing ------------------------------------------------------------------------------
    def versions(self, layer: str | Layer = Layer.PLOTS) -> pd.Series:
        """Row versions of ``layer`` as first read through this atlas (key -> version, ``Int64``).

        These are the versions :meth:`edit` checks against. Reading the layer
        records them; :meth:`clear_cache` forgets them.
        """
        s = spec(layer)
        if s.name not in VERSIONED_LAYERS:
            raise StoreError(f"layer '{s.name}' has no row versions; versioned layers: {_names(VERSIONED_LAYERS)}")
        seen = self._versions.get(str(s.name), {})
        return pd.Series(list(seen.values()), index=pd.Index(list(seen), name=s.key), dtype="Int64", name=_VERSION)

    def edit(
        self,
        layer: str | Layer,
        rows: Frame,
        *,
        expected_versions: Mapping[Any, int] | pd.Series | None = None,
        validate: bool = True,
    ) -> pd.Series:
        """Save edited rows of a versioned layer (``plots``) unless someone else changed them meanwhile.

        Optimistic locking: each row carries the version it had when it was read
        (recorded by reading the layer through this atlas, e.g. ``atlas.plots``,
        or given in ``expected_versions``). The store compares, and writes all
        rows or none, in one transaction (PostGIS) or under the atlas lock
        (GeoPackage).

        Parameters
        ----------
        layer : str or Layer
            A layer in :data:`VERSIONED_LAYERS` (``plots``).
        rows : DataFrame or GeoDataFrame
            The edited rows, with the key column (``plot_id``) and the columns to
            change. Geometry, if present, must be in the atlas CRS (metres).
        expected_versions : mapping or Series, optional
            Key -> version the edit is based on. Default: the versions recorded
            when the rows were read through this atlas.
        validate : bool, default True
            Check the rows against the schema first.

        Returns
        -------
        pandas.Series
            The new version of each edited row, indexed by key.

        Raises
        ------
        ConcurrencyError
            If any row changed since it was read; nothing is written. Read the
            layer again (``atlas.clear_cache()``), re-apply the edit and retry.
        StoreError
            If a row does not exist yet (add rows with :meth:`write`), or its
            version is unknown (read the layer first).
        """
        s = spec(layer)
        name = str(s.name)
        if s.name not in VERSIONED_LAYERS or s.key is None:
            raise StoreError(f"edit() works on versioned layers ({_names(VERSIONED_LAYERS)}), not on '{name}'")
        if s.key not in rows.columns:
            raise SchemaError(f"edit() needs the key column '{s.key}' in the rows of '{name}'")
        rows = rows.drop(columns=[_VERSION]) if _VERSION in rows.columns else rows
        keys = rows[s.key].tolist()
        if len(set(keys)) != len(keys):
            raise SchemaError(f"edit() got the same {s.key} twice in the rows of '{name}'")
        if validate:
            checks: tuple[str, ...] = (
                ("values", "crs", "geometry") if isinstance(rows, gpd.GeoDataFrame) else ("values",)
            )
            problems = [
                p
                for p in check_layer(s, rows, file=self.location, expected_crs=self.crs, checks=checks)
                if p.severity == "error"
            ]
            if problems:
                raise SchemaError.from_problems(problems, header=f"refusing to edit {self.location} layer '{name}':")
        if expected_versions is None:
            known = self._versions.get(name, {})
            expected: dict[Any, int] = {k: known[k] for k in keys if k in known}
        else:
            expected = {k: int(v) for k, v in dict(expected_versions).items()}
        unknown = [k for k in keys if k not in expected]
        if unknown:
            raise StoreError(
                f"{self.location} layer '{name}': no version known for {s.key} "
                f"{', '.join(repr(k) for k in unknown[:10])}. Read the layer through this atlas first "
                f"(atlas.{name}) or pass expected_versions."
            )
        if not keys:
            return pd.Series([], index=pd.Index([], name=s.key), dtype="Int64", name=_VERSION)
        new = self._backend.update_rows(name, prepare_for_write(s, rows), expected)
        self._cache.pop(name, None)
        self._versions.pop(name, None)
        log.info("edited %d row(s) of %s in %s", len(keys), name, self.location)
        return pd.Series([new[k] for k in keys], index=pd.Index(keys, name=s.key), dtype="Int64", name=_VERSION)

    @contextlib.contextmanager
    def lock(self, layer: str | Layer) -> Iterator[None]:
        """Hold an exclusive lock on ``layer`` across processes, e.g. around a read-validate-append import.

        The cached copy of the layer is dropped on entry, so reads inside the
        block see every change committed before the lock was granted. Other
        processes taking the same lock wait; plain reads do not.

        Examples
        --------
        >>> with atlas.lock("clearance_events"):  # doctest: +SKIP
        ...     history = atlas.clearance_events
        ...     atlas.append("clearance_events", new_rows_checked_against(history))
        """
        s = spec(layer)
        with self._backend.lock(str(s.name)):
            self._cache.pop(str(s.name), None)
            yield

    def clear_cache(self) -> None:
        """Forget cached layers and recorded row versions, e.g. after another process changed the atlas."""
        self._cache.clear()
        self._versions.clear()


#: How a user adds each layer that ``kcn-gis import --layer`` cannot fill.
_ADD_WITH = {
    "clearance_events": "kcn-gis clearance import SHEET.xlsx --atlas ATLAS",
    "enterprise_reports": "kcn-gis reports import WORKBOOK.xlsx --atlas ATLAS",
    "projects": "kcn_gis.write_atlas() (there is no file import for projects)",
}


def how_to_add(name: str) -> str:
    """The command (or function) that adds layer ``name`` to an atlas, for error messages."""
    return _ADD_WITH.get(str(name), f"kcn-gis import FILE --layer {name} --atlas ATLAS, or kcn_gis.write_atlas()")


def _optional_missing(s: LayerSpec, location: str) -> Problem:
    """The warning for an optional layer an atlas lacks (it reads as empty)."""
    return Problem(
        "warning",
        "missing_optional_layer",
        f"optional layer ({s.label_vi}), not in this atlas (written before schema version 2); "
        f"it reads as empty. Add it with {how_to_add(s.name)} when you have the data.",
        layer=str(s.name),
        file=location,
    )


def _names(layers: Sequence[Layer]) -> str:
    return ", ".join(str(x) for x in layers)


def _meta(crs: CRS) -> dict[str, str]:
    from kcn_gis._version import __version__

    epsg = crs.to_epsg()
    return {
        "schema_version": str(SCHEMA_VERSION),
        "crs": f"EPSG:{epsg}" if epsg else crs.to_wkt(),
        "written_by": f"kcn_gis {__version__}",
    }


def empty_layer(layer: str | Layer, crs: Any = WORKING_CRS) -> Frame:
    """Return an empty frame with the columns of ``layer`` (and a geometry column for spatial layers)."""
    s = spec(layer)
    cols: dict[str, Any] = {}
    for c in s.columns:
        dtype = {
            "text": "str",
            "int": "Int64",
            "float": "float64",
            "bool": "bool",
            "date": "datetime64[ms]",
            "datetime": "datetime64[ms]",
        }[c.kind]
        cols[c.name] = pd.Series([], dtype=dtype)
    if s.geometry is None:
        return pd.DataFrame(cols)
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=crs), crs=crs)
