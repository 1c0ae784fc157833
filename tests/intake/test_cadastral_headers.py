"""The headers of Vietnamese cadastral software exports map to the data model without a mapping file."""

from __future__ import annotations

import pytest

from kcn_gis.interop.importers.mapping import COMMUNE_CODE, HOLDER_ADDRESS, ColumnMapping, commune_code
from kcn_gis.schema import Layer


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("SoTo", "map_sheet"),
        ("SHBanDo", "map_sheet"),
        ("ToBanDo", "map_sheet"),
        ("SoThua", "parcel_no"),
        ("SHThua", "parcel_no"),
        ("LoaiDat", "land_type"),
        ("MDSD", "land_type"),
        ("KyHieuMDSD", "land_type"),
        ("DienTich", "legal_area_m2"),
        ("DTPL", "legal_area_m2"),
        ("TenChu", "holder_name"),
        ("ChuSuDung", "holder_name"),
        ("HoTen", "holder_name"),
        ("TenXa", "commune"),
        ("MaXa", COMMUNE_CODE),
        ("DiaChi", HOLDER_ADDRESS),
        ("SO_TO", "map_sheet"),  # case and punctuation do not matter
        ("Số thửa", "parcel_no"),
    ],
)
def test_cadastral_export_headers(header, column):
    mapped, unmapped = ColumnMapping().resolve([header], Layer.PARCELS)
    assert mapped == {header: column} and unmapped == []


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Xã Mão Điền", "MD"),  # as data/geo/clearance_communes.csv codes the bundled atlas's communes
        ("Xã Đông Tiến", "DT"),
        ("Xã Hòa Tiến", "HT"),
        ("Xã Lãng Ngâm", "LN"),
        ("Đại Bái", "DB"),
        ("Phường Vân Dương", "VD"),
        ("Thị trấn Chờ", "C"),
    ],
)
def test_commune_code_as_in_the_bundled_atlas(name, code):
    assert commune_code(name) == code


def test_commune_codes_agree_with_the_bundled_atlas():
    import kcn_gis

    parcels = kcn_gis.open_atlas().parcels
    codes = parcels["parcel_id"].str.split("-").str[1]
    derived = parcels["commune"].map(commune_code)
    assert (codes == derived).all()
