"""Spatially partitioned GeoParquet: Hilbert order, co-partitioned events, round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import shapely

from kcn_gis.errors import StoreError
from kcn_gis.schema import Col, Layer
from kcn_gis.store.geoparquet import (
    MANIFEST,
    hilbert_distance,
    layer_parts,
    read_layer,
    read_manifest,
    write_partitioned,
)


def test_hilbert_distance_of_a_2x2_grid():
    # level 1: the curve visits (0,0) (0,1) (1,1) (1,0) in that order
    pts = shapely.points([(0, 0), (0, 1), (1, 1), (1, 0)])
    d = hilbert_distance(pts, bounds=(0, 0, 1, 1), level=1)
    assert d.tolist() == [0, 1, 2, 3]


def test_hilbert_distance_keeps_neighbours_close():
    xy = np.array([(x, y) for x in range(16) for y in range(16)], dtype=float)
    d = hilbert_distance(shapely.points(xy), bounds=(0, 0, 15, 15), level=4)
    assert sorted(d.tolist()) == list(range(256))  # a bijection on the 16 x 16 grid
    order = np.argsort(d)
    steps = np.abs(np.diff(xy[order], axis=0)).sum(axis=1)
    assert (steps == 1).all()  # consecutive cells are adjacent


def test_round_trip_keeps_rows_and_dtypes(small_layers, partitioned):
    manifest = read_manifest(partitioned)
    assert manifest["crs"] == "EPSG:9209"
    assert manifest["layers"][str(Layer.PARCELS)]["parts"] == 3
    for layer, frame in small_layers.items():
        back = read_layer(partitioned, layer)
        assert len(back) == len(frame), layer
        key = {Layer.PARCELS: Col.PARCEL_ID, Layer.PLOTS: Col.PLOT_ID, Layer.CLEARANCE_EVENTS: Col.EVENT_ID}.get(layer)
        if key is not None:
            a = frame.sort_values(key).reset_index(drop=True)
            b = back.sort_values(key).reset_index(drop=True)
            pd.testing.assert_frame_equal(pd.DataFrame(a), pd.DataFrame(b))


def test_parts_are_spatially_compact(small_layers, partitioned):
    parts = [read_layer(partitioned, Layer.PARCELS).iloc[:0]]  # type only
    bbox_area = []
    for p in layer_parts(partitioned, Layer.PARCELS):
        import geopandas as gpd

        g = gpd.read_parquet(p)
        parts.append(g)
        x0, y0, x1, y1 = g.total_bounds
        bbox_area.append((x1 - x0) * (y1 - y0))
    x0, y0, x1, y1 = small_layers[Layer.PARCELS].total_bounds
    assert max(bbox_area) < 0.8 * (x1 - x0) * (y1 - y0)
    sizes = [len(p) for p in parts[1:]]
    assert max(sizes) - min(sizes) <= 1


def test_events_follow_their_parcels(partitioned):
    import geopandas as gpd

    assert read_manifest(partitioned)["copartitioned"] == {str(Layer.CLEARANCE_EVENTS): str(Layer.PARCELS)}
    parcel_parts = layer_parts(partitioned, Layer.PARCELS)
    event_parts = layer_parts(partitioned, Layer.CLEARANCE_EVENTS)
    assert len(parcel_parts) == len(event_parts)
    for pp, ep in zip(parcel_parts, event_parts, strict=True):
        ids = set(gpd.read_parquet(pp)[Col.PARCEL_ID])
        ev = pd.read_parquet(ep)
        assert len(ev) and set(ev[Col.PARCEL_ID]) <= ids


def test_refuses_to_overwrite(small_layers, partitioned):
    with pytest.raises(StoreError, match="already exists"):
        write_partitioned(small_layers, partitioned, partitions=2)
    with pytest.raises(StoreError, match="at least 1"):
        write_partitioned(small_layers, partitioned.parent / "other", partitions=0)


def test_not_a_partitioned_atlas(tmp_path):
    with pytest.raises(StoreError, match="not a partitioned GeoParquet atlas"):
        read_manifest(tmp_path)
    (tmp_path / MANIFEST).write_text(json.dumps({"schema_version": 999}))
    with pytest.raises(StoreError, match="newer kcn_gis"):
        read_manifest(tmp_path)


def test_writes_from_an_open_atlas(small_layers, tmp_path):
    from kcn_gis import open_atlas, write_atlas

    write_atlas(tmp_path / "a.gpkg", small_layers)
    out = write_partitioned(open_atlas(tmp_path / "a.gpkg"), tmp_path / "a.parquet", partitions=2)
    assert len(read_layer(out, Layer.PARCELS)) == len(small_layers[Layer.PARCELS])
    assert read_layer(out, Layer.PARKS).crs.to_epsg() == 9209


def test_read_part_gives_model_dtypes_and_keeps_the_geometry_as_wkb(small_layers, partitioned):
    import shapely

    from kcn_gis.store.arrow import LazyGeometryArray
    from kcn_gis.store.geoparquet import layer_parts, read_part

    part = layer_parts(partitioned, Layer.PARCELS)[1]
    frame = read_part(part, Layer.PARCELS, columns=["parcel_id", "park_id"], crs="EPSG:9209")
    assert list(frame.columns) == ["parcel_id", "park_id", "geometry"]
    assert frame.crs.to_epsg() == 9209
    values = frame.geometry.values
    assert isinstance(values, LazyGeometryArray) and not values.decoded
    # the part's parcels and their areas, against the frame that was written (areas from the bytes)
    source = small_layers[Layer.PARCELS].set_index("parcel_id")
    want = shapely.area(source.loc[frame["parcel_id"].to_numpy(), "geometry"].to_numpy())
    assert values.area == pytest.approx(want, rel=0, abs=1e-9)
    assert not values.decoded

    events = read_part(layer_parts(partitioned, Layer.CLEARANCE_EVENTS)[1], Layer.CLEARANCE_EVENTS)
    assert events["event_date"].dtype == "datetime64[ms]"
    assert set(events["parcel_id"]) <= set(frame["parcel_id"])


def test_read_part_names_the_file_and_the_missing_column(partitioned):
    from kcn_gis.errors import StoreError
    from kcn_gis.store.geoparquet import layer_parts, read_part

    part = layer_parts(partitioned, Layer.PARCELS)[0]
    with pytest.raises(StoreError, match=r"part\.00000\.parquet.*parcels.*no column\(s\) owner"):
        read_part(part, Layer.PARCELS, columns=["parcel_id", "owner"])
    bad = part.parent.parent / "broken.parquet"
    bad.write_bytes(b"not parquet")
    try:
        with pytest.raises(StoreError, match=r"broken\.parquet.*cannot be read"):
            read_part(bad, Layer.PARCELS)
    finally:
        bad.unlink()


def test_read_part_defers_ids_and_reads_kinds_as_categories(partitioned, tmp_path):
    """defer= reads a column on first use (the same values); categorical= gives the same strings as categories."""
    import os
    import shutil

    from kcn_gis.store.arrow import DeferredStringArray
    from kcn_gis.store.geoparquet import layer_parts, read_part

    source = layer_parts(partitioned, Layer.CLEARANCE_EVENTS)[1]
    part = tmp_path / "part.00001.parquet"
    shutil.copy(source, part)
    plain = read_part(part, Layer.CLEARANCE_EVENTS)
    cols = ["event_id", "parcel_id", "event", "event_date"]
    lazy = read_part(part, Layer.CLEARANCE_EVENTS, columns=cols, defer=["event_id"], categorical=["event"])
    assert list(lazy.columns) == cols
    ids = lazy["event_id"].array
    assert isinstance(ids, DeferredStringArray) and not ids.loaded
    assert isinstance(lazy["event"].dtype, pd.CategoricalDtype)
    assert lazy["event"].astype(str).tolist() == plain["event"].tolist()
    assert lazy["parcel_id"].tolist() == plain["parcel_id"].tolist()
    assert lazy["event_id"].tolist() == plain["event_id"].tolist()  # read now, the same ids
    assert ids.loaded

    again = read_part(part, Layer.CLEARANCE_EVENTS, columns=cols, defer=["event_id"])
    stat = part.stat()
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10_000_000_000))  # the file is rewritten meanwhile
    with pytest.raises(StoreError, match=r"part\.00001\.parquet.*changed on disk"):
        again["event_id"].tolist()
    with pytest.raises(StoreError, match=r"no column\(s\) holder"):
        read_part(part, Layer.CLEARANCE_EVENTS, columns=cols, defer=["holder"])


def test_categorical_text_keeps_missing_values_and_unifies_row_groups(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from kcn_gis.store.geoparquet import read_part

    kinds = ["notified", None, "handed_over", "notified", "complaint", None, "handed_over"]
    table = pa.table({"event_id": [f"E{i}" for i in range(7)], "event": kinds})
    path = tmp_path / "part.00000.parquet"
    pq.write_table(table, path, row_group_size=3)  # three row groups, three dictionaries
    frame = read_part(path, Layer.CLEARANCE_EVENTS, columns=["event"], categorical=["event"])
    got = frame["event"]
    assert isinstance(got.dtype, pd.CategoricalDtype)
    assert [None if pd.isna(v) else v for v in got.tolist()] == kinds
    assert sorted(got.cat.categories) == ["complaint", "handed_over", "notified"]
