"""Land clearance (bồi thường, giải phóng mặt bằng) per parcel.

* :mod:`~kcn_gis.clearance.history` - the stage of each parcel on a date, derived
  from the append-only event history; timelines; corrections.
* :mod:`~kcn_gis.clearance.progress` - progress per park on any date; burn-up.
* :mod:`~kcn_gis.clearance.stalls` - stalled and disputed parcels; completion forecast.
* :mod:`~kcn_gis.clearance.review` - the self-contained HTML review report.

The analytics take frames and return frames; only ``write_review_report`` writes a file.
Progress workbooks (XLSX/CSV) are read, planned and imported by
:mod:`kcn_gis.interop.clearance_sheets`, on the import side, which builds on this package.
"""

from __future__ import annotations

from kcn_gis.clearance.history import (
    NOT_STARTED,
    STAGE_RANK,
    clearance_changes,
    events_since,
    parcel_stages,
    parcel_timeline,
    stage_label,
)
from kcn_gis.clearance.progress import PROGRESS_STAGES, burn_up, clearance_progress, parcel_area_ha, progress_records
from kcn_gis.clearance.review import review_report_html, stage_color, write_review_report
from kcn_gis.clearance.stalls import (
    DAYS_PER_MONTH,
    ForecastStatus,
    clearance_forecast,
    disputed_parcels,
    stalled_parcels,
)

__all__ = [
    "DAYS_PER_MONTH",
    "NOT_STARTED",
    "PROGRESS_STAGES",
    "STAGE_RANK",
    "ForecastStatus",
    "burn_up",
    "clearance_changes",
    "clearance_forecast",
    "clearance_progress",
    "disputed_parcels",
    "events_since",
    "parcel_area_ha",
    "parcel_stages",
    "parcel_timeline",
    "progress_records",
    "review_report_html",
    "stage_color",
    "stage_label",
    "stalled_parcels",
    "write_review_report",
]
