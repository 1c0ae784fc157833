"""A PostGIS atlas carries the same default styles in ``public.layer_styles``, which QGIS reads from PostGIS."""

from __future__ import annotations

import pytest

from kcn_gis.layer_styles import STYLE_NAME, layer_style, to_qml
from kcn_gis.schema import ATLAS_LAYERS
from kcn_gis.style import investor_plot_classes, park_status_classes

pytestmark = pytest.mark.requires_postgis


def _rows(url: str) -> list[tuple]:
    import psycopg

    from kcn_gis.store.postgis._driver import parse_url

    base, schema, _ = parse_url(url)
    with psycopg.connect(base) as conn:
        return conn.execute(
            "SELECT f_table_catalog, f_table_schema, f_table_name, f_geometry_column, stylename, "
            "styleqml::text, stylesld::text, useasdefault FROM public.layer_styles WHERE f_table_schema = %s "
            "ORDER BY f_table_name",
            [schema],
        ).fetchall()


def test_db_init_puts_the_default_styles_in_public_layer_styles(pg_url):
    from kcn_gis.store.postgis import init_database

    assert 3 in init_database(pg_url)
    rows = _rows(pg_url)
    spatial = {str(n) for n, s in ATLAS_LAYERS.items() if s.geometry is not None}
    styled = {"province", "rivers", "parks", "plots", "parcels"} & spatial
    views = {"investor_province", "investor_rivers", "investor_parks", "investor_plots"}
    assert {r[2] for r in rows} == styled | views
    by_table = {r[2]: r for r in rows}
    parks = by_table["parks"]
    assert parks[3] == "geometry" and parks[4] == STYLE_NAME and parks[7] is True
    assert parks[0] and parks[1] == pg_url.split("schema=")[-1]
    # the stored QML is the one layer_styles builds (PostgreSQL's xml type keeps the document)
    assert "Đang hoạt động" in parks[5] and parks[5].count("<category ") == 3
    assert by_table["investor_plots"][5].count("<category ") == len(investor_plot_classes())
    assert by_table["parks"][6].count("<se:Rule>") == 3 + 1  # one rule per status, one for the labels
    # migrating again adds nothing (and keeps any style saved from QGIS)
    assert init_database(pg_url) == []
    assert len(_rows(pg_url)) == len(rows)


@pytest.mark.requires_qgis
def test_qgis_loads_the_default_style_of_a_postgis_layer(pg_url, run_qgis):
    from urllib.parse import urlsplit

    from kcn_gis.store.postgis import init_database
    from kcn_gis.store.postgis._driver import parse_url

    init_database(pg_url)
    base, schema, _ = parse_url(pg_url)
    u = urlsplit(base)
    conn = f"dbname='{u.path.lstrip('/')}' host={u.hostname} port={u.port} user='{u.username}' sslmode=disable"
    sources = [
        {
            "name": name,
            "provider": "postgres",
            "uri": f"{conn} key='fid' srid=9209 type=MultiPolygon checkPrimaryKeyUnicity='0' table=\"{schema}\".\"{name}\" (geometry)",
        }
        for name in ("parks", "plots")
    ]
    report, stderr = run_qgis({"kind": "layers", "sources": sources})
    parks, plots = report["layers"]["parks"], report["layers"]["plots"]
    assert parks["valid"], stderr
    assert parks["renderer"] == "categorizedSymbol"
    assert [c[1] for c in parks["categories"]] == [c.label["vi"] for c in park_status_classes()]
    assert plots["renderer"] == "categorizedSymbol" and len(plots["categories"]) == 7
    assert to_qml(layer_style("parks")).count("<category ") == len(parks["categories"])


def test_a_project_of_a_postgis_atlas_asks_for_a_pull_first(pg_url, tmp_path):
    from kcn_gis import open_atlas, write_atlas
    from kcn_gis.errors import KcnGisError
    from kcn_gis.interop.qgis_project import write_qgis_project

    from .conftest import make_styled_layers

    write_atlas(pg_url, make_styled_layers())
    with pytest.raises(KcnGisError, match=r"kcn-gis db pull --from URL --to atlas\.gpkg"):
        write_qgis_project(open_atlas(pg_url), tmp_path / "x.qgz")
    assert not (tmp_path / "x.qgz").exists()


def test_the_atlas_roles_may_read_the_styles(pg_url, postgis_server):
    import uuid

    import psycopg
    from psycopg import sql

    from kcn_gis.cli import main
    from kcn_gis.store.postgis import init_database
    from kcn_gis.store.postgis.roles import role_names

    init_database(pg_url)
    prefix = f"s{uuid.uuid4().hex[:6]}_"
    assert main(["db", "roles", pg_url, "--prefix", prefix]) == 0
    roles = list(role_names(prefix).values())
    try:
        with psycopg.connect(postgis_server.url()) as conn:
            can = [
                conn.execute("SELECT has_table_privilege(%s, 'public.layer_styles', 'SELECT')", [r]).fetchone()[0]
                for r in roles
            ]
            writes = [
                conn.execute("SELECT has_table_privilege(%s, 'public.layer_styles', 'INSERT')", [r]).fetchone()[0]
                for r in roles
            ]
        assert can == [True] * len(roles) and writes == [False] * len(roles)
    finally:
        with psycopg.connect(postgis_server.url(), autocommit=True) as conn:
            for role in roles:
                conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
                conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))
