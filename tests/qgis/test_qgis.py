"""Real QGIS 3.22 (Debian python3-qgis) opens what kcn_gis writes, with the project's styles.

Each test writes files with kcn_gis, then runs QGIS in a subprocess (:mod:`tests.qgis.qgis_probe`)
and checks what QGIS saw against expectations derived by hand from the hand-built features
(:func:`tests.qgis.conftest.make_styled_layers`) and against the style classes of the HTML maps.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pyogrio
import pytest

from kcn_gis.cli import main
from kcn_gis.schema import PARK_STATUS_LABELS, ParkStatus
from kcn_gis.style import investor_plot_classes, park_status_classes, stage_classes

from .conftest import (
    ARTIFACTS,
    AS_OF,
    EXPECTED_CLEARANCE,
    EXPECTED_PARKS,
    EXPECTED_PLOTS,
    EXPECTED_RIVERS,
)

pytestmark = pytest.mark.requires_qgis

WARNING = "may only be partially supported"


def _sources(path: Path) -> list[dict[str, str]]:
    keys = {"province": "name", "rivers": "name", "parks": "park_id", "plots": "plot_id", "parcels": "parcel_id"}
    return [{"name": n, "uri": f"{path}|layername={n}", "key": k} for n, k in keys.items()]


def test_qgis_opens_the_atlas_without_a_version_warning_and_with_the_classes_of_the_maps(styled_atlas, run_qgis):
    report, stderr = run_qgis({"kind": "layers", "sources": _sources(styled_atlas)})
    assert report["qgis"].startswith("3.")
    assert WARNING not in stderr and not any(WARNING in m for m in report["log"]), stderr
    layers = report["layers"]
    assert all(v["valid"] for v in layers.values()), layers

    parks = layers["parks"]
    assert parks["renderer"] == "categorizedSymbol" and parks["attr"] == "status"
    assert parks["categories"] == [[str(s), PARK_STATUS_LABELS[s][0]] for s in ParkStatus]
    assert parks["categories"][0][1] == "Đang hoạt động"  # Vietnamese, with its diacritics
    assert parks["colors"] == [c.style["fillColor"].lower() for c in park_status_classes()]
    assert parks["classes"] == EXPECTED_PARKS and all(parks["drawn"].values())
    assert parks["labels_enabled"] and parks["label_field"] == "name"

    plots = layers["plots"]
    expected = investor_plot_classes()
    assert plots["renderer"] == "categorizedSymbol"
    assert plots["categories"] == [[c.key, c.label["vi"]] for c in expected]
    assert len(plots["categories"]) == 7
    assert plots["colors"] == [c.style["fillColor"].lower() for c in expected]
    assert plots["errors"] == []
    # the QGIS expression classes the plots on QGIS's today exactly as kcn_gis's plot_status does
    assert plots["classes"] == EXPECTED_PLOTS and all(plots["drawn"].values())

    rivers = layers["rivers"]
    assert rivers["renderer"] == "categorizedSymbol" and len(rivers["categories"]) == 2
    assert rivers["classes"] == EXPECTED_RIVERS and rivers["categories"][0][1] == "Sông Đuống"

    assert layers["province"]["renderer"] == "singleSymbol"
    assert layers["parcels"]["renderer"] == "singleSymbol"
    assert {v["crs"] for v in layers.values()} == {"EPSG:9209"}


def test_the_version_check_sees_the_warning_on_a_geopackage_1_4(tmp_path, run_qgis, monkeypatch):
    """The control: the same atlas written as GeoPackage 1.4 makes QGIS 3.22's GDAL warn."""
    from kcn_gis import write_atlas

    from .conftest import make_styled_layers

    monkeypatch.setenv("KCN_GIS_GPKG_VERSION", "1.4")
    path = tmp_path / "v14.gpkg"
    write_atlas(path, make_styled_layers())
    report, stderr = run_qgis({"kind": "layers", "sources": _sources(path)[:1]})
    if not report["qgis"].startswith("3.22"):
        pytest.skip(f"QGIS {report['qgis']} ships a GDAL that knows GeoPackage 1.4")
    assert WARNING in stderr + "\n".join(report["log"])


def test_qgis_opens_the_project_in_order_in_epsg_9209_on_the_province_and_renders_it(styled_atlas, run_qgis, tmp_path):
    out = tmp_path / "project" / "atlas.qgz"
    assert main(["qgis-project", "--atlas", str(styled_atlas), "--out", str(out), "--as-of", AS_OF, "--quiet"]) == 0
    # paths inside the project are relative: move the whole folder, it still opens
    moved = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "project", moved / "project")
    shutil.copytree(styled_atlas.parent, moved / "atlas")
    with zipfile.ZipFile(moved / "project" / "atlas.qgz") as zf:
        names = zf.namelist()
        qgs = zf.read(names[0]).decode("utf-8")
    assert names == ["atlas.qgs"]
    assert str(tmp_path) not in qgs and "../atlas/styled.gpkg|layername=parks" in qgs

    ARTIFACTS.mkdir(exist_ok=True)
    png = ARTIFACTS / "qgis_project.png"
    png.unlink(missing_ok=True)
    keys = {"clearance": "parcel_id", "plots": "plot_id", "parks": "park_id", "banks": "bank", "rivers": "name"}
    report, stderr = run_qgis(
        {"kind": "project", "path": str(moved / "project" / "atlas.qgz"), "png": str(png), "size": 700, "keys": keys}
    )
    assert report["read"], report["error"]
    assert WARNING not in stderr
    assert report["crs"] == "EPSG:9209"
    tree = [(t["source"].split("|layername=")[-1], t["visible"]) for t in report["tree"]]
    # the tree lists the top layer first: clearance on top, the province at the bottom; raw parcels switched off
    assert tree == [
        ("clearance", True),
        ("parcels", False),
        ("plots", True),
        ("parks", True),
        ("rivers", True),
        ("banks", True),
        ("province", True),
    ]
    assert all(str(moved) in t["source"] for t in report["tree"])
    prov = pyogrio.read_dataframe(styled_atlas, layer="province").total_bounds
    assert report["extent"] == pytest.approx(list(prov), abs=1e-6)
    assert report["tree"][3]["name"] == "Khu công nghiệp"

    layers = report["layers"]
    assert all(v["valid"] for v in layers.values())
    clearance = layers["clearance"]
    assert [c[0] for c in clearance["categories"]] == [c.key for c in stage_classes()]
    assert len(clearance["categories"]) == 12
    assert clearance["classes"] == EXPECTED_CLEARANCE and all(clearance["drawn"].values())
    assert clearance["categories"][0][1] == "Chưa bắt đầu"
    assert layers["banks"]["classes"] == {"north": "north", "south": "south"}
    assert layers["plots"]["classes"] == EXPECTED_PLOTS  # as of 2011-12-26, baked into the project

    r = report["render"]
    assert Path(r["png"]).exists() and png.stat().st_size > 1000
    # not blank: the banks, parks, plots and parcels paint many colours over much of the view
    assert r["distinct_colours"] >= 12, r
    assert r["painted_share"] > 0.5, r


def test_qgis_styles_a_shapefile_export_from_its_qml(styled_atlas, run_qgis, tmp_path):
    shp = tmp_path / "export" / "plots.shp"
    assert main(["export", "--atlas", str(styled_atlas), "--layer", "plots", "--format", "shp", "--out", str(shp)]) == 0
    assert shp.with_suffix(".qml").exists()
    report, _ = run_qgis({"kind": "layers", "sources": [{"name": "plots", "uri": str(shp), "key": "plot_id"}]})
    plots = report["layers"]["plots"]
    assert plots["valid"] and plots["renderer"] == "categorizedSymbol"
    assert [c[1] for c in plots["categories"]] == [c.label["vi"] for c in investor_plot_classes()]
    assert plots["errors"] == []
    # the DBF cuts lease_ended_on to lease_ende: the style reads the field names of the file
    assert plots["classes"] == EXPECTED_PLOTS
