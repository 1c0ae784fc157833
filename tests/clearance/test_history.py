"""Stage derivation on a date, corrections, complaints and timelines (kcn_gis.clearance.history)."""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis.clearance import (
    NOT_STARTED,
    clearance_changes,
    events_since,
    parcel_stages,
    parcel_timeline,
    stage_label,
)
from kcn_gis.errors import ClearanceError


def _stage(stages: pd.DataFrame, pid: str) -> object:
    value = stages.loc[stages["parcel_id"] == pid, "stage"].iloc[0]
    return None if pd.isna(value) else value


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2011-01-09", None),  # before the first event
        ("2011-01-10", "notified"),  # on the day of the event (inclusive)
        ("2011-02-14", "notified"),  # between events
        ("2011-02-15", "inventoried"),
        ("2011-05-31", "compensated"),
        ("2011-06-01", "handed_over"),
        ("2012-06-01", "handed_over"),  # after the last event
    ],
)
def test_stage_before_between_and_after_events(events, parcels, as_of, expected):
    assert _stage(parcel_stages(events, parcels, as_of=as_of), "S1-1-1") == expected


@pytest.mark.parametrize(
    ("as_of", "expected"),
    [
        ("2011-06-30", "compensated"),
        ("2011-07-01", "handed_over"),  # handed over (by mistake)
        ("2011-07-31", "handed_over"),
        ("2011-08-01", "compensated"),  # the correction takes effect on its own date: the only way back
        ("2011-09-30", "compensated"),
        ("2011-10-01", "handed_over"),  # handed over again, for real
    ],
)
def test_correction_is_the_only_way_back(events, parcels, as_of, expected):
    assert _stage(parcel_stages(events, parcels, as_of=as_of), "S1-2-1") == expected


def test_result_is_indexed_like_parcels_and_typed(events, parcels):
    parcels = parcels.set_index(pd.Index([10, 20, 30, 40, 50]))
    st = parcel_stages(events, parcels, as_of="2011-12-26")
    assert list(st.index) == [10, 20, 30, 40, 50]
    assert list(st.columns[:4]) == ["parcel_id", "stage", "open_complaint", "last_event_date"]
    assert st["stage"].isna().tolist() == [False, False, False, True, False]
    assert st["open_complaint"].dtype == bool
    assert st.loc[40, "last_event_date"] is pd.NaT
    assert st.loc[20, "last_event_date"] == pd.Timestamp("2011-03-01")  # a complaint is an event
    assert st.loc[20, "last_progress_date"] == pd.Timestamp("2011-02-15")  # ... but not progress


@pytest.mark.parametrize(
    ("pid", "as_of", "open_"),
    [
        ("S1-1-2", "2011-02-28", False),
        ("S1-1-2", "2011-03-01", True),
        ("N1-1-1", "2010-07-01", True),
        ("N1-1-1", "2010-08-31", True),
        ("N1-1-1", "2010-09-01", False),  # resolved
    ],
)
def test_open_complaint_on_a_date(events, parcels, pid, as_of, open_):
    st = parcel_stages(events, parcels, as_of=as_of)
    assert bool(st.loc[st["parcel_id"] == pid, "open_complaint"].iloc[0]) is open_


def test_stage_is_furthest_not_last_recorded(parcels, events):
    """Events recorded out of order (a late entry about an earlier stage) do not move a parcel back."""
    late = events.iloc[[0]].copy()
    late["event_id"] = "late"
    late["parcel_id"] = "S1-1-1"
    late["event"] = "inventoried"
    late["event_date"] = pd.Timestamp("2011-12-01")
    st = parcel_stages(pd.concat([events, late], ignore_index=True), parcels, as_of="2011-12-26")
    assert _stage(st, "S1-1-1") == "handed_over"


def test_events_of_unknown_parcels_are_ignored_and_bad_events_raise(events, parcels):
    other = events.iloc[[0]].assign(event_id="X", parcel_id="nowhere")
    st = parcel_stages(pd.concat([events, other]), parcels, as_of="2011-12-26")
    assert len(st) == len(parcels)
    bad = events.copy()
    bad.loc[3, "event"] = "paid"
    with pytest.raises(ClearanceError, match="row 4: event 'paid' is not one of"):
        parcel_stages(bad, parcels)
    with pytest.raises(ClearanceError, match="lack column"):
        parcel_stages(events.drop(columns=["event_date"]), parcels)


def test_empty_history(events, parcels):
    st = parcel_stages(events.iloc[:0], parcels, as_of="2011-12-26")
    assert st["stage"].isna().all()
    assert not st["open_complaint"].any()


def test_timeline_orders_and_marks_corrections(events):
    tl = parcel_timeline(events, "S1-2-1")
    assert tl["event_id"].tolist() == ["C1", "C2", "C3", "C4", "C5", "C6", "C7"]
    assert tl.set_index("event_id").loc["C5", "corrected_by"] == "C6"
    assert tl["stage_after"].tolist() == [
        "notified",
        "inventoried",
        "plan_approved",
        "compensated",
        "handed_over",
        "compensated",
        "handed_over",
    ]
    assert tl.set_index("event_id").loc["C6", "label"] == "Đính chính"
    assert parcel_timeline(events, "S1-2-2").empty


def test_changes_since_previous_review(events, parcels):
    ch = clearance_changes(events, parcels, since="2011-02-01", as_of="2011-03-15")
    got = {r.parcel_id: (r.stage_before, r.stage_after, r.complaint_after) for r in ch.itertuples()}
    assert got == {
        "S1-1-1": ("notified", "inventoried", False),
        "S1-1-2": ("notified", "inventoried", True),
        "S1-2-1": ("notified", "inventoried", False),
    }
    new = events_since(events, since="2011-05-31", as_of="2011-07-15")
    assert new["event_id"].tolist() == ["A5", "C5"]


def test_labels():
    assert stage_label("handed_over") == "Bàn giao mặt bằng"
    assert stage_label("handed_over", "en") == "Handed over"
    assert stage_label(None, "en") == stage_label(NOT_STARTED, "en") == "Not started"
