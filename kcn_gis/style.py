"""Colours and labels shared by every map, legend, chart and report.

A legend and the fills it explains are both built from these mappings, so
they can never disagree. Colours are colour-blind-friendly where possible
(Okabe-Ito and ColorBrewer palettes).
"""

from __future__ import annotations

from kcn_gis.schema import (
    BANK_LABELS,
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
    "LAND_USE_COLORS",
    "NOT_STARTED_COLOR",
    "PARK_STATUS_COLORS",
    "PLOT_STATUS_COLORS",
    "STAGE_COLORS",
    "label",
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
