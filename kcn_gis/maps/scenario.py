"""The scenario map and chart: a planning scenario beside the baseline, on the planning map.

The map is the planning map (:func:`kcn_gis.maps.planning_map`) of the
scenario's in-memory atlas, plus a layer of the parks the scenario changes
(added, enlarged or reduced, dropped, with the old boundary of resized parks),
a panel with the balance per year (baseline and scenario) and the chart of
each bank's leased hectares with the ranges as bands. The numbers come from
:func:`kcn_gis.scenario.compare_states`; the map computes none.
"""

from __future__ import annotations

import base64
import html
import io
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from kcn_gis.dates import DateLike
from kcn_gis.errors import KcnGisError
from kcn_gis.maps.i18n import bilingual, check_lang
from kcn_gis.maps.legend import StyleClass
from kcn_gis.schema import Bank, Col

if TYPE_CHECKING:
    import folium
    from matplotlib.figure import Figure

__all__ = ["CHANGE_STYLES", "plot_scenarios", "scenario_map"]

log = logging.getLogger(__name__)

_S: dict[str, tuple[str, str]] = {
    "title": ("Kịch bản quy hoạch KCN", "Park plan scenario"),
    "layer_changes": ("Thay đổi của kịch bản", "Changes in the scenario"),
    "balance_panel": ("Cân đối hai bờ sông Đuống theo năm", "Balance of the Đuống banks per year"),
    "chart": ("Diện tích đã cho thuê theo bờ sông", "Leased land per bank"),
    "north": ("bờ Bắc", "north bank"),
    "south": ("bờ Nam", "south bank"),
    "index": ("chỉ số cân đối bờ Nam", "south balance index"),
}

#: Style of each kind of change (key, Vietnamese label, English label, Leaflet style).
CHANGE_STYLES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "added": ("KCN mới", "New park", {"color": "#1a9850", "weight": 4, "opacity": 1, "fill": False}),
    "enlarged": ("KCN mở rộng", "Enlarged park", {"color": "#d95f02", "weight": 4, "opacity": 1, "fill": False}),
    "reduced": ("KCN thu hẹp", "Reduced park", {"color": "#7570b3", "weight": 4, "opacity": 1, "fill": False}),
    "dropped": (
        "KCN bị loại bỏ",
        "Dropped park",
        {"color": "#d7191c", "weight": 3, "opacity": 1, "fill": False, "dashArray": "8 4"},
    ),
    "old_boundary": (
        "Ranh giới cũ",
        "Former boundary",
        {"color": "#555555", "weight": 2, "opacity": 1, "fill": False, "dashArray": "3 3"},
    ),
    "rephased": ("KCN đổi tiến độ", "Park rescheduled", {"color": "#e7298a", "weight": 3, "opacity": 1, "fill": False}),
    "status": (
        "KCN đổi tình trạng",
        "Park status changed",
        {"color": "#e7298a", "weight": 3, "opacity": 1, "fill": False},
    ),
}


def _change_features(state: Any) -> gpd.GeoDataFrame:
    parks = state.layers["parks"]
    rows: list[tuple[str, str, str, Any]] = []
    for pid, name, geom in zip(
        parks[Col.PARK_ID].astype(str), parks[Col.NAME].astype(str), parks.geometry, strict=True
    ):
        origin = state.plans[pid].origin
        if origin in CHANGE_STYLES:
            rows.append((origin, pid, name, geom))
    for pid, old in state.old_boundaries.items():
        if pid in state.plans:
            rows.append(("old_boundary", pid, "", old))
    for pid, name, geom in zip(
        state.dropped[Col.PARK_ID].astype(str), state.dropped[Col.NAME].astype(str), state.dropped.geometry, strict=True
    ):
        rows.append(("dropped", pid, name, geom))
    return gpd.GeoDataFrame(
        {"change": [r[0] for r in rows], str(Col.PARK_ID): [r[1] for r in rows], str(Col.NAME): [r[2] for r in rows]},
        geometry=[r[3] for r in rows],
        crs=parks.crs,
    )


def _balance_items(comparison: pd.DataFrame, scenarios: Sequence[str]) -> list[dict[str, str]]:
    items = []
    for year in sorted(comparison["year"].unique()):
        for name in scenarios:
            sub = comparison[(comparison["scenario"] == name) & (comparison["year"] == year)].set_index("bank")
            if sub.empty:
                continue
            parts = {}
            for lang, i in (("vi", 0), ("en", 1)):
                banks = []
                for b in (str(Bank.NORTH), str(Bank.SOUTH)):
                    if b in sub.index:
                        r = sub.loc[b]
                        banks.append(
                            f"{_S[b][i]} {r.leased_ha:,.0f} ha ({r.leased_ha_low:,.0f}–{r.leased_ha_high:,.0f})"
                        )
                south = sub.loc[str(Bank.SOUTH)] if str(Bank.SOUTH) in sub.index else None
                idx = f"; {_S['index'][i]} {south.balance_index:.2f}" if south is not None else ""
                parts[lang] = f"{year} · {name}: " + ", ".join(banks) + idx
            items.append(parts)
    return items


def plot_scenarios(comparison: pd.DataFrame, path: str | Path | None = None, *, title: str | None = None) -> Figure:
    """Chart each bank's leased hectares per year, for every scenario, with the low-high range as a band.

    Parameters
    ----------
    comparison : DataFrame
        From :func:`kcn_gis.scenario.compare_scenarios` (columns ``scenario``, ``year``, ``bank``,
        ``leased_ha``, ``leased_ha_low``, ``leased_ha_high``; hectares computed in EPSG:9209).
    path : str or Path, optional
        ``.png`` or ``.svg`` file to write (its folder must exist).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot.
    """
    from matplotlib.figure import Figure

    need = {"scenario", "year", "bank", "leased_ha", "leased_ha_low", "leased_ha_high"}
    if not need <= set(comparison.columns):
        raise KcnGisError(f"plot_scenarios needs a frame from compare_scenarios (columns {', '.join(sorted(need))})")
    suffix = Path(path).suffix.lower() if path is not None else None
    if suffix is not None and suffix not in (".png", ".svg"):
        raise KcnGisError(f"{path}: the chart is written as .png or .svg; change the file name")
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=False)
    names = list(dict.fromkeys(comparison["scenario"]))
    for ax, bank in zip(axes, (str(Bank.NORTH), str(Bank.SOUTH)), strict=True):
        for k, name in enumerate(names):
            sub = comparison[(comparison["scenario"] == name) & (comparison["bank"] == bank)].sort_values("year")
            colour = f"C{k}"
            ax.plot(
                sub["year"],
                sub["leased_ha"],
                marker="o",
                ms=3,
                color=colour,
                label=name,
                linestyle="--" if name == "baseline" else "-",
            )
            ax.fill_between(sub["year"], sub["leased_ha_low"], sub["leased_ha_high"], color=colour, alpha=0.18)
        ax.set_title(f"{_S[bank][1].capitalize()} / {_S[bank][0]}")
        ax.set_xlabel("Year (31 December)")
        ax.set_ylabel("Leased industrial land (ha)")
        ax.grid(True, alpha=0.3)
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    if path is not None:
        fig.savefig(path, format=suffix.lstrip("."), dpi=120)  # type: ignore[union-attr]
        log.info("wrote scenario chart %s", path)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def scenario_map(
    state: Any,
    comparison: pd.DataFrame,
    *,
    baseline: str = "baseline",
    lang: str = "vi",
    as_of: DateLike | None = None,
    chart: Figure | None = None,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """The planning map of a scenario, with its changes, the balance per year and the leased-land chart.

    Parameters
    ----------
    state : ScenarioState
        A projected scenario (:func:`kcn_gis.scenario.project_scenarios`); its in-memory
        atlas (EPSG:9209 metres) is drawn, converted to EPSG:4326 for the page.
    comparison : DataFrame
        From :func:`kcn_gis.scenario.compare_scenarios`, with the baseline and this scenario.
    baseline : str
        Name of the baseline in ``comparison``.
    lang : {"vi", "en"}
        Language shown first (both are in the page).
    as_of : date-like, optional
        Date of the map's status (default: 31 December of the last year of ``comparison``).
    chart : matplotlib Figure, optional
        Drawn into the page as an inline PNG (default: :func:`plot_scenarios` of ``comparison``).
    tiles : str or None

    Returns
    -------
    folium.Map
    """
    from branca.element import Element

    from kcn_gis.maps._base import layer_spec
    from kcn_gis.maps.planning import planning_map

    check_lang(lang)
    years = sorted(comparison["year"].unique())
    if not years:
        raise KcnGisError("the comparison is empty; compute it with compare_scenarios(..., years=[...])")
    day = pd.Timestamp(as_of) if as_of is not None else pd.Timestamp(year=int(years[-1]), month=12, day=31)
    atlas = state.to_atlas(band="mid", as_of=day)
    m = planning_map(atlas, lang=lang, as_of=day, tiles=tiles)
    element: Any = next(c for c in m._children.values() if type(c).__name__ == "_KcnMapData")
    spec = element.spec
    spec["title"] = {"vi": f"{_S['title'][0]}: {state.name}", "en": f"{_S['title'][1]}: {state.name}"}
    feats = _change_features(state)
    keys = list(CHANGE_STYLES)
    classes = [StyleClass(k, bilingual((v[0], v[1])), v[2], kind="outline") for k, v in CHANGE_STYLES.items()]
    if len(feats):
        spec["layers"].append(
            layer_spec(
                "scenario_changes",
                bilingual(_S["layer_changes"]),
                feats,
                classes,
                [keys.index(c) for c in feats["change"]],
                feats[["change", str(Col.PARK_ID), str(Col.NAME)]],
                popup={
                    "title": str(Col.NAME),
                    "rows": [{"label": bilingual(("Mã KCN", "Park id")), "field": str(Col.PARK_ID)}],
                },
                coverage=False,
            )
        )
        spec["legend"].insert(0, {"title": bilingual(_S["layer_changes"]), "layer": "scenario_changes", "only": None})
    spec["panels"].insert(
        0,
        {
            "title": bilingual(_S["balance_panel"]),
            "items": _balance_items(comparison, [baseline, state.name]),
            "empty": bilingual(("Không có số liệu", "No data")),
        },
    )
    fig = chart if chart is not None else plot_scenarios(comparison)
    data = base64.b64encode(_png(fig)).decode("ascii")
    alt = html.escape(f"{_S['chart'][1]}: {', '.join(dict.fromkeys(comparison['scenario']))}", quote=True)
    root: Any = m.get_root()
    root.html.add_child(
        Element(
            '<div class="kcn-scenario-chart" style="position:fixed;left:10px;top:130px;z-index:1000;'
            'background:#fff;padding:4px;border:1px solid #999;max-width:38vw">'
            f'<img alt="{alt}" title="{alt}" style="width:100%" src="data:image/png;base64,{data}"></div>'
        )
    )
    log.info("scenario map %s: %d changed park feature(s)", state.name, len(feats))
    return m
