"""Fixtures of the interop tests: files in real-world shapes, built in code."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

from tests.conftest import E0, N0, box

REFERENCE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"


def write_legacy_shapefile(path: Path, columns: dict[str, list[bytes]], geoms, *, cpg: str | None, crs="EPSG:9209"):
    """Write a Shapefile whose DBF holds exactly the given byte strings.

    The bytes go through GDAL as ISO-8859-1 text (one character per byte), so
    the DBF gets them unchanged; then the ``.cpg`` is replaced by ``cpg`` (or
    removed), as legacy tools leave it.
    """
    frame = gpd.GeoDataFrame({k: [b.decode("latin-1") for b in v] for k, v in columns.items()}, geometry=geoms, crs=crs)
    pyogrio.write_dataframe(frame, path, driver="ESRI Shapefile", encoding="latin1")
    cpg_path = path.with_suffix(".cpg")
    cpg_path.unlink(missing_ok=True)
    if cpg is not None:
        cpg_path.write_text(cpg, encoding="ascii")
    return path


def cadastral_dxf(path: Path) -> Path:
    """A cadastral sheet as drawn in MicroStation/Famis, saved as DXF with ezdxf.

    Three 100 m x 50 m parcels side by side inside park S1 of the tiny atlas
    (E 545 000-545 300, N 2 331 000-2 331 050), on layer ``THUA``; in each, a
    label ``<number>`` / ``<land type>`` / ``<area>`` on layer ``NHAN``; the
    third parcel's label is an MTEXT with a named field. An open polyline (a
    road edge) and a label outside every parcel must be ignored.
    """
    import ezdxf

    doc = ezdxf.new("R2010")
    msp = doc.modelspace()
    labels = [("101", "LUC", "5000.0"), ("102", "ONT", "5000.0"), ("103", "BHK", "5000.0")]
    for i, (no, lt, area) in enumerate(labels):
        x0 = E0 + 5_000 + 100 * i
        y0 = N0 + 1_000
        msp.add_lwpolyline(
            [(x0, y0), (x0 + 100, y0), (x0 + 100, y0 + 50), (x0, y0 + 50)], close=True, dxfattribs={"layer": "THUA"}
        )
        if i < 2:
            for k, text in enumerate((no, lt, area)):
                msp.add_text(text, height=2.0, dxfattribs={"layer": "NHAN"}).set_placement((x0 + 40, y0 + 35 - 10 * k))
        else:
            msp.add_mtext(f"{no}\\P{lt}\\PChủ sử dụng: Nguyễn Văn An", dxfattribs={"layer": "NHAN"}).set_location(
                (x0 + 30, y0 + 40)
            )
    msp.add_lwpolyline([(E0 + 5_000, N0 + 990), (E0 + 5_300, N0 + 990)], dxfattribs={"layer": "DUONG"})
    msp.add_text("Đường liên xã", height=2.0, dxfattribs={"layer": "NHAN"}).set_placement((E0 + 5_100, N0 + 980))
    doc.saveas(path)
    return path


@pytest.fixture
def reference_dir() -> Path:
    if not REFERENCE_DIR.is_dir():
        pytest.skip("../shared/reference is not available")
    return REFERENCE_DIR


__all__ = ["E0", "N0", "box", "cadastral_dxf", "shapely", "write_legacy_shapefile"]
