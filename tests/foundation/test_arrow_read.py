"""The fast read path gives the same frames as the generic one, decodes geometries lazily, defers unused text.

* ``wkb_polygon_area`` is compared bit for bit with ``shapely.area`` on hand-built shapes of known area;
* every layer of the bundled atlas read through ``read_arrow`` + ``table_to_frame`` equals the frame of
  ``pyogrio.read_dataframe`` + ``coerce_layer`` (the path before);
* a deferred text column is not read until used, then holds the same values, and refuses to mix two
  versions of a layer changed on disk in between;
* the read-only GeoParquet backend gives the GeoPackage's frames.
"""

from __future__ import annotations

import pickle
import shutil

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyogrio
import pytest
import shapely

import kcn_gis
from kcn_gis.errors import StoreError
from kcn_gis.schema import ATLAS_LAYERS, Col, Layer, spec
from kcn_gis.store import gpkg as gpkg_module
from kcn_gis.store.arrow import DeferredStringArray, LazyGeometryArray, wkb_polygon_area
from kcn_gis.store.base import coerce_layer
from tests.conftest import use_engine

E0, N0 = 540_000.0, 2_330_000.0


def _shapes() -> list[shapely.Geometry | None]:
    hexagon = shapely.Polygon([(E0, N0), (E0 + 20, N0), (E0 + 30, N0 + 10), (E0 + 20, N0 + 20), (E0, N0 + 20)])
    ring = [(E0 + 50 * np.cos(t), N0 + 50 * np.sin(t)) for t in np.linspace(0, 2 * np.pi, 80)[:-1]]
    return [
        shapely.box(E0, N0, E0 + 100, N0 + 100),  # 1 ha
        shapely.Polygon([(E0, N0), (E0 + 10, N0), (E0, N0 + 10)]),  # triangle, 50 m²
        hexagon,
        shapely.box(E0, N0, E0 + 100, N0 + 100).difference(shapely.box(E0 + 10, N0 + 10, E0 + 20, N0 + 20)),  # hole
        shapely.MultiPolygon([shapely.box(E0, N0, E0 + 1, N0 + 1), shapely.box(E0 + 5, N0, E0 + 7, N0 + 1)]),
        shapely.Polygon(ring),  # more points than the vectorised path takes
        None,
        shapely.Polygon(),
        shapely.Point(E0, N0),
    ]


@pytest.fixture(params=["numpy", "compiled"])
def area_engine(request, monkeypatch) -> str:
    """Run a test with the numpy path of ``wkb_polygon_area`` and again with the compiled one (numba)."""
    from kcn_gis.store import arrow

    return use_engine(monkeypatch, request.param, arrow, "COMPILED_AREA_FROM", "COMPILED_AREA_LOAD_FROM")


def test_wkb_area_equals_geos_bit_for_bit(area_engine: str) -> None:
    g = np.array(_shapes(), dtype=object)
    wkb = pa.array(list(shapely.to_wkb(g)), type=pa.binary())
    area, ok = wkb_polygon_area(wkb)
    ref = np.nan_to_num(shapely.area(g), nan=0.0)
    if area_engine == "numpy":  # simple one-ring polygons of at most 64 points only
        assert ok.tolist() == [True, True, True, False, False, False, False, False, False]
    else:  # every polygon and multipolygon; never a null or a point
        assert ok.tolist() == [True, True, True, True, True, True, False, True, False]
        assert area[3] == 10_000.0 - 100.0 and area[4] == 3.0 and area[7] == 0.0
    assert np.array_equal(area[ok], ref[ok])  # the same bits, not just close
    assert not area[~ok].any()
    assert area[0] == 10_000.0 and area[1] == 50.0
    # the array answers every row, through GEOS where the fast path does not apply
    lazy = LazyGeometryArray.from_wkb(wkb, crs="EPSG:9209")
    got = lazy.area
    assert not lazy.decoded
    assert np.array_equal(np.nan_to_num(got, nan=0.0), ref)
    assert got[3] == pytest.approx(10_000.0 - 100.0) and got[4] == pytest.approx(3.0)


def test_wkb_area_many_chunks_and_offsets(area_engine: str) -> None:
    rng = np.random.default_rng(1)
    polys = [
        shapely.Polygon(np.c_[E0 + rng.random(k) * 50, N0 + rng.random(k) * 50]).convex_hull
        for k in rng.integers(4, 12, 300)
    ]
    wkb = shapely.to_wkb(np.array(polys, dtype=object))
    chunked = pa.chunked_array([pa.array(list(wkb[:7]), pa.binary()), pa.array(list(wkb[7:]), pa.binary())])
    large = pa.array(list(wkb), pa.large_binary())
    sliced = pa.array(list(wkb), pa.binary()).slice(3)
    ref = shapely.area(np.array(polys, dtype=object))
    for values, expected in ((chunked, ref), (large, ref), (sliced, ref[3:])):
        area, ok = wkb_polygon_area(values)
        assert ok.all() and np.array_equal(area, expected)


@pytest.mark.parametrize("area_engine", ["compiled"], indirect=True)
def test_compiled_wkb_area_holes_parts_and_bad_bytes(area_engine: str) -> None:
    """Holes, multipolygons, long rings and damaged values: the same bits as GEOS, or left to GEOS."""
    rng = np.random.default_rng(7)
    shapes = []
    for k in range(600):
        x, y = E0 + rng.random() * 1e4, N0 + rng.random() * 1e4
        shell = shapely.Point(x, y).buffer(1 + rng.random() * 60, quad_segs=int(rng.integers(1, 40)))
        if k % 3 == 0:  # one or two holes
            shell = shell.difference(shapely.Point(x, y).buffer(0.5)).difference(
                shapely.box(x + 0.6, y, x + 0.9, y + 0.3)
            )
        if k % 4 == 0:
            shell = shapely.MultiPolygon([shell, shapely.box(x + 500, y, x + 501 + rng.random(), y + 1)])
        shapes.append(shell)
    g = np.array(shapes, dtype=object)
    kind = shapely.get_type_id(g)
    assert (kind == 6).any() and (shapely.get_num_interior_rings(g[kind == 3]) > 0).any()
    wkb = list(shapely.to_wkb(g))
    # damage: a value cut short, one with bytes to spare, a big-endian one, a 3D one, a collection
    cut, spare = wkb[1][:-8], wkb[2] + b"\x00" * 8
    big = shapely.to_wkb(g[3], byte_order=0)
    z = shapely.to_wkb(shapely.Polygon([(0, 0, 1), (1, 0, 1), (0, 1, 1)]))
    coll = shapely.to_wkb(shapely.GeometryCollection([shapely.box(0, 0, 1, 1)]))
    values = pa.array([*wkb, cut, spare, big, z, coll], type=pa.binary())
    area, ok = wkb_polygon_area(values)
    assert ok[: len(wkb)].all() and not ok[len(wkb) :].any()
    assert np.array_equal(area[: len(wkb)], shapely.area(g))
    assert not area[len(wkb) :].any()


def test_lazy_geometry_stays_undecoded_until_used() -> None:
    g = np.array(_shapes()[:3], dtype=object)
    lazy = LazyGeometryArray.from_wkb(pa.array(list(shapely.to_wkb(g))), crs="EPSG:9209")
    frame = pd.DataFrame({"a": [1, 2, 3]})
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(lazy, crs="EPSG:9209"), crs="EPSG:9209")
    shallow = gdf.copy(deep=False)
    assert len(gdf) == 3 and not lazy.decoded
    assert gdf.geometry.values.area.tolist() == shapely.area(g).tolist()
    assert isinstance(shallow.geometry.values, LazyGeometryArray) and not shallow.geometry.values.decoded
    assert gdf.geometry.iloc[2].equals(g[2])  # any real use decodes
    assert shapely.equals(np.asarray(gdf.geometry.values), g).all()
    back = pickle.loads(pickle.dumps(gdf))
    assert shapely.equals(np.asarray(back.geometry.values), g).all() and back.crs == gdf.crs


def test_validity_is_computed_once_and_again_after_a_geometry_is_replaced(monkeypatch) -> None:
    from kcn_gis import validation

    bowtie = shapely.Polygon([(0, 0), (10, 10), (10, 0), (0, 10)])  # self-intersecting: invalid
    g = np.array([shapely.box(0, 0, 10, 10), shapely.box(20, 0, 30, 10), bowtie], dtype=object)
    lazy = LazyGeometryArray.from_wkb(pa.array(list(shapely.to_wkb(g))), crs="EPSG:9209")
    calls = []
    real = validation.threaded_is_valid
    monkeypatch.setattr(validation, "threaded_is_valid", lambda a: calls.append(len(a)) or real(a))
    assert validation.is_valid(lazy).tolist() == [True, True, False]
    assert validation.is_valid(lazy).tolist() == [True, True, False]
    assert calls == [3]  # asked twice, computed once
    lazy[0] = bowtie  # a geometry is replaced: the answer is computed again
    assert validation.is_valid(lazy).tolist() == [False, True, False]
    lazy[2] = shapely.box(0, 0, 1, 1)
    assert validation.is_valid(lazy).tolist() == [False, True, True]
    assert calls == [3, 3, 3]
    with pytest.raises(ValueError):
        lazy.valid_mask()[1] = False  # read-only: nobody edits the remembered answer
    plain = gpd.GeoSeries(g).values  # a plain geopandas array: computed every time
    assert validation.is_valid(plain).tolist() == [True, True, False]
    assert validation.is_valid(plain).tolist() == [True, True, False]
    assert calls == [3, 3, 3, 3, 3]


@pytest.fixture(scope="module")
def bundled_copy(tmp_path_factory):
    path = tmp_path_factory.mktemp("arrow") / "atlas.gpkg"
    shutil.copyfile(kcn_gis.open_atlas().location, path)
    return path


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: frame[c] for c in frame.columns if c != "geometry"})
    if "geometry" in frame.columns:
        out["wkb"] = shapely.to_wkb(np.asarray(frame.geometry.values))
    return out


@pytest.mark.parametrize("layer", [str(x) for x in ATLAS_LAYERS])
def test_fast_read_equals_generic_read(bundled_copy, layer: str) -> None:
    backend = gpkg_module.GeoPackageBackend(bundled_copy)
    if layer not in backend.list_layers():
        pytest.skip(f"{layer} not in the bundled atlas")
    fast = coerce_layer(spec(layer), backend.read_layer(layer))
    old = coerce_layer(spec(layer), pyogrio.read_dataframe(bundled_copy, layer=layer, use_arrow=True))
    assert list(fast.columns) == list(old.columns)
    assert isinstance(fast, gpd.GeoDataFrame) == isinstance(old, gpd.GeoDataFrame)
    if isinstance(fast, gpd.GeoDataFrame):
        assert fast.crs == old.crs
    pd.testing.assert_frame_equal(_plain(fast), _plain(old))


def test_deferred_columns_read_on_use_and_refuse_a_changed_layer(bundled_copy, tmp_path, monkeypatch) -> None:
    path = tmp_path / "atlas.gpkg"
    shutil.copyfile(bundled_copy, path)
    monkeypatch.setattr(gpkg_module, "DEFER_FROM_ROWS", 1)
    eager = pyogrio.read_dataframe(path, layer=str(Layer.PARCELS), use_arrow=True)
    atlas = kcn_gis.open_atlas(path)
    parcels = atlas.parcels
    holder = parcels[Col.HOLDER_NAME].array
    assert isinstance(holder, DeferredStringArray) and not holder.loaded
    assert list(parcels.columns) == list(eager.columns)
    assert len(holder) == len(eager)
    # analytics that do not need the column leave it unread
    from kcn_gis.clearance import clearance_progress

    clearance_progress(atlas.clearance_events, parcels, as_of="2011-12-26")
    assert not holder.loaded
    assert parcels[Col.HOLDER_NAME].tolist() == eager[Col.HOLDER_NAME].tolist()
    assert holder.loaded and parcels[Col.HOLDER_NAME].dtype == eager[Col.HOLDER_NAME].dtype

    # a layer changed on disk after the read: the deferred column refuses to mix the two versions
    events = kcn_gis.open_atlas(path).clearance_events
    assert not events[Col.NOTE].array.loaded
    new = coerce_layer(
        spec(Layer.CLEARANCE_EVENTS), pyogrio.read_dataframe(path, layer="clearance_events", max_features=1)
    )
    new[Col.EVENT_ID] = "EV-NEW-1"
    kcn_gis.open_atlas(path).append(Layer.CLEARANCE_EVENTS, new)
    with pytest.raises(StoreError, match="changed on disk"):
        events[Col.NOTE].tolist()


def test_validate_reads_every_column_of_a_large_layer_in_one_pass(bundled_copy, tmp_path, monkeypatch) -> None:
    """Validation checks every column: deferring some would read the layer once more per deferred column."""
    path = tmp_path / "atlas.gpkg"
    shutil.copyfile(bundled_copy, path)
    monkeypatch.setattr(gpkg_module, "DEFER_FROM_ROWS", 1)
    reads: list[tuple[str, tuple[str, ...] | None]] = []
    real = gpkg_module.pyogrio.read_arrow

    def counting(*args, **kwargs):
        cols = kwargs.get("columns")
        reads.append((str(kwargs.get("layer")), None if cols is None else tuple(cols)))
        return real(*args, **kwargs)

    monkeypatch.setattr(gpkg_module.pyogrio, "read_arrow", counting)
    atlas = kcn_gis.open_atlas(path, validate=False)
    problems = atlas.validate()
    assert not [p for p in problems if p.severity == "error"]
    events = [r for r in reads if r[0] == str(Layer.CLEARANCE_EVENTS)]
    assert len(events) == 1 and events[0][1] is None  # one read, all columns
    frame = atlas.clearance_events  # cached by validate: nothing deferred, nothing read again
    assert not any(isinstance(frame[c].array, DeferredStringArray) for c in frame.columns)
    assert len([r for r in reads if r[0] == str(Layer.CLEARANCE_EVENTS)]) == 1
    # an ordinary read still defers the free-text columns
    reads.clear()
    lazy = kcn_gis.open_atlas(path).clearance_events
    assert isinstance(lazy[Col.NOTE].array, DeferredStringArray) and not lazy[Col.NOTE].array.loaded


def test_validate_reads_the_next_layer_while_checking_one_with_the_same_problems(bundled_copy, tmp_path, monkeypatch):
    """Atlas.validate reads ahead on backends whose reads may run in another thread: same problems, same
    frames, every layer read once; a read that fails raises from validate, as when reading in order."""
    import threading

    from kcn_gis.store import gpkg as gpkg_store

    path = tmp_path / "atlas.gpkg"
    shutil.copyfile(bundled_copy, path)
    seen: list[tuple[str, str]] = []
    real = gpkg_store.GeoPackageBackend.read_layer

    def recording(self, layer, **kwargs):
        seen.append((layer, threading.current_thread().name))
        return real(self, layer, **kwargs)

    monkeypatch.setattr(gpkg_store.GeoPackageBackend, "read_layer", recording)
    ahead = kcn_gis.open_atlas(path, validate=False)
    with_ahead = [(p.check, p.layer, p.row, p.message) for p in ahead.validate()]
    assert sorted(name for name, _ in seen) == sorted(set(name for name, _ in seen))  # each layer once
    assert any(t.startswith("kcn_gis-read-ahead") for _, t in seen)
    seen.clear()
    monkeypatch.setattr(gpkg_store.GeoPackageBackend, "concurrent_reads", False)
    in_order = kcn_gis.open_atlas(path, validate=False)
    assert [(p.check, p.layer, p.row, p.message) for p in in_order.validate()] == with_ahead
    assert not any(t.startswith("kcn_gis-read-ahead") for _, t in seen)
    for layer in (Layer.PARCELS, Layer.CLEARANCE_EVENTS, Layer.PLOTS):
        pd.testing.assert_frame_equal(pd.DataFrame(ahead.read(layer)), pd.DataFrame(in_order.read(layer)))

    monkeypatch.setattr(gpkg_store.GeoPackageBackend, "concurrent_reads", True)

    def failing(self, layer, **kwargs):
        if layer == str(Layer.CLEARANCE_EVENTS):
            raise StoreError(f"{self.location} layer '{layer}' cannot be read: disk on fire")
        return real(self, layer, **kwargs)

    monkeypatch.setattr(gpkg_store.GeoPackageBackend, "read_layer", failing)
    with pytest.raises(StoreError, match="clearance_events.*disk on fire"):
        kcn_gis.open_atlas(path, validate=False).validate()


def test_geoparquet_backend_reads_the_same_frames(bundled_copy, tmp_path) -> None:
    from kcn_gis.store.geoparquet import write_partitioned

    atlas = kcn_gis.open_atlas(bundled_copy)
    out = write_partitioned(atlas, tmp_path / "atlas.parquet", partitions=2)
    pq_atlas = kcn_gis.open_atlas(out, validate=False)
    for layer in (Layer.PARKS, Layer.PLOTS, Layer.CLEARANCE_EVENTS, Layer.PROJECTS):
        a, b = atlas.read(layer), pq_atlas.read(layer)
        key = spec(layer).key
        a = a.sort_values(key).reset_index(drop=True)
        b = b.sort_values(key).reset_index(drop=True)
        pd.testing.assert_frame_equal(_plain(b), _plain(a))
    with pytest.raises(StoreError, match="only reads"):
        pq_atlas.write({Layer.PROJECTS: atlas.projects})


@pytest.mark.parametrize("layer", [str(Layer.PARCELS), str(Layer.CLEARANCE_EVENTS), str(Layer.PLOTS)])
def test_read_in_two_halves_equals_one_read(bundled_copy, monkeypatch, layer: str) -> None:
    backend = gpkg_module.GeoPackageBackend(bundled_copy)
    one = backend.read_layer(layer)
    monkeypatch.setattr(gpkg_module, "_PARALLEL_READ_ROWS", 1)
    assert backend._halves(layer) is not None
    two = backend.read_layer(layer)
    pd.testing.assert_frame_equal(_plain(two), _plain(one))


def test_progress_with_deferred_event_ids_equals_eager(bundled_copy, monkeypatch) -> None:
    from kcn_gis.clearance import clearance_progress, parcel_stages

    eager = kcn_gis.open_atlas(bundled_copy)
    want = clearance_progress(eager.clearance_events, eager.parcels, as_of="2011-12-26")
    want_st = parcel_stages(eager.clearance_events, eager.parcels, as_of="2011-12-26")
    monkeypatch.setattr(gpkg_module, "DEFER_FROM_ROWS", 1)
    lazy = kcn_gis.open_atlas(bundled_copy)
    events = lazy.clearance_events
    assert isinstance(events[Col.EVENT_ID].array, DeferredStringArray)
    pd.testing.assert_frame_equal(clearance_progress(events, lazy.parcels, as_of="2011-12-26"), want)
    pd.testing.assert_frame_equal(parcel_stages(events, lazy.parcels, as_of="2011-12-26"), want_st)
    # the ids were read only if a correction needed them
    has_corrections = (eager.clearance_events[Col.EVENT] == "correction").any()
    assert events[Col.EVENT_ID].array.loaded == bool(has_corrections)
