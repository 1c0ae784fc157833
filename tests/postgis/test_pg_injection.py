"""SQL-injection strings through every user-supplied value, on both backends.

Park ids, names, parcel ids, spreadsheet cells (parcel id, reference, note, who
recorded it), ``--park`` and ``--river`` on the command line, filter values and
the PostgreSQL schema name. Afterwards every table must still be there with its
rows, and every string must be stored and read back verbatim.
"""

from __future__ import annotations

import json
import uuid

import pandas as pd
import pytest

from kcn_gis import open_atlas, write_atlas
from kcn_gis.schema import OPTIONAL_LAYERS, Col, Layer
from tests.conftest import make_layers

EVIL = [
    "N1'); DROP TABLE parks; --",
    "x' OR '1'='1",
    '"; DELETE FROM plots; --',
    "Robert'); DROP SCHEMA kcn_gis CASCADE;--",
    "$$; DROP TABLE parcels; $$",
    "\\'; SELECT pg_sleep(10); --",
    "%s %(x)s {} {0} :name ?",
    "Sông Đuống'; TRUNCATE clearance_events; --",
]
PARK, NAME, PARCEL, RIVER, REF, NOTE, WHO = EVIL[0], EVIL[1], EVIL[2], EVIL[7], EVIL[3], EVIL[4], EVIL[5]


def _evil_layers() -> dict[str, pd.DataFrame]:
    layers = make_layers()
    parks = layers[Layer.PARKS]
    parks.loc[0, Col.PARK_ID] = PARK
    parks.loc[0, Col.NAME] = NAME
    parks.loc[0, Col.DEVELOPER] = EVIL[6]
    layers[Layer.PLOTS][Col.PARK_ID] = PARK
    parcels = layers[Layer.PARCELS]
    parcels.loc[1, Col.PARCEL_ID] = PARCEL
    parcels.loc[1, Col.HOLDER_NAME] = EVIL[3]
    layers[Layer.RIVERS][Col.NAME] = RIVER
    return layers


def _counts(url: str) -> dict[str, int]:
    atlas = open_atlas(url)
    return {name: len(atlas.read(name)) for name in atlas.layer_names()}


def test_injection_strings_are_stored_verbatim_and_harmless(new_atlas_url, tmp_path, capsys):
    from kcn_gis.analytics import split_banks
    from kcn_gis.cli import main
    from kcn_gis.interop.clearance_sheets import import_sheet

    url = new_atlas_url(_evil_layers())
    before = _counts(url)
    # write_atlas fills the data-model layers not given (the optional ones of schema version 2) with empty layers
    assert before == {**{str(k): len(v) for k, v in make_layers().items()}, **{str(x): 0 for x in OPTIONAL_LAYERS}}

    atlas = open_atlas(url)
    assert atlas.parks[Col.PARK_ID].tolist() == [PARK, "S1"]
    assert atlas.parks[Col.NAME].tolist()[0] == NAME
    assert atlas.parks[Col.DEVELOPER].tolist()[0] == EVIL[6]
    assert atlas.parcels[Col.HOLDER_NAME].tolist()[1] == EVIL[3]
    for value in EVIL:  # filter values are bound parameters (or quoted), never SQL
        got = atlas.read(Layer.PARKS, filters={Col.PARK_ID: value})
        assert got[Col.PARK_ID].tolist() == ([PARK] if value == PARK else [])
    assert atlas.read(Layer.PLOTS, filters={Col.PARK_ID: [PARK, EVIL[1]]})[Col.PLOT_ID].tolist() == ["P1", "P2", "P3"]

    # spreadsheet cells
    sheet = tmp_path / "evil.csv"
    pd.DataFrame(
        {
            "Mã thửa": [PARCEL],
            "Giai đoạn": ["Thông báo thu hồi đất"],
            "Ngày": ["01/03/2011"],
            "Số quyết định": [REF],
            "Ghi chú": [NOTE],
        }
    ).to_csv(sheet, index=False)
    result = import_sheet(atlas, sheet, recorded_by=WHO)
    assert result.written == 1
    events = open_atlas(url).clearance_events.set_index(Col.PARCEL_ID)
    assert events.loc[PARCEL, Col.REFERENCE] == REF
    assert events.loc[PARCEL, Col.NOTE] == NOTE
    assert events.loc[PARCEL, Col.RECORDED_BY] == WHO

    # the --river name: pure pandas, so the value just has to round-trip and work
    again = open_atlas(url)
    banks = split_banks(again.province, again.rivers, river=RIVER)
    assert sorted(banks["bank"]) == ["north", "south"]
    assert main(["balance", "--atlas", url, "--river", RIVER, "--as-of", "2011-12-26", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    # --park on the command line
    assert main(["clearance", "progress", "--atlas", url, "--park", "S1", "--format", "json"]) == 0
    capsys.readouterr()
    code = main(["clearance", "progress", "--atlas", url, "--park", EVIL[1], "--format", "json"])
    assert code == 2  # an unknown park is reported with its verbatim id, not executed
    assert f"unknown park id(s) {EVIL[1]}" in capsys.readouterr().err

    after = _counts(url)
    assert after == {**before, str(Layer.CLEARANCE_EVENTS): before[str(Layer.CLEARANCE_EVENTS)] + 1}
    assert open_atlas(url).parks[Col.PARK_ID].tolist() == [PARK, "S1"]


@pytest.mark.requires_postgis
def test_hostile_schema_name_is_an_identifier(postgis_server):
    import psycopg

    schema = f'x"; DROP SCHEMA public CASCADE; --{uuid.uuid4().hex[:6]}'
    url = postgis_server.url(schema=schema)
    write_atlas(url, make_layers())
    assert _counts(url)[str(Layer.PLOTS)] == 3
    with psycopg.connect(postgis_server.url(), autocommit=True) as conn:
        names = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace").fetchall()}
        assert schema in names and "public" in names
        assert conn.execute("SELECT postgis_version()").fetchone()
        conn.execute(psycopg.sql.SQL("DROP SCHEMA {} CASCADE").format(psycopg.sql.Identifier(schema)))


@pytest.mark.requires_postgis
def test_role_prefix_is_checked(pg_url):
    from kcn_gis.errors import StoreError
    from kcn_gis.store.postgis import setup_roles

    write_atlas(pg_url, make_layers())
    with pytest.raises(StoreError, match="role prefix"):
        setup_roles(pg_url, prefix="x; DROP ROLE postgres; --")
