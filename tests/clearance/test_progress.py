"""Progress per park, its JSON records and the burn-up, checked against an independent computation.

The pure tests take the fixture frames; ``test_progress_from_the_stored_history_*`` takes the history
and parcels read back from an atlas on each backend (GeoPackage, PostGIS).
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from kcn_gis.clearance import PROGRESS_STAGES, burn_up, clearance_progress, progress_records
from kcn_gis.errors import CRSError
from kcn_gis.schema import STAGES

from .conftest import AREA_HA, make_clearance_layers, make_events, make_parcels

DATES = ["2010-06-30", "2011-03-01", "2011-07-15", "2011-08-15", "2011-12-26"]


def _independent_progress(events: pd.DataFrame, parcels, as_of: str) -> dict[str, dict]:
    """Plain loops over the events and plain geopandas areas: no code from kcn_gis.clearance."""
    day = pd.Timestamp(as_of)
    order = [str(s) for s in STAGES]
    area = (parcels.geometry.area / 10_000).tolist()
    out: dict[str, dict] = {}
    for pid, park, a in zip(parcels["parcel_id"], parcels["park_id"], area, strict=True):
        mine = [r for r in events.to_dict(orient="records") if r["parcel_id"] == pid and r["event_date"] <= day]
        voided = {r["corrects_event_id"] for r in mine if r["event"] == "correction"}
        reached = [order.index(r["event"]) for r in mine if r["event"] in order and r["event_id"] not in voided]
        stage = order[max(reached)] if reached else "not_started"
        compl = sorted(
            (r["event_date"], r["event"] == "complaint_resolved")
            for r in mine
            if r["event"] in ("complaint", "complaint_resolved") and r["event_id"] not in voided
        )
        is_open = bool(compl) and not compl[-1][1]
        p = out.setdefault(park, {"n": 0, "ha": 0.0, "open": 0, "stages": {}})
        p["n"] += 1
        p["ha"] += a
        p["open"] += is_open
        s = p["stages"].setdefault(stage, [0, 0.0])
        s[0] += 1
        s[1] += a
    return out


@pytest.mark.parametrize("area_thread", [False, True], ids=["areas-inline", "areas-in-a-thread"])
@pytest.mark.parametrize("as_of", DATES)
def test_progress_equals_independent_computation(events, parcels, as_of, area_thread, monkeypatch):
    from kcn_gis.clearance import progress as module

    # large layers measure the parcels in a second thread while the stages are derived: both paths
    monkeypatch.setattr(module, "_AREA_BESIDE_FROM", 0 if area_thread else 10**12)
    expected = _independent_progress(events, parcels, as_of)
    got = clearance_progress(events, parcels, as_of=as_of).set_index("park_id")
    _assert_progress(got, expected)


def test_progress_from_the_stored_history_equals_independent_computation(shared_atlas_url):
    """History and parcels written to the store and read back (each backend) give the hand-checkable progress."""
    from kcn_gis import open_atlas

    atlas = open_atlas(shared_atlas_url("clearance", make_clearance_layers))
    stored_events, stored_parcels = atlas.clearance_events, atlas.parcels
    assert len(stored_events) == len(make_events()) and len(stored_parcels) == len(make_parcels())
    for as_of in DATES:
        expected = _independent_progress(make_events(), make_parcels(), as_of)  # frames that never were stored
        got = clearance_progress(stored_events, stored_parcels, as_of=as_of).set_index("park_id")
        _assert_progress(got, expected)
    row = clearance_progress(stored_events, stored_parcels, as_of="2011-12-26", park="S1").iloc[0]
    assert row["handed_over_ha"] == pytest.approx(4.0) and row["area_total_ha"] == pytest.approx(10.0)
    b = burn_up(stored_events, stored_parcels, as_of="2011-12-26")
    assert b["area_ha"].tolist() == pytest.approx([1.0, 4.0, 1.0, 4.0])


def _assert_progress(got: pd.DataFrame, expected: dict[str, dict]) -> None:
    assert sorted(got.index) == sorted(expected)
    for park, exp in expected.items():
        row = got.loc[park]
        assert row["parcels_total"] == exp["n"]
        assert row["area_total_ha"] == pytest.approx(exp["ha"])
        assert row["open_complaints"] == exp["open"]
        for stage in PROGRESS_STAGES:
            n, ha = exp["stages"].get(stage, [0, 0.0])
            assert row[f"{stage}_parcels"] == n, (park, stage)
            assert row["handed_over_ha" if stage == "handed_over" else f"{stage}_ha"] == pytest.approx(ha)
        handed = exp["stages"].get("handed_over", [0, 0.0])[1]
        assert row["handed_over_share"] == pytest.approx(handed / exp["ha"])


def test_progress_by_hand(events, parcels):
    """S1 on 26/12/2011: S1-1-1 (1 ha) and S1-2-1 (3 ha) handed over out of 10 ha."""
    row = clearance_progress(events, parcels, as_of="2011-12-26", park="S1").iloc[0]
    assert row["area_total_ha"] == pytest.approx(sum(v for k, v in AREA_HA.items() if k.startswith("S1")))
    assert row["handed_over_ha"] == pytest.approx(4.0)
    assert row["handed_over_share"] == pytest.approx(0.4)
    assert row["not_started_ha"] == pytest.approx(4.0)
    assert row["inventoried_parcels"] == 1
    assert row["open_complaints"] == 1


def test_json_records_have_the_agreed_fields(events, parcels):
    prog = clearance_progress(events, parcels, as_of="2011-12-26")
    recs = json.loads(json.dumps(progress_records(prog)))
    s1 = next(r for r in recs if r["park_id"] == "S1")
    assert set(s1) == {
        "park_id",
        "parcels_total",
        "area_total_ha",
        "handed_over_ha",
        "handed_over_share",
        "open_complaints",
        "by_stage",
    }
    assert list(s1["by_stage"]) == [
        "not_started",
        "notified",
        "inventoried",
        "plan_approved",
        "compensated",
        "handed_over",
    ]
    assert s1["by_stage"]["handed_over"] == {"parcels": 2, "area_ha": pytest.approx(4.0)}
    assert s1["by_stage"]["not_started"] == {"parcels": 1, "area_ha": pytest.approx(4.0)}
    assert sum(v["parcels"] for v in s1["by_stage"].values()) == s1["parcels_total"]
    assert 0 <= s1["handed_over_share"] <= 1


def _parks_layer(*rows):
    return pd.DataFrame({"park_id": [r[0] for r in rows], "name": [r[1] for r in rows], "name_en": [r[2] for r in rows]})


def test_requested_park_without_parcels_gets_zeros(events, parcels):
    parks = _parks_layer(("S1", "KCN Sông Một", "South One"), ("EMPTY", "KCN Trống", "Empty Park"))
    prog = clearance_progress(events, parcels, as_of="2011-12-26", park=["S1", "EMPTY"], parks=parks).set_index("park_id")
    assert list(prog.index) == ["S1", "EMPTY"]
    assert prog.loc["EMPTY", "parcels_total"] == 0
    assert pd.isna(prog.loc["EMPTY", "handed_over_share"])
    assert progress_records(prog.reset_index())[1]["handed_over_share"] is None


def test_geographic_crs_is_refused(events, parcels):
    with pytest.raises(CRSError, match="geographic"):
        clearance_progress(events, parcels.to_crs("EPSG:4326"))
    with pytest.raises(CRSError, match="no CRS"):
        clearance_progress(events, parcels.set_crs(None, allow_override=True))


def test_burn_up_steps_down_on_a_correction(events, parcels):
    b = burn_up(events, parcels, as_of="2011-12-26")
    assert b["park_id"].unique().tolist() == ["S1"]
    assert b["date"].dt.strftime("%Y-%m-%d").tolist() == ["2011-06-01", "2011-07-01", "2011-08-01", "2011-10-01"]
    assert b["area_ha"].tolist() == pytest.approx([1.0, 4.0, 1.0, 4.0])
    assert b["parcels"].tolist() == [1, 2, 1, 2]
    # ... and agrees with clearance_progress on every date
    for d, a in zip(b["date"], b["area_ha"], strict=True):
        prog = clearance_progress(events, parcels, as_of=d, park="S1").iloc[0]
        assert prog["handed_over_ha"] == pytest.approx(a)
    assert burn_up(events, parcels, as_of="2011-07-15")["area_ha"].tolist() == pytest.approx([1.0, 4.0])


def test_park_ids_without_case_and_names_without_diacritics(events, parcels):
    """``"s1"``, the Vietnamese name typed without diacritics and the English name all mean S1."""
    want = clearance_progress(events, parcels, as_of="2011-12-26", park="S1")
    parks = _parks_layer(("S1", "KCN Sông Một", "South One"), ("N1", "KCN Bắc Một", "North One"))
    for typed in ("s1", "song mot", "KCN SÔNG MỘT", "south one"):
        got = clearance_progress(events, parcels, as_of="2011-12-26", park=typed, parks=parks)
        pd.testing.assert_frame_equal(got, want)
    both = clearance_progress(events, parcels, as_of="2011-12-26", park=("n1", "S1"))
    assert both["park_id"].tolist() == ["N1", "S1"]
    ups = burn_up(events, parcels, park="s1", as_of="2011-12-26")
    assert set(ups["park_id"]) == {"S1"}


def test_unknown_park_raises_the_clear_error(events, parcels):
    from kcn_gis.errors import KcnGisError, UnknownNameError

    with pytest.raises(UnknownNameError, match=r"unknown park id\(s\) 'Gia Bình'; parks: N1, S1"):
        clearance_progress(events, parcels, as_of="2011-12-26", park="Gia Bình")
    with pytest.raises(KcnGisError, match="unknown park"):
        burn_up(events, parcels, park="NOPE", as_of="2011-12-26")
