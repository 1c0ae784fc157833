"""Vietnamese text repair: legacy TCVN3 (ABC) and VNI-Windows to Unicode NFC.

Cadastral data from older MicroStation/Famis and MapInfo workflows often
stores attribute text in one of two pre-Unicode encodings:

* **TCVN3 (ABC)**, the 8-bit code of TCVN 5712:1993. Every Vietnamese letter is
  one byte. The ABC fonts use the "VN3" subset (lower-case letters with tones
  and the 14 base letters Ă Â Ê Ô Ơ Ư Đ ă â ê ô ơ ư đ); upper case letters with
  tones are drawn by "capital" fonts (``.VnTimeH``) from the *lower-case* codes.
  The remaining positions of the full table (VN1: 0x80-0x9F, a few gaps in
  0xAF-0xFF and 0x01-0x17) hold the upper-case letters with tones, and
  0xB0-0xB4 the five combining tone marks.
* **VNI-Windows**, a font encoding: a base letter followed by one modifier byte
  (e.g. ``a`` + ``ù`` = ``á``), a few one-byte letters (``ô`` = ơ, ``ö`` = ư,
  ``ñ`` = đ, ``í ì æ ó ò`` = í ì ỉ ĩ ị, ``î`` = ỵ).

Both arrive in Python as text mis-decoded by GDAL as ISO-8859-1 or
Windows-1252 (``"B¾c Ninh"``, ``"Baéc Ninh"``). This module recovers the
bytes and decodes them. The tables are written here from the layout of the
standard (see :data:`TCVN3_TABLE` and :data:`VNI_TABLE`) and tested by a round
trip through every Vietnamese letter.

Bytes that are valid UTF-8 are UTF-8: a column whose every non-ASCII value,
taken back to its bytes, decodes as UTF-8 (a DBF written in UTF-8 but read
as ISO-8859-1 because it has no ``.cpg``: ``"NguyÃ¡Â»Â..."``) is decoded as
UTF-8, and the legacy tables are not tried on it. Legacy detection applies only
to text that is not valid UTF-8 (or when ``encoding=`` names a table).

Detection (:func:`detect_encoding`) decodes a text with each candidate table
and scores the result: words that are well-formed Vietnamese syllables count
for it, malformed words and left-over symbols (``¾``, ``ø``, a soft hyphen)
against it. Ties keep the text unchanged, so clean Unicode and plain ASCII
are never touched beyond NFC normalisation.
"""

from __future__ import annotations

import contextlib
import logging
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "ENCODINGS",
    "TCVN3_TABLE",
    "VIETNAMESE_LETTERS",
    "VNI_TABLE",
    "TextChange",
    "changes_frame",
    "decode_tcvn3",
    "decode_vni",
    "detect_encoding",
    "encode_tcvn3",
    "encode_vni",
    "fix_frame",
    "fix_text",
]

log = logging.getLogger(__name__)

#: Names accepted by ``encoding=`` in this module (and ``kcn-gis import --encoding``).
ENCODINGS: tuple[str, ...] = ("auto", "unicode", "tcvn3", "vni")

# ---------------------------------------------------------------------------------------------------
# The Vietnamese alphabet. Vowels are listed with their tones in the order used by both legacy tables:
# no tone, huyền (grave), hỏi (hook above), ngã (tilde), sắc (acute), nặng (dot below).
_TONES = ("", "\u0300", "\u0309", "\u0303", "\u0301", "\u0323")
_VOWEL_BASES = ("a", "ă", "â", "e", "ê", "i", "o", "ô", "ơ", "u", "ư", "y")


def _toned(base: str, tone: int) -> str:
    return unicodedata.normalize("NFC", base + _TONES[tone])


#: Every letter of the Vietnamese alphabet with and without tones, lower and upper case (NFC),
#: plus đ/Đ: 12 vowels x 6 tones x 2 cases + 2 = 146 letters; the ASCII letters are not included.
VIETNAMESE_LETTERS: tuple[str, ...] = tuple(
    [_toned(b, t) for b in _VOWEL_BASES for t in range(6)]
    + [_toned(b, t).upper() for b in _VOWEL_BASES for t in range(6)]
    + ["đ", "Đ"]
)

# ---------------------------------------------------------------------------------------------------
# TCVN 5712:1993 (TCVN3). Byte positions of each toned vowel, per base, in tone order
# (huyền, hỏi, ngã, sắc, nặng). Lower case (the VN3 subset used by the ABC fonts):
_TCVN3_LOWER: dict[str, tuple[int, int, int, int, int]] = {
    "a": (0xB5, 0xB6, 0xB7, 0xB8, 0xB9),
    "ă": (0xBB, 0xBC, 0xBD, 0xBE, 0xC6),
    "â": (0xC7, 0xC8, 0xC9, 0xCA, 0xCB),
    "e": (0xCC, 0xCE, 0xCF, 0xD0, 0xD1),
    "ê": (0xD2, 0xD3, 0xD4, 0xD5, 0xD6),
    "i": (0xD7, 0xD8, 0xDC, 0xDD, 0xDE),
    "o": (0xDF, 0xE1, 0xE2, 0xE3, 0xE4),
    "ô": (0xE5, 0xE6, 0xE7, 0xE8, 0xE9),
    "ơ": (0xEA, 0xEB, 0xEC, 0xED, 0xEE),
    "u": (0xEF, 0xF1, 0xF2, 0xF3, 0xF4),
    "ư": (0xF5, 0xF6, 0xF7, 0xF8, 0xF9),
    "y": (0xFA, 0xFB, 0xFC, 0xFD, 0xFE),
}
# Upper case with tones (the full VN1 table: C1 controls area, 0x80-0x9F and the gaps of VN3).
_TCVN3_UPPER: dict[str, tuple[int, int, int, int, int]] = {
    "A": (0x80, 0x81, 0x82, 0x83, 0x84),
    "Ă": (0xAF, 0xBA, 0xBF, 0xC0, 0x85),
    "Â": (0xC1, 0xC2, 0xC3, 0xC4, 0x86),
    "E": (0x87, 0x88, 0x89, 0x8A, 0x8B),
    "Ê": (0xC5, 0xCD, 0xD9, 0xDA, 0x8C),
    "I": (0x8D, 0x8E, 0x8F, 0x90, 0x91),
    "O": (0x92, 0x93, 0x94, 0x95, 0x96),
    "Ô": (0xDB, 0xE0, 0xF0, 0xFF, 0x97),
    "Ơ": (0x98, 0x99, 0x9A, 0x9B, 0x9C),
    "U": (0x9D, 0x9E, 0x9F, 0x01, 0x02),
    "Ư": (0x04, 0x05, 0x06, 0x11, 0x12),
    "Y": (0x13, 0x14, 0x15, 0x16, 0x17),
}
_TCVN3_SINGLE: dict[int, str] = {
    0xA1: "Ă",
    0xA2: "Â",
    0xA3: "Ê",
    0xA4: "Ô",
    0xA5: "Ơ",
    0xA6: "Ư",
    0xA7: "Đ",
    0xA8: "ă",
    0xA9: "â",
    0xAA: "ê",
    0xAB: "ô",
    0xAC: "ơ",
    0xAD: "ư",
    0xAE: "đ",
    # combining tone marks of VN1
    0xB0: "\u0300",
    0xB1: "\u0309",
    0xB2: "\u0303",
    0xB3: "\u0301",
    0xB4: "\u0323",
}


def _build_tcvn3() -> dict[int, str]:
    table = dict(_TCVN3_SINGLE)
    for group in (_TCVN3_LOWER, _TCVN3_UPPER):
        for base, codes in group.items():
            for tone, code in enumerate(codes, start=1):
                if code in table:  # pragma: no cover - guards the hand-written table
                    raise AssertionError(f"TCVN3 byte {code:#x} assigned twice")
                table[code] = _toned(base, tone)
    return table


#: TCVN3 byte -> Unicode letter (NFC) for every non-ASCII position of TCVN 5712:1993 VN1.
TCVN3_TABLE: dict[int, str] = _build_tcvn3()
# Bytes of the VN1 upper-case positions that are C0 control codes (decoded by decode_tcvn3 only).
_TCVN3_CONTROL_CODES = frozenset(b for b in TCVN3_TABLE if b < 0x20)
_TCVN3_LOWER_CODES = frozenset(c for codes in _TCVN3_LOWER.values() for c in codes) | set(range(0xA8, 0xAF))
_TCVN3_ENCODE: dict[str, int] = {v: k for k, v in TCVN3_TABLE.items() if len(v) == 1 and not unicodedata.combining(v)}

# ---------------------------------------------------------------------------------------------------
# VNI-Windows. Modifier bytes (as Windows-1252 characters) appended to a base letter, per tone order
# (huyền, hỏi, ngã, sắc, nặng), lower case; upper case uses the upper-case form of each modifier.
_VNI_PLAIN_TONES = ("ø", "û", "õ", "ù", "ï")  # a e o u y (and ơ ư, which are one byte)
_VNI_CIRCUMFLEX = ("à", "å", "ã", "á", "ä")  # â ê ô: base + these; "â" alone is the circumflex
_VNI_BREVE = ("è", "ú", "ü", "é", "ë")  # ă: "a" + these; "ê" alone is the breve


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {}

    def add(code: str, letter: str) -> None:
        for c, lt in ((code, letter), (code.upper(), letter.upper())):
            if c in table and table[c] != lt:  # pragma: no cover - guards the hand-written table
                raise AssertionError(f"VNI sequence {c!r} assigned twice")
            table[c] = lt

    for base in ("a", "e", "o", "u", "y"):
        for tone, mod in enumerate(_VNI_PLAIN_TONES, start=1):
            if base == "y" and tone == 5:
                continue
            add(base + mod, _toned(base, tone))
    add("î", "ỵ")
    for plain, hatted in (("a", "â"), ("e", "ê"), ("o", "ô")):
        add(plain + "â", hatted)
        for tone, mod in enumerate(_VNI_CIRCUMFLEX, start=1):
            add(plain + mod, _toned(hatted, tone))
    add("aê", "ă")
    for tone, mod in enumerate(_VNI_BREVE, start=1):
        add("a" + mod, _toned("ă", tone))
    for one_byte, letter in (("ô", "ơ"), ("ö", "ư")):
        add(one_byte, letter)
        for tone, mod in enumerate(_VNI_PLAIN_TONES, start=1):
            add(one_byte + mod, _toned(letter, tone))
    for code, tone in (("ì", 1), ("æ", 2), ("ó", 3), ("í", 4), ("ò", 5)):
        add(code, _toned("i", tone))
    add("ñ", "đ")
    return table


#: VNI-Windows sequence (as Windows-1252 text, one or two characters) -> Unicode letter (NFC).
VNI_TABLE: dict[str, str] = _build_vni()
_VNI_ENCODE: dict[str, str] = {}
for _seq, _letter in sorted(VNI_TABLE.items(), key=lambda kv: -len(kv[0])):
    _VNI_ENCODE.setdefault(_letter, _seq)
_VNI_PATTERN = re.compile("|".join(re.escape(s) for s in sorted(VNI_TABLE, key=len, reverse=True)))
_VNI_CHARS = frozenset("".join(VNI_TABLE))

# Windows-1252 characters of bytes 0x80-0x9F, to recover the bytes of text GDAL decoded as cp1252.
_CP1252_BYTES: dict[str, int] = {}
for _b in range(0x80, 0xA0):
    with contextlib.suppress(UnicodeDecodeError):
        _CP1252_BYTES[bytes([_b]).decode("cp1252")] = _b


def _recover_bytes(text: str) -> bytes | None:
    """The bytes behind ``text`` read as ISO-8859-1 or Windows-1252; None if it has other characters."""
    out = bytearray()
    for ch in text:
        o = ord(ch)
        if o < 0x100:
            out.append(o)
        elif ch in _CP1252_BYTES:
            out.append(_CP1252_BYTES[ch])
        else:
            return None
    return bytes(out)


# ---------------------------------------------------------------------------------------------------
def decode_tcvn3(data: bytes | str, *, upper_words: bool = True) -> str:
    """Decode TCVN3 (ABC, TCVN 5712:1993) to Unicode NFC.

    Parameters
    ----------
    data : bytes or str
        Raw bytes, or text that was read as ISO-8859-1/Windows-1252 (what GDAL
        gives for a DBF without a ``.cpg``).
    upper_words : bool, default True
        Text typed in an ABC *capital* font (``.VnTimeH``) stores upper-case
        letters with tones under the lower-case codes. When a word's other
        text's ASCII letters are all upper case (at least two), its decoded
        letters are upper-cased too (``"B¾C NINH"`` -> ``"BẮC NINH"``).

    Returns
    -------
    str
        NFC text. Bytes below 0x80 are ASCII.

    Raises
    ------
    ValueError
        If ``data`` is text with characters that cannot come from a single-byte code page.
    """
    raw = _recover_bytes(data) if isinstance(data, str) else bytes(data)
    if raw is None:
        raise ValueError(f"{data!r} is not single-byte text; it cannot be TCVN3")
    chars = [TCVN3_TABLE.get(b, chr(b)) if b >= 0x80 or b in _TCVN3_CONTROL_CODES else chr(b) for b in raw]
    text = "".join(chars)
    if upper_words:
        text = _upper_capital_font_words(raw, chars)
    return unicodedata.normalize("NFC", text)


def _upper_capital_font_words(raw: bytes, chars: list[str]) -> str:
    """Upper-case the decoded letters of text typed in an ABC capital font.

    The text is taken as capital-font text when it has at least two ASCII
    letters, none of them lower case, and some lower-case TCVN3 codes.
    """
    ascii_letters = [c for b, c in zip(raw, chars, strict=True) if b < 0x80 and c.isalpha()]
    caps_font = len(ascii_letters) >= 2 and all(c.isupper() for c in ascii_letters)
    if caps_font and any(b in _TCVN3_LOWER_CODES for b in raw):
        return "".join(c.upper() for c in chars)
    return "".join(chars)


def decode_vni(data: bytes | str) -> str:
    """Decode VNI-Windows to Unicode NFC.

    Parameters
    ----------
    data : bytes or str
        Raw bytes (decoded as Windows-1252 first), or text read as
        ISO-8859-1/Windows-1252.

    Returns
    -------
    str
        NFC text.
    """
    if isinstance(data, bytes | bytearray):
        text = bytes(data).decode("cp1252", errors="replace")
    else:
        raw = _recover_bytes(data)
        if raw is None:
            raise ValueError(f"{data!r} is not single-byte text; it cannot be VNI")
        text = raw.decode("cp1252", errors="replace") if any(0x80 <= b < 0xA0 for b in raw) else data
    return unicodedata.normalize("NFC", _VNI_PATTERN.sub(lambda m: VNI_TABLE[m.group(0)], text))


def encode_tcvn3(text: str) -> bytes:
    """Encode Unicode text to TCVN3 bytes (full VN1 table, upper case with tones included).

    Raises
    ------
    ValueError
        If ``text`` has a character TCVN3 cannot represent.
    """
    out = bytearray()
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ord(ch))
        elif ch in _TCVN3_ENCODE:
            out.append(_TCVN3_ENCODE[ch])
        else:
            raise ValueError(f"{ch!r} cannot be written in TCVN3")
    return bytes(out)


def encode_vni(text: str) -> bytes:
    """Encode Unicode text to VNI-Windows bytes (Windows-1252 byte values).

    Raises
    ------
    ValueError
        If ``text`` has a character VNI cannot represent.
    """
    out: list[str] = []
    for ch in unicodedata.normalize("NFC", text):
        if ord(ch) < 0x80:
            out.append(ch)
        elif ch in _VNI_ENCODE:
            out.append(_VNI_ENCODE[ch])
        else:
            raise ValueError(f"{ch!r} cannot be written in VNI")
    return "".join(out).encode("cp1252")


# ---------------------------------------------------------------------------------------------------
# Detection: score how Vietnamese a text looks.
_ONSETS = "ngh|ng|nh|ch|gh|gi|kh|ph|qu|th|tr|b|c|d|đ|g|h|k|l|m|n|p|r|s|t|v|x"
_NUCLEI = (
    "iêu|oai|oao|oay|oeo|uây|uôi|uya|uyê|uyu|ươi|ươu|yêu|"
    "ai|ao|au|ay|âu|ây|eo|êu|ia|iê|iu|oa|oă|oe|oi|ôi|ơi|oo|ua|uâ|uê|ui|uô|uơ|uy|ưa|ưi|ươ|ưu|yê|"
    "a|ă|â|e|ê|i|o|ô|ơ|u|ư|y"
)
_SYLLABLE = re.compile(rf"^(?:{_ONSETS})?(?:{_NUCLEI})(?:ch|ng|nh|c|m|n|p|t)?$")
_WORD = re.compile(r"[^\W\d_]+")
_HARMLESS = frozenset("°²³±×·µ«»")  # symbols common in real text (m², 45°), never counted against it
_TONE_MARKS = frozenset(_TONES[1:])
_VIET_SET = frozenset(VIETNAMESE_LETTERS)


def _strip_tones(word: str) -> tuple[str, int]:
    decomposed = unicodedata.normalize("NFD", word)
    tones = sum(1 for c in decomposed if c in _TONE_MARKS)
    kept = "".join(c for c in decomposed if c not in _TONE_MARKS)
    return unicodedata.normalize("NFC", kept), tones


def _score(text: str) -> int:
    """Well-formed Vietnamese words with diacritics minus malformed ones and stray symbols."""
    score = 0
    for ch in text:
        if ord(ch) >= 0x80 and ch not in _VIET_SET and ch not in _HARMLESS and not ch.isspace():
            score -= 1
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        base, tones = _strip_tones(word.lower())
        if tones <= 1 and _SYLLABLE.match(base):
            score += 1
        else:
            score -= 1
    return score


def _candidate(text: str) -> bool:
    """True when ``text`` may be legacy-encoded: all single-byte characters, some of them non-ASCII."""
    return not text.isascii() and _recover_bytes(text) is not None


def _utf8(text: str) -> str | None:
    """``text`` decoded as UTF-8 when it is UTF-8 bytes read one character per byte (with some non-ASCII), else None."""
    raw = _recover_bytes(text)
    if raw is None or raw.isascii():
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode(text: str, encoding: str) -> str:
    if encoding == "utf-8":
        fixed = _utf8(text)
        return unicodedata.normalize("NFC", fixed if fixed is not None else text)
    if encoding == "tcvn3":
        return decode_tcvn3(text)
    if encoding == "vni":
        return decode_vni(text)
    return unicodedata.normalize("NFC", text)


def detect_encoding(texts: str | Iterable[str]) -> str:
    """Guess the encoding of one text or of a column of texts.

    Returns
    -------
    str
        ``"ascii"`` (nothing to convert), ``"unicode"`` (already Unicode; at
        most NFC normalisation is needed), ``"utf-8"`` (UTF-8 bytes that were
        read one character per byte: decoded as UTF-8, never as a legacy
        table), ``"tcvn3"`` or ``"vni"``.
    """
    items = [texts] if isinstance(texts, str) else [t for t in texts if isinstance(t, str)]
    if all(t.isascii() for t in items):
        return "ascii"
    candidates = [t for t in items if _candidate(t)]
    if not candidates:
        return "unicode"
    if len(candidates) == len([t for t in items if not t.isascii()]) and all(_utf8(t) is not None for t in candidates):
        return "utf-8"
    scores = {enc: 0 for enc in ("unicode", "tcvn3", "vni")}
    for t in candidates:
        for enc in scores:
            try:
                scores[enc] += _score(_decode(t, enc))
            except ValueError:
                scores[enc] -= 100
    best = max(("tcvn3", "vni"), key=lambda e: scores[e])
    return best if scores[best] > scores["unicode"] else "unicode"


def fix_text(text: str, *, encoding: str = "auto") -> tuple[str, str]:
    """Return ``(fixed, how)``: ``text`` in Unicode NFC and what was done.

    Parameters
    ----------
    text : str
    encoding : {"auto", "unicode", "tcvn3", "vni"}
        ``auto`` detects the encoding of this one text (for whole columns use
        :func:`fix_frame`, which decides per column and is more reliable).

    Returns
    -------
    tuple of (str, str)
        ``how`` is ``""`` (unchanged), ``"nfc"``, ``"utf-8"``, ``"tcvn3"`` or ``"vni"``.
    """
    if encoding not in ENCODINGS and encoding != "utf-8":
        raise ValueError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    enc = detect_encoding(text) if encoding == "auto" else encoding
    if enc in ("tcvn3", "vni", "utf-8") and _candidate(text):
        fixed = _decode(text, enc)
        return fixed, (enc if fixed != text else "")
    fixed = unicodedata.normalize("NFC", text)
    return fixed, ("nfc" if fixed != text else "")


@dataclass(frozen=True)
class TextChange:
    """One converted value: where it was, what it was and what it became.

    ``row`` is 1-based (None for a column name); ``how`` is ``"tcvn3"``, ``"vni"`` or ``"nfc"``.
    """

    field: str
    row: int | None
    how: str
    before: str
    after: str


def fix_frame(
    frame: pd.DataFrame,
    *,
    encoding: str = "auto",
    columns: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, list[TextChange]]:
    """Convert the text columns (and column names) of ``frame`` to Unicode NFC.

    With ``encoding="auto"`` the encoding is decided per column from all its
    values (see :func:`detect_encoding`); column names are decided together.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        Rows in file order (reported rows are 1-based positions).
    encoding : {"auto", "unicode", "tcvn3", "vni"}
        Force one encoding for every column instead of detecting it.
    columns : sequence of str, optional
        Only these columns (default: every text column).

    Returns
    -------
    (DataFrame, list of TextChange)
        A converted copy, and one entry per changed value.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    out = frame.copy(deep=False)  # columns are replaced, never changed in place
    changes: list[TextChange] = []
    names = [str(c) for c in out.columns]
    name_enc = detect_encoding(names) if encoding == "auto" else encoding
    renamed: dict[str, str] = {}
    for n in names:
        fixed, how = fix_text(n, encoding=name_enc if name_enc in ("tcvn3", "vni", "utf-8") else "unicode")
        if how:
            renamed[n] = fixed
            changes.append(TextChange(field=n, row=None, how=how, before=n, after=fixed))
    if renamed:
        out = out.rename(columns=renamed)
    geom_name = getattr(getattr(out, "geometry", None), "name", None)
    targets = [renamed.get(c, c) for c in (columns if columns is not None else names)]
    for col in targets:
        if col == geom_name or col not in out.columns:
            continue
        s = out[col]
        if not (s.dtype == object or pd.api.types.is_string_dtype(s)):
            continue
        if encoding == "unicode":  # NFC only, vectorised, once per distinct value: visit just the values that change
            codes, uniq = pd.factorize(s, sort=False)
            distinct = pd.Series(uniq, dtype="string")
            changed = (distinct.str.normalize("NFC") != distinct).fillna(False).to_numpy(bool)
            if not changed.any():
                continue
            diff = np.append(changed, False)[codes]
            text = s.astype("string")
            norm = text.str.normalize("NFC")
            if diff.any():
                for pos in np.flatnonzero(diff).tolist():
                    changes.append(
                        TextChange(field=col, row=pos + 1, how="nfc", before=text.iat[pos], after=norm.iat[pos])
                    )
                out[col] = pd.Series(
                    np.where(diff, norm.to_numpy(dtype=object), s.to_numpy(dtype=object)),
                    index=out.index,
                    dtype=s.dtype if s.dtype != object else object,
                )
            continue
        values = s.to_numpy()
        col_enc = detect_encoding([v for v in values if isinstance(v, str)]) if encoding == "auto" else encoding
        new_values = list(values)
        changed = False
        for i, v in enumerate(values):
            if not isinstance(v, str):
                continue
            fixed, how = fix_text(v, encoding=col_enc if col_enc in ("tcvn3", "vni", "utf-8") else "unicode")
            if how:
                new_values[i] = fixed
                changed = True
                changes.append(TextChange(field=col, row=i + 1, how=how, before=v, after=fixed))
        if changed:
            out[col] = pd.Series(new_values, index=out.index, dtype=s.dtype if s.dtype != object else object)
    if changes:
        kinds = sorted({c.how for c in changes})
        log.info("converted %d text value(s) to Unicode NFC (%s)", len(changes), ", ".join(kinds))
    return out, changes


def changes_frame(changes: Iterable[TextChange]) -> pd.DataFrame:
    """Return text changes as a DataFrame: ``field``, ``row`` (1-based), ``how``, ``before``, ``after``."""
    rows = [{"field": c.field, "row": c.row, "how": c.how, "before": c.before, "after": c.after} for c in changes]
    frame = pd.DataFrame(rows, columns=["field", "row", "how", "before", "after"])
    frame["row"] = frame["row"].astype("Int64")
    return frame
