"""Style classes shared by the fills and the legend, so the two can never disagree.

A layer's features each carry the index of one :class:`StyleClass`; the page
draws the feature with that class's ``style`` and the legend lists the very
same class objects (label + style). The classes of the atlas layers and their
colours are defined in :mod:`kcn_gis.style` (re-exported here), where the QGIS
styles of :mod:`kcn_gis.layer_styles` take them from too.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kcn_gis.errors import KcnGisError
from kcn_gis.maps.i18n import t

# The class definitions live below the maps (kcn_gis.style), so QGIS styles (kcn_gis.layer_styles) share them.
from kcn_gis.style import (
    COMPLAINT_COLOR,
    StyleClass,
    bank_classes,
    investor_plot_classes,
    land_use_classes,
    park_status_classes,
    stage_classes,
)
from kcn_gis.style import _fill as _fill

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
#: Outline of a feature with a validation problem.
PROBLEM_COLOR = "#e7298a"


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
