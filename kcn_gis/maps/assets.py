"""Offline assets: Leaflet, jQuery and Font Awesome inlined from the installed ``xstatic-*`` packages.

An offline map is one self-contained HTML file. :func:`inline_html` takes the
HTML folium renders (which loads Leaflet, jQuery, Bootstrap and the
awesome-markers plugin from CDNs) and

* replaces the Leaflet and jQuery ``<script src=...>`` tags and the Leaflet
  stylesheet ``<link>`` by the files of ``xstatic-leaflet`` / ``xstatic-jquery``,
  with Leaflet's images turned into ``data:`` URIs;
* inlines Font Awesome (CSS + the woff2 web fonts as ``data:`` URIs, from
  ``xstatic-font-awesome``) only when the page uses ``fa-`` icon classes;
* drops Bootstrap, the Bootstrap glyphicons and awesome-markers, which only
  folium's ``Icon`` markers need (the kcn_gis maps use none);
* refuses (:class:`~kcn_gis.errors.KcnGisError`) any other external resource,
  naming it, instead of writing a file that silently needs the network.

Finally it checks that no ``src``/``href``/``url()`` reference with ``http://``
or ``https://`` is left anywhere in the page it is given. :func:`kcn_gis.maps.save_map`
gives it the page without the page data (placeholders instead): the data is
escaped JSON in ``application/json`` elements, which cannot load anything, and
scanning it took seconds at a million parcels.
"""

from __future__ import annotations

import base64
import logging
import re
from functools import lru_cache
from pathlib import Path

from kcn_gis.errors import KcnGisError, MissingDependencyError

__all__ = ["external_references", "font_awesome_css", "inline_html", "jquery_js", "leaflet_css", "leaflet_js"]

log = logging.getLogger(__name__)

_SCRIPT_RE = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']([^\"']+)[\"'][^>]*>\s*</script>", re.IGNORECASE)
_LINK_RE = re.compile(r"<link\b[^>]*\bhref\s*=\s*[\"']([^\"']+)[\"'][^>]*/?>", re.IGNORECASE)
#: Network references left in a page: src=/href= attributes, CSS url(...) and @import.
_NETWORK_RE = re.compile(
    r"""(?:\b(?:src|href|srcset|poster)\s*=\s*["']?\s*|url\(\s*["']?\s*|@import\s+["'])(?:https?:)?//""",
    re.IGNORECASE,
)
_UNUSED = ("bootstrap", "glyphicons", "awesome-markers", "leaflet.awesome.rotate")
_LEAFLET_PREFIX = '<a href="https://leafletjs.com" title="A JavaScript library for interactive maps">'


def _data_dir(package: str, dist: str) -> Path:
    import importlib

    try:
        mod = importlib.import_module(f"xstatic.pkg.{package}")
    except ImportError as exc:
        raise MissingDependencyError(
            f"Offline maps need the package '{dist}' (it is a core dependency of kcn_gis); "
            f"reinstall kcn_gis or run: pip install {dist}"
        ) from exc
    return Path(mod.BASE_DIR)


def _data_uri(path: Path, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(path.read_bytes()).decode("ascii")


@lru_cache(maxsize=1)
def leaflet_js() -> str:
    """Leaflet's minified JavaScript from ``xstatic-leaflet``.

    The attribution prefix's link to leafletjs.com is turned into plain text so
    that the page holds no network reference.
    """
    text = (_data_dir("leaflet", "xstatic-leaflet") / "leaflet.js").read_text(encoding="utf-8")
    return text.replace(_LEAFLET_PREFIX, '<a title="A JavaScript library for interactive maps">')


@lru_cache(maxsize=1)
def leaflet_css() -> str:
    """Leaflet's stylesheet with its images inlined as ``data:`` URIs."""
    base = _data_dir("leaflet", "xstatic-leaflet")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def repl(m: re.Match[str]) -> str:
        return f"url({_data_uri(base / 'images' / m.group(1), 'image/png')})"

    return re.sub(r"url\(images/([\w.-]+\.png)\)", repl, css)


@lru_cache(maxsize=1)
def jquery_js() -> str:
    """jQuery's minified JavaScript from ``xstatic-jquery``."""
    return (_data_dir("jquery", "xstatic-jquery") / "jquery.min.js").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def font_awesome_css() -> str:
    """Font Awesome's ``all.min.css`` with the woff2 web fonts inlined (the ttf fallbacks are dropped)."""
    base = _data_dir("font_awesome", "xstatic-font-awesome")
    css = (base / "css" / "all.min.css").read_text(encoding="utf-8")
    css = re.sub(r',\s*url\(\.\./webfonts/[\w.-]+\.ttf\)\s*format\("truetype"\)', "", css)
    css = re.sub(r'url\(\.\./webfonts/[\w.-]+\.ttf\)\s*format\("truetype"\)\s*,?', "", css)

    def repl(m: re.Match[str]) -> str:
        return f"url({_data_uri(base / 'webfonts' / m.group(1), 'font/woff2')})"

    return re.sub(r"url\(\.\./webfonts/([\w.-]+\.woff2)\)", repl, css)


def _inline_script(text: str) -> str:
    # A literal "</script" inside inlined code would end the element early.
    return "<script>" + re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE) + "</script>"


def _inline_style(text: str) -> str:
    return "<style>" + re.sub(r"</(style)", r"<\\/\1", text, flags=re.IGNORECASE) + "</style>"


def external_references(html: str) -> list[str]:
    """Return the network references (``src``/``href``/``url()``/``@import`` with http(s) or ``//``) in ``html``.

    An offline page must have none; :func:`inline_html` raises when any is left.
    """
    out = []
    for m in _NETWORK_RE.finditer(html):
        end = html.find(")", m.end()) if m.group(0).lower().startswith("url") else -1
        stop = min(x for x in (end, html.find('"', m.end()), html.find("'", m.end()), m.end() + 200) if x > 0)
        out.append(html[m.start() : stop])
    return out


def inline_html(html: str) -> str:
    """Return ``html`` (a page rendered by folium) with every script and stylesheet inlined.

    Raises
    ------
    KcnGisError
        If the page needs an external resource that cannot be inlined from the
        ``xstatic-*`` packages (e.g. a folium plugin loaded from a CDN), or if a
        network reference would be left in the page. The message names it.
    """
    uses_fa = re.search(r"\bfa-(?:solid|regular|brands|[a-z0-9-]+)\b", _strip_tags(html)) is not None
    unknown: list[str] = []

    def script(m: re.Match[str]) -> str:
        url = m.group(1)
        name = url.rsplit("/", 1)[-1].lower()
        if re.fullmatch(r"leaflet(?:-src)?(?:\.min)?\.js", name):
            return _inline_script(leaflet_js())
        if re.fullmatch(r"jquery(?:-[\d.]+)?(?:\.min)?\.js", name):
            return _inline_script(jquery_js())
        if any(u in url.lower() for u in _UNUSED):
            return ""
        if url.startswith(("http://", "https://", "//")):
            unknown.append(url)
        return m.group(0)

    def link(m: re.Match[str]) -> str:
        url = m.group(1)
        tag = m.group(0).lower()
        if "stylesheet" not in tag:
            if url.startswith(("http://", "https://", "//")):
                unknown.append(url)
            return m.group(0)
        name = url.rsplit("/", 1)[-1].lower()
        if re.fullmatch(r"leaflet(?:\.min)?\.css", name):
            return _inline_style(leaflet_css())
        if "fontawesome" in url.lower() or "font-awesome" in url.lower():
            return _inline_style(font_awesome_css()) if uses_fa else ""
        if any(u in url.lower() for u in _UNUSED):
            return ""
        if url.startswith(("http://", "https://", "//")):
            unknown.append(url)
        return m.group(0)

    out = _SCRIPT_RE.sub(script, html)
    out = _LINK_RE.sub(link, out)
    if unknown:
        raise KcnGisError(
            "cannot write an offline map: the page loads resources that kcn_gis cannot inline: "
            + ", ".join(unknown)
            + ". Remove the folium plugin that needs them, or save without offline=True (online map)."
        )
    left = external_references(out)
    if left:
        raise KcnGisError(
            "cannot write an offline map: network references are left in the page: "
            + "; ".join(left[:5])
            + ". Save without offline=True, or remove the element that adds them."
        )
    log.debug("inlined offline assets: %d bytes", len(out))
    return out


def _strip_tags(html: str) -> str:
    # class attributes only: "fa-" inside inlined JavaScript or data is not an icon.
    return " ".join(re.findall(r"class\s*=\s*[\"']([^\"']*)[\"']", html))
