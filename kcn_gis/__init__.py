"""kcn_gis: geospatial planning of industrial parks (khu công nghiệp) in Bắc Ninh.

The public API is listed in ``__all__``. Core names are imported eagerly; the
analytics, clearance, maps and interop functions are imported on first use so
that ``import kcn_gis`` stays fast and folium/playwright/psycopg load only when
needed.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from kcn_gis._version import __version__
from kcn_gis.errors import (
    ClearanceError,
    ConcurrencyError,
    CRSError,
    InputFileError,
    KcnGisError,
    MissingDependencyError,
    RiverSplitError,
    ScenarioError,
    SchemaError,
    StoreError,
)
from kcn_gis.store import Atlas, bundled_atlas_path, open_atlas, write_atlas

# name -> module that defines it; imported on first attribute access.
_LAZY: dict[str, str] = {
    "ImportResult": "kcn_gis.interop.importers",
    "SheetImportResult": "kcn_gis.interop.clearance_sheets",
    "LeasePaceModel": "kcn_gis.scenario",
    "Scenario": "kcn_gis.scenario",
    "apply_scenario": "kcn_gis.scenario",
    "backtest_projection": "kcn_gis.scenario",
    "balance_index": "kcn_gis.analytics",
    "bundled_scenarios": "kcn_gis.scenario",
    "burn_up": "kcn_gis.clearance",
    "check_clearance": "kcn_gis.interop.raster",
    "check_consistency": "kcn_gis.analytics",
    "clearance_forecast": "kcn_gis.clearance",
    "clearance_map": "kcn_gis.maps",
    "clearance_progress": "kcn_gis.clearance",
    "clearance_progress_dask": "kcn_gis.dask_engine",
    "compare_scenarios": "kcn_gis.scenario",
    "copy_atlas": "kcn_gis.store",
    "diagnose_crs": "kcn_gis.interop.crsdetect",
    "disputed_parcels": "kcn_gis.clearance",
    "environment_status": "kcn_gis.analytics",
    "export_layer": "kcn_gis.interop.exporters",
    "fill_rate_trend": "kcn_gis.analytics",
    "fill_rates": "kcn_gis.analytics",
    "fill_rates_dask": "kcn_gis.dask_engine",
    "fix_text": "kcn_gis.interop.vntext",
    "housing_coverage": "kcn_gis.analytics",
    "import_file": "kcn_gis.interop.importers",
    "import_reports": "kcn_gis.reports_intake",
    "import_sheet": "kcn_gis.interop.clearance_sheets",
    "investor_map": "kcn_gis.maps",
    "load_scenario": "kcn_gis.scenario",
    "non_filers": "kcn_gis.analytics",
    "parcel_stages": "kcn_gis.clearance",
    "parcel_timeline": "kcn_gis.clearance",
    "planning_map": "kcn_gis.maps",
    "plot_scenarios": "kcn_gis.maps.scenario",
    "plot_status": "kcn_gis.analytics",
    "plot_trend": "kcn_gis.analytics",
    "progress_records": "kcn_gis.clearance",
    "project_scenarios": "kcn_gis.scenario",
    "rasterize_to_file": "kcn_gis.interop.raster",
    "reconcile": "kcn_gis.reconcile",
    "render_html": "kcn_gis.maps",
    "repair_geometries": "kcn_gis.analytics",
    "reporting_status": "kcn_gis.analytics",
    "river_balance": "kcn_gis.analytics",
    "river_balance_dask": "kcn_gis.dask_engine",
    "save_map": "kcn_gis.maps",
    "scenario_map": "kcn_gis.maps.scenario",
    "scenario_milestones": "kcn_gis.scenario",
    "split_banks": "kcn_gis.analytics",
    "stalled_parcels": "kcn_gis.clearance",
    "write_partitioned": "kcn_gis.store.geoparquet",
    "write_review_report": "kcn_gis.clearance",
    "write_template": "kcn_gis.interop.clearance_sheets",
    "zonal_stats": "kcn_gis.interop.raster",
}

__all__ = [
    "Atlas",
    "CRSError",
    "ClearanceError",
    "ConcurrencyError",
    "ImportResult",
    "InputFileError",
    "KcnGisError",
    "LeasePaceModel",
    "MissingDependencyError",
    "RiverSplitError",
    "Scenario",
    "ScenarioError",
    "SchemaError",
    "SheetImportResult",
    "StoreError",
    "__version__",
    "apply_scenario",
    "backtest_projection",
    "balance_index",
    "bundled_atlas_path",
    "bundled_scenarios",
    "burn_up",
    "check_clearance",
    "check_consistency",
    "clearance_forecast",
    "clearance_map",
    "clearance_progress",
    "clearance_progress_dask",
    "compare_scenarios",
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
    "load_scenario",
    "non_filers",
    "open_atlas",
    "parcel_stages",
    "parcel_timeline",
    "planning_map",
    "plot_scenarios",
    "plot_status",
    "plot_trend",
    "progress_records",
    "project_scenarios",
    "rasterize_to_file",
    "reconcile",
    "render_html",
    "repair_geometries",
    "reporting_status",
    "river_balance",
    "river_balance_dask",
    "save_map",
    "scenario_map",
    "scenario_milestones",
    "split_banks",
    "stalled_parcels",
    "write_atlas",
    "write_partitioned",
    "write_review_report",
    "write_template",
    "zonal_stats",
]


def _import(dotted: str) -> ModuleType:
    """Import a module named in ``_LAZY`` with a plain import statement (so the import graph shows it).

    ``import a.b as c`` imports the submodule before reading it from the package; ``from kcn_gis
    import reconcile`` would first ask this package's ``__getattr__`` for the *function* of that name.
    """
    match dotted:
        case "kcn_gis.analytics":
            import kcn_gis.analytics as _analytics

            return _analytics
        case "kcn_gis.clearance":
            import kcn_gis.clearance as _clearance

            return _clearance
        case "kcn_gis.interop.clearance_sheets":
            import kcn_gis.interop.clearance_sheets as _clearance_sheets

            return _clearance_sheets
        case "kcn_gis.interop.crsdetect":
            import kcn_gis.interop.crsdetect as _crsdetect

            return _crsdetect
        case "kcn_gis.dask_engine":
            import kcn_gis.dask_engine as _dask_engine

            return _dask_engine
        case "kcn_gis.interop.exporters":
            import kcn_gis.interop.exporters as _exporters

            return _exporters
        case "kcn_gis.interop.importers":
            import kcn_gis.interop.importers as _importers

            return _importers
        case "kcn_gis.maps":
            import kcn_gis.maps as _maps

            return _maps
        case "kcn_gis.interop.raster":
            import kcn_gis.interop.raster as _raster

            return _raster
        case "kcn_gis.reconcile":
            import kcn_gis.reconcile as _reconcile

            return _reconcile
        case "kcn_gis.store":
            import kcn_gis.store as _store

            return _store
        case "kcn_gis.store.geoparquet":
            import kcn_gis.store.geoparquet as _store_geoparquet

            return _store_geoparquet
        case "kcn_gis.interop.vntext":
            import kcn_gis.interop.vntext as _vntext

            return _vntext
        case "kcn_gis.maps.scenario":
            import kcn_gis.maps.scenario as _maps_scenario

            return _maps_scenario
        case "kcn_gis.reports_intake":
            import kcn_gis.reports_intake as _reports_intake

            return _reports_intake
        case "kcn_gis.scenario":
            import kcn_gis.scenario as _scenario

            return _scenario
        case _:  # pragma: no cover - a name in _LAZY without a case here
            raise AttributeError(f"kcn_gis: no lazy module {dotted!r}")


def __getattr__(name: str) -> Any:
    dotted = _LAZY.get(name)
    if dotted is None:
        raise AttributeError(f"module 'kcn_gis' has no attribute '{name}'")
    value = getattr(_import(dotted), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
