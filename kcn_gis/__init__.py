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
_LAZY: dict[str, str] = {
    "ImportResult": "kcn_gis.clearance",
    "balance_index": "kcn_gis.analytics",
    "burn_up": "kcn_gis.clearance",
    "check_clearance": "kcn_gis.raster",
    "check_consistency": "kcn_gis.analytics",
    "clearance_forecast": "kcn_gis.clearance",
    "clearance_map": "kcn_gis.maps",
    "clearance_progress": "kcn_gis.clearance",
    "clearance_progress_dask": "kcn_gis.dask_engine",
    "copy_atlas": "kcn_gis.store",
    "diagnose_crs": "kcn_gis.crsdetect",
    "disputed_parcels": "kcn_gis.clearance",
    "environment_status": "kcn_gis.analytics",
    "export_layer": "kcn_gis.exporters",
    "fill_rate_trend": "kcn_gis.analytics",
    "fill_rates": "kcn_gis.analytics",
    "fill_rates_dask": "kcn_gis.dask_engine",
    "fix_text": "kcn_gis.vntext",
    "housing_coverage": "kcn_gis.analytics",
    "import_file": "kcn_gis.importers",
    "import_reports": "kcn_gis.reports_intake",
    "import_sheet": "kcn_gis.clearance",
    "investor_map": "kcn_gis.maps",
    "non_filers": "kcn_gis.analytics",
    "parcel_stages": "kcn_gis.clearance",
    "parcel_timeline": "kcn_gis.clearance",
    "planning_map": "kcn_gis.maps",
    "plot_status": "kcn_gis.analytics",
    "plot_trend": "kcn_gis.analytics",
    "progress_records": "kcn_gis.clearance",
    "rasterize_to_file": "kcn_gis.raster",
    "reconcile": "kcn_gis.reconcile",
    "render_html": "kcn_gis.maps",
    "repair_geometries": "kcn_gis.analytics",
    "reporting_status": "kcn_gis.analytics",
    "river_balance": "kcn_gis.analytics",
    "river_balance_dask": "kcn_gis.dask_engine",
    "save_map": "kcn_gis.maps",
    "split_banks": "kcn_gis.analytics",
    "stalled_parcels": "kcn_gis.clearance",
    "write_partitioned": "kcn_gis.store.geoparquet",
    "write_review_report": "kcn_gis.clearance",
    "write_template": "kcn_gis.clearance",
    "zonal_stats": "kcn_gis.raster",
}

__all__ = [
    "Atlas",
    "CRSError",
    "ClearanceError",
    "ConcurrencyError",
    "ImportError_",
    "ImportResult",
    "KcnGisError",
    "MissingDependencyError",
    "RiverSplitError",
    "SchemaError",
    "StoreError",
    "__version__",
    "balance_index",
    "bundled_atlas_path",
    "burn_up",
    "check_clearance",
    "check_consistency",
    "clearance_forecast",
    "clearance_map",
    "clearance_progress",
    "clearance_progress_dask",
    "copy_atlas",
    "diagnose_crs",
    "disputed_parcels",
    "environment_status",
    "export_layer",
    "fill_rate_trend",
    "fill_rates",
    "fill_rates_dask",
    "fix_text",
    "housing_coverage",
    "import_file",
    "import_reports",
    "import_sheet",
    "investor_map",
    "non_filers",
    "open_atlas",
    "parcel_stages",
    "parcel_timeline",
    "planning_map",
    "plot_status",
    "plot_trend",
    "progress_records",
    "rasterize_to_file",
    "reconcile",
    "render_html",
    "repair_geometries",
    "reporting_status",
    "river_balance",
    "river_balance_dask",
    "save_map",
    "split_banks",
    "stalled_parcels",
    "write_atlas",
    "write_partitioned",
    "write_review_report",
    "write_template",
    "zonal_stats",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'kcn_gis' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
