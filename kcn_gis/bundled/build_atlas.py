"""Build the bundled Bắc Ninh 2011 atlas from the committed facts tables.

This module is pure: :func:`layers` returns the frames and writes nothing. The
atlas file is written by :func:`kcn_gis.store.build_bundled_atlas` (on first use of
:func:`kcn_gis.open_atlas`), or from the command line::

    .venv/bin/python -m kcn_gis.cli.bundled [--out PATH] [--replace]

(default: :func:`kcn_gis.bundled_atlas_path`, ``data/geo/bac_ninh_2011.gpkg`` in a
source checkout, the user cache directory in an installed package).

The atlas is a *reconstruction* of the industrial parks as the Management Board
reported them on 26/12/2011 (``../shared/seed``): every figure of the report that
the data model covers is hit by construction (see ``data/geo/SOURCES.md``), while shapes,
plots, projects, parcels and clearance histories are schematic and modelled.

Inputs (all in this folder, shipped in the package, all cited in ``data/geo/SOURCES.md``):

* ``parks_2011.csv`` - the 15 parks: names, districts, status, 2011 areas, locations;
* ``places_outline.csv`` / ``places_duong.csv`` - named places along the province
  border and the Đuống, in WGS 84 latitude/longitude;
* ``anchor_projects.csv`` - the named tenants (Samsung, Canon, ABB, Nokia);
* ``clearance_communes.csv`` - communes of the three parks in land clearance;
* ``facilities_2011.csv`` - the 6 worker-housing projects and the wastewater plants;
* ``reporting_2011.csv`` - the 2011 operating figures and the modelled filing shares.

Everything is deterministic: fixed seeds derived from stable names, stable
ordering, no clock. Two builds give identical layers.
"""

import dataclasses
import itertools
import math
import zlib
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import affinity

from kcn_gis.crs import WGS84, WORKING_CRS, to_crs
from kcn_gis.schema import DUONG, Col, Event, HolderType, LandUse, Layer, ParkStatus

HERE = Path(__file__).resolve().parent

#: The report's date (16:16 26/12/2011): the reference date of the atlas.
REPORT_DATE = pd.Timestamp("2011-12-26")
RECORDED_BY = "bundled-2011-reconstruction"
RIVER_NAME = DUONG
PROVINCE_NAME = "Tỉnh Bắc Ninh"

#: Industrial land leased by valid projects in the report (ha); the rest of the leased land
#: (1,217.4 - 1,152.0 = 65.4 ha) is leased to tenants without a project record (SOURCES.md).
PROJECT_LEASED_HA = 1152.0
VALID_PROJECTS = 527
OPERATING_PROJECTS = 263
REVOKED_PROJECTS = 68
REVOKED_WITH_LAND = 40
#: Valid projects holding plots of their own (modelled); the rest rent ready-built factories.
LAND_PROJECTS = 470
CAPITAL_USD = 4_100_000_000.0
WORKERS, LOCAL_WORKERS, FEMALE_WORKERS = 87_053, 35_655, 61_575
NO_RECORD_TENANT = "Doanh nghiệp thứ cấp chưa có hồ sơ dự án (mô phỏng)"

M2_PER_HA = 10_000.0
MIN_PLOT_HA = 1.0

__all__ = ["layers"]


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
def _rng(*keys: object) -> np.random.Generator:
    """A generator seeded from stable text keys (never Python's salted ``hash``)."""
    text = "|".join(str(k) for k in keys)
    return np.random.default_rng(zlib.crc32(text.encode("utf-8")))


def _project_points(frame: pd.DataFrame) -> np.ndarray:
    """Project the lat/lon of ``frame`` to EPSG:9209 (EPSG:6960 transformation) and return x, y."""
    pts = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)), crs=WGS84
    )
    proj = to_crs(pts, WORKING_CRS, what="cited places")
    return np.column_stack([proj.geometry.x.to_numpy(), proj.geometry.y.to_numpy()])


def _day(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).normalize()


def _days(n: float) -> pd.Timedelta:
    return pd.Timedelta(days=round(n))


def _lerp_date(a: pd.Timestamp, b: pd.Timestamp, t: float) -> pd.Timestamp:
    return _day(a + (b - a) * float(min(max(t, 0.0), 1.0)))


# --------------------------------------------------------------------------------------------------
# province, river
# --------------------------------------------------------------------------------------------------
def _province_and_river() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    outline = pd.read_csv(HERE / "places_outline.csv").sort_values("seq")
    duong = pd.read_csv(HERE / "places_duong.csv").sort_values("seq")
    ring = _project_points(outline)
    poly = shapely.Polygon(ring)
    if not poly.is_valid:  # pragma: no cover - guarded by the committed table
        raise RuntimeError(f"province outline is not valid: {shapely.is_valid_reason(poly)}")
    line = shapely.LineString(_project_points(duong))
    province = gpd.GeoDataFrame({Col.NAME: [PROVINCE_NAME]}, geometry=[poly], crs=WORKING_CRS)
    rivers = gpd.GeoDataFrame({Col.NAME: [RIVER_NAME]}, geometry=[line], crs=WORKING_CRS)
    return province, rivers


def _bank_polygons(province: shapely.Geometry, river: shapely.Geometry) -> dict[str, shapely.Geometry]:
    """North and south bank polygons (the build's own check; analytics has split_banks)."""
    from shapely.ops import split

    pieces = list(split(province, river).geoms)
    if len(pieces) != 2:  # pragma: no cover - guarded by the committed tables
        raise RuntimeError(f"the Đuống splits the province into {len(pieces)} pieces, expected 2")
    pieces.sort(key=lambda g: g.centroid.y)
    return {"south": pieces[0], "north": pieces[1]}


# --------------------------------------------------------------------------------------------------
# parks
# --------------------------------------------------------------------------------------------------
def _axes(angle_deg: float) -> tuple[np.ndarray, np.ndarray]:
    a = math.radians(angle_deg)
    return np.array([math.cos(a), math.sin(a)]), np.array([-math.sin(a), math.cos(a)])


def _park_polygon(cx: float, cy: float, area_m2: float, aspect: float, angle: float, key: str) -> shapely.Polygon:
    """An irregular schematic polygon of exactly ``area_m2``, centred on (cx, cy)."""
    rng = _rng("park-shape", key)
    w = math.sqrt(area_m2 * aspect)
    h = area_m2 / w
    corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    small = min(w, h)
    pts: list[tuple[float, float]] = []
    cut = int(rng.integers(0, 4))  # one chamfered corner
    for k in range(4):
        ax, ay = corners[k]
        bx, by = corners[(k + 1) % 4]
        ex, ey = bx - ax, by - ay
        length = math.hypot(ex, ey)
        nx, ny = ey / length, -ex / length  # outward normal (counter-clockwise ring)
        if k == cut:
            c = rng.uniform(0.12, 0.22) * small
            prev = corners[(k - 1) % 4]
            px, py = ax - prev[0], ay - prev[1]
            pl = math.hypot(px, py)
            pts.append((ax - px / pl * c, ay - py / pl * c))
            pts.append((ax + ex / length * c, ay + ey / length * c))
        else:
            j = rng.uniform(-0.03, 0.03, 2) * small
            pts.append((ax + j[0], ay + j[1]))
        m = int(rng.integers(1, 3))
        for t in np.sort(rng.uniform(0.25, 0.75, m)):
            off = rng.uniform(-0.06, 0.06) * small
            pts.append((ax + ex * t + nx * off, ay + ey * t + ny * off))
    poly = shapely.Polygon(pts)
    poly = affinity.rotate(poly, angle, origin=(0, 0))
    poly = affinity.translate(poly, cx, cy)
    scale = math.sqrt(area_m2 / poly.area)
    poly = affinity.scale(poly, scale, scale, origin=poly.centroid)
    return shapely.set_precision(poly, 0.0) if not poly.is_valid else poly


def _parks(table: pd.DataFrame) -> gpd.GeoDataFrame:
    xy = _project_points(table)
    geoms = [
        _park_polygon(x, y, float(r.listed_area_ha) * M2_PER_HA, float(r.aspect), float(r.angle_deg), r.park_id)
        for (x, y), r in zip(xy, table.itertuples(index=False), strict=True)
    ]
    return gpd.GeoDataFrame(
        {
            Col.PARK_ID: table["park_id"].astype(str).to_numpy(),
            Col.NAME: table["name"].astype(str).to_numpy(),
            Col.NAME_EN: table["name_en"].astype(str).to_numpy(),
            Col.DISTRICT: table["district"].astype(str).to_numpy(),
            Col.STATUS: table["status"].astype(str).to_numpy(),
            Col.LISTED_AREA_HA: table["listed_area_ha"].astype(float).to_numpy(),
            Col.DETAIL_PLAN_APPROVED: table["detail_plan_approved"].astype(bool).to_numpy(),
            Col.DEVELOPER: table["developer"].astype(object).where(table["developer"].notna(), None).to_numpy(),
        },
        geometry=geoms,
        crs=WORKING_CRS,
    )


def _check_parks(parks: gpd.GeoDataFrame, table: pd.DataFrame, province, river) -> None:
    """Raise if a park overlaps another, leaves the province or sits on the wrong bank."""
    banks = _bank_polygons(province, river)
    g = parks.geometry.to_numpy()
    for i in range(len(g)):
        pid = parks[Col.PARK_ID].iat[i]
        if not province.buffer(-50).contains(g[i]):
            raise RuntimeError(f"park {pid} is not inside the province outline (50 m margin)")
        if g[i].intersects(river.buffer(150)):
            raise RuntimeError(f"park {pid} touches the Đuống (150 m margin)")
        if not banks[table["bank"].iat[i]].contains(g[i]):
            raise RuntimeError(f"park {pid} is not on the {table['bank'].iat[i]} bank")
        for j in range(i + 1, len(g)):
            if g[i].buffer(50).intersects(g[j]):
                raise RuntimeError(f"parks {pid} and {parks[Col.PARK_ID].iat[j]} are closer than 50 m")


# --------------------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------------------
@dataclasses.dataclass
class _Piece:
    """A plot: the rectangle [u0,u1] x [v0,v1] of a park's rotated grid, clipped to the park."""

    park: str
    u0: float
    u1: float
    v0: float
    v1: float
    land_use: str
    order: float = 0.0
    block: int = -1
    anchor: str | None = None
    acquired_on: pd.Timestamp | None = None
    leased_on: pd.Timestamp | None = None
    lease_ended_on: pd.Timestamp | None = None
    tenant: str | None = None
    project_key: str | None = None
    no_record: bool = False
    geom: shapely.Geometry | None = None
    area_m2: float = 0.0


class _Grid:
    """A park's rotated frame: u along ``angle_deg``, v across, origin at the park centroid."""

    def __init__(self, park: shapely.Geometry, angle_deg: float) -> None:
        self.park = park
        shapely.prepare(park)
        self.c = np.array([park.centroid.x, park.centroid.y])
        self.u, self.v = _axes(angle_deg)
        xy = np.asarray(park.exterior.coords) - self.c
        self.U = xy @ self.u
        self.V = xy @ self.v

    def rect(self, u0: float, u1: float, v0: float, v1: float) -> shapely.Polygon:
        pts = [self.c + a * self.u + b * self.v for a, b in ((u0, v0), (u1, v0), (u1, v1), (u0, v1))]
        return shapely.Polygon(pts)

    def geom(self, p: _Piece) -> shapely.Geometry:
        r = self.rect(p.u0, p.u1, p.v0, p.v1)
        if self.park.contains(r):
            return r
        g = shapely.intersection(r, self.park)
        return _polygonal(g)

    def area(self, p: _Piece) -> float:
        return float(self.geom(p).area)


def _polygonal(g: shapely.Geometry) -> shapely.Geometry:
    """Keep only the polygonal parts of an intersection result."""
    if g.geom_type in ("Polygon", "MultiPolygon") or g.is_empty:
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > 0]
    return shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else shapely.Polygon())


def _split(grid: _Grid, p: _Piece, first_m2: float) -> tuple[_Piece, _Piece]:
    """Split ``p`` across its longer side so that the first part has exactly ``first_m2`` (bisection)."""
    along_u = (p.u1 - p.u0) >= (p.v1 - p.v0)
    lo, hi = (p.u0, p.u1) if along_u else (p.v0, p.v1)

    def part(t: float) -> _Piece:
        return dataclasses.replace(p, u1=t) if along_u else dataclasses.replace(p, v1=t)

    for _ in range(80):
        mid = (lo + hi) / 2
        if grid.area(part(mid)) < first_m2:
            lo = mid
        else:
            hi = mid
    t = (lo + hi) / 2
    a = part(t)
    b = dataclasses.replace(p, u0=t) if along_u else dataclasses.replace(p, v0=t)
    return a, b


def _take_exact(areas_ha: Sequence[float], target_ha: float, *, min_piece: float = MIN_PLOT_HA):
    """Choose whole items (in order) plus one item split, so that they sum to ``target_ha`` exactly.

    Returns ``(whole_positions, split_position, split_ha)``; both parts of the split item
    are at least ``min_piece`` ha. Items that cannot be used either way are skipped.
    """
    if abs(sum(areas_ha) - target_ha) < 1e-6:
        return list(range(len(areas_ha))), None, 0.0
    chosen: list[int] = []
    rest = float(target_ha)
    for i, a in enumerate(areas_ha):
        if a <= rest - min_piece:
            chosen.append(i)
            rest -= a
        elif a >= rest + min_piece and rest >= min_piece:
            return chosen, i, rest
    # no item could be split at the end: split one of the largest items instead, fill greedily around it
    for k in sorted(range(len(areas_ha)), key=lambda i: (-areas_ha[i], i))[:20]:
        chosen, rest = [], float(target_ha)
        for i, a in enumerate(areas_ha):
            if i != k and a <= rest - min_piece:
                chosen.append(i)
                rest -= a
        if min_piece <= rest <= areas_ha[k] - min_piece:
            return chosen, k, rest
    raise RuntimeError(f"cannot reach {target_ha:.4f} ha exactly from {len(areas_ha)} plots")


def _blocks(grid: _Grid, row: pd.Series) -> list[_Piece]:
    """Grid blocks (between roads) clipped to the park, in development order."""
    bu, bv, road = float(row.block_u_m), float(row.block_v_m), float(row.road_m)
    us = np.arange(grid.U.min() - 1.0, grid.U.max() + bu, bu)
    vs = np.arange(grid.V.min() - 1.0, grid.V.max() + bv, bv)
    out: list[_Piece] = []
    for i in range(len(us) - 1):
        for j in range(len(vs) - 1):
            p = _Piece(row.park_id, us[i] + road / 2, us[i + 1] - road / 2, vs[j] + road / 2, vs[j + 1] - road / 2, "")
            a = grid.area(p)
            if a <= 0:
                continue
            p.area_m2 = a
            p.order = (us[i] - grid.U.min()) + 0.8 * (vs[j] - grid.V.min())
            out.append(p)
    out.sort(key=lambda p: (p.order, p.u0, p.v0))
    for k, p in enumerate(out):
        p.block = k
    return out


def _subdivide(grid: _Grid, block: _Piece, rng: np.random.Generator) -> list[_Piece]:
    """Split an industrial block into plots of about 1.2-2.8 ha (blocks under 2.2 ha stay whole)."""
    a_ha = block.area_m2 / M2_PER_HA
    if a_ha < 2.2 or rng.random() < 0.05:
        return [block]
    n = max(1, min(20, round(a_ha / rng.uniform(1.2, 2.8))))
    if n == 1:
        return [block]
    along_u = (block.u1 - block.u0) >= (block.v1 - block.v0)
    lo, hi = (block.u0, block.u1) if along_u else (block.v0, block.v1)
    w = rng.dirichlet(np.full(n, 4.0))
    cuts = lo + np.cumsum(w)[:-1] * (hi - lo)
    edges = [lo, *cuts.tolist(), hi]
    parts = []
    for a, b in itertools.pairwise(edges):
        q = dataclasses.replace(block, u0=a, u1=b) if along_u else dataclasses.replace(block, v0=a, v1=b)
        q.area_m2 = grid.area(q)
        parts.append(q)
    # merge pieces under the minimum plot size into their neighbour
    merged: list[_Piece] = []
    for q in parts:
        if merged and (q.area_m2 < MIN_PLOT_HA * M2_PER_HA or merged[-1].area_m2 < MIN_PLOT_HA * M2_PER_HA):
            last = merged.pop()
            q = dataclasses.replace(last, u1=q.u1) if along_u else dataclasses.replace(last, v1=q.v1)
            q.area_m2 = grid.area(q)
        merged.append(q)
    return [q for q in merged if q.area_m2 > 0]


def _plots_for_park(
    row: pd.Series, park_geom: shapely.Geometry, anchors: pd.DataFrame
) -> tuple[list[_Piece], _Grid, shapely.Geometry]:
    """Tile one operating park: industrial plots hitting ``industrial_ha`` exactly, roads, green, services, reserve."""
    rng = _rng("plots", row.park_id)
    grid = _Grid(park_geom, float(row.angle_deg))
    blocks = _blocks(grid, row)
    full = (float(row.block_u_m) - float(row.road_m)) * (float(row.block_v_m) - float(row.road_m))
    target = float(row.industrial_ha) * M2_PER_HA

    eligible = [b for b in blocks if b.area_m2 >= max(2.5 * M2_PER_HA, 0.35 * full)]
    small = [b for b in blocks if b not in eligible]
    for b in small:
        b.land_use = LandUse.GREEN
    # services: the eligible block nearest the park centroid (parks over 150 ha)
    if park_geom.area > 150 * M2_PER_HA and len(eligible) > 4:
        svc = min(eligible, key=lambda b: grid.geom(b).centroid.distance(park_geom.centroid))
        svc.land_use = LandUse.SERVICES
        eligible.remove(svc)
    industrial: list[_Piece] = []
    total = 0.0
    for b in eligible:
        if total < target + 0.3 * M2_PER_HA:
            b.land_use = LandUse.INDUSTRIAL
            industrial.append(b)
            total += b.area_m2
        else:
            b.land_use = LandUse.OTHER  # reserve: later phases, not yet subdivided
    if total < target:
        raise RuntimeError(f"park {row.park_id}: only {total / M2_PER_HA:.1f} ha of blocks for {row.industrial_ha} ha")

    # anchors: carve their exact plots from early full blocks
    pieces: list[_Piece] = [b for b in blocks if b.land_use != LandUse.INDUSTRIAL]
    todo = list(industrial)
    for a in anchors.itertuples(index=False):
        each = float(a.land_ha) / int(a.n_plots) * M2_PER_HA
        for _ in range(int(a.n_plots)):
            host = next(b for b in todo if b.anchor is None and b.area_m2 >= each + MIN_PLOT_HA * M2_PER_HA)
            todo.remove(host)
            mine, rest = _split(grid, host, each)
            mine.anchor, mine.area_m2 = a.key, grid.area(mine)
            rest.area_m2 = grid.area(rest)
            todo.insert(0, rest)
            pieces.append(mine)
    # excess over the target becomes a green buffer strip carved from the largest industrial block
    excess = total - target
    host = max(todo, key=lambda b: b.area_m2)
    if host.area_m2 < excess + 2 * M2_PER_HA:  # pragma: no cover - guarded by the table
        raise RuntimeError(f"park {row.park_id}: no block can give up {excess / M2_PER_HA:.2f} ha")
    todo.remove(host)
    keep, strip = _split(grid, host, host.area_m2 - excess)
    strip.land_use, strip.area_m2 = LandUse.GREEN, grid.area(strip)
    keep.area_m2 = grid.area(keep)
    pieces.append(strip)
    todo.append(keep)
    for b in sorted(todo, key=lambda b: (b.order, b.u0, b.v0)):
        pieces.extend(_subdivide(grid, b, rng))

    covered = shapely.union_all([grid.geom(p) for p in pieces])
    roads = _polygonal(shapely.difference(park_geom, covered))
    return pieces, grid, roads


def _assign_dates(pieces: list[_Piece], grid: _Grid, row: pd.Series, anchors: pd.DataFrame) -> list[_Piece]:
    """Acquisition and lease dates for one park, hitting its acquired and leased hectares exactly."""
    rng = _rng("dates", row.park_id)
    start, end = pd.Timestamp(row.first_acquired), pd.Timestamp(row.last_acquired)
    anchor_dates = {a.key: a for a in anchors.itertuples(index=False)}

    def key(p: _Piece) -> tuple:
        a = anchor_dates.get(p.anchor) if p.anchor else None
        return (0 if a is not None else 1, pd.Timestamp(a.leased_on) if a is not None else start, p.order, p.u0, p.v0)

    ind = sorted([p for p in pieces if p.land_use == LandUse.INDUSTRIAL], key=key)
    other = [p for p in pieces if p.land_use != LandUse.INDUSTRIAL]

    # acquired: exact hectares
    areas = [p.area_m2 / M2_PER_HA for p in ind]
    whole, k, part = _take_exact(areas, float(row.acquired_ha))
    acquired = [ind[i] for i in whole]
    not_acquired = [p for i, p in enumerate(ind) if i not in set(whole) and i != k]
    if k is not None:
        a_piece, b_piece = _split(grid, ind[k], part * M2_PER_HA)
        acquired.append(a_piece)
        not_acquired.append(b_piece)
    acquired.sort(key=key)
    cum, total = 0.0, sum(grid.area(p) for p in acquired)
    for p in acquired:
        p.area_m2 = grid.area(p)
        cum += p.area_m2
        a = anchor_dates.get(p.anchor) if p.anchor else None
        if a is not None:
            p.acquired_on = max(_day(start), _day(pd.Timestamp(a.leased_on) - _days(rng.uniform(45, 120))))
        else:
            p.acquired_on = _lerp_date(start, end, (cum - p.area_m2 / 2) / total + rng.normal(0, 0.03))
    for p in not_acquired:
        p.area_m2 = grid.area(p)
        p.acquired_on = None

    # leased (on the report date): exact hectares, anchors first then by acquisition date
    acquired.sort(key=lambda p: (0 if p.anchor else 1, p.acquired_on, p.order, p.u0))
    whole, k, part = _take_exact([p.area_m2 / M2_PER_HA for p in acquired], float(row.leased_ha))
    leased = [acquired[i] for i in whole]
    vacant = [p for i, p in enumerate(acquired) if i not in set(whole) and i != k]
    if k is not None:
        a_piece, b_piece = _split(grid, acquired[k], part * M2_PER_HA)
        for q in (a_piece, b_piece):
            q.area_m2 = grid.area(q)
        leased.append(a_piece)
        vacant.append(b_piece)
    cutoff = REPORT_DATE - pd.Timedelta(days=6)
    for p in leased:
        a = anchor_dates.get(p.anchor) if p.anchor else None
        if a is not None:
            p.leased_on = _day(pd.Timestamp(a.leased_on))
        else:
            lag = _days(rng.uniform(60, 600))
            when = p.acquired_on + lag
            if when > cutoff:
                span = max((cutoff - p.acquired_on).days - 20, 1)
                when = p.acquired_on + _days(20 + rng.uniform(0, span))
            p.leased_on = _day(when)
    # non-industrial land: roads, green, services acquired with the first phase; reserve not yet
    for p in other:
        p.area_m2 = grid.area(p)
        p.acquired_on = None if p.land_use == LandUse.OTHER else _day(start + _days(rng.uniform(0, 200)))
    return leased + vacant + not_acquired + other


# --------------------------------------------------------------------------------------------------
# projects
# --------------------------------------------------------------------------------------------------
_VN_TRADES = ("Cơ khí", "Nhựa", "Bao bì", "Điện tử", "May mặc", "Thép", "Gỗ", "Thực phẩm", "Vật liệu", "In", "Hóa chất")
_VN_NAMES = (
    "An Phú Thịnh",
    "Minh Long Phát",
    "Hòa Bình Xanh",
    "Tân Thành Đạt",
    "Phú Cường Kinh Bắc",
    "Đại Việt Hưng",
    "Kim Sơn Bắc",
    "Hưng Thịnh Phát",
    "Việt Tiến Bắc Ninh",
    "Quang Minh Đông",
    "Thuận Thành Phát",
    "Bảo Long Tiên",
)
_FOREIGN = {
    "Hàn Quốc": (
        ("Daesan", "Hanbit", "Seoyoung", "Jinwoo", "Mirae", "Sungjin", "Dongbang", "Hyosan", "Woojin"),
        "Vina",
    ),
    "Nhật Bản": (("Aoyama", "Kitagawa", "Morishita", "Nakabayashi", "Shimoda", "Tsubame", "Hayase"), "Việt Nam"),
    "Đài Loan": (("Hong Yuan", "Da Cheng", "Jin Tai", "Fu Sheng", "Chang Lin"), "Việt Nam"),
    "Trung Quốc": (("Hua Xin", "Jia Rong", "Tian Yi", "Xin Hong"), "Việt Nam"),
    "Singapore": (("Lion Gate", "Marina Bay", "Sentosa"), "Việt Nam"),
    "Hồng Kông": (("Victoria Peak", "Kowloon Bay"), "Việt Nam"),
    "Malaysia": (("Selangor", "Penang Straits"), "Việt Nam"),
    "Hoa Kỳ": (("Great Lakes", "Pacific Crest"), "Việt Nam"),
    "Đức": (("Rheintal", "Schwarzwald"), "Việt Nam"),
}
_FOREIGN_TRADES = ("Electronics", "Precision", "Plastics", "Components", "Packaging", "Metal", "Optics", "Cable")
_COUNTRY_WEIGHTS = {
    "Việt Nam": 0.36,
    "Hàn Quốc": 0.24,
    "Nhật Bản": 0.11,
    "Đài Loan": 0.08,
    "Trung Quốc": 0.07,
    "Singapore": 0.04,
    "Hồng Kông": 0.03,
    "Malaysia": 0.02,
    "Hoa Kỳ": 0.03,
    "Đức": 0.02,
}


class _Investors:
    """Fictitious composite investor names per country, drawn without repetition (fixed lists)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.pools: dict[str, list[str]] = {}
        self.used: dict[str, int] = {}
        forms = ("Công ty TNHH", "Công ty CP")
        vn = [f"{f} {t} {n}" for f in forms for t in _VN_TRADES for n in _VN_NAMES]
        self.pools["Việt Nam"] = [vn[i] for i in rng.permutation(len(vn))]
        for country, (stems, suffix) in _FOREIGN.items():
            names = [f"Công ty TNHH {s} {t} {suffix}" for s in stems for t in _FOREIGN_TRADES]
            self.pools[country] = [names[i] for i in rng.permutation(len(names))]
        self.countries = list(_COUNTRY_WEIGHTS)
        w = np.array(list(_COUNTRY_WEIGHTS.values()))
        self.p = w / w.sum()

    def draw(self) -> tuple[str, str]:
        c = self.countries[int(self.rng.choice(len(self.countries), p=self.p))]
        k = self.used.get(c, 0)
        self.used[c] = k + 1
        pool = self.pools[c]
        name = pool[k % len(pool)] + ("" if k < len(pool) else f" {k // len(pool) + 1}")
        return name, c


def _exact_int_split(total: int, weights: np.ndarray, caps: np.ndarray | None = None) -> np.ndarray:
    """Integers proportional to ``weights`` summing to ``total`` (largest remainder), each <= caps."""
    w = np.asarray(weights, dtype=float)
    raw = w / w.sum() * total
    out = np.floor(raw).astype(np.int64)
    if caps is not None:
        out = np.minimum(out, caps)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while out.sum() < total:
        j = order[i % len(order)]
        if caps is None or out[j] < caps[j]:
            out[j] += 1
        i += 1
        if i > 10 * len(order) + total:  # pragma: no cover
            raise RuntimeError("cannot distribute integers within caps")
    return out


def _projects(plots: list[_Piece], anchors: pd.DataFrame, grids: dict[str, _Grid]) -> tuple[pd.DataFrame, list]:
    """Projects (527 valid, 68 revoked) tied to the leased plots; returns the frame and the updated plots."""
    rng = _rng("projects")
    investors = _Investors(rng)
    anchor_rows = {a.key: a for a in anchors.itertuples(index=False)}

    leased = [p for p in plots if p.land_use == LandUse.INDUSTRIAL and p.leased_on is not None]
    # tenants without a project record: exactly the leased land not covered by projects
    pool = sorted(
        [p for p in leased if p.anchor is None and p.park in ("TS", "QV", "DDHS", "QVMR", "HNK")],
        key=lambda p: (p.leased_on, p.park, p.u0, p.v0),
    )
    pool = [pool[i] for i in _rng("no-record").permutation(len(pool))]
    leased_total = sum(p.area_m2 for p in leased) / M2_PER_HA
    whole, k, part = _take_exact([p.area_m2 / M2_PER_HA for p in pool], leased_total - PROJECT_LEASED_HA)
    host = pool[k]
    a_piece, b_piece = _split(grids[host.park], host, part * M2_PER_HA)
    for q in (a_piece, b_piece):
        q.area_m2 = grids[q.park].area(q)
    plots = [p for p in plots if p is not host] + [a_piece, b_piece]
    for p in [pool[i] for i in whole] + [a_piece]:
        p.no_record, p.tenant = True, NO_RECORD_TENANT

    rows: list[dict] = []
    # anchors
    for key, a in anchor_rows.items():
        rows.append(
            {
                "key": key,
                Col.INVESTOR: a.investor,
                Col.COUNTRY: a.country,
                Col.REGISTERED_CAPITAL_USD: float(a.registered_capital_usd),
                Col.LICENSED_ON: pd.Timestamp(a.licensed_on),
                Col.OPERATING_SINCE: pd.Timestamp(a.operating_since) if isinstance(a.operating_since, str) else None,
                Col.REVOKED_ON: None,
                "anchor": True,
                "workers_fixed": int(a.workers),
                "local_share": a.local_share,
                "female_share": a.female_share,
                "land_m2": 0.0,
            }
        )
    by_key = {r["key"]: r for r in rows}
    for p in plots:
        if p.anchor:
            p.project_key, p.tenant = p.anchor, anchor_rows[p.anchor].investor
            by_key[p.anchor]["land_m2"] += p.area_m2

    # one project per remaining leased plot (a few hold two neighbouring plots)
    project_plots = sorted(
        [p for p in plots if p.leased_on is not None and p.anchor is None and not p.no_record],
        key=lambda p: (p.park, p.block, p.u0, p.v0),
    )
    # one project per plot; neighbouring plots of a block merge into one project until
    # LAND_PROJECTS projects hold land (the other valid projects rent ready-built factories)
    groups: list[list[_Piece]] = [[p] for p in project_plots]
    excess = len(groups) + len(anchor_rows) - LAND_PROJECTS
    for i in rng.permutation(max(len(groups) - 1, 0)):
        if excess <= 0:
            break
        a, b = groups[i], groups[i + 1]
        if a and b and a[0].park == b[0].park and a[0].block == b[0].block and len(a) + len(b) <= 3:
            groups[i + 1] = a + b
            groups[i] = []
            excess -= 1
    groups = [g for g in groups if g]
    n_land = len(groups) + len(anchor_rows)
    if n_land > VALID_PROJECTS:  # pragma: no cover - guarded by plot sizes
        raise RuntimeError(f"{n_land} land-holding projects exceed {VALID_PROJECTS}")
    for g in groups:
        name, country = investors.draw()
        first = min(q.leased_on for q in g if q.leased_on is not None)
        lic = max(_day(first - _days(rng.uniform(0, 150))), pd.Timestamp("2000-06-01"))
        key = f"L{len(rows):04d}"
        rows.append(
            {
                "key": key,
                Col.INVESTOR: name,
                Col.COUNTRY: country,
                Col.LICENSED_ON: lic,
                Col.REVOKED_ON: None,
                "anchor": False,
                "land_m2": sum(q.area_m2 for q in g),
            }
        )
        for q in g:
            q.project_key, q.tenant = key, name
            q.leased_on = max(q.leased_on, lic)
    # valid projects without land of their own (ready-built factories, offices)
    for _ in range(VALID_PROJECTS - n_land):
        name, country = investors.draw()
        lic = _day(pd.Timestamp("2006-01-01") + _days(rng.uniform(0, 2150)))
        rows.append(
            {
                "key": f"N{len(rows):04d}",
                Col.INVESTOR: name,
                Col.COUNTRY: country,
                Col.LICENSED_ON: lic,
                Col.REVOKED_ON: None,
                "anchor": False,
                "land_m2": 0.0,
            }
        )
    # revoked projects: 40 of them leased vacant acquired plots, the lease ended on revocation
    vacant = sorted(
        [
            p
            for p in plots
            if p.land_use == LandUse.INDUSTRIAL
            and p.acquired_on is not None
            and p.leased_on is None
            and p.area_m2 <= 10 * M2_PER_HA
            and p.acquired_on < pd.Timestamp("2011-01-01")
        ],
        key=lambda p: (p.acquired_on, p.park, p.u0, p.v0),
    )
    chosen = [vacant[i] for i in sorted(_rng("revoked").permutation(len(vacant))[:REVOKED_WITH_LAND])]
    if len(chosen) < REVOKED_WITH_LAND:  # pragma: no cover
        raise RuntimeError(f"only {len(chosen)} vacant plots for revoked projects")
    for r in range(REVOKED_PROJECTS):
        name, country = investors.draw()
        key = f"R{len(rows):04d}"
        if r < REVOKED_WITH_LAND:
            p = chosen[r]
            lease = _day(p.acquired_on + _days(rng.uniform(60, 300)))
            lic = _day(lease - _days(rng.uniform(0, 120)))
            revoked = _day(min(lease + _days(rng.uniform(400, 1500)), REPORT_DATE - pd.Timedelta(days=20)))
            p.leased_on, p.lease_ended_on, p.tenant, p.project_key = lease, revoked, name, key
        else:
            lic = _day(pd.Timestamp("2004-01-01") + _days(rng.uniform(0, 2000)))
            revoked = _day(min(lic + _days(rng.uniform(420, 1600)), REPORT_DATE - pd.Timedelta(days=20)))
        rows.append(
            {
                "key": key,
                Col.INVESTOR: name,
                Col.COUNTRY: country,
                Col.LICENSED_ON: lic,
                Col.REVOKED_ON: revoked,
                "anchor": False,
                "land_m2": 0.0,
            }
        )

    frame = pd.DataFrame(rows)
    valid = frame[Col.REVOKED_ON].isna()
    anchor = frame["anchor"].astype(bool)

    # capital: anchors as cited, the rest lognormal weighted by land, summing to exactly 4.1 bn USD
    w = np.exp(rng.normal(0.0, 0.9, len(frame))) * (1.0 + np.sqrt(frame["land_m2"].to_numpy() / M2_PER_HA))
    cap = np.where(anchor, frame[Col.REGISTERED_CAPITAL_USD].fillna(0.0), 0.0)
    free = (valid & ~anchor).to_numpy()
    remaining = CAPITAL_USD - cap[valid.to_numpy()].sum()
    vals = np.round(w[free] / w[free].sum() * remaining / 1000.0) * 1000.0
    vals[np.argmax(vals)] += remaining - vals.sum()
    cap[free] = vals
    rev = (~valid).to_numpy()
    cap[rev] = np.round(np.exp(rng.normal(14.8, 0.8, int(rev.sum()))) / 1000.0) * 1000.0
    frame[Col.REGISTERED_CAPITAL_USD] = cap

    # operating: anchors as cited, then the earliest-built valid projects up to 263
    op = frame[Col.OPERATING_SINCE] if Col.OPERATING_SINCE in frame else pd.Series([None] * len(frame))
    frame[Col.OPERATING_SINCE] = op.where(anchor, None)
    n_anchor_op = int((anchor & frame[Col.OPERATING_SINCE].notna()).sum())
    build = np.array([_days(x) for x in rng.uniform(240, 900, len(frame))])
    ready = pd.to_datetime(frame[Col.LICENSED_ON]) + pd.to_timedelta(build)
    cand = frame.index[valid & ~anchor]
    order = sorted(cand, key=lambda i: (ready[i], frame.at[i, "key"]))
    pick = order[: OPERATING_PROJECTS - n_anchor_op]
    for i in pick:
        when = min(ready[i], REPORT_DATE - pd.Timedelta(days=10))
        when = max(when, frame.at[i, Col.LICENSED_ON] + pd.Timedelta(days=90))
        frame.at[i, Col.OPERATING_SINCE] = _day(when)

    # workforce on the report date: operating valid projects only, exact totals
    is_op = (valid & frame[Col.OPERATING_SINCE].notna()).to_numpy()
    fixed = np.where(anchor & is_op, frame.get("workers_fixed", 0).fillna(0), 0).astype(np.int64)
    free_op = is_op & ~anchor.to_numpy()
    wk = np.zeros(len(frame), dtype=np.int64)
    wk[anchor.to_numpy() & is_op] = fixed[anchor.to_numpy() & is_op]
    weights = np.sqrt(cap[free_op] / 1e6 + 0.5) * np.exp(rng.normal(0, 0.5, int(free_op.sum())))
    wk[free_op] = _exact_int_split(WORKERS - int(wk.sum()), weights) + 0
    wk[free_op] = np.maximum(wk[free_op], 0)
    frame[Col.WORKERS] = wk

    def shares(target: int, col: str, mean: float) -> np.ndarray:
        s = np.where(
            anchor & is_op,
            frame[col].astype(float).fillna(mean),
            np.clip(rng.normal(mean, 0.12, len(frame)), 0.05, 0.95),
        )
        base = np.floor(wk * s).astype(np.int64)
        base[~is_op] = 0
        diff = target - int(base.sum())
        free_ix = np.flatnonzero(free_op)
        if diff >= 0:
            add = _exact_int_split(diff, np.maximum(wk[free_ix] - base[free_ix], 0) + 1e-9, wk[free_ix] - base[free_ix])
            base[free_ix] += add
        else:
            sub = _exact_int_split(-diff, base[free_ix] + 1e-9, base[free_ix])
            base[free_ix] -= sub
        return base

    frame[Col.LOCAL_WORKERS] = shares(LOCAL_WORKERS, "local_share", LOCAL_WORKERS / WORKERS)
    frame[Col.FEMALE_WORKERS] = shares(FEMALE_WORKERS, "female_share", FEMALE_WORKERS / WORKERS)

    # stable public ids: by licence date, then key
    frame = frame.sort_values([Col.LICENSED_ON, "key"], kind="stable").reset_index(drop=True)
    frame[Col.PROJECT_ID] = [f"DA{i + 1:04d}" for i in range(len(frame))]
    ids = dict(zip(frame["key"], frame[Col.PROJECT_ID], strict=True))
    for p in plots:
        if p.project_key is not None:
            p.project_key = ids[p.project_key]
    out = pd.DataFrame(
        {
            Col.PROJECT_ID: frame[Col.PROJECT_ID].astype(str),
            Col.INVESTOR: frame[Col.INVESTOR].astype(str),
            Col.COUNTRY: frame[Col.COUNTRY].astype(str),
            Col.REGISTERED_CAPITAL_USD: frame[Col.REGISTERED_CAPITAL_USD].astype(float),
            Col.LICENSED_ON: pd.to_datetime(frame[Col.LICENSED_ON]),
            Col.OPERATING_SINCE: pd.to_datetime(frame[Col.OPERATING_SINCE]),
            Col.REVOKED_ON: pd.to_datetime(frame[Col.REVOKED_ON]),
            Col.WORKERS: pd.array(frame[Col.WORKERS].to_numpy(), dtype="Int64"),
            Col.LOCAL_WORKERS: pd.array(frame[Col.LOCAL_WORKERS].to_numpy(), dtype="Int64"),
            Col.FEMALE_WORKERS: pd.array(frame[Col.FEMALE_WORKERS].to_numpy(), dtype="Int64"),
        }
    )
    return out, plots


def _plots_frame(all_pieces: list[_Piece], grids: dict[str, _Grid], roads: dict[str, shapely.Geometry]):
    order = {k: i for i, k in enumerate(grids)}
    pieces = sorted(all_pieces, key=lambda p: (order[p.park], p.block, p.u0, p.v0, p.u1, p.v1))
    rows, geoms = [], []
    counter: dict[str, int] = {}
    for p in pieces:
        counter[p.park] = counter.get(p.park, 0) + 1
        rows.append(
            {
                Col.PLOT_ID: f"{p.park}-{counter[p.park]:03d}",
                Col.PARK_ID: p.park,
                Col.LAND_USE: str(p.land_use),
                Col.ACQUIRED_ON: p.acquired_on,
                Col.LEASED_ON: p.leased_on,
                Col.LEASE_ENDED_ON: p.lease_ended_on,
                Col.TENANT: p.tenant,
                Col.PROJECT_ID: p.project_key,
            }
        )
        geoms.append(grids[p.park].geom(p))
    for park, g in roads.items():
        rows.append(
            {
                Col.PLOT_ID: f"{park}-GT",
                Col.PARK_ID: park,
                Col.LAND_USE: str(LandUse.INFRASTRUCTURE),
                Col.ACQUIRED_ON: min(p.acquired_on for p in all_pieces if p.park == park and p.acquired_on is not None),
                Col.LEASED_ON: None,
                Col.LEASE_ENDED_ON: None,
                Col.TENANT: None,
                Col.PROJECT_ID: None,
            }
        )
        geoms.append(g)
    frame = gpd.GeoDataFrame(pd.DataFrame(rows), geometry=geoms, crs=WORKING_CRS)
    for c in (Col.ACQUIRED_ON, Col.LEASED_ON, Col.LEASE_ENDED_ON):
        frame[c] = pd.to_datetime(frame[c])
    for c in (Col.TENANT, Col.PROJECT_ID):
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return frame


# --------------------------------------------------------------------------------------------------
# parcels and clearance events
# --------------------------------------------------------------------------------------------------
_GIVEN = (
    "An", "Bình", "Cúc", "Dũng", "Đào", "Giang", "Hà", "Hải", "Hạnh", "Hòa", "Hùng", "Hương", "Khánh", "Lan",
    "Liên", "Linh", "Long", "Mai", "Minh", "Nga", "Ngọc", "Nhung", "Phong", "Phúc", "Phương", "Quang", "Quế",
    "Sơn", "Tâm", "Thắng", "Thanh", "Thảo", "Thu", "Thủy", "Tiến", "Trang", "Trung", "Tuấn", "Vân", "Yến",
)  # fmt: skip
_PLAN_TEXT = {
    Event.NOTIFIED: "Thông báo thu hồi đất (mô phỏng)",
    Event.INVENTORIED: "Kiểm đếm hiện trạng đất, tài sản (mô phỏng)",
    Event.PLAN_APPROVED: "Phê duyệt phương án bồi thường, hỗ trợ (mô phỏng)",
    Event.COMPENSATED: "Chi trả tiền bồi thường (mô phỏng)",
    Event.HANDED_OVER: "Bàn giao mặt bằng (mô phỏng)",
    Event.COMPLAINT: "Khiếu nại về đơn giá bồi thường (mô phỏng)",
    Event.COMPLAINT_RESOLVED: "Giải quyết khiếu nại (mô phỏng)",
}


def _parcels_for_park(row: pd.Series, park_geom: shapely.Geometry, communes: pd.DataFrame) -> gpd.GeoDataFrame:
    """Cadastral-style parcels tiling one park: field strips (mostly 200-2,000 m²) plus canals and paths."""
    rng = _rng("parcels", row.park_id)
    grid = _Grid(park_geom, float(row.angle_deg) + 90.0)
    cell_u, cell_v, ditch = 200.0, 170.0, 6.0
    us = np.arange(grid.U.min() - 1.0, grid.U.max() + cell_u, cell_u)
    vs = np.arange(grid.V.min() - 1.0, grid.V.max() + cell_v, cell_v)
    strips: list[tuple[float, float, float, float, int]] = []
    row_id = 0
    for i in range(len(us) - 1):
        for j in range(len(vs) - 1):
            u0, u1 = us[i] + ditch / 2, us[i + 1] - ditch / 2
            v0, v1 = vs[j] + ditch / 2, vs[j + 1] - ditch / 2
            vm = (v0 + v1) / 2 + rng.uniform(-12, 12)
            for a, b in ((v0, vm), (vm, v1)):
                row_id += 1
                t = u0
                while t < u1 - 1e-6:
                    width = float(np.clip(np.exp(rng.normal(math.log(17.0), 0.38)), 7.0, 45.0))
                    nxt = min(t + width, u1)
                    if u1 - nxt < 6.0:
                        nxt = u1
                    strips.append((t, nxt, a, b, row_id))
                    t = nxt
    arr = np.array([s[:4] for s in strips])
    corners = np.stack(
        [
            grid.c + np.outer(arr[:, 0], grid.u) + np.outer(arr[:, 2], grid.v),
            grid.c + np.outer(arr[:, 1], grid.u) + np.outer(arr[:, 2], grid.v),
            grid.c + np.outer(arr[:, 1], grid.u) + np.outer(arr[:, 3], grid.v),
            grid.c + np.outer(arr[:, 0], grid.u) + np.outer(arr[:, 3], grid.v),
        ],
        axis=1,
    )
    rects = shapely.polygons(corners)
    inside = shapely.contains(park_geom, rects)
    geoms = rects.copy()
    edge = ~inside & shapely.intersects(park_geom, rects)
    geoms[edge] = [_polygonal(g) for g in shapely.intersection(rects[edge], park_geom)]
    keep = inside | edge
    keep &= ~shapely.is_empty(geoms)
    rows = np.array([s[4] for s in strips])[keep]
    geoms = geoms[keep]
    # merge slivers (< 150 m²) into the previous strip of the same row
    merged_g: list[shapely.Geometry] = []
    merged_r: list[int] = []
    for g, r in zip(geoms, rows, strict=True):
        if merged_g and merged_r[-1] == r and (g.area < 150.0 or merged_g[-1].area < 150.0):
            merged_g[-1] = _polygonal(shapely.union(merged_g[-1], g))
        else:
            merged_g.append(g)
            merged_r.append(int(r))
    fields = [g for g in merged_g if g.area >= 20.0]
    network = _polygonal(shapely.difference(park_geom, shapely.union_all(fields)))
    # canals and field paths: cut the network into pieces by a coarse 600 m grid
    net_parts = []
    x0, y0, x1, y1 = park_geom.bounds
    for gx in np.arange(x0, x1, 600.0):
        for gy in np.arange(y0, y1, 600.0):
            piece = _polygonal(shapely.intersection(network, shapely.box(gx, gy, gx + 600.0, gy + 600.0)))
            if not piece.is_empty and piece.area > 1.0:
                net_parts.append(piece)

    n_f = len(fields)
    land = np.full(n_f, "LUC", dtype=object)
    holder = np.full(n_f, str(HolderType.HOUSEHOLD), dtype=object)
    cent = shapely.centroid(np.array(fields, dtype=object))
    near_edge = shapely.distance(park_geom.boundary, cent) < 80.0
    rnd = rng.random(n_f)
    land[rnd < 0.05] = "BHK"
    land[(rnd >= 0.05) & (rnd < 0.07)] = "NTS"
    land[near_edge & (rng.random(n_f) < 0.25)] = "ONT"
    cem = rng.choice(n_f, size=2, replace=False)
    land[cem] = "NTD"
    holder[cem] = str(HolderType.STATE)
    pub = (land == "LUC") & (rng.random(n_f) < 0.05)
    holder[pub] = str(HolderType.STATE)
    coop = (land == "NTS") & (rng.random(n_f) < 0.3)
    holder[coop] = str(HolderType.ORGANIZATION)

    all_geoms = fields + net_parts
    all_land = list(land) + ["DTL" if k % 2 == 0 else "DGT" for k in range(len(net_parts))]
    all_holder = list(holder) + [str(HolderType.STATE)] * len(net_parts)

    # communes: nearest commune centre
    cxy = _project_points(communes)
    pts = shapely.centroid(np.array(all_geoms, dtype=object))
    px, py = shapely.get_x(pts), shapely.get_y(pts)
    d = (px[:, None] - cxy[None, :, 0]) ** 2 + (py[:, None] - cxy[None, :, 1]) ** 2
    ci = np.argmin(d, axis=1)
    com_name = communes["commune"].to_numpy()[ci]
    com_code = communes["code"].to_numpy()[ci]
    # map sheets: 500 m x 400 m cells per commune, numbered north to south, west to east
    col = np.floor((px - x0) / 500.0).astype(int)
    rowi = np.floor((y1 - py) / 400.0).astype(int)
    frame = pd.DataFrame({"ci": ci, "row": rowi, "col": col, "x": px, "y": py})
    sheet = np.zeros(len(frame), dtype=int)
    for c in np.unique(ci):
        m = frame["ci"].to_numpy() == c
        cells = sorted(set(zip(rowi[m], col[m], strict=True)))
        num = {cell: k + 1 for k, cell in enumerate(cells)}
        sheet[m] = [num[(r, q)] for r, q in zip(rowi[m], col[m], strict=True)]
    frame["sheet"] = sheet
    frame = frame.sort_values(["ci", "sheet", "y", "x"], ascending=[True, True, False, True], kind="stable")
    frame["no"] = frame.groupby(["ci", "sheet"]).cumcount() + 1
    order = frame.index.to_numpy()

    # holders: households own several parcels each (clearly fictitious names)
    names = []
    hh_count: dict[str, int] = {}
    for i in order:
        code = com_code[i]
        if all_holder[i] == str(HolderType.HOUSEHOLD):
            k = hh_count.get(code, 0)
            hh_count[code] = k + 1
            h = int(rng.integers(0, max(1, hh_count[code] // 3 + 1)))
            names.append(f"Hộ Giả Định {_GIVEN[h % len(_GIVEN)]} {code}-{h // len(_GIVEN) + 1:02d}")
        elif all_holder[i] == str(HolderType.ORGANIZATION):
            names.append(f"Hợp tác xã nông nghiệp {com_name[i].removeprefix('Xã ')} (mô phỏng)")
        else:
            names.append(f"UBND {com_name[i].lower().replace('xã ', 'xã ', 1)} quản lý")
    g_sorted = [all_geoms[i] for i in order]
    areas = shapely.area(np.array(g_sorted, dtype=object))
    legal = np.round(areas * (1.0 + rng.normal(0.0, 0.015, len(order))), 1)
    out = gpd.GeoDataFrame(
        {
            Col.PARCEL_ID: [
                f"{row.park_id}-{com_code[i]}-{s:02d}-{n:04d}"
                for i, s, n in zip(order, frame["sheet"], frame["no"], strict=True)
            ],
            Col.PARK_ID: row.park_id,
            Col.COMMUNE: com_name[order],
            Col.MAP_SHEET: [str(s) for s in frame["sheet"]],
            Col.PARCEL_NO: [str(n) for n in frame["no"]],
            Col.LAND_TYPE: [all_land[i] for i in order],
            Col.HOLDER_TYPE: [all_holder[i] for i in order],
            Col.HOLDER_NAME: names,
            Col.LEGAL_AREA_M2: legal,
        },
        geometry=g_sorted,
        crs=WORKING_CRS,
    )
    return out


#: Share of parcels that reached each stage (last stage reached) on 2011-12-26, per park (modelled).
_PROGRESS = {
    "TT2": {
        Event.HANDED_OVER: 0.44,
        Event.COMPENSATED: 0.12,
        Event.PLAN_APPROVED: 0.13,
        Event.INVENTORIED: 0.13,
        Event.NOTIFIED: 0.14,
    },
    "YP2": {Event.INVENTORIED: 0.07, Event.NOTIFIED: 0.22},
    "GB": {Event.INVENTORIED: 0.03, Event.NOTIFIED: 0.15},
}


def _events_for_park(parcels: gpd.GeoDataFrame, communes: pd.DataFrame, park: str) -> pd.DataFrame:
    """A dated clearance history per parcel up to the report date (slow clearance, modelled)."""
    rng = _rng("events", park)
    stages = list(_PROGRESS[park])  # highest first
    n = len(parcels)
    notified_on = {
        r.commune: pd.Timestamp(r.notified_on)
        for r in communes.itertuples(index=False)
        if isinstance(r.notified_on, str)
    }
    com = parcels[Col.COMMUNE].to_numpy()
    sheet_key = parcels[Col.COMMUNE].astype(str) + "/" + parcels[Col.MAP_SHEET].astype(str)
    sheet_factor = {k: rng.random() for k in sorted(sheet_key.unique())}
    score = np.array([sheet_factor[k] for k in sheet_key]) + rng.normal(0, 0.25, n)
    eligible = np.array([c in notified_on for c in com])
    score[~eligible] = -np.inf
    rank = np.argsort(-score, kind="stable")
    level = np.full(n, -1)  # index into STAGES order: 0 notified .. 4 handed_over
    from kcn_gis.schema import STAGES

    pos = 0
    for st in stages:
        cnt = round(_PROGRESS[park][st] * n)
        take = [i for i in rank[pos : pos + cnt] if eligible[i]]
        level[take] = STAGES.index(st)
        pos += cnt
    events: list[dict] = []
    sheet_delay = {k: rng.uniform(0, 1) for k in sheet_factor}
    cutoff = REPORT_DATE - pd.Timedelta(days=1)
    decision_no = {"notified": 100 + int(rng.integers(0, 50)), "plan": 400 + int(rng.integers(0, 80))}
    plan_batches: dict[str, pd.Timestamp] = {}
    ids = parcels[Col.PARCEL_ID].to_numpy()
    complaint_rate = 0.05 if park == "TT2" else 0.004
    for i in range(n):
        if level[i] < 0:
            continue
        sk = sheet_key.iat[i]
        d0 = notified_on[com[i]]
        dates = [d0]
        fac = sheet_delay[sk]
        if park == "TT2":
            inv = d0 + _days(30 + 250 * fac + rng.uniform(0, 40))
            if sk not in plan_batches:
                plan_batches[sk] = d0 + _days(230 + 260 * fac + rng.uniform(0, 30))
            plan = max(plan_batches[sk], inv + _days(20))
            comp = plan + _days(rng.uniform(20, 110))
            hand = comp + _days(rng.uniform(7, 60))
            seq = [inv, plan, comp, hand]
        else:
            seq = [d0 + _days(25 + 40 * fac + rng.uniform(0, 15))]
        for k in range(1, level[i] + 1):
            dates.append(min(_day(seq[k - 1]), cutoff))
        dates = [_day(x) for x in np.maximum.accumulate(np.array(dates, dtype="datetime64[ns]"))]
        for k, d in enumerate(dates):
            st = STAGES[k]
            ref = {
                Event.NOTIFIED: f"{decision_no['notified'] + list(notified_on).index(com[i])}/TB-UBND",
                Event.INVENTORIED: f"BB-KĐ {ids[i]}",
                Event.PLAN_APPROVED: f"{decision_no['plan'] + sorted(plan_batches).index(sk) if sk in plan_batches else decision_no['plan']}/QĐ-UBND",
                Event.COMPENSATED: f"PC-{d.year}-{i + 1:05d}",
                Event.HANDED_OVER: f"BB-BGMB {ids[i]}",
            }[st]
            events.append({"parcel": ids[i], "event": st, "date": d, "reference": ref, "note": _PLAN_TEXT[st]})
        # complaints: open ones stall the parcel, resolved ones happened before payment
        if level[i] >= 1 and rng.random() < complaint_rate * (3 if level[i] == 2 else 1):
            base = dates[min(level[i], 2)]
            c_date = min(_day(base + _days(rng.uniform(10, 60))), cutoff)
            events.append(
                {
                    "parcel": ids[i],
                    "event": Event.COMPLAINT,
                    "date": c_date,
                    "reference": f"Đơn KN {ids[i]}",
                    "note": _PLAN_TEXT[Event.COMPLAINT],
                }
            )
            if level[i] >= 3:
                r_date = min(max(c_date + _days(rng.uniform(15, 60)), c_date), dates[3])
                events.append(
                    {
                        "parcel": ids[i],
                        "event": Event.COMPLAINT_RESOLVED,
                        "date": max(r_date, c_date),
                        "reference": f"{700 + i % 97}/QĐ-GQKN",
                        "note": _PLAN_TEXT[Event.COMPLAINT_RESOLVED],
                    }
                )
    return pd.DataFrame(events)


def _events_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    ev = pd.concat([p for p in parts if len(p)], ignore_index=True)
    order_of = {str(e): k for k, e in enumerate(Event)}
    ev["rank"] = ev["event"].map(lambda e: order_of[str(e)])
    ev = ev.sort_values(["date", "parcel", "rank"], kind="stable").reset_index(drop=True)
    rng = _rng("recorded-at")
    lag = rng.integers(0, 4, len(ev))
    hour = rng.integers(1, 10, len(ev))
    minute = rng.integers(0, 60, len(ev))
    recorded = (
        pd.to_datetime(ev["date"])
        + pd.to_timedelta(lag, unit="D")
        + pd.to_timedelta(hour, unit="h")
        + pd.to_timedelta(minute, unit="min")
    )
    recorded = recorded.where(recorded < REPORT_DATE + pd.Timedelta(hours=9), REPORT_DATE + pd.Timedelta(hours=8))
    return pd.DataFrame(
        {
            Col.EVENT_ID: [f"SK{i + 1:06d}" for i in range(len(ev))],
            Col.PARCEL_ID: ev["parcel"].astype(str),
            Col.EVENT: ev["event"].map(str),
            Col.EVENT_DATE: pd.to_datetime(ev["date"]),
            Col.REFERENCE: ev["reference"].astype(str),
            Col.NOTE: ev["note"].astype(str),
            Col.RECORDED_AT: recorded.astype("datetime64[ms]"),
            Col.RECORDED_BY: RECORDED_BY,
            Col.CORRECTS_EVENT_ID: pd.Series([None] * len(ev), dtype=object),
        }
    )


# --------------------------------------------------------------------------------------------------
# around the parks: facilities and the enterprises' 2011 reports (schema version 2)
# --------------------------------------------------------------------------------------------------
#: Worker housing in the report (B.I.1.3): 6 projects, 115,733 m² of floor area, about 16,512 workers housed.
HOUSING_PROJECTS, HOUSING_FLOOR_M2, HOUSING_BEDS = 6, 115_733.0, 16_512
REPORT_PERIOD = "2011"


def _facilities(parks: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The facilities of ``facilities_2011.csv`` (housing cited in total, plants modelled), in EPSG:9209."""
    table = pd.read_csv(HERE / "facilities_2011.csv", dtype={"park_id": str})
    housing = table[table["kind"] == "worker_housing"]
    if (
        len(housing) != HOUSING_PROJECTS
        or housing["floor_area_m2"].sum() != HOUSING_FLOOR_M2
        or housing["capacity"].sum() != HOUSING_BEDS
    ):  # pragma: no cover - guarded by the committed table
        raise RuntimeError("facilities_2011.csv does not reproduce the report's worker housing")
    xy = _project_points(table)
    geom = gpd.points_from_xy(xy[:, 0], xy[:, 1], crs=WORKING_CRS)
    parks_g = dict(zip(parks[Col.PARK_ID], parks.geometry, strict=True))
    for g, pid in zip(geom, table["park_id"], strict=True):
        if g.distance(parks_g[pid]) > 3000.0:  # pragma: no cover - guarded by the committed table
            raise RuntimeError(f"facility of park {pid} is {g.distance(parks_g[pid]):.0f} m from its park")

    def opt_date(col: str) -> pd.Series:
        return pd.to_datetime(table[col]).astype("datetime64[ms]")

    return gpd.GeoDataFrame(
        {
            Col.FACILITY_ID: table["facility_id"].astype(str),
            Col.KIND: table["kind"].astype(str),
            Col.NAME: table["name"].astype(str),
            Col.NAME_EN: table["name_en"].astype(str),
            Col.PARK_ID: table["park_id"].astype(str),
            Col.CAPACITY: table["capacity"].astype(float),
            Col.CAPACITY_UNIT: table["capacity_unit"].astype(str),
            Col.FLOOR_AREA_M2: table["floor_area_m2"].astype(float),
            Col.STATUS: table["status"].astype(str),
            Col.PLANNED_ON: opt_date("planned_on"),
            Col.CONSTRUCTION_ON: opt_date("construction_on"),
            Col.COMMISSIONED_ON: opt_date("commissioned_on"),
        },
        geometry=geom,
        crs=WORKING_CRS,
    )


def _paired_incomes(workers: np.ndarray, rng: np.random.Generator, mean_k: int) -> np.ndarray:
    """Incomes in thousand VND whose worker-weighted mean is exactly ``mean_k``: pairs move in opposite ways."""
    x = np.full(len(workers), mean_k, dtype=np.int64)
    order = rng.permutation(len(workers))
    for a, b in zip(order[0::2], order[1::2], strict=False):
        wa, wb = int(workers[a]), int(workers[b])
        if wa <= 0 or wb <= 0:
            continue
        g = math.gcd(wa, wb)
        step_a, step_b = wb // g, wa // g  # wa * step_a == wb * step_b
        k = int(rng.integers(1, 4))
        if max(step_a, step_b) * k <= 700:
            x[a] += k * step_a
            x[b] -= k * step_b
    return x


def _enterprise_reports(projects: pd.DataFrame, anchors: pd.DataFrame) -> pd.DataFrame:
    """The 2011 annual reports: filers' sums are exactly the report's figures (``reporting_2011.csv``).

    Due: projects valid at the end of 2011 and operating by then. A modelled share does not
    file (never a named tenant); their figures are in no total. Workers are each filer's
    register figure; output, exports and budget are split over the filers in whole units.
    """
    facts = pd.read_csv(HERE / "reporting_2011.csv").set_index("figure")["value"].astype(float)
    rng = _rng("enterprise-reports")
    end = pd.Timestamp("2011-12-31")
    op = pd.to_datetime(projects[Col.OPERATING_SINCE])
    rev = pd.to_datetime(projects[Col.REVOKED_ON])
    due = (op.notna() & (op <= end) & (rev.isna() | (rev > end))).to_numpy()
    anchor_names = set(anchors["investor"])
    is_anchor = projects[Col.INVESTOR].isin(anchor_names).to_numpy()
    cand = np.flatnonzero(due & ~is_anchor)
    n_missing = round(float(facts["non_filer_share"]) * int(due.sum()))
    missing = set(cand[rng.permutation(len(cand))[:n_missing]].tolist())
    filers = np.array([i for i in np.flatnonzero(due) if i not in missing])
    wk = projects[Col.WORKERS].fillna(0).to_numpy(dtype=np.int64)[filers]
    size = np.sqrt(wk + 20.0) * np.exp(rng.normal(0.0, 0.6, len(filers)))
    output = _exact_int_split(int(facts["output_bn_vnd"]), size * np.exp(rng.normal(0, 0.3, len(filers))))
    exports = _exact_int_split(int(facts["exports_musd"]), size * np.exp(rng.normal(0, 0.5, len(filers))))
    budget = _exact_int_split(int(facts["budget_bn_vnd"]), size * np.exp(rng.normal(0, 0.4, len(filers))))
    income_k = _paired_incomes(wk, rng, round(float(facts["avg_income_m_vnd"]) * 1000))
    n_late = round(float(facts["late_share"]) * len(filers))
    late = set(rng.permutation(len(filers))[:n_late].tolist())
    deadline = end + pd.Timedelta(days=15)
    rows: list[dict] = []
    for k, i in enumerate(filers):
        if k in late:
            filed = deadline + _days(rng.uniform(1, 45))
        else:
            filed = pd.Timestamp("2012-01-02") + _days(rng.uniform(0, 13))
        rows.append(
            {
                "i": i,
                "rev": 1,
                "filed": _day(filed),
                "out": float(output[k]),
                "exp": float(exports[k]),
                "bud": float(budget[k]),
                "inc": income_k[k] / 1000.0,
            }
        )
    # a few corrections: the first filing had a wrong output figure; revision 2 carries the right one
    for k in sorted(rng.permutation(len(rows))[: int(facts["corrected"])].tolist()):
        first = dict(rows[k])
        rows[k]["out"] = float(max(first["out"] + float(rng.integers(-40, 40)), 0.0))
        rows.append({**first, "rev": 2, "filed": first["filed"] + _days(rng.uniform(5, 30))})
    frame = pd.DataFrame(rows).sort_values(["filed", "i", "rev"], kind="stable").reset_index(drop=True)
    pid = projects[Col.PROJECT_ID].to_numpy()[frame["i"].to_numpy()]
    src = projects.iloc[frame["i"].to_numpy()]
    hours = rng.integers(8, 17, len(frame))
    return pd.DataFrame(
        {
            Col.REPORT_ID: [f"{p}/{REPORT_PERIOD}/r{r}" for p, r in zip(pid, frame["rev"], strict=True)],
            Col.PROJECT_ID: pid.astype(str),
            Col.PERIOD: REPORT_PERIOD,
            Col.REVISION: pd.array(frame["rev"].to_numpy(), dtype="Int64"),
            Col.FILED_ON: pd.to_datetime(frame["filed"]).astype("datetime64[ms]"),
            Col.WORKERS: pd.array(src[Col.WORKERS].to_numpy(), dtype="Int64"),
            Col.LOCAL_WORKERS: pd.array(src[Col.LOCAL_WORKERS].to_numpy(), dtype="Int64"),
            Col.FEMALE_WORKERS: pd.array(src[Col.FEMALE_WORKERS].to_numpy(), dtype="Int64"),
            Col.OUTPUT_BN_VND: frame["out"].astype(float),
            Col.EXPORTS_MUSD: frame["exp"].astype(float),
            Col.BUDGET_BN_VND: frame["bud"].astype(float),
            Col.AVG_INCOME_M_VND: frame["inc"].astype(float),
            Col.RECORDED_AT: (pd.to_datetime(frame["filed"]) + pd.to_timedelta(hours, unit="h")).astype(
                "datetime64[ms]"
            ),
            Col.RECORDED_BY: RECORDED_BY,
        }
    )


# --------------------------------------------------------------------------------------------------
# the build
# --------------------------------------------------------------------------------------------------
def layers() -> dict[str, pd.DataFrame]:
    """Build every layer of the bundled atlas in memory (EPSG:9209), deterministically."""
    table = pd.read_csv(HERE / "parks_2011.csv", dtype={"park_id": str})
    anchors = pd.read_csv(HERE / "anchor_projects.csv")
    communes = pd.read_csv(HERE / "clearance_communes.csv")
    province, rivers = _province_and_river()
    parks = _parks(table)
    _check_parks(parks, table, province.geometry.iat[0], rivers.geometry.iat[0])

    geom_of = dict(zip(parks[Col.PARK_ID], parks.geometry, strict=True))
    grids: dict[str, _Grid] = {}
    roads: dict[str, shapely.Geometry] = {}
    pieces: list[_Piece] = []
    for _, row in table[table["status"] == ParkStatus.OPERATING].iterrows():
        mine = anchors[anchors["park_id"] == row.park_id]
        ps, grid, road = _plots_for_park(row, geom_of[row.park_id], mine)
        pieces += _assign_dates(ps, grid, row, mine)
        grids[row.park_id], roads[row.park_id] = grid, road
    projects, pieces = _projects(pieces, anchors, grids)
    plots = _plots_frame(pieces, grids, roads)

    parcel_frames, event_frames = [], []
    for park in ("YP2", "TT2", "GB"):
        row = table[table["park_id"] == park].iloc[0]
        com = communes[communes["park_id"] == park].reset_index(drop=True)
        pf = _parcels_for_park(row, geom_of[park], com)
        parcel_frames.append(pf)
        event_frames.append(_events_for_park(pf, com, park))
    parcels = gpd.GeoDataFrame(pd.concat(parcel_frames, ignore_index=True), crs=WORKING_CRS)
    events = _events_frame(event_frames)
    return {
        Layer.PROVINCE: province,
        Layer.RIVERS: rivers,
        Layer.PARKS: parks,
        Layer.PLOTS: plots,
        Layer.PARCELS: parcels,
        Layer.CLEARANCE_EVENTS: events,
        Layer.PROJECTS: projects,
        Layer.FACILITIES: _facilities(parks),
        Layer.ENTERPRISE_REPORTS: _enterprise_reports(projects, anchors),
    }
