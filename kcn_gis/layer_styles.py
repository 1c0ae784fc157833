"""QGIS (QML) and SLD styles of the atlas layers, built from the style classes the HTML maps use.

A GeoPackage or PostGIS atlas carries these styles in its ``layer_styles`` table
(the OGC / QGIS convention), so QGIS opens every layer with the project's classes,
colours and Vietnamese legend instead of a random colour. The classes are the very
objects the HTML maps draw and explain (:mod:`kcn_gis.style`): nothing is restated
here but how a Leaflet path style reads in QGIS and SLD.

=================  =====================================================  ==========
layer              classes (as in the HTML maps)                          renderer
=================  =====================================================  ==========
``province``       the dashed outline                                     single
``rivers``         the Đuống (heavier) and the other rivers               categorized
``parks``          by status (3)                                          categorized
``plots``          industrial by lease state on a date (3), the other     categorized
                   land uses (4), as on the investor map
``parcels``        grey outlines, as on the planning map (the clearance   single
                   stage is not stored on parcels: see ``clearance``)
``banks``          north and south bank of the Đuống (derived layer)      categorized
``clearance``      parcels by clearance stage, with and without an open   categorized
                   complaint (12), as on the clearance map (derived layer)
=================  =====================================================  ==========

``banks`` and ``clearance`` are not atlas layers: :mod:`kcn_gis.interop.qgis_project`
computes them (``split_banks``, ``parcel_stages``) and writes them beside a QGIS
project. The plot classes depend on a date: the QML compares the plot's dates
with ``as_of`` (default: QGIS's today, ``now()``), exactly as
:func:`kcn_gis.analytics.plot_status` does. SLD has no "today", so the SLD classes
plots by the dates recorded (a recorded date counts as passed), which is the same
while no date lies in the future.

Everything here is pure (strings in, strings out, no I/O); the store writes the rows
(:func:`style_rows`) into the atlas.

Widths: Leaflet ``weight`` is in screen pixels and is written in QGIS's ``Pixel`` unit;
opacities (0-1) become the alpha of the colours.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kcn_gis.schema import ATLAS_LAYERS, DUONG, Col, LandUse, Layer
from kcn_gis.style import (
    StyleClass,
    bank_classes,
    investor_plot_classes,
    park_status_classes,
    province_classes,
    river_classes,
    stage_classes,
)

__all__ = [
    "BANKS_LAYER",
    "CLEARANCE_LAYER",
    "LAYER_STYLES_COLUMNS",
    "LAYER_STYLES_TABLE",
    "STYLED_LAYERS",
    "STYLE_NAME",
    "LayerStyle",
    "layer_style",
    "parcel_classes",
    "style_rows",
    "to_qml",
    "to_sld",
]

#: The table QGIS reads default styles from (GeoPackage, PostGIS, SpatiaLite).
LAYER_STYLES_TABLE = "layer_styles"
#: Its columns, in QGIS's order (PostGIS adds QGIS's ``type``, left NULL).
LAYER_STYLES_COLUMNS: tuple[str, ...] = (
    "f_table_catalog",
    "f_table_schema",
    "f_table_name",
    "f_geometry_column",
    "styleName",
    "styleQML",
    "styleSLD",
    "useAsDefault",
    "description",
    "owner",
    "ui",
    "update_time",
)
#: ``styleName`` of the styles kcn_gis writes.
STYLE_NAME = "kcn_gis"
#: Derived layer: the two banks of the Đuống (column ``bank``), written by ``kcn-gis qgis-project``.
BANKS_LAYER = "banks"
#: Derived layer: parcels with their clearance ``stage`` and ``open_complaint`` on a date.
CLEARANCE_LAYER = "clearance"
#: Layers with a style, in drawing order (bottom first); derived layers included.
STYLED_LAYERS: tuple[str, ...] = (
    str(Layer.PROVINCE),
    BANKS_LAYER,
    str(Layer.RIVERS),
    str(Layer.PARKS),
    str(Layer.PLOTS),
    str(Layer.PARCELS),
    CLEARANCE_LAYER,
)

_QGIS_VERSION = "3.22.16-Białowieża"


def parcel_classes() -> list[StyleClass]:
    """Cadastral parcels as the planning map draws them: a thin grey outline, no fill."""
    return [
        StyleClass(
            "parcel",
            {"vi": ATLAS_LAYERS[Layer.PARCELS].label_vi, "en": ATLAS_LAYERS[Layer.PARCELS].label_en},
            {"color": "#7f7f7f", "weight": 0.5, "opacity": 0.9, "fill": False},
            kind="outline",
        )
    ]


# -- filters: one tree, written as a QGIS expression and as an OGC filter -----------------------------


@dataclass(frozen=True)
class _F:
    op: str  # "eq", "null", "not", "and", "or", "else"
    args: tuple[Any, ...] = ()


def _eq(column: str, value: str) -> _F:
    return _F("eq", (column, value))


def _null(column: str) -> _F:
    return _F("null", (column,))


def _not(f: _F) -> _F:
    return _F("not", (f,))


def _and(*fs: _F) -> _F:
    return _F("and", fs)


_ELSE = _F("else")


@dataclass(frozen=True)
class LayerStyle:
    """The style of one layer: its classes and how a feature picks one.

    Attributes
    ----------
    layer : str
        Table name (an atlas layer, or a derived layer ``banks`` / ``clearance``).
    geometry : {"polygon", "line"}
    classes : tuple of StyleClass
        The classes, as the HTML maps draw them; one class means a single-symbol style.
    classify : str or None
        A field name or QGIS expression whose value is a class key (None: single symbol).
    filters : tuple
        Per class, the SLD filter (the same choice as ``classify``, without "today").
    label_field : str or None
        Field drawn as a text label (the Vietnamese name), if any.
    title : dict
        The layer's name in Vietnamese (``vi``) and English (``en``).
    """

    layer: str
    geometry: str
    classes: tuple[StyleClass, ...]
    classify: str | None = None
    filters: tuple[_F, ...] = field(default_factory=tuple)
    label_field: str | None = None
    title: dict[str, str] = field(default_factory=dict)

    @property
    def categorized(self) -> bool:
        return self.classify is not None


def _q(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _reached(column: str, day: str) -> str:
    """QGIS expression: the date in ``column`` is recorded and not after ``day`` (an expression)."""
    return f"({_q(column)} IS NOT NULL AND to_date({_q(column)}) <= {day})"


def _plot_expression(as_of: dt.date | None, col: Callable[[str], str]) -> str:
    day = "to_date(now())" if as_of is None else f"to_date({_lit(as_of.isoformat())})"
    lu = _q(col(str(Col.LAND_USE)))
    others = ", ".join(_lit(str(u)) for u in LandUse if u not in (LandUse.INDUSTRIAL, LandUse.OTHER))
    return (
        f"CASE WHEN {lu} = {_lit(str(LandUse.INDUSTRIAL))} THEN CASE "
        f"WHEN {_reached(col(str(Col.LEASED_ON)), day)} AND NOT {_reached(col(str(Col.LEASE_ENDED_ON)), day)} "
        f"THEN 'industrial:leased' "
        f"WHEN {_reached(col(str(Col.ACQUIRED_ON)), day)} THEN 'industrial:acquired' "
        f"ELSE 'industrial:planned' END "
        f"WHEN {lu} IN ({others}) THEN {lu} "
        f"ELSE {_lit(str(LandUse.OTHER))} END"
    )


def _title(layer: Layer) -> dict[str, str]:
    s = ATLAS_LAYERS[layer]
    return {"vi": s.label_vi, "en": s.label_en}


def layer_style(
    layer: str | Layer, *, as_of: dt.date | None = None, fields: Mapping[str, str] | None = None
) -> LayerStyle:
    """The style of ``layer`` (an atlas layer or ``banks`` / ``clearance``).

    Parameters
    ----------
    layer : str
        One of :data:`STYLED_LAYERS`.
    as_of : datetime.date, optional
        Date of the plots' lease state in the QML; default QGIS's today (``now()``).
    fields : mapping of str to str, optional
        Column names as stored, when they differ from the data model's (a Shapefile's
        10-character DBF names, :func:`kcn_gis.interop.exporters.vector.shapefile_names`).

    Raises
    ------
    KeyError
        For a layer without a style (attribute tables, facilities).
    """
    name = str(layer)
    rename = dict(fields or {})

    def col(column: str) -> str:
        return rename.get(column, column)

    if name == Layer.PROVINCE:
        return LayerStyle(name, "polygon", tuple(province_classes()), title=_title(Layer.PROVINCE))
    if name == Layer.RIVERS:
        classes = tuple(river_classes())
        return LayerStyle(
            name,
            "line",
            classes,
            classify=f"CASE WHEN {_q(col(str(Col.NAME)))} = {_lit(DUONG)} THEN 'duong' ELSE 'river' END",
            filters=(_eq(col(str(Col.NAME)), DUONG), _ELSE),
            label_field=col(str(Col.NAME)),
            title=_title(Layer.RIVERS),
        )
    if name == Layer.PARKS:
        classes = tuple(park_status_classes())
        return LayerStyle(
            name,
            "polygon",
            classes,
            classify=col(str(Col.STATUS)),
            filters=tuple(_eq(col(str(Col.STATUS)), c.key) for c in classes),
            label_field=col(str(Col.NAME)),
            title=_title(Layer.PARKS),
        )
    if name == Layer.PLOTS:
        classes = tuple(investor_plot_classes())
        lu = col(str(Col.LAND_USE))
        ind = _eq(lu, str(LandUse.INDUSTRIAL))
        lease_runs = _and(_not(_null(col(str(Col.LEASED_ON)))), _null(col(str(Col.LEASE_ENDED_ON))))
        leased = _and(ind, lease_runs)
        acquired = _and(ind, _not(_null(col(str(Col.ACQUIRED_ON)))), _not(lease_runs))
        planned = _and(ind, _null(col(str(Col.ACQUIRED_ON))), _not(lease_runs))
        by_key = {"industrial:planned": planned, "industrial:acquired": acquired, "industrial:leased": leased}
        filters = tuple(by_key.get(c.key, _ELSE if c.key == LandUse.OTHER else _eq(lu, c.key)) for c in classes)
        return LayerStyle(
            name, "polygon", classes, classify=_plot_expression(as_of, col), filters=filters, title=_title(Layer.PLOTS)
        )
    if name == Layer.PARCELS:
        return LayerStyle(name, "polygon", tuple(parcel_classes()), title=_title(Layer.PARCELS))
    if name == BANKS_LAYER:
        classes = tuple(bank_classes())
        return LayerStyle(
            name,
            "polygon",
            classes,
            classify=col("bank"),
            filters=tuple(_eq(col("bank"), c.key) for c in classes),
            title={"vi": "Bờ Bắc, bờ Nam sông Đuống", "en": "North and south banks of the Đuống"},
        )
    if name == CLEARANCE_LAYER:
        classes = tuple(stage_classes())
        n = len(classes) // 2
        stage_filters: list[_F] = []
        for c in classes:
            stage, _, complaint = c.key.partition(":")
            f_stage = _null(col("stage")) if stage == "not_started" else _eq(col("stage"), stage)
            f_c = _eq(col("open_complaint"), "1") if complaint else _not(_eq(col("open_complaint"), "1"))
            stage_filters.append(_and(f_stage, f_c))
        assert len(stage_filters) == 2 * n
        return LayerStyle(
            name,
            "polygon",
            classes,
            classify=f"coalesce({_q(col('stage'))}, 'not_started') || "
            f"CASE WHEN {_q(col('open_complaint'))} THEN ':complaint' ELSE '' END",
            filters=tuple(stage_filters),
            title={"vi": "Tiến độ giải phóng mặt bằng theo thửa", "en": "Land clearance by parcel"},
        )
    raise KeyError(f"layer '{name}' has no kcn_gis style; styled layers: {', '.join(STYLED_LAYERS)}")


# -- QML ----------------------------------------------------------------------------------------------


def _rgba(color: str, alpha: float) -> str:
    h = color.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"{r},{g},{b},{round(max(0.0, min(1.0, float(alpha))) * 255)}"


def _options(parent: ET.Element, values: Mapping[str, str]) -> None:
    opt = ET.SubElement(parent, "Option", type="Map")
    for k, v in values.items():
        ET.SubElement(opt, "Option", name=k, type="QString", value=str(v))


def _dash(style: Mapping[str, Any]) -> str | None:
    d = style.get("dashArray")
    if not d:
        return None
    return ";".join(str(x) for x in str(d).replace(",", " ").split())


def _line_props(style: Mapping[str, Any]) -> dict[str, str]:
    dash = _dash(style)
    return {
        "line_color": _rgba(style.get("color", "#000000"), style.get("opacity", 1.0)),
        "line_width": f"{float(style.get('weight', 1)):g}",
        "line_width_unit": "Pixel",
        "line_style": "solid",
        "use_custom_dash": "1" if dash else "0",
        "customdash": dash or "5;2",
        "customdash_unit": "Pixel",
        "capstyle": "round",
        "joinstyle": "round",
        "offset": "0",
        "offset_unit": "Pixel",
    }


def _symbol(parent: ET.Element, name: str, cls: StyleClass, geometry: str) -> None:
    st = cls.style
    kind = "line" if geometry == "line" else "fill"
    sym = ET.SubElement(
        parent, "symbol", type=kind, name=name, alpha="1", clip_to_extent="1", force_rhr="0", is_animated="0"
    )
    weight = float(st.get("weight", 1))
    if kind == "line":
        layer = ET.SubElement(sym, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
        _options(layer, _line_props(st))
        return
    filled = st.get("fill", True) is not False
    if _dash(st) and not filled:
        # an outline only, dashed: a simple line drawn as the polygon's outline
        layer = ET.SubElement(sym, "layer", {"class": "SimpleLine", "enabled": "1", "locked": "0", "pass": "0"})
        _options(layer, _line_props(st))
        return
    props = {
        "color": _rgba(st.get("fillColor", st.get("color", "#000000")), st.get("fillOpacity", 0.2) if filled else 0),
        "style": "solid" if filled else "no",
        "outline_color": _rgba(st.get("color", "#000000"), st.get("opacity", 1.0)),
        "outline_style": "solid" if weight > 0 else "no",
        "outline_width": f"{weight:g}",
        "outline_width_unit": "Pixel",
        "joinstyle": "round",
        "offset": "0,0",
        "offset_unit": "Pixel",
        "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
    }
    layer = ET.SubElement(sym, "layer", {"class": "SimpleFill", "enabled": "1", "locked": "0", "pass": "0"})
    _options(layer, props)


def _labeling(root: ET.Element, style: LayerStyle) -> None:
    assert style.label_field is not None
    lab = ET.SubElement(root, "labeling", type="simple")
    settings = ET.SubElement(lab, "settings", calloutType="simple")
    text = ET.SubElement(
        settings,
        "text-style",
        fieldName=style.label_field,
        isExpression="0",
        fontFamily="Noto Sans",
        fontSize="8",
        fontSizeUnit="Point",
        fontWeight="50",
        fontItalic="1" if style.geometry == "line" else "0",
        textColor="30,30,30,255" if style.geometry != "line" else "31,95,140,255",
        textOpacity="1",
        namedStyle="Regular",
        multilineHeight="1",
        allowHtml="0",
    )
    ET.SubElement(
        text,
        "text-buffer",
        bufferDraw="1",
        bufferSize="1",
        bufferSizeUnits="MM",
        bufferColor="255,255,255,255",
        bufferOpacity="0.8",
        bufferJoinStyle="128",
        bufferNoFill="1",
    )
    ET.SubElement(settings, "text-format", wrapChar="", autoWrapLength="0", multilineAlign="3", plussign="0")
    # placement 1 = over the polygon's centroid ("OverPoint"), 2 = along the line ("Line")
    ET.SubElement(
        settings,
        "placement",
        placement="2" if style.geometry == "line" else "1",
        placementFlags="10",
        centroidInside="1",
        centroidWhole="0",
        dist="0",
        distUnits="MM",
        priority="5",
        offsetType="0",
        fitInPolygonOnly="0",
        overrunDistance="0",
        overrunDistanceUnit="MM",
        repeatDistance="0",
    )
    ET.SubElement(
        settings,
        "rendering",
        drawLabels="1",
        obstacle="1",
        obstacleType="1",
        scaleVisibility="0",
        upsidedownLabels="0",
        limitNumLabels="0",
        maxNumLabels="2000",
        mergeLines="1" if style.geometry == "line" else "0",
        labelPerPart="0",
        displayAll="0",
        minFeatureSize="0",
        fontLimitPixelSize="0",
        zIndex="0",
    )


def to_qml(style: LayerStyle, *, lang: str = "vi") -> str:
    """The QGIS style document (QML) of ``style``: renderer, symbols, legend labels and text labels.

    Parameters
    ----------
    style : LayerStyle
        From :func:`layer_style`.
    lang : {"vi", "en"}, default "vi"
        Language of the legend labels.

    Returns
    -------
    str
        A QML document (XML) as QGIS 3.22 writes and reads it; categories are keyed by the
        class keys, labelled in ``lang``.
    """
    root = ET.Element(
        "qgis",
        version=_QGIS_VERSION,
        styleCategories="Symbology|Labeling",
        labelsEnabled="1" if style.label_field else "0",
    )
    if style.categorized:
        assert style.classify is not None
        r = ET.SubElement(
            root,
            "renderer-v2",
            type="categorizedSymbol",
            attr=style.classify,
            symbollevels="0",
            enableorderby="0",
            forceraster="0",
            referencescale="-1",
        )
        cats = ET.SubElement(r, "categories")
        for i, c in enumerate(style.classes):
            ET.SubElement(
                cats, "category", render="true", symbol=str(i), value=c.key, label=c.label[lang], type="string"
            )
        syms = ET.SubElement(r, "symbols")
        for i, c in enumerate(style.classes):
            _symbol(syms, str(i), c, style.geometry)
    else:
        r = ET.SubElement(
            root,
            "renderer-v2",
            type="singleSymbol",
            symbollevels="0",
            enableorderby="0",
            forceraster="0",
            referencescale="-1",
        )
        syms = ET.SubElement(r, "symbols")
        _symbol(syms, "0", style.classes[0], style.geometry)
    if style.label_field:
        _labeling(root, style)
    ET.SubElement(root, "layerGeometryType").text = "1" if style.geometry == "line" else "2"
    ET.indent(root)
    return "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n" + ET.tostring(root, encoding="unicode") + "\n"


# -- SLD ----------------------------------------------------------------------------------------------

_SLD = "http://www.opengis.net/sld"
_SE = "http://www.opengis.net/se"
_OGC = "http://www.opengis.net/ogc"
_XSI = "http://www.w3.org/2001/XMLSchema-instance"
_XLINK = "http://www.w3.org/1999/xlink"


def _se(parent: ET.Element, tag: str, text: str | None = None, **attrib: str) -> ET.Element:
    el = ET.SubElement(parent, f"{{{_SE}}}{tag}", attrib)
    if text is not None:
        el.text = text
    return el


def _ogc_filter(parent: ET.Element, f: _F) -> None:
    def build(p: ET.Element, f: _F) -> None:
        if f.op == "eq":
            el = ET.SubElement(p, f"{{{_OGC}}}PropertyIsEqualTo")
            ET.SubElement(el, f"{{{_OGC}}}PropertyName").text = f.args[0]
            ET.SubElement(el, f"{{{_OGC}}}Literal").text = f.args[1]
        elif f.op == "null":
            el = ET.SubElement(p, f"{{{_OGC}}}PropertyIsNull")
            ET.SubElement(el, f"{{{_OGC}}}PropertyName").text = f.args[0]
        elif f.op in ("and", "not"):
            el = ET.SubElement(p, f"{{{_OGC}}}{'And' if f.op == 'and' else 'Not'}")
            for a in f.args:
                build(el, a)
        else:  # pragma: no cover - the builders above make only these
            raise ValueError(f.op)

    flt = ET.SubElement(parent, f"{{{_OGC}}}Filter")
    build(flt, f)


def _svg(parent: ET.Element, name: str, value: str) -> None:
    _se(parent, "SvgParameter", value, name=name)


def _symbolizer(rule: ET.Element, cls: StyleClass, geometry: str) -> None:
    st = cls.style
    weight = float(st.get("weight", 1))
    if geometry == "line":
        sym = _se(rule, "LineSymbolizer")
    else:
        sym = _se(rule, "PolygonSymbolizer")
        if st.get("fill", True) is not False:
            fill = _se(sym, "Fill")
            _svg(fill, "fill", str(st.get("fillColor", st.get("color", "#000000"))).lower())
            _svg(fill, "fill-opacity", f"{float(st.get('fillOpacity', 0.2)):g}")
    if weight > 0:
        stroke = _se(sym, "Stroke")
        _svg(stroke, "stroke", str(st.get("color", "#000000")).lower())
        _svg(stroke, "stroke-opacity", f"{float(st.get('opacity', 1.0)):g}")
        _svg(stroke, "stroke-width", f"{weight:g}")
        _svg(stroke, "stroke-linejoin", "round")
        dash = _dash(st)
        if dash:
            _svg(stroke, "stroke-dasharray", dash.replace(";", " "))


def to_sld(style: LayerStyle, *, lang: str = "vi") -> str:
    """The SLD 1.1 (Symbology Encoding) document of ``style``, one rule per class.

    Rules are titled in ``lang``; plots are classed by the dates recorded (SLD has no
    "today", see the module notes). Stroke widths are in pixels.
    """
    ET.register_namespace("", _SLD)
    ET.register_namespace("se", _SE)
    ET.register_namespace("ogc", _OGC)
    ET.register_namespace("xsi", _XSI)
    ET.register_namespace("xlink", _XLINK)
    root = ET.Element(
        f"{{{_SLD}}}StyledLayerDescriptor",
        {
            "version": "1.1.0",
            f"{{{_XSI}}}schemaLocation": f"{_SLD} http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd",
        },
    )
    nl = ET.SubElement(root, f"{{{_SLD}}}NamedLayer")
    _se(nl, "Name", style.layer)
    us = ET.SubElement(nl, f"{{{_SLD}}}UserStyle")
    _se(us, "Name", style.layer)
    desc = _se(us, "Description")
    _se(desc, "Title", style.title.get(lang, style.layer))
    fts = _se(us, "FeatureTypeStyle")
    for i, c in enumerate(style.classes):
        rule = _se(fts, "Rule")
        _se(rule, "Name", c.key)
        d = _se(rule, "Description")
        _se(d, "Title", c.label[lang])
        f = style.filters[i] if style.categorized else None
        if f is not None and f.op == "else":
            _se(rule, "ElseFilter")
        elif f is not None:
            _ogc_filter(rule, f)
        _symbolizer(rule, c, style.geometry)
    if style.label_field:
        rule = _se(fts, "Rule")
        _se(rule, "Name", "labels")
        ts = _se(rule, "TextSymbolizer")
        lab = _se(ts, "Label")
        ET.SubElement(lab, f"{{{_OGC}}}PropertyName").text = style.label_field
        font = _se(ts, "Font")
        _svg(font, "font-family", "Noto Sans")
        _svg(font, "font-size", "11")
        halo = _se(ts, "Halo")
        _se(halo, "Radius", "1")
        fill = _se(halo, "Fill")
        _svg(fill, "fill", "#ffffff")
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# -- rows of the layer_styles table -------------------------------------------------------------------


def style_rows(
    geometry_columns: Mapping[str, str],
    *,
    catalog: str = "",
    schema: str = "",
    as_of: dt.date | None = None,
    lang: str = "vi",
    update_time: str | None = None,
) -> list[dict[str, Any]]:
    """The ``layer_styles`` rows of the styled layers among ``geometry_columns``.

    Parameters
    ----------
    geometry_columns : mapping of str to str
        Table name -> its geometry column (``geom`` in a GeoPackage written by GDAL,
        ``geometry`` in PostGIS). Tables without a style are left out.
    catalog, schema : str
        ``f_table_catalog`` / ``f_table_schema``: empty in a GeoPackage; the database and
        the PostgreSQL schema in PostGIS.
    as_of : datetime.date, optional
        Date of the plots' lease state (default: QGIS's today).
    lang : {"vi", "en"}, default "vi"
    update_time : str, optional
        ISO timestamp (UTC) for ``update_time``; None leaves it to the table's default.

    Returns
    -------
    list of dict
        One row per styled layer, keys :data:`LAYER_STYLES_COLUMNS` (``owner`` and ``ui``
        empty), ``useAsDefault`` true.
    """
    rows = []
    for name, geom in geometry_columns.items():
        if name not in STYLED_LAYERS:
            continue
        st = layer_style(name, as_of=as_of)
        rows.append(
            {
                "f_table_catalog": catalog,
                "f_table_schema": schema,
                "f_table_name": name,
                "f_geometry_column": geom,
                "styleName": STYLE_NAME,
                "styleQML": to_qml(st, lang=lang),
                "styleSLD": to_sld(st, lang=lang),
                "useAsDefault": True,
                "description": f"kcn_gis: {st.title.get('vi', name)} / {st.title.get('en', name)}",
                "owner": "",
                "ui": None,
                "update_time": update_time,
            }
        )
    return rows
