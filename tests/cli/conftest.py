"""Fixtures of the command-line tests: a hand-built atlas with non-round areas, and a broken atlas.

``excel_atlas``: the shared tiny atlas (``tests/conftest.py``) with plot P2 shortened to
300 m x 999.123456 m, so park N1 (operating) has on 2011-12-26:

* planned industrial land P1 40 ha + P2 300 * 999.123456 / 10 000 = 29.9737037 ha = 69.9737037 ha;
* leased P1 40 ha, so fill_rate_planned = 40 / 69.9737037 = 0.571643...

``broken_atlas``: a GeoPackage holding only the parks layer: opening it is a data problem (exit 1).
"""

from __future__ import annotations

import pytest

from kcn_gis.schema import Layer
from tests.conftest import box, make_layers

P2_HEIGHT_M = 999.123456
P2_HA = 300 * P2_HEIGHT_M / 10_000
N1_PLANNED_HA = 40 + P2_HA
N1_FILL_PLANNED = 40 / N1_PLANNED_HA


@pytest.fixture
def excel_atlas(tmp_path):
    from kcn_gis import write_atlas

    layers = make_layers()
    plots = layers[Layer.PLOTS]
    plots.loc[plots["plot_id"] == "P2", "geometry"] = box(1_400, 6_000, 1_700, 6_000 + P2_HEIGHT_M)
    path = tmp_path / "excel.gpkg"
    write_atlas(path, layers)
    return path


@pytest.fixture
def broken_atlas(tmp_path):
    import pyogrio

    path = tmp_path / "broken.gpkg"
    pyogrio.write_dataframe(make_layers()[Layer.PARKS], path, layer="parks", driver="GPKG")
    return path
