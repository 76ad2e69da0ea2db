"""Byte-level views of Arrow string arrays, for checks that read fixed character positions.

Validation runs on millions of rows: a date, a timestamp or an identifier is checked by reading its bytes
straight from the Arrow buffers into numpy (no Python string per value). Everything here is numpy or
pyarrow.compute, so it releases the GIL for most of its time.

Codes are laid out column-major, ``codes[k]`` = the k-th byte of every value: each position is one contiguous
vector, which is what the checks consume (a weighted sum over positions, a digit test per position).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ZERO = ord("0")


@dataclass(eq=False)
class StringView:
    """Offsets, data bytes and validity of one Arrow string array (string or large_string)."""

    starts: np.ndarray  # int64, start byte of every value in ``data``
    lengths: np.ndarray  # int64, byte length of every value (0 for a null)
    data: np.ndarray  # uint8, never empty (a zero byte stands in for an empty buffer)
    valid: np.ndarray  # bool, False for a null
    _padded: np.ndarray | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.valid)

    @property
    def padded(self) -> np.ndarray:
        """The data bytes followed by 48 zero bytes, so that reads up to 40 bytes past a start stay inside."""
        if self._padded is None:
            self._padded = np.zeros(self.data.size + 48, np.uint8)
            self._padded[: self.data.size] = self.data
        return self._padded

    def byte(self, starts: np.ndarray, pos) -> np.ndarray:
        """The byte at ``starts + pos`` (scalar or per row). Past a value's end: the next value's bytes, or
        zeros past the data."""
        padded = self.padded
        return padded[starts + pos if _near(pos) else np.minimum(starts + pos, padded.size - 1)]

    def word(self, starts: np.ndarray, pos=0) -> np.ndarray:
        """The 8 bytes at ``starts + pos`` as a little-endian uint64 (byte k = bits 8k..8k+7), one unaligned
        load per value. Past a value's end: the next value's bytes, or zeros past the data."""
        padded = self.padded
        windows = np.ndarray(shape=(padded.size - 7,), dtype="<u8", buffer=padded, strides=(1,))
        return windows[starts + pos if _near(pos) else np.minimum(starts + pos, padded.size - 8)]


def _near(pos) -> bool:
    """Reads at most 40 bytes past a start stay inside the 48 zero bytes of padding (no clipping needed)."""
    return (pos <= 40) if isinstance(pos, int) else bool(pos.size == 0 or pos.max() <= 40)


_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_ASCII_ZEROS = np.uint64(0x3030303030303030)
_SIXES = np.uint64(0x0606060606060606)
_BYTE = np.uint64(0xFF)


def swar_digits(words: np.ndarray, mask: int) -> np.ndarray:
    """Whether the bytes of ``words`` selected by ``mask`` (0xFF per byte) are all ASCII digits 0-9.

    High nibble 3, and adding 6 keeps it 3. A carry between bytes can only come from a byte >= 0xFA, which
    already fails the first test.
    """
    m = np.uint64(mask)
    x = words & m
    zeros = _ASCII_ZEROS & m
    return ((x & _HIGH_NIBBLES) == zeros) & (((x + (_SIXES & m)) & _HIGH_NIBBLES) == zeros)


def byte_of(words: np.ndarray, k: int) -> np.ndarray:
    """Byte ``k`` of every word, as int32."""
    return ((words >> np.uint64(8 * k)) & _BYTE).astype(np.int32)


def two_digits(words: np.ndarray, k: int) -> np.ndarray:
    """The number (int32) written by the two digits at bytes ``k`` and ``k + 1`` of every word."""
    return byte_of(words, k) * 10 + byte_of(words, k + 1) - 11 * _ZERO


def four_digits(words: np.ndarray) -> np.ndarray:
    """The number (int32) written by the four digits in bytes 0-3 of every word (SWAR: two multiplications)."""
    v = (words & np.uint64(0xFFFFFFFF)) - np.uint64(0x30303030)
    v = (v * np.uint64(10) + (v >> np.uint64(8))) & np.uint64(0x00FF00FF)
    v = (v * np.uint64(100) + (v >> np.uint64(16))) & np.uint64(0xFFFF)
    return v.astype(np.int32)


def as_array(values) -> pa.Array:
    """One contiguous array from an Array or ChunkedArray."""
    if isinstance(values, pa.ChunkedArray):
        return values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    return values


def as_string_array(values) -> pa.Array:
    """One contiguous ``string`` (or ``large_string``) array from an Array or ChunkedArray."""
    values = as_array(values)
    if pa.types.is_null(values.type):
        values = values.cast(pa.string())
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        raise TypeError(f"expected a string array, got {values.type}")
    return values


def valid_mask(arr) -> np.ndarray:
    """False for a null, of an Array or ChunkedArray."""
    if arr.null_count == 0:
        return np.ones(len(arr), bool)
    return as_array(arr.is_valid()).to_numpy(zero_copy_only=False)


def string_view(arr: pa.Array) -> StringView:
    arr = as_string_array(arr)
    n = len(arr)
    _, offsets_buf, data_buf = arr.buffers()
    width = np.int64 if pa.types.is_large_string(arr.type) else np.int32
    if n == 0 or offsets_buf is None:
        offsets = np.zeros(n + 1, np.int64)
    else:
        offsets = np.frombuffer(offsets_buf, dtype=width)[arr.offset: arr.offset + n + 1].astype(np.int64)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None and data_buf.size else np.zeros(0, np.uint8)
    if data.size == 0:
        data = np.zeros(1, np.uint8)
    return StringView(offsets[:-1], np.diff(offsets), data, valid_mask(arr))


def shaped_rows(view: StringView, width: int) -> np.ndarray:
    """Positions of the (non-null) values that are exactly ``width`` bytes long.

    A value meant to be ``width`` ASCII characters: any non-ASCII character takes 2-4 bytes in UTF-8, all of
    them >= 0x80, which no check here accepts, so a byte view is enough.
    """
    return np.flatnonzero(view.valid & (view.lengths == width))


def codes_at(view: StringView, rows: np.ndarray, width: int) -> np.ndarray:
    """(width, len(rows)) uint8 codes of the selected values, all ``width`` bytes long (see :func:`shaped_rows`)."""
    m = len(rows)
    codes = np.empty((width, m), np.uint8)
    if not m:
        return codes
    starts = view.starts if m == len(view) else view.starts[rows]
    first = int(starts[0])
    if starts[-1] - first == (m - 1) * width and (m == 1 or (np.diff(starts) == width).all()):
        block = view.data[first: first + m * width].reshape(m, width)  # contiguous: no gather
        codes[:] = block.T
        return codes
    for k in range(width):
        np.take(view.data, starts + k, out=codes[k])
    return codes


def byte_at(view: StringView, starts: np.ndarray, pos) -> np.ndarray:
    """The byte at ``pos`` (scalar or per row) of values starting at ``starts`` (garbage past the data)."""
    return view.data[np.minimum(starts + pos, view.data.size - 1)]


def digits(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Digit values of codes (uint8, garbage where not a digit), and whether every code of a column is an
    ASCII digit 0-9."""
    d = codes - np.uint8(_ZERO)  # wraps below '0', so one comparison tests the range
    return d, (d <= 9).all(axis=0)


def number(d: np.ndarray) -> np.ndarray:
    """The decimal number (int32) written by rows of digit values ``d`` (first row = most significant)."""
    out = np.zeros(d.shape[1], np.int32)
    for row in d:
        out *= 10
        out += row
    return out


def is_leap(y: np.ndarray) -> np.ndarray:
    return (y % 4 == 0) & ((y % 100 != 0) | (y % 400 == 0))


_DAYS_IN_MONTH = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], np.int32)


def valid_ymd(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """A real date of the proleptic Gregorian calendar (year 0 is a leap year, as numpy and pandas say)."""
    month_ok = (m >= 1) & (m <= 12)
    dim = _DAYS_IN_MONTH[np.where(month_ok, m, 0)] + ((m == 2) & is_leap(y))
    return month_ok & (d >= 1) & (d <= dim)


def civil_days(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 (int32) of valid (y, m, d) (H. Hinnant's days_from_civil)."""
    y = y.astype(np.int32) - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return (era * 146097 + doe - 719468).astype(np.int32)


def bitmap(mask: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(mask.astype(bool, copy=False), bitorder="little"))


def primitive(values: np.ndarray, type_: pa.DataType, valid: np.ndarray) -> pa.Array:
    """An Arrow array over a numpy buffer (no copy) with ``valid`` as its validity."""
    values = np.ascontiguousarray(values)
    n = len(valid)
    nulls = int(n - np.count_nonzero(valid))
    return pa.Array.from_buffers(type_, n, [bitmap(valid) if nulls else None, pa.py_buffer(values)],
                                 null_count=nulls)


def keep(arr, mask: np.ndarray):
    """``arr`` (Array or ChunkedArray) with the values outside ``mask`` turned null, sharing the value buffers
    (no copy of the text)."""
    if isinstance(arr, pa.ChunkedArray):
        chunks, at = [], 0
        for chunk in arr.chunks:
            chunks.append(keep(chunk, mask[at: at + len(chunk)]))
            at += len(chunk)
        return pa.chunked_array(chunks, type=arr.type)
    valid = mask & valid_mask(arr)
    nulls = int(len(arr) - np.count_nonzero(valid))
    if nulls == arr.null_count:
        return arr
    bits = valid if arr.offset == 0 else np.concatenate([np.zeros(arr.offset, bool), valid])
    return pa.Array.from_buffers(arr.type, len(arr), [bitmap(bits), *arr.buffers()[1:]], null_count=nulls,
                                 offset=arr.offset)


def fixed_strings(codes: np.ndarray, rows: np.ndarray, n: int) -> pa.Array:
    """A ``string`` array of ``n`` values: the fixed-width values of (width, len(rows)) ``codes`` at ``rows``,
    null (and empty) elsewhere."""
    width = codes.shape[0]
    valid = np.zeros(n, bool)
    valid[rows] = True
    offsets = np.zeros(n + 1, np.int64)
    np.cumsum(valid * width, out=offsets[1:])
    if offsets[-1] >= 2**31:  # pragma: no cover - a batch of 100 million identifiers
        raise ValueError("batch too large for a string array")
    nulls = n - len(rows)
    return pa.Array.from_buffers(pa.string(), n, [bitmap(valid) if nulls else None,
                                                  pa.py_buffer(offsets.astype(np.int32)),
                                                  pa.py_buffer(np.ascontiguousarray(codes.T))], null_count=nulls)


# ---------------------------------------------------------------------------------------------- record ids
# Fingerprints and duplicates of id columns: readers (sources, RawBatch) and validation both use them.


def _contiguous_string(column) -> pa.Array:
    """A column as one contiguous ``string`` array (large_string, or the null column of an empty JSON batch, cast)."""
    column = as_array(column)
    return column if pa.types.is_string(column.type) else column.cast(pa.string())


def duplicated(values: pa.Array) -> np.ndarray:
    """True where a (non-null) value occurs more than once (pandas ``duplicated(keep=False)``).

    Arrow's hash kernels take ~0.5 s on a million distinct ids; a numpy fingerprint of every value, sorted,
    finds the candidates, and the exact check runs on those few rows only.
    """
    n = len(values)
    out = np.zeros(n, bool)
    view = string_view(values)
    rows = np.flatnonzero(view.valid)
    if rows.size < 2:
        return out
    fp = fingerprint_view(view)[rows]
    ordered = np.sort(fp)
    repeated = ordered[1:][ordered[1:] == ordered[:-1]]
    if not repeated.size:
        return out
    repeated = sorted_unique(repeated)
    pos = np.minimum(np.searchsorted(repeated, fp), repeated.size - 1)
    cand = rows[repeated[pos] == fp]
    sub = values.take(pa.array(cand))
    enc = pc.dictionary_encode(sub)
    idx = enc.indices.to_numpy(zero_copy_only=False)
    out[cand] = np.bincount(idx, minlength=len(enc.dictionary))[idx] > 1
    return out


_FP_MUL = np.uint64(0xBF58476D1CE4E5B9)
_FP_SEED = np.uint64(0x9E3779B97F4A7C15)


def fingerprint_view(view: StringView) -> np.ndarray:
    """A 64-bit fingerprint of every value's bytes (equal values, equal fingerprints; nulls: garbage), read
    8 bytes at a time (one unaligned load per value and word)."""
    lengths = view.lengths
    rows = np.arange(len(view))
    h = lengths.astype(np.uint64) * _FP_SEED
    full = np.uint64(0xFFFFFFFFFFFFFFFF)
    for j in range(0, int(lengths.max(initial=0)), 8):
        if j and j % 64 == 0:  # long values are rare: go on with those only
            rows = rows[lengths[rows] > j]
        rem = lengths[rows] - j
        word = view.word(view.starts[rows], j)
        shift = (np.clip(rem, 0, 7) * 8).astype(np.uint64)
        word &= np.where(rem >= 8, full, (np.uint64(1) << shift) - np.uint64(1))
        g = h[rows] ^ word
        g *= _FP_MUL
        g ^= g >> np.uint64(31)
        h[rows] = g
    return h


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """``np.unique`` for a 1-D array by sort + compare: numpy 2.3+'s hash-based ``np.unique`` takes ~0.7-0.9 s
    for 1M uint64 here, the sort ~0.01 s."""
    if a.size < 2:
        return np.sort(a)
    s = np.sort(a)
    return s[np.concatenate(([True], s[1:] != s[:-1]))]


def fingerprints(values) -> np.ndarray:
    """64-bit fingerprints of the non-null values (in order): a compact stand-in for millions of ids (equal
    values, equal fingerprints; two different ids share one with probability about 2^-64)."""
    arr = as_string_array(values)
    view = string_view(arr)
    return fingerprint_view(view)[view.valid] if len(arr) else np.zeros(0, np.uint64)


def duplicate_ids(*record_ids) -> pa.Array:
    """The record ids that occur more than once over all the given arrays (the batches of one file), for
    ``validation.check_batch``'s ``duplicate_ids``."""
    arrays = [_contiguous_string(a) for a in record_ids]
    allids = pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())
    dup = duplicated(allids)
    return pc.unique(allids.filter(pa.array(dup))) if dup.any() else pa.array([], pa.string())
