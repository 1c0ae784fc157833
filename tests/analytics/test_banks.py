"""split_banks: the province split by the river, with extension, clipping, meanders and clear errors."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from kcn_gis.analytics import split_banks
from kcn_gis.errors import CRSError, RiverSplitError
from kcn_gis.schema import Col, Layer
from tests.conftest import CRS, E0, N0, box, make_layers


def river(*coords, name="Sông Đuống"):
    line = shapely.LineString([(E0 + x, N0 + y) for x, y in coords])
    return gpd.GeoDataFrame({Col.NAME: [name]}, geometry=[line], crs=CRS)


@pytest.fixture
def province():
    return make_layers()[Layer.PROVINCE]


def areas_ha(banks):
    return dict(zip(banks["bank"], banks.area / 10_000, strict=True))


def test_straight_river_halves(province):
    banks = split_banks(province, make_layers()[Layer.RIVERS])
    assert list(banks["bank"]) == ["north", "south"]
    assert banks.crs == province.crs
    assert areas_ha(banks) == pytest.approx({"north": 5_000.0, "south": 5_000.0})
    north, south = banks.geometry
    assert north.centroid.y > south.centroid.y


def test_river_stopping_short_is_extended_along_its_ends(province):
    # from (1 000, 5 000) to (9 000, 5 500): slope 1/16; extended to x=0 at y 4 937.5 and x=10 000 at y 5 562.5,
    # so the north bank is a trapezoid of mean height (5 062.5 + 4 437.5) / 2 = 4 750 m over 10 000 m = 4 750 ha
    banks = split_banks(province, river((1_000, 5_000), (9_000, 5_500)))
    assert areas_ha(banks) == pytest.approx({"north": 4_750.0, "south": 5_250.0})


def test_river_overshooting_is_clipped(province):
    banks = split_banks(province, river((-3_000, 5_000), (14_000, 5_000)))
    assert areas_ha(banks) == pytest.approx({"north": 5_000.0, "south": 5_000.0})


def test_vertical_river_names_banks_by_centroid(province):
    # a river from the south edge to the north edge along a diagonal: centroids differ in y
    banks = split_banks(province, river((0, 0), (10_000, 10_000)))
    north, south = banks.geometry
    assert north.centroid.y > south.centroid.y
    assert areas_ha(banks) == pytest.approx({"north": 5_000.0, "south": 5_000.0})
    assert north.contains(shapely.Point(E0 + 1_000, N0 + 9_000))


def test_river_leaving_and_reentering_is_merged_by_side(province):
    # the river dips out through the south edge between x 4 000 and 6 000: three pieces; the channel between
    # them belongs to the north bank: south = 2 x 4 000 m x 5 000 m = 4 000 ha
    banks = split_banks(
        province, river((0, 5_000), (4_000, 5_000), (4_000, -1_000), (6_000, -1_000), (6_000, 5_000), (10_000, 5_000))
    )
    assert areas_ha(banks) == pytest.approx({"north": 6_000.0, "south": 4_000.0})
    assert banks.geometry[0].contains(shapely.Point(E0 + 5_000, N0 + 1_000))


def test_disconnected_parts_are_joined(province):
    parts = gpd.GeoDataFrame(
        {Col.NAME: ["Sông Đuống", "Sông Đuống"]},
        geometry=[
            shapely.LineString([(E0, N0 + 5_000), (E0 + 4_000, N0 + 5_000)]),
            shapely.LineString([(E0 + 4_100, N0 + 5_000), (E0 + 10_000, N0 + 5_000)]),
        ],
        crs=CRS,
    )
    assert areas_ha(split_banks(province, parts)) == pytest.approx({"north": 5_000.0, "south": 5_000.0})


def test_province_with_hole_and_multipolygon():
    # two squares (10 000 ha and 100 ha), the big one with a 1 000 m x 1 000 m hole north of the river
    big = shapely.Polygon(box(0, 0, 10_000, 10_000).exterior.coords, [box(2_000, 7_000, 3_000, 8_000).exterior.coords])
    island = box(20_000, 0, 21_000, 1_000)  # a detached part, south of the river line's extension
    province = gpd.GeoDataFrame({Col.NAME: ["Tỉnh"]}, geometry=[shapely.MultiPolygon([big, island])], crs=CRS)
    banks = split_banks(province, river((0, 5_000), (10_000, 5_000)))
    # the detached square is not cut: it is a piece of its own, south of the (extended) river line
    assert areas_ha(banks) == pytest.approx({"north": 4_900.0, "south": 5_100.0})


def test_unknown_river_lists_available_names(province):
    with pytest.raises(RiverSplitError, match=r"no river named 'Sông Hồng'.*available names: 'Sông Cầu', 'Sông Đuống'"):
        split_banks(
            province,
            gpd.GeoDataFrame(
                {Col.NAME: ["Sông Đuống", "Sông Cầu"]},
                geometry=[shapely.LineString([(E0, N0), (E0 + 1, N0 + 1)])] * 2,
                crs=CRS,
            ),
            river="Sông Hồng",
        )


def test_river_outside_province_is_an_error(province):
    with pytest.raises(RiverSplitError, match="does not cross the province"):
        split_banks(province, river((20_000, 0), (30_000, 0)))


def test_river_touching_only_one_side_is_an_error(province):
    # touches the west edge at a single point from outside
    with pytest.raises(RiverSplitError, match="does not cross the province"):
        split_banks(province, river((-1_000, 1_000), (0, 2_000), (-1_000, 3_000)))
    # runs along the south edge: no piece is cut off
    with pytest.raises(RiverSplitError, match="does not cut the province in two"):
        split_banks(province, river((0, 0), (10_000, 0)))


def test_geographic_crs_is_refused(province):
    with pytest.raises(CRSError, match="geographic"):
        split_banks(province.to_crs("EPSG:4326"), make_layers()[Layer.RIVERS])
    with pytest.raises(CRSError, match="reproject"):
        split_banks(province, make_layers()[Layer.RIVERS].to_crs("EPSG:3405"))


@pytest.mark.parametrize(
    "coords",
    [
        ((-1_234.567, 4_321.123), (11_111.1, 5_678.9)),  # overshoots, crossings at non-round coordinates
        ((1_234.567, 4_521.123), (8_111.1, 5_278.9)),  # stops short at both ends, oblique
    ],
)
def test_oblique_rivers_split_exactly(province, coords):
    (xa, ya), (xb, yb) = coords
    slope = (yb - ya) / (xb - xa)
    y_west, y_east = ya - xa * slope, ya + (10_000 - xa) * slope
    north_ha = 10_000 * (10_000 - (y_west + y_east) / 2) / 10_000
    banks = split_banks(province, river(*coords))
    assert areas_ha(banks) == pytest.approx({"north": north_ha, "south": 10_000 - north_ha}, abs=1e-3)


def test_river_name_matches_without_diacritics_and_case(province):
    """``--river "song duong"`` finds the Sông Đuống, as the map search does."""
    want = areas_ha(split_banks(province, make_layers()[Layer.RIVERS]))
    for typed in ("song duong", "SÔNG ĐUỐNG", "  Sông   Đuống "):
        got = split_banks(province, make_layers()[Layer.RIVERS], river=typed)
        assert areas_ha(got) == pytest.approx(want)
    with pytest.raises(RiverSplitError, match="no river named 'song cau'"):
        split_banks(province, make_layers()[Layer.RIVERS], river="song cau")
