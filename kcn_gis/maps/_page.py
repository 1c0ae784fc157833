"""The folium side of a kcn_gis map: one element that carries the page data and the runtime, and saving."""

from __future__ import annotations

import logging
import os
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kcn_gis.errors import MissingDependencyError
from kcn_gis.maps.layers import safe_json

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
    from branca.element import MacroElement
    from jinja2 import Template

    class _KcnMapData(MacroElement):  # type: ignore[misc]
        """Page data (compact layers, legend, strings) and the kcn_gis runtime for one map."""

        _template = Template(
            """
{% macro header(this, kwargs) %}<style>{{ this.css }}</style>{% endmacro %}
{% macro html(this, kwargs) %}<script type="application/json" id="{{ this.get_name() }}">{{ this.data }}</script>{% endmacro %}
{% macro script(this, kwargs) %}
{{ this.js }}
KcnGisRuntime({{ this._parent.get_name() }}, JSON.parse(document.getElementById("{{ this.get_name() }}").textContent));
{% endmacro %}
"""
        )

        def __init__(self, spec: dict[str, Any]) -> None:
            super().__init__()
            self._name = "KcnMapData"
            self.spec = spec
            self.js, self.css = _runtime()

        @property
        def data(self) -> str:
            return safe_json(self.spec)

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


def save_map(m: folium.Map, path: str | os.PathLike[str], *, offline: bool = False) -> Path:
    """Write ``m`` as an HTML file, atomically (a failed write leaves no half-written file).

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
    html = render_html(m, offline=offline)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; a map is meant to be shared
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    log.info("wrote %s map %s (%d bytes)", "offline" if offline else "online", out, len(html.encode("utf-8")))
    return out
