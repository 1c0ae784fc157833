"""Offline pages: every script and stylesheet inlined, no network reference left."""

from __future__ import annotations

import folium
import pytest

from kcn_gis.errors import KcnGisError
from kcn_gis.maps.assets import external_references, font_awesome_css, inline_html, leaflet_css, leaflet_js


def test_folium_default_page_is_fully_inlined():
    html = folium.Map(tiles=None, prefer_canvas=True).get_root().render()
    assert external_references(html), "folium's default page should load from CDNs (test is meaningless otherwise)"
    out = inline_html(html)
    assert external_references(out) == []
    assert "http://" not in out.replace("http://www.w3.org/", "") and "https://" not in _strip_comments(out)
    assert "L.map(" in out and "leaflet-container" in out  # Leaflet JS and CSS are in the page
    assert "bootstrap" not in out.lower().replace("bootstrap-", "")


def _strip_comments(text: str) -> str:
    import re

    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def test_leaflet_assets_have_no_network_references():
    assert external_references("<style>" + leaflet_css() + "</style>") == []
    assert "url(images/" not in leaflet_css() and "data:image/png;base64," in leaflet_css()
    assert 'href="https://leafletjs.com"' not in leaflet_js()
    fa = font_awesome_css()
    assert "../webfonts" not in fa and "data:font/woff2;base64," in fa and ".ttf" not in fa


def test_font_awesome_is_inlined_only_when_icons_are_used():
    page = folium.Map(tiles=None).get_root().render()
    assert "data:font/woff2" not in inline_html(page)
    with_icon = page.replace("<body>", '<body><i class="fa-solid fa-industry"></i>')
    assert "data:font/woff2" in inline_html(with_icon)


def test_unknown_external_resource_is_refused_with_its_name():
    page = folium.Map(tiles=None).get_root().render()
    page = page.replace("</head>", '<script src="https://cdn.example.org/plugin.js"></script></head>')
    with pytest.raises(KcnGisError, match=r"cdn\.example\.org/plugin\.js"):
        inline_html(page)


@pytest.mark.parametrize(
    "snippet",
    [
        '<img src="https://x.org/a.png">',
        "<style>a{background:url( 'http://x.org/b.png')}</style>",
        '<a href="//x.org">x</a>',
    ],
)
def test_left_over_network_references_are_refused(snippet):
    page = folium.Map(tiles=None).get_root().render().replace("<body>", "<body>" + snippet)
    with pytest.raises(KcnGisError, match="network references"):
        inline_html(page)
