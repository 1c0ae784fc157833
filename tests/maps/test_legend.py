"""Style classes: the fills and the legend come from kcn_gis.style; fill-rate classes via mapclassify."""

from __future__ import annotations

import numpy as np
import pytest

from kcn_gis.errors import KcnGisError
from kcn_gis.maps.legend import (
    COMPLAINT_COLOR,
    FILL_RATE_COLORS,
    NO_DATA_COLOR,
    StyleClass,
    classify_fill_rates,
    park_status_classes,
    stage_classes,
)
from kcn_gis.schema import STAGES, ParkStatus
from kcn_gis.style import NOT_STARTED_COLOR, PARK_STATUS_COLORS, STAGE_COLORS


def test_fixed_fill_rate_classes():
    codes, classes = classify_fill_rates([0.1, 0.5, 0.9, np.nan, 0.2, 1.0])
    # 0.2 is the upper bound of the first class (mapclassify bins are closed on the right)
    assert codes.tolist() == [0, 2, 4, 5, 0, 4]
    assert [c.style["fillColor"] for c in classes] == [*FILL_RATE_COLORS, NO_DATA_COLOR]
    assert classes[2].label == {"vi": "40-60 %", "en": "40-60 %"}


def test_adaptive_fill_rate_classes_never_exceed_the_distinct_values():
    codes, classes = classify_fill_rates([0.1, 0.1, 0.7, 0.7, np.nan], scheme="quantiles", k=5)
    assert len(classes) == 3  # two classes for two distinct values + no data
    assert codes.tolist() == [0, 0, 1, 1, 2]
    with pytest.raises(KcnGisError, match="scheme 'jenks' is unknown"):
        classify_fill_rates([0.5], scheme="jenks")


def test_classes_take_their_colours_from_kcn_gis_style():
    parks = park_status_classes()
    assert [c.key for c in parks] == [str(s) for s in ParkStatus]
    assert [c.style["fillColor"] for c in parks] == [PARK_STATUS_COLORS[s] for s in ParkStatus]
    stages = stage_classes()
    assert len(stages) == 2 * (1 + len(STAGES))
    assert stages[0].style["fillColor"] == NOT_STARTED_COLOR
    assert [c.style["fillColor"] for c in stages[1:6]] == [STAGE_COLORS[s] for s in STAGES]
    assert all(c.style["color"] == COMPLAINT_COLOR for c in stages[6:])
    assert [c.style["fillColor"] for c in stages[6:]] == [c.style["fillColor"] for c in stages[:6]]


def test_style_class_refuses_non_hex_colours():
    with pytest.raises(KcnGisError, match="not a #rrggbb colour"):
        StyleClass("x", {"vi": "x", "en": "x"}, {"fillColor": "red;background:url(x)"})
