"""The same write rules on both backends (GeoPackage and PostGIS), on the tiny atlas of tests/conftest.py.

Parks N1 (plots P1-P3) and S1 (parcels S1-1-1, S1-1-2; event E1 on S1-1-1).
"""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis import open_atlas
from kcn_gis.errors import ConcurrencyError, StoreError
from kcn_gis.schema import Col, Layer
from tests.conftest import box


def _parcels(atlas, ids_, park="S1"):
    base = atlas.parcels.iloc[[0]]
    rows = pd.concat([base] * len(ids_), ignore_index=True)
    rows[Col.PARCEL_ID] = ids_
    rows[Col.PARK_ID] = park
    rows[Col.PARCEL_NO] = [str(i) for i in range(len(ids_))]
    # 250 m x 500 m halves of S1's western parcel
    return rows.set_geometry([box(5_000, 1_000 + 500 * i, 5_250, 1_500 + 500 * i) for i in range(len(ids_))])


def test_scoped_replace_keeps_other_parks(atlas_url):
    atlas = open_atlas(atlas_url)
    # give N1 parcels too, then replace only S1's
    n1 = _parcels(atlas, ["N1-9-1"], park="N1").set_geometry([box(1_000, 6_000, 1_100, 6_100)])
    assert atlas.append(Layer.PARCELS, n1) == 1
    new = _parcels(atlas, ["S1-1-1", "S1-2-1"])
    result = atlas.replace_parks(Layer.PARCELS, new)
    assert (result.inserted, result.deleted) == (2, 2)
    stored = open_atlas(atlas_url).parcels
    assert sorted(stored[Col.PARCEL_ID]) == ["N1-9-1", "S1-1-1", "S1-2-1"]
    # empty rows replace nothing
    nothing = atlas.replace_parks(Layer.PARCELS, new.iloc[:0])
    assert (nothing.inserted, nothing.deleted) == (0, 0)
    assert len(open_atlas(atlas_url).parcels) == 3


def test_orphan_refusal_has_the_same_message(atlas_url):
    atlas = open_atlas(atlas_url)
    without_event_parcel = _parcels(atlas, ["S1-1-2"])
    with pytest.raises(StoreError) as info:
        atlas.replace_parks(Layer.PARCELS, without_event_parcel)
    msg = str(info.value)
    assert "the write would orphan rows; nothing was written" in msg
    assert "1 row(s) of 'clearance_events' would point to 1 parcel_id no longer in 'parcels'" in msg
    assert "event_id 'E1' -> parcel_id 'S1-1-1'" in msg
    assert sorted(open_atlas(atlas_url).parcels[Col.PARCEL_ID]) == ["S1-1-1", "S1-1-2"]


def test_append_of_a_stored_key_is_a_conflict(atlas_url):
    first = open_atlas(atlas_url)
    second = open_atlas(atlas_url)
    rows = _parcels(first, ["S1-3-1"])
    assert first.append(Layer.PARCELS, rows) == 1
    with pytest.raises(ConcurrencyError, match=r"parcel_id 'S1-3-1' already stored; another program added"):
        second.append(Layer.PARCELS, rows)
    assert list(open_atlas(atlas_url).parcels[Col.PARCEL_ID]).count("S1-3-1") == 1


def test_edit_conflict_has_the_same_message(atlas_url):
    a = open_atlas(atlas_url)
    b = open_atlas(atlas_url)
    pa, pb = a.plots, b.plots  # both read version v of P1
    a.edit(Layer.PLOTS, pa.iloc[[0]].assign(**{Col.TENANT: "Công ty A"}))
    with pytest.raises(ConcurrencyError, match=r"1 row\(s\) were changed by someone else since you read them"):
        b.edit(Layer.PLOTS, pb.iloc[[0]].assign(**{Col.TENANT: "Công ty B"}))
    assert open_atlas(atlas_url).plots.set_index(Col.PLOT_ID).loc["P1", Col.TENANT] == "Công ty A"


def test_import_modes_on_both_backends(atlas_url, tmp_path):
    import pyogrio

    from kcn_gis.errors import InputFileError
    from kcn_gis.interop.importers import import_file

    atlas = open_atlas(atlas_url)
    n1 = _parcels(atlas, ["N1-9-1"], park="N1").set_geometry([box(1_000, 6_000, 1_100, 6_100)])
    pyogrio.write_dataframe(n1, tmp_path / "n1.gpkg", driver="GPKG")
    assert import_file(tmp_path / "n1.gpkg", "parcels", atlas=atlas_url).written
    # S1's surveyor sends S1-1-1 again and S1-1-3 where S1-1-2 was: S1 is replaced, N1 kept
    s1 = atlas.parcels.assign(**{Col.PARCEL_ID: ["S1-1-1", "S1-1-3"]})
    pyogrio.write_dataframe(s1, tmp_path / "s1.gpkg", driver="GPKG")
    result = import_file(tmp_path / "s1.gpkg", "parcels", atlas=atlas_url, mode="replace")
    assert result.written and result.layer_rows_after == 3
    assert sorted(open_atlas(atlas_url).parcels[Col.PARCEL_ID]) == ["N1-9-1", "S1-1-1", "S1-1-3"]
    # without S1-1-1 (event E1) the replace is refused, before anything is written
    pyogrio.write_dataframe(s1.iloc[[1]], tmp_path / "s1b.gpkg", driver="GPKG")
    with pytest.raises(InputFileError, match="clearance event 'E1' refers to parcel_id 'S1-1-1'"):
        import_file(tmp_path / "s1b.gpkg", "parcels", atlas=atlas_url, mode="replace")
    pyogrio.write_dataframe(s1.iloc[:0], tmp_path / "empty.gpkg", driver="GPKG")
    with pytest.raises(InputFileError, match="never replaces anything"):
        import_file(tmp_path / "empty.gpkg", "parcels", atlas=atlas_url, mode="replace")
    assert sorted(open_atlas(atlas_url).parcels[Col.PARCEL_ID]) == ["N1-9-1", "S1-1-1", "S1-1-3"]
