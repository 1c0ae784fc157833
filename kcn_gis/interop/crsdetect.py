"""Which CRS are these coordinates really in? Detection and repair of VN-2000 mistakes.

Files from the field often have no ``.prj`` or a wrong one. This module names
the likely CRS of a set of coordinates and the known mistakes behind them, and
converts coordinates from a *named* source (an EPSG code or one of the mistake
aliases below) to the atlas CRS, explicitly and logged.

Two kinds of evidence:

* **Coordinate ranges** (:func:`diagnose_crs` without ``reference``): each
  candidate CRS (VN-2000 TM-3 zones, UTM 48N/49N, WGS 84 degrees, each also with
  X and Y swapped) is tried, and the candidates that put the points inside
  Bắc Ninh (:data:`BAC_NINH_EXTENT`, plus a margin) are plausible. This finds
  WGS 84 degrees, swapped X/Y (Vietnamese X = northing), UTM 48N and most wrong
  central meridians; it cannot see shifts of a few hundred metres.
* **A reference** (``reference=`` frame in the atlas CRS with the same features,
  matched by a key column): the offset between the file and the reference is
  compared with what each mistake would produce at that place. This finds the
  small, systematic ones, whose sizes in Bắc Ninh are (see
  ``../shared/reference/VN2000_BAC_NINH.md``):

  - no datum shift (VN-2000 treated as WGS 84): about 224 m (dE ≈ +196 m, dN ≈ −109 m);
  - the QĐ 05/2007 rotations put into ``+towgs84`` with unchanged signs: about 0.76 m;
  - k = 0.9996 (the 6° zone value) instead of 0.9999: about 700 m in N, 15 m in E.

Mistake aliases accepted by :func:`to_working` (and ``kcn-gis import --assume-crs``):

``vn2000-no-datum-shift``
    TM-3 105°30′ coordinates computed from WGS 84 positions without the datum shift.
``vn2000-wrong-towgs84-sign``
    TM-3 105°30′ coordinates computed with the rotation signs of QĐ 05/2007 pasted
    into ``+towgs84`` (which uses the opposite, Position Vector, convention).
``vn2000-k0.9996``
    TM-3 105°30′ computed with the 6° zone scale factor 0.9996.
``vn2000-lonlat-as-wgs84``
    VN-2000 longitude/latitude labelled as WGS 84 (the same as ``EPSG:4756``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer

from kcn_gis.crs import WGS84, WORKING_CRS, same_crs, wgs84_transformer
from kcn_gis.errors import CRSError

__all__ = [
    "BAC_NINH_EXTENT",
    "MISTAKES",
    "CRSDiagnosis",
    "crs_label",
    "diagnose_crs",
    "to_working",
    "to_working_frame",
]

log = logging.getLogger(__name__)

#: Bắc Ninh (before the 2025 merger) as (lon_min, lat_min, lon_max, lat_max), degrees, rounded outwards
#: from the province outline (105.905-106.312 E, 20.968-21.264 N).
BAC_NINH_EXTENT: tuple[float, float, float, float] = (105.90, 20.96, 106.32, 21.27)
#: Points this far (degrees, about 5 km) outside :data:`BAC_NINH_EXTENT` still count as "in Bắc Ninh".
_MARGIN_DEG = 0.05

_TMERC_105_30 = "+proj=tmerc +lat_0=0 +lon_0=105.5 +k={k} +x_0=500000 +y_0=0 +ellps=WGS84 +units=m +no_defs"
_QD05_SHIFT = "-191.90441429,-39.30318279,-111.45032835"
_QD05_ROT_SIGNS_AS_PUBLISHED = "-0.00928836,0.01975479,-0.00427372"
_SCALE_PPM = "0.252906278"

#: The known mistakes: alias -> (short name, explanation, PROJ definition of what the coordinates really are).
MISTAKES: dict[str, tuple[str, str, str]] = {
    "vn2000-no-datum-shift": (
        "no_datum_shift",
        "the coordinates were projected to TM-3 105°30′ from WGS 84 positions (GPS, Google Earth) without the "
        "VN-2000 datum shift, i.e. VN-2000 was treated as WGS 84; this moves points about 224 m in Bắc Ninh",
        "+proj=tmerc +lat_0=0 +lon_0=105.5 +k=0.9999 +x_0=500000 +y_0=0 +datum=WGS84 +units=m +no_defs",
    ),
    "vn2000-wrong-towgs84-sign": (
        "wrong_towgs84_sign",
        "the QĐ 05/2007 rotations were put into +towgs84 with their published signs; +towgs84 uses the "
        "opposite (Position Vector) convention, so the rotation signs must be flipped. Error ≈ 0.76 m in Bắc Ninh",
        _TMERC_105_30.format(k="0.9999").replace(
            "+units", f"+towgs84={_QD05_SHIFT},{_QD05_ROT_SIGNS_AS_PUBLISHED},{_SCALE_PPM} +units"
        ),
        # the +towgs84 above is the *wrong* one on purpose: it describes how the file was made
    ),
    "vn2000-k0.9996": (
        "k_0_9996",
        "the TM-3 105°30′ grid was computed with k = 0.9996 (the 6° UTM zone value) instead of 0.9999; "
        "northings come out about 700 m too small in Bắc Ninh",
        _TMERC_105_30.format(k="0.9996"),
    ),
    "vn2000-lonlat-as-wgs84": (
        "no_datum_shift",
        "the longitudes/latitudes are VN-2000 (EPSG:4756) but were labelled WGS 84: the datum shift was left out "
        "when they were converted (about 224 m in Bắc Ninh)",
        "EPSG:4756",
    ),
}

_LABELS: dict[int, str] = {
    4326: "WGS 84 longitude/latitude in degrees",
    4756: "VN-2000 longitude/latitude in degrees",
    3405: "VN-2000 / UTM zone 48N (CM 105°, k = 0.9996)",
    3406: "VN-2000 / UTM zone 49N (CM 111°, k = 0.9996)",
    32648: "WGS 84 / UTM zone 48N",
    5896: "VN-2000 / TM-3 zone 481 (CM 102°00′)",
    5897: "VN-2000 / TM-3 zone 482 (CM 105°00′)",
    5898: "VN-2000 / TM-3 zone 491 (CM 108°00′)",
    5899: "VN-2000 / TM-3 107-45 (CM 107°45′)",
}
_TM3_ZONES: dict[int, str] = {
    9205: "103°00′",
    9206: "104°00′",
    9207: "104°30′",
    9208: "104°45′",
    9209: "105°30′",
    9210: "105°45′",
    9211: "106°00′",
    9212: "106°15′",
    9213: "106°30′",
    9214: "107°00′",
    9215: "107°15′",
    9216: "107°30′",
    9217: "108°15′",
    9218: "108°30′",
}
for _code, _cm in _TM3_ZONES.items():
    _LABELS[_code] = f"VN-2000 / TM-3 {_cm} (k = 0.9999)"

#: Candidate CRSs tried by range checks, most likely first for a Bắc Ninh file.
_RANGE_CANDIDATES: tuple[int, ...] = (9209, 3405, 5897, 9210, 9211, 9208, 9212, 9207, 9213, 4326, 32648, 3406)


def crs_label(source: str) -> str:
    """Human-readable name of an EPSG code or mistake alias, e.g. ``"VN-2000 / TM-3 105°30′ (k = 0.9999)"``."""
    if source in MISTAKES:
        return f"{source} ({MISTAKES[source][0].replace('_', ' ')})"
    try:
        crs = CRS.from_user_input(source)
    except Exception:  # pyproj.exceptions.CRSError
        return str(source)
    code = crs.to_epsg()
    if code in _LABELS:
        return f"EPSG:{code} = {_LABELS[code]}"
    return f"EPSG:{code} = {crs.name}" if code else crs.name


def _kind(source: str, swap: bool) -> str:
    if swap:
        return "swapped_xy"
    if source in MISTAKES:
        return MISTAKES[source][0]
    code = CRS.from_user_input(source).to_epsg()
    if code == 9209:
        return "tm3_105_30"
    if code in (3405, 32648):
        return "utm48"
    if code in (4326, 4756):
        return "wgs84_degrees" if code == 4326 else "no_datum_shift"
    if code in _TM3_ZONES or code in (5896, 5897, 5898, 5899, 3406):
        return "wrong_meridian"
    return "other"


def _canonical(source: Any) -> str:
    """EPSG:nnnn text, a mistake alias, or the WKT of a custom CRS."""
    if isinstance(source, str) and source.strip().lower() in MISTAKES:
        return source.strip().lower()
    try:
        crs = CRS.from_user_input(source)
    except Exception as exc:
        aliases = ", ".join(MISTAKES)
        raise CRSError(f"'{source}' is neither a CRS (e.g. EPSG:9209) nor a known mistake alias ({aliases})") from exc
    code = crs.to_epsg()
    return f"EPSG:{code}" if code else crs.to_wkt()


@lru_cache(maxsize=64)
def _transformer(src: str, dst: str) -> Transformer:
    return Transformer.from_crs(src, dst, always_xy=True)


def _is_vn2000(crs: CRS) -> bool:
    g = crs.geodetic_crs
    return g is not None and "VN-2000" in g.name


def to_working(
    x: Any, y: Any, source: Any, *, swap_xy: bool = False, target: Any = WORKING_CRS
) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates from ``source`` to the atlas CRS, explicitly.

    Parameters
    ----------
    x, y : array-like
        Coordinates as stored in the file (first and second value).
    source : CRS-like or str
        The CRS they are really in: an EPSG code, or a mistake alias from
        :data:`MISTAKES` (the file was made with that mistake; this repairs it).
    swap_xy : bool
        The file stores (northing, easting) or (lat, lon): swap before converting.
    target : CRS-like, default EPSG:9209
        The atlas CRS (metres).

    Returns
    -------
    (ndarray, ndarray)
        Easting and northing in ``target``, metres.

    Notes
    -----
    WGS 84 is converted to and from VN-2000 with EPSG:6960 only
    (:func:`kcn_gis.crs.wgs84_transformer`); between CRSs on the same datum
    only the projection changes.
    """
    xs = np.asarray(x, dtype="float64")
    ys = np.asarray(y, dtype="float64")
    if swap_xy:
        xs, ys = ys, xs
    src = _canonical(source)
    dst_crs = CRS.from_user_input(target)
    dst = _canonical(target)
    if src in MISTAKES:
        definition = MISTAKES[src][2]
        if src == "vn2000-k0.9996":
            # pure projection change on the VN-2000 datum
            lon, lat = _transformer(definition, "+proj=longlat +ellps=WGS84 +no_defs").transform(xs, ys)
            return _geographic_vn2000_to(lon, lat, dst_crs)
        if src == "vn2000-lonlat-as-wgs84":
            return _geographic_vn2000_to(xs, ys, dst_crs)
        lon, lat = _transformer(definition, WGS84).transform(xs, ys)
        return _wgs84_to(lon, lat, dst_crs)
    src_crs = CRS.from_user_input(src)
    if same_crs(src_crs, dst_crs):
        return xs, ys
    if same_crs(src_crs, WGS84):
        return _wgs84_to(xs, ys, dst_crs)
    if _is_vn2000(src_crs) and _is_vn2000(dst_crs):
        return _transformer(src, dst).transform(xs, ys)
    if _is_vn2000(src_crs):
        lon, lat = wgs84_transformer(src).transform(xs, ys)
        return _wgs84_to(lon, lat, dst_crs)
    if src_crs.geodetic_crs is not None and same_crs(src_crs.geodetic_crs, WGS84):
        lon, lat = _transformer(src, WGS84).transform(xs, ys)
        return _wgs84_to(lon, lat, dst_crs)
    return _transformer(src, dst).transform(xs, ys)


def _geographic_vn2000_to(lon: np.ndarray, lat: np.ndarray, dst: CRS) -> tuple[np.ndarray, np.ndarray]:
    target = f"EPSG:{dst.to_epsg()}" if dst.to_epsg() else dst.to_wkt()
    if _is_vn2000(dst):
        return _transformer("EPSG:4756", target).transform(lon, lat)
    wlon, wlat = wgs84_transformer("EPSG:4756").transform(lon, lat)
    return _wgs84_to(np.asarray(wlon), np.asarray(wlat), dst)


def _wgs84_to(lon: np.ndarray, lat: np.ndarray, dst: CRS) -> tuple[np.ndarray, np.ndarray]:
    target = f"EPSG:{dst.to_epsg()}" if dst.to_epsg() else dst.to_wkt()
    if same_crs(dst, WGS84):
        return np.asarray(lon), np.asarray(lat)
    if _is_vn2000(dst):
        return wgs84_transformer(target).transform(lon, lat, direction="INVERSE")
    return _transformer(WGS84, target).transform(lon, lat)


def to_working_frame(
    frame: gpd.GeoDataFrame, source: Any, *, swap_xy: bool = False, target: Any = WORKING_CRS, what: str = "data"
) -> gpd.GeoDataFrame:
    """Return a copy of ``frame`` with its coordinates converted from ``source`` to ``target`` (logged).

    ``frame``'s own CRS is ignored: ``source`` says what the coordinates are.
    See :func:`to_working` for ``source`` and ``swap_xy``.
    """
    log.info(
        "converting %s (%d features) from %s%s to %s",
        what,
        len(frame),
        crs_label(_canonical(source)),
        " with X/Y swapped" if swap_xy else "",
        CRS.from_user_input(target).to_string(),
    )

    def fn(coords: np.ndarray) -> np.ndarray:
        e, n = to_working(coords[:, 0], coords[:, 1], source, swap_xy=swap_xy, target=target)
        return np.column_stack([e, n])

    out = frame.copy()
    geoms = shapely.transform(np.asarray(frame.geometry.values), fn)
    out = out.set_geometry(gpd.GeoSeries(geoms, index=frame.index, crs=None), crs=None)
    return out.set_crs(target, allow_override=True)


# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CRSDiagnosis:
    """What the coordinates of a file most likely are.

    Attributes
    ----------
    kind : str
        ``tm3_105_30`` (the Bắc Ninh grid, EPSG:9209), ``utm48``, ``wrong_meridian``,
        ``wgs84_degrees``, ``swapped_xy``, ``no_datum_shift``, ``wrong_towgs84_sign``,
        ``k_0_9996``, ``other`` or ``unknown`` (no candidate puts the data in Bắc Ninh).
    source : str or None
        The CRS (``EPSG:nnnn``) or mistake alias the coordinates are in.
    swap_xy : bool
        Whether X and Y are swapped relative to ``source`` (Vietnamese X = northing).
    declared : str or None
        The CRS the file (or ``--crs``) declares.
    consistent : bool
        True when the declared CRS fits the coordinates (and the reference, if given).
    candidates : tuple of str
        Every plausible reading, best first, e.g. ``("EPSG:3405", "EPSG:5897")``.
    offset_m : float or None
        With a reference: mean distance (m) between the features read in the declared
        CRS (or EPSG:9209) and the reference features.
    residual_m : float or None
        With a reference: mean distance (m) left after reading them as ``source``.
    matched : int
        Number of features matched with the reference.
    message : str
        The explanation, with the fix.
    """

    kind: str
    source: str | None
    swap_xy: bool
    declared: str | None
    consistent: bool
    candidates: tuple[str, ...] = ()
    offset_m: float | None = None
    residual_m: float | None = None
    matched: int = 0
    message: str = ""
    details: dict[str, float] = field(default_factory=dict)

    @property
    def suggestion(self) -> str:
        """The ``kcn-gis import`` options that read the file correctly (empty when nothing is known)."""
        if self.source is None:
            return ""
        flag = (
            "--crs" if (self.declared is None and self.source not in MISTAKES and not self.swap_xy) else "--assume-crs"
        )
        return f"{flag} {self.source}" + (" --swap-xy" if self.swap_xy else "")


def _sample_xy(frame: gpd.GeoDataFrame | gpd.GeoSeries, limit: int = 2000) -> np.ndarray:
    geoms = np.asarray(frame.geometry.values if isinstance(frame, gpd.GeoDataFrame) else frame.values)
    geoms = geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    coords = shapely.get_coordinates(geoms)
    if len(coords) > limit:
        idx = np.linspace(0, len(coords) - 1, limit).astype(int)
        coords = coords[idx]
    return coords


def _lonlat(xs: np.ndarray, ys: np.ndarray, source: str, swap: bool) -> tuple[np.ndarray, np.ndarray]:
    if swap:
        xs, ys = ys, xs
    crs = CRS.from_user_input(source)
    if crs.is_geographic:
        return xs, ys
    geo = crs.geodetic_crs
    assert geo is not None
    return _transformer(source, geo.to_wkt()).transform(xs, ys)


def _inside_share(lon: np.ndarray, lat: np.ndarray) -> float:
    x0, y0, x1, y1 = BAC_NINH_EXTENT
    m = _MARGIN_DEG
    ok = np.isfinite(lon) & np.isfinite(lat) & (lon >= x0 - m) & (lon <= x1 + m) & (lat >= y0 - m) & (lat <= y1 + m)
    return float(ok.mean()) if len(ok) else 0.0


def _plausible(coords: np.ndarray, source: str, swap: bool) -> bool:
    xs, ys = coords[:, 0], coords[:, 1]
    crs = CRS.from_user_input(source)
    if crs.is_geographic:
        a, b = (ys, xs) if swap else (xs, ys)
        if not (np.all(np.abs(a) <= 180) and np.all(np.abs(b) <= 90)):
            return False
    elif np.all(np.abs(xs) < 400) and np.all(np.abs(ys) < 400):
        return False  # degrees are never metres
    try:
        lon, lat = _lonlat(xs, ys, source, swap)
    except Exception:  # pragma: no cover - PROJ refuses far-away input
        return False
    return _inside_share(np.asarray(lon), np.asarray(lat)) >= 0.95


def _describe(source: str, swap: bool) -> str:
    text = crs_label(source)
    return f"{text} with X and Y swapped" if swap else text


def diagnose_crs(
    frame: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    declared: Any = None,
    reference: gpd.GeoDataFrame | None = None,
    key: str | None = None,
    target: Any = WORKING_CRS,
) -> CRSDiagnosis:
    """Name the CRS the coordinates of ``frame`` are most likely in.

    Parameters
    ----------
    frame : GeoDataFrame or GeoSeries
        The features as read from the file; their coordinates are used as
        stored, whatever CRS the frame claims.
    declared : CRS-like or str, optional
        The CRS the file or the user declares (default: ``frame.crs``).
    reference : GeoDataFrame, optional
        The same features as already held in the atlas, in ``target`` (EPSG:9209).
        With ``key``, rows are matched by that column and the small systematic
        mistakes (no datum shift, wrong ``+towgs84`` sign, k = 0.9996) are told
        apart by the offset they produce.
    key : str, optional
        Column present in both ``frame`` and ``reference``.
    target : CRS-like, default EPSG:9209
        The atlas CRS.

    Returns
    -------
    CRSDiagnosis
        ``consistent`` is False when the declared CRS does not fit; the message
        says which CRS does and which option to use.
    """
    if declared is None and isinstance(frame, gpd.GeoDataFrame | gpd.GeoSeries) and frame.crs is not None:
        declared = frame.crs
    declared_txt = _canonical(declared) if declared is not None else None
    coords = _sample_xy(frame)
    if len(coords) == 0:
        return CRSDiagnosis("unknown", None, False, declared_txt, declared_txt is not None, message="no coordinates")
    # 1. ranges ---------------------------------------------------------------------------------------
    order: list[tuple[str, bool]] = []
    if declared_txt is not None and declared_txt not in MISTAKES:
        order.append((declared_txt, False))
    for code in _RANGE_CANDIDATES:
        for swap in (False, True):
            cand = (f"EPSG:{code}", swap)
            if cand not in order:
                order.append(cand)
    plausible = [(s, w) for s, w in order if _plausible(coords, s, w)]
    declared_fits = declared_txt is not None and (declared_txt in MISTAKES or (declared_txt, False) in plausible)
    cand_txt = tuple(s + (" (X/Y swapped)" if w else "") for s, w in plausible)
    if reference is not None and key is not None and plausible:
        return _diagnose_with_reference(frame, reference, key, declared_txt, plausible, cand_txt, target)
    if not plausible:
        x0, y0 = coords.min(axis=0)
        x1, y1 = coords.max(axis=0)
        return CRSDiagnosis(
            "unknown",
            None,
            False,
            declared_txt,
            False,
            (),
            message=(
                f"the coordinates (x {x0:,.1f}…{x1:,.1f}, y {y0:,.1f}…{y1:,.1f}) do not fall in Bắc Ninh in any "
                "CRS tried (VN-2000 TM-3 zones, UTM 48N/49N, WGS 84 degrees, also with X/Y swapped). Check the "
                "units and the source of the file; if you know its CRS pass it with --assume-crs."
            ),
        )
    best, swap = plausible[0]
    if declared_fits:
        best, swap = (declared_txt, False)  # type: ignore[assignment]
    kind = _kind(best, swap)
    others = [c for c in cand_txt[1:] if not c.startswith(best + " ")][:3]
    also = f" The coordinates would also fit {', '.join(others)}." if others and not declared_fits else ""
    ambiguous = ""
    if kind == "utm48" or best == "EPSG:5897":
        ambiguous = (
            " UTM 48N (EPSG:3405) and TM-3 105°00′ (EPSG:5897) differ by only about 700 m here; check the "
            "file's origin or compare with known features (kcn-gis import checks against the atlas)."
        )
    if declared_txt is None:
        message = (
            f"the file declares no CRS; its coordinates look like {_describe(best, swap)}.{also}{ambiguous} "
            f"Kcn_gis never guesses: re-run with "
            f"{'--assume-crs ' + best + ' --swap-xy' if swap else '--crs ' + best} to confirm."
        )
        if best != "EPSG:9209" and not swap:
            message += " (The Bắc Ninh cadastral grid is EPSG:9209, VN-2000 / TM-3 105°30′.)"
        return CRSDiagnosis(kind, best, swap, None, False, cand_txt, message=message)
    if declared_fits:
        message = f"the coordinates fit the declared CRS {crs_label(declared_txt)}."  # type: ignore[arg-type]
        return CRSDiagnosis(kind, best, False, declared_txt, True, cand_txt, message=message)
    message = (
        f"the file declares {crs_label(declared_txt)}, but its coordinates do not fall in Bắc Ninh in that CRS; "
        f"they look like {_describe(best, swap)}.{also}{ambiguous} If that is right, repair it with "
        f"--assume-crs {best}{' --swap-xy' if swap else ''} (the repair is logged)."
    )
    return CRSDiagnosis(kind, best, swap, declared_txt, False, cand_txt, message=message)


def _centroids(frame: gpd.GeoDataFrame, key: str) -> pd.DataFrame:
    geoms = np.asarray(frame.geometry.values)
    keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms)) & frame[key].notna().to_numpy()
    pts = shapely.get_coordinates(shapely.centroid(geoms[keep]))
    out = pd.DataFrame({"key": frame[key].to_numpy()[keep].astype(str), "x": pts[:, 0], "y": pts[:, 1]})
    return out.drop_duplicates("key", keep=False)


def _diagnose_with_reference(
    frame: gpd.GeoDataFrame,
    reference: gpd.GeoDataFrame,
    key: str,
    declared: str | None,
    plausible: Sequence[tuple[str, bool]],
    cand_txt: tuple[str, ...],
    target: Any,
) -> CRSDiagnosis:
    if key not in frame.columns or key not in reference.columns:
        raise CRSError(f"cannot compare with the reference: column '{key}' is missing in the file or the reference")
    a = _centroids(frame, key)
    b = _centroids(reference, key)
    m = a.merge(b, on="key", suffixes=("", "_ref"))
    if m.empty:
        base = diagnose_crs(frame, declared=declared, target=target)
        return base
    hyps: list[tuple[str, bool]] = list(dict.fromkeys(list(plausible)))
    projected = [h for h in hyps if not CRS.from_user_input(h[0]).is_geographic]
    geographic = [h for h in hyps if CRS.from_user_input(h[0]).is_geographic]
    for s, w in list(projected):
        if s == "EPSG:9209":
            hyps += [(alias, w) for alias in ("vn2000-no-datum-shift", "vn2000-wrong-towgs84-sign", "vn2000-k0.9996")]
    for _, w in geographic:
        hyps.append(("vn2000-lonlat-as-wgs84", w))
    hyps = list(dict.fromkeys(hyps))
    rx, ry = m["x_ref"].to_numpy(), m["y_ref"].to_numpy()
    residuals: dict[tuple[str, bool], float] = {}
    for s, w in hyps:
        try:
            e, n = to_working(m["x"].to_numpy(), m["y"].to_numpy(), s, swap_xy=w, target=target)
        except Exception:  # pragma: no cover - PROJ refuses the input
            continue
        d = np.hypot(np.asarray(e) - rx, np.asarray(n) - ry)
        if np.all(np.isfinite(d)):
            residuals[(s, w)] = float(np.mean(d))
    base_h = (declared, False) if declared is not None else ("EPSG:9209", False)
    offset = residuals.get(base_h)
    best = min(residuals, key=residuals.__getitem__)
    best_res = residuals[best]
    # the declared reading wins unless another one is clearly better (less than half its residual and 5 cm)
    if offset is not None and (best == base_h or not (best_res < 0.5 * offset and offset - best_res > 0.05)):
        best, best_res = base_h, offset
    source, swap = best
    kind = _kind(source, swap)
    details = {f"{s}{' swapped' if w else ''}": r for (s, w), r in residuals.items()}
    if declared is None and best == base_h:
        msg = (
            f"the file declares no CRS; read as EPSG:9209 its {len(m)} feature(s) matched by '{key}' lie on "
            f"average {best_res:.2f} m from the atlas's. Re-run with --crs EPSG:9209 to confirm."
        )
        return CRSDiagnosis(kind, source, False, None, False, cand_txt, offset, best_res, len(m), msg, details=details)
    if declared is not None and best == base_h:
        msg = (
            f"the coordinates fit the declared CRS {crs_label(declared)}: {len(m)} feature(s) matched by "
            f"'{key}' lie on average {best_res:.2f} m from the atlas's."
        )
        return CRSDiagnosis(
            kind, source, False, declared, True, cand_txt, offset, best_res, len(m), msg, details=details
        )
    explanation = MISTAKES[source][1] if source in MISTAKES else _describe(source, swap)
    off_txt = f"{offset:,.2f} m" if offset is not None else "far"
    read_as = crs_label(declared) if declared is not None else "EPSG:9209"
    msg = (
        f"read as {read_as}, the {len(m)} feature(s) matched by '{key}' lie {off_txt} from the same features in "
        f"the atlas; read as {source}{' with X/Y swapped' if swap else ''} they lie {best_res:.2f} m away. "
        f"Diagnosis: {explanation}. Repair with --assume-crs {source}{' --swap-xy' if swap else ''} "
        "(the repair is logged)."
    )
    return CRSDiagnosis(kind, source, swap, declared, False, cand_txt, offset, best_res, len(m), msg, details=details)
