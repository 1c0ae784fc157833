"""Vietnamese and English interface strings of the maps.

Every string shown by a map exists in both languages; the page holds both and
switches client-side. Enum labels (park status, land use, stages, banks) come
from :mod:`kcn_gis.schema` through :func:`kcn_gis.style.label`.
"""

from __future__ import annotations

from typing import Any

from kcn_gis.schema import ATLAS_LAYERS, Layer
from kcn_gis.style import CLASS_STRINGS

__all__ = ["LANGS", "STRINGS", "bilingual", "check_lang", "column_label", "layer_label", "t"]

#: Supported languages, Vietnamese first.
LANGS: tuple[str, str] = ("vi", "en")

#: Interface strings: key -> (Vietnamese, English).
STRINGS: dict[str, tuple[str, str]] = {
    "investor_title": (
        "Khu công nghiệp tỉnh Bắc Ninh - bản đồ cho nhà đầu tư",
        "Bắc Ninh industrial parks - investor map",
    ),
    "planning_title": ("Khu công nghiệp tỉnh Bắc Ninh - bản đồ quy hoạch", "Bắc Ninh industrial parks - planning map"),
    "clearance_title": (
        "Tiến độ bồi thường, giải phóng mặt bằng",
        "Land clearance progress",
    ),
    "as_of": ("Tình trạng ngày", "As of"),
    "attribution": (
        "kcn_gis - ranh giới trong bộ dữ liệu kèm theo chỉ là sơ đồ, không phải số liệu đo đạc",
        "kcn_gis - boundaries in the bundled atlas are schematic, not surveyed",
    ),
    "search": ("Tìm KCN theo tên…", "Search parks by name…"),
    "no_match": ("Không tìm thấy", "No match"),
    "legend": ("Chú giải", "Legend"),
    "language": ("Ngôn ngữ", "Language"),
    "layer_banks": ("Bờ Bắc, bờ Nam sông Đuống", "North and south banks of the Đuống"),
    "layer_parks": ("Khu công nghiệp (theo tình trạng)", "Industrial parks (by status)"),
    "layer_fill": ("Tỷ lệ lấp đầy KCN", "Park fill rate"),
    "layer_plots": ("Lô đất", "Plots"),
    "layer_plots_use": ("Lô đất (theo mục đích sử dụng)", "Plots (by land use)"),
    "layer_parcels": ("Thửa đất địa chính", "Cadastral parcels"),
    "layer_problems": ("Vấn đề khi kiểm tra dữ liệu", "Validation problems"),
    "park_status": ("Tình trạng KCN", "Park status"),
    "plot_status": ("Lô đất", "Plots"),
    "land_use": ("Mục đích sử dụng đất", "Land use"),
    "bank": ("Bờ sông Đuống", "Bank of the Đuống"),
    "stage": ("Giai đoạn GPMB", "Clearance stage"),
    "fill_rate": ("Tỷ lệ lấp đầy", "Fill rate"),
    "fill_rate_acquired": ("Tỷ lệ lấp đầy (trên đất đã thu hồi)", "Fill rate (of acquired land)"),
    "fill_rate_planned": ("Tỷ lệ lấp đầy (trên đất quy hoạch)", "Fill rate (of planned land)"),
    "no_data": ("Không có số liệu", "No data"),
    "industrial_total": ("Đất công nghiệp theo quy hoạch", "Industrial land (planned)"),
    "industrial_acquired": ("Đất công nghiệp đã thu hồi", "Industrial land acquired"),
    "industrial_available": (
        "Đất công nghiệp còn trống (đã thu hồi, chưa cho thuê)",
        "Available (acquired, not leased)",
    ),
    "industrial_leased": ("Đất công nghiệp đã cho thuê", "Industrial land leased"),
    "main_tenants": ("Doanh nghiệp thuê đất chính", "Main tenants"),
    "area": ("Diện tích", "Area"),
    "status": ("Tình trạng", "Status"),
    "park": ("Khu công nghiệp", "Industrial park"),
    "last_event": ("Sự kiện gần nhất", "Last event"),
    "problem": ("Vấn đề", "Problem"),
    "problems_none": ("Không có vấn đề khi kiểm tra dữ liệu", "No validation problems"),
    "problems_count": ("Vấn đề khi kiểm tra dữ liệu", "Validation problems"),
    "timeline": ("Thời gian", "Timeline"),
    "yes": ("Có", "Yes"),
    "no": ("Không", "No"),
    # labels of style classes (province, rivers, plot and stage classes), shared with the QGIS styles
    **CLASS_STRINGS,
}


def check_lang(lang: str) -> str:
    """Return ``lang`` if it is ``"vi"`` or ``"en"``; raise :class:`~kcn_gis.errors.KcnGisError` otherwise."""
    from kcn_gis.errors import KcnGisError

    if lang not in LANGS:
        raise KcnGisError(f"language '{lang}' is not supported; use 'vi' (Vietnamese) or 'en' (English)")
    return lang


def bilingual(pair: tuple[str, str]) -> dict[str, str]:
    """Turn a ``(vi, en)`` pair into ``{"vi": ..., "en": ...}`` for the page."""
    return {"vi": pair[0], "en": pair[1]}


def t(key: str) -> dict[str, str]:
    """The interface string ``key`` in both languages."""
    return bilingual(STRINGS[key])


def column_label(layer: Layer, column: str) -> dict[str, str]:
    """A column's label in both languages, from the data model (:mod:`kcn_gis.schema`)."""
    c = ATLAS_LAYERS[layer].column(str(column))
    return {"vi": c.label_vi, "en": c.label_en}


def layer_label(layer: Layer) -> dict[str, Any]:
    """A layer's label in both languages, from the data model."""
    s = ATLAS_LAYERS[layer]
    return {"vi": s.label_vi, "en": s.label_en}
