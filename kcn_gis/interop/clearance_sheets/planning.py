"""Planning a clearance import (pure): validate sheet rows against the atlas, work out the events to append.

No I/O: :func:`plan_import` takes the rows read by
:mod:`kcn_gis.interop.clearance_sheets.reading` and the atlas's ``parcels`` and
``clearance_events`` frames, and returns the new events, the rows already
recorded and every problem, each located by file, sheet, row and column.
Event ids are derived from the content (parcel, event, date, reference and,
for corrections, the corrected event), so importing the same file twice adds
nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kcn_gis.clearance.history import STAGE_RANK, stage_label
from kcn_gis.dates import vietnam_today
from kcn_gis.errors import Problem
from kcn_gis.interop.clearance_sheets.reading import (
    SheetProblem,
    SheetReport,
    SheetRow,
    _accepted_stages,
    _cell_text,
    _commune_key,
    _exact_key,
    _loose_key,
    _nfc,
    _number_key,
    _stage_tables,
    load_sheet_mapping,
    skipped_rows,
    stage_spellings,
)
from kcn_gis.interop.importers.mapping import ColumnMapping
from kcn_gis.interop.importers.result import ImportResult
from kcn_gis.interop.importers.tables import parse_date, problems_table
from kcn_gis.schema import Col, Event, Layer, spec

__all__ = ["ImportResult", "SheetImportResult", "event_id_for", "plan_import", "problems_table"]



def event_id_for(
    parcel_id: str, event: str, event_date: dt.date, reference: str | None, corrects: str | None = None
) -> str:
    """Return the deterministic id of an event: ``ev-`` and 20 hex digits of a SHA-256 of its content.

    The content is the parcel, the event, the date, the reference (decision
    number) and, for corrections, the corrected event id. The same row imported
    twice gets the same id, so it is recognised and skipped.
    """
    material = "\x1f".join(
        [_nfc(parcel_id), str(event), event_date.isoformat(), _nfc(reference or ""), _nfc(corrects or "")]
    )
    return "ev-" + hashlib.sha256(material.encode("utf-8")).hexdigest()[:20]


def _parse_date(value: Any, formats: tuple[str, ...]) -> dt.date | str:
    """A date, or an error message (day first; see :func:`kcn_gis.interop.importers.tables.parse_date`)."""
    return parse_date(value, formats=formats)


@dataclass
class _Parsed:
    src: SheetRow
    parcel_id: str
    event: Event
    date: dt.date
    reference: str | None
    note: str | None
    corrects_text: str | None
    event_id: str = ""
    corrects: str | None = None
    order: int = 0


@dataclass(kw_only=True)
class SheetImportResult(ImportResult):
    """What a clearance workbook import did, or would do with ``dry_run``.

    An :class:`kcn_gis.interop.importers.ImportResult` (``layer`` = ``clearance_events``, ``source``,
    ``frame`` = the new events, ``problems``, ``errors``, ``warnings``, ``notes``, ``written``,
    ``dry_run``, :meth:`problems_frame`, :meth:`summary`), plus what is particular to events.

    Attributes
    ----------
    path : str
        The workbook imported (the same as ``source``).
    new_events : DataFrame
        The events appended (or that would be), with the ``clearance_events``
        columns plus ``sheet`` and ``row`` (where each came from). Also ``frame``.
    duplicates : DataFrame
        Rows already in the atlas, skipped: ``sheet``, ``row``, ``event_id``,
        ``parcel_id``, ``event``, ``event_date``.
    problems : list of Problem
        Warnings (an import with errors raises instead).
    written : int
        Number of events written (0 on a dry run).
    sheets : list of SheetReport
        Per worksheet: imported or skipped, and why.
    """

    layer: str = str(Layer.CLEARANCE_EVENTS)
    new_events: pd.DataFrame
    duplicates: pd.DataFrame
    sheets: list[SheetReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.frame = self.new_events

    @property
    def path(self) -> str:
        return self.source

    @property
    def skipped(self) -> dict[str, int]:
        """Rows recognised and skipped, by kind (``subtotal``, ``total``, ``numbering``, ``note``, ``signature``)."""
        return skipped_rows(self.sheets)

    def problems_frame(self) -> pd.DataFrame:
        """Problems as the one import problems table (:func:`kcn_gis.interop.importers.tables.problems_table`)."""
        return problems_table(self.problems)

    def summary(self) -> str:
        """A few lines for people: events added, already recorded, sheets read and rows skipped."""
        tail = " (dry run: nothing written)" if self.dry_run else f"; {self.written} written"
        warn = f", {len(self.problems)} warning(s)" if self.problems else ""
        line = f"{self.path}: {len(self.new_events)} new event(s), {len(self.duplicates)} already recorded{warn}{tail}"
        lines = [line]
        used = [s for s in self.sheets if s.imported]
        if len(self.sheets) > 1 or (used and used[0].layout == "wide"):
            names = ", ".join(f"'{s.sheet}' ({s.events} event row(s))" for s in used)
            lines.append(f"  sheets imported: {names or 'none'}")
        for s in self.sheets:
            if not s.imported:
                lines.append(f"  sheet '{s.sheet}' skipped: {s.reason}")
        sk = self.skipped
        if sk:
            parts = ", ".join(f"{v} {k}" for k, v in sorted(sk.items()))
            lines.append(f"  rows skipped: {sum(sk.values())} ({parts})")
        lines += [f"  {n}" for n in self.notes]
        return "\n".join(lines)


class _ParcelIndex:
    def __init__(self, parcels: pd.DataFrame) -> None:
        ids = parcels[Col.PARCEL_ID].astype(object).to_numpy()
        self.ids = {str(i) for i in ids}
        self.triple_of: dict[str, tuple[str, str, str]] = {}
        self.by_triple: dict[tuple[str, str, str], list[str]] = {}
        self.communes_loose: dict[str, set[str]] = {}
        cols = [parcels[c].astype(object).to_numpy() for c in (Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO)]
        for pid, c, s, n in zip(ids, *cols, strict=True):
            if any(v is None or (not isinstance(v, str) and pd.isna(v)) for v in (c, s, n)):
                continue
            key = (_commune_key(str(c)), _number_key(str(s)), _number_key(str(n)))
            self.triple_of[str(pid)] = key
            self.by_triple.setdefault(key, []).append(str(pid))
            self.communes_loose.setdefault(_loose_key(key[0]), set()).add(key[0])

    def commune(self, text: str) -> str:
        """The atlas's commune key for ``text``; without diacritics only when that names one commune."""
        key = _commune_key(text)
        cands = self.communes_loose.get(_loose_key(key), set())
        if key in cands or len(cands) != 1:
            return key
        return next(iter(cands))


def _problem(row: SheetRow, f: str | None, check: str, message: str, severity: str = "error") -> SheetProblem:
    return SheetProblem(
        severity,
        check,
        message,
        row=row.row,
        field=f,
        file=row.file,
        sheet=row.sheet,
        column=row.columns.get(f) if f else None,
    )


def _today_vn(now: dt.datetime) -> dt.date:
    return vietnam_today(now)


def plan_import(
    rows: list[SheetRow],
    parcels: pd.DataFrame,
    events: pd.DataFrame,
    *,
    recorded_by: str,
    now: dt.datetime,
    mapping: str | os.PathLike[str] | Mapping[str, Any] | ColumnMapping | None = None,
    path: str = "",
    park: str | None = None,
) -> tuple[SheetImportResult, list[Problem]]:
    """Validate sheet rows against the atlas and work out the events to append (pure, no I/O).

    Parameters
    ----------
    rows : list of SheetRow
        From :func:`read_sheet`.
    parcels : DataFrame
        The ``parcels`` layer (attributes only are used).
    events : DataFrame
        The existing ``clearance_events``.
    recorded_by : str
        Who records the events.
    now : datetime
        The recording time (naive = UTC). Dates after today in Vietnam (UTC+7) are refused.
    mapping : optional
        The mapping (for extra stage spellings and date formats).
    path : str
        The file, for messages.
    park : str, optional
        Look parcels up only within this park (``--park``): a commune + map
        sheet + parcel number that exists in two parks is then not ambiguous.

    Returns
    -------
    result : SheetImportResult
        New events and duplicates (``written`` = 0).
    problems : list of Problem
        Errors and warnings; any error means nothing may be written.
    """
    m = load_sheet_mapping(mapping)
    problems: list[Problem] = []
    if park is not None:
        parcels = parcels[(parcels[Col.PARK_ID].astype(object) == park).to_numpy()]
    idx = _ParcelIndex(parcels)
    today = _today_vn(now)
    exact, loose = _stage_tables(stage_spellings(m))
    parsed: list[_Parsed] = []
    for order, row in enumerate(rows):
        c = {f: _cell_text(v) for f, v in row.cells.items()}
        if not any(c.get(f) for f in (Col.EVENT, Col.EVENT_DATE, Col.REFERENCE, Col.NOTE, Col.CORRECTS_EVENT_ID)):
            continue  # a template row left blank: nothing to record
        ok = True
        # parcel
        pid = c.get(Col.PARCEL_ID)
        triple = (c.get(Col.COMMUNE), c.get(Col.MAP_SHEET), c.get(Col.PARCEL_NO))
        if pid:
            if pid not in idx.ids:
                problems.append(
                    _problem(row, Col.PARCEL_ID, "unknown_parcel", f"parcel '{pid}' is not in the atlas; check Mã thửa")
                )
                ok = False
            elif all(triple):
                key = (idx.commune(triple[0] or ""), _number_key(triple[1] or ""), _number_key(triple[2] or ""))
                if idx.triple_of.get(pid) not in (None, key):
                    problems.append(
                        _problem(
                            row,
                            Col.PARCEL_ID,
                            "parcel_mismatch",
                            f"Mã thửa '{pid}' is not Xã '{triple[0]}' tờ {triple[1]} thửa {triple[2]} "
                            "in the atlas; correct one of them",
                        )
                    )
                    ok = False
        elif all(triple):
            key = (idx.commune(triple[0] or ""), _number_key(triple[1] or ""), _number_key(triple[2] or ""))
            hits = idx.by_triple.get(key, [])
            where = f"Xã '{triple[0]}', tờ bản đồ số {triple[1]}, thửa đất số {triple[2]}"
            if not hits:
                problems.append(
                    _problem(
                        row,
                        Col.PARCEL_NO,
                        "unknown_parcel",
                        f"no parcel {where} in the atlas"
                        + (f" within park {park}" if park else "")
                        + "; check the commune, map sheet and parcel number",
                    )
                )
                ok = False
            elif len(hits) > 1:
                problems.append(
                    _problem(
                        row,
                        Col.PARCEL_NO,
                        "ambiguous_parcel",
                        f"{where} matches {len(hits)} parcels ({', '.join(sorted(hits))}); "
                        "add the Mã thửa (parcel_id) column to say which",
                    )
                )
                ok = False
            else:
                pid = hits[0]
        else:
            missing = [h for h, v in zip(("Xã", "Tờ bản đồ số", "Thửa đất số"), triple, strict=True) if not v]
            problems.append(
                _problem(
                    row,
                    Col.PARCEL_ID,
                    "missing_parcel",
                    f"the parcel is not identified: fill Mã thửa, or Xã + Tờ bản đồ số + Thửa đất số "
                    f"(missing: {', '.join(missing)})",
                )
            )
            ok = False
        # stage
        stage_text = c.get(Col.EVENT)
        ev: Event | None = None
        if not stage_text:
            problems.append(_problem(row, Col.EVENT, "missing_stage", "the stage (Giai đoạn) is empty; fill it in"))
            ok = False
        else:
            ev = exact.get(_exact_key(stage_text))
            if ev is None:
                cands = loose.get(_loose_key(stage_text), set())
                ev = next(iter(cands)) if len(cands) == 1 else None
                if ev is None:
                    why = " (ambiguous without diacritics)" if len(cands) > 1 else ""
                    problems.append(
                        _problem(
                            row,
                            Col.EVENT,
                            "unknown_stage",
                            f"'{stage_text}' is not a stage or event{why}; use one of: {_accepted_stages()}",
                        )
                    )
                    ok = False
        # date
        raw_date = row.cells.get(Col.EVENT_DATE)
        date: dt.date | None = None
        if _cell_text(raw_date) is None:
            problems.append(_problem(row, Col.EVENT_DATE, "missing_date", "the date (Ngày) is empty; fill it in"))
            ok = False
        else:
            d = _parse_date(raw_date, m.date_formats)
            if isinstance(d, str):
                problems.append(_problem(row, Col.EVENT_DATE, "bad_date", d))
                ok = False
            elif d > today:
                problems.append(
                    _problem(
                        row,
                        Col.EVENT_DATE,
                        "future_date",
                        f"{d:%d/%m/%Y} is in the future (today is {today:%d/%m/%Y}); record events once they happen",
                    )
                )
                ok = False
            else:
                date = d
        corrects_text = c.get(Col.CORRECTS_EVENT_ID)
        if ev is not None and ev != Event.CORRECTION and corrects_text:
            problems.append(
                _problem(
                    row,
                    Col.CORRECTS_EVENT_ID,
                    "not_a_correction",
                    f"only a correction (Đính chính) names a corrected event, but the stage is '{stage_text}'; "
                    "empty the Đính chính sự kiện cell or set the stage to Đính chính",
                )
            )
            ok = False
        if ev == Event.CORRECTION:
            if not c.get(Col.NOTE):
                problems.append(
                    _problem(
                        row,
                        Col.NOTE,
                        "correction_without_reason",
                        "a correction must give its reason in Ghi chú (note)",
                    )
                )
                ok = False
            if not corrects_text:
                problems.append(
                    _problem(
                        row,
                        Col.CORRECTS_EVENT_ID,
                        "correction_without_target",
                        "a correction must name the event it corrects in Đính chính sự kiện: its event id "
                        "(kcn-gis clearance timeline PARCEL) or its stage, e.g. Bàn giao mặt bằng",
                    )
                )
                ok = False
        if ok and ev is not None and date is not None and pid:
            parsed.append(
                _Parsed(
                    src=row,
                    parcel_id=pid,
                    event=ev,
                    date=date,
                    reference=c.get(Col.REFERENCE),
                    note=c.get(Col.NOTE),
                    corrects_text=corrects_text,
                    order=order,
                )
            )

    existing = _existing_events(events)
    _resolve_corrections(parsed, existing, exact, loose, problems)
    new, dups = _dedupe(parsed, existing, problems)
    _check_sequences(new, existing, problems)
    recorded_at = (now.astimezone(dt.UTC).replace(tzinfo=None) if now.tzinfo else now).replace(microsecond=0)
    result = SheetImportResult(
        source=str(path),
        new_events=_new_frame(new, recorded_by=recorded_by, recorded_at=recorded_at),
        duplicates=pd.DataFrame(
            [
                {
                    "sheet": p.src.sheet,
                    "row": p.src.row,
                    Col.EVENT_ID: p.event_id,
                    Col.PARCEL_ID: p.parcel_id,
                    Col.EVENT: str(p.event),
                    Col.EVENT_DATE: pd.Timestamp(p.date),
                }
                for p in dups
            ],
            columns=["sheet", "row", Col.EVENT_ID, Col.PARCEL_ID, Col.EVENT, Col.EVENT_DATE],
        ),
        problems=[p for p in problems if p.severity != "error"],
    )
    return result, problems


@dataclass
class _Known:
    event_id: str
    parcel_id: str
    event: str
    date: dt.date
    note: str | None
    corrects: str | None
    new: _Parsed | None = None


def _existing_events(events: pd.DataFrame) -> dict[str, _Known]:
    if events is None or len(events) == 0:
        return {}
    ids = events[Col.EVENT_ID].astype(object).to_numpy()
    pids = events[Col.PARCEL_ID].astype(object).to_numpy()
    kinds = events[Col.EVENT].astype(object).to_numpy()
    dates = pd.to_datetime(events[Col.EVENT_DATE]).dt.date.to_numpy()
    notes = events[Col.NOTE].astype(object).to_numpy() if Col.NOTE in events else [None] * len(events)
    corr = (
        events[Col.CORRECTS_EVENT_ID].astype(object).to_numpy()
        if Col.CORRECTS_EVENT_ID in events
        else [None] * len(events)
    )

    def clean(v: Any) -> str | None:
        return None if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)

    return {
        str(i): _Known(str(i), str(p), str(k), d, clean(n), clean(c))
        for i, p, k, d, n, c in zip(ids, pids, kinds, dates, notes, corr, strict=True)
    }


def _resolve_corrections(
    parsed: list[_Parsed],
    existing: dict[str, _Known],
    exact: dict[str, Event],
    loose: dict[str, set[Event]],
    problems: list[Problem],
) -> None:
    """Give each row its event id; turn each correction's target (id or stage name) into an event id."""
    for p in parsed:
        if p.event != Event.CORRECTION:
            p.event_id = event_id_for(p.parcel_id, p.event, p.date, p.reference)
    new_by_id = {p.event_id: p for p in parsed if p.event != Event.CORRECTION}
    already = {k.corrects for k in existing.values() if k.event == Event.CORRECTION and k.corrects}
    bad: list[_Parsed] = []
    taken: dict[str, _Parsed] = {}
    for p in parsed:
        if p.event != Event.CORRECTION:
            continue
        text = p.corrects_text or ""
        target: str | None = None
        if text in existing or text in new_by_id:
            target = text
            tgt_parcel = existing[text].parcel_id if text in existing else new_by_id[text].parcel_id
            tgt_kind = existing[text].event if text in existing else str(new_by_id[text].event)
            if tgt_parcel != p.parcel_id:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "correction_target_mismatch",
                        f"event '{text}' belongs to parcel {tgt_parcel}, not {p.parcel_id}",
                    )
                )
                bad.append(p)
                continue
            if text in already:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "already_corrected",
                        f"event '{text}' has already been corrected; see kcn-gis clearance timeline {p.parcel_id}",
                    )
                )
                bad.append(p)
                continue
            if tgt_kind == Event.CORRECTION:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "correction_of_correction",
                        f"event '{text}' is itself a correction; record the right event again instead",
                    )
                )
                bad.append(p)
                continue
        else:
            stage = exact.get(_exact_key(text))
            if stage is None:
                c = loose.get(_loose_key(text), set())
                stage = next(iter(c)) if len(c) == 1 else None
            if stage is None or stage == Event.CORRECTION:
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "unknown_correction_target",
                        f"'{text}' is neither an event id of this parcel nor a stage; see its events with "
                        f"kcn-gis clearance timeline {p.parcel_id}",
                    )
                )
                bad.append(p)
                continue
            cands = [
                k.event_id
                for k in existing.values()
                if k.parcel_id == p.parcel_id and k.event == stage and k.event_id not in already and k.date <= p.date
            ]
            cands += [
                q.event_id
                for q in parsed
                if q.parcel_id == p.parcel_id and q.event == stage and q.event_id not in existing and q.date <= p.date
            ]
            cands = list(dict.fromkeys(cands))
            if len(cands) != 1:
                what = "no" if not cands else f"{len(cands)}"
                problems.append(
                    _problem(
                        p.src,
                        Col.CORRECTS_EVENT_ID,
                        "unknown_correction_target" if not cands else "ambiguous_correction_target",
                        f"parcel {p.parcel_id} has {what} uncorrected '{stage}' event(s) dated on or before {p.date:%d/%m/%Y}"
                        + (f" ({', '.join(cands)}); write the event id instead" if cands else ""),
                    )
                )
                bad.append(p)
                continue
            target = cands[0]
        prev = taken.get(str(target))
        if prev is not None and (prev.date, prev.reference) != (p.date, p.reference):
            problems.append(
                _problem(
                    p.src,
                    Col.CORRECTS_EVENT_ID,
                    "already_corrected",
                    f"event '{target}' is already corrected in row {prev.src.row}; keep one correction",
                )
            )
            bad.append(p)
            continue
        taken.setdefault(str(target), p)
        p.corrects = target
        p.event_id = event_id_for(p.parcel_id, p.event, p.date, p.reference, target)
    for p in bad:
        parsed.remove(p)


def _dedupe(
    parsed: list[_Parsed], existing: dict[str, _Known], problems: list[Problem]
) -> tuple[list[_Parsed], list[_Parsed]]:
    seen: dict[str, _Parsed] = {}
    new: list[_Parsed] = []
    dups: list[_Parsed] = []
    for p in parsed:
        if p.event_id in seen:
            first = seen[p.event_id].src
            where = f"sheet '{first.sheet}' row {first.row}" if first.sheet else f"row {first.row}"
            problems.append(
                _problem(
                    p.src,
                    None,
                    "duplicate_row",
                    f"the same event as {where} (parcel {p.parcel_id}, {p.event}, {p.date:%d/%m/%Y}, "
                    f"reference {p.reference or '-'}); delete one of the two rows",
                )
            )
            continue
        seen[p.event_id] = p
        if p.event_id in existing:
            dups.append(p)
            old = existing[p.event_id].note
            if (old or None) != (p.note or None):
                problems.append(
                    _problem(
                        p.src,
                        Col.NOTE,
                        "note_not_updated",
                        f"event {p.event_id} is already recorded with the note '{old or ''}'; events are never "
                        "edited, so the new note was not stored. Record a correction to change it.",
                        severity="warning",
                    )
                )
        else:
            new.append(p)
    return new, dups


def _check_sequences(new: list[_Parsed], existing: dict[str, _Known], problems: list[Problem]) -> None:
    """Skipped stages without a note, regressions that are not corrections, stages recorded twice."""
    touched = {p.parcel_id for p in new}
    if not touched:
        return
    known: dict[str, list[_Known]] = {pid: [] for pid in touched}
    for k in existing.values():
        if k.parcel_id in known:
            known[k.parcel_id].append(k)
    for p in new:
        known[p.parcel_id].append(_Known(p.event_id, p.parcel_id, str(p.event), p.date, p.note, p.corrects, new=p))
    for _pid, evs in known.items():
        voided = {k.corrects for k in evs if k.event == Event.CORRECTION and k.corrects}
        stages = [k for k in evs if k.event in STAGE_RANK and k.event_id not in voided]

        def earlier(a: _Known, b: _Known) -> bool:
            """Is ``b`` reported against before ``a`` (existing events and earlier rows come first)."""
            if b.new is None:
                return True
            return a.new is not None and b.new.order < a.new.order

        for k in stages:
            if k.new is None:
                continue
            r = STAGE_RANK[k.event]
            label = stage_label(k.event)
            for f in stages:
                if f is k or not earlier(k, f):
                    continue
                rf = STAGE_RANK[f.event]
                src = "in the atlas" if f.new is None else f"in row {f.new.src.row}"
                if rf == r:
                    problems.append(
                        _problem(
                            k.new.src,
                            Col.EVENT,
                            "stage_repeated",
                            f"parcel {k.parcel_id} already reached '{label}' on {f.date:%d/%m/%Y} "
                            f"({src}, event {f.event_id}); if that was wrong, record a correction of it first",
                        )
                    )
                elif (f.date < k.date and rf > r) or (f.date > k.date and rf < r):
                    problems.append(
                        _problem(
                            k.new.src,
                            Col.EVENT,
                            "regression",
                            f"'{label}' on {k.date:%d/%m/%Y} goes against the process order: parcel {k.parcel_id} "
                            f"has '{stage_label(f.event)}' on {f.date:%d/%m/%Y} ({src}, event {f.event_id}). "
                            "A parcel only goes back through a correction (Đính chính) of that event.",
                        )
                    )
            have = {STAGE_RANK[f.event] for f in stages}
            skipped = [str(s) for s, rank in STAGE_RANK.items() if rank < r and rank not in have]
            if skipped and not k.new.note:
                problems.append(
                    _problem(
                        k.new.src,
                        Col.EVENT,
                        "stage_skipped",
                        f"'{label}' skips {', '.join(stage_label(s) for s in skipped)} for parcel {k.parcel_id}; "
                        "record the missing stage(s), or explain in Ghi chú (note) why they were skipped",
                    )
                )


def _new_frame(new: list[_Parsed], *, recorded_by: str, recorded_at: dt.datetime) -> pd.DataFrame:
    cols = [c.name for c in spec(Layer.CLEARANCE_EVENTS).columns]
    rows = [
        {
            Col.EVENT_ID: p.event_id,
            Col.PARCEL_ID: p.parcel_id,
            Col.EVENT: str(p.event),
            Col.EVENT_DATE: pd.Timestamp(p.date),
            Col.REFERENCE: p.reference,
            Col.NOTE: p.note,
            Col.RECORDED_AT: pd.Timestamp(recorded_at),
            Col.RECORDED_BY: recorded_by,
            Col.CORRECTS_EVENT_ID: p.corrects,
            "sheet": p.src.sheet,
            "row": p.src.row,
        }
        for p in sorted(new, key=lambda q: (q.date, STAGE_RANK.get(str(q.event), 9), q.order))
    ]
    frame = pd.DataFrame(rows, columns=[*cols, "sheet", "row"])
    for c in (Col.EVENT_ID, Col.PARCEL_ID, Col.EVENT, Col.REFERENCE, Col.NOTE, Col.RECORDED_BY, Col.CORRECTS_EVENT_ID):
        frame[c] = frame[c].astype("str")
    frame[Col.EVENT_DATE] = pd.to_datetime(frame[Col.EVENT_DATE]).astype("datetime64[ms]")
    frame[Col.RECORDED_AT] = pd.to_datetime(frame[Col.RECORDED_AT]).astype("datetime64[ms]")
    frame["row"] = frame["row"].astype("Int64")
    frame["sheet"] = frame["sheet"].astype("str")
    return frame
