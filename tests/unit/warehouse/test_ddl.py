"""The core-table migration is what the contract generates: contract and schema cannot drift."""

import re

from supervision.contract import RECORD_TYPES
from supervision.warehouse.ddl import (
    CORE_MIGRATION,
    VERSIONS_MIGRATION,
    core_migration_sql,
    core_table_ddl,
    row_hash_sql,
    versions_once_migration_sql,
)
from supervision.warehouse.migrate import MIGRATIONS_DIR, migrations


def test_committed_core_migration_is_generated_from_contract():
    committed = (MIGRATIONS_DIR / CORE_MIGRATION).read_text(encoding="utf-8")
    assert committed == core_migration_sql(), (
        f"{CORE_MIGRATION} differs from the contract; regenerate it with "
        "`python -m supervision.warehouse.ddl` if it was never applied anywhere, else write an ALTER migration")


def test_committed_versions_once_migration_is_generated_from_contract():
    committed = (MIGRATIONS_DIR / VERSIONS_MIGRATION).read_text(encoding="utf-8")
    assert committed == versions_once_migration_sql(), (
        f"{VERSIONS_MIGRATION} differs from the contract; applied migrations never change: write a new one")
    for rt in RECORD_TYPES.values():
        view = (f"CREATE VIEW core.{rt.table}_history AS\n    SELECT * FROM core.{rt.table} UNION ALL "  # noqa: S608
                f"SELECT * FROM core.{rt.table}_superseded;")
        assert view in committed


def test_core_table_has_every_field_in_contract_order_then_metadata():
    for rt in RECORD_TYPES.values():
        ddl = core_table_ddl(rt)
        body = ddl.split(f"CREATE TABLE core.{rt.table} (\n", 1)[1].split("\n);", 1)[0]
        columns = [line.split()[0] for line in body.splitlines() if not line.strip().startswith("CONSTRAINT")]
        assert columns == rt.field_names + ["submission_id", "source_row", "row_hash", "loaded_at"]
        for f in rt.fields:
            assert re.search(rf"^    {f.name} {re.escape(f.sql_type)}( not null)?,$", body, re.M), f.name
        assert f"CREATE TABLE core.{rt.table}_history (" in ddl
        assert "PRIMARY KEY (county_code, record_id, updated_at, row_hash)" in ddl


def test_row_hash_covers_every_field():
    for rt in RECORD_TYPES.values():
        expr = row_hash_sql(rt)
        assert all(re.search(rf"\b{f.name}\b", expr) for f in rt.fields)


def test_migrations_are_uniquely_numbered_in_order():
    # Each capability owns a range (V0xx pipeline, V1xx marts, V2xx alerting, V3xx sources): gaps are expected.
    found = migrations()
    versions = [m.version for m in found]
    assert versions == sorted(set(versions))
    assert versions[:4] == [1, 2, 3, 4]
    assert CORE_MIGRATION in [m.path.name for m in found]
