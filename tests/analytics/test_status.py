"""plot_status: the status of each plot on a date follows from its dates."""

from __future__ import annotations

import pandas as pd
import pytest

from kcn_gis.analytics import plot_status
from kcn_gis.schema import Col, Layer
from tests.conftest import make_layers, ts


@pytest.fixture
def plots():
    p = make_layers()[Layer.PLOTS]
    p.index = pd.Index([10, 20, 30])
    return p


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        ("2004-12-31", ["planned", "planned", "planned"]),
        ("2005-01-01", ["acquired", "planned", "acquired"]),
        ("2006-05-31", ["acquired", "planned", "acquired"]),
        ("2006-06-01", ["leased", "planned", "acquired"]),
        ("2007-01-01", ["leased", "acquired", "acquired"]),
    ],
)
def test_status_on_dates(plots, day, expected):
    s = plot_status(plots, day)
    assert list(s) == expected
    assert list(s.index) == [10, 20, 30]


def test_lease_end_is_exclusive(plots):
    plots.loc[10, Col.LEASE_ENDED_ON] = ts("2010-01-01")
    assert plot_status(plots, "2009-12-31")[10] == "leased"
    assert plot_status(plots, "2010-01-01")[10] == "acquired"


def test_default_is_today(plots):
    # every date in the fixture is in the past, so today everything has its final status
    assert list(plot_status(plots)) == ["leased", "acquired", "acquired"]


def test_input_untouched(plots):
    before = plots.copy()
    plot_status(plots, "2011-12-26")
    pd.testing.assert_frame_equal(plots, before)
