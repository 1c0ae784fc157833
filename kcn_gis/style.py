"""Colours and labels shared by every map, legend, chart and report.

A legend and the fills it explains are both built from these mappings, so
they can never disagree. Colours are colour-blind-friendly where possible
(Okabe-Ito and ColorBrewer palettes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kcn_gis.errors import KcnGisError
from kcn_gis.schema import (
    BANK_LABELS,
    DUONG,
    EVENT_LABELS,
    LAND_USE_LABELS,
    PARK_STATUS_LABELS,
    PLOT_STATUS_LABELS,
    STAGES,
    Bank,
    Event,
    LandUse,
    ParkStatus,
    PlotStatus,
)

__all__ = [
    "BANK_COLORS",
    "CLASS_STRINGS",
    "COMPLAINT_COLOR",
    "LAND_USE_COLORS",
    "NOT_STARTED_COLOR",
    "PARK_STATUS_COLORS",
    "PLOT_STATUS_COLORS",
    "PROVINCE_COLOR",
    "RIVER_COLOR",
    "STAGE_COLORS",
    "StyleClass",
    "bank_classes",
    "investor_plot_classes",
    "label",
    "land_use_classes",
    "park_status_classes",
    "province_classes",
    "river_classes",
    "stage_classes",
]

PARK_STATUS_COLORS: dict[ParkStatus, str] = {
    ParkStatus.OPERATING: "#0072B2",
    ParkStatus.CONSTRUCTION: "#E69F00",
    ParkStatus.PREPARING: "#999999",
}

LAND_USE_COLORS: dict[LandUse, str] = {
    LandUse.INDUSTRIAL: "#8c6bb1",
    LandUse.SERVICES: "#f16913",
    LandUse.INFRASTRUCTURE: "#737373",
    LandUse.GREEN: "#41ab5d",
    LandUse.OTHER: "#d9d9d9",
}

PLOT_STATUS_COLORS: dict[PlotStatus, str] = {
    PlotStatus.PLANNED: "#deebf7",
    PlotStatus.ACQUIRED: "#2ca25f",  # acquired and not leased: land available to investors
    PlotStatus.LEASED: "#3182bd",
}

#: Colour of a parcel with no clearance event yet on the date shown.
NOT_STARTED_COLOR = "#f0f0f0"

STAGE_COLORS: dict[Event, str] = dict(zip(STAGES, ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#1a9850"), strict=True))

BANK_COLORS: dict[Bank, str] = {Bank.NORTH: "#74a9cf", Bank.SOUTH: "#fdae6b"}

_LABELS: dict[str, tuple[str, str]] = {
    str(k): v
    for table in (PARK_STATUS_LABELS, LAND_USE_LABELS, PLOT_STATUS_LABELS, EVENT_LABELS, BANK_LABELS)
    for k, v in table.items()
}


def label(value: object, lang: str = "vi") -> str:
    """Return the Vietnamese (``lang="vi"``) or English (``"en"``) label of an enum value.

    Raises
    ------
    KeyError
        If ``value`` is not a value of a kcn_gis enumeration.
    """
    vi, en = _LABELS[str(value)]
    return vi if lang == "vi" else en


#: Province outline and rivers (context layers).
PROVINCE_COLOR = "#3f3f3f"
RIVER_COLOR = "#2b8cbe"
#: Outline of a parcel with an open complaint.
COMPLAINT_COLOR = "#d7191c"

#: Labels of the style classes that are not enum values: key -> (Vietnamese, English).
#: The maps' interface strings (:data:`kcn_gis.maps.i18n.STRINGS`) include these, so a legend
#: and a QGIS style (:mod:`kcn_gis.layer_styles`) show the same words.
CLASS_STRINGS: dict[str, tuple[str, str]] = {
    "layer_province": ("Ranh giới tỉnh", "Province outline"),
    "layer_rivers": ("Sông", "Rivers"),
    "not_started": ("Chưa bắt đầu", "Not started"),
    "open_complaint": ("Đang khiếu nại", "Open complaint"),
    "available": ("Đất công nghiệp sẵn sàng cho thuê", "Industrial land available to lease"),
    "leased": ("Đất công nghiệp đã cho thuê", "Industrial land leased"),
    "not_acquired": ("Đất công nghiệp chưa thu hồi", "Industrial land not yet acquired"),
}

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


def _t(key: str) -> dict[str, str]:
    vi, en = CLASS_STRINGS[key]
    return {"vi": vi, "en": en}


@dataclass(frozen=True)
class StyleClass:
    """One class of features: its key, bilingual label and Leaflet path style.

    ``style`` holds Leaflet path options (``color``, ``fillColor``, ``weight`` in
    screen pixels, ``opacity``, ``fillOpacity`` 0-1, ``dashArray``, ``fill``);
    colours must be ``#rrggbb``. The HTML maps draw and explain features with
    these classes, and :mod:`kcn_gis.layer_styles` turns the very same classes
    into QGIS (QML) and SLD styles.
    """

    key: str
    label: dict[str, str]
    style: dict[str, Any] = field(default_factory=dict)
    kind: str = "fill"  # "fill", "line" or "outline" (how the legend draws the swatch)

    def __post_init__(self) -> None:
        for k in ("color", "fillColor"):
            v = self.style.get(k)
            if v is not None and not _HEX.fullmatch(str(v)):
                raise KcnGisError(f"style class '{self.key}': {k} {v!r} is not a #rrggbb colour")

    def to_json(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "style": self.style, "kind": self.kind}


def _fill(color: str, *, stroke: str | None = None, weight: float = 1, opacity: float = 0.9, fill: float = 0.6) -> dict:
    return {"color": stroke or color, "fillColor": color, "weight": weight, "opacity": opacity, "fillOpacity": fill}


def _pair(value: object) -> dict[str, str]:
    return {"vi": label(value, "vi"), "en": label(value, "en")}


def park_status_classes(*, fill_opacity: float = 0.25) -> list[StyleClass]:
    """One class per :class:`~kcn_gis.schema.ParkStatus`, coloured by ``PARK_STATUS_COLORS``."""
    return [StyleClass(str(s), _pair(s), _fill(PARK_STATUS_COLORS[s], weight=2, fill=fill_opacity)) for s in ParkStatus]


def land_use_classes(*, weight: float = 0.5) -> list[StyleClass]:
    """One class per :class:`~kcn_gis.schema.LandUse`, coloured by ``LAND_USE_COLORS``."""
    return [
        StyleClass(str(u), _pair(u), _fill(LAND_USE_COLORS[u], stroke="#555555", weight=weight, fill=0.7))
        for u in LandUse
    ]


def investor_plot_classes() -> list[StyleClass]:
    """Plot classes of the investor map.

    Industrial plots by status on the date shown (``PLOT_STATUS_COLORS``): not yet
    acquired, available (acquired and not leased; highlighted with a thick
    outline) and leased. Other plots by land use (``LAND_USE_COLORS``).
    """
    industrial = [
        StyleClass(
            "industrial:planned",
            _t("not_acquired"),
            _fill(PLOT_STATUS_COLORS[PlotStatus.PLANNED], stroke="#6b6b6b", weight=0.7, fill=0.8),
        ),
        StyleClass(
            "industrial:acquired",
            _t("available"),
            _fill(PLOT_STATUS_COLORS[PlotStatus.ACQUIRED], stroke="#00441b", weight=3, opacity=1, fill=0.85),
        ),
        StyleClass(
            "industrial:leased",
            _t("leased"),
            _fill(PLOT_STATUS_COLORS[PlotStatus.LEASED], stroke="#6b6b6b", weight=0.7, fill=0.7),
        ),
    ]
    others = [c for c in land_use_classes() if c.key != LandUse.INDUSTRIAL]
    return industrial + others


def bank_classes() -> list[StyleClass]:
    """North and south bank of the Đuống, coloured by ``BANK_COLORS``."""
    return [StyleClass(str(b), _pair(b), _fill(c, weight=0, fill=0.25)) for b, c in BANK_COLORS.items()]


def stage_classes() -> list[StyleClass]:
    """Clearance classes: not started, the five stages (``STAGE_COLORS``), each also with an open complaint.

    Index ``i`` (0 = not started, 1-5 = stages) is the stage; ``i + 6`` is the
    same stage with an open complaint (red outline).
    """
    base = [StyleClass("not_started", _t("not_started"), _fill(NOT_STARTED_COLOR, stroke="#969696", weight=0.5))]
    base += [StyleClass(str(s), _pair(s), _fill(STAGE_COLORS[s], stroke="#636363", weight=0.5)) for s in STAGES]
    complaint = [
        StyleClass(
            f"{c.key}:complaint",
            {"vi": f"{c.label['vi']} - {_t('open_complaint')['vi']}", "en": f"{c.label['en']} - open complaint"},
            {**c.style, "color": COMPLAINT_COLOR, "weight": 2.5},
        )
        for c in base
    ]
    return base + complaint


def province_classes() -> list[StyleClass]:
    """The province outline: one dashed outline class, no fill."""
    return [
        StyleClass(
            "province",
            _t("layer_province"),
            {"color": PROVINCE_COLOR, "weight": 2, "opacity": 0.9, "fill": False, "dashArray": "6 4"},
            kind="outline",
        )
    ]


def river_classes() -> list[StyleClass]:
    """Rivers: the Đuống (:data:`~kcn_gis.schema.DUONG`, class ``duong``) heavier than the others (``river``)."""
    return [
        StyleClass(
            "duong",
            {"vi": DUONG, "en": "Đuống river"},
            {"color": RIVER_COLOR, "weight": 4, "opacity": 0.9},
            kind="line",
        ),
        StyleClass("river", _t("layer_rivers"), {"color": RIVER_COLOR, "weight": 2, "opacity": 0.7}, kind="line"),
    ]
