"""Core-table DDL generated from the record contract.

The output is committed as a fixed migration (``CORE_MIGRATION``); a unit test regenerates it and compares,
so the contract and the schema cannot drift. After a contract change: write a new migration that alters the
tables (applied migrations never change), then point the test at the new state.

Regenerate: ``python -m supervision.warehouse.ddl > sql/migrations/V004__core_tables.sql``.
"""

from __future__ import annotations

from supervision.contract import CONTRACT_VERSION, DATE, RECORD_TYPES, TIMESTAMP, RecordType

CORE_SCHEMA = "core"
CORE_MIGRATION = "V004__core_tables.sql"
METADATA_COLUMNS = (
    ("submission_id", "bigint not null"),
    ("source_row", "int"),
    ("row_hash", "text not null"),
    ("loaded_at", "timestamptz not null default now()"),
)


def history_table(rt: RecordType) -> str:
    return rt.table + "_history"


def _columns(rt: RecordType) -> str:
    cols = [f"    {f.name} {f.sql_type}{' not null' if f.required else ''}" for f in rt.fields]
    cols += [f"    {name} {decl}" for name, decl in METADATA_COLUMNS]
    return ",\n".join(cols)


def core_table_ddl(rt: RecordType, schema: str = CORE_SCHEMA) -> str:
    """CREATE TABLE statements for ``<schema>.<table>`` (current version) and its ``_history``."""
    hist = history_table(rt)
    return (
        f"-- {rt.name}: {rt.zh}\n"
        f"CREATE TABLE {schema}.{rt.table} (\n{_columns(rt)},\n"
        f"    CONSTRAINT {rt.table}_pk PRIMARY KEY (county_code, record_id)\n);\n"
        f"CREATE TABLE {schema}.{hist} (\n{_columns(rt)},\n"
        f"    CONSTRAINT {hist}_pk PRIMARY KEY (county_code, record_id, updated_at, row_hash)\n);\n"
        f"CREATE INDEX {rt.table}_submission_idx ON {schema}.{rt.table} (submission_id);\n"
        f"CREATE INDEX {hist}_submission_idx ON {schema}.{hist} (submission_id);\n"
    )


def core_migration_sql() -> str:
    head = (f"-- Core tables, generated from supervision.contract ({CONTRACT_VERSION}) by "
            "supervision.warehouse.ddl; do not edit.\n"
            "-- One table per record type (current version of each row) plus <table>_history (every version).\n")
    return head + "\n".join(core_table_ddl(rt) for rt in RECORD_TYPES.values())


def row_hash_sql(rt: RecordType, alias: str = "") -> str:
    """SQL expression: md5 of the contract fields, independent of the session's TimeZone and DateStyle.

    The row text form quotes empty strings and leaves NULL empty, so '' and NULL hash differently.
    """
    p = f"{alias}." if alias else ""

    def expr(f):
        if f.type == TIMESTAMP:
            return f"to_char({p}{f.name} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
        if f.type == DATE:
            return f"to_char({p}{f.name}, 'YYYY-MM-DD')"
        return f"{p}{f.name}::text"

    return "md5(ROW(" + ", ".join(expr(f) for f in rt.fields) + ")::text)"


if __name__ == "__main__":
    print(core_migration_sql(), end="")
