"""Reading and writing atlases. All file and database I/O of kcn_gis lives in this package.

An atlas is opened with :func:`open_atlas` from a GeoPackage path (the embedded
default) or a ``postgresql://`` URL (multi-user work).
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kcn_gis.crs import WORKING_CRS
from kcn_gis.errors import StoreError
from kcn_gis.schema import Layer
from kcn_gis.store.base import VERSIONED_LAYERS, Atlas, Frame, empty_layer
from kcn_gis.store.gpkg import GeoPackageBackend
from kcn_gis.store.transfer import copy_atlas

__all__ = [
    "VERSIONED_LAYERS",
    "Atlas",
    "bundled_atlas_path",
    "check_writable",
    "copy_atlas",
    "empty_layer",
    "open_atlas",
    "write_atlas",
]

log = logging.getLogger(__name__)

_REPO_ROOT = Path(__file__).resolve().parents[2]
_BUNDLED = _REPO_ROOT / "data" / "geo" / "bac_ninh_2011.gpkg"


def bundled_atlas_path() -> Path:
    """Path of the bundled Bắc Ninh 2011 atlas (``data/geo/bac_ninh_2011.gpkg``).

    The file is built from the committed facts table by ``data/geo/build_atlas.py``;
    it is built on first use when missing.
    """
    env = os.environ.get("KCN_GIS_BUNDLED_ATLAS")
    return Path(env) if env else _BUNDLED


def _backend_for(source: str | os.PathLike[str], *, create: bool = False) -> Any:
    text = str(source)
    if text.startswith(("postgresql://", "postgres://")):
        from kcn_gis.store.postgis import PostGISBackend

        return PostGISBackend(text, create=create)
    if Path(text).suffix.lower() != ".gpkg":
        raise StoreError(
            f"{text}: an atlas is a GeoPackage (.gpkg) file or a postgresql:// URL. "
            "To bring in another format use kcn-gis import."
        )
    return GeoPackageBackend(text, create=create)


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
    GeoPackageBackend(text, create=True).check_writable()


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
        source = path
    return Atlas(_backend_for(source), validate=validate)


def _build_bundled(path: Path) -> None:
    import importlib.util

    script = _REPO_ROOT / "data" / "geo" / "build_atlas.py"
    if not script.exists():
        raise StoreError(
            f"the bundled atlas {path} is missing and its build script {script} is not available "
            "(kcn_gis is not installed from a source checkout). Pass an atlas path to open_atlas()."
        )
    log.info("building the bundled atlas %s from %s", path, script)
    spec_ = importlib.util.spec_from_file_location("_kcn_gis_build_atlas", script)
    assert spec_ is not None and spec_.loader is not None
    module = importlib.util.module_from_spec(spec_)
    sys.modules[spec_.name] = module  # dataclasses in the script look their module up
    try:
        spec_.loader.exec_module(module)
    finally:
        sys.modules.pop(spec_.name, None)
    module.build(path)


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
    backend = _backend_for(target, create=True)
    atlas = Atlas(backend, validate=False, crs=crs)
    to_write: dict[str | Layer, Frame] = dict(layers)
    if fill_missing:
        present = set(backend.list_layers())
        for name in Layer:
            if str(name) not in {str(k) for k in to_write} and str(name) not in present:
                to_write[name] = empty_layer(name, crs)
    atlas.write(to_write, validate=validate)
    return Atlas(_backend_for(target), validate=validate)
