"""kcn_gis: geospatial planning of industrial parks (khu công nghiệp) in Bắc Ninh.

The public API is listed in ``__all__``. Core names are imported eagerly; the
analytics, clearance, maps and interop functions are imported on first use so
that ``import kcn_gis`` stays fast and folium/playwright/psycopg load only when
needed.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("kcn_gis")
except PackageNotFoundError:  # pragma: no cover - running from a bare checkout
    __version__ = "0.0.0+unknown"

from kcn_gis.errors import (
    ClearanceError,
    ConcurrencyError,
    CRSError,
    ImportError_,
    KcnGisError,
    MissingDependencyError,
    RiverSplitError,
    SchemaError,
    StoreError,
)
from kcn_gis.store import Atlas, bundled_atlas_path, open_atlas, write_atlas

# name -> module that defines it; imported on first attribute access.
_LAZY: dict[str, str] = {}

__all__ = [
    "Atlas",
    "CRSError",
    "ClearanceError",
    "ConcurrencyError",
    "ImportError_",
    "KcnGisError",
    "MissingDependencyError",
    "RiverSplitError",
    "SchemaError",
    "StoreError",
    "__version__",
    "bundled_atlas_path",
    "open_atlas",
    "write_atlas",
]
__all__ += list(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kcn_gis' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
