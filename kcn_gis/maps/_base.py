"""Shared pieces of the three map builders: layer specs, context layers, park filter, numbers from analytics."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from kcn_gis.errors import KcnGisError
from kcn_gis.maps.i18n import STRINGS, bilingual, t
from kcn_gis.maps.layers import encode_geometry, encode_props, simplify_coverage, to_map_crs
from kcn_gis import style
from kcn_gis.style import StyleClass
from kcn_gis.schema import DUONG, Col

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__: list[str] = []

log = logging.getLogger(__name__)

#: Province outline and rivers (context layers); defined in kcn_gis.style with their classes.
PROVINCE_COLOR = style.PROVINCE_COLOR
RIVER_COLOR = style.RIVER_COLOR

#: Layers with fewer vertices per feature than this on average are not simplified.
_SIMPLIFY_MIN_VERTICES = 12

#: Interface strings every page needs (search box, legend title, yes/no ...).
_PAGE_STRINGS = ("search", "no_match", "legend", "language", "timeline", "yes", "no")


def date_text(ts: pd.Timestamp) -> dict[str, str]:
    vi, en = STRINGS["as_of"]
    return {"vi": f"{vi} {ts:%d/%m/%Y}", "en": f"{en} {ts:%Y-%m-%d}"}


def page_spec(title_key: str, lang: str, subtitle: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "lang": lang,
        "title": t(title_key),
        "subtitle": subtitle,
        "attribution": t("attribution"),
        "strings": {k: t(k) for k in _PAGE_STRINGS},
        "layers": [],
        "legend": [],
        "panels": [],
        "search": None,
        "slider": None,
    }


def layer_spec(
    layer_id: str,
    name: dict[str, str],
    frame: Any,
    classes: Sequence[StyleClass],
    codes: Any,
    props: pd.DataFrame | None = None,
    *,
    popup: dict[str, Any] | None = None,
    show: bool = True,
    simplify_m: float = 0.0,
    coverage: bool = True,
    precision: int = 6,
) -> dict[str, Any]:
    """One page layer from a frame in the projected working CRS.

    The geometry is simplified in metres (``simplify_m``, coverage-preserving;
    only when features have more than a dozen vertices on average),
    converted to EPSG:4326 explicitly, and encoded compactly; ``codes`` are class
    indices into ``classes`` (one int per feature or a single int for all).
    """
    geoms = frame.geometry
    if simplify_m > 0 and len(frame) and _worth_simplifying(geoms):
        if shapely.get_type_id(np.asarray(geoms.values)).max() in (3, 6):
            geoms = simplify_coverage(geoms, simplify_m, coverage=coverage)
        else:
            geoms = geoms.simplify(simplify_m, preserve_topology=True)
    import geopandas as gpd

    wgs = to_map_crs(gpd.GeoDataFrame(geometry=np.asarray(geoms.values), crs=frame.crs), what=layer_id)
    if isinstance(codes, (int, np.integer)):
        cls: Any = int(codes)
    else:
        cls = np.asarray(codes, dtype=np.int64).tolist()
    return {
        "id": layer_id,
        "name": name,
        "n": len(frame),
        "show": show,
        "interactive": popup is not None,
        "geom": encode_geometry(np.asarray(wgs.geometry.values), precision=precision),
        "cls": cls,
        "classes": [c.to_json() for c in classes],
        "props": encode_props(props) if props is not None else {},
        "popup": popup,
    }


def _worth_simplifying(geoms: Any) -> bool:
    """Simplify only layers with more than ``_SIMPLIFY_MIN_VERTICES`` vertices per feature on average.

    Quadrilateral or hexagonal parcels cannot lose a vertex without changing shape,
    and checking a 100 000-polygon coverage costs seconds for nothing.
    """
    n = shapely.get_num_coordinates(np.asarray(geoms.values)).sum()
    return bool(n > _SIMPLIFY_MIN_VERTICES * len(geoms))


def context_layers(atlas: Atlas) -> list[dict[str, Any]]:
    """Province outline and rivers (the Đuống drawn heavier), non-interactive context layers."""
    province = atlas.province
    rivers = atlas.rivers
    out = []
    if len(province):
        cls = style.province_classes()
        out.append(layer_spec("province", t("layer_province"), province, cls, 0, simplify_m=5.0, coverage=False))
    if len(rivers):
        cls = style.river_classes()
        codes = np.where(rivers[Col.NAME].astype(str).to_numpy() == DUONG, 0, 1)
        out.append(layer_spec("rivers", t("layer_rivers"), rivers, cls, codes, simplify_m=5.0))
    return out


def filter_park(frame: Any, park: str | None) -> Any:
    if park is None or Col.PARK_ID not in frame.columns:
        return frame
    return frame[frame[Col.PARK_ID].astype(str) == str(park)]


def check_park(parks: Any, park: str | None) -> str | None:
    """The park id ``park`` means (id without case, or name without diacritics); raises UnknownNameError."""
    if park is None:
        return None
    from kcn_gis.names import resolve_park_ids

    ids = parks[Col.PARK_ID].astype(object).tolist()
    cols = [parks[c].astype(object).tolist() for c in (Col.NAME, Col.NAME_EN) if c in parks.columns]
    names = {str(i): [c[k] for c in cols] for k, i in enumerate(ids)}
    found = resolve_park_ids(park, ids, names=names)
    return found[0] if found else None


def park_names(parks: Any) -> dict[str, dict[str, str]]:
    """park_id -> {"vi": name, "en": name_en or name}."""
    out = {}
    for pid, vi, en in zip(parks[Col.PARK_ID], parks[Col.NAME], parks[Col.NAME_EN], strict=True):
        en_text = en if isinstance(en, str) and en.strip() else vi
        out[str(pid)] = {"vi": str(vi), "en": str(en_text)}
    return out


def labels(values: Any, table: dict[Any, tuple[str, str]]) -> list[dict[str, str] | None]:
    """Enum values -> bilingual labels (None for missing / unknown)."""
    lookup = {str(k): bilingual(v) for k, v in table.items()}
    return [lookup.get(str(v)) if not _missing(v) else None for v in values]


def _missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def bounds_of(*frames: Any) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the non-empty frames, in EPSG:4326."""
    boxes = []
    for f in frames:
        if f is not None and len(f) and not f.geometry.is_empty.all():
            w = to_map_crs(f[[f.geometry.name]], what="bounds")
            boxes.append(w.total_bounds)
    if not boxes:
        raise KcnGisError("nothing to map: the atlas has no province, parks or plots with geometry")
    b = np.array(boxes)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())


def park_search(layer_id: str = "parks") -> dict[str, Any]:
    return {"layer": layer_id, "fields": [str(Col.NAME), str(Col.NAME_EN)]}
