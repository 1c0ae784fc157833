"""Splitting the province into the two banks of a river (the Đuống: north and south)."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import shapely

from kcn_gis.analytics._common import geoms, require_columns, require_same_crs, usable
from kcn_gis.errors import RiverSplitError
from kcn_gis.names import same_name
from kcn_gis.schema import DUONG, Bank, Col

__all__ = ["BANK_COLUMN", "DUONG", "split_banks"]

log = logging.getLogger(__name__)

#: Name of the bank column in the frames returned by the analytics.
BANK_COLUMN = "bank"

_EPS = 1e-6  # metres
_OVERSHOOT = 0.01  # metres an extended river end runs past the outline


def _select_river(rivers: gpd.GeoDataFrame, river: str) -> shapely.Geometry:
    require_columns(rivers, [Col.NAME], "rivers")
    names = rivers[Col.NAME].astype(object)
    mask = names.map(lambda v: isinstance(v, str) and same_name(v, river)).to_numpy(dtype=bool)
    if not mask.any():
        available = sorted({str(v) for v in names.dropna()})
        listed = ", ".join(f"'{v}'" for v in available) or "none (the rivers layer is empty)"
        raise RiverSplitError(
            f"there is no river named '{river}' in the rivers layer; available names: {listed}. "
            "Pass one of them (--river NAME)."
        )
    lines = geoms(rivers)[mask]
    lines = lines[~shapely.is_missing(lines) & ~shapely.is_empty(lines)]
    if lines.size == 0:
        raise RiverSplitError(f"the river '{river}' has no geometry; draw its centreline in the rivers layer")
    merged = shapely.line_merge(shapely.union_all(lines))
    if merged.geom_type == "LineString":
        return merged
    if merged.geom_type != "MultiLineString":
        raise RiverSplitError(f"the river '{river}' is a {merged.geom_type}, not a line; store its centreline")
    return _chain(list(merged.geoms), river)


def _chain(parts: list[shapely.LineString], river: str) -> shapely.LineString:
    """Join disconnected river parts into one line, nearest ends first (the gaps are bridged straight)."""
    parts = sorted(parts, key=lambda p: p.length, reverse=True)
    chain = [tuple(c) for c in parts.pop(0).coords]
    gaps: list[float] = []
    while parts:
        best: tuple[float, int, bool, bool] | None = None
        for i, part in enumerate(parts):
            c = part.coords
            for at_end in (True, False):
                anchor = chain[-1] if at_end else chain[0]
                for reverse in (False, True):
                    touch = (c[-1] if reverse else c[0]) if at_end else (c[0] if reverse else c[-1])
                    d = math.dist(anchor, touch)
                    if best is None or d < best[0]:
                        best = (d, i, at_end, reverse)
        assert best is not None
        d, i, at_end, reverse = best
        coords = [tuple(x) for x in parts.pop(i).coords]
        if reverse:
            coords.reverse()
        chain = chain + coords if at_end else coords + chain
        gaps.append(d)
    log.warning(
        "river '%s' has %d disconnected parts; joined them with straight segments (largest gap %.1f m)",
        river,
        len(gaps) + 1,
        max(gaps),
    )
    return shapely.LineString(chain)


def _extend_end(line: shapely.LineString, outline: shapely.Geometry, at_end: bool) -> list[tuple[float, float]]:
    """Extension point(s) for one end of ``line``: along its end direction to the first hit of the outline."""
    coords = np.asarray(line.coords)[:, :2]
    if not at_end:
        coords = coords[::-1]
    end = coords[-1]
    if not shapely.contains_xy(outline, end[0], end[1]):
        return []  # the end is on or beyond the outline: nothing to extend
    # the direction of the last non-degenerate segment
    for k in range(len(coords) - 2, -1, -1):
        direction = end - coords[k]
        norm = float(np.hypot(*direction))
        if norm > _EPS:
            break
    else:
        raise RiverSplitError("the river line has zero length and cannot split the province")
    direction = direction / norm
    x0, y0, x1, y1 = outline.bounds
    reach = 2.0 * math.hypot(x1 - x0, y1 - y0) + 1.0
    ray = shapely.LineString([end, end + direction * reach])
    hits = shapely.intersection(ray, shapely.boundary(outline))
    pts = shapely.get_coordinates(hits)
    if pts.size == 0:  # pragma: no cover - a ray from an interior point always leaves a bounded polygon
        return []
    dist = np.hypot(pts[:, 0] - end[0], pts[:, 1] - end[1])
    dist = dist[dist > _EPS]
    # a little past the outline, so that noding finds a true crossing despite floating point
    first = float(dist.min()) + _OVERSHOOT if dist.size else 0.0
    hit = end + direction * first
    return [(float(hit[0]), float(hit[1]))]


def _side(line: shapely.LineString, pts: np.ndarray) -> np.ndarray:
    """+1 left of ``line`` / -1 right of it, judged on the nearest stretch of the line to each point."""
    s = shapely.line_locate_point(line, pts)
    step = max(line.length * 1e-4, 0.01)
    a = shapely.get_coordinates(shapely.line_interpolate_point(line, np.maximum(s - step, 0.0)))
    b = shapely.get_coordinates(shapely.line_interpolate_point(line, np.minimum(s + step, line.length)))
    p = shapely.get_coordinates(pts)
    cross = (b[:, 0] - a[:, 0]) * (p[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (p[:, 0] - a[:, 0])
    return np.where(cross >= 0, 1, -1)


def split_banks(province: gpd.GeoDataFrame, rivers: gpd.GeoDataFrame, *, river: str = DUONG) -> gpd.GeoDataFrame:
    """Split the province polygon into the two banks of ``river``.

    * A river line that stops short of the province outline is extended straight
      along the direction of its end segment to the first point of the outline.
    * A river line that runs beyond the outline is clipped to it.
    * Disconnected parts of the river are joined, nearest ends first (logged).
    * When the cut gives more than two pieces (a meander or a river that leaves
      and re-enters the province), each piece is assigned to the side of the
      river line it lies on (judged at the stretch of the river nearest to a
      point inside the piece) and the pieces of each side are merged.
    * The bank whose centroid lies further north is ``north``.

    Parameters
    ----------
    province : GeoDataFrame
        The province outline (all rows are merged), in a projected CRS (metres).
    rivers : GeoDataFrame
        River centrelines with a ``name`` column, in the same CRS.
    river : str, default "Sông Đuống"
        Name of the river (compared after Unicode NFC normalisation, case-insensitively).

    Returns
    -------
    GeoDataFrame
        Two rows, ``bank`` = ``"north"`` then ``"south"``, with the bank polygons,
        in the input CRS.

    Raises
    ------
    RiverSplitError
        If no river has that name (the message lists the names available), or the
        river cannot split the province (wholly outside it, or only touching it).
    CRSError
        If a frame has a geographic or missing CRS, or the two CRSs differ.
    """
    require_same_crs((province, "province"), (rivers, "rivers"))
    line = _select_river(rivers, river)
    parts = geoms(province)
    parts = usable(parts[~shapely.is_missing(parts)])
    outline = shapely.union_all(parts)
    if outline.is_empty or outline.area <= 0:
        raise RiverSplitError("the province outline is empty; the banks cannot be computed")
    head = _extend_end(line, outline, at_end=False)
    tail = _extend_end(line, outline, at_end=True)
    if head or tail:
        log.info("extended river '%s' to the province outline (%d end(s))", river, len(head) + len(tail))
    coords = [tuple(c) for c in np.asarray(line.coords)[:, :2]]
    extended = shapely.LineString(head + coords + tail)
    inside = shapely.intersection(extended, outline)
    if shapely.length(inside) <= _EPS:
        raise RiverSplitError(
            f"the river '{river}' does not cross the province (it lies outside the outline or only touches it), "
            "so it cannot split it into two banks. Check that the river and the province are the same area and CRS."
        )
    # node the whole (extended) river with the outline: crossings become exact shared vertices
    noded = shapely.union_all([shapely.boundary(outline), extended])
    pieces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    reps = shapely.point_on_surface(pieces)
    pieces = pieces[shapely.contains(outline, reps) & (shapely.area(pieces) > 0)]
    if pieces.size < 2:
        raise RiverSplitError(
            f"the river '{river}' does not cut the province in two: it must run from one side of the outline to "
            "another (a line ending inside the province is extended along its end direction, but it only touches "
            "one side here). Check the river geometry."
        )
    if pieces.size == 2:
        left, right = pieces[0], pieces[1]
    else:
        side = _side(extended, shapely.point_on_surface(pieces))
        if (side > 0).all() or (side < 0).all():
            raise RiverSplitError(
                f"all {pieces.size} pieces cut by the river '{river}' lie on the same side of it; "
                "the river cannot split the province into two banks"
            )
        log.info("river '%s' cut the province into %d pieces; merged them by side", river, pieces.size)
        left = shapely.union_all(pieces[side > 0])
        right = shapely.union_all(pieces[side < 0])
    if shapely.centroid(left).y >= shapely.centroid(right).y:
        north, south = left, right
    else:
        north, south = right, left
    return gpd.GeoDataFrame(
        {BANK_COLUMN: [str(Bank.NORTH), str(Bank.SOUTH)]},
        geometry=[north, south],
        crs=province.crs,
    )
