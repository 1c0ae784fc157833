"""The Arrow fast paths of the stage computation give the pandas path's answer, on hand-built histories.

Frames read by the store hold text as Arrow-backed strings, which take pyarrow lookups (event
vocabulary, parcel positions, corrected events); frames users build with object columns take the
pandas path. Both must give the same stages, and the stages we derive by hand.
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from kcn_gis.clearance import clearance_progress, parcel_stages
from kcn_gis.clearance.history import _arrow_strings
from kcn_gis.errors import ClearanceError
from kcn_gis.schema import Col
from tests.conftest import use_engine

E0, N0 = 540_000.0, 2_330_000.0

# parcel, event, date, recorded_at, corrects  (rows deliberately out of date order)
ROWS = [
    ("P1", "inventoried", "2011-02-15", "2011-02-16 08:00", None),
    ("P1", "notified", "2011-01-10", "2011-01-11 08:00", None),
    ("P1", "handed_over", "2011-06-01", "2011-06-01 09:00", None),
    # P2: complaint and resolution on the same day -> the resolution counts last (closed)
    ("P2", "notified", "2011-01-10", "2011-01-10 08:00", None),
    ("P2", "complaint_resolved", "2011-03-01", "2011-03-01 10:00", None),
    ("P2", "complaint", "2011-03-01", "2011-03-01 11:00", None),
    # P3: handed over, then corrected, then handed over again after the as-of date -> back to compensated
    ("P3", "compensated", "2011-05-01", "2011-05-01 08:00", None),
    ("P3", "handed_over", "2011-07-01", "2011-07-01 08:00", None),
    ("P3", "correction", "2011-08-01", "2011-08-01 08:00", "E8"),
    ("P3", "handed_over", "2012-10-01", "2012-10-01 08:00", None),
    # P4: two complaints, the later one open; two stage events on the same day
    ("P4", "complaint", "2011-02-01", "2011-02-01 08:00", None),
    ("P4", "plan_approved", "2011-04-01", "2011-04-01 08:00", None),
    ("P4", "inventoried", "2011-04-01", "2011-04-01 07:00", None),
    ("P4", "complaint_resolved", "2011-03-01", "2011-03-01 08:00", None),
    ("P4", "complaint", "2011-09-01", "2011-09-01 08:00", None),
    # events of a parcel not in the layer, and without a parcel
    ("PX", "handed_over", "2011-01-01", "2011-01-01 08:00", None),
    (None, "notified", "2011-01-01", "2011-01-01 08:00", None),
]
AS_OF = "2011-12-31"
EXPECTED = {  # parcel -> (stage, open complaint), derived by hand from ROWS
    "P1": ("handed_over", False),
    "P2": ("notified", False),
    "P3": ("compensated", False),
    "P4": ("plan_approved", True),
    "P5": (None, False),
}


@pytest.fixture(params=["numpy", "compiled"])
def state_engine(request, monkeypatch) -> str:
    """Run a test with the numpy derivation of the parcel state and again with the compiled pass."""
    from kcn_gis.clearance import history

    return use_engine(monkeypatch, request.param, history, "COMPILED_STATE_FROM", "COMPILED_STATE_LOAD_FROM")


def _events(text: str) -> pd.DataFrame:
    pid, ev, d, rec, corr = zip(*ROWS, strict=True)
    cols = {
        Col.EVENT_ID: [f"E{i + 1}" for i in range(len(ROWS))],
        Col.PARCEL_ID: list(pid),
        Col.EVENT: list(ev),
        Col.EVENT_DATE: pd.to_datetime(list(d)).astype("datetime64[ms]"),
        Col.RECORDED_AT: pd.to_datetime(list(rec)).astype("datetime64[ms]"),
        Col.CORRECTS_EVENT_ID: list(corr),
    }
    frame = pd.DataFrame(cols)
    for c in (Col.EVENT_ID, Col.PARCEL_ID, Col.EVENT, Col.CORRECTS_EVENT_ID):
        frame[c] = frame[c].astype(text)
    return frame


def _parcels(text: str) -> gpd.GeoDataFrame:
    ids = ["P1", "P2", "P3", "P4", "P5", "P1"]  # P1 twice: the first row is the parcel
    parks = ["S1", "S1", "S1", "N1", "N1", "N1"]
    geoms = [shapely.box(E0 + 100 * i, N0, E0 + 100 * i + 100, N0 + 100 * (i + 1)) for i in range(6)]  # (i+1) ha
    frame = gpd.GeoDataFrame({Col.PARCEL_ID: ids, Col.PARK_ID: parks}, geometry=geoms, crs="EPSG:9209")
    for c in (Col.PARCEL_ID, Col.PARK_ID):
        frame[c] = frame[c].astype(text)
    return frame


@pytest.mark.parametrize("text", ["object", "str", "category"])
def test_stages_by_hand(text: str, state_engine: str) -> None:
    events, parcels = _events(text), _parcels(text)
    assert (_arrow_strings(events[Col.PARCEL_ID]) is not None) == (text == "str")
    st = parcel_stages(events, parcels, as_of=AS_OF)
    got = {
        pid: (None if pd.isna(s) else s, bool(o))
        for pid, s, o in zip(
            st[Col.PARCEL_ID].iloc[:5], st["stage"].iloc[:5], st["open_complaint"].iloc[:5], strict=True
        )
    }
    assert got == EXPECTED
    # the duplicate P1 row gets no events (the first row wins)
    assert pd.isna(st["stage"].iloc[5])


def test_arrow_and_pandas_paths_agree(state_engine: str) -> None:
    for as_of in ("2011-01-10", "2011-03-01", "2011-08-01", AS_OF, "2013-01-01"):
        a = parcel_stages(_events("str"), _parcels("str"), as_of=as_of)
        b = parcel_stages(_events("object"), _parcels("object"), as_of=as_of)
        assert a["stage"].astype(object).tolist() == b["stage"].astype(object).tolist()
        assert a["open_complaint"].tolist() == b["open_complaint"].tolist()
        pd.testing.assert_series_equal(a["last_event_date"], b["last_event_date"])
        pd.testing.assert_series_equal(a["last_progress_date"], b["last_progress_date"])
        pa_, pb, pc_ = (clearance_progress(_events(t), _parcels(t), as_of=as_of) for t in ("str", "object", "category"))
        pd.testing.assert_frame_equal(pa_, pb)
        pd.testing.assert_frame_equal(pa_, pc_)  # kinds and park ids as categories (the Dask engine's reads)


def test_categorical_kinds_name_a_bad_event() -> None:
    events = _events("str")
    events[Col.EVENT] = events[Col.EVENT].astype(object)
    events.loc[3, Col.EVENT] = "bulldozed"
    events[Col.EVENT] = events[Col.EVENT].astype("category")
    with pytest.raises(ClearanceError, match=r"row 4: event 'bulldozed' is not one of"):
        parcel_stages(events, _parcels("str"), as_of=AS_OF)
    events.loc[5, Col.EVENT] = None  # a missing kind is refused too, not read as the first category
    with pytest.raises(ClearanceError, match=r"row 4: .*\(2 such row\(s\)\)"):
        parcel_stages(events, _parcels("str"), as_of=AS_OF)


def test_progress_by_hand(state_engine: str) -> None:
    prog = clearance_progress(_events("str"), _parcels("str"), as_of=AS_OF).set_index("park_id")
    # S1: P1 (1 ha, handed over), P2 (2 ha, notified), P3 (3 ha, compensated)
    assert prog.loc["S1", "parcels_total"] == 3 and prog.loc["S1", "area_total_ha"] == pytest.approx(6.0)
    assert prog.loc["S1", "handed_over_ha"] == pytest.approx(1.0)
    assert prog.loc["S1", "compensated_ha"] == pytest.approx(3.0)
    # N1: P4 (4 ha, plan approved, open complaint), P5 (5 ha, not started), the duplicate P1 (6 ha, not started)
    assert prog.loc["N1", "plan_approved_ha"] == pytest.approx(4.0)
    assert prog.loc["N1", "not_started_parcels"] == 2 and prog.loc["N1", "not_started_ha"] == pytest.approx(11.0)
    assert prog.loc["N1", "open_complaints"] == 1 and prog.loc["S1", "open_complaints"] == 0
    parks = pd.DataFrame({"park_id": ["S1", "N1", "Z9"]})  # Z9: a park of the layer without parcels
    only = clearance_progress(_events("str"), _parcels("str"), as_of=AS_OF, park=["N1", "z9"], parks=parks)
    assert only["park_id"].tolist() == ["N1", "Z9"] and only["parcels_total"].tolist() == [3, 0]


def test_compiled_and_numpy_state_agree_on_random_histories(monkeypatch) -> None:
    """Many parcels, same-day complaints and resolutions, equal recording times, corrections, NaT recordings."""
    pytest.importorskip("numba")
    import numpy as np

    from kcn_gis.clearance import history

    rng = np.random.default_rng(11)
    n_ev, n_par = 6000, 700
    kinds = np.array(
        [
            "notified",
            "inventoried",
            "plan_approved",
            "compensated",
            "handed_over",
            "complaint",
            "complaint_resolved",
            "correction",
        ]
    )
    kind = kinds[rng.choice(len(kinds), n_ev, p=[0.15, 0.12, 0.1, 0.1, 0.08, 0.2, 0.2, 0.05])]
    day = pd.Timestamp("2011-01-01") + pd.to_timedelta(rng.integers(0, 60, n_ev), unit="D")  # many ties
    rec = (day + pd.to_timedelta(rng.integers(0, 3, n_ev), unit="h")).to_numpy().astype("datetime64[ms]")
    rec[rng.random(n_ev) < 0.1] = np.datetime64("NaT")
    ids = np.array([f"E{i}" for i in range(n_ev)], dtype=object)
    corrects = np.where(kind == "correction", rng.choice(ids, n_ev), None)
    events = pd.DataFrame(
        {
            Col.EVENT_ID: pd.array(ids, dtype="str"),
            Col.PARCEL_ID: pd.array([f"P{i}" for i in rng.integers(0, n_par + 20, n_ev)], dtype="str"),  # some unknown
            Col.EVENT: pd.array(kind, dtype="str"),
            Col.EVENT_DATE: day.to_numpy().astype("datetime64[ms]"),
            Col.RECORDED_AT: rec,
            Col.CORRECTS_EVENT_ID: pd.array(corrects, dtype="str"),
        }
    )
    side = 1 + rng.random(n_par) * 30  # areas of many magnitudes: the compensated sums matter
    geoms = [shapely.box(E0 + 40 * i, N0, E0 + 40 * i + side[i], N0 + side[i] / 3) for i in range(n_par)]
    parcels = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: pd.array([f"P{i}" for i in range(n_par)], dtype="str"),
            Col.PARK_ID: pd.array(rng.choice(["S1", "N1", "N2", None], n_par), dtype="str"),
        },
        geometry=geoms,
        crs="EPSG:9209",
    )
    got, prog = {}, {}
    for engine in ("numpy", "compiled"):
        monkeypatch.setenv("KCN_GIS_NUMBA", "0" if engine == "numpy" else "1")
        monkeypatch.setattr(history, "COMPILED_STATE_FROM", 0)
        monkeypatch.setattr(history, "COMPILED_STATE_LOAD_FROM", 0)
        got[engine] = [parcel_stages(events, parcels, as_of=d) for d in ("2011-01-20", "2011-02-10", "2011-12-31")]
        prog[engine] = clearance_progress(events, parcels, as_of="2011-02-10")
    for a, b in zip(got["numpy"], got["compiled"], strict=True):
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(prog["numpy"], prog["compiled"], check_exact=True)  # the same bits
    assert prog["numpy"]["parcels_total"].sum() == parcels[Col.PARK_ID].notna().sum()
    # open complaints derived here, independently: in force on the date, the last complaint event per parcel
    # ordered by (date, resolution after complaint, recorded_at, row); open when it is not a resolution
    for as_of, frame in zip(("2011-01-20", "2011-02-10", "2011-12-31"), got["numpy"], strict=True):
        day_ = pd.Timestamp(as_of)
        ev = events.assign(row=np.arange(n_ev), res=(events[Col.EVENT] == "complaint_resolved").astype(int))
        voided = set(ev.loc[(ev[Col.EVENT] == "correction") & (ev[Col.EVENT_DATE] <= day_), Col.CORRECTS_EVENT_ID])
        live = ev[(ev[Col.EVENT_DATE] <= day_) & ~ev[Col.EVENT_ID].isin(voided)]
        live = live[live[Col.EVENT].isin(["complaint", "complaint_resolved"])]
        live = live.assign(rec=live[Col.RECORDED_AT].to_numpy().view("int64"))  # NaT: the smallest
        last = live.sort_values([Col.EVENT_DATE, "res", "rec", "row"]).groupby(Col.PARCEL_ID).tail(1)
        want = set(last.loc[last["res"] == 0, Col.PARCEL_ID])
        assert set(frame.loc[frame["open_complaint"], Col.PARCEL_ID]) == want & set(parcels[Col.PARCEL_ID])
    last = got["numpy"][-1]
    assert last["open_complaint"].any() and not last["open_complaint"].all()
    assert last["stage"].notna().sum() > n_par // 2
