"""The rival of ``kcn-gis map clearance``: the same clearance map built with lonboard (deck.gl, GeoArrow).

What a user who picks lonboard would write for the same page: the parcels with
the same popup fields (park, parcel id, commune, map sheet, parcel number, land
type, legal area, stage, last event date), filled by clearance stage with the
kcn_gis stage colours (open complaints outlined), the parks under them, and
``Map(...).to_html()``. The stages come from the same
:func:`kcn_gis.clearance.parcel_stages` call that the kcn_gis map makes, so both
sides do the same work; lonboard reprojects EPSG:9209 to EPSG:4326 itself.

The page lonboard writes loads its widget manager from a CDN, so it is not an
offline page and the benchmark does not render it (there is no network here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["available", "build"]


def available() -> str | None:
    """None when lonboard can be imported, else the reason it cannot."""
    try:
        import lonboard  # noqa: F401
    except ImportError as exc:
        return f"lonboard is not installed ({exc}); install it with: pip install -e '.[bench]'"
    return None


def _rgba(color: str, opacity: float) -> list[int]:
    c = color.lstrip("#")
    return [int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16), round(255 * opacity)]


def build(atlas: Any, out: Path, *, as_of: str) -> Path:
    """Write the lonboard clearance map of ``atlas`` on ``as_of`` to ``out`` (HTML)."""
    import geopandas as gpd
    from lonboard import Map, PolygonLayer

    from kcn_gis.clearance import parcel_stages
    from kcn_gis.maps.clearance import stage_codes
    from kcn_gis.maps.legend import stage_classes
    from kcn_gis.schema import Col

    parcels, parks = atlas.parcels, atlas.parks
    stages = parcel_stages(atlas.clearance_events, parcels, as_of=pd.Timestamp(as_of))
    codes = stage_codes(stages)
    classes = stage_classes()
    fill = np.array([_rgba(c.style.get("fillColor", c.style.get("color", "#888888")), 0.7) for c in classes], np.uint8)
    line = np.array([_rgba(c.style.get("color", "#555555"), 1.0) for c in classes], np.uint8)
    width = np.array([float(c.style.get("weight", 1)) for c in classes], np.float32)
    names = dict(zip(parks[Col.PARK_ID].astype(str), parks[Col.NAME].astype(str), strict=True))
    label = np.array([str(c.label["vi"]) if isinstance(c.label, dict) else str(c.label) for c in classes], dtype=object)
    frame = gpd.GeoDataFrame(
        {
            "park": parcels[Col.PARK_ID].astype(str).map(names).to_numpy(),
            "parcel_id": parcels[Col.PARCEL_ID].to_numpy(),
            "commune": parcels[Col.COMMUNE].to_numpy(),
            "map_sheet": parcels[Col.MAP_SHEET].to_numpy(),
            "parcel_no": parcels[Col.PARCEL_NO].to_numpy(),
            "land_type": parcels[Col.LAND_TYPE].to_numpy(),
            "legal_area_m2": parcels[Col.LEGAL_AREA_M2].to_numpy(),
            "stage": label[codes],
            "last_event_date": pd.to_datetime(stages["last_event_date"]).to_numpy(),
        },
        geometry=parcels.geometry.to_numpy(),
        crs=parcels.crs,
    )
    layer = PolygonLayer.from_geopandas(
        frame, get_fill_color=fill[codes], get_line_color=line[codes], get_line_width=width[codes]
    )
    park_layer = PolygonLayer.from_geopandas(
        gpd.GeoDataFrame({"name": parks[Col.NAME].to_numpy()}, geometry=parks.geometry.to_numpy(), crs=parks.crs),
        get_fill_color=[0, 0, 0, 20],
        get_line_color=[60, 60, 60, 255],
    )
    Map([park_layer, layer]).to_html(out)
    return out
