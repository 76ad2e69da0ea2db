"""Migrations are a deploy step (`supervision db migrate`); tasks against a schema behind the code fail fast."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from supervision import cli, settings
from supervision.errors import is_deterministic
from supervision.nightly import prepare_run
from supervision.warehouse.migrate import SchemaBehind, migrations, require_current_schema

pytestmark = pytest.mark.integration
NEWEST = f"V{migrations()[-1].version:03d}"


def test_a_never_migrated_warehouse_fails_a_task_in_one_line(fresh_database, monkeypatch, tmp_path):
    monkeypatch.setenv("SUPERVISION_WAREHOUSE_URL", fresh_database())
    with pytest.raises(SchemaBehind) as e:
        prepare_run(date(2026, 11, 30), str(settings.DEFAULT_REGISTRY), str(tmp_path))
    assert str(e.value) == (f"warehouse schema is at V000 (never migrated), the code needs {NEWEST}: "
                            "run `supervision db migrate`")
    assert is_deterministic(e.value)  # no retry is spent on it


def test_db_migrate_deploys_then_tasks_run(fresh_database, monkeypatch, capsys):
    url = fresh_database()
    monkeypatch.setenv("SUPERVISION_WAREHOUSE_URL", url)
    assert cli.main(["db", "migrate"]) == 0
    assert f"{NEWEST}__" in capsys.readouterr().out
    with psycopg.connect(url, autocommit=True) as conn:
        require_current_schema(conn)
        assert conn.execute("SELECT count(*) FROM ref.division").fetchone()[0] > 0  # reference data deployed
    assert cli.main(["db", "migrate"]) == 0
    assert "nothing (schema up to date)" in capsys.readouterr().out


def test_a_schema_one_migration_behind_names_both_versions(fresh_database):
    url = fresh_database()
    with psycopg.connect(url, autocommit=True) as conn:
        from supervision.warehouse.migrate import deploy_warehouse

        deploy_warehouse(conn)
        previous = migrations()[-2].version
        conn.execute("DELETE FROM ops.schema_migration WHERE version = %s", (migrations()[-1].version,))
        with pytest.raises(SchemaBehind, match=rf"^warehouse schema is at V{previous:03d}, the code needs "
                                               rf"{NEWEST}: run `supervision db migrate`$"):
            require_current_schema(conn)
