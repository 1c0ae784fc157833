"""Analytics, clearance and CLI results are identical on a GeoPackage and on PostGIS.

Each result is computed on the GeoPackage reference and on the backend under
test (a GeoPackage again, or PostGIS) through ``open_atlas(url)`` and compared
exactly; a few numbers are also checked against hand computations from the
tiny atlas (``tests/conftest.py``), so a result that is wrong on both backends
still fails.
"""

from __future__ import annotations

import json

import pandas as pd
import pandas.testing as pdt
import pytest

from kcn_gis import open_atlas, write_atlas
from kcn_gis.schema import Col
from tests.conftest import make_layers

analytics = pytest.importorskip("kcn_gis.analytics")
clearance = pytest.importorskip("kcn_gis.clearance")
clearance_sheets = pytest.importorskip("kcn_gis.interop.clearance_sheets")


@pytest.fixture
def pair(atlas_url, tmp_path):
    ref_path = tmp_path / "reference.gpkg"
    write_atlas(ref_path, make_layers())
    return open_atlas(ref_path), open_atlas(atlas_url)


@pytest.fixture
def ref_path(tmp_path):
    path = tmp_path / "reference.gpkg"
    write_atlas(path, make_layers())
    return path


def test_fill_rates_identical(pair):
    ref, other = pair
    for by in ("park", "district", "province"):
        want = analytics.fill_rates(ref.plots, ref.parks, as_of="2011-12-26", by=by)
        got = analytics.fill_rates(other.plots, other.parks, as_of="2011-12-26", by=by)
        pdt.assert_frame_equal(got, want)
    got = analytics.fill_rates(other.plots, other.parks, as_of="2011-12-26").set_index(Col.PARK_ID)
    # N1: industrial P1 40 ha (leased 2006) + P2 30 ha (acquired 2007): planned 70, acquired 70, leased 40
    assert got.loc["N1", "planned_ha"] == pytest.approx(70.0)
    assert got.loc["N1", "leased_ha"] == pytest.approx(40.0)
    assert got.loc["N1", "fill_rate_planned"] == pytest.approx(40 / 70)


def test_river_balance_identical(pair):
    ref, other = pair
    args = ("province", "rivers", "parks", "plots", "projects")
    want = analytics.river_balance(*(ref.read(a) for a in args), as_of="2011-12-26")
    got = analytics.river_balance(*(other.read(a) for a in args), as_of="2011-12-26")
    pdt.assert_frame_equal(got, want)
    banks = analytics.split_banks(other.province, other.rivers).set_index("bank")
    assert banks.area["north"] / 10_000 == pytest.approx(5_000.0)


def test_clearance_progress_and_stages_identical(pair):
    ref, other = pair
    for as_of in ("2011-02-01", "2011-03-01", "2012-01-01"):
        want = clearance.clearance_progress(ref.clearance_events, ref.parcels, as_of=as_of)
        got = clearance.clearance_progress(other.clearance_events, other.parcels, as_of=as_of)
        pdt.assert_frame_equal(got, want)
        pdt.assert_frame_equal(
            clearance.parcel_stages(other.clearance_events, other.parcels, as_of=as_of),
            clearance.parcel_stages(ref.clearance_events, ref.parcels, as_of=as_of),
        )
    stages = clearance.parcel_stages(other.clearance_events, other.parcels, as_of="2012-01-01")
    assert stages.set_index(Col.PARCEL_ID).loc["S1-1-1", "stage"] == "notified"
    assert pd.isna(stages.set_index(Col.PARCEL_ID).loc["S1-1-2", "stage"])


def test_clearance_import_identical(atlas_url, ref_path, tmp_path):
    ref, other = open_atlas(ref_path), open_atlas(atlas_url)
    sheet = tmp_path / "sheet.csv"
    pd.DataFrame(
        {
            "Mã thửa": ["S1-1-1", "S1-1-2"],
            "Giai đoạn": ["Kiểm đếm", "Thông báo thu hồi đất"],
            "Ngày": ["01/04/2011", "01/03/2011"],
            "Số quyết định": ["10/QĐ", "11/TB"],
            "Ghi chú": ["", ""],
        }
    ).to_csv(sheet, index=False)
    now = pd.Timestamp("2011-06-01 08:00:00").to_pydatetime()
    for atlas in (ref, other):
        result = clearance_sheets.import_sheet(atlas, sheet, recorded_by="Cán bộ", now=now)
        assert result.written == 2
    pdt.assert_frame_equal(open_atlas(atlas_url).clearance_events, open_atlas(ref_path).clearance_events)
    want = clearance.clearance_progress(ref.clearance_events, ref.parcels, as_of="2011-12-31")
    got = clearance.clearance_progress(other.clearance_events, other.parcels, as_of="2011-12-31")
    pdt.assert_frame_equal(got, want)


@pytest.mark.parametrize(
    "cmd",
    [
        ["clearance", "progress", "--as-of", "2011-12-31", "--format", "json"],
        ["fill-rates", "--as-of", "2011-12-26", "--format", "json"],
        ["balance", "--as-of", "2011-12-26", "--format", "json"],
        ["validate", "--format", "json"],
    ],
    ids=lambda c: c[0],
)
def test_cli_commands_identical(atlas_url, ref_path, capsys, cmd):
    from kcn_gis.cli import main

    outputs = []
    for where in (str(ref_path), atlas_url):
        code = main([*cmd, "--atlas", where])
        out = capsys.readouterr().out
        outputs.append((code, json.loads(out) if out.strip() else None))
    assert outputs[0][0] == outputs[1][0], cmd
    assert outputs[0][1] is not None or cmd[0] == "validate"
    strip = _strip_locations
    assert strip(outputs[1][1]) == strip(outputs[0][1]), cmd


def _strip_locations(value):
    """Drop file names/URLs from messages so that outputs of two atlases compare."""
    if isinstance(value, list):
        return [_strip_locations(v) for v in value]
    if isinstance(value, dict):
        return {k: _strip_locations(v) for k, v in value.items() if k not in ("file", "location")}
    return value


@pytest.mark.slow
def test_main_job_on_the_bundled_atlas_in_postgis(bundled_pair, tmp_path):
    """``kcn-gis run`` on the PostGIS copy of the bundled atlas: the same figures, files and maps as on the GeoPackage.

    The GeoPackage run is ``tests/test_main_job.py``; here its checks are repeated on PostGIS, and the
    report and tables are compared byte for byte with the single commands run on the GeoPackage.
    """
    import re

    from kcn_gis.cli import main

    src, url = bundled_pair
    out = tmp_path / "run"
    assert main(["run", "--atlas", url, "--out-dir", str(out), "--quiet"]) == 0
    ref = tmp_path / "ref"
    ref.mkdir()
    day = ["--atlas", str(src), "--as-of", "2011-12-26"]
    assert main(["report", *day, "--format", "json", "--out", str(ref / "report.json")]) == 0
    assert main(["fill-rates", *day, "--format", "csv", "--out", str(ref / "fill_rates.csv")]) == 0
    assert main(["balance", *day, "--format", "csv", "--out", str(ref / "balance.csv")]) == 0
    for name in ("report.json", "fill_rates.csv", "balance.csv"):
        assert (out / name).read_bytes() == (ref / name).read_bytes(), name
    records = {r["figure"]: r for r in json.loads((out / "report.json").read_text(encoding="utf-8"))}
    assert round(records["Fill rate on planned area"]["computed_value"], 2) == 58.16
    assert round(records["Fill rate on acquired area"]["computed_value"], 2) == 75.38
    balance = pd.read_csv(out / "balance.csv")
    assert sorted(balance["bank"]) == ["north", "south"]
    assert balance["leased_ha"].sum() == pytest.approx(1217.4, abs=0.5)
    atlas = open_atlas(url)
    for name in ("investor", "planning", "clearance"):
        html = (out / f"{name}.html").read_text(encoding="utf-8")
        assert not re.search(r"""(?:src|href)\s*=\s*["']?https?://|url\(\s*["']?https?://""", html), name
    parks = sorted(set(atlas.parcels[Col.PARK_ID]))
    assert parks
    for park_id in parks:
        html = (out / f"clearance_review_{park_id}.html").read_text(encoding="utf-8")
        assert atlas.parks.set_index(Col.PARK_ID).loc[park_id, Col.NAME] in html
    holders = set(atlas.parcels[Col.HOLDER_NAME].dropna())
    assert holders
    investor = (out / "investor.html").read_text(encoding="utf-8")
    assert not [h for h in holders if h in investor]
