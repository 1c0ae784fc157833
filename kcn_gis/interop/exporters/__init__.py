"""Giving data back: GeoPackage, GeoJSON, KML/KMZ, Shapefile, XLSX, DXF and GeoParquet exports, and charts.

:func:`export_layer` writes one atlas layer for an audience:

* ``internal`` - every column;
* ``investor`` - only the allow-list :data:`kcn_gis.schema.INVESTOR_FIELDS` of the
  layer (the same as the investor map). Parcels and clearance events have no
  investor fields, so they cannot be exported for investors at all, and no
  column of :data:`kcn_gis.schema.PERSONAL_FIELDS` (holder names) can ever
  leave through it (:func:`for_audience` checks this twice).

Coordinates stay in the atlas CRS (EPSG:9209) except GeoJSON and KML, which are
WGS 84 by their specifications and are converted with
:func:`kcn_gis.crs.to_wgs84` (EPSG:6960), logged.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from kcn_gis.dates import DateLike
from kcn_gis.errors import KcnGisError, MissingDependencyError
from kcn_gis.interop.exporters.charts import CHART_FORMATS, write_chart
from kcn_gis.schema import INVESTOR_FIELDS, PERSONAL_FIELDS, Col, Layer, spec

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = [
    "AUDIENCES",
    "CHART_FORMATS",
    "EXPORT_FORMATS",
    "export_frame",
    "export_layer",
    "for_audience",
    "style_values",
    "write_chart",
]

log = logging.getLogger(__name__)

#: Formats of ``kcn-gis export --format``.
EXPORT_FORMATS: tuple[str, ...] = ("gpkg", "geojson", "kml", "kmz", "shp", "xlsx", "dxf", "geoparquet")
#: Audiences of ``kcn-gis export --audience``.
AUDIENCES: tuple[str, ...] = ("internal", "investor")

#: Name of the computed column holding the status (parks, plots) or clearance stage (parcels) used for styling.
STATUS_COLUMN = "status"
STAGE_COLUMN = "stage"


def for_audience(frame: pd.DataFrame, layer: str | Layer, audience: str) -> pd.DataFrame:
    """Return the columns of ``frame`` that ``audience`` may see.

    Parameters
    ----------
    frame : DataFrame or GeoDataFrame
        A layer of the atlas.
    layer : str
        Its layer name.
    audience : {"internal", "investor"}

    Raises
    ------
    KcnGisError
        For an unknown audience, or for ``investor`` on a layer with no investor
        fields (parcels, clearance events).
    """
    if audience not in AUDIENCES:
        raise KcnGisError(f"audience '{audience}' is not one of {', '.join(AUDIENCES)}")
    if audience == "internal":
        return frame
    s = spec(layer)
    allowed = [str(c) for c in INVESTOR_FIELDS[s.name]]
    if not allowed:
        raise KcnGisError(
            f"layer '{s.name}' ({s.label_vi}) is internal: it has no fields investors may see. "
            "Export it with --audience internal, for internal use only."
        )
    keep = [c for c in allowed if c in frame.columns]
    if isinstance(frame, gpd.GeoDataFrame):
        keep.append(frame.geometry.name)
    out = frame[keep].copy()
    leaked = set(out.columns) & PERSONAL_FIELDS
    if leaked:  # pragma: no cover - INVESTOR_FIELDS never lists personal fields; guard anyway
        raise KcnGisError(f"refusing to export personal fields {sorted(leaked)} for investors")
    return out


def style_values(
    frame: pd.DataFrame, layer: str | Layer, *, as_of: DateLike | None = None, events: Any = None
) -> pd.Series | None:
    """The value each feature is styled by: park status, plot status on ``as_of``, parcel stage.

    Returns None for layers styled with one colour (province, rivers) or when
    the needed inputs are missing.
    """
    s = spec(layer)
    if s.name == Layer.PARKS and Col.STATUS in frame.columns:
        return frame[Col.STATUS].astype("str")
    if s.name == Layer.PLOTS:
        from kcn_gis.analytics import plot_status

        return plot_status(frame, as_of)
    if s.name == Layer.PARCELS and events is not None:
        from kcn_gis.clearance import parcel_stages

        stages = parcel_stages(events, frame, as_of=as_of)["stage"]
        return stages.astype("object").where(stages.notna(), None)
    return None


def export_frame(
    frame: pd.DataFrame,
    layer: str | Layer,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    audience: str = "internal",
    as_of: DateLike | None = None,
    events: Any = None,
) -> Path:
    """Write one layer frame to a file.

    Parameters
    ----------
    frame : GeoDataFrame
        The layer, in the atlas CRS (EPSG:9209, metres).
    layer : str
        Its layer name.
    fmt : {"gpkg", "geojson", "kml", "kmz", "shp", "xlsx", "dxf"}
    out : path
        The file to write (a Shapefile writes ``.shp``, ``.shx``, ``.dbf``, ``.prj``, ``.cpg``).
    audience : {"internal", "investor"}
        ``investor`` keeps only the investor allow-list (:func:`for_audience`).
    as_of : date-like, optional
        Date of plot status and parcel stage (KML styling, DXF layers). Default today.
    events : DataFrame, optional
        The ``clearance_events`` table, to style parcels by stage.

    Returns
    -------
    Path
        The file written.
    """
    s = spec(layer)
    styles = (
        style_values(frame, s.name, as_of=as_of, events=events)
        if audience == "internal" or (s.name != Layer.PARCELS)
        else None
    )
    shown = for_audience(frame, s.name, audience)
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt in ("gpkg", "geojson", "shp"):
        from kcn_gis.interop.exporters.vector import write_vector

        write_vector(shown, s.name, fmt, path)
    elif fmt in ("kml", "kmz"):
        from kcn_gis.interop.exporters.kml import write_kml

        write_kml(shown, s.name, path, styles=styles, kmz=fmt == "kmz")
    elif fmt == "xlsx":
        from kcn_gis.interop.exporters.tables import write_xlsx

        write_xlsx(shown, s.name, path, audience=audience)
    elif fmt == "dxf":
        from kcn_gis.interop.exporters.dxf import write_dxf

        write_dxf(shown, s.name, path, styles=styles)
    else:
        raise KcnGisError(f"format '{fmt}' is not one of {', '.join(EXPORT_FORMATS)}")
    log.info("exported %d feature(s) of layer '%s' for %s to %s (%s)", len(shown), s.name, audience, path, fmt)
    return path


def export_layer(
    atlas: Atlas,
    layer: str | Layer,
    fmt: str,
    out: str | os.PathLike[str],
    *,
    audience: str = "internal",
    as_of: DateLike | None = None,
    partitions: int | None = None,
) -> Path:
    """Export one layer of an atlas (or, for ``geoparquet``, the whole atlas).

    Parameters
    ----------
    atlas : Atlas
        An open atlas (:func:`kcn_gis.open_atlas`).
    layer : str
        ``parks``, ``plots``, ``parcels``, ``province`` or ``rivers``.
    fmt : str
        One of :data:`EXPORT_FORMATS`.
    out : path
        File (or directory for ``geoparquet``) to write.
    audience : {"internal", "investor"}
    as_of : date-like, optional
        Date of plot status / parcel stage used for styling.
    partitions : int, optional
        For ``geoparquet``: the number of spatial partitions K (default 8).

    Returns
    -------
    Path
    """
    if fmt == "geoparquet":
        if audience != "internal":
            raise KcnGisError(
                "the GeoParquet export holds the whole atlas (parcels with holder names included): it is internal "
                "only. For investors use --format geojson, kml or xlsx with --audience investor."
            )
        try:
            from kcn_gis.store.geoparquet import write_partitioned
        except ImportError as exc:
            raise MissingDependencyError(
                "the GeoParquet export needs kcn_gis.store.geoparquet.write_partitioned, which this installation "
                f"does not have ({exc}). Update kcn_gis, or install the dask extra: pip install 'kcn_gis[dask]'"
            ) from exc
        return Path(write_partitioned(atlas, out, partitions=partitions or 8))
    s = spec(layer)
    if s.geometry is None:
        raise KcnGisError(
            f"'{s.name}' is an attribute table; export it with kcn-gis clearance/report commands, or as part "
            "of the whole atlas (--format gpkg of each layer, or --format geoparquet)"
        )
    frame = atlas.read(s.name)
    events = None
    if s.name == Layer.PARCELS and audience == "internal" and fmt in ("kml", "kmz", "dxf"):
        events = atlas.read(Layer.CLEARANCE_EVENTS)
    return export_frame(frame, s.name, fmt, out, audience=audience, as_of=as_of, events=events)
