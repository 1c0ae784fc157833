"""The investor map: where the parks are, how full they are, and what industrial land is still available.

It holds only fields on the investor allow-list (:data:`kcn_gis.schema.INVESTOR_FIELDS`):
no parcels, no clearance events, no holder names, whatever the atlas holds.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from kcn_gis.crs import require_projected
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
from kcn_gis.maps.i18n import check_lang, column_label, t
from kcn_gis.maps.layers import select_fields
from kcn_gis.maps.legend import investor_plot_classes, park_status_classes
from kcn_gis.schema import INVESTOR_FIELDS, LAND_USE_LABELS, PARK_STATUS_LABELS, Col, LandUse, Layer, PlotStatus

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas
    import folium
    import geopandas as gpd

__all__ = ["investor_map", "main_tenants"]

log = logging.getLogger(__name__)

#: Park fields shown to investors (a subset of INVESTOR_FIELDS[Layer.PARKS]).
_PARK_FIELDS = (Col.PARK_ID, Col.NAME, Col.NAME_EN, Col.DISTRICT, Col.LISTED_AREA_HA, Col.DEVELOPER)
_PLOT_FIELDS = (Col.PLOT_ID, Col.PARK_ID, Col.TENANT)


def main_tenants(plots: gpd.GeoDataFrame, status: pd.Series, *, top: int = 5) -> dict[str, list[str]]:
    """The largest current tenants of each park, by leased area.

    Parameters
    ----------
    plots : GeoDataFrame
        Plots in a projected CRS (metres; EPSG:9209 for Bắc Ninh).
    status : Series
        Plot status on the date shown (:func:`kcn_gis.analytics.plot_status`), same index.
    top : int, default 5
        Tenants kept per park.

    Returns
    -------
    dict
        park_id -> tenant names, largest leased area first (ties by name).
    """
    require_projected(plots, "plots")
    leased = plots[(status.reindex(plots.index) == PlotStatus.LEASED).to_numpy() & plots[Col.TENANT].notna().to_numpy()]
    if leased.empty:
        return {}
    frame = pd.DataFrame(
        {
            "park_id": leased[Col.PARK_ID].astype(str).to_numpy(),
            "tenant": leased[Col.TENANT].astype(str).str.strip().to_numpy(),
            "area": leased.geometry.area.to_numpy(),
        }
    )
    frame = frame[frame["tenant"] != ""]
    agg = frame.groupby(["park_id", "tenant"], as_index=False)["area"].sum()
    agg = agg.sort_values(["park_id", "area", "tenant"], ascending=[True, False, True])
    return {pid: list(g["tenant"].head(top)) for pid, g in agg.groupby("park_id", sort=False)}


def _park_numbers(plots: Any, parks: Any, as_of: pd.Timestamp) -> pd.DataFrame:
    """Industrial land per park from :func:`kcn_gis.analytics.fill_rates` (hectares, fractions)."""
    from kcn_gis.analytics import fill_rates

    fr = fill_rates(plots, parks, as_of=as_of, by="park", parks_included="all")
    fr = pd.DataFrame(fr).copy()
    fr[Col.PARK_ID] = fr[Col.PARK_ID].astype(str)
    fr = fr.set_index(str(Col.PARK_ID))
    # available = acquired and not leased (a leased plot is also acquired)
    fr["available_ha"] = (fr["acquired_ha"] - fr["leased_ha"]).clip(lower=0)
    return fr


def investor_map(
    atlas: Atlas,
    *,
    lang: str = "vi",
    as_of: DateLike | None = None,
    park: str | None = None,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Build the bilingual investor map of an atlas.

    Parks are coloured by status; each park's popup gives its name (in the chosen
    language), developer, district, industrial land planned / acquired-but-not-leased
    (available) / leased in hectares, the fill rates and the main tenants. Industrial
    plots are coloured by status on ``as_of``, available ones highlighted. The
    province outline and the Đuống give context. Both languages are in the page;
    a switch changes them in the browser.

    Parameters
    ----------
    atlas : Atlas
        An open atlas (:func:`kcn_gis.open_atlas`), layers in EPSG:9209 (metres).
        Areas are computed there; only the map output is converted to EPSG:4326 (EPSG:6960).
    lang : {"vi", "en"}, default "vi"
        Language shown first.
    as_of : date-like, optional
        Date of the plot status and fill rates (default: today).
    park : str, optional
        Show only this ``park_id`` (and zoom to it).
    tiles : str or None, default "OpenStreetMap"
        Tile basemap of the online map; None for none. Offline saving drops tiles.

    Returns
    -------
    folium.Map
        Displays inline in Jupyter; save with :func:`kcn_gis.maps.save_map`.

    Notes
    -----
    Numbers come from :func:`kcn_gis.analytics.fill_rates` and
    :func:`kcn_gis.analytics.plot_status`. Only fields in
    ``INVESTOR_FIELDS`` are read from the atlas.
    """
    check_lang(lang)
    day = as_of_date(as_of)
    parks_all = atlas.parks
    park = check_park(parks_all, park)
    parks = filter_park(parks_all, park)
    plots = filter_park(atlas.plots, park)
    from kcn_gis.analytics import plot_status

    status = pd.Series(plot_status(plots, day), index=plots.index).astype(str)
    numbers = _park_numbers(plots, parks, day)
    tenants = main_tenants(plots, status)
    names = park_names(parks)

    spec = page_spec("investor_title", lang, date_text(day))
    spec["layers"] += context_layers(atlas)

    # parks, coloured by status
    pclasses = park_status_classes()
    pkeys = [c.key for c in pclasses]
    pprops = select_fields(parks, INVESTOR_FIELDS[Layer.PARKS], _PARK_FIELDS)
    pids = pprops[Col.PARK_ID].astype(str)
    pprops[Col.STATUS] = labels(parks[Col.STATUS], PARK_STATUS_LABELS)
    for col in ("planned_ha", "acquired_ha", "available_ha", "leased_ha", "fill_rate_acquired", "fill_rate_planned"):
        pprops[col] = pids.map(numbers[col]).to_numpy() if col in numbers else np.nan
    pprops["tenants"] = [tenants.get(p, []) for p in pids]
    pcodes = [pkeys.index(str(s)) if str(s) in pkeys else pkeys.index("preparing") for s in parks[Col.STATUS]]
    popup = {
        "title": {"vi": str(Col.NAME), "en": str(Col.NAME_EN)},
        "rows": [
            {"label": column_label(Layer.PARKS, Col.DISTRICT), "field": str(Col.DISTRICT)},
            {"label": column_label(Layer.PARKS, Col.STATUS), "field": str(Col.STATUS)},
            {"label": column_label(Layer.PARKS, Col.DEVELOPER), "field": str(Col.DEVELOPER)},
            {"label": column_label(Layer.PARKS, Col.LISTED_AREA_HA), "field": str(Col.LISTED_AREA_HA), "fmt": "ha"},
            {"label": t("industrial_total"), "field": "planned_ha", "fmt": "ha"},
            {"label": t("industrial_available"), "field": "available_ha", "fmt": "ha"},
            {"label": t("industrial_leased"), "field": "leased_ha", "fmt": "ha"},
            {"label": t("fill_rate_acquired"), "field": "fill_rate_acquired", "fmt": "pct"},
            {"label": t("fill_rate_planned"), "field": "fill_rate_planned", "fmt": "pct"},
            {"label": t("main_tenants"), "field": "tenants", "fmt": "list"},
        ],
    }
    parks_layer = layer_spec(
        "parks", t("layer_parks"), parks, pclasses, pcodes, pprops, popup=popup, simplify_m=1.0, coverage=False
    )

    # plots: industrial by status (available highlighted), others by land use
    lclasses = investor_plot_classes()
    lkeys = [c.key for c in lclasses]
    uses = plots[Col.LAND_USE].astype(str).to_numpy()
    keys = np.where(uses == str(LandUse.INDUSTRIAL), "industrial:" + status.to_numpy(), uses)
    lcodes = [lkeys.index(k) if k in lkeys else lkeys.index(str(LandUse.OTHER)) for k in keys]
    lprops = select_fields(plots, INVESTOR_FIELDS[Layer.PLOTS], _PLOT_FIELDS)
    lprops["park"] = [names.get(str(p)) for p in lprops[Col.PARK_ID]]
    lprops[Col.LAND_USE] = labels(plots[Col.LAND_USE], LAND_USE_LABELS)
    # a tenant is shown only while its lease runs on the date shown
    lprops[Col.TENANT] = lprops[Col.TENANT].where((status == PlotStatus.LEASED).to_numpy(), None)
    require_projected(plots, "plots")
    lprops["area_ha"] = (plots.geometry.area / 10_000).to_numpy()
    lpopup = {
        "title": str(Col.PLOT_ID),
        "rows": [
            {"label": t("park"), "field": "park"},
            {"label": column_label(Layer.PLOTS, Col.LAND_USE), "field": str(Col.LAND_USE)},
            {"label": t("status"), "fmt": "class"},
            {"label": t("area"), "field": "area_ha", "fmt": "ha"},
            {"label": column_label(Layer.PLOTS, Col.TENANT), "field": str(Col.TENANT)},
        ],
    }
    lprops = lprops.drop(columns=[str(Col.PARK_ID)])
    plots_layer = layer_spec("plots", t("layer_plots"), plots, lclasses, lcodes, lprops, popup=lpopup, simplify_m=0.5)

    spec["layers"] += [parks_layer, plots_layer]
    around, around_legend = around_parks(  # housing and services near each park (investor allow-list)
        atlas, parks, as_of=day, allowed=INVESTOR_FIELDS[Layer.FACILITIES], park_names=names, show_services=False
    )
    spec["layers"] += around
    spec["legend"] = [
        *around_legend,
        {"title": t("park_status"), "layer": "parks", "only": None},
        {"title": t("plot_status"), "layer": "plots", "only": None},
        {"title": t("layer_rivers"), "layer": "rivers", "only": ["duong"]},
        {"title": t("layer_province"), "layer": "province", "only": None},
    ]
    spec["search"] = park_search("parks")
    bounds = bounds_of(parks, plots) if park else bounds_of(atlas.province, parks)
    log.info("investor map: %d parks, %d plots, as of %s", len(parks), len(plots), day.date())
    return new_map(spec, bounds=bounds, tiles=tiles)
