"""GeoPackage, GeoJSON (RFC 7946) and Shapefile (UTF-8 ``.cpg``) writers."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from kcn_gis.crs import to_wgs84
from kcn_gis.errors import KcnGisError
from kcn_gis.schema import Layer, spec

__all__ = ["shapefile_names", "write_vector"]

log = logging.getLogger(__name__)


def shapefile_names(columns: list[str]) -> dict[str, str]:
    """Map column names to unique DBF field names of at most 10 characters (first 10, then numbered)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for c in columns:
        name = c[:10]
        n = 1
        while name.lower() in used:
            suffix = f"_{n}"
            name = c[: 10 - len(suffix)] + suffix
            n += 1
        used.add(name.lower())
        out[c] = name
    return out


def _dates_as_text(frame: pd.DataFrame, *, keep_dates: bool = False) -> pd.DataFrame:
    """Date-time columns as ISO text; with ``keep_dates``, date-only columns become Arrow ``date32`` instead.

    ``date32`` columns written with ``use_arrow=True`` are OGR Date fields: DBF ``D`` fields in a Shapefile.
    """
    import pyarrow as pa

    out = frame.copy()
    for c in out.columns:
        if c != getattr(out, "geometry", pd.Series()).name and pd.api.types.is_datetime64_any_dtype(out[c]):
            s = out[c]
            if getattr(s.dt, "tz", None) is not None:
                s = s.dt.tz_convert("UTC").dt.tz_localize(None)
            is_midnight = (s.dropna() == s.dropna().dt.normalize()).all()
            if keep_dates and is_midnight:
                out[c] = s.dt.normalize().astype("datetime64[ms]").astype(pd.ArrowDtype(pa.date32()))
                continue
            fmt = "%Y-%m-%d" if is_midnight else "%Y-%m-%dT%H:%M:%S"
            out[c] = pd.array([None if pd.isna(v) else v.strftime(fmt) for v in s], dtype="str")
    return out


def write_vector(frame: gpd.GeoDataFrame, layer: Layer, fmt: str, path: Path) -> None:
    """Write ``frame`` as a single-layer GeoPackage, an RFC 7946 GeoJSON or a Shapefile.

    * GeoPackage: atlas CRS (EPSG:9209), dates as DATE.
    * GeoJSON: converted to WGS 84 (EPSG:4326) with EPSG:6960, 9 decimals
      (sub-millimetre), ``RFC7946=YES``; dates as ISO text.
    * Shapefile: atlas CRS with ``.prj``, UTF-8 text with a ``.cpg``, field names
      cut to 10 characters (:func:`shapefile_names`; ``kcn-gis import`` maps them back); dates as DBF
      ``D`` fields, date-times (no DBF type holds them) as ISO text.
    """
    s = spec(layer)
    if fmt == "gpkg":
        from kcn_gis.store.base import prepare_for_write

        data = prepare_for_write(s, frame)
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(data, path, layer=str(layer), driver="GPKG", use_arrow=True, promote_to_multi=False)
    elif fmt == "geojson":
        data = _dates_as_text(to_wgs84(frame, reason=f"GeoJSON export of '{layer}' (RFC 7946)"))
        if path.exists():
            path.unlink()
        pyogrio.write_dataframe(
            data,
            path,
            driver="GeoJSON",
            layer_options={"RFC7946": "YES", "COORDINATE_PRECISION": "9", "WRITE_NAME": "NO"},
        )
    elif fmt == "shp":
        if path.suffix.lower() != ".shp":
            raise KcnGisError(f"{path}: a Shapefile export needs a .shp file name")
        kinds = {str(g).removeprefix("Multi") for g in frame.geometry.geom_type.dropna().unique()}
        if len(kinds) > 1:
            raise KcnGisError(
                f"{path}: a Shapefile holds one geometry type, but layer '{layer}' mixes {', '.join(sorted(kinds))}; "
                "export it as GeoPackage, GeoJSON or KML instead"
            )
        names = shapefile_names([c for c in frame.columns if c != frame.geometry.name])
        data = _dates_as_text(frame, keep_dates=True).rename(columns=names)
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg"):
            path.with_suffix(ext).unlink(missing_ok=True)
        with warnings.catch_warnings():
            # GDAL warns that the DBF cannot store time of day or long text; dates are dates here
            warnings.simplefilter("ignore", RuntimeWarning)
            pyogrio.write_dataframe(data, path, driver="ESRI Shapefile", encoding="UTF-8", use_arrow=True)
        cpg = path.with_suffix(".cpg")
        if not cpg.exists() or "UTF" not in cpg.read_text(errors="replace").upper():
            cpg.write_text("UTF-8", encoding="ascii")
    else:  # pragma: no cover - dispatch guards this
        raise KcnGisError(f"unknown vector format {fmt}")
