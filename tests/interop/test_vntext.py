"""Legacy Vietnamese encodings: TCVN3 (ABC) and VNI-Windows to Unicode NFC, detection, NFD."""

from __future__ import annotations

import shutil
import subprocess
import unicodedata

import pandas as pd
import pytest

from kcn_gis.interop.vntext import (
    TCVN3_TABLE,
    VIETNAMESE_LETTERS,
    decode_tcvn3,
    decode_vni,
    detect_encoding,
    encode_tcvn3,
    encode_vni,
    fix_frame,
    fix_text,
)

SAMPLES = [
    "Bắc Ninh",
    "Sông Đuống",
    "Khu công nghiệp Quế Võ",
    "Nguyễn Thị Hường",
    "Thửa đất số",
    "Xã Phượng Mao, huyện Quế Võ",
    "Đất trồng lúa nước còn lại",
    "Ủy ban nhân dân tỉnh",
    "Yên Phong mở rộng",
    "Thuận Thành",
    "Trần Quốc Tuấn",
]


def test_alphabet_has_every_letter_once():
    assert len(VIETNAMESE_LETTERS) == 146  # 12 vowels x 6 tones x 2 cases + đ Đ
    assert len(set(VIETNAMESE_LETTERS)) == 146
    assert all(unicodedata.is_normalized("NFC", ch) and len(ch) == 1 for ch in VIETNAMESE_LETTERS)
    assert len(NON_ASCII_LETTERS) == 146 - 12  # a e i o u y A E I O U Y are ASCII


NON_ASCII_LETTERS = [ch for ch in VIETNAMESE_LETTERS if not ch.isascii()]


@pytest.mark.parametrize("letter", NON_ASCII_LETTERS)
def test_tcvn3_round_trip_every_letter(letter):
    raw = encode_tcvn3(letter)
    assert len(raw) == 1
    assert decode_tcvn3(raw, upper_words=False) == letter
    # the same byte read by GDAL as ISO-8859-1 text
    assert decode_tcvn3(raw.decode("latin-1"), upper_words=False) == letter


@pytest.mark.parametrize("letter", NON_ASCII_LETTERS)
def test_vni_round_trip_every_letter(letter):
    raw = encode_vni(letter)
    assert decode_vni(raw) == letter
    assert decode_vni(raw.decode("cp1252")) == letter


def test_tcvn3_known_byte_values():
    # spot checks against the layout of TCVN 5712:1993, written independently of the table
    assert encode_tcvn3("Bắc") == b"B\xbec"
    assert encode_tcvn3("đường") == b"\xae\xad\xeang"
    assert encode_tcvn3("Đ") == b"\xa7"
    assert decode_tcvn3(b"B\xb6o Th\xbeng") == "Bảo Thắng"
    assert decode_tcvn3(b"M\xad\xeang Kh\xad\xacng") == "Mường Khương"


def test_vni_known_sequences():
    assert encode_vni("chào các bạn") == "chaøo caùc baïn".encode("cp1252")
    assert decode_vni("Ñuoáng") == "Đuống"
    assert decode_vni("Tieân Du") == "Tiên Du"
    assert decode_vni("ÑÖÔØNG") == "ĐƯỜNG"


@pytest.mark.skipif(shutil.which("iconv") is None, reason="iconv not installed")
def test_tcvn3_table_agrees_with_glibc_iconv():
    """An independent implementation of TCVN 5712 (glibc's TCVN5712-1) gives the same letters."""
    probe = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=b"a", capture_output=True)
    if probe.returncode != 0:
        pytest.skip("iconv has no TCVN5712-1")
    for byte, letter in TCVN3_TABLE.items():
        out = subprocess.run(["iconv", "-f", "TCVN5712-1", "-t", "UTF-8"], input=bytes([byte]), capture_output=True)
        assert unicodedata.normalize("NFC", out.stdout.decode("utf-8")) == letter, hex(byte)


def test_tcvn3_capital_font_words_are_upper_cased():
    # .VnTimeH text: ASCII capitals plus lower-case codes for toned letters
    assert decode_tcvn3(b"B\xbeC NINH") == "BẮC NINH"
    assert decode_tcvn3(b"B\xbec Ninh") == "Bắc Ninh"


@pytest.mark.parametrize("text", SAMPLES)
def test_detection_and_repair_of_each_encoding(text):
    tcvn = encode_tcvn3(text).decode("latin-1")
    vni = encode_vni(text).decode("cp1252")
    assert detect_encoding(tcvn) == "tcvn3"
    assert detect_encoding(vni) == "vni"
    assert fix_text(tcvn) == (text, "tcvn3")
    assert fix_text(vni) == (text, "vni")
    assert detect_encoding(text) == "unicode"
    assert fix_text(text) == (text, "")


@pytest.mark.parametrize("text", ["Tân Dân", "Hà Nội", "Café", "m²", "KCN Quế Võ", "LUC"])
def test_clean_text_is_left_alone(text):
    assert fix_text(text) == (text, "")


def test_nfd_becomes_nfc():
    nfd = unicodedata.normalize("NFD", "Nguyễn Văn Đức")
    assert nfd != "Nguyễn Văn Đức"
    fixed, how = fix_text(nfd)
    assert fixed == "Nguyễn Văn Đức" and how == "nfc"


def test_fix_frame_decides_per_column_and_reports_rows():
    frame = pd.DataFrame(
        {
            encode_tcvn3("Chủ sử dụng").decode("latin-1"): [encode_tcvn3(s).decode("latin-1") for s in SAMPLES[:3]],
            "vni": [encode_vni(s).decode("cp1252") for s in SAMPLES[3:6]],
            "nfd": [unicodedata.normalize("NFD", s) for s in SAMPLES[6:9]],
            "ascii": ["LUC", "ONT", "BHK"],
        }
    )
    fixed, changes = fix_frame(frame)
    assert list(fixed.columns) == ["Chủ sử dụng", "vni", "nfd", "ascii"]
    assert fixed["Chủ sử dụng"].tolist() == SAMPLES[:3]
    assert fixed["vni"].tolist() == SAMPLES[3:6]
    assert fixed["nfd"].tolist() == SAMPLES[6:9]
    assert fixed["ascii"].tolist() == ["LUC", "ONT", "BHK"]
    by = {(c.field, c.row): c.how for c in changes}
    assert by[("Chủ sử dụng", 2)] == "tcvn3"
    assert by[("vni", 3)] == "vni"
    assert by[("nfd", 1)] == "nfc"
    assert not any(c.field == "ascii" for c in changes)
    assert any(c.row is None and c.after == "Chủ sử dụng" for c in changes)  # the header itself


def test_forced_encoding_and_bad_name():
    raw = encode_tcvn3("Quế Võ").decode("latin-1")
    assert fix_text(raw, encoding="tcvn3")[0] == "Quế Võ"
    with pytest.raises(ValueError, match="unknown encoding"):
        fix_text("x", encoding="koi8")
