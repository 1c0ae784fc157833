"""Raster layers (rasterio): rasterize plots and parcels, zonal statistics, clearance checks against imagery.

* :func:`rasterize` burns plot status or parcel stage into a categorical
  GeoTIFF in the atlas CRS (EPSG:9209), with a colour table from
  :mod:`kcn_gis.style` and the category names in the file's tags.
* :func:`zonal_stats` computes statistics of a user's raster (NDVI, land cover
  ...) per parcel. With exactextract installed the statistics are **exact**:
  each pixel is weighted by the fraction of it the polygon covers (``count`` is
  the sum of those fractions). Without it, a documented fallback uses rasterio
  masks with ``all_touched=False``: a pixel counts fully when its centre lies in
  the polygon, otherwise not (``method`` says which was used).
* :func:`check_clearance` flags parcels whose recorded stage contradicts the
  image: vegetated land recorded as ``handed_over``, bare land still ``notified``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from kcn_gis.crs import require_projected, same_crs
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import STAGES, Col, Event, Layer, ParkStatus, PlotStatus, spec

__all__ = [
    "FLAG_BARE_NOTIFIED",
    "FLAG_VEGETATED_HANDED_OVER",
    "ZONAL_STATS",
    "categories_for",
    "check_clearance",
    "rasterize",
    "rasterize_to_file",
    "zonal_stats",
]

log = logging.getLogger(__name__)

#: Statistics :func:`zonal_stats` returns.
ZONAL_STATS: tuple[str, ...] = ("mean", "min", "max", "count", "sum")
FLAG_VEGETATED_HANDED_OVER = "vegetated_but_handed_over"
FLAG_BARE_NOTIFIED = "bare_but_notified"
_NOT_STARTED = "not_started"


def categories_for(layer: str | Layer, value: str) -> list[str]:
    """Category values in code order (code 1 is the first; 0 is 'no feature').

    ``plots`` by ``status``: planned, acquired, leased. ``parcels`` by ``stage``:
    not_started, then the five stages. ``parks`` by ``status``: operating, construction, preparing.
    """
    s = spec(layer)
    if s.name == Layer.PLOTS and value == "status":
        return [str(v) for v in PlotStatus]
    if s.name == Layer.PARCELS and value == "stage":
        return [_NOT_STARTED, *(str(v) for v in STAGES)]
    if s.name == Layer.PARKS and value == "status":
        return [str(v) for v in ParkStatus]
    raise KcnGisError(
        f"cannot rasterize layer '{s.name}' by '{value}'; use plots/status, parcels/stage or parks/status"
    )


def _colors(layer: Layer, value: str) -> dict[str, str]:
    from kcn_gis.style import NOT_STARTED_COLOR, PARK_STATUS_COLORS, PLOT_STATUS_COLORS, STAGE_COLORS

    if layer == Layer.PLOTS:
        return {str(k): v for k, v in PLOT_STATUS_COLORS.items()}
    if layer == Layer.PARCELS:
        return {_NOT_STARTED: NOT_STARTED_COLOR, **{str(k): v for k, v in STAGE_COLORS.items()}}
    return {str(k): v for k, v in PARK_STATUS_COLORS.items()}


def rasterize(
    frame: gpd.GeoDataFrame,
    values: pd.Series,
    *,
    categories: Sequence[str],
    res: float,
    bounds: tuple[float, float, float, float] | None = None,
) -> tuple[np.ndarray, Any]:
    """Burn categorical ``values`` of polygons into a grid.

    Parameters
    ----------
    frame : GeoDataFrame
        Polygons in a projected CRS (metres).
    values : Series
        Category of each feature (same index); missing values count as the first category.
    categories : sequence of str
        Category names; the code of a category is its position + 1 (0 = no feature).
    res : float
        Pixel size in metres.
    bounds : (xmin, ymin, xmax, ymax), optional
        Grid extent; default: the features' bounds snapped outwards to ``res``.

    Returns
    -------
    (ndarray of uint8, Affine)
        The grid (north up) and its transform. A pixel takes the value of the
        polygon covering its centre; where polygons overlap the later row wins.
    """
    from affine import Affine
    from rasterio.features import rasterize as _burn

    require_projected(frame, "features to rasterize")
    if res <= 0:
        raise KcnGisError(f"--res must be a positive number of metres, not {res}")
    if bounds is None:
        x0, y0, x1, y1 = frame.total_bounds
        x0, y0 = np.floor(x0 / res) * res, np.floor(y0 / res) * res
        x1, y1 = np.ceil(x1 / res) * res, np.ceil(y1 / res) * res
    else:
        x0, y0, x1, y1 = bounds
    width, height = max(1, round((x1 - x0) / res)), max(1, round((y1 - y0) / res))
    if width * height > 400_000_000:
        raise KcnGisError(f"a {width} x {height} grid is too large; use a coarser --res")
    transform = Affine(res, 0.0, x0, 0.0, -(res), y1)
    codes = {c: i + 1 for i, c in enumerate(categories)}
    vals = values.reindex(frame.index)
    shapes = []
    for geom, v in zip(frame.geometry.values, vals, strict=True):
        if geom is None or geom.is_empty:
            continue
        key = categories[0] if v is None or pd.isna(v) else str(v)
        if key not in codes:
            raise KcnGisError(f"value '{v}' is not one of the categories {', '.join(categories)}")
        shapes.append((geom, codes[key]))
    grid = _burn(shapes, out_shape=(height, width), transform=transform, fill=0, dtype="uint8", all_touched=False)
    return grid, transform


def rasterize_to_file(
    frame: gpd.GeoDataFrame,
    layer: str | Layer,
    value: str,
    out: str | os.PathLike[str],
    *,
    res: float,
    as_of: DateLike | None = None,
    events: pd.DataFrame | None = None,
) -> Path:
    """Rasterize a layer by status or stage and write a categorical GeoTIFF in the frame's CRS.

    The file has one ``uint8`` band (0 = no feature, nodata), a colour table from
    :mod:`kcn_gis.style` and tags ``CATEGORIES`` (``"1=planned;2=acquired;..."``)
    and ``AS_OF``.
    """
    import rasterio

    s = spec(layer)
    cats = categories_for(s.name, value)
    if s.name == Layer.PLOTS:
        from kcn_gis.analytics import plot_status

        vals = plot_status(frame, as_of)
    elif s.name == Layer.PARCELS:
        if events is None:
            raise KcnGisError("rasterizing parcels by stage needs the clearance_events table")
        from kcn_gis.clearance import parcel_stages

        st = parcel_stages(events, frame, as_of=as_of)["stage"]
        vals = st.astype(object).where(st.notna(), _NOT_STARTED)
    else:
        vals = frame[Col.STATUS]
    grid, transform = rasterize(frame, vals, categories=cats, res=res)
    colors = _colors(s.name, value)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=grid.shape[1],
        height=grid.shape[0],
        count=1,
        dtype="uint8",
        crs=frame.crs.to_wkt(),
        transform=transform,
        nodata=0,
        compress="deflate",
    ) as ds:
        ds.write(grid, 1)
        cmap = {0: (0, 0, 0, 0)}
        for i, c in enumerate(cats):
            h = colors.get(c, "#808080").lstrip("#")
            cmap[i + 1] = (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16), 255)
        ds.write_colormap(1, cmap)
        ds.update_tags(
            LAYER=str(s.name),
            VALUE=value,
            CATEGORIES=";".join(f"{i + 1}={c}" for i, c in enumerate(cats)),
            AS_OF=str(as_of_date(as_of).date()) if as_of is not None else "today",
        )
        ds.set_band_description(1, f"{s.name} {value}")
    log.info("rasterized %d %s by %s at %s m to %s", len(frame), s.name, value, res, path)
    return path


def _zones_in_raster_crs(zones: gpd.GeoDataFrame, raster_crs: Any) -> gpd.GeoDataFrame:
    if raster_crs is None:
        raise KcnGisError("the raster has no CRS; georeference it (e.g. gdal_edit.py -a_srs EPSG:9209) first")
    if zones.crs is None:
        raise KcnGisError("the zones have no CRS; declare it first")
    if same_crs(zones.crs, raster_crs):
        return zones
    from kcn_gis.interop.crsdetect import to_working_frame

    log.warning("reprojecting the zones from %s to the raster's CRS %s for zonal statistics", zones.crs, raster_crs)
    return to_working_frame(zones, zones.crs, target=CRS.from_user_input(raster_crs), what="zones")


def zonal_stats(
    zones: gpd.GeoDataFrame,
    raster: str | os.PathLike[str],
    *,
    band: int = 1,
    key: str | None = None,
    method: str = "auto",
) -> pd.DataFrame:
    """Statistics of a raster band inside each polygon.

    Parameters
    ----------
    zones : GeoDataFrame
        Polygons (parcels), normally in EPSG:9209. If the raster is in another
        CRS the polygons are reprojected to it (logged); the raster is never resampled.
    raster : path
        A single- or multi-band raster readable by rasterio (GeoTIFF ...).
    band : int, default 1
    key : str, optional
        Column copied into the result (default: the layer key, e.g. ``parcel_id``, when present).
    method : {"auto", "exact", "center"}
        ``exact`` (exactextract): pixels weighted by their covered fraction.
        ``center`` (rasterio masks, ``all_touched=False``): pixels whose centre is
        inside count fully. ``auto`` uses exact when exactextract is installed.

    Returns
    -------
    DataFrame
        Indexed like ``zones``: ``key``, ``mean``, ``min``, ``max``, ``count``
        (pixels, fractional with ``exact``), ``sum`` and ``method``. Nodata pixels
        are ignored; zones covering no valid pixel get NaN (count 0).
    """
    import rasterio

    if method not in ("auto", "exact", "center"):
        raise KcnGisError(f"method '{method}' is not one of auto, exact, center")
    use_exact = method == "exact"
    if method == "auto":
        try:
            import exactextract  # noqa: F401

            use_exact = True
        except ImportError:
            use_exact = False
    if key is None:
        key = next((c for c in (Col.PARCEL_ID, Col.PLOT_ID, Col.PARK_ID) if c in zones.columns), None)
    with rasterio.open(raster) as ds:
        if band < 1 or band > ds.count:
            raise KcnGisError(f"{raster} has {ds.count} band(s); --band {band} does not exist")
        z = _zones_in_raster_crs(zones, ds.crs)
        out = _zonal_exact(z, ds, band) if use_exact else _zonal_center(z, ds, band)
    out.index = zones.index
    if key is not None:
        out.insert(0, str(key), zones[key].to_numpy())
    out["method"] = "exact" if use_exact else "center"
    return out


def _zonal_exact(zones: gpd.GeoDataFrame, ds: Any, band: int) -> pd.DataFrame:
    try:
        from exactextract import exact_extract
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from kcn_gis.errors import MissingDependencyError

        raise MissingDependencyError.for_extra("exactextract", "raster", "Exact zonal statistics") from exc
    from exactextract.raster import RasterioRasterSource

    src = RasterioRasterSource(ds, band_idx=band)
    geo = gpd.GeoDataFrame({"_i": np.arange(len(zones))}, geometry=zones.geometry.to_numpy(), crs=zones.crs)
    res = exact_extract(src, geo, list(ZONAL_STATS), output="pandas", include_cols=["_i"])
    res = res.set_index("_i").reindex(np.arange(len(zones)))
    res["count"] = res["count"].fillna(0.0)
    return res[list(ZONAL_STATS)].reset_index(drop=True)


def _zonal_center(zones: gpd.GeoDataFrame, ds: Any, band: int) -> pd.DataFrame:
    from affine import Affine
    from rasterio.features import geometry_mask
    from rasterio.windows import Window

    t = ds.transform
    if t.b != 0 or t.d != 0:
        raise KcnGisError("the centre method needs a north-up raster; use --method exact")
    rows = []
    nodata = ds.nodatavals[band - 1]
    for geom in zones.geometry.values:
        rec = dict.fromkeys(ZONAL_STATS, np.nan)
        rec["count"] = 0.0
        if geom is not None and not geom.is_empty:
            minx, miny, maxx, maxy = geom.bounds
            c0 = max(0, int(np.floor((minx - t.c) / t.a)))
            c1 = min(ds.width, int(np.ceil((maxx - t.c) / t.a)))
            r0 = max(0, int(np.floor((maxy - t.f) / t.e)))
            r1 = min(ds.height, int(np.ceil((miny - t.f) / t.e)))
            if c1 > c0 and r1 > r0:
                data = ds.read(band, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
                win_t = Affine(t.a, 0.0, t.c + c0 * t.a, 0.0, t.e, t.f + r0 * t.e)
                inside = ~geometry_mask([geom], out_shape=data.shape, transform=win_t, all_touched=False)
                vals = np.asarray(data, dtype="float64")[inside & ~np.ma.getmaskarray(data)]
                if nodata is not None and not np.isnan(nodata):
                    vals = vals[vals != nodata]
                vals = vals[~np.isnan(vals)]
                if vals.size:
                    rec.update(
                        mean=float(vals.mean()),
                        min=float(vals.min()),
                        max=float(vals.max()),
                        count=float(vals.size),
                        sum=float(vals.sum()),
                    )
        rows.append(rec)
    return pd.DataFrame(rows, columns=list(ZONAL_STATS))


def check_clearance(
    parcels: gpd.GeoDataFrame,
    events: pd.DataFrame,
    raster: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    vegetated_above: float = 0.4,
    bare_below: float = 0.2,
    band: int = 1,
    method: str = "auto",
) -> pd.DataFrame:
    """Flag parcels whose recorded clearance stage contradicts an image.

    Parameters
    ----------
    parcels : GeoDataFrame
        The ``parcels`` layer (EPSG:9209).
    events : DataFrame
        The ``clearance_events`` table.
    raster : path
        A vegetation index (e.g. NDVI, -1..1) or any band where high means
        vegetated and low means bare.
    as_of : date-like, optional
        Date of the recorded stage, normally the image date. Default today.
    vegetated_above, bare_below : float
        Thresholds on the parcel's mean value (defaults suit NDVI: > 0.4 is
        vegetation, < 0.2 bare soil or built).

    Returns
    -------
    DataFrame
        Indexed like ``parcels``: ``parcel_id``, ``stage`` (NA = not started),
        ``mean``, ``count``, ``flag`` (``vegetated_but_handed_over``,
        ``bare_but_notified`` or empty) and ``message``.
    """
    from kcn_gis.clearance import parcel_stages

    if bare_below >= vegetated_above:
        raise KcnGisError("bare_below must be smaller than vegetated_above")
    stages = parcel_stages(events, parcels, as_of=as_of)
    stats = zonal_stats(parcels, raster, band=band, method=method, key=str(Col.PARCEL_ID))
    out = pd.DataFrame(index=parcels.index)
    out[str(Col.PARCEL_ID)] = parcels[Col.PARCEL_ID].to_numpy()
    out["stage"] = stages["stage"].reindex(parcels.index)
    out["mean"] = stats["mean"]
    out["count"] = stats["count"]
    flags, messages = [], []
    for stage, mean in zip(out["stage"], out["mean"], strict=True):
        st = None if stage is None or pd.isna(stage) else str(stage)
        if st == Event.HANDED_OVER and not pd.isna(mean) and mean > vegetated_above:
            flags.append(FLAG_VEGETATED_HANDED_OVER)
            messages.append(
                f"recorded as handed over, but the image is vegetated (mean {mean:.2f} > {vegetated_above}); "
                "check whether the land was really cleared"
            )
        elif st == Event.NOTIFIED and not pd.isna(mean) and mean < bare_below:
            flags.append(FLAG_BARE_NOTIFIED)
            messages.append(
                f"only notified, but the image shows bare land (mean {mean:.2f} < {bare_below}); "
                "check for unrecorded clearance or encroachment"
            )
        else:
            flags.append("")
            messages.append("")
    out["flag"] = pd.array(flags, dtype="str")
    out["message"] = pd.array(messages, dtype="str")
    return out
