"""Interactive maps for three audiences, built with folium from an atlas.

* :func:`investor_map` - parks, fill rates and available land, bilingual, no personal data;
* :func:`planning_map` - every layer, fill-rate choropleth, both banks, validation problems;
* :func:`clearance_map` - parcels by clearance stage, optional time slider.

Each returns a :class:`folium.Map` (displays inline in Jupyter); :func:`save_map`
writes it, optionally as one self-contained offline HTML file. Maps show numbers
from :mod:`kcn_gis.analytics` and :mod:`kcn_gis.clearance`; they compute none.
"""

from __future__ import annotations

from kcn_gis.maps._page import render_html, save_map
from kcn_gis.maps.clearance import clearance_map
from kcn_gis.maps.investor import investor_map
from kcn_gis.maps.planning import planning_map

__all__ = ["clearance_map", "investor_map", "planning_map", "render_html", "save_map"]
