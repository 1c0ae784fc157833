"""The hashed (Arrow) shortcuts of the schema and orphan checks give the same rows as the plain definitions.

Each case is checked against the definition written out in Python over the values (``unicodedata``,
``collections.Counter``, set membership), on text with nulls, repeats and decomposed diacritics.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from kcn_gis.analytics.checks import _event_orphans, _unknown
from kcn_gis.schema import ATLAS_LAYERS, Col, Layer
from kcn_gis.validation import _duplicated, _not_nfc, check_layer

NFD = unicodedata.normalize("NFD", "Hội đồng BT, HT, TĐC Lương Tài")
NFC = unicodedata.normalize("NFC", NFD)


def not_nfc_by_hand(values: list) -> np.ndarray:
    return np.array([isinstance(v, str) and unicodedata.normalize("NFC", v) != v for v in values])


def duplicated_by_hand(values: list) -> np.ndarray:
    counts = Counter(v for v in values if v is not None)
    return np.array([v is not None and counts[v] > 1 for v in values])


@pytest.mark.parametrize("dtype", ["str", object])
def test_not_nfc_with_repeated_values_uses_the_distinct_values(dtype):
    values = [NFC, NFD, None, "ascii", NFD, NFC, "Xã Phương Liễu"] * 40 + [unicodedata.normalize("NFD", "Lý Thị Long")]
    s = pd.Series(values, dtype=dtype)
    expected = not_nfc_by_hand(values)
    assert expected.sum() == 81
    assert (_not_nfc(s) == expected).all()


def test_not_nfc_with_distinct_values():
    values = [unicodedata.normalize("NFD" if k % 3 == 0 else "NFC", f"Hộ Nguyễn Văn {k} Đức") for k in range(300)]
    values[5] = None
    s = pd.Series(values, dtype="str")
    expected = not_nfc_by_hand(values)
    assert expected.sum() == 100
    assert (_not_nfc(s) == expected).all()


@pytest.mark.parametrize("dtype", ["str", object])
def test_not_nfc_when_few_values_are_not_ascii(dtype):
    """Mostly ASCII ids with a few Vietnamese values: only those few are taken and normalised."""
    values: list = [f"EV-{k:06d}" for k in range(400)]
    values[7], values[100], values[222] = NFD, NFC, unicodedata.normalize("NFD", "Bàn giao")
    values[300] = None
    s = pd.Series(values, dtype=dtype)
    expected = not_nfc_by_hand(values)
    assert expected.tolist().count(True) == 2
    assert (_not_nfc(s) == expected).all()


@pytest.mark.parametrize(
    "values",
    [
        [f"E{k}" for k in range(1000)],  # unique: the hashed count settles it
        [f"E{k}" for k in range(1000)] + [None, None],  # nulls are not duplicates
        [f"E{k}" for k in range(1000)] + ["E17", None, "E999"],
        ["a", "b", "a", None, "c", "b"],
    ],
)
@pytest.mark.parametrize("dtype", ["str", object])
def test_duplicated_matches_counting(values, dtype):
    s = pd.Series(values, dtype=dtype)
    assert (_duplicated(s, s.isna().to_numpy()) == duplicated_by_hand(values)).all()


def test_duplicated_integers_and_mixed_objects():
    s = pd.Series([1, 2, 3, None, 2], dtype="Int64")
    assert _duplicated(s, s.isna().to_numpy()).tolist() == [False, True, False, False, True]
    mixed = pd.Series(["1", 1, "x", 1.0], dtype=object)  # no Arrow type: the pandas path (1 == 1.0)
    assert _duplicated(mixed, mixed.isna().to_numpy()).tolist() == [False, True, False, True]


def test_duplicate_event_ids_are_reported_on_every_row():
    spec = ATLAS_LAYERS[Layer.CLEARANCE_EVENTS]
    n = 500
    ev = pd.DataFrame(
        {
            Col.EVENT_ID: pd.Series([f"E{k}" for k in range(n)], dtype="str"),
            Col.PARCEL_ID: pd.Series(["P1"] * n, dtype="str"),
            Col.EVENT: pd.Series(["notified"] * n, dtype="str"),
            Col.EVENT_DATE: pd.Timestamp("2020-01-01"),
        }
    )
    ev.loc[[10, 400], Col.EVENT_ID] = "E7"
    found = [p for p in check_layer(spec, ev, checks=("values",)) if p.check == "duplicate_id"]
    assert sorted(p.row for p in found) == [8, 11, 401]


@pytest.mark.parametrize("dtype", ["str", object])
def test_unknown_ids_match_set_membership(dtype):
    known = pd.Series(["P1", "P2", None, "P3"], dtype=dtype)
    values = ["P1", "X", None, "P3", "p1", "P2 ", "X"]
    got = _unknown(pd.Series(values, dtype=dtype), known)
    assert got.tolist() == [k for k, v in enumerate(values) if v is not None and v not in {"P1", "P2", "P3"}]


def test_unknown_ids_of_other_types_take_the_pandas_path():
    got = _unknown(pd.Series([1, 2, None, 5], dtype="Int64"), pd.Series(["1", "2"], dtype="str"))
    assert got.tolist() == [0, 1, 3]  # 1 is not "1", as with pandas isin


def test_orphan_events_name_event_and_parcel():
    parcels = pd.DataFrame({Col.PARCEL_ID: pd.Series(["P1", "P2"], dtype="str")})
    events = pd.DataFrame(
        {
            Col.EVENT_ID: pd.Series(["E1", "E2", "E3", None], dtype="str"),
            Col.PARCEL_ID: pd.Series(["P1", "GONE", None, "P9"], dtype="str"),
        }
    )
    found = _event_orphans(events, parcels)
    assert [(p.row, p.ids) for p in found] == [
        (2, ("event_id 'E2'", "parcel_id 'GONE'")),
        (4, ("event_id 'nan'", "parcel_id 'P9'")),
    ]


def test_columns_checked_two_at_a_time_give_the_same_problems_in_the_same_order(monkeypatch):
    """Large layers have their columns checked in two threads: same problems, same order, as one at a time."""
    from kcn_gis import validation

    spec = ATLAS_LAYERS[Layer.CLEARANCE_EVENTS]
    n = 400
    ev = pd.DataFrame(
        {
            Col.EVENT_ID: pd.Series([f"E{k}" for k in range(n)], dtype="str"),
            Col.PARCEL_ID: pd.Series([f"P{k % 37}" for k in range(n)], dtype="str"),
            Col.EVENT: pd.Series(["notified", "surveyed"] * (n // 2), dtype="str"),
            Col.EVENT_DATE: pd.Timestamp("2020-01-01"),
            Col.NOTE: pd.Series(["ghi chú"] * n, dtype="str"),
        }
    )
    ev.loc[[3, 300], Col.EVENT_ID] = "E9"  # duplicate ids
    ev.loc[[5, 6], Col.EVENT] = "teleported"  # not in the vocabulary
    ev.loc[[7], Col.PARCEL_ID] = None  # required
    ev.loc[[11, 12], Col.NOTE] = "Ba\u0301c Ninh"  # decomposed: not NFC
    monkeypatch.setattr(validation, "_THREADED_COLUMNS", 10**9)
    one = [(p.check, p.field, p.row, p.message) for p in check_layer(spec, ev, checks=("values",))]
    monkeypatch.setattr(validation, "_THREADED_COLUMNS", 1)
    two = [(p.check, p.field, p.row, p.message) for p in check_layer(spec, ev, checks=("values",))]
    assert two == one
    assert {c for c, *_ in one} >= {"duplicate_id", "unknown_value", "null_value", "not_nfc"}
    assert [r for c, _, r, _ in one if c == "duplicate_id"] == [4, 10, 301]
