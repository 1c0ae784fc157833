"""Which backend opens an atlas: a GeoPackage path or a ``postgresql://`` URL (used by the store's functions)."""

from __future__ import annotations

import os
from pathlib import Path

from kcn_gis.errors import StoreError
from kcn_gis.store.base import Backend
from kcn_gis.store.gpkg import GeoPackageBackend

__all__ = ["backend_for"]


def backend_for(source: str | os.PathLike[str], *, create: bool = False) -> Backend:
    """The backend for a GeoPackage path (``.gpkg``) or a PostGIS URL; :class:`StoreError` for anything else."""
    text = str(source)
    if text.startswith(("postgresql://", "postgres://")):
        from kcn_gis.store.postgis import PostGISBackend

        return PostGISBackend(text, create=create)
    if Path(text).is_dir() and (Path(text) / "kcn_gis_meta.json").exists():
        from kcn_gis.store.geoparquet import GeoParquetBackend

        if create:
            raise StoreError(f"{text} is a partitioned GeoParquet atlas, which kcn_gis only reads")
        return GeoParquetBackend(text)
    if Path(text).suffix.lower() != ".gpkg":
        raise StoreError(
            f"{text}: an atlas is a GeoPackage (.gpkg) file or a postgresql:// URL. "
            "To bring in another format use kcn-gis import."
        )
    return GeoPackageBackend(text, create=create)
