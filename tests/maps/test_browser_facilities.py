"""(Issue 18) The facilities layer in headless Debian chromium: drawn, painted, and its popup readable (network blocked)."""

from __future__ import annotations

import pytest

from kcn_gis.crs import to_wgs84
from kcn_gis.maps import investor_map, planning_map, save_map
from tests.maps.test_browser import _Page
from tests.services.test_maps import atlas  # noqa: F401 - the small atlas with three facilities

pytestmark = pytest.mark.requires_chromium


@pytest.mark.parametrize("builder", [planning_map, investor_map])
def test_facilities_are_drawn_and_their_popup_opens(browser, atlas, tmp_path, builder):  # noqa: F811 - atlas
    path = save_map(builder(atlas, as_of="2011-12-26"), tmp_path / "m.html", offline=True)
    p = _Page(browser, path)
    try:
        page = p.page
        page.evaluate("kcnGis.map.addLayer(kcnGis.layers.services.group)")  # hidden at first
        counts = page.evaluate("['facilities', 'services'].map(i => kcnGis.count(i))")
        assert counts == [3, 2]
        assert page.evaluate("kcnGis.layers.facilities.painted") == 3
        dorm = to_wgs84(atlas.facilities[atlas.facilities["facility_id"] == "KTX1"]).geometry.iloc[0]
        p.click_lonlat(dorm.x, dorm.y)
        text = p.popup_text()
        assert "Ký túc xá <b>Một</b>" in text  # shown as text, not markup
        assert "Nhà ở cho người lao động" in text and "50 Chỗ ở (người)" in text
        assert not p.errors and not p.blocked
    finally:
        p.page.close()
