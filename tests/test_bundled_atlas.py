"""The bundled Bắc Ninh 2011 atlas: every reconciled figure recomputed independently from the geometry.

Areas here are plain geopandas ``.area`` in EPSG:9209 and plain pandas on the
tables; nothing from kcn_gis.analytics or kcn_gis.reconcile is used, so these
tests check the build script and the reconciliation code independently.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.ops import split

from kcn_gis import open_atlas
from kcn_gis.crs import to_crs
from kcn_gis.schema import STAGES, Col, Event, Layer
from kcn_gis.store import build_bundled_atlas

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
DAY = pd.Timestamp("2011-12-26")
NORTH = {"TP Bắc Ninh", "Từ Sơn", "Tiên Du", "Yên Phong", "Quế Võ"}
SOUTH = {"Thuận Thành", "Gia Bình", "Lương Tài"}
CLEARANCE = {"GB", "YP2", "TT2"}
HA = 10_000.0


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bundled") / "bac_ninh_2011.gpkg"
    build_bundled_atlas(path)
    return path


@pytest.fixture(scope="module")
def atlas(built):
    return open_atlas(built)


def _status(plots: pd.DataFrame, d: pd.Timestamp = DAY) -> tuple[pd.Series, pd.Series]:
    acquired = plots[Col.ACQUIRED_ON].le(d).fillna(False)
    ended = plots[Col.LEASE_ENDED_ON]
    leased = (plots[Col.LEASED_ON].le(d) & (ended.isna() | ended.gt(d))).fillna(False)
    return acquired.astype(bool), leased.astype(bool)


def _operating_industrial(atlas) -> gpd.GeoDataFrame:
    parks, plots = atlas.parks, atlas.plots
    op = set(parks.loc[parks[Col.STATUS] == "operating", Col.PARK_ID])
    return plots[(plots[Col.LAND_USE] == "industrial") & plots[Col.PARK_ID].isin(op)]


def _banks(atlas) -> dict[str, shapely.Geometry]:
    province = atlas.province.geometry.iat[0]
    river = atlas.rivers.loc[atlas.rivers[Col.NAME] == "Sông Đuống"].geometry.iat[0]
    pieces = sorted(split(province, river).geoms, key=lambda g: g.centroid.y)
    assert len(pieces) == 2, "the Đuống must split the province into two pieces"
    return {"south": pieces[0], "north": pieces[1]}


# ---------------------------------------------------------------------------------------------- build
def test_build_validates_and_is_small(built, atlas):
    assert [p for p in atlas.validate() if p.severity == "error"] == []
    assert built.stat().st_size < 5 * 1024 * 1024
    assert atlas.crs.to_epsg() == 9209


def test_rebuild_is_identical(built, tmp_path):
    second = tmp_path / "again.gpkg"
    build_bundled_atlas(second)
    a, b = open_atlas(built), open_atlas(second)
    for layer in Layer:
        fa, fb = a.read(layer), b.read(layer)
        if isinstance(fa, gpd.GeoDataFrame):
            assert fa.geometry.geom_equals_exact(fb.geometry, tolerance=0).all(), layer
            fa, fb = pd.DataFrame(fa.drop(columns=fa.geometry.name)), pd.DataFrame(fb.drop(columns=fb.geometry.name))
        pd.testing.assert_frame_equal(fa, fb, obj=str(layer))


# ---------------------------------------------------------------------------------------------- parks
def test_park_figures_from_geometry(atlas):
    parks = atlas.parks
    area = parks.geometry.area / HA
    assert len(parks) == 15
    assert parks[Col.PARK_ID].is_unique
    assert area.sum() == pytest.approx(6847.0, abs=0.01)
    assert area[parks[Col.DETAIL_PLAN_APPROVED]].sum() == pytest.approx(5961.0, abs=0.01)
    assert round(area[parks[Col.DETAIL_PLAN_APPROVED]].sum() / area.sum() * 100, 2) == 87.06
    assert (parks[Col.STATUS] == "operating").sum() == 9
    # listed areas are the geometric areas of the 2011 assumption
    np.testing.assert_allclose(area, parks[Col.LISTED_AREA_HA], atol=1e-4)


def test_named_parks_and_clearance_status(atlas):
    parks = atlas.parks.set_index(Col.PARK_ID)
    names = set(parks[Col.NAME])
    for name in (
        "KCN Tiên Sơn",
        "KCN Quế Võ",
        "KCN Yên Phong",
        "KCN VSIP Bắc Ninh",
        "KCN Gia Bình",
        "KCN Yên Phong II",
    ):
        assert name in names
    for pid in CLEARANCE:
        assert parks.at[pid, Col.STATUS] in ("construction", "preparing")


def test_parks_are_schematic_polygons_that_do_not_overlap(atlas):
    parks = atlas.parks
    province = atlas.province.geometry.iat[0]
    for g in parks.geometry:
        assert province.contains(g)
        n = len(g.exterior.coords) - 1
        assert n >= 6, "a schematic park is an irregular polygon, not a plain rectangle"
        roundness = 4 * np.pi * g.area / g.length**2
        assert roundness < 0.85, "not a circle"
    g = parks.geometry.to_numpy()
    for i in range(len(g)):
        for j in range(i + 1, len(g)):
            assert g[i].intersection(g[j]).area == 0.0


def test_parks_lie_on_the_bank_of_their_district(atlas):
    banks = _banks(atlas)
    river = atlas.rivers.geometry.iat[0]
    for _, park in atlas.parks.iterrows():
        side = "north" if park[Col.DISTRICT] in NORTH else "south"
        assert park[Col.DISTRICT] in NORTH | SOUTH
        assert banks[side].contains(park.geometry), park[Col.PARK_ID]
        assert not park.geometry.intersects(river)
    assert banks["north"].area > banks["south"].area


@pytest.mark.skipif(not REFERENCE.exists(), reason="../shared/reference is not available")
def test_reference_districts_fall_on_the_right_side_of_the_river(atlas):
    ref = gpd.read_file(REFERENCE / "bac_ninh_province_and_districts.geojson")
    districts = ref[ref["level"] == "district"]
    pts = gpd.GeoDataFrame(districts[["name", "side_of_duong"]], geometry=districts.representative_point(), crs=ref.crs)
    pts = to_crs(pts, "EPSG:9209", what="reference districts")
    banks = _banks(atlas)
    assert len(pts) == 8
    for _, row in pts.iterrows():
        assert banks[row["side_of_duong"]].contains(row.geometry), row["name"]


# ---------------------------------------------------------------------------------------------- plots
def test_fill_rate_figures_from_geometry(atlas):
    ind = _operating_industrial(atlas)
    area = ind.geometry.area / HA
    acquired, leased = _status(ind)
    planned_ha, acquired_ha, leased_ha = area.sum(), area[acquired].sum(), area[leased].sum()
    assert abs(planned_ha - 2093) < 0.5
    assert abs(acquired_ha - 1615) < 0.5
    assert abs(leased_ha - 1217) < 0.5
    assert round(leased_ha / planned_ha * 100, 2) == 58.16
    assert round(leased_ha / acquired_ha * 100, 2) == 75.38


def test_plots_tile_their_parks_without_overlap(atlas):
    parks = atlas.parks.set_index(Col.PARK_ID)
    plots = atlas.plots
    op = set(parks.index[parks[Col.STATUS] == "operating"])
    assert set(plots[Col.PARK_ID]) == op
    assert plots[Col.PLOT_ID].is_unique
    for pid, group in plots.groupby(Col.PARK_ID):
        park = parks.at[pid, "geometry"]
        assert group.geometry.area.sum() == pytest.approx(park.area, rel=1e-9)
        outside = group.geometry.difference(park).area
        assert outside.max() < 1.0, f"plots of {pid} leave their park"
        assert {"industrial", "infrastructure", "green"} <= set(group[Col.LAND_USE])
    i, j = plots.sindex.query(plots.geometry, predicate="intersects")
    keep = i < j
    overlap = shapely.area(shapely.intersection(plots.geometry.values[i[keep]], plots.geometry.values[j[keep]]))
    assert overlap.max() < 1.0


def test_industrial_plot_sizes_and_dates(atlas):
    ind = _operating_industrial(atlas)
    ha = ind.geometry.area / HA
    assert ha.min() >= 0.999 and ha.max() <= 30.0
    assert 1.5 < ha.median() < 8.0
    acq, lease = ind[Col.ACQUIRED_ON], ind[Col.LEASED_ON]
    assert acq.min() >= pd.Timestamp("2000-12-01") and acq.max() <= DAY
    assert lease.max() <= DAY
    assert (lease.dropna() >= acq[lease.notna()]).all(), "a plot is acquired before it is leased"
    assert lease.notna().sum() > 0 and acq.dt.year.nunique() >= 8
    first = ind.loc[acq.idxmin(), Col.PARK_ID]
    assert first == "TS", "Tiên Sơn is the first park (groundbreaking 12/2000)"


# ---------------------------------------------------------------------------------------------- projects
def test_project_figures(atlas):
    projects, plots = atlas.projects, atlas.plots
    revoked = projects[Col.REVOKED_ON].le(DAY).fillna(False)
    valid = projects[Col.LICENSED_ON].le(DAY) & ~revoked
    assert valid.sum() == 527
    assert revoked.sum() == 68
    assert projects.loc[valid, Col.REGISTERED_CAPITAL_USD].sum() == pytest.approx(4.1e9, rel=1e-9)
    assert (valid & projects[Col.OPERATING_SINCE].le(DAY).fillna(False)).sum() == 263
    assert projects.loc[valid, Col.WORKERS].sum() == 87_053
    assert projects.loc[valid, Col.LOCAL_WORKERS].sum() == 35_655
    assert projects.loc[valid, Col.FEMALE_WORKERS].sum() == 61_575
    assert (projects[Col.LOCAL_WORKERS] <= projects[Col.WORKERS]).all()
    assert (projects[Col.FEMALE_WORKERS] <= projects[Col.WORKERS]).all()
    # 4.1 bn / 527 is 7.78 M USD per project (the report prints 7.73)
    assert round(projects.loc[valid, Col.REGISTERED_CAPITAL_USD].sum() / 1e6 / valid.sum(), 2) == 7.78
    ind = _operating_industrial(atlas)
    _, leased = _status(ind)
    by_valid = ind[Col.PROJECT_ID].isin(set(projects.loc[valid, Col.PROJECT_ID]))
    assert abs((ind.geometry.area[leased & by_valid] / HA).sum() - 1152) < 0.5
    # revoked projects' plots: the lease ended on the revocation date
    rev = projects.loc[revoked].set_index(Col.PROJECT_ID)[Col.REVOKED_ON]
    their = plots[plots[Col.PROJECT_ID].isin(rev.index)]
    assert len(their) > 0
    assert (their[Col.LEASE_ENDED_ON] == their[Col.PROJECT_ID].map(rev)).all()


def test_named_tenants_sit_in_their_real_parks(atlas):
    projects, plots = atlas.projects, atlas.plots
    park_of = plots.dropna(subset=[Col.PROJECT_ID]).groupby(Col.PROJECT_ID)[Col.PARK_ID].agg(set)
    found = {}
    for key, park in (("Samsung", {"YP"}), ("Canon", {"QV", "TS"}), ("ABB", {"TS"}), ("Nokia", {"VSIP"})):
        ids = projects.loc[projects[Col.INVESTOR].str.contains(key, regex=False), Col.PROJECT_ID]
        parks = set().union(*(park_of.get(i, set()) for i in ids))
        found[key] = parks
        assert parks and parks <= park, key
    samsung = projects.loc[projects[Col.INVESTOR].str.contains("Samsung"), Col.PROJECT_ID].iat[0]
    assert (plots.loc[plots[Col.PROJECT_ID] == samsung].geometry.area.sum() / HA) == pytest.approx(100.0, abs=0.01)


# ---------------------------------------------------------------------------------------------- parcels
def test_parcels_cover_the_clearance_parks(atlas):
    parcels, parks = atlas.parcels, atlas.parks.set_index(Col.PARK_ID)
    assert set(parcels[Col.PARK_ID]) == CLEARANCE
    assert parcels[Col.PARCEL_ID].is_unique
    for pid, group in parcels.groupby(Col.PARK_ID):
        assert group.geometry.area.sum() == pytest.approx(parks.at[pid, "geometry"].area, rel=1e-6)
        assert 1000 <= len(group) <= 4000
    area = parcels.geometry.area
    household = parcels[Col.HOLDER_TYPE] == "household"
    assert ((area >= 200) & (area <= 2000))[household].mean() > 0.8
    assert (parcels[Col.LAND_TYPE] == "LUC").mean() > 0.6
    assert {"ONT", "LUC", "DTL"} <= set(parcels[Col.LAND_TYPE])
    assert parcels.loc[household, Col.HOLDER_NAME].str.startswith("Hộ Giả Định ").all()
    assert parcels[[Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO]].notna().all().all()
    communes = parcels.groupby(Col.PARK_ID)[Col.COMMUNE].agg(set)
    assert communes["GB"] == {"Xã Đông Cứu", "Xã Lãng Ngâm", "Xã Đại Bái"}
    assert communes["TT2"] == {"Xã Mão Điền", "Xã An Bình"}
    i, j = parcels.sindex.query(parcels.geometry, predicate="intersects")
    keep = i < j
    overlap = shapely.area(shapely.intersection(parcels.geometry.values[i[keep]], parcels.geometry.values[j[keep]]))
    assert overlap.max() < 1.0


def test_clearance_history_is_ordered_and_slow(atlas):
    ev, parcels = atlas.clearance_events, atlas.parcels
    assert ev[Col.EVENT_ID].is_unique
    assert (ev[Col.RECORDED_BY] == "bundled-2011-reconstruction").all()
    assert ev[Col.EVENT_DATE].max() <= DAY
    assert set(ev[Col.PARCEL_ID]) <= set(parcels[Col.PARCEL_ID])
    stage_rank = {str(s): k for k, s in enumerate(STAGES)}
    stages = ev[ev[Col.EVENT].isin(stage_rank)].copy()
    stages["rank"] = stages[Col.EVENT].map(stage_rank)
    for _, g in stages.groupby(Col.PARCEL_ID):
        g = g.sort_values("rank")
        assert list(g["rank"]) == list(range(len(g))), "stages are reached in order, none skipped"
        assert g[Col.EVENT_DATE].is_monotonic_increasing
    park_of = parcels.set_index(Col.PARCEL_ID)[Col.PARK_ID]
    last = stages.sort_values("rank").groupby(Col.PARCEL_ID)["rank"].max()
    handed = (last == stage_rank[str(Event.HANDED_OVER)]).groupby(park_of).sum() / parcels.groupby(Col.PARK_ID).size()
    assert handed.get("TT2", 0) > 0.3
    assert handed.get("GB", 0) == 0 and handed.get("YP2", 0) == 0
    started = last.groupby(park_of).size() / parcels.groupby(Col.PARK_ID).size()
    assert started["GB"] < 0.3 and started["YP2"] < 0.35 and started["TT2"] > 0.9
    # open complaints and stalled parcels exist for reviews to show
    comp = ev[ev[Col.EVENT] == "complaint"][Col.PARCEL_ID]
    resolved = set(ev[ev[Col.EVENT] == "complaint_resolved"][Col.PARCEL_ID])
    assert len(set(comp) - resolved) >= 5
    notified_only = last[last == 0].index
    old = stages[stages[Col.PARCEL_ID].isin(notified_only)][Col.EVENT_DATE] < pd.Timestamp("2011-01-01")
    assert old.sum() >= 10, "some parcels stalled since their 2010 notification"
