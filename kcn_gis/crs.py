"""Coordinate reference systems: VN-2000 for Bắc Ninh and CRS discipline.

* The working CRS of a Bắc Ninh atlas is VN-2000 / TM-3 105°30′ (EPSG:9209):
  Transverse Mercator, central meridian 105.5°, k0 = 0.9999, false easting
  500 000 m, on the WGS-84 ellipsoid.
* Areas and lengths are only computed in a projected CRS: :func:`require_projected`
  raises (geopandas merely warns).
* Conversion to WGS 84 (for web maps and GeoJSON) uses the EPSG:6960
  transformation "VN-2000 to WGS 84 (2)" (QĐ 05/2007/QĐ-BTNMT parameters),
  chosen explicitly by :func:`to_wgs84`, and is logged.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.transformer import TransformerGroup

from kcn_gis.errors import CRSError

if TYPE_CHECKING:
    import geopandas as gpd

__all__ = [
    "VN2000_TM3_BAC_NINH",
    "WGS84",
    "WORKING_CRS",
    "require_projected",
    "same_crs",
    "to_crs",
    "to_wgs84",
    "wgs84_transformer",
]

log = logging.getLogger(__name__)

#: VN-2000 / TM-3 105-30, the Bắc Ninh cadastral CRS.
VN2000_TM3_BAC_NINH = "EPSG:9209"
#: The working CRS of a Bắc Ninh atlas.
WORKING_CRS = VN2000_TM3_BAC_NINH
#: WGS 84 geographic, longitude/latitude order in kcn_gis.
WGS84 = "EPSG:4326"

#: Name of the EPSG:6960 operation in PROJ's database.
_VN2000_TO_WGS84_2 = "VN-2000 to WGS 84 (2)"


def same_crs(a: Any, b: Any) -> bool:
    """Return True when two CRS-like values denote the same CRS (EPSG code or full equality)."""
    if a is None or b is None:
        return a is None and b is None
    ca, cb = CRS.from_user_input(a), CRS.from_user_input(b)
    if ca == cb:
        return True
    ea, eb = ca.to_epsg(), cb.to_epsg()
    return ea is not None and ea == eb


def require_projected(gdf: gpd.GeoDataFrame | gpd.GeoSeries, what: str = "data") -> CRS:
    """Raise unless ``gdf`` has a projected CRS in metres; return the CRS.

    Parameters
    ----------
    gdf : GeoDataFrame or GeoSeries
        Frame whose areas or lengths are about to be computed.
    what : str
        Name used in the error message, e.g. ``"plots"``.

    Raises
    ------
    CRSError
        If the CRS is missing, geographic (degrees) or not in metres.
    """
    crs = gdf.crs
    if crs is None:
        raise CRSError(
            f"{what} has no CRS. Declare it, e.g. gdf.set_crs('{WORKING_CRS}') for VN-2000 / TM-3 105°30′ "
            "coordinates, or gdf.set_crs('EPSG:4326') for longitude/latitude."
        )
    crs = CRS.from_user_input(crs)
    if not crs.is_projected:
        raise CRSError(
            f"{what} is in the geographic CRS {crs.to_string()} (degrees); areas and lengths need a projected "
            f"CRS. Reproject explicitly first, e.g. kcn_gis.crs.to_crs(gdf, '{WORKING_CRS}')."
        )
    units = {ax.unit_name for ax in crs.axis_info}
    if not units <= {"metre", "meter"}:
        raise CRSError(f"{what} is in {crs.to_string()} with units {sorted(units)}; kcn_gis needs metres.")
    return crs


@lru_cache(maxsize=8)
def wgs84_transformer(src: str = WORKING_CRS) -> Transformer:
    """Return the transformer from ``src`` to WGS 84 longitude/latitude.

    For VN-2000 based CRSs the EPSG:6960 operation ("VN-2000 to WGS 84 (2)",
    accuracy 1 m, valid for all of Vietnam onshore) is selected explicitly, so
    the result never depends on PROJ's ranking or on a grid being installed.

    Raises
    ------
    CRSError
        If PROJ does not offer the EPSG:6960 operation for a VN-2000 CRS.
    """
    crs = CRS.from_user_input(src)
    geodetic = crs.geodetic_crs
    if geodetic is not None and "VN-2000" in geodetic.name:
        group = TransformerGroup(crs, WGS84, always_xy=True)
        for t in group.transformers:
            if _VN2000_TO_WGS84_2 in t.description:
                return t
        raise CRSError(
            f"PROJ offers no '{_VN2000_TO_WGS84_2}' (EPSG:6960) operation from {crs.to_string()} to WGS 84; "
            "upgrade pyproj/PROJ."
        )
    return Transformer.from_crs(crs, WGS84, always_xy=True)


def _transform_geoms(geoms: np.ndarray, transformer: Transformer) -> np.ndarray:
    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, fn)


def to_wgs84(gdf: gpd.GeoDataFrame, *, reason: str = "web output") -> gpd.GeoDataFrame:
    """Return a copy of ``gdf`` in EPSG:4326 (longitude, latitude) for output.

    Uses :func:`wgs84_transformer`, i.e. EPSG:6960 for VN-2000 data. The
    conversion is logged. Only output (maps, GeoJSON, KML) should call this.

    Parameters
    ----------
    gdf : GeoDataFrame
        Frame in a projected CRS (metres), normally EPSG:9209.
    reason : str
        Why it is converted, for the log.
    """
    if gdf.crs is None:
        raise CRSError("cannot convert a frame without CRS to WGS 84; declare its CRS first.")
    if same_crs(gdf.crs, WGS84):
        return gdf.copy()
    t = wgs84_transformer(CRS.from_user_input(gdf.crs).to_string())
    log.info("reprojecting %d features from %s to EPSG:4326 for %s (%s)", len(gdf), gdf.crs, reason, t.description)
    out = gdf.copy()
    out.geometry.values[:] = _transform_geoms(np.asarray(gdf.geometry.values), t)  # type: ignore[index]
    return out.set_crs(WGS84, allow_override=True)


def to_crs(gdf: gpd.GeoDataFrame, crs: Any, *, what: str = "data") -> gpd.GeoDataFrame:
    """Reproject ``gdf`` explicitly to ``crs`` and log it.

    From WGS 84 to a VN-2000 CRS the inverse of EPSG:6960 is used.

    Raises
    ------
    CRSError
        If ``gdf`` has no CRS.
    """
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS; declare it with gdf.set_crs(...) before reprojecting.")
    if same_crs(gdf.crs, crs):
        return gdf
    target = CRS.from_user_input(crs)
    log.info("reprojecting %s (%d features) from %s to %s", what, len(gdf), gdf.crs, target.to_string())
    if same_crs(gdf.crs, WGS84) and target.geodetic_crs is not None and "VN-2000" in target.geodetic_crs.name:
        inv = wgs84_transformer(target.to_string())
        out = gdf.copy()

        def fn(coords: np.ndarray) -> np.ndarray:
            x, y = inv.transform(coords[:, 0], coords[:, 1], direction="INVERSE")
            return np.column_stack([x, y])

        out.geometry.values[:] = shapely.transform(np.asarray(gdf.geometry.values), fn)  # type: ignore[index]
        return out.set_crs(target, allow_override=True)
    return gdf.to_crs(target)
