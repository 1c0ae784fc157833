"""Style classes shared by the fills and the legend, so the two can never disagree.

A layer's features each carry the index of one :class:`StyleClass`; the page
draws the feature with that class's ``style`` and the legend lists the very
same class objects (label + style). The colours come from :mod:`kcn_gis.style`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kcn_gis.errors import KcnGisError
from kcn_gis.maps.i18n import t
from kcn_gis.schema import STAGES, LandUse, ParkStatus, PlotStatus
from kcn_gis.style import (
    BANK_COLORS,
    LAND_USE_COLORS,
    NOT_STARTED_COLOR,
    PARK_STATUS_COLORS,
    PLOT_STATUS_COLORS,
    STAGE_COLORS,
    label,
)

__all__ = [
    "COMPLAINT_COLOR",
    "FILL_RATE_BINS",
    "FILL_RATE_COLORS",
    "NO_DATA_COLOR",
    "PROBLEM_COLOR",
    "StyleClass",
    "bank_classes",
    "classify_fill_rates",
    "investor_plot_classes",
    "land_use_classes",
    "park_status_classes",
    "stage_classes",
]

#: Sequential ColorBrewer YlGnBu, one colour per fill-rate class (lowest first).
FILL_RATE_COLORS: tuple[str, ...] = ("#ffffcc", "#a1dab4", "#41b6c4", "#2c7fb8", "#253494")
#: Upper bounds of the fill-rate classes (fractions 0-1): 0-20 %, 20-40 % ... 80-100 %.
FILL_RATE_BINS: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
#: Parks with no denominator (NaN fill rate).
NO_DATA_COLOR = "#d9d9d9"
#: Outline of a parcel with an open complaint.
COMPLAINT_COLOR = "#d7191c"
#: Outline of a feature with a validation problem.
PROBLEM_COLOR = "#e7298a"

_HEX = re.compile(r"#[0-9a-fA-F]{6}")


@dataclass(frozen=True)
class StyleClass:
    """One class of features: its key, bilingual label and Leaflet path style.

    ``style`` holds Leaflet path options (``color``, ``fillColor``, ``weight``,
    ``opacity``, ``fillOpacity``, ``dashArray``); colours must be ``#rrggbb``.
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
            t("not_acquired"),
            _fill(PLOT_STATUS_COLORS[PlotStatus.PLANNED], stroke="#6b6b6b", weight=0.7, fill=0.8),
        ),
        StyleClass(
            "industrial:acquired",
            t("available"),
            _fill(PLOT_STATUS_COLORS[PlotStatus.ACQUIRED], stroke="#00441b", weight=3, opacity=1, fill=0.85),
        ),
        StyleClass(
            "industrial:leased",
            t("leased"),
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
    base = [StyleClass("not_started", t("not_started"), _fill(NOT_STARTED_COLOR, stroke="#969696", weight=0.5))]
    base += [StyleClass(str(s), _pair(s), _fill(STAGE_COLORS[s], stroke="#636363", weight=0.5)) for s in STAGES]
    complaint = [
        StyleClass(
            f"{c.key}:complaint",
            {"vi": f"{c.label['vi']} - {t('open_complaint')['vi']}", "en": f"{c.label['en']} - open complaint"},
            {**c.style, "color": COMPLAINT_COLOR, "weight": 2.5},
        )
        for c in base
    ]
    return base + complaint


def classify_fill_rates(
    values: Sequence[float], *, scheme: str = "fixed", k: int = 5
) -> tuple[np.ndarray, list[StyleClass]]:
    """Class fill rates (fractions 0-1) with mapclassify for a choropleth.

    Parameters
    ----------
    values : sequence of float
        Fill rates, NaN where there is no denominator.
    scheme : {"fixed", "quantiles", "natural_breaks"}, default "fixed"
        ``fixed`` uses the bins 20/40/60/80/100 % (comparable between dates and
        atlases) via ``mapclassify.UserDefined``; the others adapt to the data,
        with at most ``k`` classes and no more than the number of distinct values.

    Returns
    -------
    (codes, classes)
        ``codes[i]`` is the class index of ``values[i]``; the last class is
        "no data" (NaN). Class labels give the bounds in percent.
    """
    import mapclassify

    y = np.asarray(values, dtype=float)
    ok = ~np.isnan(y)
    codes = np.zeros(len(y), dtype=int)
    if scheme == "fixed":
        top = max(1.0, float(y[ok].max())) if ok.any() else 1.0
        bins = [*FILL_RATE_BINS[:-1], top]
        if ok.any():
            codes[ok] = mapclassify.UserDefined(y[ok], bins=bins).yb
    elif scheme in ("quantiles", "natural_breaks"):
        distinct = len(np.unique(y[ok]))
        kk = max(1, min(k, distinct, len(FILL_RATE_COLORS)))
        if kk < 2:
            bins = [float(y[ok].max())] if ok.any() else [1.0]
        else:
            cls = mapclassify.Quantiles if scheme == "quantiles" else mapclassify.NaturalBreaks
            c = cls(y[ok], k=kk)
            bins = list(c.bins)
            codes[ok] = c.yb
    else:
        raise KcnGisError(f"fill-rate scheme '{scheme}' is unknown; use fixed, quantiles or natural_breaks")
    palette = FILL_RATE_COLORS if len(bins) == len(FILL_RATE_COLORS) else _spread(len(bins))
    classes: list[StyleClass] = []
    lo = 0.0
    for i, hi in enumerate(bins):
        text = f"{lo * 100:.0f}-{hi * 100:.0f} %"
        classes.append(
            StyleClass(f"fill:{i}", {"vi": text, "en": text}, _fill(palette[i], stroke="#333333", weight=1, fill=0.75))
        )
        lo = hi
    classes.append(StyleClass("fill:nodata", t("no_data"), _fill(NO_DATA_COLOR, stroke="#333333", weight=1, fill=0.5)))
    codes[~ok] = len(classes) - 1
    return codes, classes


def _spread(n: int) -> list[str]:
    idx = np.linspace(0, len(FILL_RATE_COLORS) - 1, n).round().astype(int)
    return [FILL_RATE_COLORS[i] for i in idx]
