"""Synthetic province generator for kcn_gis benchmarks (deterministic for a given seed).

Builds all seven atlas layers of the data model (:mod:`kcn_gis.schema`) in
EPSG:9209 (VN-2000 / TM-3 105°30′, metres):

* ``province``: an irregular star-shaped outline around E 560 000, N 2 335 000,
  sized so that the parks fit with room to spare;
* ``rivers``: "Sông Đuống", a meandering line that crosses the whole province
  (it overshoots the outline at both ends, as digitised rivers often do) and so
  splits it into a north and a south bank; plus "Sông Cầu", a river that enters
  the province but does not split it;
* ``parks``: ``parks`` industrial parks, rotated by up to ±35°, some L-shaped,
  some straddling the Đuống; the park outline is the exact union of its plots;
* ``plots``: plots tiling each park (blocks of cadastral cells, 1-10 ha), with
  industrial/services/infrastructure/green/other land uses and acquisition,
  lease and lease-end dates that depend on the park's status and opening year;
* ``parcels``: exactly ``parcels`` cadastral parcels tiling the parks: a
  jittered grid of strips (about 16 m x 32 m, log-normal widths and heights)
  whose shared vertices are moved randomly, so parcels are irregular
  quadrilaterals, and about 13 % of them are two cells merged into a hexagon;
  parcels nest exactly in plots and plots in parks (shared vertices);
* ``clearance_events``: the clearance history of every parcel (stages
  notified → handed_over with increasing dates, complaints, resolutions);
* ``projects``: one investment project per leased plot.

Everything is vectorised with numpy/shapely 2; the only Python loops are over
parks and plots (never over parcels or events). Each park is generated from
its own random stream (``seed``, park index), so :func:`iter_chunks` can write
a 10-million-parcel national atlas park by park with the same result as
:func:`generate`.

CLI::

    python bench/synth.py --parcels 100000 --parks 16 --out /tmp/p100k.gpkg
    python bench/synth.py --parcels 10000000 --parks 400 --out /tmp/n10m.parquet

A ``.gpkg`` output is written with :func:`kcn_gis.write_atlas`; a ``.parquet``
output is a directory with one sub-directory per layer holding GeoParquet
parts (``DIR/<layer>/part.NNNNN.parquet``), written chunk by chunk so that the
whole atlas never has to be in memory.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from kcn_gis.schema import STAGES, Col, Event, HolderType, LandUse, Layer, ParkStatus

__all__ = ["CAP_DATE", "CRS", "RIVER", "Plan", "generate", "iter_chunks", "layout", "main", "write_parquet_dir"]

log = logging.getLogger(__name__)

CRS = "EPSG:9209"
#: The river that splits the synthetic province.
RIVER = "Sông Đuống"
#: No date in the synthetic atlas is later than this.
CAP_DATE = np.datetime64("2025-06-30", "D")

_CENTER = (560_000.0, 2_335_000.0)
_CELL_W, _CELL_H = 16.0, 32.0  # mean cadastral strip width and depth, metres
_JITTER = 0.2  # vertex jitter as a fraction of the smaller neighbouring cell size
_MERGE_SHARE = 0.15  # extra cells generated so that pairs can be merged into hexagons

_NORTH_DISTRICTS = ("Yên Phong", "Quế Võ", "Tiên Du", "Từ Sơn", "Bắc Ninh")
_SOUTH_DISTRICTS = ("Thuận Thành", "Gia Bình", "Lương Tài")
_PARK_NAMES = (
    "Yên Phong",
    "Quế Võ",
    "Tiên Sơn",
    "Đại Đồng - Hoàn Sơn",
    "Thuận Thành",
    "Gia Bình",
    "Nam Sơn - Hạp Lĩnh",
    "VSIP Bắc Ninh",
    "Hanaka",
    "Lương Tài",
    "Đông Phong",
    "Tam Sơn",
)
_COMMUNES = (
    "Xã Tam Sơn",
    "Xã Đông Phong",
    "Xã Long Châu",
    "Xã Phương Liễu",
    "Xã Nam Sơn",
    "Xã Hạp Lĩnh",
    "Xã Đại Đồng",
    "Xã Hoàn Sơn",
    "Xã Song Hồ",
    "Xã Trí Quả",
    "Xã Đại Lai",
    "Xã Quảng Phú",
    "Xã Lâm Thao",
    "Xã Phú Hòa",
    "Xã Đình Tổ",
    "Xã Việt Hùng",
)
_SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô", "Dương", "Lý")
_MIDDLE = ("Văn", "Thị", "Đức", "Minh", "Hữu", "Quang")
_GIVEN = ("An", "Bình", "Cường", "Dũng", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Lan", "Linh", "Long", "Mai", "Nam")
_BRANDS = ("Sao Mai", "Hòa Phát", "Kim Long", "Đông Á", "Phú Thịnh", "Minh Anh", "Hanwha", "Tân Việt", "Kyoto", "Lotus")
_COUNTRIES = ("Korea", "Japan", "China", "Taiwan", "Singapore", "Vietnam", "USA", "Germany")
_LAND_TYPES = np.array(["LUC", "LUK", "ONT", "CLN", "BHK", "NTS", "DGT", "DTL"])
_LAND_TYPE_P = np.array([0.55, 0.08, 0.12, 0.08, 0.06, 0.05, 0.04, 0.02])
_LAND_USES = np.array([str(u) for u in LandUse])  # industrial, services, infrastructure, green, other
_LAND_USE_P = np.array([0.68, 0.06, 0.12, 0.10, 0.04])
_HOLDERS = np.array([str(h) for h in HolderType])  # household, organization, state
_HOLDER_P = np.array([0.86, 0.04, 0.10])
_STATUSES = np.array([str(s) for s in ParkStatus])  # operating, construction, preparing
_STATUS_P = np.array([0.6, 0.25, 0.15])
#: Probability of a parcel having reached 0..5 stages, by park status.
_STAGE_P = {
    "operating": np.array([0.0, 0.0, 0.005, 0.01, 0.015, 0.97]),
    "construction": np.array([0.05, 0.08, 0.10, 0.15, 0.22, 0.40]),
    "preparing": np.array([0.40, 0.25, 0.15, 0.10, 0.05, 0.05]),
}
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class Plan:
    """Where and how big one synthetic park is (the cheap first pass of the generator)."""

    index: int
    park_id: str
    n_parcels: int
    cx: float
    cy: float
    angle: float  # radians
    width: float  # metres, before rotation
    height: float
    status: str
    start_year: int
    district: str
    north: bool


@dataclass(frozen=True)
class Layout:
    """The province-level part of a synthetic atlas: outline, rivers and park plans."""

    province: gpd.GeoDataFrame
    rivers: gpd.GeoDataFrame
    plans: tuple[Plan, ...]
    seed: int


# -- province, river and park placement -------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, t: np.ndarray, harmonics: range, *, decay: float = 1.0) -> np.ndarray:
    """Sum of random low-frequency sines of ``t`` (radians), scaled to about [-1, 1]."""
    out = np.zeros_like(t)
    norm = 0.0
    for k in harmonics:
        amp = rng.uniform(0.4, 1.0) / k**decay
        out += amp * np.sin(k * t + rng.uniform(0, 2 * np.pi))
        norm += amp
    return out / norm if norm else out


def _split_counts(rng: np.random.Generator, total: int, parts: int) -> np.ndarray:
    """Split ``total`` into ``parts`` positive integers with log-normal proportions."""
    w = rng.lognormal(0.0, 0.6, parts)
    extra = total - parts
    raw = extra * w / w.sum()
    base = np.floor(raw).astype(np.int64)
    rest = extra - int(base.sum())
    if rest:
        base[np.argsort(raw - base)[::-1][:rest]] += 1
    return base + 1


def layout(parcels: int, parks: int, *, seed: int = 0) -> Layout:
    """Place the province, rivers and parks (no parcels yet).

    Parameters
    ----------
    parcels : int
        Total number of cadastral parcels (at least ``parks``).
    parks : int
        Number of industrial parks (at least 1).
    seed : int
        Random seed; the same seed gives the same atlas.

    Returns
    -------
    Layout
        Province and rivers frames in EPSG:9209, and one :class:`Plan` per park.
    """
    if parks < 1 or parcels < parks:
        raise ValueError(f"need parks >= 1 and parcels >= parks, got parcels={parcels}, parks={parks}")
    rng = np.random.default_rng([seed, 0])
    counts = _split_counts(rng, parcels, parks)
    aspect = rng.uniform(0.7, 1.5, parks)
    cells = counts * (1 + _MERGE_SHARE) / 0.85  # room for merges and an L-shaped cut
    area = cells * _CELL_W * _CELL_H
    width = np.sqrt(area * aspect)
    height = width / aspect
    radius = 0.5 * np.hypot(width, height)
    slot = 2 * radius.max() * 1.1 + 200.0
    g = max(1, math.ceil(math.sqrt(parks * 1.6)))
    if g % 2 == 0:
        g += 1  # an odd grid puts a row of parks on the river
    half = g * slot / 2
    chosen = np.sort(rng.choice(g * g, size=parks, replace=False))
    row, col = np.divmod(chosen, g)
    free = np.maximum(slot / 2 - radius - 50.0, 0.0)
    cx = _CENTER[0] - half + (col + 0.5) * slot + rng.uniform(-1, 1, parks) * free
    cy = _CENTER[1] - half + (row + 0.5) * slot + rng.uniform(-1, 1, parks) * free
    angle = np.deg2rad(rng.uniform(-35, 35, parks))

    # Province: star-shaped around the centre, containing the square of slots with a margin.
    margin = 0.15 * half + 1_000.0
    theta = np.linspace(0, 2 * np.pi, 721)[:-1]
    r_square = (half + margin * 0.3) / np.maximum(np.abs(np.cos(theta)), np.abs(np.sin(theta)))
    r = r_square + margin * (0.55 + 0.45 * _smooth_noise(rng, theta, range(2, 7)))
    ring = np.column_stack([_CENTER[0] + r * np.cos(theta), _CENTER[1] + r * np.sin(theta)])
    outline = shapely.Polygon(ring)
    province = gpd.GeoDataFrame({Col.NAME: ["Tỉnh Tổng Hợp"]}, geometry=[outline], crs=CRS)

    # The Đuống: west to east through the middle, overshooting the outline by 2 km at each end.
    extent = half + 2.5 * margin + 2_000.0
    xs = np.linspace(_CENTER[0] - extent, _CENTER[0] + extent, 601)
    t = (xs - xs[0]) / (xs[-1] - xs[0]) * 2 * np.pi
    ys = _CENTER[1] + 0.25 * slot * _smooth_noise(rng, t, range(1, 6), decay=0.7)
    duong = shapely.LineString(np.column_stack([xs, ys]))
    # The Cầu: enters from the north-west and ends inside the province (does not split it).
    xs2 = np.linspace(_CENTER[0] - extent, _CENTER[0], 201)
    ys2 = _CENTER[1] + 0.6 * half + 0.1 * half * np.sin(np.linspace(0, 3 * np.pi, 201))
    cau = shapely.LineString(np.column_stack([xs2, ys2]))
    rivers = gpd.GeoDataFrame({Col.NAME: [RIVER, "Sông Cầu"]}, geometry=[duong, cau], crs=CRS)

    north = cy > np.interp(cx, xs, ys)
    status = rng.choice(_STATUSES, size=parks, p=_STATUS_P)
    start = np.where(
        status == "operating",
        rng.integers(1998, 2016, parks),
        np.where(status == "construction", rng.integers(2012, 2023, parks), rng.integers(2020, 2025, parks)),
    )
    d_north = rng.integers(0, len(_NORTH_DISTRICTS), parks)
    d_south = rng.integers(0, len(_SOUTH_DISTRICTS), parks)
    width_id = max(3, len(str(parks)))
    plans = tuple(
        Plan(
            index=i,
            park_id=f"KCN{i + 1:0{width_id}d}",
            n_parcels=int(counts[i]),
            cx=float(cx[i]),
            cy=float(cy[i]),
            angle=float(angle[i]),
            width=float(width[i]),
            height=float(height[i]),
            status=str(status[i]),
            start_year=int(start[i]),
            district=_NORTH_DISTRICTS[d_north[i]] if north[i] else _SOUTH_DISTRICTS[d_south[i]],
            north=bool(north[i]),
        )
        for i in range(parks)
    )
    return Layout(province=province, rivers=rivers, plans=plans, seed=seed)


# -- one park: grid, parcels, plots, events, projects ----------------------------------------------------
def _runs(rng: np.random.Generator, n: int, lo: int, hi: int) -> np.ndarray:
    """Boundaries 0 = b0 < b1 < ... = n of runs with lengths drawn from [lo, hi]."""
    lengths = rng.integers(lo, hi + 1, n // lo + 2)
    edges = np.concatenate([[0], np.cumsum(lengths)])
    edges = edges[edges < n]
    return np.append(edges, n)


def _date_ms(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (float, NaN = missing) to ``datetime64[ms]`` at midnight (NaT for NaN)."""
    out = np.full(days.shape, np.datetime64("NaT"), dtype="datetime64[ms]")
    ok = ~np.isnan(days)
    out[ok] = (np.floor(days[ok]).astype(np.int64) * _DAY_MS).astype("datetime64[ms]")
    return out


def _strings(prefix: str | pd.Series, numbers: np.ndarray, *, width: int = 0, suffix: str = "") -> pd.Series:
    """Vectorised ``f"{prefix}{number:0{width}d}{suffix}"`` as a pandas string Series."""
    s = pd.Series(numbers, dtype="int64").astype("str")
    if width:
        s = s.str.zfill(width)
    out = prefix + s if isinstance(prefix, str) else prefix.reset_index(drop=True) + s
    return (out + suffix).astype("str") if suffix else out.astype("str")


def _park(plan: Plan, seed: int) -> dict[str, object]:
    """Generate one park: its outline, plots, parcels, clearance events and projects."""
    rng = np.random.default_rng([seed, 1, plan.index])
    n_target = plan.n_parcels
    nx = max(1, round(plan.width / _CELL_W))
    ny = max(1, math.ceil(plan.n_parcels * (1 + _MERGE_SHARE) / 0.85 / nx))
    w = _CELL_W * rng.lognormal(0.0, 0.3, nx)
    h = _CELL_H * rng.lognormal(0.0, 0.3, ny)
    xe = np.concatenate([[0.0], np.cumsum(w)])
    ye = np.concatenate([[0.0], np.cumsum(h)])
    xe -= xe[-1] / 2
    ye -= ye[-1] / 2
    # Jitter every vertex by up to _JITTER of its smaller neighbouring cell: quads stay simple.
    bx = _JITTER * np.minimum(np.concatenate([[w[0]], w]), np.concatenate([w, [w[-1]]]))
    by = _JITTER * np.minimum(np.concatenate([[h[0]], h]), np.concatenate([h, [h[-1]]]))
    vx = xe[None, :] + rng.uniform(-1, 1, (ny + 1, nx + 1)) * bx[None, :]
    vy = ye[:, None] + rng.uniform(-1, 1, (ny + 1, nx + 1)) * by[:, None]
    ca, sa = math.cos(plan.angle), math.sin(plan.angle)
    gx = plan.cx + ca * vx - sa * vy
    gy = plan.cy + sa * vx + ca * vy
    verts = np.stack([gx.ravel(), gy.ravel()], axis=1)  # vertex (i, j) at i * (nx + 1) + j

    # Plot blocks; an L-shaped cut removes a corner of blocks from some parks.
    cb = _runs(rng, nx, 6, 16)
    rb = _runs(rng, ny, 3, 8)
    nbx, nby = len(cb) - 1, len(rb) - 1
    col_block = np.searchsorted(cb, np.arange(nx), side="right") - 1
    row_block = np.searchsorted(rb, np.arange(ny), side="right") - 1
    kept_blocks = np.ones((nby, nbx), dtype=bool)
    if nbx >= 3 and nby >= 3 and rng.random() < 0.6:
        cut_x = int(rng.integers(1, max(2, nbx // 3) + 1))
        cut_y = int(rng.integers(1, max(2, nby // 3) + 1))
        corner_x = slice(0, cut_x) if rng.random() < 0.5 else slice(nbx - cut_x, nbx)
        corner_y = slice(0, cut_y) if rng.random() < 0.5 else slice(nby - cut_y, nby)
        kept_blocks[corner_y, corner_x] = False
        cells_kept = int(kept_blocks[row_block][:, col_block].sum())
        if cells_kept < n_target:  # the cut was too big for this park: keep the full rectangle
            kept_blocks[:] = True
    kept = kept_blocks[row_block][:, col_block]  # (ny, nx) cells

    # Parcels: kept cells; some horizontal pairs in the same plot block merge into hexagons.
    ci, cj = np.nonzero(kept)
    n_cells = ci.size
    pair = (cj % 2 == 0) & (cj + 1 < nx)
    pair &= np.where(cj + 1 < nx, kept[ci, np.minimum(cj + 1, nx - 1)], False)
    pair &= col_block[cj] == col_block[np.minimum(cj + 1, nx - 1)]
    eligible = np.flatnonzero(pair)
    n_merge = min(max(n_cells - n_target, 0), eligible.size)
    merge_first = np.sort(rng.choice(eligible, size=n_merge, replace=False)) if n_merge else np.empty(0, np.int64)
    is_first = np.zeros(n_cells, dtype=bool)
    is_first[merge_first] = True
    is_second = np.zeros(n_cells, dtype=bool)
    is_second[merge_first + 1] = True  # the right-hand neighbour follows in row-major order
    single = ~is_first & ~is_second
    drop = n_cells - n_merge - n_target  # > 0 only when merges could not absorb the surplus
    if drop > 0:
        single[np.flatnonzero(single)[-drop:]] = False
    stride = nx + 1

    def vid(i: np.ndarray, j: np.ndarray) -> np.ndarray:
        return i * stride + j

    si, sj = ci[single], cj[single]
    quad_idx = np.stack([vid(si, sj), vid(si, sj + 1), vid(si + 1, sj + 1), vid(si + 1, sj), vid(si, sj)], axis=1)
    mi, mj = ci[is_first], cj[is_first]
    hex_idx = np.stack(
        [
            vid(mi, mj),
            vid(mi, mj + 1),
            vid(mi, mj + 2),
            vid(mi + 1, mj + 2),
            vid(mi + 1, mj + 1),
            vid(mi + 1, mj),
            vid(mi, mj),
        ],
        axis=1,
    )
    geoms = np.concatenate([shapely.polygons(verts[quad_idx]), shapely.polygons(verts[hex_idx])])
    pi_ = np.concatenate([si, mi])
    pj = np.concatenate([sj, mj])
    order = np.lexsort((pj, pi_))
    geoms, pi_, pj = geoms[order], pi_[order], pj[order]

    # Plots: the boundary ring of each kept block, through every shared grid vertex.
    rings: list[np.ndarray] = []
    block_ids: list[tuple[int, int]] = []
    for bi in range(nby):
        r0, r1 = int(rb[bi]), int(rb[bi + 1])
        for bj in range(nbx):
            if not kept_blocks[bi, bj]:
                continue
            c0, c1 = int(cb[bj]), int(cb[bj + 1])
            jj = np.arange(c0, c1 + 1)
            ii = np.arange(r0, r1 + 1)
            ring = np.concatenate(
                [
                    vid(np.full(jj.size, r0), jj),
                    vid(ii[1:], np.full(ii.size - 1, c1)),
                    vid(np.full(jj.size - 1, r1), jj[::-1][1:]),
                    vid(ii[::-1][1:], np.full(ii.size - 1, c0)),
                ]
            )
            rings.append(ring)
            block_ids.append((bi, bj))
    ring_len = np.array([r.size for r in rings])
    plot_geoms = shapely.polygons(
        shapely.linearrings(verts[np.concatenate(rings)], indices=np.repeat(np.arange(len(rings)), ring_len))
    )
    outline = shapely.coverage_union_all(plot_geoms)

    return _park_frames(plan, rng, geoms, pi_, pj, nx, plot_geoms, outline)


def _park_frames(
    plan: Plan,
    rng: np.random.Generator,
    geoms: np.ndarray,
    pi_: np.ndarray,
    pj: np.ndarray,
    nx: int,
    plot_geoms: np.ndarray,
    outline: shapely.Geometry,
) -> dict[str, object]:
    """Attributes of one park's parcels, plots, events and projects."""
    n = geoms.size
    pid = plan.park_id
    start = (np.datetime64(f"{plan.start_year}-01-01", "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
    cap = (CAP_DATE - np.datetime64("1970-01-01", "D")).astype(np.int64)

    # -- parcels
    sheet_cols = max(1, math.ceil(nx / 40))
    sheet = (pi_ // 40) * sheet_cols + pj // 40 + 1
    order = np.lexsort((pj, pi_, sheet))
    sorted_sheet = sheet[order]
    first = np.concatenate([[True], sorted_sheet[1:] != sorted_sheet[:-1]])
    group_start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    number = np.empty(n, dtype=np.int64)
    number[order] = np.arange(n) - group_start + 1
    communes = rng.choice(len(_COMMUNES), size=3, replace=False)
    commune = np.array(_COMMUNES)[communes[np.minimum(pj * 3 // max(nx, 1), 2)]]
    sheet_s = pd.Series(sheet, dtype="int64").astype("str")
    number_s = pd.Series(number, dtype="int64").astype("str")
    holder = rng.choice(_HOLDERS, size=n, p=_HOLDER_P)
    names = np.array([f"Hộ {s} {m} {g}" for s in _SURNAMES for m in _MIDDLE for g in _GIVEN])
    holder_name = names[rng.integers(0, names.size, n)].astype(object)
    holder_name[holder == "organization"] = "Công ty TNHH " + _BRANDS[int(rng.integers(len(_BRANDS)))]
    holder_name[holder == "state"] = "UBND xã " + str(commune[0]).removeprefix("Xã ")
    area_m2 = shapely.area(geoms)
    parcels = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: (pid + "-" + sheet_s + "-" + number_s).astype("str"),
            Col.PARK_ID: pd.Series(np.full(n, pid), dtype="str"),
            Col.COMMUNE: pd.Series(commune, dtype="str"),
            Col.MAP_SHEET: sheet_s.astype("str"),
            Col.PARCEL_NO: number_s.astype("str"),
            Col.LAND_TYPE: pd.Series(rng.choice(_LAND_TYPES, size=n, p=_LAND_TYPE_P), dtype="str"),
            Col.HOLDER_TYPE: pd.Series(holder, dtype="str"),
            Col.HOLDER_NAME: pd.Series(holder_name, dtype="str"),
            Col.LEGAL_AREA_M2: np.round(area_m2 * rng.uniform(0.97, 1.03, n), 1),
        },
        geometry=gpd.GeoSeries(geoms, crs=CRS),
        crs=CRS,
    )

    # -- clearance events: stages reached in order, with increasing dates, capped at CAP_DATE
    reached = rng.choice(6, size=n, p=_STAGE_P[plan.status])
    t0 = start - 730 + rng.integers(0, 365, n)
    gaps = rng.lognormal(np.log(90), 0.5, (n, len(STAGES)))
    stage_day = t0[:, None] + np.cumsum(gaps, axis=1).astype(np.int64)
    has = (np.arange(len(STAGES))[None, :] < reached[:, None]) & (stage_day <= cap)
    e_parcel, e_stage = np.nonzero(has)
    e_day = stage_day[e_parcel, e_stage]
    e_kind = np.array([str(s) for s in STAGES])[e_stage]
    # Complaints after the inventory for 3 % of started parcels; 60 % of them resolved.
    started = np.flatnonzero(has[:, 1])
    plaint = started[rng.random(started.size) < 0.03]
    c_day = stage_day[plaint, 1] + rng.integers(5, 60, plaint.size)
    ok = c_day <= cap
    plaint, c_day = plaint[ok], c_day[ok]
    resolved = rng.random(plaint.size) < 0.6
    r_day = c_day + rng.integers(30, 300, plaint.size)
    resolved &= r_day <= cap
    e_parcel = np.concatenate([e_parcel, plaint, plaint[resolved]])
    e_day = np.concatenate([e_day, c_day, r_day[resolved]])
    e_kind = np.concatenate(
        [
            e_kind,
            np.full(plaint.size, str(Event.COMPLAINT)),
            np.full(int(resolved.sum()), str(Event.COMPLAINT_RESOLVED)),
        ]
    )
    eo = np.lexsort((e_day, e_parcel))
    e_parcel, e_day, e_kind = e_parcel[eo], e_day[eo], e_kind[eo]
    m = e_parcel.size
    ref_num = rng.integers(1, 3000, m)
    ref_suffix = np.where(np.isin(e_kind, ["plan_approved", "notified"]), "/QĐ-UBND", "/BB-HĐBT")
    note = np.full(m, None, dtype=object)
    note[e_kind == str(Event.COMPLAINT)] = "Khiếu nại về đơn giá bồi thường"
    note[e_kind == str(Event.COMPLAINT_RESOLVED)] = "Đã giải quyết theo quyết định của UBND huyện"
    recorded = e_day.astype(np.int64) * _DAY_MS + rng.integers(1, 15, m) * _DAY_MS + rng.integers(0, 36_000_000, m)
    events = pd.DataFrame(
        {
            Col.EVENT_ID: _strings(f"{pid}-E", np.arange(1, m + 1), width=7),
            Col.PARCEL_ID: parcels[Col.PARCEL_ID].to_numpy()[e_parcel],
            Col.EVENT: pd.Series(e_kind, dtype="str"),
            Col.EVENT_DATE: _date_ms(e_day.astype(float)),
            Col.REFERENCE: (_strings("", ref_num) + pd.Series(ref_suffix, dtype="str")).astype("str"),
            Col.NOTE: pd.Series(note, dtype="str"),
            Col.RECORDED_AT: recorded.astype("datetime64[ms]"),
            Col.RECORDED_BY: pd.Series(np.full(m, f"Hội đồng BT, HT, TĐC {plan.district}"), dtype="str"),
            Col.CORRECTS_EVENT_ID: pd.Series(np.full(m, None, dtype=object), dtype="str"),
        }
    )
    events[Col.PARCEL_ID] = events[Col.PARCEL_ID].astype("str")

    # -- plots: land use and dates by park status
    k = plot_geoms.size
    use = rng.choice(_LAND_USES, size=k, p=_LAND_USE_P)
    p_acq = {"operating": 1.0, "construction": 0.7, "preparing": 0.1}[plan.status]
    p_lease = {"operating": 0.8, "construction": 0.3, "preparing": 0.0}[plan.status]
    acq_day = (start + rng.integers(0, 1100, k)).astype(float)
    acquired = (rng.random(k) < p_acq) & (acq_day <= cap)
    acq_day[~acquired] = np.nan
    lease_day = acq_day + rng.integers(180, 3000, k)
    leasable = np.isin(use, ["industrial", "services"])
    leased = acquired & leasable & (rng.random(k) < p_lease) & (lease_day <= cap)
    lease_day[~leased] = np.nan
    end_day = lease_day + rng.integers(365, 4000, k)
    ended = leased & (rng.random(k) < 0.04) & (end_day <= cap)
    end_day[~ended] = np.nan
    plot_no = np.arange(1, k + 1)
    project_ids = _strings(f"PRJ-{pid}-", plot_no, width=4)
    tenants = pd.Series(
        np.array([f"Công ty TNHH {b}" for b in _BRANDS])[rng.integers(0, len(_BRANDS), k)], dtype="str"
    ) + _strings(" ", plot_no)
    plots = gpd.GeoDataFrame(
        {
            Col.PLOT_ID: _strings(f"{pid}-L", plot_no, width=4),
            Col.PARK_ID: pd.Series(np.full(k, pid), dtype="str"),
            Col.LAND_USE: pd.Series(use, dtype="str"),
            Col.ACQUIRED_ON: _date_ms(acq_day),
            Col.LEASED_ON: _date_ms(lease_day),
            Col.LEASE_ENDED_ON: _date_ms(end_day),
            Col.TENANT: tenants.where(leased, None).astype("str"),
            Col.PROJECT_ID: project_ids.where(leased, None).astype("str"),
        },
        geometry=gpd.GeoSeries(plot_geoms, crs=CRS),
        crs=CRS,
    )

    # -- projects: one per leased plot
    lp = np.flatnonzero(leased)
    q = lp.size
    lic_day = lease_day[lp] - rng.integers(0, 180, q)
    op_day = lease_day[lp] + rng.integers(200, 800, q)
    op_day[op_day > cap] = np.nan
    rev = (rng.random(q) < 0.03) & ~ended[lp]
    rev_day = np.where(rev, np.minimum(lease_day[lp] + rng.integers(400, 2000, q), cap), np.nan)
    workers = np.round(rng.lognormal(np.log(300), 1.0, q)).astype(np.int64)
    local = np.round(workers * rng.uniform(0.2, 0.7, q)).astype(np.int64)
    female = np.round(workers * rng.uniform(0.4, 0.85, q)).astype(np.int64)
    projects = pd.DataFrame(
        {
            Col.PROJECT_ID: project_ids.iloc[lp].reset_index(drop=True).astype("str"),
            Col.INVESTOR: tenants.iloc[lp].reset_index(drop=True).astype("str"),
            Col.COUNTRY: pd.Series(np.array(_COUNTRIES)[rng.integers(0, len(_COUNTRIES), q)], dtype="str"),
            Col.REGISTERED_CAPITAL_USD: np.round(rng.lognormal(np.log(8e6), 1.1, q), -3),
            Col.LICENSED_ON: _date_ms(lic_day),
            Col.OPERATING_SINCE: _date_ms(op_day),
            Col.REVOKED_ON: _date_ms(rev_day),
            Col.WORKERS: pd.array(workers, dtype="Int64"),
            Col.LOCAL_WORKERS: pd.array(local, dtype="Int64"),
            Col.FEMALE_WORKERS: pd.array(female, dtype="Int64"),
        }
    )

    base = _PARK_NAMES[plan.index % len(_PARK_NAMES)]
    suffix = "" if plan.index < len(_PARK_NAMES) else f" {plan.index // len(_PARK_NAMES) + 1}"
    area_ha = float(shapely.area(outline)) / 1e4
    park = {
        Col.PARK_ID: pid,
        Col.NAME: f"KCN {base}{suffix}",
        Col.NAME_EN: f"{base}{suffix} Industrial Park",
        Col.DISTRICT: plan.district,
        Col.STATUS: plan.status,
        Col.LISTED_AREA_HA: round(area_ha * float(rng.uniform(0.95, 1.05)), 1),
        Col.DETAIL_PLAN_APPROVED: bool(plan.status != "preparing" or rng.random() < 0.3),
        Col.DEVELOPER: f"Công ty CP Phát triển hạ tầng {base}" if rng.random() < 0.9 else None,
        Col.GEOMETRY: outline,
    }
    return {"park": park, "plots": plots, "parcels": parcels, "events": events, "projects": projects}


def _parks_frame(rows: list[dict[str, object]]) -> gpd.GeoDataFrame:
    df = pd.DataFrame([{k: v for k, v in r.items() if k != Col.GEOMETRY} for r in rows])
    for c in (Col.PARK_ID, Col.NAME, Col.NAME_EN, Col.DISTRICT, Col.STATUS, Col.DEVELOPER):
        df[c] = df[c].astype("str")
    df[Col.LISTED_AREA_HA] = df[Col.LISTED_AREA_HA].astype("float64")
    df[Col.DETAIL_PLAN_APPROVED] = df[Col.DETAIL_PLAN_APPROVED].astype(bool)
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries([r[Col.GEOMETRY] for r in rows], crs=CRS), crs=CRS)


def iter_chunks(
    parcels: int, parks: int, *, seed: int = 0, chunk_parcels: int = 500_000
) -> Iterator[dict[str, pd.DataFrame]]:
    """Generate the atlas chunk by chunk (whole parks per chunk), for outputs larger than memory.

    The first chunk also holds ``province`` and ``rivers``; every chunk holds
    the ``parks``, ``plots``, ``parcels``, ``clearance_events`` and
    ``projects`` rows of its parks. Concatenating the chunks gives exactly
    :func:`generate`'s result (up to the row index).

    Parameters
    ----------
    parcels, parks, seed
        As for :func:`generate`.
    chunk_parcels : int
        Parks are grouped until a chunk holds at least this many parcels.
    """
    lay = layout(parcels, parks, seed=seed)
    first = True
    batch: list[dict[str, object]] = []
    size = 0

    def flush() -> dict[str, pd.DataFrame]:
        out: dict[str, pd.DataFrame] = {
            Layer.PARKS: _parks_frame([b["park"] for b in batch]),  # type: ignore[misc]
            Layer.PLOTS: pd.concat([b["plots"] for b in batch], ignore_index=True),  # type: ignore[misc]
            Layer.PARCELS: pd.concat([b["parcels"] for b in batch], ignore_index=True),  # type: ignore[misc]
            Layer.CLEARANCE_EVENTS: pd.concat([b["events"] for b in batch], ignore_index=True),  # type: ignore[misc]
            Layer.PROJECTS: pd.concat([b["projects"] for b in batch], ignore_index=True),  # type: ignore[misc]
        }
        return out

    for plan in lay.plans:
        batch.append(_park(plan, lay.seed))
        size += plan.n_parcels
        if size >= chunk_parcels:
            chunk = flush()
            if first:
                chunk = {Layer.PROVINCE: lay.province, Layer.RIVERS: lay.rivers, **chunk}
                first = False
            yield chunk
            batch, size = [], 0
    if batch or first:
        chunk = flush() if batch else {}
        if first:
            chunk = {Layer.PROVINCE: lay.province, Layer.RIVERS: lay.rivers, **chunk}
        yield chunk


def generate(parcels: int, parks: int, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Generate a synthetic province atlas in memory.

    Parameters
    ----------
    parcels : int
        Exact number of cadastral parcels (``parcels`` layer), at least ``parks``.
    parks : int
        Number of industrial parks.
    seed : int, default 0
        Random seed; the same arguments always give the same atlas.

    Returns
    -------
    dict of layer name to frame
        All seven atlas layers (keys are :class:`kcn_gis.schema.Layer` values),
        spatial ones as GeoDataFrames in EPSG:9209 (metres), with the model's
        dtypes (dates ``datetime64[ms]``, ints ``Int64``, text ``str``).
        ``kcn_gis.write_atlas(path, layers)`` accepts it as is.
    """
    chunks = list(iter_chunks(parcels, parks, seed=seed, chunk_parcels=max(parcels, 1) + 1))
    out = dict(chunks[0])
    for c in chunks[1:]:  # pragma: no cover - one chunk by construction
        for k, v in c.items():
            out[k] = pd.concat([out[k], v], ignore_index=True)
    ordered = [
        Layer.PROVINCE,
        Layer.RIVERS,
        Layer.PARKS,
        Layer.PLOTS,
        Layer.PARCELS,
        Layer.CLEARANCE_EVENTS,
        Layer.PROJECTS,
    ]
    return {k: out[k] for k in ordered}


# -- output -------------------------------------------------------------------------------------------------
def _write_part(frame: pd.DataFrame, directory: Path, part: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"part.{part:05d}.parquet"
    if isinstance(frame, gpd.GeoDataFrame):
        frame.to_parquet(path, index=False, write_covering_bbox=True, schema_version="1.1.0")
    else:
        frame.to_parquet(path, index=False)


def write_parquet_dir(
    out: str | Path, parcels: int, parks: int, *, seed: int = 0, chunk_parcels: int = 500_000, validate: bool = True
) -> Path:
    """Write a synthetic atlas as a directory of GeoParquet parts, one chunk of parks at a time.

    Layout: ``out/<layer>/part.NNNNN.parquet`` (the layout read by
    :mod:`kcn_gis.dask_engine`). Each part of ``parcels``/``plots`` holds
    whole parks, so parts are spatially compact. Memory use is bounded by one
    chunk (``chunk_parcels`` parcels and their events).
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise FileExistsError(f"{out} exists and is not empty; remove it or choose another --out")
    from kcn_gis.store.geoparquet import write_manifest

    parks_rows: list[pd.DataFrame] = []
    counts: dict[str, dict[str, int]] = {}
    for part, chunk in enumerate(iter_chunks(parcels, parks, seed=seed, chunk_parcels=chunk_parcels)):
        for layer, frame in chunk.items():
            if layer == Layer.PARKS:
                parks_rows.append(frame)
                continue
            _write_part(frame, out / str(layer), part)
            c = counts.setdefault(str(layer), {"parts": 0, "rows": 0})
            c["parts"] += 1
            c["rows"] += len(frame)
        log.info("wrote chunk %d (%d parcels)", part, len(chunk.get(Layer.PARCELS, ())))
    parks_frame = pd.concat(parks_rows, ignore_index=True)
    _write_part(gpd.GeoDataFrame(parks_frame, geometry=Col.GEOMETRY, crs=CRS), out / str(Layer.PARKS), 0)
    counts[str(Layer.PARKS)] = {"parts": 1, "rows": len(parks_frame)}
    # every part of parcels holds whole parks, and the events of those parcels are in the same part number
    write_manifest(
        out,
        {
            "crs": CRS,
            "layers": counts,
            "copartitioned": {str(Layer.CLEARANCE_EVENTS): str(Layer.PARCELS)},
            "generator": f"bench/synth.py parcels={parcels} parks={parks} seed={seed}",
        },
    )
    if validate:
        # as write_atlas does for a GeoPackage: checked once after writing, so reads can skip the checks
        from kcn_gis.store.geoparquet import record_validation

        record_validation(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """CLI entry point: ``python bench/synth.py --parcels N --parks M --out FILE.gpkg|DIR.parquet``."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--parcels", type=int, required=True, help="number of cadastral parcels")
    p.add_argument("--parks", type=int, required=True, help="number of industrial parks")
    p.add_argument("--out", required=True, help="FILE.gpkg (an atlas) or DIR.parquet (GeoParquet parts per layer)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk-parcels", type=int, default=500_000, help="parquet output: parcels per part")
    p.add_argument("--no-validate", action="store_true", help="skip schema validation on write")
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    t0 = time.perf_counter()
    out = Path(args.out)
    if out.suffix.lower() == ".parquet":
        write_parquet_dir(
            out,
            args.parcels,
            args.parks,
            seed=args.seed,
            chunk_parcels=args.chunk_parcels,
            validate=not args.no_validate,
        )
    elif out.suffix.lower() == ".gpkg":
        from kcn_gis import write_atlas

        layers = generate(args.parcels, args.parks, seed=args.seed)
        t1 = time.perf_counter()
        print(f"generated {args.parcels} parcels in {t1 - t0:.1f} s", file=sys.stderr)
        write_atlas(out, layers, validate=not args.no_validate)
    else:
        p.error("--out must end in .gpkg or .parquet")
    print(f"wrote {out} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
