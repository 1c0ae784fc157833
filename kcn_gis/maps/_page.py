"""The folium side of a kcn_gis map: one element that carries the page data and the runtime, and saving."""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kcn_gis.errors import KcnGisError, MissingDependencyError
from kcn_gis.maps.layers import iter_json, safe_json

if TYPE_CHECKING:
    import folium

__all__ = ["new_map", "render_html", "save_map"]

log = logging.getLogger(__name__)

_HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=1)
def _runtime() -> tuple[str, str]:
    js = (_HERE / "runtime.js").read_text(encoding="utf-8")
    css = (_HERE / "runtime.css").read_text(encoding="utf-8")
    return js, css


def _folium() -> Any:
    try:
        import folium
    except ImportError as exc:  # pragma: no cover - folium is a core dependency
        raise MissingDependencyError("Interactive maps need 'folium'. Install it with: pip install folium") from exc
    return folium


@lru_cache(maxsize=1)
def _element_class() -> type:
    from branca.element import Element, Figure, MacroElement

    class _Raw(Element):  # type: ignore[misc]
        """Text put into the page as it is (branca would compile a rendered text as a Jinja template again)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

        def render(self, **kwargs: Any) -> str:
            return self.text

    class _KcnMapData(MacroElement):  # type: ignore[misc]
        """Page data (compact layers, legend, strings) and the kcn_gis runtime for one map.

        The data is the page's ``<script type="application/json" id=...>`` element, and
        beside it one with ``data-kcn-arrays`` holding its big ASCII arrays (see
        :func:`~kcn_gis.maps.layers.iter_json`, ``side=``; ``KcnGisRuntime.load`` in
        ``runtime.js`` puts them back). While :func:`_page_parts` renders, both hold
        placeholders, and the data is written in pieces in their place.
        """

        def __init__(self, spec: dict[str, Any]) -> None:
            super().__init__()
            self._name = "KcnMapData"
            self.spec = spec
            self.js, self.css = _runtime()
            self.placeholder: str | None = None

        @property
        def data(self) -> str:
            """The page data as one JSON text (no side element)."""
            return safe_json(self.spec)

        def texts(self) -> tuple[str, str]:
            """The page data as the main JSON text (with markers) and the side array of big ASCII pieces."""
            side: list[str] = []
            main = "".join(_checked(iter_json(self.spec, side)))
            return main, "".join(_side_pieces(side))

        def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as MacroElement.render
            figure = self.get_root()
            if not isinstance(figure, Figure):
                raise TypeError("a kcn_gis map element can only be rendered inside a folium Figure")
            parent = self._parent
            if parent is None:
                raise TypeError("a kcn_gis map element must be added to a folium Map")
            name = self.get_name()
            figure.header.add_child(_Raw(f"<style>{self.css}</style>"), name=name)
            if self.placeholder is not None:
                main, side = f"{self.placeholder}:main", f"{self.placeholder}:side"
            else:
                main, side = self.texts()
            figure.html.add_child(_Raw(_data_html(name, main, side)), name=name)
            figure.script.add_child(
                _Raw(f'\n{self.js}\nKcnGisRuntime({parent.get_name()}, KcnGisRuntime.load("{name}"));'),
                name=name,
            )
            for child in self._children.values():
                child.render(**kwargs)

    return _KcnMapData


def new_map(
    spec: dict[str, Any], *, bounds: tuple[float, float, float, float], tiles: str | None = "OpenStreetMap"
) -> folium.Map:
    """Create the folium map for ``spec`` (canvas renderer, scale bar, no folium layer control).

    ``bounds`` is (min lon, min lat, max lon, max lat) in EPSG:4326.
    """
    folium = _folium()
    w, s, e, n = bounds
    spec["fit"] = [[s, w], [n, e]]
    m = folium.Map(
        location=[(s + n) / 2, (w + e) / 2],
        zoom_start=11,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
    )
    if tiles:
        folium.TileLayer(tiles, name="OpenStreetMap", kcnName="OpenStreetMap").add_to(m)
    m.add_child(_element_class()(spec))
    return m


def _tile_layers(m: folium.Map) -> list[tuple[str, Any]]:
    folium = _folium()
    return [(k, v) for k, v in m._children.items() if isinstance(v, folium.raster_layers.TileLayer)]


def _names(element: Any) -> list[str]:
    out = [element.get_name()]
    for child in element._children.values():
        out += _names(child)
    return out


def _data_elements(m: Any) -> list[Any]:
    cls = _element_class()
    out = []

    def walk(e: Any) -> None:
        if isinstance(e, cls):
            out.append(e)
        for child in e._children.values():
            walk(child)

    walk(m)
    return out


def _data_html(name: str, main: str, side: str) -> str:
    return (
        f'<script type="application/json" id="{name}">{main}</script>'
        f'<script type="application/json" data-kcn-arrays="{name}">{side}</script>'
    )


class _Data:
    """The page data of one map element while it is written: the main text first, then the side arrays."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.side: list[str] = []

    def main(self) -> Iterator[str]:
        return _checked(iter_json(self.spec, self.side))

    def rest(self) -> Iterator[str]:
        return _side_pieces(self.side)


def _checked(pieces: Iterator[str]) -> Iterator[str]:
    for piece in pieces:
        if "<" in piece:  # html_safe output never has one; a "</script>" here would end the element
            raise KcnGisError("internal error: unescaped '<' in the map's page data")
        yield piece


def _side_pieces(side: list[str]) -> Iterator[str]:
    yield "["
    for i, text in enumerate(side):
        if "<" in text:
            raise KcnGisError("internal error: unescaped '<' in the map's page data")
        yield ("," + text) if i else text
    yield "]"


def _page_parts(m: folium.Map, *, offline: bool) -> list[Any]:
    """The page as text around the page data: ``[text, data main, text, data side, text, ...]``.

    The page is rendered with placeholders where the data goes, so that only the
    small remainder goes through folium's templates and, offline, through
    :func:`~kcn_gis.maps.assets.inline_html` (inlining and the check for network
    references). The data itself is HTML-safe JSON (no ``<``, ``>`` or ``&``,
    :func:`~kcn_gis.maps.layers.html_safe`) inside ``<script type="application/json">``
    elements, which the browser never reads as markup, style or code, and the
    runtime shows its values with ``textContent`` only: it cannot hold a network reference.
    """
    elements = _data_elements(m)
    for e in elements:
        e.placeholder = f"@@kcn-gis-page-data-{uuid.uuid4().hex}@@"
    try:
        html = _render(m, offline=offline)
    finally:
        holders = [(e.placeholder, e.spec) for e in elements]
        for e in elements:
            e.placeholder = None
    parts: list[Any] = []
    rest = html
    for holder, spec in holders:
        data = _Data(spec)
        for mark, piece in ((f"{holder}:main", data.main), (f"{holder}:side", data.rest)):
            if rest.count(mark) != 1:
                raise KcnGisError("internal error: the map's page data is not in the page exactly once")
            before, rest = rest.split(mark)
            parts += [before, piece]
    parts.append(rest)
    return parts


def _render(m: folium.Map, *, offline: bool) -> str:
    if not offline:
        return m.get_root().render()
    from kcn_gis.maps.assets import inline_html

    tiles = _tile_layers(m)
    fig: Any = m.get_root()
    for k, v in tiles:
        del m._children[k]
        # an earlier (online) render left the tile layer's code in the figure: drop it too
        for name in _names(v):
            for part in (fig.header, fig.html, fig.script):
                part._children.pop(name, None)
    try:
        html = m.get_root().render()
    finally:
        for k, v in tiles:
            m._children[k] = v
    return inline_html(html)


def _pieces(parts: list[Any]) -> Iterator[str]:
    for part in parts:
        if isinstance(part, str):
            yield part
        else:
            yield from part()


def render_html(m: folium.Map, *, offline: bool = False) -> str:
    """Render ``m`` to a full HTML page.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`~kcn_gis.maps.investor_map` and friends (or any folium map).
    offline : bool, default False
        Make the page self-contained: tile layers are left out (no network) and
        every script and stylesheet is inlined from the ``xstatic-*`` packages
        (see :mod:`kcn_gis.maps.assets`).
    """
    return "".join(_pieces(_page_parts(m, offline=offline)))


def save_map(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = False) -> Path:
    """Write ``m`` as an HTML file, atomically (a failed write leaves no half-written file).

    The page data is streamed into the file piece by piece (one piece per big
    array or column), never built as one string.

    Parameters
    ----------
    m : folium.Map
        The map.
    path : path-like
        Output file (``.html``); parent directories are created.
    offline : bool, default False
        One self-contained file with no network references: no tiles, Leaflet and
        jQuery inlined. Online maps use OpenStreetMap tiles and CDN scripts.

    Returns
    -------
    Path
        The written file.
    """
    parts = _page_parts(m, offline=offline)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    size = 0
    try:
        with os.fdopen(fd, "wb") as fh:
            for piece in _pieces(parts):
                b = piece.encode("utf-8")
                fh.write(b)
                size += len(b)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a map is meant to be shared
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s map %s (%d bytes)", "offline" if offline else "online", out, size)
    return out
