"""Bulk, idempotent loading of typed record frames into ``core.<table>`` and ``core.<table>_history``.

One call = one transaction: COPY the frame (CSV bytes from pyarrow, the fastest path) into a temp table,
then a single statement adds every version not seen before to the history table and upserts the newest
version of each ``(county_code, record_id)`` into the core table. A row only replaces the stored one when
its ``updated_at`` is newer, so re-loading a file, or loading an older one late, changes nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from supervision.contract import DATE, MONEY, TIMESTAMP, RecordType
from supervision.warehouse.ddl import CORE_SCHEMA, history_table, row_hash_sql

BATCH_ROWS = 100_000  # rows per COPY chunk: bounds the memory held by the CSV text
SOURCE_ROW = "_source_row"


@dataclass(frozen=True)
class LoadResult:
    rows_in: int  # rows in the frame
    inserted: int  # keys new to the core table
    updated: int  # keys whose stored row was replaced by a newer updated_at
    unchanged: int  # keys whose stored row is as new or newer (re-sent, or an older version)
    history_added: int  # versions (updated_at, content) not seen before
    duplicates: int = 0  # rows of the frame superseded by a newer row for the same key in the same frame


def copy_csv(conn: psycopg.Connection, target: sql.Composable, columns, data: pa.Table) -> None:
    """COPY an Arrow table into ``target`` as CSV. pyarrow quotes every string and writes NULL as a bare
    empty field, which is how PostgreSQL's CSV format tells '' from NULL."""
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor().copy(stmt) as copy:
        for start in range(0, max(data.num_rows, 1), BATCH_ROWS):
            buf = io.BytesIO()
            pacsv.write_csv(data.slice(start, BATCH_ROWS), buf, pacsv.WriteOptions(include_header=False))
            copy.write(buf.getbuffer())


def to_arrow(rt: RecordType, frame: pd.DataFrame) -> pa.Table:
    """The contract columns (plus ``_source_row``) as Arrow arrays whose CSV text PostgreSQL parses exactly."""
    missing = [n for n in rt.field_names if n not in frame.columns]
    if missing:
        raise ValueError(f"{rt.name}: frame lacks contract fields {missing}")
    arrays = {}
    for f in rt.fields:
        a = pa.array(frame[f.name], from_pandas=True)
        if f.type == DATE and not pa.types.is_date(a.type):
            a = a.cast(pa.date32(), safe=False)  # else CSV would carry a time part
        elif f.type == TIMESTAMP:
            if pa.types.is_timestamp(a.type) and a.type.tz is None:
                a = pc.assume_timezone(a, "UTC")  # naive = UTC; otherwise PostgreSQL would read session time
            a = a.cast(pa.timestamp("us", tz="UTC"), safe=False)
        elif f.type != MONEY and pa.types.is_integer(a.type):
            a = a.cast(pa.string())  # a code read as a number
        arrays[f.name] = a
    src = frame[SOURCE_ROW] if SOURCE_ROW in frame.columns else pd.Series([None] * len(frame), dtype="Int64")
    arrays[SOURCE_ROW] = pa.array(src, from_pandas=True, type=pa.int32())
    return pa.table(arrays)


def load_records(conn: psycopg.Connection, rt: RecordType, frame: pd.DataFrame, submission_id: int) -> LoadResult:
    """Load a typed frame (one column per contract field, plus ``_source_row``) for ``submission_id``.

    Types: datetime64 for dates, tz-aware datetime64 for timestamps (naive = UTC), float or Decimal for
    money, boolean for bools, strings for the rest; NA = NULL, '' stays ''. Runs in its own transaction,
    or inside the caller's when one is open (then the caller commits).
    """
    names = rt.field_names
    cols = sql.SQL(", ").join(map(sql.Identifier, names))
    stage = sql.Identifier("_stage_" + rt.table)
    core = sql.Identifier(CORE_SCHEMA, rt.table)
    hist = sql.Identifier(CORE_SCHEMA, history_table(rt))
    target_cols = sql.SQL("{}, submission_id, source_row, row_hash").format(cols)
    data = to_arrow(rt, frame)

    with conn.transaction():
        conn.execute("SELECT set_config('work_mem', '64MB', true)")  # sort for DISTINCT ON in memory
        conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(stage))
        conn.execute(sql.SQL("CREATE TEMP TABLE {} ({}, {} int) ON COMMIT DROP").format(
            stage,
            sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(f.sql_type)) for f in rt.fields),
            sql.Identifier(SOURCE_ROW)))
        copy_csv(conn, stage, [*names, SOURCE_ROW], data)
        merge = sql.SQL("""
            WITH src AS MATERIALIZED (
                SELECT {cols}, %(sid)s::bigint AS submission_id, {src_row} AS source_row, {hash} AS row_hash
                FROM {stage} s
            ), hist AS (
                INSERT INTO {hist} ({target}) SELECT {target} FROM src ON CONFLICT DO NOTHING RETURNING 1
            ), latest AS (
                SELECT DISTINCT ON (county_code, record_id) {target} FROM src
                ORDER BY county_code, record_id, updated_at DESC, source_row DESC NULLS LAST
            ), up AS (
                INSERT INTO {core} AS t ({target}) SELECT {target} FROM latest
                ON CONFLICT (county_code, record_id) DO UPDATE SET ({target}, loaded_at) =
                    ({excluded}, excluded.loaded_at)
                -- newest updated_at wins; on a tie, a later submission with other content (a corrected
                -- re-send of the same day) replaces the earlier one; an identical version changes nothing
                WHERE excluded.updated_at > t.updated_at
                   OR (excluded.updated_at = t.updated_at AND excluded.row_hash <> t.row_hash
                       AND excluded.submission_id > t.submission_id)
                RETURNING (t.xmax = 0) AS inserted
            )
            SELECT (SELECT count(*) FROM latest), (SELECT count(*) FROM hist),
                   count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
            FROM up""").format(
            cols=cols, src_row=sql.Identifier(SOURCE_ROW), hash=sql.SQL(row_hash_sql(rt, "s")), stage=stage,
            hist=hist, core=core, target=target_cols,
            excluded=sql.SQL(", ").join(sql.Identifier("excluded", n) for n in
                                        [*names, "submission_id", "source_row", "row_hash"]))
        keys, history_added, inserted, updated = conn.execute(merge, {"sid": submission_id}).fetchone()
        conn.execute(sql.SQL("DROP TABLE {}").format(stage))  # the caller's transaction may go on
    return LoadResult(rows_in=len(frame), inserted=inserted, updated=updated, unchanged=keys - inserted - updated,
                      history_added=history_added, duplicates=len(frame) - keys)
