"""Binary COPY from Arrow: every type the loader sends round-trips through PostgreSQL unchanged."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from psycopg import sql

from supervision.warehouse.binary_copy import HEADER, TRAILER, encode_rows

pytestmark = pytest.mark.integration

TEXTS = ["", None, "豫A·中文 漢字", 'quote " backslash \\ (x), tab\t newline\n cr\r', "NULL", "x" * 3000, "\\N"]
CHARS = ["411002", None, "", "ab", " 4 ", "41100", "豫豫豫豫豫豫"]
DATES = [date(2000, 1, 1), date(1999, 12, 31), date(1900, 2, 28), None, date(2026, 11, 22), date(1, 1, 1),
         date(9999, 12, 31)]
STAMPS = [datetime(2000, 1, 1, tzinfo=UTC), datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), None,
          datetime(2026, 11, 22, 2, 0, 0, 123456, tzinfo=UTC), datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC),
          datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)]
MONEY = [Decimal("0.00"), Decimal("0.01"), Decimal("999999999999.99"), Decimal("-999999999999.99"),
         Decimal("-0.50"), None, Decimal("12.30")]
BOOLS = [True, False, None, True, False, None, True]
INTS = [0, -1, 2**31 - 1, -(2**31), None, 42, 7]
BIGS = [0, -1, 2**63 - 1, -(2**63), None, 10**15, 3]
FLOATS = [0.0, -1.5, 1e300, None, 3.141592653589793, -0.0, 2.5e-310]
HASHES = [b"0123456789abcdef0123456789abcdef", b"f" * 32, b"0" * 32, b"a" * 32, b"b" * 32, b"c" * 32, b"d" * 32]

COLUMNS = [  # name, PostgreSQL type, Arrow array
    ("t", "text", pa.array(TEXTS, pa.string())),
    ("c", "char(6)", pa.array(CHARS, pa.string())),
    ("v", "varchar(3000)", pa.array(TEXTS, pa.large_string())),
    ("d", "date", pa.array(DATES, pa.date32())),
    ("ts", "timestamptz", pa.array(STAMPS, pa.timestamp("us", tz="UTC"))),
    ("m", "numeric(14,2)", pa.array(MONEY, pa.decimal128(14, 2))),
    ("b", "boolean", pa.array(BOOLS, pa.bool_())),
    ("i", "int", pa.array(INTS, pa.int32())),
    ("bi", "bigint", pa.array(BIGS, pa.int64())),
    ("f", "float8", pa.array(FLOATS, pa.float64())),
    ("h", "text", pa.array(HASHES, pa.binary(32))),
]


def _copy(conn, table, names, arrays):
    stmt = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT binary)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, names)))
    with conn.cursor().copy(stmt) as cp:
        cp.write(HEADER)
        cp.write(encode_rows(arrays))
        cp.write(TRAILER)


def _expected(pg_type, values):
    if pg_type == "char(6)":
        return [None if v is None else v.ljust(6) for v in values]
    if pg_type == "text" and values is HASHES:
        return [v.decode() for v in values]
    return values


@pytest.mark.parametrize("order", ["as listed", "strings first", "one column each"])
def test_every_type_round_trips(warehouse, order):
    cols = COLUMNS if order == "as listed" else sorted(COLUMNS, key=lambda c: c[1] not in ("text", "char(6)"))
    with warehouse.transaction(force_rollback=True):
        warehouse.execute("CREATE TEMP TABLE rt (n serial, {})".format(  # noqa: S608
            ", ".join(f"{name} {typ}" for name, typ, _ in COLUMNS)))
        if order == "one column each":
            for name, _, arr in cols:
                warehouse.execute("DELETE FROM rt")
                _copy(warehouse, "rt", [name], [arr])
                got = [r[0] for r in warehouse.execute(f"SELECT {name} FROM rt ORDER BY n")]  # noqa: S608
                typ = dict((c[0], c[1]) for c in COLUMNS)[name]
                assert got == _expected(typ, arr.to_pylist() if name != "h" else HASHES), name
            return
        _copy(warehouse, "rt", [c[0] for c in cols], [c[2] for c in cols])
        rows = warehouse.execute("SELECT {} FROM rt ORDER BY n".format(  # noqa: S608
            ", ".join(c[0] for c in COLUMNS))).fetchall()
    for i, (name, typ, arr) in enumerate(COLUMNS):
        values = HASHES if name == "h" else arr.to_pylist()
        assert [r[i] for r in rows] == _expected(typ, values), name
    # NULL and '' stay apart
    assert [r[0] for r in rows][:2] == ["", None]


def test_chunked_and_sliced_arrays(warehouse):
    """Offsets of sliced arrays and chunked columns are honoured."""
    texts = pa.array(TEXTS * 3, pa.string())
    big = pa.chunked_array([texts.slice(3, 7), texts.slice(10)])  # 7 + 11 values, both with an offset
    money = pa.array(MONEY * 3, pa.decimal128(14, 2)).slice(3)
    when = pa.array(STAMPS * 3, pa.timestamp("us", tz="UTC")).slice(3)
    flags = pa.array(BOOLS * 3).slice(3)  # bit offset 3
    n = len(big)
    assert len(money) == len(when) == len(flags) == n == 18
    with warehouse.transaction(force_rollback=True):
        warehouse.execute("CREATE TEMP TABLE rt (n serial, t text, m numeric(14,2), ts timestamptz, b boolean)")
        _copy(warehouse, "rt", ["t", "m", "ts", "b"], [big, money, when, flags])
        got = warehouse.execute("SELECT t, m, ts, b FROM rt ORDER BY n").fetchall()
    assert got == list(zip(big.to_pylist(), money.to_pylist(), when.to_pylist(), flags.to_pylist(), strict=True))


def test_timestamp_units_and_zones(warehouse):
    ns = pa.array([1_700_000_000_123_456_000, None], pa.timestamp("ns", tz="Asia/Shanghai"))
    with warehouse.transaction(force_rollback=True):
        warehouse.execute("CREATE TEMP TABLE rt (n serial, ts timestamptz)")
        _copy(warehouse, "rt", ["ts"], [ns])
        got = [r[0] for r in warehouse.execute("SELECT ts FROM rt ORDER BY n")]
    assert got == [datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC), None]


def test_numeric_of_other_scales(warehouse):
    values = [Decimal("-12345.6789"), Decimal("0.0001"), None, Decimal("99999999999999.9999")]
    with warehouse.transaction(force_rollback=True):
        warehouse.execute("CREATE TEMP TABLE rt (n serial, a numeric, b numeric(5,0))")
        _copy(warehouse, "rt", ["a", "b"], [pa.array(values, pa.decimal128(18, 4)),
                                            pa.array([Decimal(-5), Decimal(0), None, Decimal(99999)],
                                                     pa.decimal128(5, 0))])
        got = warehouse.execute("SELECT a, b FROM rt ORDER BY n").fetchall()
    assert [r[0] for r in got] == values
    assert [r[1] for r in got] == [Decimal(-5), Decimal(0), None, Decimal(99999)]


def test_empty_input_is_empty():
    assert encode_rows([pa.array([], pa.string())]).size == 0
