"""The benchmark steps: each one as kcn_gis and as the plain-geopandas script a user would otherwise write.

Every step is a pair of functions ``(kcn, plain)`` taking the same prepared
inputs and returning a small dict of numbers (``{name: float}``) that the runner
compares between the two implementations. ``bench/run.py`` runs each function in
a fresh subprocess, times only the step itself and records peak memory.

The plain-geopandas versions are honest, idiomatic scripts: ``gpd.read_file``
with geopandas' default engine, ``gpd.overlay`` + ``dissolve`` for the spatial
sums, pandas ``groupby`` for the clearance history and ``GeoDataFrame.explore``
for the map. They compute the same definitions as kcn_gis (industrial land of
operating parks, plots clipped to their own park, banks split by the Đuống).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from kcn_gis.schema import ATLAS_LAYERS, STAGES, Event, Layer

__all__ = ["AS_OF", "STEPS", "Step", "load_inputs"]

#: The date of every benchmark (all synthetic dates are before 2025-06-30).
AS_OF = "2025-01-01"
RIVER = "Sông Đuống"
_STAGE_RANK = {str(s): i + 1 for i, s in enumerate(STAGES)}


def _find(module: str, name: str) -> Callable[..., Any]:
    """``module.name``, falling back to the submodules that define it before it is re-exported."""
    fallbacks = {
        "fill_rates": ("kcn_gis.analytics", "kcn_gis.analytics.fill"),
        "river_balance": ("kcn_gis.analytics", "kcn_gis.analytics.balance"),
        "split_banks": ("kcn_gis.analytics", "kcn_gis.analytics.banks"),
        "clearance_progress": ("kcn_gis.clearance", "kcn_gis.clearance.progress"),
    }
    for mod in (module, *fallbacks.get(name, ())):
        try:
            value = getattr(importlib.import_module(mod), name, None)
        except ImportError:
            continue
        if value is not None:
            return value
    raise ImportError(f"{module}.{name} is not available yet")


# -- inputs ---------------------------------------------------------------------------------------------------
def load_inputs(path: Path, step: str) -> dict[str, Any]:
    """Read what a step needs, outside the timed region (same frames for both implementations)."""
    if step in ("open", "validate", "end_to_end"):
        return {"path": path}
    import kcn_gis

    atlas = kcn_gis.open_atlas(path, validate=False)
    need = {
        "fill_rates": (Layer.PLOTS, Layer.PARKS),
        "balance": (Layer.PROVINCE, Layer.RIVERS, Layer.PARKS, Layer.PLOTS, Layer.PROJECTS),
        "clearance": (Layer.CLEARANCE_EVENTS, Layer.PARCELS),
        "map": (Layer.PROVINCE, Layer.RIVERS, Layer.PARKS, Layer.PLOTS, Layer.PARCELS),
    }[step]
    out: dict[str, Any] = {"path": path}
    for layer in need:
        out[str(layer)] = atlas.read(layer)
    return out


# -- open -------------------------------------------------------------------------------------------------------
def kcn_open(inp: dict[str, Any]) -> dict[str, float]:
    import kcn_gis

    atlas = kcn_gis.open_atlas(inp["path"])
    return {f"rows_{layer}": float(len(atlas.read(layer))) for layer in ATLAS_LAYERS}


def plain_open(inp: dict[str, Any]) -> dict[str, float]:
    return {f"rows_{layer}": float(len(gpd.read_file(inp["path"], layer=str(layer)))) for layer in ATLAS_LAYERS}


# -- fill rates -------------------------------------------------------------------------------------------------
def _fill_result(frame: pd.DataFrame, key: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for _, row in frame.iterrows():
        for c in ("planned_ha", "acquired_ha", "leased_ha"):
            out[f"{row[key]}.{c}"] = float(row[c])
    return out


def kcn_fill(inp: dict[str, Any]) -> dict[str, float]:
    fill_rates = _find("kcn_gis.analytics", "fill_rates")
    res = fill_rates(inp["plots"], inp["parks"], as_of=AS_OF, by="park")
    return _fill_result(res, "park_id")


def _plain_status(df: pd.DataFrame, d: pd.Timestamp) -> pd.DataFrame:
    df = df.copy()
    df["acquired"] = df["acquired_on"].notna() & (df["acquired_on"] <= d)
    df["leased"] = (
        df["leased_on"].notna() & (df["leased_on"] <= d) & ~(df["lease_ended_on"].notna() & (df["lease_ended_on"] <= d))
    )
    return df


def _plain_pieces(plots: gpd.GeoDataFrame, parks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Industrial plots of operating parks, clipped to their own park with gpd.overlay."""
    ind = plots[plots["land_use"] == "industrial"]
    op = parks.loc[parks["status"] == "operating", ["park_id", "geometry"]]
    pieces = gpd.overlay(ind, op, how="intersection", keep_geom_type=True)
    pieces = pieces[pieces["park_id_1"] == pieces["park_id_2"]].rename(columns={"park_id_1": "park_id"})
    return pieces


def plain_fill(inp: dict[str, Any]) -> dict[str, float]:
    d = pd.Timestamp(AS_OF)
    pieces = _plain_status(_plain_pieces(inp["plots"], inp["parks"]), d)
    pieces["planned_ha"] = pieces.geometry.area / 1e4
    pieces["acquired_ha"] = pieces["planned_ha"].where(pieces["acquired"], 0.0)
    pieces["leased_ha"] = pieces["planned_ha"].where(pieces["leased"], 0.0)
    per_park = pieces[["park_id", "planned_ha", "acquired_ha", "leased_ha", "geometry"]].dissolve(
        by="park_id", aggfunc="sum"
    )
    per_park["fill_rate_planned"] = per_park["leased_ha"] / per_park["planned_ha"]
    per_park["fill_rate_acquired"] = per_park["leased_ha"] / per_park["acquired_ha"]
    return _fill_result(per_park.reset_index(), "park_id")


# -- balance ----------------------------------------------------------------------------------------------------
_BALANCE_COLS = ("park_area_ha", "planned_ha", "acquired_ha", "leased_ha", "valid_projects")


def kcn_balance(inp: dict[str, Any]) -> dict[str, float]:
    river_balance = _find("kcn_gis.analytics", "river_balance")
    res = river_balance(inp["province"], inp["rivers"], inp["parks"], inp["plots"], inp["projects"], as_of=AS_OF)
    return {f"{r['bank']}.{c}": float(r[c]) for _, r in res.iterrows() for c in _BALANCE_COLS}


def _plain_banks(province: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    from shapely.ops import split

    river = rivers.loc[rivers["name"] == RIVER].geometry.union_all()
    pieces = list(split(province.geometry.union_all(), river).geoms)
    banks = gpd.GeoDataFrame(geometry=pieces, crs=province.crs)
    banks["y"] = banks.centroid.y
    banks = banks.sort_values("y", ascending=False).reset_index(drop=True)
    banks["bank"] = ["north", "south"]
    return banks[["bank", "geometry"]]


def plain_balance(inp: dict[str, Any]) -> dict[str, float]:
    d = pd.Timestamp(AS_OF)
    banks = _plain_banks(inp["province"], inp["rivers"])
    parks = inp["parks"]
    op = parks[parks["status"] == "operating"]
    park_parts = gpd.overlay(op[["park_id", "geometry"]], banks, how="intersection")
    park_parts["park_area_ha"] = park_parts.area / 1e4
    pieces = _plain_status(_plain_pieces(inp["plots"], parks), d)
    land = gpd.overlay(pieces, banks, how="intersection", keep_geom_type=True)
    land["planned_ha"] = land.area / 1e4
    land["acquired_ha"] = land["planned_ha"].where(land["acquired"], 0.0)
    land["leased_ha"] = land["planned_ha"].where(land["leased"], 0.0)
    # projects: placed on the banks through all their plots, by area share
    projects = inp["projects"].copy()
    projects["valid"] = (projects["licensed_on"] <= d) & ~(
        projects["revoked_on"].notna() & (projects["revoked_on"] <= d)
    )
    with_project = inp["plots"][inp["plots"]["project_id"].notna()][["project_id", "geometry"]]
    pparts = gpd.overlay(with_project, banks, how="intersection", keep_geom_type=True)
    pparts["a"] = pparts.area
    pparts["w"] = pparts["a"] / pparts.groupby("project_id")["a"].transform("sum")
    pparts = pparts.merge(projects[["project_id", "valid"]], on="project_id")
    pparts["valid_projects"] = pparts["w"] * pparts["valid"]
    out = (
        park_parts.dissolve(by="bank", aggfunc={"park_area_ha": "sum"})[["park_area_ha"]]
        .join(land[["bank", "planned_ha", "acquired_ha", "leased_ha", "geometry"]].dissolve(by="bank", aggfunc="sum"))
        .drop(columns="geometry")
        .join(pparts.groupby("bank")[["valid_projects"]].sum())
        .fillna(0.0)
    )
    return {f"{b}.{c}": float(out.loc[b, c]) for b in out.index for c in _BALANCE_COLS}


# -- clearance progress -----------------------------------------------------------------------------------------
def _progress_result(frame: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    cols = ["parcels_total", "area_total_ha", "handed_over_ha", "open_complaints"]
    cols += [f"{s}_parcels" for s in STAGES]
    for _, r in frame.iterrows():
        for c in cols:
            out[f"{r['park_id']}.{c}"] = float(r[c])
    return out


def kcn_clearance(inp: dict[str, Any]) -> dict[str, float]:
    clearance_progress = _find("kcn_gis.clearance", "clearance_progress")
    return _progress_result(clearance_progress(inp["clearance_events"], inp["parcels"], as_of=AS_OF))


def plain_clearance(inp: dict[str, Any]) -> dict[str, float]:
    d = pd.Timestamp(AS_OF)
    ev = inp["clearance_events"]
    ev = ev[ev["event_date"] <= d]
    rank = ev["event"].map(_STAGE_RANK)
    stage = ev.assign(rank=rank).dropna(subset=["rank"]).groupby("parcel_id")["rank"].max()
    comp = ev[ev["event"].isin([str(Event.COMPLAINT), str(Event.COMPLAINT_RESOLVED)])]
    comp = comp.sort_values(["parcel_id", "event_date"]).drop_duplicates("parcel_id", keep="last")
    open_c = comp.set_index("parcel_id")["event"] == str(Event.COMPLAINT)
    parcels = pd.DataFrame(
        {
            "parcel_id": inp["parcels"]["parcel_id"],
            "park_id": inp["parcels"]["park_id"],
            "ha": inp["parcels"].area / 1e4,
        }
    )
    parcels = parcels.merge(stage.rename("rank"), left_on="parcel_id", right_index=True, how="left")
    parcels = parcels.merge(open_c.rename("open"), left_on="parcel_id", right_index=True, how="left")
    parcels["rank"] = parcels["rank"].fillna(0).astype(int)
    parcels["open"] = parcels["open"].fillna(False).astype(bool)
    totals = parcels.groupby("park_id").agg(
        parcels_total=("ha", "size"), area_total_ha=("ha", "sum"), open_complaints=("open", "sum")
    )
    counts = parcels.pivot_table(index="park_id", columns="rank", values="ha", aggfunc="size", fill_value=0)
    areas = parcels.pivot_table(index="park_id", columns="rank", values="ha", aggfunc="sum", fill_value=0.0)
    out = totals.reset_index()
    out["handed_over_ha"] = areas.reindex(columns=range(6), fill_value=0.0)[5].to_numpy()
    for s, i in _STAGE_RANK.items():
        out[f"{s}_parcels"] = counts.reindex(columns=range(6), fill_value=0)[i].to_numpy()
    return _progress_result(out)


# -- validate ---------------------------------------------------------------------------------------------------
def kcn_validate(inp: dict[str, Any]) -> dict[str, float]:
    """``kcn-gis validate`` in this process: every schema check, then every consistency check between
    layers (overlapping parks, plots and parcels, plots and parcels outside their park, orphan events,
    dates, projects, facilities and reports), with the problems table written as CSV."""
    import contextlib
    import io
    import re

    from kcn_gis.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        main(["validate", "--atlas", str(inp["path"]), "--format", "csv"])
    found = re.search(r"(\d+) error\(s\)", err.getvalue())
    if found is None:
        raise RuntimeError(f"kcn-gis validate printed no summary: {err.getvalue()[-300:]}")
    return {"errors": float(found.group(1))}


def plain_validate(inp: dict[str, Any]) -> dict[str, float]:
    """Schema checks a careful user would script: columns, nulls, enums, unique ids, CRS, geometry.

    Only the schema checks: no consistency check between layers (kcn_gis's step runs those too).
    """
    errors = 0
    for layer, s in ATLAS_LAYERS.items():
        df = gpd.read_file(inp["path"], layer=str(layer))
        for c in s.columns:
            if c.required and c.name not in df.columns:
                errors += 1
                continue
            if c.name not in df.columns:
                continue
            col = df[c.name]
            if not c.nullable:
                errors += int(col.isna().sum())
            if c.enum is not None:
                errors += int((col.notna() & ~col.isin([str(e) for e in c.enum])).sum())
            if c.unique:
                errors += int(col.duplicated().sum())
        if s.geometry is not None:
            errors += int(df.crs is None or df.crs.to_epsg() != 9209)
            g = df.geometry
            errors += int(g.isna().sum() + g.is_empty.sum() + (~g.is_valid).sum())
    return {"errors": float(errors)}


# -- map export -------------------------------------------------------------------------------------------------
def kcn_map(inp: dict[str, Any]) -> dict[str, float]:
    import tempfile

    import kcn_gis
    from kcn_gis.maps import planning_map, save_map

    atlas = kcn_gis.open_atlas(inp["path"], validate=False)
    m = planning_map(atlas, as_of=AS_OF)
    with tempfile.TemporaryDirectory() as tmp:
        out = save_map(m, Path(tmp) / "map.html")
        return {"written": float(out.stat().st_size > 0)}


def plain_map(inp: dict[str, Any]) -> dict[str, float]:
    """explore() of the layers the planning map shows (parcels without personal data)."""
    import tempfile

    m = inp["province"].explore(style_kwds={"fill": False})
    inp["rivers"].explore(m=m, color="blue")
    inp["parks"].explore(m=m, column="status")
    inp["plots"].explore(m=m, column="land_use")
    inp["parcels"][["parcel_id", "park_id", "commune", "map_sheet", "parcel_no", "geometry"]].explore(m=m)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "map.html"
        m.save(str(out))
        return {"written": float(out.stat().st_size > 0)}


# -- end to end: open + fill rates + balance + clearance progress -------------------------------------------------
def kcn_end_to_end(inp: dict[str, Any]) -> dict[str, float]:
    import kcn_gis

    fill_rates = _find("kcn_gis.analytics", "fill_rates")
    river_balance = _find("kcn_gis.analytics", "river_balance")
    clearance_progress = _find("kcn_gis.clearance", "clearance_progress")
    atlas = kcn_gis.open_atlas(inp["path"])
    fill = fill_rates(atlas.plots, atlas.parks, as_of=AS_OF, by="park")
    bal = river_balance(atlas.province, atlas.rivers, atlas.parks, atlas.plots, atlas.projects, as_of=AS_OF)
    prog = clearance_progress(atlas.clearance_events, atlas.parcels, as_of=AS_OF)
    return {
        "leased_ha": float(fill["leased_ha"].sum()),
        "balance_leased_ha": float(bal["leased_ha"].sum()),
        "handed_over_ha": float(prog["handed_over_ha"].sum()),
    }


def plain_end_to_end(inp: dict[str, Any]) -> dict[str, float]:
    layers = {str(layer): gpd.read_file(inp["path"], layer=str(layer)) for layer in ATLAS_LAYERS}
    for name, cols in {
        "plots": ("acquired_on", "leased_on", "lease_ended_on"),
        "projects": ("licensed_on", "revoked_on"),
        "clearance_events": ("event_date",),
    }.items():
        for c in cols:
            layers[name][c] = pd.to_datetime(layers[name][c])
    fill = plain_fill(layers)
    bal = plain_balance(layers)
    prog = plain_clearance(layers)
    return {
        "leased_ha": float(sum(v for k, v in fill.items() if k.endswith(".leased_ha"))),
        "balance_leased_ha": float(sum(v for k, v in bal.items() if k.endswith(".leased_ha"))),
        "handed_over_ha": float(sum(v for k, v in prog.items() if k.endswith(".handed_over_ha"))),
    }


Step = tuple[Callable[[dict[str, Any]], dict[str, float]], Callable[[dict[str, Any]], dict[str, float]]]

#: name -> (kcn_gis implementation, plain-geopandas implementation)
STEPS: dict[str, Step] = {
    "open": (kcn_open, plain_open),
    "fill_rates": (kcn_fill, plain_fill),
    "balance": (kcn_balance, plain_balance),
    "clearance": (kcn_clearance, plain_clearance),
    "validate": (kcn_validate, plain_validate),
    "map": (kcn_map, plain_map),
    "end_to_end": (kcn_end_to_end, plain_end_to_end),
}
