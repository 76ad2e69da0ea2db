"""The client-side row hash is byte-identical to ``row_hash_sql`` (PostgreSQL's record text + md5)."""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest
from psycopg import sql

from supervision.contract import BOOL, DATE, MONEY, RECORD_TYPES, TIMESTAMP
from supervision.warehouse.ddl import row_hash_sql
from supervision.warehouse.load import copy_csv, typed_table
from supervision.warehouse.row_hash import date_text, row_hashes, row_texts, timestamp_text

pytestmark = pytest.mark.integration

# Everything record_out treats specially, and things it does not (non-ASCII spaces, braces, quotes ').
PIECES = ['"', "\\", "(", ")", ",", " ", "\t", "\n", "\r", "\x0b", "\x0c", "a", "Z", "7", "中", "豫", "（", "）",
          "\u3000", "\xa0", "{", "}", "'", ";", "-", ":", ".", "NULL", "\\N", "é", "😀", "#", "!", "+", "*"]
FIXED = ["", None, " ", "  ", '""', '"', "\\", "\\\\", "()", "(", ",", "a,b", "a b", " lead", "trail ", "\t",
         "line\nbreak", "中文", "（2026）豫", "null", "NULL", "true", "\u3000", "x" * 200]


def _text(rng: random.Random) -> str | None:
    r = rng.random()
    if r < 0.15:
        return rng.choice(FIXED)
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 12)))


def _char(rng: random.Random, n: int) -> str | None:
    r = rng.random()
    if r < 0.1:
        return None
    if r < 0.2:
        return rng.choice(["", " " * n, " 1", "1 ", "  2  "])[:n]
    body = "".join(rng.choice("0123456789X ") for _ in range(rng.randint(0, n)))
    return body


def tricky_table(rt, n: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    base = datetime(2026, 11, 22, tzinfo=UTC)
    cols = {}
    for f in rt.fields:
        if f.type == TIMESTAMP:
            starts = [base, base.replace(hour=0), datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
                      datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 11, 1, tzinfo=UTC)]
            vals = [rng.choice(starts) + timedelta(microseconds=rng.choice([0, 1, rng.randint(0, 10**12)]))
                    for _ in range(n)]
        elif f.type == DATE:
            vals = [None if rng.random() < 0.2 else rng.choice([date(2026, 2, 28), date(2024, 2, 29),
                    date(1999, 12, 31), date(2000, 1, 1), date(1, 1, 1), date(999, 3, 4), date(9999, 12, 31)])
                    for _ in range(n)]
        elif f.type == MONEY:
            vals = [None if rng.random() < 0.2 else rng.choice([Decimal("0"), Decimal("-0.01"), Decimal("0.01"),
                    Decimal("-123.4"), Decimal("999999999999.99"), Decimal("-999999999999.99"),
                    Decimal(rng.randint(-10**9, 10**9)) / 100]) for _ in range(n)]
        elif f.type == BOOL:
            vals = [rng.choice([True, False, None]) for _ in range(n)]
        elif f.sql_type.startswith("char("):
            vals = [_char(rng, int(f.sql_type[5:-1])) for _ in range(n)]
        else:
            vals = [_text(rng) for _ in range(n)]
            if f.max_length:
                vals = [None if v is None else v[:f.max_length] for v in vals]
        cols[f.name] = vals
    data = pa.table({f.name: pa.array(cols[f.name], f.arrow_type) for f in rt.fields})
    return typed_table(rt, data)


def sql_hashes(conn, rt, table: pa.Table) -> list[str]:
    """row_hash_sql over the rows loaded by CSV COPY (independent of the binary encoder)."""
    with conn.transaction(force_rollback=True):
        conn.execute(sql.SQL("CREATE TEMP TABLE h_stage (n int, {})").format(sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(f.sql_type)) for f in rt.fields)))
        numbered = table.select(rt.field_names).add_column(0, "n", pa.array(range(table.num_rows), pa.int32()))
        copy_csv(conn, sql.Identifier("h_stage"), numbered.column_names, numbered)
        return [r[0] for r in conn.execute(sql.SQL("SELECT {} FROM h_stage s ORDER BY n").format(
            sql.SQL(row_hash_sql(rt, "s"))))]


@pytest.mark.parametrize("rt", RECORD_TYPES.values(), ids=lambda rt: rt.name)
def test_client_hash_equals_sql_on_tricky_rows(warehouse, rt):
    table = tricky_table(rt, 3000, seed=len(rt.name))
    expected = sql_hashes(warehouse, rt, table)
    got = [h.decode() for h in row_hashes(rt, table).to_pylist()]
    bad = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert not bad, f"{len(bad)} rows differ, first: {row_texts(rt, table.slice(bad[0], 1))[0]!r}"


def test_client_hash_equals_sql_on_the_loaders_typical_rows(warehouse, make_frame):
    rt = RECORD_TYPES["enforcement_cases"]
    frame = make_frame(rt, 500)
    frame.loc[::7, "case_number"] = ""
    frame.loc[::11, "agency_name"] = 'A "B" (C), D\\E'
    frame.loc[::5, "fine_amount"] = None
    from supervision.warehouse.load import to_arrow

    table = to_arrow(rt, frame)
    assert [h.decode() for h in row_hashes(rt, table).to_pylist()] == sql_hashes(warehouse, rt, table)


def test_date_and_timestamp_text_equal_to_char_over_the_whole_range(warehouse):
    """Including years before 1000, after 9999 and BC, where Arrow's own text differs from to_char."""
    days = [-2_440_000, -1_000_000, -719_529, -719_528, -719_163, -719_162, -500_000, -1, 0, 10_957, 2_932_896,
            2_932_897, 5_000_000]  # 4713 BC .. 1 BC, 0001-01-01, 1970, 2000, 9999-12-31, 10000-01-01, 15659
    got = [v.decode() for v in date_text(pa.array(days, pa.int32()).view(pa.date32())).to_pylist()]
    expected = [r[0] for r in warehouse.execute(
        "SELECT to_char('1970-01-01'::date + d, 'YYYY-MM-DD') FROM unnest(%s::int[]) WITH ORDINALITY u(d, i) "
        "ORDER BY i", (days,))]
    assert got == expected
    pairs = [(d, t) for d in days for t in (0, 1, 86_399_999_999, 43_200_000_000)]
    us = [d * 86_400_000_000 + t for d, t in pairs]
    got = [v.decode() for v in timestamp_text(pa.array(us, pa.int64()).view(pa.timestamp("us", tz="UTC")))
           .to_pylist()]
    expected = [r[0] for r in warehouse.execute(
        "SELECT to_char(('1970-01-01'::date + d)::timestamp + (t::text || ' microseconds')::interval, "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
        "FROM unnest(%s::int[], %s::bigint[]) WITH ORDINALITY x(d, t, i) ORDER BY i",
        ([d for d, _ in pairs], [t for _, t in pairs]))]
    assert got == expected


def test_nulls_in_fixed_texts():
    texts = date_text(pa.array([None, date(2026, 1, 2), None], pa.date32()))
    assert texts.to_pylist() == [None, b"2026-01-02", None]
    texts = timestamp_text(pa.array([None, datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)],
                                    pa.timestamp("us", tz="UTC")))
    assert texts.to_pylist() == [None, b"2026-01-02T03:04:05.000006"]
