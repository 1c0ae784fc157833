"""The two layers of schema version 2 on PostGIS: migration 2, keys, enum checks, SRID, append-only reports."""

from __future__ import annotations

import pytest

psycopg = pytest.importorskip("psycopg")
from psycopg import sql  # noqa: E402

from kcn_gis import open_atlas, write_atlas  # noqa: E402
from kcn_gis.analytics import reporting_status  # noqa: E402
from kcn_gis.cli import main  # noqa: E402
from kcn_gis.errors import StoreError  # noqa: E402
from kcn_gis.schema import Layer  # noqa: E402
from tests.conftest import make_layers  # noqa: E402


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
def test_a_version_1_schema_is_migrated_to_version_2(pg_url):
    from kcn_gis.store.postgis import migrations as mig
    from kcn_gis.store.postgis import parse_url

    conninfo, schema, _ = parse_url(pg_url)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        assert mig.migrate(cur, schema, srid=9209, target=1) == [1]
        for k, v in {"schema_version": "1", "crs": "EPSG:9209"}.items():
            cur.execute(
                sql.SQL("INSERT INTO {} VALUES (%s, %s)").format(sql.Identifier(schema, mig.META_TABLE)), [k, v]
            )
    tables = {r[0] for r in _exec(pg_url, "SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])}
    assert "facilities" not in tables and "projects" in tables
    with pytest.raises(StoreError, match=f"version 1; this kcn_gis needs {mig.LATEST}.*kcn-gis db migrate"):
        open_atlas(pg_url)
    assert main(["db", "migrate", pg_url]) == 0
    atlas = open_atlas(pg_url)
    assert Layer.FACILITIES in atlas.layer_names() and Layer.ENTERPRISE_REPORTS in atlas.layer_names()
    assert len(atlas.facilities) == 0 and atlas.validate() == []


@pytest.mark.requires_postgis
def test_facilities_srid_enum_check_and_foreign_key(pg_url):
    write_atlas(pg_url, make_layers())
    schema = _schema(pg_url)
    srid = _exec(
        pg_url, "SELECT srid FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = 'facilities'", [schema]
    )
    assert srid == [(9209,)]
    t = sql.Identifier(schema, "facilities")
    good = (
        "INSERT INTO {} (facility_id, kind, name, status, park_id, geometry) "
        "VALUES (%s, %s, 'x', %s, %s, ST_SetSRID(ST_Point(541500, 2336500), 9209))"
    )
    _exec(pg_url, sql.SQL(good).format(t), ["F1", "clinic", "operating", "N1"])
    with pytest.raises(psycopg.errors.CheckViolation, match="facilities_kind_enum"):
        _exec(pg_url, sql.SQL(good).format(t), ["F2", "hospital", "operating", "N1"])
    with pytest.raises(psycopg.errors.CheckViolation, match="facilities_status_enum"):
        _exec(pg_url, sql.SQL(good).format(t), ["F3", "clinic", "closed", "N1"])
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        _exec(pg_url, sql.SQL(good).format(t), ["F4", "clinic", "operating", "NO-SUCH-PARK"])
    with pytest.raises(psycopg.errors.UniqueViolation):
        _exec(pg_url, sql.SQL(good).format(t), ["F1", "clinic", "operating", "N1"])
    assert open_atlas(pg_url).facilities.geometry.iloc[0].geom_type == "Point"


@pytest.mark.requires_postgis
def test_enterprise_reports_are_append_only_in_the_database(pg_url, tmp_path):
    from tests.services.test_import import write_sheet

    write_atlas(pg_url, make_layers())
    from kcn_gis.reports_intake import import_reports

    book = write_sheet(tmp_path / "r.xlsx", {"2011": [("PRJ1", "2012-01-05", 100, 40, 70, 12.5, 1.0, 0.3, 2.4)]})
    assert import_reports(open_atlas(pg_url), book, today="2012-06-01")["added"] == 1
    t = sql.Identifier(_schema(pg_url), "enterprise_reports")
    for stmt in (
        sql.SQL("UPDATE {} SET output_bn_vnd = 0").format(t),
        sql.SQL("DELETE FROM {}").format(t),
        sql.SQL("TRUNCATE {}").format(t),
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
            _exec(pg_url, stmt)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        _exec(
            pg_url,
            sql.SQL(
                "INSERT INTO {} (report_id, project_id, period, revision, filed_on, recorded_at, recorded_by) "
                "VALUES ('X/2011/r1', 'NO-SUCH', '2011', 1, '2012-01-01', now(), 'x')"
            ).format(t),
        )


@pytest.mark.requires_postgis
def test_the_bundled_reports_give_the_same_totals_on_postgis(pg_url):
    src = open_atlas()
    write_atlas(pg_url, {name: src.read(name) for name in src.layer_names()})
    atlas = open_atlas(pg_url)
    p = reporting_status(atlas.projects, atlas.enterprise_reports, period="2011", plots=atlas.plots)
    p = p.set_index("park_id").loc["province"]
    assert (p["output_bn_vnd"], p["exports_musd"], p["budget_bn_vnd"]) == (142_704, 6_512, 2_653)
    assert len(atlas.facilities) == len(src.facilities)
