"""Copying a whole atlas between backends: ``kcn-gis db push`` and ``kcn-gis db pull``."""

from __future__ import annotations

import logging
import os
from typing import Any

from kcn_gis.errors import StoreError
from kcn_gis.schema import Layer, spec
from kcn_gis.store._backends import backend_for
from kcn_gis.store.base import Atlas, Frame, _meta, prepare_for_write

__all__ = ["copy_atlas", "extra_layers"]

log = logging.getLogger(__name__)

# Meta keys that belong to one store and must not be copied (the GeoPackage row-version counter).
_LOCAL_META = {"row_version"}
# Tables of the store, not data: the meta table, and the QGIS styles (the target writes its own).
_INTERNAL_LAYERS = {"kcn_gis_meta", "layer_styles"}


def extra_layers(atlas: Atlas) -> list[str]:
    """Layers of the source that are not part of the data model (they are not copied)."""
    return sorted(
        n for n in atlas.backend.list_layers() if n not in {str(x) for x in Layer} and n not in _INTERNAL_LAYERS
    )


def copy_atlas(
    source: str | os.PathLike[str] | Atlas,
    target: str | os.PathLike[str],
    *,
    validate: bool = True,
) -> Atlas:
    """Copy every data-model layer and the metadata of ``source`` into ``target`` in one transaction.

    ``kcn-gis db push`` (GeoPackage -> PostGIS) and ``kcn-gis db pull``
    (PostGIS -> GeoPackage) both use this. Into PostGIS the copy is one
    database transaction (the schema is created first when missing); into a
    GeoPackage it is one atomic file replacement. Either way a failure leaves
    the target as it was. Geometries, values, column types, user columns and
    row order are preserved; row versions are the target's own.

    Parameters
    ----------
    source : path, URL or Atlas
        The atlas to copy; validated against the schema unless ``validate=False``.
    target : path or URL
        A ``.gpkg`` path or a ``postgresql://`` URL.
    validate : bool, default True
        Refuse to copy an atlas that breaks the data model.

    Returns
    -------
    Atlas
        The target, opened.

    Raises
    ------
    StoreError
        If the target refuses the copy. Into PostGIS, the clearance history is
        append-only: a target whose history holds events the source lacks is refused.
    SchemaError
        If the source breaks the data model or a database constraint.
    """
    src = source if isinstance(source, Atlas) else Atlas(backend_for(source), validate=validate)
    if str(src.location) == str(target):
        raise StoreError(f"cannot copy {src.location} onto itself")
    skipped = extra_layers(src)
    if skipped:
        log.warning("%s: layer(s) %s are not part of the kcn_gis data model and are not copied", src.location, skipped)
    layers: dict[str, Frame] = {}
    for name in src.layer_names():
        layers[name] = prepare_for_write(spec(name), src.read(name))
    meta: dict[str, Any] = {k: v for k, v in src.meta.items() if k not in _LOCAL_META}
    meta.update(_meta(src.crs))
    backend = backend_for(target, create=True)
    backend.write_layers(layers, {str(k): str(v) for k, v in meta.items()})
    log.info("copied %d layer(s) from %s to %s", len(layers), src.location, backend.location)
    return Atlas(backend_for(target), validate=validate)
