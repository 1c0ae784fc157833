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


def _dates_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for c in out.columns:
        if c != getattr(out, "geometry", pd.Series()).name and pd.api.types.is_datetime64_any_dtype(out[c]):
            s = out[c]
            is_midnight = (s.dropna() == s.dropna().dt.normalize()).all()
            fmt = "%Y-%m-%d" if is_midnight else "%Y-%m-%dT%H:%M:%S"
            out[c] = pd.array([None if pd.isna(v) else v.strftime(fmt) for v in s], dtype="str")
    return out


def write_vector(frame: gpd.GeoDataFrame, layer: Layer, fmt: str, path: Path) -> None:
    """Write ``frame`` as a single-layer GeoPackage, an RFC 7946 GeoJSON or a Shapefile.

    * GeoPackage (1.2): atlas CRS (EPSG:9209), dates as DATE, the layer's QGIS style in ``layer_styles``.
    * GeoJSON: converted to WGS 84 (EPSG:4326) with EPSG:6960, 9 decimals
      (sub-millimetre), ``RFC7946=YES``; dates as ISO text.
    * Shapefile: atlas CRS with ``.prj``, UTF-8 text with a ``.cpg``, field names
      cut to 10 characters (:func:`shapefile_names`; ``kcn-gis import`` maps them back), and
      the layer's QGIS style in a ``.qml`` beside the ``.shp`` (:mod:`kcn_gis.layer_styles`).
    """
    s = spec(layer)
    if fmt == "gpkg":
        from kcn_gis.store.base import prepare_for_write

        data = prepare_for_write(s, frame)
        if path.exists():
            path.unlink()
        from kcn_gis.store.gpkg_sql import gpkg_version

        pyogrio.write_dataframe(
            data,
            path,
            layer=str(layer),
            driver="GPKG",
            use_arrow=True,
            promote_to_multi=False,
            dataset_options={"VERSION": gpkg_version()},  # GeoPackage 1.2: no warning in QGIS 3.22 / GDAL 3.6
        )
        _gpkg_style(path, str(layer))
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
        data = frame.rename(columns=names)
        for ext in (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qml"):
            path.with_suffix(ext).unlink(missing_ok=True)
        with warnings.catch_warnings():
            # GDAL warns that the DBF cannot store time of day or long text; dates are dates here
            warnings.simplefilter("ignore", RuntimeWarning)
            pyogrio.write_dataframe(data, path, driver="ESRI Shapefile", encoding="UTF-8")
        cpg = path.with_suffix(".cpg")
        if not cpg.exists() or "UTF" not in cpg.read_text(errors="replace").upper():
            cpg.write_text("UTF-8", encoding="ascii")
        from kcn_gis.layer_styles import STYLED_LAYERS, layer_style, to_qml

        if str(layer) in STYLED_LAYERS:  # QGIS styles a Shapefile from the .qml beside it
            path.with_suffix(".qml").write_text(to_qml(layer_style(layer, fields=names)), encoding="utf-8")
    else:  # pragma: no cover - dispatch guards this
        raise KcnGisError(f"unknown vector format {fmt}")


def _gpkg_style(path: Path, layer: str) -> None:
    """Add the layer's default QGIS style (``layer_styles``) to a GeoPackage export."""
    import contextlib
    import datetime as dt
    import sqlite3

    from kcn_gis.store.gpkg_sql import ensure_layer_styles

    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    with contextlib.closing(sqlite3.connect(path)) as con:
        ensure_layer_styles(con, [layer], stamp=stamp)
        con.commit()
