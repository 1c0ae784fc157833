"""Raster layers: rasterize by status/stage, exact zonal statistics, clearance checks against an image."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from kcn_gis.errors import KcnGisError
from kcn_gis.interop.raster import (
    FLAG_BARE_NOTIFIED,
    FLAG_VEGETATED_HANDED_OVER,
    categories_for,
    check_clearance,
    rasterize,
    rasterize_to_file,
    zonal_stats,
)
from tests.conftest import E0, N0, ts

# A 4 x 4 raster of 10 m pixels, top-left corner at (E0, N0 + 40); values 0..15 row by row:
#    0  1  2  3
#    4  5  6  7
#    8  9 10 11
#   12 13 14 15
VALUES = np.arange(16, dtype="float32").reshape(4, 4)


def write_raster(path, values=VALUES, crs="EPSG:9209", nodata=-9999.0):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float32",
        crs=crs,
        transform=Affine(10, 0.0, E0, 0.0, -(10), N0 + 40),
        nodata=nodata,
    ) as ds:
        ds.write(values.astype("float32"), 1)
    return path


def zones():
    return gpd.GeoDataFrame(
        {"parcel_id": ["half", "whole", "outside"]},
        geometry=[
            # x 5..20 (half of column 0, all of column 1), y 25..40 (all of row 0, half of row 1)
            shapely.box(E0 + 5, N0 + 25, E0 + 20, N0 + 40),
            # exactly pixels (row 2-3, column 2-3): 10, 11, 14, 15
            shapely.box(E0 + 20, N0, E0 + 40, N0 + 20),
            shapely.box(E0 + 100, N0 + 100, E0 + 110, N0 + 110),
        ],
        crs="EPSG:9209",
    )


def test_exact_zonal_statistics_equal_hand_computed_values(tmp_path):
    stats = zonal_stats(zones(), write_raster(tmp_path / "r.tif"), method="exact")
    half = stats.loc[0]
    # covered fractions: value 0 -> 0.5, 1 -> 1, 4 -> 0.25, 5 -> 0.5
    weights = {0: 0.5, 1: 1.0, 4: 0.25, 5: 0.5}
    assert half["count"] == pytest.approx(sum(weights.values()))  # 2.25 pixels
    assert half["sum"] == pytest.approx(sum(v * w for v, w in weights.items()))  # 4.5
    assert half["mean"] == pytest.approx(4.5 / 2.25)  # 2.0
    assert (half["min"], half["max"]) == (0.0, 5.0)
    whole = stats.loc[1]
    assert whole["count"] == pytest.approx(4.0) and whole["mean"] == pytest.approx((10 + 11 + 14 + 15) / 4)
    assert stats.loc[2, "count"] == 0 and np.isnan(stats.loc[2, "mean"])
    assert stats["parcel_id"].tolist() == ["half", "whole", "outside"] and set(stats["method"]) == {"exact"}


def test_center_method_is_the_documented_fallback(tmp_path):
    z = zones()
    # x 6..20, y 24..40: pixel centres (15, 35) and (15, 25) are inside (values 1 and 5); (5, y) are not
    z.loc[0, "geometry"] = shapely.box(E0 + 6, N0 + 24, E0 + 20, N0 + 40)
    stats = zonal_stats(z, write_raster(tmp_path / "r.tif"), method="center")
    assert stats.loc[0, "count"] == 2 and stats.loc[0, "mean"] == 3.0
    assert stats.loc[1, "count"] == 4 and stats.loc[1, "mean"] == pytest.approx(12.5)
    assert stats.loc[2, "count"] == 0 and set(stats["method"]) == {"center"}


def test_nodata_pixels_are_ignored(tmp_path):
    vals = VALUES.copy()
    vals[2, 2] = -9999.0  # value 10 missing
    stats = zonal_stats(zones(), write_raster(tmp_path / "r.tif", vals), method="exact")
    assert stats.loc[1, "count"] == pytest.approx(3.0) and stats.loc[1, "mean"] == pytest.approx((11 + 14 + 15) / 3)


def test_raster_in_another_crs_is_handled_by_reprojecting_the_zones(tmp_path):
    from kcn_gis.interop.crsdetect import to_working_frame

    z = zones()
    utm = to_working_frame(z, "EPSG:9209", target="EPSG:32648")
    x0, y1 = utm.geometry.iloc[1].bounds[0], utm.geometry.iloc[1].bounds[3]
    with rasterio.open(
        tmp_path / "u.tif",
        "w",
        driver="GTiff",
        width=2,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:32648",
        transform=Affine(200, 0.0, x0 - 100, 0.0, -(200), y1 + 100),
    ) as ds:
        ds.write(np.full((2, 2), 7.0, dtype="float32"), 1)
    stats = zonal_stats(z.iloc[[1]], tmp_path / "u.tif")
    assert stats["mean"].iloc[0] == pytest.approx(7.0)


def test_rasterize_plots_by_status(tiny_layers, tmp_path):
    plots = tiny_layers["plots"]
    path = rasterize_to_file(plots, "plots", "status", tmp_path / "plots.tif", res=10, as_of="2008-01-01")
    with rasterio.open(path) as ds:
        grid = ds.read(1)
        assert ds.crs.to_epsg() == 9209 and ds.res == (10.0, 10.0)
        cats = dict(x.split("=") for x in ds.tags()["CATEGORIES"].split(";"))
        colormap = ds.colormap(1)
    codes = {v: int(k) for k, v in cats.items()}
    # P1 40 ha leased, P2 30 ha acquired, P3 10 ha acquired (on 2008-01-01): 100 m^2 pixels
    assert (grid == codes["leased"]).sum() == 400_000 // 100
    assert (grid == codes["acquired"]).sum() == (300_000 + 100_000) // 100
    assert (grid == codes["planned"]).sum() == 0
    assert colormap[codes["leased"]][:3] == (0x31, 0x82, 0xBD)


def test_rasterize_parcels_by_stage(tiny_layers, tmp_path):
    path = rasterize_to_file(
        tiny_layers["parcels"],
        "parcels",
        "stage",
        tmp_path / "p.tif",
        res=50,
        events=tiny_layers["clearance_events"],
        as_of="2012-01-01",
    )
    with rasterio.open(path) as ds:
        grid = ds.read(1)
    cats = categories_for("parcels", "stage")
    assert (grid == cats.index("notified") + 1).sum() == 250_000 // 2_500
    assert (grid == cats.index("not_started") + 1).sum() == 250_000 // 2_500


def test_rasterize_refuses_degrees_and_bad_values(tiny_layers):
    parks = tiny_layers["parks"]
    with pytest.raises(KcnGisError, match="geographic"):
        rasterize(parks.to_crs(4326), parks["status"], categories=["operating", "preparing"], res=1)
    with pytest.raises(KcnGisError, match="not one of the categories"):
        rasterize(parks, parks["status"], categories=["operating"], res=10)


def test_check_clearance_flags_contradictions(tiny_layers, tmp_path):
    """Parcel 1 (west half of S1) handed over but green; parcel 2 notified but bare."""
    parcels = tiny_layers["parcels"]
    events = pd.DataFrame(
        {
            "event_id": ["E1", "E2", "E3", "E4", "E5", "E6"],
            "parcel_id": ["S1-1-1"] * 5 + ["S1-1-2"],
            "event": ["notified", "inventoried", "plan_approved", "compensated", "handed_over", "notified"],
            "event_date": [
                ts(d) for d in ("2011-01-01", "2011-02-01", "2011-03-01", "2011-04-01", "2011-05-01", "2011-01-01")
            ],
            "reference": [None] * 6,
            "note": [None] * 6,
            "recorded_at": [pd.Timestamp("2011-06-01")] * 6,
            "recorded_by": ["test"] * 6,
            "corrects_event_id": [None] * 6,
        }
    )
    # an NDVI-like image over S1 (E 545 000-545 500, N 2 331 000-2 332 000): west 0.8, east 0.05
    ndvi = np.zeros((10, 10), dtype="float32")
    ndvi[:, :5] = 0.8
    ndvi[:, 5:] = 0.05
    with rasterio.open(
        tmp_path / "ndvi.tif",
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float32",
        crs="EPSG:9209",
        transform=Affine(50, 0.0, E0 + 5_000, 0.0, -(100), N0 + 2_000),
    ) as ds:
        ds.write(ndvi, 1)
    out = check_clearance(parcels, events, tmp_path / "ndvi.tif", as_of="2012-01-01")
    assert out["flag"].tolist() == [FLAG_VEGETATED_HANDED_OVER, FLAG_BARE_NOTIFIED]
    assert out["mean"].round(3).tolist() == [0.8, 0.05]
    # with the stages the other way round nothing is flagged
    calm = check_clearance(parcels, events, tmp_path / "ndvi.tif", as_of="2011-01-15")
    assert calm["flag"].tolist() == ["", FLAG_BARE_NOTIFIED]
