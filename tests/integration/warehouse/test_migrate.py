import shutil
import threading

import psycopg
import pytest

from supervision import divisions
from supervision.contract import RECORD_TYPES
from supervision.warehouse.ddl import core_table_ddl, history_table, superseded_table
from supervision.warehouse.migrate import MIGRATIONS_DIR, MigrationError, load_divisions, migrate, migrations

pytestmark = pytest.mark.integration


def test_fresh_database_gets_every_migration_then_nothing(fresh_database):
    with psycopg.connect(fresh_database(), autocommit=True) as conn:
        assert migrate(conn) == [m.path.stem for m in migrations()]
        assert migrate(conn) == []
        recorded = conn.execute("SELECT version, name, checksum FROM ops.schema_migration ORDER BY 1").fetchall()
        assert recorded == [(m.version, m.name, m.checksum) for m in migrations()]
        schemas = {r[0] for r in conn.execute("SELECT nspname FROM pg_namespace")}
        assert {"ref", "staging", "core", "ops", "marts"} <= schemas


def test_concurrent_callers_apply_once(fresh_database):
    url = fresh_database()
    results, errors = [], []

    def run():
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                results.append(migrate(conn))
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(map(len, results)) == [0, 0, 0, len(migrations())]


def test_changed_applied_migration_is_an_error(warehouse, tmp_path):
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "m")
    with (tmp_path / "m" / "V001__schemas.sql").open("a") as f:
        f.write("\n-- edited after it was applied\n")
    with pytest.raises(MigrationError, match=r"V001__schemas\.sql was changed after it was applied"):
        migrate(warehouse, tmp_path / "m")
    assert migrate(warehouse) == []  # nothing half-done


def test_new_migration_file_is_applied(warehouse, tmp_path):
    shutil.copytree(MIGRATIONS_DIR, tmp_path / "m")
    version = len(migrations()) + 1
    (tmp_path / "m" / f"V{version:03d}__probe.sql").write_text("CREATE TABLE marts.probe (x int);")
    with warehouse.transaction(force_rollback=True):
        assert migrate(warehouse, tmp_path / "m") == [f"V{version:03d}__probe"]
        assert migrate(warehouse, tmp_path / "m") == []


def test_divisions_loaded(warehouse):
    q = lambda s, *a: warehouse.execute(s, a).fetchone()[0]  # noqa: E731
    assert q("SELECT count(*) FROM ref.division WHERE level = 'province'") == 31
    assert q("SELECT count(*) FROM ref.division WHERE level = 'county'") == 2978
    assert q("SELECT count(*) FROM ref.division WHERE level = 'county' AND province_code = '41'") == 181
    assert q("SELECT count(*) FROM ref.division WHERE level = 'county' AND city_code = '4110'") == 7
    assert q("SELECT name FROM ref.division WHERE code = '411002'") == "魏都区"
    assert q("SELECT count(DISTINCT edition) FROM ref.division") == 1
    assert q("SELECT min(edition) FROM ref.division") == divisions.EDITION


def test_divisions_reload_only_when_edition_differs(warehouse):
    assert load_divisions(warehouse) == 0
    warehouse.execute("UPDATE ref.division SET edition = 'older edition' WHERE level = 'province'")
    assert load_divisions(warehouse) == len(divisions.load_divisions())
    assert load_divisions(warehouse) == 0
    assert warehouse.execute("SELECT count(*) FROM ref.division WHERE edition <> %s",
                             (divisions.EDITION,)).fetchone()[0] == 0


def _columns(conn, schema, table):
    return conn.execute("""
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_attribute a
        WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum""",
                        (f"{schema}.{table}",)).fetchall()


def test_core_tables_in_database_match_contract(warehouse):
    """Catches drift however the core tables got their shape (later ALTER migrations included)."""
    with warehouse.transaction(force_rollback=True):
        warehouse.execute("CREATE SCHEMA drift_check")
        for rt in RECORD_TYPES.values():
            warehouse.execute(core_table_ddl(rt, schema="drift_check"))
            # V400: _superseded has the shape of the current table; the _history view its columns (a view's
            # columns carry no NOT NULL)
            current = _columns(warehouse, "drift_check", rt.table)
            assert _columns(warehouse, "core", rt.table) == current
            assert _columns(warehouse, "core", superseded_table(rt)) == current
            assert _columns(warehouse, "drift_check", history_table(rt)) == current
            assert [c[:2] for c in _columns(warehouse, "core", history_table(rt))] == [c[:2] for c in current]
