"""The store API on both backends: the same frames, filters, idempotent appends, optimistic locking.

Tests taking ``backend``/``atlas_url`` run once on a GeoPackage and once on the
throwaway PostGIS server; the rest are PostGIS-only (database constraints,
append-only history, migrations).
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pandas.testing as pdt
import psycopg
import pytest
import shapely
from psycopg import sql

from kcn_gis import ConcurrencyError, SchemaError, StoreError, open_atlas, write_atlas
from kcn_gis.schema import Col, Layer
from tests.conftest import atlas_snapshot, box, make_layers


def _event(event_id: str, parcel: str = "S1-1-2", event: str = "notified", date: str = "2011-04-01") -> pd.DataFrame:
    return pd.DataFrame(
        {
            Col.EVENT_ID: [event_id],
            Col.PARCEL_ID: [parcel],
            Col.EVENT: [event],
            Col.EVENT_DATE: [pd.Timestamp(date)],
            Col.REFERENCE: ["45/TB-UBND"],
            Col.NOTE: ["ghi chú"],
            Col.RECORDED_AT: [pd.Timestamp("2011-04-02 09:30:00")],
            Col.RECORDED_BY: ["Nguyễn Văn Thử"],
            Col.CORRECTS_EVENT_ID: [None],
        }
    )


# -- both backends ---------------------------------------------------------------------------------------


def test_layers_read_back_exactly_as_written(atlas_url):
    """Every layer comes back with the values, dtypes, geometries, CRS and row order that were written."""
    atlas = open_atlas(atlas_url)
    expected = make_layers()
    assert atlas.crs.to_epsg() == 9209
    assert atlas.layer_names() == [str(x) for x in Layer]
    for name, frame in expected.items():
        got = atlas.read(name)
        want = atlas.read(name)  # cached; the same object
        assert got is want
        assert list(got.columns) == list(frame.columns)
        for col in frame.columns:
            if col == "geometry":
                assert shapely.equals_exact(got.geometry.values, frame.geometry.values, tolerance=0).all()
                assert got.crs.to_epsg() == 9209
            elif pd.api.types.is_datetime64_any_dtype(frame[col]):
                assert got[col].dtype == "datetime64[ms]"
                pdt.assert_series_equal(got[col], frame[col].astype("datetime64[ms]"), check_names=False)
            else:
                assert [None if pd.isna(v) else v for v in got[col].tolist()] == [
                    None if pd.isna(v) else v for v in frame[col].tolist()
                ], col
    # areas computed from what was read: P1 is 400 m x 1000 m = 40 ha
    assert atlas.plots.set_index(Col.PLOT_ID).area["P1"] / 10_000 == pytest.approx(40.0, abs=1e-9)


def test_both_backends_give_identical_frames(new_atlas_url, tmp_path):
    gpkg = tmp_path / "ref.gpkg"
    write_atlas(gpkg, make_layers())
    ref = open_atlas(gpkg)
    other = open_atlas(new_atlas_url())
    for name in ref.layer_names():
        pdt.assert_frame_equal(other.read(name), ref.read(name))


def test_bbox_filters_and_columns(atlas_url):
    atlas = open_atlas(atlas_url)
    # a box covering only P2 (E 541 400-541 700) in its middle
    got = atlas.read(Layer.PLOTS, bbox=(541_500.0, 2_336_100.0, 541_600.0, 2_336_200.0))
    assert got[Col.PLOT_ID].tolist() == ["P2"]
    got = atlas.read(Layer.PLOTS, filters={Col.PLOT_ID: ["P3", "P1"]})
    assert got[Col.PLOT_ID].tolist() == ["P1", "P3"]  # storage order, not filter order
    got = atlas.read(Layer.PARKS, filters={Col.PARK_ID: "S1"}, columns=[Col.PARK_ID, Col.NAME])
    assert got[Col.NAME].tolist() == ["KCN Nam Một"]
    assert Col.DISTRICT not in got.columns
    assert Col.VERSION not in atlas.read(Layer.PLOTS, columns=[Col.PLOT_ID]).columns
    assert len(atlas.read(Layer.PARKS, filters={Col.PARK_ID: "nope"})) == 0


def test_append_is_idempotent_on_event_id(atlas_url):
    atlas = open_atlas(atlas_url)
    assert atlas.append(Layer.CLEARANCE_EVENTS, _event("E2")) == 1
    again = pd.concat([_event("E2"), _event("E3", event="inventoried", date="2011-05-01")], ignore_index=True)
    assert atlas.append(Layer.CLEARANCE_EVENTS, again) == 1
    events = open_atlas(atlas_url).clearance_events
    assert events[Col.EVENT_ID].tolist() == ["E1", "E2", "E3"]
    assert events.loc[1, Col.NOTE] == "ghi chú"
    assert events.loc[1, Col.RECORDED_AT] == pd.Timestamp("2011-04-02 09:30:00")


def test_edit_saves_and_bumps_version(atlas_url):
    atlas = open_atlas(atlas_url)
    plots = atlas.plots
    before = atlas.versions(Layer.PLOTS)
    assert sorted(before.index) == ["P1", "P2", "P3"]
    row = plots[plots[Col.PLOT_ID] == "P2"].copy()
    row[Col.LEASED_ON] = pd.Timestamp("2008-03-01")
    row[Col.TENANT] = "Công ty Mới"
    row = row.set_geometry(gpd.GeoSeries([box(1_400, 6_000, 1_700, 6_900)], index=row.index, crs=plots.crs))
    new = atlas.edit(Layer.PLOTS, row)
    assert new.index.tolist() == ["P2"]
    assert new["P2"] != before["P2"]
    fresh = open_atlas(atlas_url)
    p = fresh.plots.set_index(Col.PLOT_ID)
    assert p.loc["P2", Col.TENANT] == "Công ty Mới"
    assert p.loc["P2", Col.LEASED_ON] == pd.Timestamp("2008-03-01")
    assert p.loc["P2"].geometry.area == pytest.approx(300 * 900)
    assert p.loc["P1", Col.TENANT] == 'O\'Brien & "Sons"'  # untouched rows untouched
    assert fresh.versions(Layer.PLOTS)["P2"] == new["P2"]
    assert list(fresh.plots[Col.PLOT_ID]) == ["P1", "P2", "P3"]  # row order kept


def test_lost_update_is_detected(atlas_url):
    """Two users read the plots; the second one's save of the same plot is refused, never overwrites."""
    alice, bob = open_atlas(atlas_url), open_atlas(atlas_url)
    a_rows, b_rows = alice.plots.copy(), bob.plots.copy()
    a_rows.loc[a_rows[Col.PLOT_ID] == "P1", Col.TENANT] = "Alice Co"
    alice.edit(Layer.PLOTS, a_rows[a_rows[Col.PLOT_ID] == "P1"])
    b_rows.loc[b_rows[Col.PLOT_ID] == "P1", Col.TENANT] = "Bob Co"
    b_rows.loc[b_rows[Col.PLOT_ID] == "P3", Col.TENANT] = "Bob Green"
    with pytest.raises(ConcurrencyError, match=r"changed by someone else.*plot_id 'P1'"):
        bob.edit(Layer.PLOTS, b_rows[b_rows[Col.PLOT_ID].isin(["P1", "P3"])])
    p = open_atlas(atlas_url).plots.set_index(Col.PLOT_ID)
    assert p.loc["P1", Col.TENANT] == "Alice Co"
    assert pd.isna(p.loc["P3", Col.TENANT])  # all or nothing: P3 not written either
    # after re-reading, Bob's edit of P1 goes through
    bob.clear_cache()
    rows = bob.plots.copy()
    rows.loc[rows[Col.PLOT_ID] == "P1", Col.TENANT] = "Bob Co"
    bob.edit(Layer.PLOTS, rows[rows[Col.PLOT_ID] == "P1"])
    assert open_atlas(atlas_url).plots.set_index(Col.PLOT_ID).loc["P1", Col.TENANT] == "Bob Co"


def test_whole_layer_write_invalidates_versions(atlas_url):
    alice, admin = open_atlas(atlas_url), open_atlas(atlas_url)
    rows = alice.plots.copy()
    admin.write({Layer.PLOTS: make_layers()[Layer.PLOTS]})
    with pytest.raises(ConcurrencyError):
        alice.edit(Layer.PLOTS, rows.iloc[[0]])


def test_edit_needs_known_versions_and_existing_rows(atlas_url):
    atlas = open_atlas(atlas_url)
    rows = make_layers()[Layer.PLOTS].iloc[[0]]
    with pytest.raises(StoreError, match="no version known for plot_id 'P1'"):
        atlas.edit(Layer.PLOTS, rows)
    versions = atlas.plots.pipe(lambda _: atlas.versions(Layer.PLOTS))
    ghost = rows.assign(**{Col.PLOT_ID: "P9"})
    with pytest.raises(StoreError, match="'P9' not found"):
        atlas.edit(Layer.PLOTS, ghost, expected_versions={"P9": 1})
    with pytest.raises(StoreError, match="versioned layers"):
        atlas.edit(Layer.PARKS, atlas.parks)
    bad = rows.assign(**{Col.LAND_USE: "casino"})
    with pytest.raises(SchemaError, match="casino"):
        atlas.edit(Layer.PLOTS, bad, expected_versions=versions)


def test_lock_is_reentrant_within_a_process(atlas_url):
    atlas = open_atlas(atlas_url)
    with atlas.lock(Layer.CLEARANCE_EVENTS):
        # appends inside the lock (same process) must not deadlock
        assert atlas.append(Layer.CLEARANCE_EVENTS, _event("E5")) == 1
    assert "E5" in set(atlas.clearance_events[Col.EVENT_ID])


def test_atlas_snapshot_sees_every_write_and_nothing_else(atlas_url):
    """The "nothing was written" helper of the suite can fail: any write shows, reads do not."""
    before = atlas_snapshot(atlas_url)
    atlas = open_atlas(atlas_url)
    for name in atlas.layer_names():
        atlas.read(name)
    atlas.validate()
    assert atlas_snapshot(atlas_url) == before
    # rewriting a layer with exactly the values it holds is still a write
    atlas.write({Layer.PARKS: make_layers()[Layer.PARKS]})
    rewritten = atlas_snapshot(atlas_url)
    assert rewritten != before
    assert open_atlas(atlas_url).parks[Col.NAME].tolist() == ["KCN Bắc Một", "KCN Nam Một"]  # same values
    atlas.append(Layer.CLEARANCE_EVENTS, _event("E7"))
    assert atlas_snapshot(atlas_url) != rewritten


# -- PostGIS only ----------------------------------------------------------------------------------------


def _exec(url: str, query, params=None):
    from kcn_gis.store.postgis import parse_url

    conninfo, _schema, _ = parse_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else None


def _schema(url: str) -> str:
    from kcn_gis.store.postgis import parse_url

    return parse_url(url)[1]


@pytest.mark.requires_postgis
def test_history_is_append_only_in_the_database(pg_url):
    write_atlas(pg_url, make_layers())
    t = sql.Identifier(_schema(pg_url), "clearance_events")
    for stmt in (
        sql.SQL("UPDATE {} SET note = 'x'").format(t),
        sql.SQL("DELETE FROM {}").format(t),
        sql.SQL("TRUNCATE {}").format(t),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            _exec(pg_url, stmt)  # even the owner
    atlas = open_atlas(pg_url)
    assert atlas.clearance_events[Col.EVENT_ID].tolist() == ["E1"]
    # a whole-layer write that would drop or change stored events is refused; new ones are appended
    with pytest.raises(StoreError, match=r"append-only: 1 stored event\(s\) would be deleted \(E1\)"):
        atlas.write({Layer.CLEARANCE_EVENTS: _event("E2")})
    changed = make_layers()[Layer.CLEARANCE_EVENTS].assign(**{Col.NOTE: "sửa"})
    with pytest.raises(StoreError, match=r"would be changed \(E1\)"):
        atlas.write({Layer.CLEARANCE_EVENTS: changed})
    grown = pd.concat([make_layers()[Layer.CLEARANCE_EVENTS], _event("E2")], ignore_index=True)
    atlas.write({Layer.CLEARANCE_EVENTS: grown})
    assert open_atlas(pg_url).clearance_events[Col.EVENT_ID].tolist() == ["E1", "E2"]


@pytest.mark.requires_postgis
@pytest.mark.parametrize(
    ("layer", "change", "constraint"),
    [
        (Layer.PLOTS, {Col.LAND_USE: "casino"}, "plots_land_use_enum"),
        (Layer.PARKS, {Col.STATUS: "dreaming"}, "parks_status_enum"),
        (Layer.PARCELS, {Col.HOLDER_TYPE: "alien"}, "parcels_holder_type_enum"),
        (Layer.PLOTS, {Col.PARK_ID: "NOPE"}, "plots_park_id_fkey"),
        (Layer.PLOTS, {Col.PROJECT_ID: "NOPE"}, "plots_project_id_fkey"),
        (Layer.PARCELS, {Col.PARK_ID: "NOPE"}, "parcels_park_id_fkey"),
        (Layer.PARKS, {"geometry": "bowtie"}, "parks_geometry_valid"),
        (Layer.PARKS, {"geometry": "empty"}, "parks_geometry_not_empty"),
        (Layer.RIVERS, {"geometry": "polygon"}, "rivers_geometry_type"),
        (Layer.PARKS, {Col.NAME: None}, None),
    ],
)
def test_database_constraints_refuse_bad_rows(pg_url, layer, change, constraint):
    """With kcn_gis validation off, the database itself refuses bad data, and nothing is written."""
    write_atlas(pg_url, make_layers())
    frame = make_layers()[layer].copy()
    for col, value in change.items():
        if col == "geometry":
            geom = {
                "bowtie": shapely.Polygon(
                    [(540_000, 2_330_000), (540_100, 2_330_100), (540_100, 2_330_000), (540_000, 2_330_100)]
                ),
                "empty": shapely.Polygon(),
                "polygon": box(0, 0, 10, 10),
            }[value]
            frame = frame.set_geometry(gpd.GeoSeries([geom] * len(frame), index=frame.index, crs=frame.crs))
        else:
            frame[col] = value
    atlas = open_atlas(pg_url)
    before = atlas_snapshot(pg_url)
    with pytest.raises(SchemaError, match=constraint or "null value") as info:
        atlas.write({layer: frame}, validate=False)
    assert "Nothing was written" in str(info.value)
    assert atlas_snapshot(pg_url) == before
    assert len(open_atlas(pg_url).read(layer)) == len(make_layers()[layer])


@pytest.mark.requires_postgis
def test_schema_structure_srid_indexes_and_checks_from_enums(pg_url):
    from kcn_gis.schema import LandUse

    write_atlas(pg_url, make_layers())
    schema = _schema(pg_url)
    srids = dict(
        _exec(
            pg_url,
            "SELECT f_table_name, srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name NOT LIKE 'investor%%'",
            [schema],
        )
        or []
    )
    assert srids == {
        "province": 9209,
        "rivers": 9209,
        "parks": 9209,
        "plots": 9209,
        "parcels": 9209,
        "facilities": 9209,
    }
    gist = {
        r[0]
        for r in _exec(
            pg_url, "SELECT tablename FROM pg_indexes WHERE schemaname = %s AND indexdef ILIKE '%%gist%%'", [schema]
        )
        or []
    }
    assert gist == set(srids)
    check = _exec(
        pg_url,
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'plots_land_use_enum' "
        "AND connamespace = %s::regnamespace",
        [schema],
    )
    assert check is not None
    for value in LandUse:
        assert f"'{value}'" in check[0][0]
    pks = {
        r[0]
        for r in _exec(
            pg_url,
            "SELECT conrelid::regclass::text FROM pg_constraint WHERE contype = 'p' AND connamespace = %s::regnamespace",
            [schema],
        )
        or []
    }
    assert {p.split(".")[-1] for p in pks} >= {
        "parks",
        "plots",
        "parcels",
        "clearance_events",
        "projects",
        "facilities",
        "enterprise_reports",
    }
    versions = _exec(pg_url, sql.SQL("SELECT version FROM {}").format(sql.Identifier(schema, "kcn_gis_schema_version")))
    assert versions == [(1,), (2,), (3,)]  # 2: facilities and enterprise_reports; 3: QGIS styles (public.layer_styles)


@pytest.mark.requires_postgis
def test_opening_a_schema_without_atlas_says_what_to_do(pg_url):
    with pytest.raises(StoreError, match="holds no kcn_gis atlas.*kcn-gis db init"):
        open_atlas(pg_url)


@pytest.mark.requires_postgis
def test_out_of_date_schema_asks_for_migrate(pg_url):
    from kcn_gis.store.postgis import migrations as mig

    write_atlas(pg_url, make_layers())
    schema = _schema(pg_url)
    original = mig.MIGRATIONS
    have = original[-1].version
    try:
        mig.MIGRATIONS = (*original, mig.Migration(have + 1, "test: add a column", _add_test_column))
        mig.LATEST = have + 1
        with pytest.raises(StoreError, match=f"version {have}; this kcn_gis needs {have + 1}.*kcn-gis db migrate"):
            open_atlas(pg_url)
        from kcn_gis.cli import main

        assert main(["db", "migrate", pg_url]) == 0
        atlas = open_atlas(pg_url)
        assert "migration_test" in atlas.parks.columns
        rows = _exec(
            pg_url,
            sql.SQL("SELECT version FROM {} ORDER BY 1").format(sql.Identifier(schema, "kcn_gis_schema_version")),
        )
        assert rows == [(v,) for v in range(1, have + 2)]
        assert main(["db", "migrate", pg_url]) == 0  # idempotent
    finally:
        mig.MIGRATIONS = original
        mig.LATEST = original[-1].version


def _add_test_column(cur, schema, srid):
    cur.execute(sql.SQL("ALTER TABLE {} ADD COLUMN migration_test text").format(sql.Identifier(schema, "parks")))


@pytest.mark.requires_postgis
def test_where_runs_read_only_and_single_statement(pg_url):
    write_atlas(pg_url, make_layers())
    atlas = open_atlas(pg_url)
    assert atlas.read(Layer.PARKS, where="name LIKE 'KCN B%'")[Col.PARK_ID].tolist() == ["N1"]
    with pytest.raises(StoreError):
        atlas.read(Layer.PARKS, where="true; DROP TABLE parks")
    with pytest.raises(StoreError, match="read-only transaction"):
        atlas.read(Layer.PARKS, where=f"nextval('{_schema(pg_url)}.kcn_gis_row_version') > 0")
    assert len(open_atlas(pg_url).plots) == 3


def test_url_schema_and_password_handling():
    from kcn_gis.store.postgis import parse_url

    conninfo, schema, display = parse_url(
        "postgresql://ann:s3cret@db.example:5433/atlas?schema=kcn_2024&sslmode=require"
    )
    assert schema == "kcn_2024"
    assert "schema" not in conninfo and "sslmode=require" in conninfo
    assert "s3cret" not in display and display.startswith("postgresql://ann:***@db.example:5433/atlas")
    assert parse_url("postgresql://h/db")[1] == "kcn_gis"
