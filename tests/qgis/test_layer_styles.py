"""The QML and SLD styles are built from the style classes of the HTML maps; no QGIS needed."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from kcn_gis.layer_styles import (
    LAYER_STYLES_COLUMNS,
    STYLE_NAME,
    STYLED_LAYERS,
    layer_style,
    style_rows,
    to_qml,
    to_sld,
)
from kcn_gis.schema import LAND_USE_LABELS, STAGES, LandUse, ParkStatus
from kcn_gis.style import (
    BANK_COLORS,
    LAND_USE_COLORS,
    NOT_STARTED_COLOR,
    PARK_STATUS_COLORS,
    STAGE_COLORS,
    investor_plot_classes,
    stage_classes,
)

SE = "{http://www.opengis.net/se}"
OGC = "{http://www.opengis.net/ogc}"


def _qml(layer: str, **kw) -> ET.Element:
    text = to_qml(layer_style(layer, **kw))
    assert text.startswith("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>")
    return ET.fromstring(text.split("\n", 1)[1])


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    return f"{int(h[0:2], 16)},{int(h[2:4], 16)},{int(h[4:6], 16)},{round(alpha * 255)}"


def _fill_colours(root: ET.Element) -> list[str]:
    out = []
    for sym in root.iter("symbol"):
        opts = {o.get("name"): o.get("value") for o in sym.iter("Option") if o.get("name")}
        out.append(opts.get("color") or opts.get("line_color"))
    return out


@pytest.mark.parametrize("layer", STYLED_LAYERS)
def test_every_styled_layer_has_a_qml_and_an_sld_that_parse(layer):
    _qml(layer)
    sld = ET.fromstring(to_sld(layer_style(layer)).encode("utf-8"))
    assert sld.tag == "{http://www.opengis.net/sld}StyledLayerDescriptor" and sld.get("version") == "1.1.0"
    rules = list(sld.iter(f"{SE}Rule"))
    st = layer_style(layer)
    assert len(rules) == len(st.classes) + (1 if st.label_field else 0)


def test_park_categories_are_the_status_classes_with_their_colours_and_vietnamese_labels():
    root = _qml("parks")
    r = root.find("renderer-v2")
    assert r.get("type") == "categorizedSymbol" and r.get("attr") == "status"
    cats = [(c.get("value"), c.get("label"), c.get("symbol")) for c in r.iter("category")]
    assert cats == [
        ("operating", "Đang hoạt động", "0"),
        ("construction", "Đang xây dựng", "1"),
        ("preparing", "Đang chuẩn bị đầu tư", "2"),
    ]
    # fill colours of the style map, at the maps' fill opacity 0.25 (64/255)
    assert _fill_colours(root) == [_rgba(PARK_STATUS_COLORS[s], 0.25) for s in ParkStatus]
    assert root.get("labelsEnabled") == "1" and root.find("labeling/settings/text-style").get("fieldName") == "name"
    en = ET.fromstring(to_qml(layer_style("parks"), lang="en").split("\n", 1)[1])
    assert next(c.get("label") for c in en.iter("category")) == "Operating"


def test_plot_categories_are_the_investor_map_classes():
    root = _qml("plots")
    classes = investor_plot_classes()
    cats = [(c.get("value"), c.get("label")) for c in root.iter("category")]
    assert cats == [(c.key, c.label["vi"]) for c in classes]
    assert [k for k, _ in cats][3:] == ["services", "infrastructure", "green", "other"]
    assert dict(cats)["green"] == LAND_USE_LABELS[LandUse.GREEN][0]
    assert _fill_colours(root)[3] == _rgba(LAND_USE_COLORS[LandUse.SERVICES], 0.7)
    expr = root.find("renderer-v2").get("attr")
    assert "to_date(now())" in expr  # QGIS's today by default
    dated = _qml("plots", as_of=dt.date(2011, 12, 26)).find("renderer-v2").get("attr")
    assert "to_date('2011-12-26')" in dated and "now()" not in dated


def test_shapefile_field_names_go_into_the_expression():
    st = layer_style("plots", fields={"lease_ended_on": "lease_ende", "acquired_on": "acquired_o"})
    assert '"lease_ende"' in st.classify and '"lease_ended_on"' not in st.classify
    assert '"acquired_o"' in st.classify


def test_clearance_categories_are_the_clearance_map_classes():
    root = _qml("clearance")
    classes = stage_classes()
    assert len(classes) == 2 * (1 + len(STAGES))
    cats = [(c.get("value"), c.get("label")) for c in root.iter("category")]
    assert cats == [(c.key, c.label["vi"]) for c in classes]
    fills = _fill_colours(root)
    assert fills[0] == _rgba(NOT_STARTED_COLOR, 0.6)
    assert fills[1:6] == [_rgba(STAGE_COLORS[s], 0.6) for s in STAGES]
    assert fills[6:] == fills[:6]  # complaint classes: same fill, red outline


def test_banks_rivers_province_and_parcels():
    banks = _qml("banks")
    assert _fill_colours(banks) == [_rgba(c, 0.25) for c in BANK_COLORS.values()]
    rivers = _qml("rivers")
    assert [c.get("value") for c in rivers.iter("category")] == ["duong", "river"]
    assert next(c.get("label") for c in rivers.iter("category")) == "Sông Đuống"
    for single in ("province", "parcels"):
        assert _qml(single).find("renderer-v2").get("type") == "singleSymbol"
    with pytest.raises(KeyError, match="no kcn_gis style"):
        layer_style("clearance_events")


def test_sld_rules_filter_like_the_classes():
    sld = ET.fromstring(to_sld(layer_style("parks")).encode("utf-8"))
    rules = list(sld.iter(f"{SE}Rule"))[:3]
    assert [r.find(f"{SE}Description/{SE}Title").text for r in rules] == [
        "Đang hoạt động",
        "Đang xây dựng",
        "Đang chuẩn bị đầu tư",
    ]
    assert [r.find(f"{OGC}Filter/{OGC}PropertyIsEqualTo/{OGC}Literal").text for r in rules] == [
        str(s) for s in ParkStatus
    ]
    fills = [r.find(f"{SE}PolygonSymbolizer/{SE}Fill/{SE}SvgParameter").text for r in rules]
    assert fills == [PARK_STATUS_COLORS[s].lower() for s in ParkStatus]
    rivers = ET.fromstring(to_sld(layer_style("rivers")).encode("utf-8"))
    assert list(rivers.iter(f"{SE}Rule"))[1].find(f"{SE}ElseFilter") is not None


def test_style_rows_cover_the_styled_tables_only():
    rows = style_rows({"parks": "geom", "plots": "geom", "kcn_gis_meta": "geom", "facilities": "geom"})
    assert [r["f_table_name"] for r in rows] == ["parks", "plots"]
    assert all(set(r) == set(LAYER_STYLES_COLUMNS) for r in rows)
    assert all(r["styleName"] == STYLE_NAME and r["useAsDefault"] is True for r in rows)
    assert rows[0]["f_table_schema"] == "" and rows[0]["f_geometry_column"] == "geom"
