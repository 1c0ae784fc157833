"""The bundled Bắc Ninh 2011 atlas reproduces the Board's 26/12/2011 fill rates and passes validate."""

from __future__ import annotations

import json

import pytest

import kcn_gis
from kcn_gis.analytics import check_consistency, fill_rates, river_balance
from kcn_gis.cli import main


@pytest.fixture(scope="module")
def atlas():
    return kcn_gis.open_atlas()


def test_province_fill_rates_on_2011_12_26(atlas):
    row = fill_rates(atlas.plots, atlas.parks, as_of="2011-12-26", by="province").iloc[0]
    # FACTS.md: 58.16 % (1 217 ha / 2 093 ha) and 75.38 % (1 217 ha / 1 615 ha)
    assert round(row.fill_rate_planned * 100, 2) == 58.16
    assert round(row.fill_rate_acquired * 100, 2) == 75.38


def test_cli_province_fill_rates(capsys):
    assert main(["fill-rates", "--by", "province", "--as-of", "2011-12-26", "--format", "json"]) == 0
    (rec,) = json.loads(capsys.readouterr().out)
    assert round(rec["fill_rate_planned"] * 100, 2) == 58.16
    assert round(rec["fill_rate_acquired"] * 100, 2) == 75.38


def test_banks_add_up_to_the_province(atlas):
    bal = river_balance(atlas.province, atlas.rivers, atlas.parks, atlas.plots, atlas.projects, as_of="2011-12-26")
    prov = fill_rates(atlas.plots, atlas.parks, as_of="2011-12-26", by="province").iloc[0]
    assert list(bal["bank"]) == ["north", "south"]
    assert bal["leased_ha"].sum() == pytest.approx(prov.leased_ha, abs=1e-6)
    assert bal["planned_ha"].sum() == pytest.approx(prov.planned_ha, abs=1e-6)


def test_bundled_atlas_is_consistent(atlas):
    errors = [
        p
        for p in check_consistency(parks=atlas.parks, plots=atlas.plots, parcels=atlas.parcels, projects=atlas.projects)
        if p.severity == "error"
    ]
    assert errors == []


def test_validate_passes_on_bundled(capsys):
    assert main(["validate"]) == 0
