"""Real Bắc Ninh data from ../shared/reference (skipped when absent): import it, check districts and banks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely

from kcn_gis.interop.importers import import_file


def test_districts_import_and_sit_on_their_bank(reference_dir):
    admin = import_file(reference_dir / "bac_ninh_province_and_districts.geojson", "province", dry_run=True)
    assert admin.ok, admin.summary()
    assert admin.frame.crs.to_epsg() == 9209
    assert admin.diagnosis is not None and admin.diagnosis.kind == "wgs84_degrees" and admin.diagnosis.consistent
    raw = gpd.read_file(reference_dir / "bac_ninh_province_and_districts.geojson")
    level = raw["level"].to_numpy()
    districts = admin.frame[level == "district"]
    province = admin.frame[level == "province"]
    sides = raw.loc[level == "district", "side_of_duong"].to_numpy()
    assert len(districts) == 8
    assert sorted(sides) == ["north"] * 5 + ["south"] * 3
    # areas in EPSG:9209 agree with the areas recorded in the file (computed there in TM-3 105°30′)
    recorded = raw.loc[level == "district", "area_ha_tm3_105_30"].to_numpy(float)
    np.testing.assert_allclose(districts.geometry.area.to_numpy() / 10_000, recorded, rtol=0.002)

    rivers = import_file(reference_dir / "derived_river_proxies_from_admin_boundaries.geojson", "rivers", dry_run=True)
    assert rivers.ok, rivers.summary()
    duong = rivers.frame.iloc[[0]]
    assert "Đuống" in duong["name"].iloc[0]

    from kcn_gis.analytics import split_banks

    banks = split_banks(province, duong, river=duong["name"].iloc[0]).set_index("bank")
    for geom, side in zip(districts.geometry, sides, strict=True):
        inner = shapely.buffer(geom, -200)  # away from the shared border itself
        share_north = shapely.area(shapely.intersection(inner, banks.geometry["north"])) / shapely.area(inner)
        assert (share_north > 0.99) if side == "north" else (share_north < 0.01)


@pytest.mark.parametrize(
    ("name", "column", "rows"),
    [("bac_ninh_districts_2009.geojson", "district_vn", 8), ("bac_ninh_communes_2009.geojson", "commune_vn", 126)],
)
def test_census_boundaries_import(reference_dir, name, column, rows):
    r = import_file(reference_dir / name, "province", mapping={"columns": {column: "name"}}, dry_run=True)
    assert r.ok, r.summary()
    assert len(r.frame) == rows and r.frame.crs.to_epsg() == 9209
    assert (
        r.frame["name"].notna().all()
        and r.frame["name"].str.contains(r"^(?:Thành phố|Thị xã|Huyện|Phường|Xã|Thị trấn) ").all()
    )
    # the unmapped census columns are reported, not silently dropped
    assert {p.field for p in r.warnings} >= {"population", "district"}
