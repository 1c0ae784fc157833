"""Reading and writing atlases: every read and write of an atlas (GeoPackage, PostGIS) goes through this package.

Other files are read and written at the edges, never by the pure analytics:
``kcn_gis.interop.importers`` and the clearance sheet import (``kcn_gis.interop.clearance_sheets``)
read the files users bring, ``kcn_gis.interop.exporters`` writes exports and charts, and
``kcn_gis.maps`` / the clearance review write HTML pages (see ``docs/architecture.md``).

An atlas is opened with :func:`open_atlas` from a GeoPackage path (the embedded
default) or a ``postgresql://`` URL (multi-user work).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kcn_gis import bundled
from kcn_gis.crs import WORKING_CRS
from kcn_gis.errors import StoreError
from kcn_gis.schema import Layer
from kcn_gis.store._backends import backend_for
from kcn_gis.store.base import VERSIONED_LAYERS, Atlas, Frame, empty_layer
from kcn_gis.store.transfer import copy_atlas

__all__ = [
    "VERSIONED_LAYERS",
    "Atlas",
    "build_bundled_atlas",
    "bundled_atlas_path",
    "check_writable",
    "copy_atlas",
    "empty_layer",
    "open_atlas",
    "write_atlas",
]

log = logging.getLogger(__name__)


def bundled_atlas_path() -> Path:
    """Path of the bundled Bắc Ninh 2011 atlas (EPSG:9209); the one place that says where it is.

    In order:

    1. ``$KCN_GIS_BUNDLED_ATLAS`` when set;
    2. in a source checkout, ``data/geo/bac_ninh_2011.gpkg`` (built by ``scripts/setup.sh``);
    3. otherwise (an installed package) a file in the user cache directory
       (``platformdirs``; on Linux ``$XDG_CACHE_HOME/kcn_gis/``), see :mod:`kcn_gis.bundled`.

    The file is built from the facts tables shipped in :mod:`kcn_gis.bundled` by
    :mod:`kcn_gis.bundled.build_atlas`; :func:`open_atlas` builds it on first use
    when missing. It is reference data: open it to read, write your changes to an
    atlas of your own (``kcn-gis db push``, :func:`copy_atlas`).
    """
    return bundled.atlas_path()


def check_writable(source: str | os.PathLike[str] | Atlas) -> None:
    """Raise :class:`StoreError` now if ``source`` cannot be written in place.

    A GeoPackage is refused when it is the bundled demo atlas, read-only, or in a
    read-only folder; a path that does not exist yet needs a writable folder. PostGIS
    URLs are checked by the server when writing.
    """
    if isinstance(source, Atlas):
        source.check_writable()
        return
    text = str(source)
    if text.startswith(("postgresql://", "postgres://")):
        return
    Atlas(backend_for(text, create=True), validate=False).check_writable()


def open_atlas(source: str | os.PathLike[str] | None = None, *, validate: bool = True) -> Atlas:
    """Open an atlas.

    Parameters
    ----------
    source : path or URL, optional
        A GeoPackage file (``.gpkg``) or a PostGIS URL
        (``postgresql://user@host:5432/db``; add ``?schema=NAME`` for another
        PostgreSQL schema than ``kcn_gis``). A PostGIS atlas needs the
        ``postgis`` extra (psycopg).
        With no source, the bundled Bắc Ninh 2011 atlas (EPSG:9209) is opened.
    validate : bool, default True
        Check on open that every layer exists and is in the atlas CRS, and check
        each layer against the schema when it is first read.

    Returns
    -------
    Atlas
        Layers are read lazily (``atlas.parks``, ``atlas.plots``, ...), in the
        atlas's projected CRS (EPSG:9209, metres).

    Raises
    ------
    StoreError
        If the file does not exist or cannot be read.
    SchemaError
        If ``validate`` and a layer is missing or in the wrong CRS.

    Examples
    --------
    >>> import kcn_gis
    >>> atlas = kcn_gis.open_atlas()
    >>> atlas.crs.to_epsg()
    9209
    """
    if source is None:
        path = bundled_atlas_path()
        if not path.exists():
            _build_bundled(path)
        elif _bundled_is_stale(path):
            _build_bundled(path, replace=True)
        source = path
    return Atlas(backend_for(source), validate=validate)


def _bundled_is_stale(path: Path) -> bool:
    """True when the built bundled atlas predates this data model or its QGIS styles (rebuild it from the tables)."""
    from kcn_gis.layer_styles import LAYER_STYLES_TABLE
    from kcn_gis.schema import SCHEMA_VERSION

    if path != bundled.checkout_path():  # the checkout's atlas is rebuilt; cache files are named by digest,
        return False  # and KCN_GIS_BUNDLED_ATLAS is the user's own
    try:
        backend = backend_for(path)
        if LAYER_STYLES_TABLE not in backend.list_layers():  # built before atlases carried their QGIS styles
            return True
        return int(backend.read_meta().get("schema_version", SCHEMA_VERSION)) < SCHEMA_VERSION
    except Exception:  # an unreadable file: let opening it report the problem
        return False


def _build_bundled(path: Path, *, replace: bool = False) -> None:
    try:
        build_bundled_atlas(path, replace=replace)
    except OSError as exc:
        raise StoreError(
            f"the bundled atlas {path} is missing and cannot be built there ({exc}). "
            "Set KCN_GIS_BUNDLED_ATLAS to a writable path, or pass an atlas path to open_atlas()."
        ) from exc


def build_bundled_atlas(path: str | os.PathLike[str] | None = None, *, replace: bool = False) -> Path:
    """Build the bundled Bắc Ninh 2011 atlas (EPSG:9209) from the facts tables shipped in the package.

    Parameters
    ----------
    path : path-like, optional
        Target GeoPackage; default :func:`bundled_atlas_path`.
    replace : bool, default False
        Rebuild when the file exists. Without it an existing file is kept.

    Returns
    -------
    pathlib.Path
        The built file. The build is deterministic (two builds give identical
        layers), goes to a temporary name beside the target and is renamed into
        place, and concurrent builds (two processes) are serialised.
    """
    from kcn_gis.bundled import build_atlas

    target = Path(path) if path is not None else bundled_atlas_path()
    log.info("building the bundled atlas %s from the facts tables in %s", target, bundled.FACTS_DIR)
    return bundled.publish(target, lambda tmp: write_atlas(tmp, build_atlas.layers(), crs=WORKING_CRS), replace=replace)


def write_atlas(
    target: str | os.PathLike[str],
    layers: Mapping[str | Layer, Frame],
    *,
    crs: Any = WORKING_CRS,
    fill_missing: bool = True,
    validate: bool = True,
) -> Atlas:
    """Write a whole atlas (all layers, atomically) and return it opened.

    Parameters
    ----------
    target : path or URL
        GeoPackage path or PostGIS URL. In an existing GeoPackage the given
        layers are replaced in one transaction inside the file (never by
        replacing the file); its other layers are kept.
    layers : mapping of layer name to frame
        Spatial frames must be in ``crs``; nothing is reprojected.
    crs : CRS-like, default EPSG:9209
        The working CRS of the atlas.
    fill_missing : bool, default True
        Write empty layers for the data-model layers not given.
    validate : bool, default True
        Refuse to write frames that break the schema.

    Raises
    ------
    SchemaError
        If a frame breaks the data model; nothing is written.
    """
    backend = backend_for(target, create=True)
    atlas = Atlas(backend, validate=False, crs=crs)
    to_write: dict[str | Layer, Frame] = dict(layers)
    if fill_missing:
        present = set(backend.list_layers())
        for name in Layer:
            if str(name) not in {str(k) for k in to_write} and str(name) not in present:
                to_write[name] = empty_layer(name, crs)
    atlas.write(to_write, validate=validate)
    return Atlas(backend_for(target), validate=validate)
