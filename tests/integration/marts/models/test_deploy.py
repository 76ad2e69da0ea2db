"""Deploying the SQL models (supervision.warehouse.models): every model paired with its test, the upgrade of a
warehouse whose views were made by the migrations (main up to V503), idempotence, changes, and refusal to drop a
view somebody built on a model."""

from __future__ import annotations

import re
import secrets
import shutil
from pathlib import Path

import psycopg
import pytest

from supervision.marts.access import create_supervisor, drop_supervisor
from supervision.marts.refresh import refresh_marts
from supervision.warehouse.migrate import MIGRATIONS_DIR, migrate, migrations
from supervision.warehouse.models import MODELS_DIR, ModelError, deploy_models, models

from ..marts_support import AS_OF, TEST_PASSWORD, load_world, login_url, make_key

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[4]
LAST_MIGRATION_WITH_VIEWS = 503  # main before the models: V103-V503 made the views

# Everything a view is to its readers: definition, options (security_invoker), grants, comment, columns.
CATALOG = """
    SELECT c.relname, pg_get_viewdef(c.oid), c.reloptions::text, c.relacl::text, obj_description(c.oid, 'pg_class'),
           (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', ' ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0)
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'marts' AND c.relkind = 'v' ORDER BY 1"""
FIGURES = ("SELECT * FROM marts.kpi ORDER BY level, division_code, period_type, period_start, kpi",
           "SELECT * FROM marts.watchlist ORDER BY kind, county_code, record_id",
           "SELECT * FROM marts.kpi_case ORDER BY kpi, county_code, record_id, period_date")


def test_every_model_names_a_test_that_names_it():
    for m in models():
        found = re.search(r"^-- Tested by (tests/\S+\.py)", m.sql, re.M)
        assert found, f"{m.path.name}: say which test checks it (-- Tested by tests/...)"
        test = ROOT / found.group(1)
        assert test.is_file(), f"{m.path.name}: {found.group(1)} does not exist"
        assert m.name in test.read_text(encoding="utf-8"), f"{found.group(1)} does not name {m.name}"


def test_each_model_comes_after_what_it_reads_and_exposes_itself():
    ordered = models()
    names = {m.qualified for m in ordered}
    seen: set[str] = set()
    for m in ordered:
        assert m.reads(names) <= seen, m.name
        seen.add(m.qualified)
        assert f"CREATE OR REPLACE VIEW {m.qualified} WITH (security_invoker = true) AS" in m.sql
        assert f"SELECT marts.expose_view('{m.qualified}');" in m.sql
    assert len(ordered) == 27
    # one model per file: no file creates a view that is not its own
    created = [v for m in ordered for v in re.findall(r"^CREATE (?:OR REPLACE )?VIEW (\S+)", m.sql, re.M)]
    assert sorted(created) == sorted(names)


def _old_style(fresh_database, tmp_path) -> str:
    """A database migrated as main was before the models (V001-V503, views made by the migrations)."""
    old = tmp_path / "old_migrations"
    old.mkdir()
    for m in migrations():
        if m.version <= LAST_MIGRATION_WITH_VIEWS:
            shutil.copy(m.path, old / m.path.name)
    url = fresh_database()
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn, old)
    return url


def test_upgrade_of_a_warehouse_migrated_before_the_models(fresh_database, tmp_path):
    url = _old_style(fresh_database, tmp_path)
    key = make_key()
    with psycopg.connect(url, autocommit=True) as conn:
        load_world(conn)
        refresh_marts(conn, key=key, as_of=AS_OF, migrate=False)
        views_before = conn.execute(CATALOG).fetchall()
        figures_before = [conn.execute(q).fetchall() for q in FIGURES]
        assert len(views_before) == 27

        migrate(conn)  # whatever came after V503
        assert deploy_models(conn) == [m.qualified for m in models()]

        assert conn.execute(CATALOG).fetchall() == views_before  # same views, options, grants and comments
        assert [conn.execute(q).fetchall() for q in FIGURES] == figures_before
        assert conn.execute("SELECT count(*) FROM ops.schema_model").fetchone()[0] == 27
        assert deploy_models(conn) == []  # recorded: nothing to do
        assert refresh_marts(conn, key=key, as_of=AS_OF, migrate=False).mode == "incremental"
        assert [conn.execute(q).fetchall() for q in FIGURES] == figures_before

        # Row-level security through the re-created views: a county supervisor sees its county only.
        login = f"t{secrets.token_hex(3)}_upgrade"
        create_supervisor(conn, login, "411002", password=TEST_PASSWORD)
        try:
            with psycopg.connect(login_url(url, login), autocommit=True) as sup:
                for view in ("kpi", "kpi_case", "watchlist", "enforcement_case_detail", "kpi_vs_target"):
                    seen = {r[0] for r in sup.execute(f"SELECT DISTINCT county_code FROM marts.{view}")}  # noqa: S608
                    assert seen == {"411002"}, view
                everywhere = {r[0] for r in conn.execute("SELECT DISTINCT county_code FROM marts.kpi_case")}
                assert len(everywhere) > 1
        finally:
            drop_supervisor(conn, login)


def test_a_fresh_warehouse_gets_the_same_views_from_the_models_as_from_the_migrations(fresh_database, tmp_path):
    old = _old_style(fresh_database, tmp_path)
    with psycopg.connect(old, autocommit=True) as conn:
        migrate(conn)
        from_migrations = conn.execute(CATALOG).fetchall()
    with psycopg.connect(fresh_database(), autocommit=True) as conn:
        from supervision.warehouse.migrate import deploy_warehouse

        deploy_warehouse(conn)
        assert conn.execute(CATALOG).fetchall() == from_migrations
        assert deploy_warehouse(conn) == [] and deploy_models(conn) == []


def test_a_changed_model_is_deployed_again_and_a_missing_view_restored(fresh_database, tmp_path):
    url = fresh_database()
    changed = tmp_path / "models"
    shutil.copytree(MODELS_DIR, changed)
    path = changed / "marts" / "kpi.sql"
    path.write_text(path.read_text(encoding="utf-8").replace("监督指标 (long format)", "监督指标 (long format, v2)"),
                    encoding="utf-8")
    comment = "SELECT obj_description('marts.kpi'::regclass, 'pg_class')"
    with psycopg.connect(url, autocommit=True) as conn:
        migrate(conn)
        deploy_models(conn)
        assert deploy_models(conn) == []
        assert "v2" not in conn.execute(comment).fetchone()[0]
        assert len(deploy_models(conn, changed)) == 27
        assert "(long format, v2)" in conn.execute(comment).fetchone()[0]
        assert deploy_models(conn, changed) == []
        conn.execute("DROP VIEW marts.kpi_vs_target")
        assert "marts.kpi_vs_target" in deploy_models(conn, changed)
        assert conn.execute("SELECT to_regclass('marts.kpi_vs_target') IS NOT NULL").fetchone()[0]


def test_a_view_built_on_a_model_stops_the_deploy_instead_of_vanishing(fresh_database):
    with psycopg.connect(fresh_database(), autocommit=True) as conn:
        migrate(conn)
        deploy_models(conn)
        conn.execute("CREATE VIEW marts.t_someone_elses AS SELECT kpi FROM marts.kpi")
        with pytest.raises(ModelError, match="t_someone_elses"):
            deploy_models(conn, force=True)
        assert conn.execute("SELECT to_regclass('marts.kpi'), to_regclass('marts.t_someone_elses')").fetchone() \
            == ("marts.kpi", "marts.t_someone_elses")


def test_old_migrations_are_history_the_models_are_the_only_live_definitions():
    """The migrations that made the views stay as they were applied (their checksums are recorded); no
    migration after them creates a view the models own."""
    owned = {m.qualified for m in models()}
    for m in migrations(MIGRATIONS_DIR):
        if m.version > LAST_MIGRATION_WITH_VIEWS:
            made = set(re.findall(r"CREATE (?:OR REPLACE )?VIEW (\S+)", m.sql))
            assert not made & owned, f"{m.path.name} creates {made & owned}: edit the model file instead"
