"""Yearly fill-rate series and its chart."""

from __future__ import annotations

import pytest

from kcn_gis.analytics import fill_rate_trend, plot_trend, split_banks
from kcn_gis.errors import KcnGisError
from kcn_gis.interop.exporters.charts import write_chart
from kcn_gis.schema import Layer
from tests.analytics.conftest import straddle_layers
from tests.conftest import make_layers


def test_province_series_matches_dates():
    layers = make_layers()
    t = fill_rate_trend(layers[Layer.PLOTS], layers[Layer.PARKS], start=2004, end=2007, by="province")
    assert list(t["year"]) == [2004, 2005, 2006, 2007]
    assert list(t.columns[:3]) == ["year", "as_of", "province"]
    # P1 (40 ha) acquired 2005, leased 2006-06; P2 (30 ha) acquired 2007
    assert list(t["acquired_ha"]) == pytest.approx([0.0, 40.0, 40.0, 70.0])
    assert list(t["leased_ha"]) == pytest.approx([0.0, 0.0, 40.0, 40.0])
    assert t["fill_rate_planned"].iloc[-1] == pytest.approx(40 / 70)


def test_bank_series_has_balance():
    layers = straddle_layers()
    banks = split_banks(layers[Layer.PROVINCE], layers[Layer.RIVERS])
    t = fill_rate_trend(layers[Layer.PLOTS], layers[Layer.PARKS], start=2009, end=2010, by="bank", banks=banks)
    assert list(t["bank"]) == ["north", "south", "north", "south"]
    y2010 = t[t["year"] == 2010].set_index("bank")
    assert y2010.loc["south", "leased_ha_share"] == pytest.approx(0.3)
    assert y2010.loc["south", "balance_index"] == pytest.approx(0.6)
    y2009 = t[t["year"] == 2009].set_index("bank")
    assert y2009.loc["north", "leased_ha"] == pytest.approx(40.0)
    assert y2009.loc["south", "leased_ha"] == 0.0


def test_bad_years():
    layers = make_layers()
    with pytest.raises(KcnGisError, match="end year"):
        fill_rate_trend(layers[Layer.PLOTS], layers[Layer.PARKS], start=2011, end=2000, by="province")


@pytest.mark.parametrize(("suffix", "magic"), [(".png", b"\x89PNG"), (".svg", b"<svg")])
def test_chart_files(tmp_path, suffix, magic):
    layers = make_layers()
    t = fill_rate_trend(layers[Layer.PLOTS], layers[Layer.PARKS], start=2004, end=2008, by="park")
    path = tmp_path / f"trend{suffix}"
    fig = plot_trend(t, title="Tỷ lệ lấp đầy")
    assert write_chart(fig, path) == path
    data = path.read_bytes()
    assert magic in data[:2000]
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["N1"]
    assert list(ax.get_lines()[0].get_ydata()) == pytest.approx([0.0, 0.0, 100 * 40 / 70, 100 * 40 / 70, 100 * 40 / 70])


def test_chart_refuses_other_formats(tmp_path):
    layers = make_layers()
    t = fill_rate_trend(layers[Layer.PLOTS], layers[Layer.PARKS], start=2004, end=2005, by="park")
    with pytest.raises(KcnGisError, match=r"\.png or \.svg"):
        write_chart(plot_trend(t), tmp_path / "trend.pdf")
    # analytics write no files: the old path argument is refused with the way to do it
    with pytest.raises(KcnGisError, match="write_chart"):
        plot_trend(t, tmp_path / "trend.png")
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(KcnGisError, match="no column"):
        plot_trend(t, value="nothing")
