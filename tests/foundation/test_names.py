"""Names as people type them: park ids without case, names without diacritics, one string = one item."""

from __future__ import annotations

import unicodedata

import pytest

from kcn_gis.errors import KcnGisError, UnknownNameError
from kcn_gis.names import as_items, fold, resolve_park_ids, same_name


def test_fold_drops_case_diacritics_and_spaces_in_nfc_and_nfd():
    assert fold("Sông  Đuống") == "song duong"
    assert fold(unicodedata.normalize("NFD", "Thuận Thành")) == fold("Thuận Thành") == "thuan thanh"
    assert same_name("KCN Quế Võ", "kcn que vo") and not same_name("Quế Võ", "Quế Võ II")


def test_a_single_string_is_one_item():
    assert as_items("industrial") == ["industrial"]
    assert as_items(("a", "b")) == ["a", "b"] and as_items(None) is None


IDS = ["GB", "QV", "QV2", "TT2"]
NAMES = {"GB": ["KCN Gia Bình", "Gia Binh Industrial Park"], "QV": ["KCN Quế Võ", ""], "QV2": ["KCN Quế Võ II", None]}


@pytest.mark.parametrize(
    ("typed", "want"),
    [
        ("GB", ["GB"]),
        ("gb", ["GB"]),
        ("Gia Bình", ["GB"]),
        ("gia binh", ["GB"]),
        ("KCN GIA BÌNH", ["GB"]),
        ("gia binh industrial park", ["GB"]),
        ("que vo ii", ["QV2"]),
        (["tt2", "GB", "gb"], ["TT2", "GB"]),
    ],
)
def test_park_ids_and_names_resolve(typed, want):
    assert resolve_park_ids(typed, IDS, names=NAMES) == want


def test_unknown_park_lists_the_parks():
    with pytest.raises(UnknownNameError, match=r"unknown park id\(s\) 'Yên Phong'; parks: GB, QV, QV2, TT2") as e:
        resolve_park_ids(["GB", "Yên Phong"], IDS, names=NAMES)
    assert isinstance(e.value, KcnGisError) and isinstance(e.value, ValueError)
    assert resolve_park_ids(None, IDS) is None


def test_land_uses_as_one_string_is_one_land_use():
    from kcn_gis.analytics._common import check_land_uses

    assert check_land_uses("industrial") == ("industrial",)
    with pytest.raises(KcnGisError, match="land_uses"):
        check_land_uses("industrail")
