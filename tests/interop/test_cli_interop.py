"""kcn-gis import / export / raster from the command line."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import rasterio
from affine import Affine

from kcn_gis import open_atlas
from kcn_gis.cli import main
from tests.conftest import E0, N0, box


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_export_then_import_via_cli(tiny_atlas_path, tmp_path, capsys):
    out = tmp_path / "parks.kml"
    assert main(["export", "--atlas", str(tiny_atlas_path), "--layer", "parks", "--to", "kml", "--out", str(out)]) == 0
    target = tmp_path / "new.gpkg"
    assert main(["import", str(out), "--layer", "parks", "--atlas", str(target), "--dry-run"]) == 0
    assert not target.exists()
    assert "would import 2 feature(s)" in capsys.readouterr().err
    assert main(["import", str(out), "--layer", "parks", "--atlas", str(target)]) == 0
    assert sorted(open_atlas(target).parks["park_id"]) == ["N1", "S1"]


def test_import_errors_exit_1_and_write_nothing(tiny_atlas_path, tmp_path, capsys):
    pd.DataFrame({"Mã lô": ["Z1"], "Mục đích": ["?"], "wkt": [box(0, 0, 10, 10).wkt]}).to_csv(tmp_path / "x.csv")
    before = sha256(tiny_atlas_path)
    code = main(
        [
            "import",
            str(tmp_path / "x.csv"),
            "--layer",
            "plots",
            "--atlas",
            str(tiny_atlas_path),
            "--crs",
            "EPSG:9209",
            "--problems",
            str(tmp_path / "p.csv"),
        ]
    )
    assert code == 1
    assert sha256(tiny_atlas_path) == before
    err = capsys.readouterr().err
    assert "nothing was written" in err and "land_use" in err
    problems = pd.read_csv(tmp_path / "p.csv")
    assert {"row", "field", "file", "message"} <= set(problems.columns)


def test_import_without_crs_asks_for_it(tmp_path, capsys):
    pd.DataFrame({"Mã lô": ["Z1"], "Mã KCN": ["N1"], "Mục đích": ["CN"], "wkt": [box(0, 0, 10, 10).wkt]}).to_csv(
        tmp_path / "x.csv", index=False
    )
    assert main(["import", str(tmp_path / "x.csv"), "--layer", "plots", "--dry-run"]) == 1
    assert "--crs EPSG:9209" in capsys.readouterr().err
    assert main(["import", str(tmp_path / "x.csv"), "--layer", "plots", "--dry-run", "--crs", "EPSG:9209"]) == 0


def test_import_needs_an_atlas_to_write(tmp_path, capsys):
    assert main(["import", str(tmp_path / "x.csv"), "--layer", "plots"]) == 2
    assert "--atlas" in capsys.readouterr().err


def test_investor_export_refuses_parcels(tiny_atlas_path, tmp_path, capsys):
    code = main(
        [
            "export",
            "--atlas",
            str(tiny_atlas_path),
            "--layer",
            "parcels",
            "--format",
            "geojson",
            "--out",
            str(tmp_path / "p.geojson"),
            "--audience",
            "investor",
        ]
    )
    assert code == 1 and "internal" in capsys.readouterr().err  # refused by the data rules: exit 1
    assert not (tmp_path / "p.geojson").exists()


def test_raster_commands(tiny_atlas_path, tmp_path, capsys):
    tif = tmp_path / "plots.tif"
    assert (
        main(
            [
                "raster",
                "rasterize",
                "--atlas",
                str(tiny_atlas_path),
                "--layer",
                "plots",
                "--value",
                "status",
                "--res",
                "20",
                "--out",
                str(tif),
                "--as-of",
                "2008-01-01",
            ]
        )
        == 0
    )
    with rasterio.open(tif) as ds:
        assert ds.crs.to_epsg() == 9209 and (ds.read(1) > 0).sum() == 800_000 // 400
    ndvi = tmp_path / "ndvi.tif"
    with rasterio.open(
        ndvi,
        "w",
        driver="GTiff",
        width=10,
        height=10,
        count=1,
        dtype="float32",
        crs="EPSG:9209",
        transform=Affine(50, 0.0, E0 + 5_000, 0.0, -100, N0 + 2_000),
    ) as ds:
        ds.write(np.full((10, 10), 0.1, dtype="float32"), 1)
    capsys.readouterr()
    assert main(["raster", "zonal", str(ndvi), "--atlas", str(tiny_atlas_path), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert '"parcel_id": "S1-1-1"' in out and '"mean": 0.1' in out
    # parcel S1-1-1 is only notified (tiny atlas) and the image is bare: flagged, exit 1
    code = main(
        [
            "raster",
            "zonal",
            str(ndvi),
            "--atlas",
            str(tiny_atlas_path),
            "--check-clearance",
            "--as-of",
            "2012-01-01",
            "--format",
            "csv",
        ]
    )
    assert code == 1
    assert "bare_but_notified" in capsys.readouterr().out
