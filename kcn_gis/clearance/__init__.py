"""Land clearance (bồi thường, giải phóng mặt bằng) per parcel.

* :mod:`~kcn_gis.clearance.history` - the stage of each parcel on a date, derived
  from the append-only event history; timelines; corrections.
* :mod:`~kcn_gis.clearance.progress` - progress per park on any date; burn-up.
* :mod:`~kcn_gis.clearance.stalls` - stalled and disputed parcels; completion forecast.
* :mod:`~kcn_gis.clearance.sheet` - spreadsheet import (XLSX/CSV): reading
  (:mod:`~kcn_gis.clearance.reading`), planning (:mod:`~kcn_gis.clearance.planning`, pure) and
  templates (:mod:`~kcn_gis.clearance.template`).
* :mod:`~kcn_gis.clearance.review` - the self-contained HTML review report.

The analytics take frames and return frames; only ``import_sheet``,
``write_template`` and ``write_review_report`` read or write files.
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
from kcn_gis.clearance.sheet import (
    SHEET_FIELDS,
    ImportResult,
    SheetProblem,
    SheetReport,
    SheetRow,
    event_id_for,
    import_sheet,
    load_mapping,
    match_stage,
    plan_import,
    problems_table,
    read_progress,
    read_sheet,
    write_template,
)
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
    "SHEET_FIELDS",
    "STAGE_RANK",
    "ForecastStatus",
    "ImportResult",
    "SheetProblem",
    "SheetReport",
    "SheetRow",
    "burn_up",
    "clearance_changes",
    "clearance_forecast",
    "clearance_progress",
    "disputed_parcels",
    "event_id_for",
    "events_since",
    "import_sheet",
    "load_mapping",
    "match_stage",
    "parcel_area_ha",
    "parcel_stages",
    "parcel_timeline",
    "plan_import",
    "problems_table",
    "progress_records",
    "read_progress",
    "read_sheet",
    "review_report_html",
    "stage_color",
    "stage_label",
    "stalled_parcels",
    "write_review_report",
    "write_template",
]
