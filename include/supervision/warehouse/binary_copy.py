"""PostgreSQL binary COPY rows built from Arrow arrays with Arrow and numpy kernels (no Python loop per row).

Format (PostgreSQL docs, "COPY ... binary file format"): a header, then per row an int16 field count and per
field an int32 byte length (-1 = NULL) followed by the value in the type's binary send format, then an int16 -1
trailer. All integers are big-endian.

Fixed-width fields (date, timestamp, numeric, bool, integers, fixed-size binary) of consecutive columns are
laid out together in one numpy structured array per run, one record per row; a NULL there keeps its 4-byte
header and drops its payload bytes (a boolean compaction). A variable-width field (string, binary) is its
4-byte header (ending the piece before it) plus its value. One ``take`` interleaves the pieces row by row,
and the values buffer of the result *is* the COPY stream.

Type mapping (PostgreSQL column <- Arrow):
  text / varchar / char  <- string, large_string, binary (UTF-8 bytes; PostgreSQL pads char(n))
  text                   <- fixed_size_binary(k) (ASCII, e.g. an md5 hex digest)
  date                   <- date32 (days since 2000-01-01)
  timestamptz            <- timestamp (any unit is cast to us; the instant, whatever the zone)
  numeric                <- decimal128(p <= 18, s) (base-10000 digits; PostgreSQL normalises them)
  boolean, smallint, int, bigint, float8 <- bool, int16, int32, int64, float64
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8  # signature, flags, header extension length
TRAILER = b"\xff\xff"
PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
PG_EPOCH_US = PG_EPOCH_DAYS * 86_400_000_000


def _validity(a: pa.Array) -> np.ndarray | None:
    """Boolean numpy validity, or None when the array has no NULL."""
    if a.null_count == 0:
        return None
    return np.unpackbits(np.frombuffer(a.buffers()[0], np.uint8), bitorder="little")[a.offset:a.offset + len(a)] \
        .astype(bool)


def _values(a: pa.Array, dtype) -> np.ndarray:
    """The values buffer of a primitive array as numpy (NULL slots hold whatever is there)."""
    width = np.dtype(dtype).itemsize
    return np.frombuffer(a.buffers()[1], dtype, len(a), a.offset * width)


def _numeric_digits(units: np.ndarray, precision: int, scale: int) -> np.ndarray:
    """int64 unscaled values -> numeric's binary form, one void(8 + 2 * ndigits) per value: ndigits, weight,
    sign, dscale, then base-10000 digits (leading and trailing zero digits are fine: PostgreSQL strips them)."""
    frac_groups = -(-scale // 4)
    int_groups = max(1, -(-(precision - scale) // 4))
    ndigits = int_groups + frac_groups
    mag = np.abs(units) * 10 ** (4 * frac_groups - scale)  # units of 10^-(4 * frac_groups)
    out = np.empty((len(units), 4 + ndigits), ">i2")
    out[:, 0] = ndigits
    out[:, 1] = int_groups - 1  # weight of the first digit
    out[:, 2] = np.where(units < 0, 0x4000, 0)
    out[:, 3] = scale
    for i in range(ndigits - 1, -1, -1):
        out[:, 4 + i] = mag % 10_000
        mag //= 10_000
    return out.view(f"V{out.shape[1] * 2}").reshape(-1)


def fixed_payload(a: pa.Array) -> np.ndarray | None:
    """Per value its binary send form, as a 1-D numpy array whose itemsize is the field's width (big-endian
    integers, or void for numeric and fixed-size binary); None for a variable-width array. NULL slots hold
    whatever is there."""
    t = a.type
    n = len(a)
    if pa.types.is_date32(t):
        return (_values(a, np.int32).astype(np.int64) - PG_EPOCH_DAYS).astype(">i4")
    if pa.types.is_timestamp(t):
        if t.unit != "us":
            a = a.cast(pa.timestamp("us", t.tz))
        return (_values(a, np.int64) - PG_EPOCH_US).astype(">i8")
    if pa.types.is_decimal(t):
        if not isinstance(t, pa.Decimal128Type) or t.precision > 18:
            raise TypeError(f"numeric from {t}: only decimal128 with precision <= 18")
        units = np.frombuffer(a.buffers()[1], "<i8", 2 * n, a.offset * 16)[::2]  # low 64 bits = the value
        return _numeric_digits(units, t.precision, t.scale)
    if pa.types.is_boolean(t):
        return np.unpackbits(np.frombuffer(a.buffers()[1], np.uint8), bitorder="little")[a.offset:a.offset + n]
    if t in (pa.int16(), pa.int32(), pa.int64(), pa.float64()):
        native = np.dtype(t.to_pandas_dtype())
        return _values(a, native).astype(native.newbyteorder(">"))
    if pa.types.is_fixed_size_binary(t):
        return np.frombuffer(a.buffers()[1], f"V{t.byte_width}", n, a.offset * t.byte_width)
    return None


def _binary(data: np.ndarray, offsets: np.ndarray, n: int) -> pa.Array:
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data)])


def _fixed_block(payloads: list[tuple[np.ndarray, np.ndarray | None]], n: int, nfields: int | None,
                 tail_header: np.ndarray | None) -> pa.Array:
    """One binary array, a record per row (numpy structured array: one element copy per field): the field
    count if given, then per field its 4-byte length and payload (NULL: -1 and no payload, dropped by a
    boolean compaction), then an optional trailing length header (of the variable-width field that follows)."""
    spec: list[tuple[str, object]] = [("nfields", ">i2")] if nfields is not None else []
    for i, (p, _) in enumerate(payloads):
        spec += [(f"h{i}", ">i4"), (f"v{i}", p.dtype)]
    if tail_header is not None:
        spec.append(("tail", ">i4"))
    dt = np.dtype(spec)
    rec = np.empty(n, dt)
    if nfields is not None:
        rec["nfields"] = nfields
    keep = None
    width = np.full(n, dt.itemsize, np.int64)
    for i, (p, valid) in enumerate(payloads):
        rec[f"v{i}"] = p
        if valid is None:
            rec[f"h{i}"] = p.dtype.itemsize
            continue
        w = p.dtype.itemsize
        rec[f"h{i}"] = np.where(valid, w, -1)
        if keep is None:  # a byte mask with the record's layout: one element copy per field again
            keep = np.ones(n * dt.itemsize, np.uint8).view(np.dtype({
                "names": list(dt.names), "formats": [f"V{dt.fields[k][0].itemsize}" for k in dt.names],
                "offsets": [dt.fields[k][1] for k in dt.names], "itemsize": dt.itemsize}))
        keep[f"v{i}"] = np.frombuffer(b"\x00" * w + b"\x01" * w, f"V{w}")[valid.view(np.uint8)]
        width -= w * ~valid
    if tail_header is not None:
        rec["tail"] = tail_header
    raw = rec.view(np.uint8)
    if keep is None:
        return _binary(raw, np.arange(n + 1, dtype=np.int64) * dt.itemsize, n)
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(width, out=offsets[1:])
    return _binary(raw[keep.view(np.uint8).view(bool)], offsets, n)


def _length_header(a: pa.Array) -> np.ndarray:
    """Big-endian byte length of each value, -1 for NULL."""
    offsets = np.frombuffer(a.buffers()[1], np.int32, len(a) + 1, a.offset * 4)
    lengths = np.diff(offsets)
    valid = _validity(a)
    if valid is not None:
        lengths = np.where(valid, lengths, -1)
    return lengths.astype(">i4")


def _as_binary(a: pa.Array) -> pa.Array:
    if pa.types.is_large_string(a.type) or pa.types.is_large_binary(a.type):
        a = a.cast(pa.binary())
    elif pa.types.is_string(a.type):
        a = a.view(pa.binary())
    elif not pa.types.is_binary(a.type):
        raise TypeError(f"no binary COPY encoding for {a.type}")
    return a


def encode_rows(columns: Sequence[pa.Array | pa.ChunkedArray]) -> pa.Buffer:
    """The binary COPY bytes of the rows (without HEADER and TRAILER), one field per column, in order."""
    cols = [c.combine_chunks() if isinstance(c, pa.ChunkedArray) else c for c in columns]
    n = len(cols[0])
    if n == 0:
        return pa.py_buffer(b"")
    pieces: list[pa.Array] = []
    run: list[tuple[np.ndarray, np.ndarray | None]] = []
    nfields: int | None = len(cols)  # the field count starts the first piece

    def flush(tail_header=None):
        nonlocal run, nfields
        if run or nfields is not None or tail_header is not None:
            pieces.append(_fixed_block(run, n, nfields, tail_header))
        run, nfields = [], None

    for a in cols:
        payload = fixed_payload(a)
        if payload is not None:
            run.append((payload, _validity(a)))
            continue
        b = _as_binary(a)
        flush(_length_header(b))  # the header joins the fixed piece before it
        pieces.append(b)
    flush()
    if len(pieces) == 1:
        rows = pieces[0]
    else:
        # Interleave the pieces row by row: one take from their concatenation (faster than an element-wise
        # join of ~25 arrays); the values buffer of the result is the stream.
        k = len(pieces)
        order = (np.arange(k, dtype=np.int64)[None, :] * n + np.arange(n, dtype=np.int64)[:, None]).reshape(-1)
        rows = pa.concat_arrays(pieces).take(pa.array(order))
    offsets = np.frombuffer(rows.buffers()[1], np.int32, len(rows) + 1, rows.offset * 4)
    return rows.buffers()[2][offsets[0]:offsets[-1]]
