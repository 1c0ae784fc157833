"""The clearance map: cadastral parcels coloured by land-clearance stage, with an optional time slider.

Stages come from :func:`kcn_gis.clearance.parcel_stages`. The time slider is
client-side: the stage of every parcel is computed (by ``parcel_stages``) on
each slider date, and only the changes between consecutive dates are embedded
(``[parcel index, class, ...]`` per date), so moving the slider restyles the
canvas without a server.
"""

from __future__ import annotations

import itertools
import logging
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

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
from kcn_gis.maps.i18n import check_lang, column_label, t
from kcn_gis.maps.legend import StyleClass, park_status_classes, stage_classes
from kcn_gis.schema import PARK_STATUS_LABELS, PERSONAL_FIELDS, STAGES, Col, Layer

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas
    import folium

__all__ = ["clearance_map", "stage_codes"]

log = logging.getLogger(__name__)

_PARCEL_FIELDS = (Col.PARCEL_ID, Col.COMMUNE, Col.MAP_SHEET, Col.PARCEL_NO, Col.LAND_TYPE, Col.LEGAL_AREA_M2)
_N_BASE = 1 + len(STAGES)


def stage_codes(stages: pd.DataFrame) -> np.ndarray:
    """Style-class index per parcel from :func:`kcn_gis.clearance.parcel_stages` output.

    0 = not started, 1-5 = the stages in order; +6 when a complaint is open
    (see :func:`kcn_gis.maps.legend.stage_classes`).
    """
    order = {str(s): i + 1 for i, s in enumerate(STAGES)}
    stage = stages["stage"]
    codes = np.array([0 if pd.isna(s) else order.get(str(s), 0) for s in stage], dtype=np.int64)
    complaint = stages["open_complaint"].fillna(False).astype(bool).to_numpy()
    return codes + _N_BASE * complaint


def _slider_dates(events: pd.DataFrame, day: pd.Timestamp, max_steps: int) -> list[pd.Timestamp]:
    dates = pd.to_datetime(events[Col.EVENT_DATE]).dropna().dt.normalize()
    dates = sorted({d for d in dates if d <= day} | {day})
    if len(dates) > max_steps:
        idx = np.unique(np.linspace(0, len(dates) - 1, max_steps).round().astype(int))
        dates = [dates[i] for i in idx]
    return dates


def clearance_map(
    atlas: Atlas,
    *,
    as_of: DateLike | None = None,
    park: str | None = None,
    lang: str = "vi",
    time_slider: bool = False,
    max_steps: int = 60,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """Build the clearance-review map: parcels coloured by stage on ``as_of``.

    Parameters
    ----------
    atlas : Atlas
        An open atlas, layers in EPSG:9209 (metres); output converted to EPSG:4326.
    as_of : date-like, optional
        Date of the stages (default: today).
    park : str, optional
        Only this ``park_id``.
    lang : {"vi", "en"}, default "vi"
        Language shown first (both are in the page).
    time_slider : bool, default False
        Add a slider over the event dates up to ``as_of`` (at most ``max_steps``
        dates, evenly picked when there are more); moving it restyles parcels in
        the browser.
    max_steps : int, default 60
        Most slider dates (each costs one call of ``parcel_stages``).
    tiles : str or None, default "OpenStreetMap"
        Tile basemap of the online map.

    Returns
    -------
    folium.Map

    Notes
    -----
    Parcels show id, commune, map sheet, parcel number, land type, legal area,
    stage and last event date. Holder names and other personal fields
    (``PERSONAL_FIELDS``) are never put in the page.
    """
    check_lang(lang)
    day = as_of_date(as_of)
    parks_all = atlas.parks
    park = check_park(parks_all, park)
    parks = filter_park(parks_all, park)
    parcels = filter_park(atlas.parcels, park)
    events = atlas.clearance_events
    if park is not None:
        events = events[events[Col.PARCEL_ID].astype(str).isin(set(parcels[Col.PARCEL_ID].astype(str)))]
    from kcn_gis.clearance import parcel_stages

    stages = parcel_stages(events, parcels, as_of=day)
    codes = stage_codes(stages)
    names = park_names(parks)

    spec = page_spec("clearance_title", lang, date_text(day))
    spec["layers"] += context_layers(atlas)

    pclasses = park_status_classes(fill_opacity=0.08)
    pkeys = [c.key for c in pclasses]
    pprops = pd.DataFrame(
        {
            str(Col.NAME): parks[Col.NAME].to_numpy(),
            str(Col.NAME_EN): [names[str(p)]["en"] for p in parks[Col.PARK_ID]],
            str(Col.PARK_ID): parks[Col.PARK_ID].to_numpy(),
            str(Col.STATUS): labels(parks[Col.STATUS], PARK_STATUS_LABELS),
        }
    )
    spec["layers"].append(
        layer_spec(
            "parks",
            t("layer_parks"),
            parks,
            pclasses,
            [pkeys.index(str(s)) if str(s) in pkeys else pkeys.index("preparing") for s in parks[Col.STATUS]],
            pprops,
            popup={
                "title": {"vi": str(Col.NAME), "en": str(Col.NAME_EN)},
                "rows": [
                    {"label": column_label(Layer.PARKS, Col.PARK_ID), "field": str(Col.PARK_ID)},
                    {"label": column_label(Layer.PARKS, Col.STATUS), "field": str(Col.STATUS)},
                ],
            },
            simplify_m=1.0,
            coverage=False,
        )
    )

    allowed = [c for c in _PARCEL_FIELDS if str(c) not in PERSONAL_FIELDS]
    cprops = pd.DataFrame({str(c): parcels[c].to_numpy() for c in allowed})
    cprops["park"] = [names.get(str(p)) for p in parcels[Col.PARK_ID]]
    cprops["last_event_date"] = pd.to_datetime(stages["last_event_date"]).to_numpy()
    classes = stage_classes()
    rows = [{"label": t("park"), "field": "park"}]
    rows += [
        {"label": column_label(Layer.PARCELS, c), "field": str(c), "fmt": "m2" if c == Col.LEGAL_AREA_M2 else "text"}
        for c in allowed
        if c != Col.PARCEL_ID
    ]
    rows += [
        {"label": t("stage"), "fmt": "class"},
        {"label": t("last_event"), "field": "last_event_date", "fmt": "date"},
    ]
    parcels_layer = layer_spec(
        "parcels",
        t("layer_parcels"),
        parcels,
        classes,
        codes,
        cprops,
        popup={"title": str(Col.PARCEL_ID), "rows": rows},
        simplify_m=0.3,
    )
    spec["layers"].append(parcels_layer)

    if time_slider:
        dates = _slider_dates(events, day, max_steps)
        steps = [stage_codes(parcel_stages(events, parcels, as_of=d)) for d in dates[:-1]] + [codes]
        changes: list[list[int]] = [[]]
        for prev, cur in itertools.pairwise(steps):
            diff = np.flatnonzero(prev != cur)
            changes.append(np.column_stack([diff, cur[diff]]).reshape(-1).tolist())
        spec["slider"] = {
            "layer": "parcels",
            "dates": [d.date().isoformat() for d in dates],
            "start": len(dates) - 1,
            "base": steps[0].tolist(),
            "changes": changes,
        }

    complaint = classes[_N_BASE]
    spec["legend"] = [
        {"title": t("stage"), "layer": "parcels", "only": [c.key for c in classes[:_N_BASE]]},
        {"title": t("open_complaint"), "layer": "complaint", "only": None},
        {"title": t("park_status"), "layer": "parks", "only": None},
    ]
    # the complaint legend entry reuses the very style of the complaint classes (outline only)
    spec["layers"].append(
        {
            "id": "complaint",
            "name": t("open_complaint"),
            "n": 0,
            "show": False,
            "control": False,
            "interactive": False,
            "geom": {"t": "polygon", "p": 6, "f": [], "r": [], "n": [], "c": []},
            "cls": 0,
            "classes": [StyleClass("complaint", t("open_complaint"), dict(complaint.style), kind="outline").to_json()],
            "props": {},
            "popup": None,
        }
    )
    spec["search"] = park_search("parks")
    bounds = bounds_of(parks, parcels) if park else bounds_of(atlas.province, parks)
    log.info("clearance map: %d parcels, %d events, as of %s", len(parcels), len(events), day.date())
    return new_map(spec, bounds=bounds, tiles=tiles)
