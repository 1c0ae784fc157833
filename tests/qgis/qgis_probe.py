"""Run by Debian's ``/usr/bin/python3`` with ``python3-qgis`` (QGIS 3.22), never by pytest or the .venv.

``python3 qgis_probe.py JOB.json`` opens layers or a project in real QGIS (offscreen) and prints one
line ``KCN_GIS_PROBE {json}`` with what QGIS saw: validity, renderer, categories, the category each
feature falls in, labels, the project CRS, layer order and extent, and pixel statistics of a render.
It only reports; the tests in this folder decide.
"""

import json
import os
import sys

from qgis.core import (
    QgsApplication,
    QgsExpression,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsProject,
    QgsRenderContext,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor


def layer_report(layer, key):
    out = {"valid": layer.isValid(), "name": layer.name(), "count": 0}
    if not layer.isValid():
        return out
    r = layer.renderer()
    out["renderer"] = r.type()
    out["count"] = layer.featureCount()
    out["labels_enabled"] = layer.labelsEnabled()
    lab = layer.labeling()
    out["label_field"] = lab.settings().fieldName if lab is not None and hasattr(lab, "settings") else None
    out["crs"] = layer.crs().authid()
    if r.type() == "categorizedSymbol":
        out["attr"] = r.classAttribute()
        out["categories"] = [[str(c.value()), c.label()] for c in r.categories()]
        out["colors"] = [c.symbol().color().name() for c in r.categories()]
        expr = QgsExpression(r.classAttribute())
        ctx = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
        expr.prepare(ctx)
        rc = QgsRenderContext()
        rc.setExpressionContext(ctx)
        r.startRender(rc, layer.fields())
        classes, drawn, errors = {}, {}, []
        for f in layer.getFeatures():
            ctx.setFeature(f)
            rc.expressionContext().setFeature(f)
            v = expr.evaluate(ctx)
            if expr.hasEvalError():
                errors.append(expr.evalErrorString())
            k = str(f[key]) if key else str(f.id())
            classes[k] = None if v is None else str(v)
            drawn[k] = r.symbolForFeature(f, rc) is not None
        r.stopRender(rc)
        out["classes"], out["drawn"], out["errors"] = classes, drawn, errors[:5]
    elif r.type() == "singleSymbol":
        out["colors"] = [r.symbol().color().name()]
    return out


def render(layers, extent, crs, path, size):
    ms = QgsMapSettings()
    ms.setLayers(layers)
    ms.setDestinationCrs(crs)
    ms.setExtent(extent)
    ms.setOutputSize(QSize(size, size))
    ms.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(ms)
    job.start()
    job.waitForFinished()
    img = job.renderedImage()
    img.save(path, "PNG")
    colours, painted = set(), 0
    step = 2
    for y in range(0, img.height(), step):
        for x in range(0, img.width(), step):
            rgb = img.pixel(x, y) & 0xFFFFFF
            colours.add(rgb)
            painted += rgb != 0xFFFFFF
    n = len(range(0, img.height(), step)) * len(range(0, img.width(), step))
    return {"png": path, "distinct_colours": len(colours), "painted_share": painted / n}


def main():
    with open(sys.argv[1], encoding="utf-8") as fh:
        job = json.load(fh)
    app = QgsApplication([], False)
    app.initQgis()
    log = []
    QgsApplication.messageLog().messageReceived.connect(lambda m, tag, lvl: log.append(f"{tag}: {m}"))
    result = {"qgis": __import__("qgis.core").core.Qgis.QGIS_VERSION}
    if job["kind"] == "layers":
        result["layers"] = {}
        for src in job["sources"]:
            layer = QgsVectorLayer(src["uri"], src["name"], src.get("provider", "ogr"))
            result["layers"][src["name"]] = layer_report(layer, src.get("key"))
    elif job["kind"] == "project":
        p = QgsProject.instance()
        result["read"] = p.read(job["path"])
        result["error"] = p.error()
        result["crs"] = p.crs().authid()
        ext = p.viewSettings().defaultViewExtent()
        result["extent"] = [ext.xMinimum(), ext.yMinimum(), ext.xMaximum(), ext.yMaximum()]
        nodes = p.layerTreeRoot().findLayers()
        result["tree"] = [
            {"name": n.name(), "visible": n.isVisible(), "source": n.layer().source() if n.layer() else None}
            for n in nodes
        ]
        keys = job.get("keys", {})
        result["layers"] = {}
        for n in nodes:
            lyr = n.layer()
            table = lyr.source().split("layername=")[-1] if lyr is not None else n.name()
            result["layers"][table] = layer_report(lyr, keys.get(table)) if lyr is not None else {"valid": False}
        if job.get("png"):
            visible = [n.layer() for n in nodes if n.isVisible() and n.layer() is not None]
            result["render"] = render(visible, ext, p.crs(), job["png"], int(job.get("size", 600)))
    app.processEvents()
    result["log"] = log
    sys.stdout.write("KCN_GIS_PROBE " + json.dumps(result, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    os._exit(0)  # QGIS 3.22 may crash while tearing down Python bindings; the report is out


if __name__ == "__main__":
    main()
