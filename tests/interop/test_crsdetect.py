"""CRS detection and repair on synthetic files: each known mistake gets the right diagnosis."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from kcn_gis.crs import wgs84_transformer
from kcn_gis.interop.crsdetect import MISTAKES, diagnose_crs, to_working

# Points spread over Bắc Ninh (longitude, latitude, WGS 84), chosen by hand.
LON = np.array([105.98, 106.11, 106.00, 106.18, 106.09, 106.05])
LAT = np.array([21.08, 21.15, 21.23, 21.15, 21.13, 21.04])
E, N = wgs84_transformer("EPSG:9209").transform(LON, LAT, direction="INVERSE")
KEYS = [f"K{i}" for i in range(len(LON))]
REF = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "bac_ninh_vn2000_test_vectors_pyproj.csv"


def squares(x, y, crs=None, half=50.0):
    """100 m squares (or tiny squares in degrees) centred on the points."""
    geoms = [shapely.box(a - half, b - half, a + half, b + half) for a, b in zip(x, y, strict=True)]
    return gpd.GeoDataFrame({"key": KEYS}, geometry=geoms, crs=crs)


REFERENCE = squares(E, N, "EPSG:9209")


def made_with(alias):
    """Coordinates as a tool making the mistake ``alias`` would have written them."""
    definition = MISTAKES[alias][2]
    if alias == "vn2000-k0.9996":
        lon, lat = Transformer.from_crs("EPSG:9209", "EPSG:4756", always_xy=True).transform(E, N)
        return Transformer.from_crs("EPSG:4756", definition, always_xy=True).transform(lon, lat)
    return Transformer.from_crs("EPSG:4326", definition, always_xy=True).transform(LON, LAT)


def test_correct_file_without_prj_is_named_tm3_105_30_and_asks_for_crs():
    d = diagnose_crs(squares(E, N))
    assert d.kind == "tm3_105_30" and d.source == "EPSG:9209" and not d.consistent
    assert d.suggestion == "--crs EPSG:9209"
    assert "--crs EPSG:9209" in d.message


def test_declared_and_right_is_consistent():
    d = diagnose_crs(squares(E, N, "EPSG:9209"))
    assert d.consistent and d.kind == "tm3_105_30"


def test_swapped_xy_vietnamese_convention():
    d = diagnose_crs(squares(N, E, "EPSG:9209"))
    assert not d.consistent
    assert d.kind == "swapped_xy" and d.source == "EPSG:9209" and d.swap_xy
    assert "--swap-xy" in d.suggestion


def test_wgs84_degrees_labelled_as_tm3():
    pts = gpd.GeoDataFrame({"key": KEYS}, geometry=gpd.points_from_xy(LON, LAT), crs="EPSG:9209")
    d = diagnose_crs(pts)
    assert d.kind == "wgs84_degrees" and d.source == "EPSG:4326" and not d.consistent
    assert "EPSG:4326" in d.message


def test_latitude_longitude_swapped():
    pts = gpd.GeoDataFrame({"key": KEYS}, geometry=gpd.points_from_xy(LAT, LON))
    d = diagnose_crs(pts)
    assert d.kind == "swapped_xy" and d.source == "EPSG:4326"


def test_utm48_is_named_and_told_apart_with_a_reference():
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:3405", always_xy=True).transform(LON, LAT)
    d = diagnose_crs(squares(x, y, "EPSG:9209"))
    assert d.kind == "utm48" and d.source == "EPSG:3405" and not d.consistent
    assert "EPSG:5897" in d.message  # the near-twin is mentioned
    r = diagnose_crs(squares(x, y, "EPSG:9209"), reference=REFERENCE, key="key")
    assert r.kind == "utm48" and r.source == "EPSG:3405" and r.residual_m < 0.01


@pytest.mark.parametrize(("code", "cm"), [(9211, "106°00′"), (9212, "106°15′")])
def test_wrong_central_meridian_by_range(code, cm):
    x, y = Transformer.from_crs("EPSG:4326", f"EPSG:{code}", always_xy=True).transform(LON, LAT)
    d = diagnose_crs(squares(x, y, "EPSG:9209"))
    assert d.kind == "wrong_meridian" and d.source == f"EPSG:{code}"
    assert cm in d.message


def test_wrong_central_meridian_105_with_reference():
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:5897", always_xy=True).transform(LON, LAT)
    r = diagnose_crs(squares(x, y, "EPSG:9209"), reference=REFERENCE, key="key")
    assert r.kind == "wrong_meridian" and r.source == "EPSG:5897"


@pytest.mark.parametrize(
    ("alias", "kind", "size_m"),
    [
        ("vn2000-no-datum-shift", "no_datum_shift", (215.0, 235.0)),
        ("vn2000-wrong-towgs84-sign", "wrong_towgs84_sign", (0.70, 0.80)),
        ("vn2000-k0.9996", "k_0_9996", (680.0, 720.0)),
    ],
)
def test_small_systematic_mistakes_need_and_get_a_reference(alias, kind, size_m):
    x, y = made_with(alias)
    bad = squares(x, y, "EPSG:9209")
    # by ranges alone they look right ...
    assert diagnose_crs(bad).consistent
    # ... against the atlas's features they are found and measured
    r = diagnose_crs(bad, reference=REFERENCE, key="key")
    assert not r.consistent
    assert r.kind == kind and r.source == alias
    assert size_m[0] < r.offset_m < size_m[1]
    assert r.residual_m < 0.01
    assert f"--assume-crs {alias}" in r.message
    # and the repair puts them back within a millimetre
    e, n = to_working(x, y, alias)
    assert np.max(np.hypot(e - E, n - N)) < 0.001


def test_lonlat_without_datum_shift():
    """VN-2000 longitude/latitude labelled as WGS 84 (e.g. a KML written without the shift)."""
    lon, lat = Transformer.from_crs("EPSG:9209", "EPSG:4756", always_xy=True).transform(E, N)
    pts = gpd.GeoDataFrame({"key": KEYS}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    ref_pts = gpd.GeoDataFrame({"key": KEYS}, geometry=gpd.points_from_xy(E, N), crs="EPSG:9209")
    r = diagnose_crs(pts, reference=ref_pts, key="key")
    assert r.source == "vn2000-lonlat-as-wgs84" and r.kind == "no_datum_shift"
    assert 200 < r.offset_m < 250


def test_nowhere_near_bac_ninh_is_unknown():
    d = diagnose_crs(squares(np.full(6, 10.0), np.full(6, 20.0)))
    assert d.kind == "unknown" and d.source is None


@pytest.mark.skipif(not REF.exists(), reason="../shared/reference is not available")
def test_mistake_sizes_agree_with_reference_vectors():
    """The mistakes modelled here reproduce the reference test vectors (computed independently with pyproj)."""
    t = pd.read_csv(REF)
    e_true, n_true = t['epsg9209_E(=VN "y")'].to_numpy(), t['epsg9209_N(=VN "x")'].to_numpy()
    for alias, (ce, cn) in {
        "vn2000-no-datum-shift": ("no_datum_shift_E", "no_datum_shift_N"),
        "vn2000-wrong-towgs84-sign": ("wrong_rotation_sign_E", "wrong_rotation_sign_N"),
    }.items():
        e, n = to_working(t[ce].to_numpy(), t[cn].to_numpy(), alias)
        assert np.max(np.hypot(e - e_true, n - n_true)) < 0.005, alias
    e, n = to_working(t["epsg3405_utm48_E"].to_numpy(), t["epsg3405_utm48_N"].to_numpy(), "EPSG:3405")
    assert np.max(np.hypot(e - e_true, n - n_true)) < 0.005
