"""Check characters of the two national identifiers, as the standards define them.

- USCC 统一社会信用代码 (GB 32100-2015): 18 chars from 0-9A-HJ-NPQRTUWXY; char 1 registration authority
  (1-9, A, N, Y); chars 3-8 a division code; chars 9-17 an organization code (GB 11714) with its own check
  character; char 18 = (31 - sum(v_i * 3^i mod 31) mod 31) mod 31. python-stdnum's ``cn.uscc`` insists the
  first 8 chars are digits and so rejects valid codes starting with A, N or Y, hence this module.
- Resident ID 居民身份证号码 (GB 11643-1999): 17 digits + "10X98765432"[sum(d_i * w_i) mod 11], chars 7-14
  a valid birth date.

Record keys (``record_id`` and every ``related_*_id`` that names another record) are compared, loaded and
resubmitted in Unicode NFKC form (:func:`record_key`, :func:`record_keys`): a county system that emits
full-width characters (``ＥＮＦ－４１１００２－００１``, typical of Chinese IMEs and of Excel exports) names the
same record as its ASCII re-send ``ENF-411002-001``. NFKC folds only compatibility forms (full-width / half-width
letters, digits and punctuation, the ideographic space, circled digits); it never changes Han characters or
case, so two keys that differ to a reader stay different. The raw value as it arrived is kept (lake Parquet,
quarantine ``raw_row``); only the key is normalised.

Scalar functions build codes (simulator, tests); vectorised ones validate whole columns at once
(validation runs on millions of rows: no per-row Python), on Arrow arrays (``*_mask``, ``*_valid_arrow``)
or pandas Series (``uscc_valid``, ``ric_valid``).
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from supervision import arrow_text

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters; I, O, S, V, Z are never used
USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # GB 11714 values: digits 0-9, A=10 .. Z=35
ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
RIC_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
RIC_CHECK = "10X98765432"
USCC_AUTHORITIES = "123456789ANY"


def _lut(alphabet: str) -> np.ndarray:
    lut = np.full(256, -1, dtype=np.int64)
    for v, ch in enumerate(alphabet):
        lut[ord(ch)] = v
    return lut


_USCC_LUT, _ORG_LUT = _lut(USCC_ALPHABET), _lut(ORG_ALPHABET)


def org_code_check_char(first8: str) -> str:
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(first8, ORG_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def uscc_check_char(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * int(w) for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def ric_check_char(first17: str) -> str:
    return RIC_CHECK[sum(int(d) * int(w) for d, w in zip(first17, RIC_WEIGHTS, strict=True)) % 11]


def make_uscc(authority_type: str, division6: str, org8: str) -> str:
    """Build a valid USCC from the 2-char registration authority/type, a division code and 8 org-code chars."""
    org9 = org8 + org_code_check_char(org8)
    body = authority_type + division6 + org9
    return body + uscc_check_char(body)


def make_ric(division6: str, birth_yyyymmdd: str, seq3: str) -> str:
    body = division6 + birth_yyyymmdd + seq3
    return body + ric_check_char(body)


UPPER = np.arange(256, dtype=np.uint8)  # ASCII upper-casing of a byte
UPPER[ord("a"):ord("z") + 1] -= 32
_USCC_LUT16, _ORG_LUT16 = _USCC_LUT.astype(np.int16), _ORG_LUT.astype(np.int16)
_USCC_AUTHORITY_OK = np.zeros(256, bool)
_USCC_AUTHORITY_OK[np.frombuffer(USCC_AUTHORITIES.encode(), dtype=np.uint8)] = True
_RIC_CHECK_CODES = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)
_ORG_EXPECTED = np.frombuffer(b"0X987654321", dtype=np.uint8)  # org check char by (weighted sum mod 11)


def identifier_codes(values) -> tuple[np.ndarray, np.ndarray]:
    """(18, m) uint8 matrix of upper-cased ASCII codes of the values of an Arrow string array that are exactly
    18 bytes long, column-major (``codes[k]`` = k-th character of every such value), and their positions.

    Read straight from the Arrow string buffers: a value of 18 bytes is 18 ASCII characters (any non-ASCII
    character takes 2-4 bytes in UTF-8, and such a value can never be a valid identifier anyway).
    """
    view = arrow_text.string_view(pc.ascii_upper(arrow_text.as_string_array(values)))
    rows = arrow_text.shaped_rows(view, 18)
    return arrow_text.codes_at(view, rows, 18), rows


def uscc_mask(codes: np.ndarray) -> np.ndarray:
    """Which of (18, m) upper-cased ``codes`` are valid USCCs: charset, registration authority, division
    digits and both check characters (the organization code's and the final one)."""
    ok = _USCC_AUTHORITY_OK[codes[0]]
    total = np.zeros(codes.shape[1], np.int32)
    for k in range(18):
        v = _USCC_LUT16[codes[k]]
        ok &= (v >= 0) if not 2 <= k < 8 else ((v >= 0) & (v <= 9))
        if k < 17:
            total += v * np.int16(USCC_WEIGHTS[k])
    ok &= (31 - total % 31) % 31 == _USCC_LUT16[codes[17]]
    org_sum = np.zeros(codes.shape[1], np.int32)
    for k in range(8):
        o = _ORG_LUT16[codes[8 + k]]
        ok &= o >= 0
        org_sum += o * np.int16(ORG_WEIGHTS[k])
    # 11 - sum % 11 is the check value: 10 -> 'X', 11 -> '0', else the digit
    return ok & (codes[16] == _ORG_EXPECTED[org_sum % 11])


def ric_mask(codes: np.ndarray, not_after: str | None = None) -> np.ndarray:
    """Which of (18, m) upper-cased ``codes`` are valid resident IDs: 17 ASCII digits, the check character,
    a real birth date from 1900-01-01 (and not after ``not_after``, an ISO date)."""
    d, ok = arrow_text.digits(codes[:17])
    total = np.zeros(codes.shape[1], np.int32)
    for k in range(17):
        total += d[k] * np.int16(RIC_WEIGHTS[k])
    ok &= codes[17] == _RIC_CHECK_CODES[total % 11]
    born = arrow_text.number(d[6:14])
    y, m, day = born // 10000, born // 100 % 100, born % 100
    ok &= arrow_text.valid_ymd(y, m, day) & (born >= 19000101)
    if not_after is not None:
        ok &= born <= int(str(not_after).replace("-", ""))
    return ok


def _spread(rows: np.ndarray, ok: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, bool)
    out[rows] = ok
    return out


def uscc_valid_arrow(values) -> np.ndarray:
    """True where an Arrow string value is a valid USCC; False for null."""
    codes, rows = identifier_codes(values)
    return _spread(rows, uscc_mask(codes), len(values))


def ric_valid_arrow(values, not_after: str | None = None) -> np.ndarray:
    """True where an Arrow string value is a valid resident ID; False for null."""
    codes, rows = identifier_codes(values)
    return _spread(rows, ric_mask(codes, not_after), len(values))


def _arrow(values: pd.Series):
    return pa.array(values.astype("string"), type=pa.large_string(), from_pandas=True)


def uscc_valid(values: pd.Series) -> pd.Series:
    """True where a value is a valid USCC (charset, authority, division digits, both check chars); NA stays NA."""
    ok = uscc_valid_arrow(_arrow(values))
    return pd.Series(ok, index=values.index, dtype="boolean").mask(values.isna())


def ric_valid(values: pd.Series, not_after: str | None = None) -> pd.Series:
    """True where a value is a valid resident ID (digits, check char, real birth date); NA stays NA."""
    ok = ric_valid_arrow(_arrow(values), not_after=not_after)
    return pd.Series(ok, index=values.index, dtype="boolean").mask(values.isna())


KEY_FORM = "NFKC"


def record_key(value: str | None) -> str | None:
    """The key of one record id as the warehouse stores and compares it (NFKC; None stays None)."""
    if value is None or value.isascii():
        return value
    return unicodedata.normalize(KEY_FORM, value)


def record_keys(values):
    """:func:`record_key` of every value of an Arrow string array (or chunked array), vectorised; an all-ASCII
    array (the common case) comes back as it is."""
    if isinstance(values, pa.ChunkedArray):
        return pa.chunked_array([record_keys(c) for c in values.chunks], values.type)
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return values  # an all-null column of an empty batch
    if not len(values) or pc.all(pc.string_is_ascii(values)).as_py() is not False:
        return values
    return pc.utf8_normalize(values, KEY_FORM)
