"""``kcn-gis db roles``: connect as members of each role and check what they can and cannot do."""

from __future__ import annotations

import uuid

import pandas as pd
import psycopg
import pytest
from psycopg import sql

from kcn_gis import StoreError, open_atlas, write_atlas
from kcn_gis.schema import INVESTOR_FIELDS, Col, Layer
from tests.conftest import make_layers

pytestmark = pytest.mark.requires_postgis


@pytest.fixture
def roles_atlas(pg_url, postgis_server):
    """The tiny atlas with roles (unique prefix) and one login member per role: kind -> that member's URL."""
    from kcn_gis.cli import main
    from kcn_gis.store.postgis import parse_url

    write_atlas(pg_url, make_layers())
    schema = parse_url(pg_url)[1]
    tag = uuid.uuid4().hex[:6]
    prefix = f"t{tag}_"
    logins = {kind: f"u{tag}_{kind}" for kind in ("viewer", "editor", "investor_export")}
    with psycopg.connect(postgis_server.url(), autocommit=True) as conn:
        for login in logins.values():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(login)))
    members = [a for kind, login in logins.items() for a in ("--member", f"{login}={kind}")]
    assert main(["db", "roles", pg_url, "--prefix", prefix, *members]) == 0
    urls = {kind: postgis_server.url(user=login, schema=schema) for kind, login in logins.items()}
    yield urls, schema, prefix
    with psycopg.connect(postgis_server.url(), autocommit=True) as conn:
        for role in [*logins.values(), *(f"{prefix}{k}" for k in logins)]:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        for role in [*logins.values(), *(f"{prefix}{k}" for k in logins)]:
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _query(url: str, query, params=None):
    from kcn_gis.store.postgis import parse_url

    with psycopg.connect(parse_url(url)[0], autocommit=True) as conn:
        cur = conn.execute(query, params)
        return cur.fetchall() if cur.description else cur.rowcount


def _event(event_id: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            Col.EVENT_ID: [event_id],
            Col.PARCEL_ID: ["S1-1-2"],
            Col.EVENT: ["notified"],
            Col.EVENT_DATE: [pd.Timestamp("2011-04-01")],
            Col.REFERENCE: ["1/TB"],
            Col.NOTE: [None],
            Col.RECORDED_AT: [pd.Timestamp("2011-04-02 09:00:00")],
            Col.RECORDED_BY: ["editor"],
            Col.CORRECTS_EVENT_ID: [None],
        }
    )


def test_investor_export_cannot_read_holder_data(roles_atlas):
    urls, schema, _ = roles_atlas
    url = urls["investor_export"]
    parcels = sql.Identifier(schema, "parcels")
    for query in (
        sql.SQL("SELECT holder_name FROM {}").format(parcels),
        sql.SQL("SELECT * FROM {}").format(parcels),
        sql.SQL("SELECT count(*) FROM {}").format(parcels),
        sql.SQL("SELECT tenant FROM {}").format(sql.Identifier(schema, "plots")),
        sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, "clearance_events")),
        sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, "enterprise_reports")),
        sql.SQL("SELECT * FROM {}").format(sql.Identifier(schema, "facilities")),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            _query(url, query)
    # the investor views: exactly the allow-listed columns (plus geometry), readable
    rows = _query(
        url,
        "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) FROM information_schema.columns "
        "WHERE table_schema = %s GROUP BY table_name ORDER BY 1",
        [schema],
    )
    visible = {t: cols for t, cols in rows}
    assert set(visible) == {
        "investor_facilities",  # schema version 2: facilities are public works, allow-listed
        "investor_parks",
        "investor_plots",
        "investor_projects",
        "investor_province",
        "investor_rivers",
        "kcn_gis_meta",  # schema version and CRS, so that open_atlas works
        "kcn_gis_schema_version",
    }
    assert visible["investor_plots"] == [*map(str, INVESTOR_FIELDS[Layer.PLOTS]), "geometry"]
    assert visible["investor_projects"] == list(map(str, INVESTOR_FIELDS[Layer.PROJECTS]))
    assert visible["investor_facilities"] == [*map(str, INVESTOR_FIELDS[Layer.FACILITIES]), "geometry"]
    assert all("holder_name" not in cols for cols in visible.values())
    got = _query(
        url, sql.SQL("SELECT plot_id, tenant FROM {} ORDER BY 1").format(sql.Identifier(schema, "investor_plots"))
    )
    assert got == [("P1", 'O\'Brien & "Sons"'), ("P2", None), ("P3", None)]
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        _query(
            url, sql.SQL("INSERT INTO {} (key, value) VALUES ('x', 'y')").format(sql.Identifier(schema, "kcn_gis_meta"))
        )
    # through kcn_gis the failure is a readable StoreError naming the roles
    atlas = open_atlas(url, validate=False)
    with pytest.raises(StoreError, match="not allowed for this database role.*kcn-gis db roles"):
        atlas.read(Layer.PARCELS)


def test_viewer_reads_everything_and_writes_nothing(roles_atlas):
    urls, _schema, _ = roles_atlas
    atlas = open_atlas(urls["viewer"])
    assert atlas.parcels[Col.HOLDER_NAME].tolist() == ["Hộ Giả Định A", "Hộ Giả Định B"]
    with pytest.raises(StoreError, match="not allowed"):
        atlas.append(Layer.CLEARANCE_EVENTS, _event("V1"))
    plots = atlas.plots.copy()
    plots[Col.TENANT] = "viewer"
    with pytest.raises(StoreError, match="not allowed"):
        atlas.edit(Layer.PLOTS, plots.iloc[[1]])
    with pytest.raises(StoreError, match="not allowed"):
        atlas.write({Layer.PARKS: atlas.parks})
    assert len(open_atlas(urls["viewer"]).clearance_events) == 1


def test_editor_appends_events_and_edits_plots_but_cannot_rewrite_history(roles_atlas):
    urls, schema, _ = roles_atlas
    atlas = open_atlas(urls["editor"])
    assert atlas.append(Layer.CLEARANCE_EVENTS, _event("ED1")) == 1
    plots = atlas.plots.copy()
    plots[Col.TENANT] = "Công ty Sửa"
    atlas.edit(Layer.PLOTS, plots.iloc[[1]])
    assert open_atlas(urls["viewer"]).plots[Col.TENANT].tolist()[1] == "Công ty Sửa"
    events = sql.Identifier(schema, "clearance_events")
    for query in (
        sql.SQL("UPDATE {} SET note = 'edited'").format(events),
        sql.SQL("DELETE FROM {}").format(events),
        sql.SQL("TRUNCATE {}").format(events),
        sql.SQL("DELETE FROM {}").format(sql.Identifier(schema, "plots")),
        sql.SQL("UPDATE {} SET name = 'x'").format(sql.Identifier(schema, "parks")),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _query(urls["editor"], query)
    with pytest.raises(StoreError, match="not allowed"):
        atlas.write({Layer.PARKS: atlas.parks})
    ids = open_atlas(urls["viewer"]).clearance_events[Col.EVENT_ID].tolist()
    assert ids == ["E1", "ED1"]


def test_roles_survive_a_migrate(roles_atlas):
    """``migrate`` re-creates the investor views; the grants must come back with them."""
    from kcn_gis.cli import main
    from tests.postgis.cluster import get_server

    urls, schema, _ = roles_atlas
    assert main(["db", "migrate", get_server().url(schema=schema)]) == 0
    got = _query(
        urls["investor_export"], sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(schema, "investor_parks"))
    )
    assert got == [(2,)]
