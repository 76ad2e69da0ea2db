"""The supervisor-facing fact tables, derived from the record contract.

``marts.fact_<table>`` holds the current version of every record, ``marts.fact_<table>_history`` every
version, both with personal data replaced as :mod:`supervision.marts.pii` describes. Their DDL is generated
here and committed as a fixed migration (:data:`FACT_MIGRATION`); a unit test regenerates and compares it, as
for the core tables. Regenerate after a contract change into a *new* migration:
``python -m supervision.marts.model``.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from supervision.contract import CONTRACT_VERSION, RECORD_TYPES, RecordType
from supervision.marts.pii import PSEUDONYM_HEX, hmac_sql, person_flag_field

SCHEMA = "marts"
FACT_MIGRATION = "V102__marts_facts.sql"
CLEAR, ORG_ONLY, PSEUDONYM = "clear", "org_only", "pseudonym"


@dataclass(frozen=True)
class FactColumn:
    name: str
    sql_type: str
    not_null: bool
    field: str | None  # contract field it comes from (None: metadata)
    kind: str  # clear | org_only | pseudonym | metadata
    comment: str


def fact_table(rt: RecordType) -> str:
    return f"fact_{rt.table}"


def fact_history_table(rt: RecordType) -> str:
    return f"fact_{rt.table}_history"


def fact_columns(rt: RecordType) -> list[FactColumn]:
    cols: list[FactColumn] = []
    for f in rt.fields:
        if not f.pii:
            cols.append(FactColumn(f.name, f.sql_type, f.required, f.name, CLEAR, f"{f.zh}"))
            continue
        if f.pii == "person":
            flag = person_flag_field(rt, f.name)
            cols.append(FactColumn(f.name, f.sql_type, False, f.name, ORG_ONLY,
                                   f"{f.zh}: clear only when {flag} = organization; NULL for a person (personal data)"))
        cols.append(FactColumn(f"{f.name}_pseudonym", f"char({PSEUDONYM_HEX})", f.required,
                               f.name, PSEUDONYM, f"{f.zh} (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex"))
    cols += [
        FactColumn("row_hash", "text", True, None, "metadata", "md5 of the record's contract fields (as in core)"),
        FactColumn("loaded_at", "timestamptz", True, None, "metadata", "when this version reached core"),
        FactColumn("refreshed_at", "timestamptz", True, None, "metadata", "when the marts refresh copied it"),
    ]
    return cols


def has_township(rt: RecordType) -> bool:
    return "township_code" in rt.field_names


def _ddl(rt: RecordType, table: str, pk: str, comment: str) -> str:
    lines = []
    for c in fact_columns(rt):
        default = " default now()" if c.name == "refreshed_at" else ""
        lines.append(f"    {c.name} {c.sql_type}{' not null' if c.not_null else ''}{default}")
    lines.append(f"    CONSTRAINT {table}_pk PRIMARY KEY ({pk})")
    out = [f"CREATE TABLE {SCHEMA}.{table} (\n" + ",\n".join(lines) + "\n);",
           f"COMMENT ON TABLE {SCHEMA}.{table} IS {_lit(comment)};"]
    for c in fact_columns(rt):
        out.append(f"COMMENT ON COLUMN {SCHEMA}.{table}.{c.name} IS {_lit(c.comment)};")
    return "\n".join(out) + "\n"


def fact_migration_sql() -> str:
    parts = [f"-- Fact tables of the supervisor marts, generated from supervision.contract ({CONTRACT_VERSION}) by\n"
             "-- supervision.marts.model; do not edit. Personal data is pseudonymized (supervision.marts.pii); the\n"
             "-- refresh (supervision.marts.refresh) fills them from core. Row-level security: every table is\n"
             "-- protected by marts.protect_by_division (V100).\n"]
    for rt in RECORD_TYPES.values():
        cur, hist = fact_table(rt), fact_history_table(rt)
        parts.append(f"-- {rt.name}: {rt.zh}")
        parts.append(_ddl(rt, cur, "county_code, record_id",
                          f"{rt.zh}: current version of each record (personal data pseudonymized)"))
        parts.append(_ddl(rt, hist, "county_code, record_id, updated_at, row_hash",
                          f"{rt.zh}: every version received (personal data pseudonymized)"))
        township = "'township_code'" if has_township(rt) else "NULL"
        if has_township(rt):
            parts.append(f"CREATE INDEX {cur}_township_idx ON {SCHEMA}.{cur} (township_code);")
        parts.append(f"CREATE INDEX {hist}_loaded_idx ON {SCHEMA}.{hist} (loaded_at);")
        for t in (cur, hist):
            parts.append(f"SELECT marts.protect_by_division('{SCHEMA}.{t}', 'county_code', {township});")
        parts.append("")
    return "\n".join(parts)


def _lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def select_list(rt: RecordType, alias: str = "c") -> sql.Composed:
    """The SELECT list that turns a ``core`` row into a fact row (contract columns, row_hash, loaded_at)."""
    items: list[sql.Composable] = []
    for c in fact_columns(rt):
        if c.kind == "metadata":
            if c.name == "refreshed_at":
                items.append(sql.SQL("now()"))
            else:
                items.append(sql.Identifier(alias, c.name))
            continue
        src = sql.Identifier(alias, c.field)
        if c.kind == CLEAR:
            items.append(src)
        elif c.kind == ORG_ONLY:
            flag = sql.Identifier(alias, person_flag_field(rt, c.field))
            items.append(sql.SQL("CASE WHEN {} = 'person' THEN NULL ELSE {} END").format(flag, src))
        else:
            items.append(hmac_sql(sql.SQL("{}::text").format(src)))
    return sql.SQL(", ").join(items)


def column_list(rt: RecordType) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(c.name) for c in fact_columns(rt))


if __name__ == "__main__":
    print(fact_migration_sql(), end="")
