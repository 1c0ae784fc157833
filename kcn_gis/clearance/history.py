"""The stage of each parcel on a date, derived from its append-only event history.

Rules (see ``docs/clearance.md``):

* A parcel's stage on a date *d* is the furthest stage among its stage events
  dated on or before *d* that have not been corrected by *d*. It is never stored.
* A ``correction`` event names the event it corrects (``corrects_event_id``)
  and gives the reason (``note``). From the correction's date on, the corrected
  event no longer counts; this is the only way a parcel goes backwards.
* Events are never edited or deleted; a correction is a new event.
* A parcel has an open complaint on *d* when its latest ``complaint`` /
  ``complaint_resolved`` event up to *d* (not corrected) is a complaint.

Every function here is pure: it takes the ``clearance_events`` table (and the
``parcels`` layer) and returns DataFrames, vectorised with pandas so that a
million parcels and a few million events are fine.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kcn_gis import compiled
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import ClearanceError
from kcn_gis.schema import EVENT_LABELS, STAGES, Col, Event

__all__ = [
    "NOT_STARTED",
    "STAGE_RANK",
    "STATE_COLUMNS",
    "clearance_changes",
    "events_since",
    "parcel_stages",
    "parcel_timeline",
    "stage_label",
]

log = logging.getLogger(__name__)

#: Pseudo-stage of a parcel without any stage event yet (used in tables and JSON, never stored).
NOT_STARTED = "not_started"

#: Position of each stage in the process (1 = notified ... 5 = handed_over); side events have none.
STAGE_RANK: dict[str, int] = {str(s): i + 1 for i, s in enumerate(STAGES)}

_STAGE_BY_RANK = np.array([None, *[str(s) for s in STAGES]], dtype=object)
_NOT_STARTED_LABELS = ("Chưa bắt đầu", "Not started")
#: far-future sentinel used for "never corrected"
_FOREVER = pd.Timestamp("9999-12-31")


def stage_label(stage: object, lang: str = "vi") -> str:
    """Return the Vietnamese (``"vi"``) or English (``"en"``) label of a stage or event.

    ``None``/NA and ``"not_started"`` give the label of a parcel not started yet.
    """
    if stage is None or (not isinstance(stage, str) and pd.isna(stage)) or stage == NOT_STARTED:
        return _NOT_STARTED_LABELS[0 if lang == "vi" else 1]
    vi, en = EVENT_LABELS[Event(str(stage))]
    return vi if lang == "vi" else en


_EVENTS: tuple[str, ...] = tuple(str(e) for e in Event)
_KIND = {e: i for i, e in enumerate(_EVENTS)}
_RANK_BY_KIND = np.array([STAGE_RANK.get(e, 0) for e in _EVENTS], dtype="int8")
_NAT = np.iinfo(np.int64).min  # numpy's NaT as int64


#: The event columns a parcel's stage is derived from: a reader that only needs the stages (the
#: Dask engine's progress) reads these and not ``reference``, ``note``, ``recorded_by`` or
#: ``recorded_at`` (the recording time never changes a stage, a date or whether a complaint is
#: open: see :func:`_state_arrays`).
STATE_COLUMNS: tuple[str, ...] = (
    str(Col.EVENT_ID),
    str(Col.PARCEL_ID),
    str(Col.EVENT),
    str(Col.EVENT_DATE),
    str(Col.CORRECTS_EVENT_ID),
)


def _prepare(events: pd.DataFrame) -> pd.DataFrame:
    """Return a compact working copy of the events without converting text to Python objects.

    Columns: ``event_id``, ``parcel_id``, ``corrects`` (as given), ``kind`` (int8 code into
    ``_EVENTS``), ``rank`` (int8, 0 for side events), ``date`` and ``recorded_at`` (int64 ms, NaT as
    ``_NAT``). The index is the events' index.

    Raises
    ------
    ClearanceError
        If a required column is missing, an event is not in the vocabulary or a date is empty.
    """
    need = [Col.EVENT_ID, Col.PARCEL_ID, Col.EVENT, Col.EVENT_DATE]
    missing = [str(c) for c in need if c not in events.columns]
    if missing:
        raise ClearanceError(
            f"clearance events lack column(s) {', '.join(missing)}; pass the atlas layer "
            "'clearance_events' (atlas.clearance_events)"
        )
    n = len(events)
    arrow_events = _arrow_strings(events[Col.EVENT])
    if arrow_events is not None:  # Arrow-backed text (the store's frames): one hash lookup, no factorize
        vocab = pa.array(_EVENTS, type=arrow_events.type)
        kind = np.asarray(pc.index_in(arrow_events, value_set=vocab).fill_null(-1), dtype=np.int64)
    elif isinstance(events[Col.EVENT].dtype, pd.CategoricalDtype):  # read from dictionary pages: codes already
        cat = events[Col.EVENT].array
        lut = np.array([_KIND.get(str(u), -1) for u in cat.categories] + [-1], dtype=np.int64)
        kind = lut[np.asarray(cat.codes, dtype=np.int64)]  # code -1 (missing) takes the last slot
    else:
        codes, uniques = pd.factorize(events[Col.EVENT])
        lut = np.array([_KIND.get(str(u), -1) for u in uniques] + [-1], dtype=np.int64)  # last slot: missing (-1)
        kind = lut[codes]
    bad = kind < 0
    if bad.any():
        pos = int(np.flatnonzero(bad)[0])
        raise ClearanceError(
            f"clearance_events row {pos + 1}: event '{events[Col.EVENT].iloc[pos]}' is not one of "
            f"{', '.join(_EVENTS)} ({int(bad.sum())} such row(s)); fix the atlas with kcn-gis validate"
        )
    date = _as_ms(events[Col.EVENT_DATE])
    if np.isnat(date).any():
        pos = int(np.flatnonzero(np.isnat(date))[0])
        raise ClearanceError(f"clearance_events row {pos + 1}: event_date is empty; every event needs a date")
    if Col.CORRECTS_EVENT_ID in events.columns:
        corrects = events[Col.CORRECTS_EVENT_ID].array
    else:
        corrects = pd.array([None] * n, dtype="str")
    if Col.RECORDED_AT in events.columns:
        recorded = _as_ms(events[Col.RECORDED_AT]).view("int64")
    else:
        recorded = np.full(n, _NAT, dtype="int64")
    return pd.DataFrame(
        {
            "event_id": events[Col.EVENT_ID].array,
            "parcel_id": events[Col.PARCEL_ID].array,
            "corrects": corrects,
            "kind": kind.astype("int8"),
            "rank": _RANK_BY_KIND[kind],
            "date": date.view("int64"),
            "recorded_at": recorded,
        },
        index=events.index,
        copy=False,
    )


def _as_ms(values: pd.Series) -> np.ndarray:
    """Dates as ``datetime64[ms]`` (no copy when they already are, as in the store's frames)."""
    if values.dtype == np.dtype("datetime64[ms]"):
        return values.to_numpy()
    return pd.to_datetime(values).to_numpy().astype("datetime64[ms]")


def _arrow_strings(values: pd.Series | pd.api.extensions.ExtensionArray) -> pa.Array | pa.ChunkedArray | None:
    """The Arrow string array behind a pandas text column, or None when it is not Arrow-backed text.

    Frames read by the store hold text as Arrow-backed pandas strings; with them the lookups below
    are single pyarrow hash passes. Other frames (object dtype, numbers) take the pandas path.
    """
    arr = values.array if isinstance(values, pd.Series) else values
    if not isinstance(arr, pd.arrays.ArrowExtensionArray):
        return None
    out = arr.__arrow_array__()
    if not (pa.types.is_string(out.type) or pa.types.is_large_string(out.type)):
        return None
    return out


def _ms(ts: pd.Timestamp) -> int:
    return int(np.datetime64(ts, "ms").astype("int64"))


def _voided(ev: pd.DataFrame, as_of: pd.Timestamp) -> np.ndarray:
    """Boolean mask: events corrected by a correction dated on or before ``as_of``."""
    is_corr = (ev["kind"].to_numpy() == _KIND[Event.CORRECTION]) & (ev["date"].to_numpy() <= _ms(as_of))
    if not is_corr.any():
        return np.zeros(len(ev), dtype=bool)
    targets = pd.Series(ev["corrects"].array[is_corr]).dropna().unique()
    if len(targets) == 0:
        return np.zeros(len(ev), dtype=bool)
    ids = _arrow_strings(ev["event_id"].array)
    if ids is not None and all(isinstance(t, str) for t in targets):
        found = pc.is_in(ids, value_set=pa.array(list(targets), type=ids.type))
        return np.asarray(found.fill_null(False), dtype=bool)
    return pd.Series(ev["event_id"].array).isin(list(targets)).to_numpy()


def _positions(ev: pd.DataFrame, parcels: pd.DataFrame) -> np.ndarray:
    """Position in ``parcels`` of each event's parcel (-1 when the parcel is not in ``parcels``)."""
    ev_ids = _arrow_strings(ev["parcel_id"].array)
    parcel_ids = _arrow_strings(parcels[Col.PARCEL_ID].array)
    if ev_ids is not None and parcel_ids is not None:
        # exact string equality, first parcel wins, missing ids never match: as the factorize below
        if parcel_ids.type != ev_ids.type:
            parcel_ids = parcel_ids.cast(ev_ids.type)
        found = pc.index_in(ev_ids, value_set=parcel_ids, skip_nulls=True)
        return np.asarray(found.fill_null(-1), dtype=np.int64)
    ids = pd.Series(parcels[Col.PARCEL_ID].array)
    both = pd.concat([pd.Series(ev["parcel_id"].array), ids], ignore_index=True)
    if both.dtype == object:
        both = both.astype("str")
    codes, uniques = pd.factorize(both)
    ne = len(ev)
    pos_of_code = np.full(len(uniques) + 1, -1, dtype=np.int64)  # the extra slot serves code -1 (missing)
    pcodes = codes[ne:]
    ok = pcodes >= 0
    pos_of_code[pcodes[ok][::-1]] = np.arange(len(ids), dtype=np.int64)[ok][::-1]  # first parcel wins
    return pos_of_code[codes[:ne]]


#: From this many events the state is derived by the compiled pass when numba is loaded already, and
#: from the second number it is loaded for them (importing and readying numba costs 0.5-0.8 s of CPU in a
#: fresh process; the numpy path about 35 ns an event).
COMPILED_STATE_FROM = 20_000
COMPILED_STATE_LOAD_FROM = 20_000_000


def _use_compiled_state(n: int) -> bool:
    """Whether the stages (and sums) of ``n`` events (parcels) take the compiled pass (:mod:`kcn_gis.compiled`)."""
    if not compiled.wanted(n, use_from=COMPILED_STATE_FROM, load_from=COMPILED_STATE_LOAD_FROM):
        return False
    try:
        import kcn_gis.clearance._state_numba  # noqa: F401
    except ImportError:
        return False
    return True


def _state_arrays(ev: pd.DataFrame, pos: np.ndarray, n: int, as_of: pd.Timestamp) -> dict[str, np.ndarray]:
    """Per parcel position (0..n-1): max_rank, last_progress, last_event (int64 ms, NaT) and open_complaint.

    A complaint is open when, on the latest date with a complaint or a resolution in force, there is
    no resolution (on one day a resolution counts after the complaint). Which of two events of the
    same kind on that day was recorded later does not change the answer, so ``recorded_at`` is not read.
    """
    if _use_compiled_state(len(ev)):
        from kcn_gis.clearance._state_numba import state_arrays

        return state_arrays(
            pos,
            ev["date"].to_numpy(),
            ev["kind"].to_numpy(),
            ev["rank"].to_numpy(),
            _voided(ev, as_of),
            n,
            _ms(as_of),
            _KIND[Event.COMPLAINT],
            _KIND[Event.COMPLAINT_RESOLVED],
        )
    date = ev["date"].to_numpy()
    kind = ev["kind"].to_numpy()
    rank = ev["rank"].to_numpy()
    known = (pos >= 0) & (date <= _ms(as_of))
    in_force = known & ~_voided(ev, as_of)
    last_event = np.full(n, _NAT, dtype=np.int64)
    np.maximum.at(last_event, pos[known], date[known])
    st = in_force & (rank > 0)
    max_rank = np.zeros(n, dtype=np.int8)
    np.maximum.at(max_rank, pos[st], rank[st])
    last_progress = np.full(n, _NAT, dtype=np.int64)
    np.maximum.at(last_progress, pos[st], date[st])
    cm = in_force & ((kind == _KIND[Event.COMPLAINT]) | (kind == _KIND[Event.COMPLAINT_RESOLVED]))
    open_complaint = np.zeros(n, dtype=bool)
    if cm.any():
        p, d = pos[cm], date[cm]
        resolved = (kind[cm] == _KIND[Event.COMPLAINT_RESOLVED]).astype(np.int8)
        order = np.lexsort((resolved, d, p))  # the last per parcel: latest date, a resolution after a complaint
        ps, rs = p[order], resolved[order]
        last = np.r_[ps[1:] != ps[:-1], True]
        open_complaint[ps[last]] = rs[last] == 0
    return {
        "max_rank": max_rank,
        "last_progress": last_progress,
        "last_event": last_event,
        "open_complaint": open_complaint,
    }


def _parcel_state(events: pd.DataFrame, parcels: pd.DataFrame, *, as_of: DateLike | None) -> dict[str, np.ndarray]:
    """:func:`_state_arrays` for every parcel position (``max_rank`` 0 = not started), checks included."""
    if Col.PARCEL_ID not in parcels.columns:
        raise ClearanceError("parcels lack the column 'parcel_id'; pass the atlas layer 'parcels' (atlas.parcels)")
    asof = as_of_date(as_of)
    ev = _prepare(events)
    return _state_arrays(ev, _positions(ev, parcels), len(parcels), asof)


def parcel_stages(events: pd.DataFrame, parcels: pd.DataFrame, *, as_of: DateLike | None = None) -> pd.DataFrame:
    """Return the clearance stage of every parcel on a date, derived from the events.

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table (``event_id``, ``parcel_id``, ``event``,
        ``event_date`` and, for corrections, ``corrects_event_id``).
    parcels : DataFrame or GeoDataFrame
        The ``parcels`` layer (only ``parcel_id`` is used; geometry and CRS are not needed).
    as_of : date-like, optional
        The date (inclusive). Default: today.

    Returns
    -------
    DataFrame
        Indexed like ``parcels``, with columns

        * ``parcel_id``;
        * ``stage`` - the furthest stage reached and not corrected (a value of
          :data:`kcn_gis.schema.STAGES`), NA when the parcel has not started;
        * ``open_complaint`` (bool);
        * ``last_event_date`` - date of the parcel's last event of any kind up to
          ``as_of`` (NaT when none);
        * ``last_progress_date`` - date of its last stage event still in force (NaT when none).

    Raises
    ------
    ClearanceError
        If the events lack a column or hold a value outside the vocabulary.

    Examples
    --------
    >>> import kcn_gis
    >>> from kcn_gis.clearance import parcel_stages
    >>> atlas = kcn_gis.open_atlas()
    >>> st = parcel_stages(atlas.clearance_events, atlas.parcels, as_of="2011-12-26")
    >>> list(st.columns)[:4]
    ['parcel_id', 'stage', 'open_complaint', 'last_event_date']
    """
    state = _parcel_state(events, parcels, as_of=as_of)
    return pd.DataFrame(
        {
            Col.PARCEL_ID: parcels[Col.PARCEL_ID].array,
            "stage": pd.array(_STAGE_BY_RANK[state["max_rank"]], dtype="str"),
            "open_complaint": state["open_complaint"],
            "last_event_date": state["last_event"].view("datetime64[ms]"),
            "last_progress_date": state["last_progress"].view("datetime64[ms]"),
        },
        index=parcels.index,
    )


def parcel_timeline(events: pd.DataFrame, parcel_id: str) -> pd.DataFrame:
    """Return the full, dated history of one parcel, oldest first.

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    parcel_id : str
        The parcel (``parcels.parcel_id``).

    Returns
    -------
    DataFrame
        The parcel's events (original index kept), ordered by date, stage order
        and ``recorded_at``, with the event columns plus

        * ``label`` - the Vietnamese label of the event;
        * ``corrected_by`` - id of the correction that cancels this event (NA if none);
        * ``stage_after`` - the parcel's stage at the end of that event's date
          (NA when not started).

        Empty when the parcel has no events.
    """
    sel = events[(events[Col.PARCEL_ID] == parcel_id).fillna(False).to_numpy(dtype=bool)]
    ev = _prepare(sel)
    order = np.lexsort((ev["recorded_at"].to_numpy(), ev["rank"].to_numpy(), ev["date"].to_numpy()))
    sel = sel.iloc[order]
    ev = ev.iloc[order]
    is_corr = ev["kind"].to_numpy() == _KIND[Event.CORRECTION]
    corrected_by = dict(zip(ev["corrects"].array[is_corr], ev["event_id"].array[is_corr], strict=True))
    out = sel.copy()
    out["label"] = pd.array([stage_label(_EVENTS[k]) for k in ev["kind"]], dtype="str")
    out["corrected_by"] = pd.array([corrected_by.get(i) for i in ev["event_id"]], dtype="str")
    pos = np.zeros(len(ev), dtype=np.int64)
    ranks = [
        int(_state_arrays(ev, pos, 1, pd.Timestamp(np.datetime64(int(d), "ms")))["max_rank"][0]) for d in ev["date"]
    ]
    out["stage_after"] = pd.array(_STAGE_BY_RANK[np.asarray(ranks, dtype=int)], dtype="str")
    return out


def events_since(events: pd.DataFrame, *, since: DateLike, as_of: DateLike | None = None) -> pd.DataFrame:
    """Return the events that are new since a previous review.

    An event is new when it is dated after ``since`` (and on or before ``as_of``),
    or when it was recorded after ``since`` (a late entry about an earlier date).

    Parameters
    ----------
    events : DataFrame
        The ``clearance_events`` table.
    since : date-like
        Date of the previous review (exclusive).
    as_of : date-like, optional
        End of the period (inclusive). Default: today.

    Returns
    -------
    DataFrame
        The selected rows of ``events`` (original index), ordered by date.
    """
    start, end = as_of_date(since, what="since"), as_of_date(as_of)
    date = pd.to_datetime(events[Col.EVENT_DATE])
    mask = (date > start) & (date <= end)
    if Col.RECORDED_AT in events.columns:
        rec = pd.to_datetime(events[Col.RECORDED_AT])
        mask |= (rec >= start + pd.Timedelta(days=1)) & (date <= end)
    return events[mask.to_numpy()].sort_values(Col.EVENT_DATE, kind="stable")


def clearance_changes(
    events: pd.DataFrame, parcels: pd.DataFrame, *, since: DateLike, as_of: DateLike | None = None
) -> pd.DataFrame:
    """Return the parcels whose stage or complaint status changed between two dates.

    Parameters
    ----------
    events, parcels : DataFrame
        The ``clearance_events`` table and the ``parcels`` layer.
    since : date-like
        Date of the previous review.
    as_of : date-like, optional
        Date of this review. Default: today.

    Returns
    -------
    DataFrame
        Indexed like ``parcels`` (only changed parcels), with ``parcel_id``,
        ``stage_before``, ``stage_after``, ``complaint_before``, ``complaint_after``.
    """
    before = parcel_stages(events, parcels, as_of=since)
    after = parcel_stages(events, parcels, as_of=as_of)
    sb, sa = before["stage"].fillna(NOT_STARTED), after["stage"].fillna(NOT_STARTED)
    changed = (sb != sa) | (before["open_complaint"] != after["open_complaint"])
    return pd.DataFrame(
        {
            Col.PARCEL_ID: after[Col.PARCEL_ID],
            "stage_before": before["stage"],
            "stage_after": after["stage"],
            "complaint_before": before["open_complaint"],
            "complaint_after": after["open_complaint"],
        }
    )[changed.to_numpy()]


def _reached_blocks(events: pd.DataFrame, parcels: pd.DataFrame, *, min_rank: int) -> pd.DataFrame:
    """Periods during which each parcel had reached at least stage ``min_rank``.

    Each stage event of rank >= ``min_rank`` counts from its date until the date
    of the first correction that cancels it (forever when none). Overlapping
    periods of one parcel are merged. Returns ``pos`` (position in ``parcels``;
    events of other parcels are dropped), ``start`` and ``end`` (datetime64[ms];
    ``end`` is exclusive, ``_FOREVER`` when open).
    """
    ev = _prepare(events)
    pos = _positions(ev, parcels)
    date = ev["date"].to_numpy()
    is_corr = ev["kind"].to_numpy() == _KIND[Event.CORRECTION]
    sel = (ev["rank"].to_numpy() >= min_rank) & (pos >= 0)
    end = np.full(int(sel.sum()), _ms(_FOREVER), dtype=np.int64)
    if is_corr.any():
        corr = pd.DataFrame({"t": ev["corrects"].array[is_corr], "d": date[is_corr]}).dropna()
        void_date = corr.groupby("t")["d"].min()
        hit = void_date.reindex(pd.Index(ev["event_id"].array[sel])).to_numpy()
        end = np.where(pd.isna(hit), end, np.nan_to_num(hit, nan=0).astype(np.int64))
    s = pd.DataFrame({"pos": pos[sel], "start": date[sel], "end": end})
    s = s[(s["end"] > s["start"]).to_numpy()]
    if s.empty:
        return pd.DataFrame(
            {
                "pos": np.array([], dtype=np.int64),
                "start": np.array([], "datetime64[ms]"),
                "end": np.array([], "datetime64[ms]"),
            }
        )
    order = np.lexsort((s["start"].to_numpy(), s["pos"].to_numpy()))
    s = s.iloc[order].reset_index(drop=True)
    run_end = s.groupby("pos", sort=False)["end"].cummax()
    prev_end = run_end.groupby(s["pos"], sort=False).shift()
    new_block = prev_end.isna().to_numpy() | (s["start"] > prev_end).to_numpy()
    block = np.cumsum(new_block)
    out = s.groupby(block, sort=False).agg(pos=("pos", "first"), start=("start", "min"), end=("end", "max"))
    out = out.reset_index(drop=True)
    out["start"] = out["start"].to_numpy().astype("datetime64[ms]")
    out["end"] = out["end"].to_numpy().astype("datetime64[ms]")
    return out
