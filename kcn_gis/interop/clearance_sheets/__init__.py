"""Clearance progress sheets: import (all rows or none) and the public names of the sheet side.

The work is split in three modules; this one ties them to an atlas:

* :mod:`kcn_gis.interop.clearance_sheets.reading` - reading XLSX/CSV sheets (long or wide
  layout, title rows, merged headers, subtotals ...) into located rows;
* :mod:`kcn_gis.interop.clearance_sheets.planning` - validating the rows against the atlas
  and working out the events to append (pure, no I/O);
* :mod:`kcn_gis.interop.clearance_sheets.template` - ready-to-fill templates.

Importing is all-or-nothing: any error and nothing is written. Event ids are
derived from the content (parcel, event, date, reference and, for corrections,
the corrected event), so importing the same file twice adds nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from kcn_gis.errors import ClearanceError
from kcn_gis.interop.clearance_sheets.planning import SheetImportResult, event_id_for, plan_import, problems_table
from kcn_gis.interop.clearance_sheets.reading import (
    SHEET_FIELDS,
    SheetProblem,
    SheetRead,
    SheetReport,
    SheetRow,
    _nfc,
    load_sheet_mapping,
    match_stage,
    read_progress,
    read_sheet,
)
from kcn_gis.interop.clearance_sheets.template import write_template
from kcn_gis.interop.importers.mapping import ColumnMapping
from kcn_gis.interop.importers.result import ImportResult
from kcn_gis.schema import Col, Layer

if TYPE_CHECKING:
    from kcn_gis.store import Atlas

__all__ = [
    "SHEET_FIELDS",
    "ImportResult",
    "SheetImportResult",
    "SheetProblem",
    "SheetRead",
    "SheetReport",
    "SheetRow",
    "event_id_for",
    "import_sheet",
    "load_sheet_mapping",
    "match_stage",
    "plan_import",
    "problems_table",
    "read_progress",
    "read_sheet",
    "write_template",
]

log = logging.getLogger(__name__)


def import_sheet(
    atlas: Atlas,
    path: str | os.PathLike[str],
    *,
    recorded_by: str,
    dry_run: bool = False,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | ColumnMapping | None = None,
    now: dt.datetime | None = None,
    park: str | None = None,
    encoding: str | None = None,
) -> SheetImportResult:
    """Import a clearance progress sheet (XLSX or CSV) into an atlas: all rows or none.

    Parameters
    ----------
    atlas : Atlas
        The atlas to append to (``kcn_gis.open_atlas(...)``).
    path : path-like
        The ``.xlsx`` or ``.csv`` sheet.
    recorded_by : str
        Who records the events (stored in ``recorded_by``).
    dry_run : bool, default False
        Validate and report what would be added, write nothing.
    mapping : path or dict, optional
        A YAML mapping for other layouts (see :func:`load_sheet_mapping`).
    now : datetime, optional
        The recording time (``recorded_at``; naive = UTC). Default: now.
        Event dates after today (Vietnam time) are refused.
    park : str, optional
        Find parcels by commune + map sheet + parcel number within this park only.
    encoding : str, optional
        ``auto`` (default), ``unicode``, ``tcvn3``, ``vni`` (or a code page for a CSV).

    Returns
    -------
    SheetImportResult
        New events, duplicates skipped, warnings, and per sheet what was read or skipped.

    Raises
    ------
    ClearanceError
        If any row has an error: unknown or ambiguous parcel, unknown stage,
        unparseable or future date, skipped stage without a note, regression
        that is not a correction, duplicate row, ... Each problem (in
        ``.problems``) names the sheet, row and column. Nothing is written.
    InputFileError
        If the file cannot be read.
    """
    if not recorded_by or not str(recorded_by).strip():
        raise ClearanceError("recorded_by is empty; say who records these events (--recorded-by NAME)")
    now = now or dt.datetime.now(dt.UTC)
    m = load_sheet_mapping(mapping)
    if park is not None and park not in set(atlas.parcels[Col.PARK_ID].astype(str)):
        have = ", ".join(sorted(set(atlas.parcels[Col.PARK_ID].dropna().astype(str)))) or "none"
        raise ClearanceError(f"park '{park}' has no parcels in {atlas.location}; parks with parcels: {have}")
    read = read_progress(path, mapping=m, encoding=encoding)
    # Read, validate and append under the layer lock, so that concurrent imports (several staff, several
    # processes) each validate against the history that includes the others' committed events.
    can_lock = not dry_run and hasattr(atlas.backend, "lock") and hasattr(atlas, "lock")
    with atlas.lock(Layer.CLEARANCE_EVENTS) if can_lock else contextlib.nullcontext():
        return _import_locked(
            atlas, path, read, recorded_by=recorded_by, dry_run=dry_run, mapping=m, now=now, park=park
        )


def _import_locked(
    atlas: Atlas,
    path: str | os.PathLike[str],
    read: SheetRead,
    *,
    recorded_by: str,
    dry_run: bool,
    mapping: ColumnMapping,
    now: dt.datetime,
    park: str | None,
) -> SheetImportResult:
    result, problems = plan_import(
        read.rows,
        atlas.parcels,
        atlas.clearance_events,
        recorded_by=_nfc(str(recorded_by)),
        now=now,
        mapping=mapping,
        path=str(path),
        park=park,
    )
    result.sheets = read.sheets
    result.fmt = os.path.splitext(str(path))[1].lstrip(".").lower()
    if park is not None:
        result.notes.append(f"parcels looked up within park {park}")
    # one problem per place: a parcel that cannot be found is reported once, not once per dated cell
    unique = {(getattr(p, "sheet", None), p.row, getattr(p, "column", None), p.check, p.message): p for p in problems}
    problems = sorted(
        [*read.problems, *unique.values()], key=lambda p: (str(getattr(p, "sheet", "") or ""), p.row or 0)
    )
    result.problems = [p for p in problems if p.severity != "error"]
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        # the errors first (they are why), then what the reader knows about each sheet
        raise ClearanceError.from_problems(
            [*errors, *result.problems],
            header=f"{path}: {len(errors)} problem(s); nothing was imported into {atlas.location}:",
        )
    result.dry_run = dry_run
    if not dry_run and len(result.new_events):
        frame = result.new_events.drop(columns=["sheet", "row"])
        if not (result.new_events[Col.CORRECTS_EVENT_ID].notna().any()) and (
            Col.CORRECTS_EVENT_ID not in atlas.clearance_events.columns
        ):
            frame = frame.drop(columns=[Col.CORRECTS_EVENT_ID])
        result.written = atlas.append(Layer.CLEARANCE_EVENTS, frame)
        log.info("imported %d clearance events from %s into %s", result.written, path, atlas.location)
    return result
