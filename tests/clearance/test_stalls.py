"""Stalled and disputed parcels, and the completion forecast (kcn_gis.clearance.stalls)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from kcn_gis.clearance import ForecastStatus, clearance_forecast, disputed_parcels, stalled_parcels


def _add(events: pd.DataFrame, *rows: tuple[str, str, str, str]) -> pd.DataFrame:
    extra = pd.DataFrame(
        [
            {
                "event_id": eid,
                "parcel_id": pid,
                "event": kind,
                "event_date": pd.Timestamp(day),
                "recorded_at": pd.Timestamp(day),
                "recorded_by": "test",
            }
            for eid, pid, kind, day in rows
        ]
    )
    return pd.concat([events, extra], ignore_index=True)


def test_stalled_parcels(events, parcels):
    st = stalled_parcels(events, parcels, as_of="2011-12-26")
    assert st["parcel_id"].tolist() == ["N1-1-1", "S1-1-2"]  # longest stalled first
    s = st.set_index("parcel_id")
    assert s.loc["S1-1-2", "stage"] == "inventoried"
    assert s.loc["S1-1-2", "days_without_progress"] == (pd.Timestamp("2011-12-26") - pd.Timestamp("2011-02-15")).days
    assert s.loc["S1-1-2", "last_event"] == "complaint"  # listed with the last event, which is not progress
    assert s.loc["S1-1-2", "last_event_reference"] == "KN-7"
    assert s.loc["N1-1-1", "last_event"] == "complaint_resolved"
    assert s.loc["S1-1-2", "area_ha"] == pytest.approx(2.0)
    assert list(st.index) == [4, 1]  # indexed like parcels


@pytest.mark.parametrize(
    ("as_of", "days", "expected"),
    [
        ("2011-12-26", 400, ["N1-1-1"]),
        ("2011-05-01", 60, ["N1-1-1", "S1-1-2"]),  # S1-1-2: 75 days; S1-1-1 (plan approved 01/04): 30 days
        ("2011-05-01", 75, ["N1-1-1", "S1-1-2"]),  # exactly 75 days counts
        ("2011-05-01", 76, ["N1-1-1"]),
        ("2010-05-01", 0, []),  # nothing started
    ],
)
def test_stall_threshold(events, parcels, as_of, days, expected):
    assert stalled_parcels(events, parcels, as_of=as_of, days=days)["parcel_id"].tolist() == expected


def test_disputed_parcels(events, parcels):
    d = disputed_parcels(events, parcels, as_of="2011-12-26")
    assert d["parcel_id"].tolist() == ["S1-1-2"]
    row = d.iloc[0]
    assert row["complaint_date"] == pd.Timestamp("2011-03-01")
    assert row["days_open"] == 300
    assert row["complaint_note"] == "<script>alert(1)</script>"
    assert pd.isna(row["enforcement_date"])
    assert disputed_parcels(events, parcels, as_of="2010-08-01")["parcel_id"].tolist() == ["N1-1-1"]
    assert disputed_parcels(events, parcels, as_of="2010-09-01").empty
    with_enf = _add(events, ("F1", "S1-1-2", "enforcement", "2011-11-20"))
    d = disputed_parcels(with_enf, parcels, as_of="2011-12-26")
    assert d.iloc[0]["enforcement_date"] == pd.Timestamp("2011-11-20")


def test_forecast_pace_and_range_by_hand(events, parcels):
    """Window 29/06-26/12/2011 (180 days, six 30-day bins): +3 ha, -3 ha (correction), +3 ha."""
    fc = clearance_forecast(events, parcels, as_of="2011-12-26", window_days=180, park="S1").iloc[0]
    month = 365.25 / 12
    pace = 3.0 / (180 / month)
    per_bin = np.array([3.0, -3.0, 0.0, 3.0, 0.0, 0.0]) / (30 / month)
    se = per_bin.std(ddof=1) / math.sqrt(6)
    assert fc["status"] == ForecastStatus.FORECAST
    assert fc["window_handed_over_ha"] == pytest.approx(3.0)
    assert fc["remaining_ha"] == pytest.approx(6.0)
    assert fc["pace_ha_per_month"] == pytest.approx(pace)
    assert fc["pace_high_ha_per_month"] == pytest.approx(pace + se)
    assert fc["pace_low_ha_per_month"] == 0.0  # pace - se < 0
    expected = pd.Timestamp("2011-12-26") + pd.Timedelta(days=6 / pace * month)
    assert abs((fc["forecast_date"] - expected).days) <= 1
    assert fc["forecast_earliest"] < fc["forecast_date"]
    assert pd.isna(fc["forecast_latest"])  # open-ended at the low pace
    assert "open-ended" in fc["message"]


def test_forecast_with_no_recent_progress_invents_no_date(events, parcels):
    fc = clearance_forecast(events, parcels, as_of="2012-12-31", window_days=180).set_index("park_id")
    for park in ("S1", "N1"):
        row = fc.loc[park]
        assert row["status"] == ForecastStatus.NO_RECENT_PROGRESS
        assert row["pace_ha_per_month"] == 0.0
        assert pd.isna(row["forecast_date"]) and pd.isna(row["forecast_earliest"]) and pd.isna(row["forecast_latest"])
        assert "No recent progress" in row["message"]


def test_forecast_regular_pace_and_completion(events, parcels):
    ev = _add(
        events,
        ("X1", "N1-1-1", "inventoried", "2011-02-01"),
        ("X2", "N1-1-1", "plan_approved", "2011-03-01"),
        ("X3", "N1-1-1", "compensated", "2011-04-01"),
        ("X4", "N1-1-1", "handed_over", "2011-05-01"),
    )
    fc = clearance_forecast(ev, parcels, as_of="2011-12-26", park=["N1"]).iloc[0]
    assert fc["status"] == ForecastStatus.COMPLETE
    assert fc["remaining_ha"] == pytest.approx(0.0)
    assert "All 5.00 ha" in fc["message"]


def test_forecast_empty_park(events, parcels):
    parks = pd.DataFrame({"park_id": ["S1", "N1", "NONE"], "name": ["A", "B", "KCN Chưa Có"]})
    fc = clearance_forecast(events, parcels, as_of="2011-12-26", park="chua co", parks=parks).iloc[0]
    assert fc["park_id"] == "NONE"
    assert fc["status"] == ForecastStatus.NO_PARCELS
    assert clearance_forecast(events, parcels.iloc[:0], as_of="2011-12-26").empty
