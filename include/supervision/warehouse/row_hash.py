"""``row_hash`` computed from typed Arrow data, byte-identical to :func:`supervision.warehouse.ddl.row_hash_sql`.

The SQL is ``md5(ROW(f1::text, ..., fn::text)::text)`` with timestamps as ``to_char(ts AT TIME ZONE 'UTC',
'YYYY-MM-DD"T"HH24:MI:SS.US')`` and dates as ``to_char(d, 'YYYY-MM-DD')``. So the text of a row is what
PostgreSQL's record_out makes of those texts: ``(`` + fields joined by ``,`` + ``)`` where NULL is empty and a
value is double-quoted when it is empty or holds ``"``, ``\\``, ``(``, ``)``, ``,`` or whitespace (C isspace:
space, tab, newline, vertical tab, form feed, carriage return), ``"`` and ``\\`` doubled inside the quotes.
Field texts: numeric(14,2) with exactly its 2 decimals, booleans ``true``/``false``, char(n) without trailing
spaces (char(n)::text drops them), everything else as stored.

Vectorised: field texts from numpy (dates, timestamps) and Arrow kernels; one join per row; a numpy scan flags
the rows with any byte that might need quoting (most rows have none) and only those are quoted field by field;
then one md5 per row (hashlib's builtin md5 is the fastest for ~200-byte inputs).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

try:  # CPython's own md5 (HACL*): about twice as fast as OpenSSL's for short inputs
    from _md5 import md5
except ImportError:  # pragma: no cover
    from hashlib import md5

from supervision.contract import BOOL, DATE, MONEY, TIMESTAMP, RecordType

_JOIN = pc.JoinOptions(null_handling="replace", null_replacement="")
_QUOTE_CLASS = r'["\\(),\t\n\x0b\x0c\r ]'  # record_out quotes a value with any of these (or an empty value)
_HEX = np.frombuffer(b"0123456789abcdef", np.uint8)
US_PER_DAY = 86_400_000_000


def _civil(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Proleptic Gregorian (year, month, day) of days since 1970-01-01 (H. Hinnant's civil_from_days)."""
    z = days.astype(np.int64) + 719_468
    era = np.floor_divide(z, 146_097)
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    y = yoe + era * 400 + (m <= 2)
    return y, m, d


def _digits(out: np.ndarray, col: int, values: np.ndarray, width: int) -> None:
    for i in range(width - 1, -1, -1):
        out[:, col + i] = 48 + values % 10
        values = values // 10


def _to_char_year(y: np.ndarray) -> np.ndarray:
    """to_char's YYYY: a year <= 0 (astronomical) is shown as its BC number (0 -> 1, -43 -> 44)."""
    return np.where(y <= 0, 1 - y, y)


def _format(pattern_width: int, n: int, y: np.ndarray, parts: list[tuple[bytes, np.ndarray, int]],
            valid: np.ndarray | None) -> pa.Array:
    out = np.empty((n, pattern_width), np.uint8)
    year = _to_char_year(y)
    _digits(out, 0, year % 10_000, 4)
    pos = 4
    for sep, values, width in parts:
        out[:, pos] = sep[0]
        _digits(out, pos + 1, values, width)
        pos += 1 + width
    arr = pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(np.arange(n + 1, dtype=np.int32) * pattern_width),
                                                 pa.py_buffer(out.reshape(-1))])
    wide = year > 9999  # to_char prints all digits of a year past 9999: rare enough for Python
    if valid is not None:
        wide &= valid
    if wide.any():
        texts = arr.to_pylist()
        for i in np.flatnonzero(wide):
            texts[i] = str(year[i]).encode() + texts[i][4:]
        arr = pa.array(texts, pa.binary())
    if valid is not None:
        arr = pc.if_else(pa.array(valid), arr, pa.scalar(None, pa.binary()))
    return arr


def _validity(a: pa.Array) -> np.ndarray | None:
    if a.null_count == 0:
        return None
    return np.unpackbits(np.frombuffer(a.buffers()[0], np.uint8), bitorder="little")[a.offset:a.offset + len(a)] \
        .astype(bool)


_MIN_DAY, _MAX_DAY = -719_162, 2_932_896  # 0001-01-01, 9999-12-31: Arrow's ISO text equals to_char's there


def date_text(a: pa.Array) -> pa.Array:
    """to_char(d, 'YYYY-MM-DD')"""
    days = np.frombuffer(a.buffers()[1], np.int32, len(a), a.offset * 4)
    valid = _validity(a)
    vdays = days if valid is None else days[valid]
    if len(vdays) == 0 or (vdays.min() >= _MIN_DAY and vdays.max() <= _MAX_DAY):
        return a.cast(pa.string()).view(pa.binary())
    y, m, d = _civil(days)
    return _format(10, len(a), y, [(b"-", m, 2), (b"-", d, 2)], valid)


def timestamp_text(a: pa.Array) -> pa.Array:
    """to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US')"""
    if a.type.unit != "us":
        a = a.cast(pa.timestamp("us", a.type.tz))
    us = np.frombuffer(a.buffers()[1], np.int64, len(a), a.offset * 8)
    valid = _validity(a)
    vus = us if valid is None else us[valid]
    if len(vus) == 0 or (vus.min() >= _MIN_DAY * US_PER_DAY and vus.max() < (_MAX_DAY + 1) * US_PER_DAY):
        # Arrow's text of a naive timestamp[us]: "YYYY-MM-DD HH:MM:SS.ffffff"; the space becomes the T
        text = a.view(pa.timestamp("us")).cast(pa.string())
        offsets = np.frombuffer(text.buffers()[1], np.int32, len(text) + 1, text.offset * 4)
        data = np.frombuffer(text.buffers()[2], np.uint8).copy()
        starts = offsets[:-1] if valid is None else offsets[:-1][valid]
        data[starts + 10] = ord("T")
        return pa.Array.from_buffers(pa.binary(), len(text), [text.buffers()[0], text.buffers()[1],
                                                                pa.py_buffer(data)], offset=text.offset)
    days, tod = np.divmod(us, US_PER_DAY)
    y, m, d = _civil(days)
    secs, frac = np.divmod(tod, 1_000_000)
    hh, rest = np.divmod(secs, 3600)
    mi, ss = np.divmod(rest, 60)
    return _format(26, len(a), y, [(b"-", m, 2), (b"-", d, 2), (b"T", hh, 2), (b":", mi, 2), (b":", ss, 2),
                                   (b".", frac, 6)], valid)


def field_text(sql_type: str, field_type: str, a: pa.Array) -> pa.Array:
    """The text PostgreSQL puts into the ROW for one field (NULL stays NULL), as a binary array."""
    if field_type == TIMESTAMP:
        return timestamp_text(a)
    if field_type == DATE:
        return date_text(a)
    if field_type == MONEY:
        return a.cast(pa.string()).view(pa.binary())  # decimal128(14,2): "-12.50", "0.00"
    if field_type == BOOL:
        return pc.if_else(a, pa.scalar(b"true"), pa.scalar(b"false"))
    b = a.cast(pa.string()) if pa.types.is_large_string(a.type) else a
    if sql_type.startswith("char("):  # char(n)::text drops trailing spaces
        offsets = np.frombuffer(b.buffers()[1], np.int32, len(b) + 1, b.offset * 4)
        data = np.frombuffer(b.buffers()[2], np.uint8) if b.buffers()[2] is not None else np.zeros(0, np.uint8)
        ends = offsets[1:][np.diff(offsets) > 0]
        if len(ends) and (data[ends - 1] == 32).any():
            b = pc.utf8_rtrim(b, characters=" ")
    return b.view(pa.binary())


def _maybe_special(a: pa.Array) -> np.ndarray:
    """Per value: True where quoting may be needed (an empty value, or any byte <= ',' or a backslash). Cheap
    numpy scan (positions of the few hits mapped to their values); false positives only cost the exact check."""
    n = len(a)
    offsets = np.frombuffer(a.buffers()[1], np.int32, n + 1, a.offset * 4)
    lengths = np.diff(offsets)
    valid = _validity(a)
    flag = lengths == 0
    if valid is not None:
        flag &= valid
    if offsets[-1] > offsets[0]:
        data = np.frombuffer(a.buffers()[2], np.uint8, offsets[-1] - offsets[0], offsets[0])
        hits = np.flatnonzero(data <= 44)
        back = np.flatnonzero(data == 92)
        if len(back):
            hits = np.concatenate([hits, back])
        if len(hits):
            flag[np.searchsorted(offsets, hits + offsets[0], side="right") - 1] = True
    return flag


def _quoted(a: pa.Array) -> pa.Array:
    """record_out's quoting of each value (exact; used on the few flagged rows)."""
    s = a.view(pa.string())
    need = pc.or_kleene(pc.match_substring_regex(s, _QUOTE_CLASS), pc.equal(s, ""))
    esc = pc.replace_substring(pc.replace_substring(s, "\\", "\\\\"), '"', '""')
    quoted = pc.binary_join_element_wise(pa.scalar('"'), esc, pa.scalar('"'), "")
    return pc.if_else(pc.fill_null(need, False), quoted, s).view(pa.binary())


def _hex(digests: bytes, n: int) -> pa.Array:
    x = np.frombuffer(digests, np.uint8)
    out = np.empty(2 * len(x), np.uint8)
    out[0::2] = _HEX[x >> 4]
    out[1::2] = _HEX[x & 15]
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(32), n, [None, pa.py_buffer(out)])


def _wrap(texts: list[pa.Array], n: int) -> list[pa.Array]:
    """"(" before the first field and ")" after the last: two short joins instead of a second pass over rows."""
    first = pc.binary_join_element_wise(pa.repeat(pa.scalar(b"("), n), texts[0], pa.scalar(b""), options=_JOIN)
    last = pc.binary_join_element_wise(texts[-1], pa.repeat(pa.scalar(b")"), n), pa.scalar(b""), options=_JOIN)
    return [first, *texts[1:-1], last] if len(texts) > 1 else [
        pc.binary_join_element_wise(first, pa.repeat(pa.scalar(b")"), n), pa.scalar(b""))]


def row_texts(rt: RecordType, table: pa.Table) -> list[bytes]:
    """The text form of ``ROW(...)`` that :func:`row_hash_sql` hashes, one bytes object per row."""
    n = table.num_rows
    if n == 0:
        return []
    texts = [field_text(f.sql_type, f.type, table.column(f.name).combine_chunks()) for f in rt.fields]
    free = [f.type not in (TIMESTAMP, DATE, MONEY, BOOL) for f in rt.fields]  # texts that may need quotes
    maybe = np.zeros(n, bool)
    for t, check in zip(texts, free, strict=True):
        if check:
            maybe |= _maybe_special(t)
    rows = pc.binary_join_element_wise(*_wrap(texts, n), pa.scalar(b","), options=_JOIN).to_pylist()
    flagged = np.flatnonzero(maybe)
    if len(flagged):
        idx = pa.array(flagged)
        sub = [_quoted(t.take(idx)) if check else t.take(idx) for t, check in zip(texts, free, strict=True)]
        exact = pc.binary_join_element_wise(*_wrap(sub, len(flagged)), pa.scalar(b","), options=_JOIN).to_pylist()
        for i, row in zip(flagged.tolist(), exact, strict=True):
            rows[i] = row
    return rows


def row_hashes(rt: RecordType, table: pa.Table) -> pa.Array:
    """``row_hash`` of every row: md5 hex digests as fixed_size_binary(32)."""
    rows = row_texts(rt, table)
    return _hex(b"".join([md5(r).digest() for r in rows]), len(rows))
