"""Pure spatial analytics: frames in, frames out, no I/O.

Every function takes GeoDataFrames in a projected CRS (EPSG:9209 for Bắc Ninh),
raises :class:`~kcn_gis.errors.CRSError` on a geographic or missing CRS, keeps
its input untouched and returns DataFrames with units in the column names.
Definitions (which land uses and parks count, how straddling parks are split,
the balance index) are in ``docs/analytics.md``.
"""

from __future__ import annotations

from kcn_gis.analytics.balance import BALANCE_COLUMNS, balance_index, river_balance
from kcn_gis.analytics.banks import DUONG, split_banks
from kcn_gis.analytics.checks import CHECKS, check_consistency
from kcn_gis.analytics.environment import ENVIRONMENT_COLUMNS, environment_status
from kcn_gis.analytics.fill import FILL_COLUMNS, GROUP_KEYS, fill_rates
from kcn_gis.analytics.repair import repair_geometries
from kcn_gis.analytics.reporting import (
    REPORTING_COLUMNS,
    current_reports,
    non_filers,
    period_bounds,
    report_totals,
    reporting_status,
)
from kcn_gis.analytics.services import HOUSING_COLUMNS, housing_coverage
from kcn_gis.analytics.status import plot_status
from kcn_gis.analytics.trend import fill_rate_trend, plot_trend

__all__ = [
    "BALANCE_COLUMNS",
    "CHECKS",
    "DUONG",
    "ENVIRONMENT_COLUMNS",
    "FILL_COLUMNS",
    "GROUP_KEYS",
    "HOUSING_COLUMNS",
    "REPORTING_COLUMNS",
    "balance_index",
    "check_consistency",
    "current_reports",
    "environment_status",
    "fill_rate_trend",
    "fill_rates",
    "housing_coverage",
    "non_filers",
    "period_bounds",
    "plot_status",
    "plot_trend",
    "repair_geometries",
    "report_totals",
    "reporting_status",
    "river_balance",
    "split_banks",
]
