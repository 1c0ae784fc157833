"""CRS discipline and the VN-2000 -> WGS 84 conversion (EPSG:6960)."""

from __future__ import annotations

import csv
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from kcn_gis.crs import require_projected, to_crs, to_wgs84, wgs84_transformer
from kcn_gis.errors import CRSError

# Test vectors: WGS 84 lon/lat and EPSG:9209 E/N of OSM bounding-box centres of three parks, as listed in
# ../shared/reference/bac_ninh_vn2000_test_vectors_pyproj.csv (computed with pyproj/PROJ 9.5.1 and EPSG:6960).
VECTORS = [
    ("VSIP Bắc Ninh", 105.9835287, 21.0800324, 550045.260, 2331889.619),
    ("Quế Võ", 106.1148912, 21.1542444, 563663.054, 2340152.823),
    ("Thuận Thành 3", 106.05691, 21.042315, 557684.695, 2327738.821),
]
REFERENCE_CSV = (
    Path(__file__).resolve().parents[2].parent / "shared" / "reference" / "bac_ninh_vn2000_test_vectors_pyproj.csv"
)


def _points(rows):
    return gpd.GeoDataFrame(geometry=[shapely.Point(e, n) for *_, e, n in rows], crs="EPSG:9209")


def test_to_wgs84_matches_the_epsg6960_vectors():
    out = to_wgs84(_points(VECTORS))
    lon = out.geometry.x.to_numpy()
    lat = out.geometry.y.to_numpy()
    exp_lon = np.array([r[1] for r in VECTORS])
    exp_lat = np.array([r[2] for r in VECTORS])
    # 1e-7 degree is about 1 cm.
    np.testing.assert_allclose(lon, exp_lon, atol=1e-7)
    np.testing.assert_allclose(lat, exp_lat, atol=1e-7)
    assert out.crs.to_epsg() == 4326


def test_transformer_is_epsg6960_not_a_ballpark():
    t = wgs84_transformer("EPSG:9209")
    assert "VN-2000 to WGS 84 (2)" in t.description
    # A ballpark conversion that ignores the datum shift lands ~224 m away (VN2000_BAC_NINH.md, pitfall 1).
    no_shift = "+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +ellps=WGS84 +towgs84=0,0,0 +units=m"
    ballpark = Transformer.from_crs(no_shift, "EPSG:4326", always_xy=True)
    lon_b, lat_b = ballpark.transform(550045.260, 2331889.619)
    fwd = Transformer.from_crs("EPSG:4326", "EPSG:9209", always_xy=True)
    e1, n1 = fwd.transform(lon_b, lat_b)
    assert 200 < np.hypot(e1 - 550045.260, n1 - 2331889.619) < 250


def test_round_trip_wgs84_and_back_is_centimetric():
    pts = _points(VECTORS)
    back = to_crs(to_wgs84(pts), "EPSG:9209")
    d = shapely.distance(np.asarray(pts.geometry.values), np.asarray(back.geometry.values))
    assert float(d.max()) < 0.01


@pytest.mark.skipif(not REFERENCE_CSV.exists(), reason="../shared/reference is not present (fresh clone)")
def test_all_reference_vectors():
    with REFERENCE_CSV.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    e = [float(r['epsg9209_E(=VN "y")']) for r in rows]
    n = [float(r['epsg9209_N(=VN "x")']) for r in rows]
    out = to_wgs84(gpd.GeoDataFrame(geometry=gpd.points_from_xy(e, n), crs="EPSG:9209"))
    np.testing.assert_allclose(out.geometry.x, [float(r["wgs84_lon"]) for r in rows], atol=1e-7)
    np.testing.assert_allclose(out.geometry.y, [float(r["wgs84_lat"]) for r in rows], atol=1e-7)


def test_require_projected_raises_on_geographic_and_missing():
    g = gpd.GeoDataFrame(geometry=[shapely.Point(106, 21)], crs="EPSG:4326")
    with pytest.raises(CRSError, match="geographic CRS EPSG:4326"):
        require_projected(g, "plots")
    with pytest.raises(CRSError, match="plots has no CRS.*set_crs"):
        require_projected(g.set_crs(None, allow_override=True), "plots")
    assert require_projected(g.to_crs(9209)).to_epsg() == 9209


def test_to_crs_logs_reprojection(caplog):
    g = gpd.GeoDataFrame(geometry=[shapely.Point(106, 21)], crs="EPSG:4326")
    with caplog.at_level("INFO", logger="kcn_gis.crs"):
        to_crs(g, "EPSG:9209", what="parks")
    assert "reprojecting parks" in caplog.text
