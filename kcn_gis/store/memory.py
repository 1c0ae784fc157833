"""An in-memory backend: the layers of an atlas held as frames, for scenarios and what-if work.

Wrapped by :class:`~kcn_gis.store.base.Atlas`, it gives the same API as a
GeoPackage or PostGIS atlas (validation on first read, caching, the layer
properties), but nothing ever reaches a file or a database: "writes" replace
the frames held in memory.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator, Mapping
from typing import Any

import geopandas as gpd
import pandas as pd

from kcn_gis.errors import StoreError
from kcn_gis.schema import Layer, spec
from kcn_gis.store.base import VALIDATED_PENDING, Atlas, Frame

__all__ = ["MemoryBackend", "memory_atlas"]

log = logging.getLogger(__name__)

_GEOMETRY_TYPES = {"polygon": "MultiPolygon", "line": "MultiLineString", "point": "Point"}


class MemoryBackend:
    """Layers held as frames in memory (copies in, copies out).

    Parameters
    ----------
    layers : mapping of layer name to frame
        Spatial frames keep their CRS (EPSG:9209 metres for Bắc Ninh); nothing is reprojected.
    location : str
        A label shown in messages, e.g. ``"memory:scenario 'Khu Nam 2013'"``.
    meta : mapping, optional
        The atlas metadata (``crs``, ``schema_version``).
    """

    supports_filters = False

    def __init__(self, layers: Mapping[str, Frame], *, location: str, meta: Mapping[str, str] | None = None) -> None:
        self.location = location
        self._layers: dict[str, Frame] = {str(k): v.copy() for k, v in layers.items()}
        self._meta: dict[str, str] = dict(meta or {})

    def list_layers(self) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for name in self._layers:
            try:
                kind = spec(name).geometry
            except Exception:
                kind = None
            out[name] = _GEOMETRY_TYPES.get(kind or "") if kind else None
        return out

    def layer_crs(self, layer: str) -> Any:
        frame = self._layers[layer]
        return frame.crs if isinstance(frame, gpd.GeoDataFrame) else None

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
        if layer not in self._layers:
            raise StoreError(f"{self.location}: layer '{layer}' is missing")
        if where is not None:
            raise StoreError(f"{self.location}: an in-memory atlas has no SQL; filter the frame with pandas instead")
        frame = self._layers[layer]
        if bbox is not None and isinstance(frame, gpd.GeoDataFrame):
            frame = frame.cx[bbox[0] : bbox[2], bbox[1] : bbox[3]]
        for col, value in (filters or {}).items():
            if col not in frame.columns:
                raise StoreError(f"{self.location} layer '{layer}': cannot filter on '{col}', no such column")
            many = not isinstance(value, str) and isinstance(value, list | tuple | set | pd.Series | pd.Index)
            frame = frame[frame[col].isin(list(value)) if many else (frame[col] == value).fillna(False).to_numpy()]
        if columns is not None:
            keep = [c for c in frame.columns if c in columns or c == getattr(frame, "_geometry_column_name", None)]
            frame = frame[keep]
        return frame.copy().reset_index(drop=True)

    def write_layers(self, layers: Mapping[str, Frame], meta: Mapping[str, str]) -> None:
        for name, frame in layers.items():
            self._layers[str(name)] = frame.copy()
        self._meta.update({k: v for k, v in meta.items() if v != VALIDATED_PENDING})
        log.debug("replaced in-memory layers %s of %s", ", ".join(map(str, layers)), self.location)

    def append_rows(self, layer: str, frame: pd.DataFrame) -> int | None:
        s = spec(layer)
        old = self._layers.get(layer)
        if old is None:
            self._layers[layer] = frame.copy()
            return len(frame)
        new = frame
        if s.key and s.key in old.columns:
            new = frame[~frame[s.key].isin(old[s.key])]
        self._layers[layer] = pd.concat([old, new], ignore_index=True)
        return len(new)

    def read_meta(self) -> dict[str, str]:
        return dict(self._meta)

    def update_rows(self, layer: str, rows: pd.DataFrame, expected: Mapping[Any, int]) -> dict[Any, int]:
        raise StoreError(f"{self.location}: an in-memory atlas has no row versions; write whole layers instead")

    @contextlib.contextmanager
    def lock(self, layer: str) -> Iterator[None]:
        """One process holds the frames: nothing to lock."""
        yield

    def layer_stamp(self, layer: str) -> str | None:
        return None


def memory_atlas(
    layers: Mapping[str | Layer, Frame],
    *,
    location: str,
    crs: Any,
    validate: bool = True,
    meta: Mapping[str, str] | None = None,
) -> Atlas:
    """Wrap frames in an :class:`~kcn_gis.store.base.Atlas` held in memory (nothing is written anywhere).

    Parameters
    ----------
    layers : mapping of layer name to frame
        Every data-model layer; spatial frames in ``crs`` (projected, metres).
    location : str
        Label shown in messages.
    crs : CRS-like
        The working CRS of the atlas (EPSG:9209 for Bắc Ninh).
    validate : bool, default True
        Check the structure now and each layer against the schema when first read.
    """
    from pyproj import CRS

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    base_meta = {"crs": f"EPSG:{epsg}" if epsg else c.to_wkt(), **dict(meta or {})}
    backend = MemoryBackend({str(k): v for k, v in layers.items()}, location=location, meta=base_meta)
    return Atlas(backend, validate=validate, crs=c)
