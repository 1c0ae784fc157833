"""Map layers around the parks: facilities by kind, and parks by the services within reach.

The maps show numbers; they do not compute them. Beds and distances come from
:func:`kcn_gis.analytics.housing_coverage`. Facilities drawn as points are
shown as discs of :data:`MARKER_RADIUS_M` metres, buffered in the atlas CRS
(EPSG:9209) before the explicit conversion to EPSG:4326, so the canvas renderer
draws and hit-tests them like any polygon. Only the fields of the audience's
allow-list are read (:data:`kcn_gis.schema.INVESTOR_FIELDS` for investors).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely

from kcn_gis.maps._base import labels, layer_spec
from kcn_gis.maps.i18n import bilingual, column_label
from kcn_gis.maps.layers import select_fields
from kcn_gis.maps.legend import StyleClass
from kcn_gis.schema import (
    CAPACITY_UNIT_LABELS,
    FACILITY_KIND_LABELS,
    FACILITY_STATUS_LABELS,
    SERVICE_KINDS,
    Col,
    FacilityKind,
    Layer,
)

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = [
    "FACILITY_COLORS",
    "MARKER_RADIUS_M",
    "SERVICES_COLORS",
    "facilities_layer",
    "facility_classes",
    "services_classes",
    "services_layer",
]

log = logging.getLogger(__name__)

#: Radius in metres (EPSG:9209) of the disc drawn for a facility recorded as a point.
MARKER_RADIUS_M = 150.0

#: Fill colour per facility kind.
FACILITY_COLORS: dict[FacilityKind, str] = {
    FacilityKind.WORKER_HOUSING: "#e6550d",
    FacilityKind.SCHOOL: "#3182bd",
    FacilityKind.KINDERGARTEN: "#6baed6",
    FacilityKind.CLINIC: "#de2d26",
    FacilityKind.MARKET: "#756bb1",
    FacilityKind.CULTURE_SPORT: "#31a354",
    FacilityKind.WASTEWATER_PLANT: "#08519c",
    FacilityKind.WASTE_STORAGE: "#636363",
}

#: Colours of the "services within reach" classes: 0 .. 4 of school, kindergarten, clinic, market.
SERVICES_COLORS = ("#f7f7f7", "#cce5df", "#8fcfc0", "#41a68f", "#00695c")

_FIELDS = (
    Col.FACILITY_ID,
    Col.KIND,
    Col.NAME,
    Col.NAME_EN,
    Col.PARK_ID,
    Col.CAPACITY,
    Col.CAPACITY_UNIT,
    Col.FLOOR_AREA_M2,
    Col.STATUS,
    Col.COMMISSIONED_ON,
)
_LAYER_NAME = ("Nhà ở, dịch vụ và công trình môi trường", "Housing, services and environment facilities")
_SERVICES_NAME = ("Dịch vụ trong bán kính tiếp cận", "Services within reach")


def facility_classes() -> list[StyleClass]:
    """One style class per facility kind (:class:`kcn_gis.schema.FacilityKind`)."""
    return [
        StyleClass(
            str(k),
            bilingual(FACILITY_KIND_LABELS[k]),
            {"color": "#333333", "fillColor": FACILITY_COLORS[k], "weight": 1, "opacity": 0.9, "fillOpacity": 0.85},
        )
        for k in FacilityKind
    ]


def services_classes() -> list[StyleClass]:
    """Classes 0..4: how many of the four service kinds lie within reach of the park."""
    out = []
    for n, colour in enumerate(SERVICES_COLORS):
        out.append(
            StyleClass(
                f"services_{n}",
                {"vi": f"{n}/4 loại dịch vụ", "en": f"{n} of 4 service kinds"},
                {"color": "#444444", "fillColor": colour, "weight": 1, "opacity": 0.9, "fillOpacity": 0.7},
            )
        )
    return out


def _shapes(facilities: Any) -> Any:
    """Point geometries as discs of :data:`MARKER_RADIUS_M` m (atlas CRS); polygons unchanged."""
    g = np.asarray(facilities.geometry.values, dtype=object)
    pts = np.isin(shapely.get_type_id(g), (0, 4))
    out = g.copy()
    if pts.any():
        out[pts] = shapely.buffer(g[pts], MARKER_RADIUS_M, quad_segs=8)
    return facilities.set_geometry(pd.Series(out, index=facilities.index), crs=facilities.crs)


def _capacity_text(frame: pd.DataFrame) -> list[dict[str, str] | None]:
    units = {str(k): v for k, v in CAPACITY_UNIT_LABELS.items()}
    out: list[dict[str, str] | None] = []
    for cap, unit in zip(frame[Col.CAPACITY], frame[Col.CAPACITY_UNIT], strict=True):
        if cap is None or pd.isna(cap):
            out.append(None)
            continue
        vi, en = units.get(str(unit), ("", ""))
        out.append({"vi": f"{cap:,.0f} {vi}".strip().replace(",", "."), "en": f"{cap:,.0f} {en}".strip()})
    return out


def facilities_layer(
    facilities: Any, *, allowed: Iterable[str], park_names: dict[str, Any], show: bool = True
) -> dict[str, Any] | None:
    """The facilities as a page layer coloured by kind, or None when there is none.

    Parameters
    ----------
    facilities : GeoDataFrame
        The ``facilities`` layer in the projected atlas CRS (EPSG:9209, metres).
    allowed : iterable of str
        The audience's allow-list for the layer; a column outside it is never read.
    park_names : dict
        park_id -> bilingual park name, for the popups.
    """
    if facilities is None or not len(facilities):
        return None
    shown = _shapes(facilities)
    props = select_fields(facilities, allowed, _FIELDS)
    props["park"] = [park_names.get(str(p)) if not pd.isna(p) else None for p in props[Col.PARK_ID]]
    props["kind_label"] = labels(facilities[Col.KIND], FACILITY_KIND_LABELS)
    props["status_label"] = labels(facilities[Col.STATUS], FACILITY_STATUS_LABELS)
    props["capacity_text"] = _capacity_text(props)
    props = props.drop(
        columns=[str(Col.KIND), str(Col.STATUS), str(Col.CAPACITY), str(Col.CAPACITY_UNIT), str(Col.PARK_ID)]
    )
    classes = facility_classes()
    keys = [c.key for c in classes]
    codes = [keys.index(str(k)) if str(k) in keys else 0 for k in facilities[Col.KIND]]
    lf = Layer.FACILITIES
    popup = {
        "title": {"vi": str(Col.NAME), "en": str(Col.NAME_EN)},
        "rows": [
            {"label": column_label(lf, Col.KIND), "field": "kind_label"},
            {"label": column_label(lf, Col.STATUS), "field": "status_label"},
            {"label": column_label(lf, Col.PARK_ID), "field": "park"},
            {"label": column_label(lf, Col.CAPACITY), "field": "capacity_text"},
            {"label": column_label(lf, Col.FLOOR_AREA_M2), "field": str(Col.FLOOR_AREA_M2), "fmt": "m2"},
            {"label": column_label(lf, Col.COMMISSIONED_ON), "field": str(Col.COMMISSIONED_ON), "fmt": "date"},
        ],
    }
    return layer_spec(
        "facilities", bilingual(_LAYER_NAME), shown, classes, codes, props, popup=popup, show=show, coverage=False
    )


def _km(v: float) -> str | None:
    return None if v is None or pd.isna(v) else f"{v / 1000:.1f} km"


def services_layer(parks: Any, coverage: pd.DataFrame, *, show: bool = True) -> dict[str, Any]:
    """Parks coloured by the number of service kinds within reach, with beds and distances in the popup.

    Parameters
    ----------
    parks : GeoDataFrame
        The parks shown, in the projected atlas CRS (EPSG:9209).
    coverage : DataFrame
        :func:`kcn_gis.analytics.housing_coverage` of the same parks (its ``province`` row is ignored).
    """
    table = coverage[coverage["park_id"] != "province"].set_index("park_id")
    pids = parks[Col.PARK_ID].astype(str)
    n = pids.map(table["services_within_reach"]).fillna(0).astype(int).clip(0, 4).to_numpy()
    props = pd.DataFrame(
        {
            str(Col.PARK_ID): pids.to_numpy(),
            str(Col.NAME): parks[Col.NAME].to_numpy(),
            str(Col.NAME_EN): parks[Col.NAME_EN].to_numpy() if Col.NAME_EN in parks.columns else None,
            "beds_within_reach": pids.map(table["beds_within_reach"]).round(0).to_numpy(),
            "beds_per_worker": pids.map(table["beds_per_worker"])
            .map(lambda v: None if pd.isna(v) else f"{v:.2f}")
            .to_numpy(),
        }
    )
    for k in SERVICE_KINDS:
        props[f"nearest_{k}"] = pids.map(table[f"nearest_{k}_m"]).map(_km).to_numpy()
    rows = [
        {"label": {"vi": "Chỗ ở công nhân trong bán kính", "en": "Worker beds within reach"},
         "field": "beds_within_reach", "fmt": "int"},
        {"label": {"vi": "Chỗ ở / lao động", "en": "Beds per worker"}, "field": "beds_per_worker"},
    ]  # fmt: skip
    for k in SERVICE_KINDS:
        vi, en = FACILITY_KIND_LABELS[k]
        rows.append({"label": {"vi": f"{vi} gần nhất", "en": f"Nearest {en.lower()}"}, "field": f"nearest_{k}"})
    popup = {"title": {"vi": str(Col.NAME), "en": str(Col.NAME_EN)}, "rows": rows}
    return layer_spec(
        "services",
        bilingual(_SERVICES_NAME),
        parks,
        services_classes(),
        n.tolist(),
        props,
        popup=popup,
        show=show,
        simplify_m=1.0,
        coverage=False,
    )


def around_parks(
    atlas: Atlas, parks: Any, *, as_of: Any, allowed: Iterable[str], park_names: dict[str, Any], show_services: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The facilities layer and the services choropleth of ``parks``, with their legend entries.

    Numbers come from :func:`kcn_gis.analytics.housing_coverage` (straight-line
    reach of 5 km in EPSG:9209). An atlas without facilities gives the choropleth
    only (every park at 0 of 4).
    """
    from kcn_gis.analytics import housing_coverage

    facilities = atlas.facilities
    if Col.PARK_ID in facilities.columns and len(parks) < len(atlas.parks):  # one park shown: its own and shared ones
        facilities = facilities[facilities[Col.PARK_ID].isna() | facilities[Col.PARK_ID].isin(set(parks[Col.PARK_ID]))]
    table = housing_coverage(parks, atlas.projects, atlas.facilities, plots=atlas.plots, as_of=as_of)
    layers = [services_layer(parks, table, show=show_services)]
    legend = [{"title": bilingual(_SERVICES_NAME), "layer": "services", "only": None}]
    fl = facilities_layer(facilities, allowed=allowed, park_names=park_names)
    if fl is not None:
        layers.append(fl)
        legend.append({"title": bilingual(_LAYER_NAME), "layer": "facilities", "only": None})
    return layers, legend
