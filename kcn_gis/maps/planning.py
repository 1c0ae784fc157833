"""The planning map: every layer as a toggleable group, fill-rate choropleth, both banks, validation problems."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd

from kcn_gis.crs import require_projected
from kcn_gis.errors import Problem
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.maps._base import (
    bounds_of,
    check_park,
    context_layers,
    date_text,
    filter_park,
    labels,
    layer_spec,
    page_spec,
    park_names,
    park_search,
)
from kcn_gis.maps._page import new_map
from kcn_gis.maps.facilities import around_parks
from kcn_gis.maps.i18n import bilingual, check_lang, column_label, t
from kcn_gis.maps.legend import (
    PROBLEM_COLOR,
    StyleClass,
    bank_classes,
    classify_fill_rates,
    land_use_classes,
    park_status_classes,
)
from kcn_gis.schema import (
    ATLAS_LAYERS,
    HOLDER_TYPE_LABELS,
    LAND_USE_LABELS,
    PARK_STATUS_LABELS,
    PERSONAL_FIELDS,
    PLOT_STATUS_LABELS,
    Col,
    LandUse,
    Layer,
)
from kcn_gis.style import PLOT_STATUS_COLORS

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas
    import folium

__all__ = ["PLANNING_FIELDS", "planning_map"]

log = logging.getLogger(__name__)

#: Allow-list of the planning map: every column of the data model except personal data.
PLANNING_FIELDS: dict[Layer, tuple[str, ...]] = {
    layer: tuple(c.name for c in s.columns if c.name not in PERSONAL_FIELDS) for layer, s in ATLAS_LAYERS.items()
}

_PARCEL_FIELDS = (
    Col.PARCEL_ID,
    Col.PARK_ID,
    Col.COMMUNE,
    Col.MAP_SHEET,
    Col.PARCEL_NO,
    Col.LAND_TYPE,
    Col.LEGAL_AREA_M2,
)


def _problems(atlas: Atlas, parks: Any, plots: Any, parcels: Any, projects: Any) -> list[Problem]:
    out: list[Problem] = []
    validate = getattr(atlas, "validate", None)
    if callable(validate):
        out += list(validate())
    from kcn_gis.analytics import check_consistency

    out += list(check_consistency(parks=parks, plots=plots, parcels=parcels, projects=projects))
    return out


def _problem_features(problems: list[Problem], frames: dict[Layer, Any], crs: Any) -> gpd.GeoDataFrame:
    """Features named by problems (by park_id / plot_id / parcel_id), with the messages."""
    rows: list[tuple[str, str, Any]] = []
    for layer, key in ((Layer.PARKS, Col.PARK_ID), (Layer.PLOTS, Col.PLOT_ID), (Layer.PARCELS, Col.PARCEL_ID)):
        frame = frames[layer]
        if frame is None or not len(frame):
            continue
        ids = frame[key].astype(str)
        msgs: dict[str, list[str]] = {}
        for p in problems:
            if p.layer not in (None, str(layer)) or not p.ids:
                continue
            for i in p.ids:
                msgs.setdefault(str(i), []).append(p.message)
        for pos in np.flatnonzero(ids.isin(list(msgs)).to_numpy()):
            ident = ids.iloc[pos]
            rows.append((ident, "; ".join(dict.fromkeys(msgs[ident])), frame.geometry.iloc[pos]))
    return gpd.GeoDataFrame(
        {"id": [r[0] for r in rows], "message": [r[1] for r in rows]}, geometry=[r[2] for r in rows], crs=crs
    )


def planning_map(
    atlas: Atlas,
    *,
    lang: str = "vi",
    as_of: DateLike | None = None,
    park: str | None = None,
    scheme: str = "fixed",
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Build the planning map of an atlas: every layer, fill-rate choropleth, banks and problems.

    Layers (each toggleable): north/south banks of the Đuống
    (:func:`kcn_gis.analytics.split_banks`), province outline, rivers, parks by
    fill rate on acquired land (classed with mapclassify, see
    :func:`kcn_gis.maps.legend.classify_fill_rates`), parks by status, plots by
    land use and by status on ``as_of``, cadastral parcels (without personal
    data) and the features named by validation problems (schema checks and
    :func:`kcn_gis.analytics.check_consistency`), which are also listed in a panel.

    Parameters
    ----------
    atlas : Atlas
        An open atlas, layers in EPSG:9209 (metres); output converted to EPSG:4326.
    lang : {"vi", "en"}, default "vi"
        Language shown first (both are in the page).
    as_of : date-like, optional
        Date of plot status and fill rates (default: today).
    park : str, optional
        Only this ``park_id``.
    scheme : {"fixed", "quantiles", "natural_breaks"}, default "fixed"
        Classes of the fill-rate choropleth.
    tiles : str or None, default "OpenStreetMap"
        Tile basemap of the online map.

    Returns
    -------
    folium.Map
    """
    check_lang(lang)
    day = as_of_date(as_of)
    parks_all = atlas.parks
    park = check_park(parks_all, park)
    parks = filter_park(parks_all, park)
    plots = filter_park(atlas.plots, park)
    parcels = filter_park(atlas.parcels, park)
    names = park_names(parks)
    spec = page_spec("planning_title", lang, date_text(day))

    from kcn_gis.analytics import split_banks

    banks = split_banks(atlas.province, atlas.rivers)
    bclasses = bank_classes()
    bkeys = [c.key for c in bclasses]
    bprops = pd.DataFrame(
        {
            "bank": labels(
                banks["bank"], {k: (c.label["vi"], c.label["en"]) for k, c in zip(bkeys, bclasses, strict=True)}
            )
        }
    )
    spec["layers"].append(
        layer_spec(
            "banks",
            t("layer_banks"),
            banks,
            bclasses,
            [bkeys.index(str(b)) for b in banks["bank"]],
            bprops,
            popup={"title": "bank", "rows": []},
            simplify_m=5.0,
        )
    )
    spec["layers"] += context_layers(atlas)

    # parks: numbers from analytics
    from kcn_gis.analytics import fill_rates

    fr = pd.DataFrame(fill_rates(plots, parks, as_of=day, by="park", parks_included="all"))
    fr = fr.assign(**{str(Col.PARK_ID): fr[Col.PARK_ID].astype(str)}).set_index(str(Col.PARK_ID))
    pids = parks[Col.PARK_ID].astype(str)
    wanted = (
        Col.PARK_ID,
        Col.NAME,
        Col.NAME_EN,
        Col.DISTRICT,
        Col.LISTED_AREA_HA,
        Col.DETAIL_PLAN_APPROVED,
        Col.DEVELOPER,
    )
    pprops = pd.DataFrame({str(c): parks[c].to_numpy() for c in wanted if str(c) in PLANNING_FIELDS[Layer.PARKS]})
    pprops[Col.STATUS] = labels(parks[Col.STATUS], PARK_STATUS_LABELS)
    for col in ("planned_ha", "acquired_ha", "leased_ha", "fill_rate_acquired", "fill_rate_planned"):
        pprops[col] = pids.map(fr[col]).to_numpy() if col in fr else np.nan
    ppopup = {
        "title": {"vi": str(Col.NAME), "en": str(Col.NAME_EN)},
        "rows": [
            {"label": column_label(Layer.PARKS, Col.PARK_ID), "field": str(Col.PARK_ID)},
            {"label": column_label(Layer.PARKS, Col.DISTRICT), "field": str(Col.DISTRICT)},
            {"label": column_label(Layer.PARKS, Col.STATUS), "field": str(Col.STATUS)},
            {"label": column_label(Layer.PARKS, Col.DEVELOPER), "field": str(Col.DEVELOPER)},
            {"label": column_label(Layer.PARKS, Col.LISTED_AREA_HA), "field": str(Col.LISTED_AREA_HA), "fmt": "ha"},
            {
                "label": column_label(Layer.PARKS, Col.DETAIL_PLAN_APPROVED),
                "field": str(Col.DETAIL_PLAN_APPROVED),
                "fmt": "bool",
            },
            {"label": t("industrial_total"), "field": "planned_ha", "fmt": "ha"},
            {"label": t("industrial_acquired"), "field": "acquired_ha", "fmt": "ha"},
            {"label": t("industrial_leased"), "field": "leased_ha", "fmt": "ha"},
            {"label": t("fill_rate_acquired"), "field": "fill_rate_acquired", "fmt": "pct"},
            {"label": t("fill_rate_planned"), "field": "fill_rate_planned", "fmt": "pct"},
        ],
    }
    fcodes, fclasses = classify_fill_rates(pprops["fill_rate_acquired"].to_numpy(dtype=float), scheme=scheme)
    spec["layers"].append(
        layer_spec(
            "fill", t("layer_fill"), parks, fclasses, fcodes, pprops, popup=ppopup, simplify_m=1.0, coverage=False
        )
    )
    sclasses = park_status_classes(fill_opacity=0.35)
    skeys = [c.key for c in sclasses]
    scodes = [skeys.index(str(s)) if str(s) in skeys else skeys.index("preparing") for s in parks[Col.STATUS]]
    spec["layers"].append(
        layer_spec(
            "parks",
            t("layer_parks"),
            parks,
            sclasses,
            scodes,
            pprops,
            popup=ppopup,
            show=False,
            simplify_m=1.0,
            coverage=False,
        )
    )

    # plots by land use (shown) and by status (hidden)
    from kcn_gis.analytics import plot_status

    status = pd.Series(plot_status(plots, day), index=plots.index).astype(str)
    require_projected(plots, "plots")
    lprops = pd.DataFrame(
        {
            str(Col.PLOT_ID): plots[Col.PLOT_ID].to_numpy(),
            "park": [names.get(str(p)) for p in plots[Col.PARK_ID]],
            str(Col.LAND_USE): labels(plots[Col.LAND_USE], LAND_USE_LABELS),
            "plot_status": labels(status, PLOT_STATUS_LABELS),
            str(Col.ACQUIRED_ON): plots[Col.ACQUIRED_ON].to_numpy(),
            str(Col.LEASED_ON): plots[Col.LEASED_ON].to_numpy(),
            str(Col.LEASE_ENDED_ON): plots[Col.LEASE_ENDED_ON].to_numpy(),
            str(Col.TENANT): plots[Col.TENANT].to_numpy(),
            str(Col.PROJECT_ID): plots[Col.PROJECT_ID].to_numpy(),
            "area_ha": (plots.geometry.area / 10_000).to_numpy(),
        }
    )
    lpopup = {
        "title": str(Col.PLOT_ID),
        "rows": [
            {"label": t("park"), "field": "park"},
            {"label": column_label(Layer.PLOTS, Col.LAND_USE), "field": str(Col.LAND_USE)},
            {"label": t("status"), "field": "plot_status"},
            {"label": t("area"), "field": "area_ha", "fmt": "ha"},
            {"label": column_label(Layer.PLOTS, Col.ACQUIRED_ON), "field": str(Col.ACQUIRED_ON), "fmt": "date"},
            {"label": column_label(Layer.PLOTS, Col.LEASED_ON), "field": str(Col.LEASED_ON), "fmt": "date"},
            {"label": column_label(Layer.PLOTS, Col.LEASE_ENDED_ON), "field": str(Col.LEASE_ENDED_ON), "fmt": "date"},
            {"label": column_label(Layer.PLOTS, Col.TENANT), "field": str(Col.TENANT)},
            {"label": column_label(Layer.PLOTS, Col.PROJECT_ID), "field": str(Col.PROJECT_ID)},
        ],
    }
    uclasses = land_use_classes()
    ukeys = [c.key for c in uclasses]
    ucodes = [
        ukeys.index(u) if u in ukeys else ukeys.index(str(LandUse.OTHER)) for u in plots[Col.LAND_USE].astype(str)
    ]
    spec["layers"].append(
        layer_spec("plots", t("layer_plots_use"), plots, uclasses, ucodes, lprops, popup=lpopup, simplify_m=0.5)
    )
    stclasses = [
        StyleClass(
            k,
            bilingual(v),
            {
                "color": "#555555",
                "fillColor": PLOT_STATUS_COLORS[k],
                "weight": 0.5,
                "opacity": 0.9,
                "fillOpacity": 0.75,
            },
        )
        for k, v in PLOT_STATUS_LABELS.items()
    ]
    stkeys = [c.key for c in stclasses]
    spec["layers"].append(
        layer_spec(
            "plot_status",
            t("layer_plots"),
            plots,
            stclasses,
            [stkeys.index(s) for s in status],
            lprops,
            popup=lpopup,
            show=False,
            simplify_m=0.5,
        )
    )

    # cadastral parcels, without personal data (hidden by default)
    if parcels is not None and len(parcels):
        cprops = pd.DataFrame(
            {str(c): parcels[c].to_numpy() for c in _PARCEL_FIELDS if str(c) in PLANNING_FIELDS[Layer.PARCELS]}
        )
        cprops["park"] = [names.get(str(p)) for p in parcels[Col.PARK_ID]]
        cprops[Col.HOLDER_TYPE] = labels(parcels[Col.HOLDER_TYPE], HOLDER_TYPE_LABELS)
        cprops = cprops.drop(columns=[str(Col.PARK_ID)])
        cclasses = [
            StyleClass(
                "parcel",
                t("layer_parcels"),
                {"color": "#7f7f7f", "weight": 0.5, "opacity": 0.9, "fill": False},
                kind="outline",
            )
        ]
        crows = [
            {
                "label": column_label(Layer.PARCELS, c),
                "field": str(c),
                "fmt": "m2" if c == Col.LEGAL_AREA_M2 else "text",
            }
            for c in (Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO, Col.LAND_TYPE, Col.HOLDER_TYPE, Col.LEGAL_AREA_M2)
        ]
        cpopup = {"title": str(Col.PARCEL_ID), "rows": [{"label": t("park"), "field": "park"}, *crows]}
        spec["layers"].append(
            layer_spec(
                "parcels", t("layer_parcels"), parcels, cclasses, 0, cprops, popup=cpopup, show=False, simplify_m=0.5
            )
        )

    # housing, services and environment facilities; parks by services within reach (choropleth)
    around, around_legend = around_parks(
        atlas, parks, as_of=day, allowed=PLANNING_FIELDS[Layer.FACILITIES], park_names=names, show_services=False
    )
    spec["layers"] += around

    # validation problems
    projects = atlas.projects
    problems = _problems(atlas, parks, plots, parcels, projects)
    frames = {Layer.PARKS: parks, Layer.PLOTS: plots, Layer.PARCELS: parcels}
    feats = _problem_features(problems, frames, parks.crs)
    if len(feats):
        prclasses = [
            StyleClass(
                "problem",
                t("problem"),
                {"color": PROBLEM_COLOR, "weight": 3, "opacity": 1, "fill": False, "dashArray": "4 3"},
                kind="outline",
            )
        ]
        spec["layers"].append(
            layer_spec(
                "problems",
                t("layer_problems"),
                feats,
                prclasses,
                0,
                feats[["id", "message"]],
                popup={"title": "id", "rows": [{"label": t("problem"), "field": "message"}]},
                coverage=False,
            )
        )
    spec["panels"].append(
        {"title": t("problems_count"), "items": [str(p) for p in problems], "empty": t("problems_none")}
    )

    spec["legend"] = [
        {"title": t("layer_fill"), "layer": "fill", "only": None},
        {"title": t("park_status"), "layer": "parks", "only": None},
        {"title": t("land_use"), "layer": "plots", "only": None},
        {"title": t("plot_status"), "layer": "plot_status", "only": None},
        {"title": t("bank"), "layer": "banks", "only": None},
        {"title": t("layer_rivers"), "layer": "rivers", "only": ["duong"]},
        {"title": t("layer_problems"), "layer": "problems", "only": None},
        *around_legend,
    ]
    spec["search"] = park_search("fill")
    bounds = bounds_of(parks, plots) if park else bounds_of(atlas.province, parks)
    log.info(
        "planning map: %d parks, %d plots, %d parcels, %d problems", len(parks), len(plots), len(parcels), len(problems)
    )
    return new_map(spec, bounds=bounds, tiles=tiles)
