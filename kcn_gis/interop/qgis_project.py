"""A QGIS project of an atlas: ``kcn-gis qgis-project --atlas A --out atlas.qgz``.

The project (a ``.qgz``: a zip holding one ``.qgs`` XML document, written here with
:mod:`zipfile` and :mod:`xml.etree`, QGIS is not needed) shows

* the atlas layers ``province``, ``rivers``, ``parks``, ``plots`` and ``parcels``,
  read from the atlas GeoPackage through a path relative to the project file;
* two layers kcn_gis derives on the date ``as_of``, written beside the project in
  ``<name>_derived.gpkg`` (GeoPackage 1.2, with their styles in ``layer_styles``):
  ``banks`` (:func:`kcn_gis.analytics.split_banks`, the two banks of the Đuống) and
  ``clearance`` (the parcels with :func:`kcn_gis.clearance.parcel_stages`: their
  stage and open complaint, without personal fields);

each with the style of :mod:`kcn_gis.layer_styles` (the classes of the HTML maps,
legend in Vietnamese by default), drawn bottom to top in the order of
:data:`kcn_gis.layer_styles.STYLED_LAYERS` (province first, clearance on top; the raw
parcels are listed but switched off, the clearance layer shows them by stage). The
project CRS is EPSG:9209 (VN-2000 / TM-3 105°30′, the atlas CRS) and the view opens on
the province's extent.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import sqlite3
import uuid
import warnings
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd
import pyogrio
from pyproj import CRS

from kcn_gis.crs import WORKING_CRS
from kcn_gis.dates import DateLike, as_of_date
from kcn_gis.errors import KcnGisError
from kcn_gis.layer_styles import BANKS_LAYER, CLEARANCE_LAYER, STYLED_LAYERS, layer_style, to_qml
from kcn_gis.schema import PERSONAL_FIELDS, Col, Layer

if TYPE_CHECKING:
    from kcn_gis.store.base import Atlas

__all__ = ["DERIVED_SUFFIX", "PROJECT_LAYERS", "write_qgis_project"]

log = logging.getLogger(__name__)

#: The derived layers' GeoPackage is ``<project name><DERIVED_SUFFIX>`` beside the project.
DERIVED_SUFFIX = "_derived.gpkg"
#: Layers of the project, drawn bottom first (the layer tree lists them top first).
PROJECT_LAYERS: tuple[str, ...] = STYLED_LAYERS
#: Layers listed in the tree but switched off when the project opens.
_HIDDEN = frozenset({str(Layer.PARCELS)})
_CLEARANCE_FIELDS = (
    Col.PARCEL_ID,
    Col.PARK_ID,
    Col.COMMUNE,
    Col.MAP_SHEET,
    Col.PARCEL_NO,
    Col.LAND_TYPE,
    Col.HOLDER_TYPE,
    Col.LEGAL_AREA_M2,
)
_QGIS_VERSION = "3.22.16-Białowieża"


def _derived_layers(atlas: Atlas, day: pd.Timestamp) -> dict[str, gpd.GeoDataFrame]:
    from kcn_gis.analytics import split_banks
    from kcn_gis.clearance import parcel_stages

    out: dict[str, gpd.GeoDataFrame] = {}
    province, rivers = atlas.province, atlas.rivers
    banks = None
    if len(province) and len(rivers):
        try:
            banks = split_banks(province, rivers)
        except KcnGisError as exc:  # e.g. the Đuống does not cross this atlas's province: no banks layer
            log.warning("QGIS project without the banks layer: %s", exc)
    if banks is not None:
        out[BANKS_LAYER] = gpd.GeoDataFrame(
            {"bank": banks["bank"].astype(str).to_numpy()}, geometry=banks.geometry.values, crs=banks.crs
        )
    parcels = atlas.parcels
    stages = parcel_stages(atlas.clearance_events, parcels, as_of=day)
    cols = [str(c) for c in _CLEARANCE_FIELDS if str(c) in parcels.columns and str(c) not in PERSONAL_FIELDS]
    frame = pd.DataFrame({c: parcels[c].to_numpy() for c in cols})
    frame["stage"] = stages["stage"].astype(object).where(stages["stage"].notna(), None).to_numpy()
    frame["open_complaint"] = stages["open_complaint"].fillna(False).astype(bool).to_numpy()
    frame["last_event_date"] = pd.to_datetime(stages["last_event_date"]).dt.normalize().to_numpy()
    frame["as_of"] = pd.Timestamp(day.date())
    out[CLEARANCE_LAYER] = gpd.GeoDataFrame(frame, geometry=parcels.geometry.values, crs=parcels.crs)
    return out


def _write_derived(path: Path, layers: dict[str, gpd.GeoDataFrame]) -> None:
    """Write the derived layers to a new GeoPackage 1.2 (beside the target, then renamed) with their styles."""
    from kcn_gis.store.gpkg_sql import ensure_layer_styles, gpkg_version

    tmp = path.with_name(f".{path.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.new.gpkg")
    try:
        for i, (name, frame) in enumerate(layers.items()):
            extra: dict[str, Any] = {} if i else {"dataset_options": {"VERSION": gpkg_version()}}
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                pyogrio.write_dataframe(
                    frame, tmp, layer=name, driver="GPKG", geometry_type="Unknown", promote_to_multi=False, **extra
                )
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        with contextlib.closing(sqlite3.connect(tmp)) as con:
            ensure_layer_styles(con, list(layers), stamp=stamp)
            con.commit()
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _srs(parent: ET.Element, crs: Any) -> None:
    from pyproj.enums import WktVersion

    c = CRS.from_user_input(crs)
    epsg = c.to_epsg()
    srs = ET.SubElement(parent, "spatialrefsys", nativeFormat="Wkt")
    ET.SubElement(srs, "wkt").text = c.to_wkt(WktVersion.WKT2_2019)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ET.SubElement(srs, "proj4").text = c.to_proj4()
    ET.SubElement(srs, "srsid").text = "0"
    ET.SubElement(srs, "srid").text = str(epsg or 0)
    ET.SubElement(srs, "authid").text = f"EPSG:{epsg}" if epsg else ""
    ET.SubElement(srs, "description").text = c.name
    ET.SubElement(srs, "projectionacronym").text = "tmerc"
    ET.SubElement(srs, "ellipsoidacronym").text = "EPSG:7030"
    ET.SubElement(srs, "geographicflag").text = "true" if c.is_geographic else "false"


def _extent(parent: ET.Element, tag: str, bounds: Sequence[float], **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, tag, attrib)
    for k, v in zip(("xmin", "ymin", "xmax", "ymax"), bounds, strict=True):
        ET.SubElement(el, k).text = repr(float(v))
    return el


def _relative(target: Path, project_dir: Path) -> str:
    rel = os.path.relpath(target.resolve(), project_dir.resolve()).replace(os.sep, "/")
    return rel if rel.startswith("../") else f"./{rel}"


def write_qgis_project(
    atlas: Atlas,
    out: str | os.PathLike[str],
    *,
    as_of: DateLike | None = None,
    lang: str = "vi",
) -> Path:
    """Write a QGIS project (``.qgz``) of a GeoPackage atlas, with the kcn_gis styles.

    Parameters
    ----------
    atlas : Atlas
        An open GeoPackage atlas (EPSG:9209). PostGIS atlases: pull one first
        (``kcn-gis db pull``); QGIS reads their styles straight from ``public.layer_styles``.
    out : path
        The project file; must end in ``.qgz``. ``<name>_derived.gpkg`` (the derived
        ``banks`` and ``clearance`` layers) is written beside it.
    as_of : date-like, optional
        Date of the clearance stages and of the plots' lease state (default: today).
    lang : {"vi", "en"}, default "vi"
        Language of layer names and legend labels.

    Returns
    -------
    pathlib.Path
        The project written. Layer paths inside it are relative to the project file.

    Raises
    ------
    KcnGisError
        If ``out`` is not a ``.qgz``, the atlas is not a GeoPackage, or ``lang`` is unknown.
    """
    from kcn_gis.store.gpkg import GeoPackageBackend

    if lang not in ("vi", "en"):
        raise KcnGisError(f"language '{lang}' is not supported; use 'vi' (Vietnamese) or 'en' (English)")
    path = Path(out)
    if path.suffix.lower() != ".qgz":
        raise KcnGisError(f"{path}: a QGIS project is written as a .qgz file; use --out NAME.qgz")
    backend = atlas.backend
    if not isinstance(backend, GeoPackageBackend):
        raise KcnGisError(
            f"{atlas.location}: a QGIS project is written for a GeoPackage atlas. Pull the PostGIS atlas into one "
            "first (kcn-gis db pull --from URL --to atlas.gpkg); QGIS reads a PostGIS atlas's styles from public.layer_styles."
        )
    day = as_of_date(as_of)
    path.parent.mkdir(parents=True, exist_ok=True)
    derived_path = path.with_name(path.stem + DERIVED_SUFFIX)
    derived = _derived_layers(atlas, day)
    _write_derived(derived_path, derived)

    crs = atlas.crs if atlas.crs is not None else WORKING_CRS
    province = atlas.province
    if len(province):
        bounds = [float(v) for v in province.total_bounds]
    else:
        bounds = [float(v) for v in atlas.parks.total_bounds] if len(atlas.parks) else [0.0, 0.0, 1.0, 1.0]

    present = set(backend.list_layers())
    sources: list[tuple[str, str]] = []  # (layer, datasource)
    for name in PROJECT_LAYERS:
        if name in derived:
            sources.append((name, f"{_relative(derived_path, path.parent)}|layername={name}"))
        elif name in present:
            sources.append((name, f"{_relative(backend.path, path.parent)}|layername={name}"))
    ids = {name: f"{name}_{uuid.uuid5(uuid.NAMESPACE_URL, name + src).hex[:12]}" for name, src in sources}

    title_text = "Khu công nghiệp tỉnh Bắc Ninh" if lang == "vi" else "Bắc Ninh industrial parks"
    root = ET.Element("qgis", projectname=title_text, version=_QGIS_VERSION)
    ET.SubElement(root, "homePath", path="")
    ET.SubElement(root, "title").text = title_text
    ET.SubElement(root, "autotransaction", active="0")
    ET.SubElement(root, "evaluateDefaultValues", active="0")
    ET.SubElement(root, "trust", active="0")
    _srs(ET.SubElement(root, "projectCrs"), crs)

    tree = ET.SubElement(root, "layer-tree-group")
    ET.SubElement(tree, "customproperties")
    for name, src in reversed(sources):  # the tree lists the top layer first
        style = layer_style(name, as_of=day.date())
        node = ET.SubElement(
            tree,
            "layer-tree-layer",
            id=ids[name],
            name=style.title.get(lang, name),
            source=src,
            providerKey="ogr",
            checked="Qt::Unchecked" if name in _HIDDEN else "Qt::Checked",
            expanded="1" if style.categorized else "0",
            legend_exp="",
        )
        ET.SubElement(node, "customproperties")

    canvas = ET.SubElement(root, "mapcanvas", name="theMapCanvas", annotationsVisible="1")
    ET.SubElement(canvas, "units").text = "meters"
    _extent(canvas, "extent", bounds)
    ET.SubElement(canvas, "rotation").text = "0"
    _srs(ET.SubElement(canvas, "destinationsrs"), crs)
    ET.SubElement(canvas, "rendermaptile").text = "0"

    layers_el = ET.SubElement(root, "projectlayers")
    for name, src in sources:
        style = layer_style(name, as_of=day.date())
        qml = ET.fromstring(to_qml(style, lang=lang).split("\n", 1)[1])
        ml = ET.SubElement(
            layers_el,
            "maplayer",
            type="vector",
            geometry="Line" if style.geometry == "line" else "Polygon",
            labelsEnabled=qml.get("labelsEnabled", "0"),
            simplifyDrawingHints="1",
            simplifyDrawingTol="1",
            simplifyLocal="1",
            simplifyMaxScale="1",
            simplifyAlgorithm="0",
            readOnly="0",
            autoRefreshEnabled="0",
            autoRefreshTime="0",
            styleCategories="AllStyleCategories",
            hasScaleBasedVisibilityFlag="0",
            minScale="100000000",
            maxScale="0",
            refreshOnNotifyEnabled="0",
            refreshOnNotifyMessage="",
        )
        ET.SubElement(ml, "id").text = ids[name]
        ET.SubElement(ml, "datasource").text = src
        ET.SubElement(ml, "layername").text = style.title.get(lang, name)
        _srs(ET.SubElement(ml, "srs"), crs)
        ET.SubElement(ml, "provider", encoding="UTF-8").text = "ogr"
        for child in qml:
            if child.tag != "layerGeometryType":
                ml.append(child)
        ET.SubElement(ml, "blendMode").text = "0"
        ET.SubElement(ml, "featureBlendMode").text = "0"
        ET.SubElement(ml, "layerOpacity").text = "1"

    order = ET.SubElement(root, "layerorder")
    for name, _ in reversed(sources):
        ET.SubElement(order, "layer", id=ids[name])

    props = ET.SubElement(root, "properties")
    paths = ET.SubElement(props, "Paths")
    ET.SubElement(paths, "Absolute", type="bool").text = "false"
    srs_props = ET.SubElement(props, "SpatialRefSys")
    ET.SubElement(srs_props, "ProjectionsEnabled", type="int").text = "1"  # QGIS reads <projectCrs> only then
    ET.SubElement(srs_props, "ProjectCrs", type="QString").text = CRS.from_user_input(crs).to_string()
    units = ET.SubElement(props, "Measurement")
    ET.SubElement(units, "DistanceUnits", type="QString").text = "meters"
    ET.SubElement(units, "AreaUnits", type="QString").text = "ha"

    view = ET.SubElement(root, "ProjectViewSettings", UseProjectScales="0", rotation="0")
    ET.SubElement(view, "Scales")
    dve = ET.SubElement(
        view,
        "DefaultViewExtent",
        xmin=repr(bounds[0]),
        ymin=repr(bounds[1]),
        xmax=repr(bounds[2]),
        ymax=repr(bounds[3]),
    )
    _srs(dve, crs)

    ET.indent(root)
    text = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr(f"{path.stem}.qgs", text.encode("utf-8"))
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    log.info("wrote QGIS project %s (%d layers, as of %s) and %s", path, len(sources), day.date(), derived_path.name)
    return path
