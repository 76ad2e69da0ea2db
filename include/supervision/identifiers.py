"""Check characters of the two national identifiers, as the standards define them.

- USCC 统一社会信用代码 (GB 32100-2015): 18 chars from 0-9A-HJ-NPQRTUWXY; char 1 registration authority
  (1-9, A, N, Y); chars 3-8 a division code; chars 9-17 an organization code (GB 11714) with its own check
  character; char 18 = (31 - sum(v_i * 3^i mod 31) mod 31) mod 31. python-stdnum's ``cn.uscc`` insists the
  first 8 chars are digits and so rejects valid codes starting with A, N or Y, hence this module.
- Resident ID 居民身份证号码 (GB 11643-1999): 17 digits + "10X98765432"[sum(d_i * w_i) mod 11], chars 7-14
  a valid birth date.

Scalar functions build codes (simulator, tests); vectorised ones validate whole columns at once
(validation runs on millions of rows: no per-row Python).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

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


_UPPER = np.arange(256, dtype=np.uint8)
_UPPER[ord("a"):ord("z") + 1] -= 32


def _as_codes(values: pd.Series, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(n, width) uint8 matrix of upper-cased ASCII codes, and a mask of values that are exactly width long.

    Read straight from the Arrow string buffers: a value of ``width`` bytes is ``width`` ASCII characters (any
    non-ASCII character takes 2-4 bytes in UTF-8, and such a value can never be a valid identifier anyway), so
    a fixed-width byte view replaces a Python join of every value. Rows that are not ``width`` bytes long are
    zeros and not ok.
    """
    import pyarrow as pa

    arr = pa.array(values.astype("string"), type=pa.large_string(), from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):  # Arrow-backed pandas strings come in chunks
        arr = arr.combine_chunks()
    n = len(arr)
    if n == 0:
        return np.zeros((0, width), np.uint8), np.zeros(0, bool)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset: arr.offset + n + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    ok = (np.diff(offsets) == width) & ~values.isna().to_numpy(dtype=bool)
    codes = np.zeros((n, width), np.uint8)
    rows = np.flatnonzero(ok)
    if rows.size:
        codes[rows] = _UPPER[data[offsets[rows, None] + np.arange(width)]]
    return codes, ok


def uscc_valid(values: pd.Series) -> pd.Series:
    """True where a value is a valid USCC (charset, authority, division digits, both check chars); NA stays NA."""
    codes, ok = _as_codes(values, 18)
    v = _USCC_LUT[codes]
    ok &= (v >= 0).all(axis=1)
    ok &= np.isin(codes[:, 0], np.frombuffer(USCC_AUTHORITIES.encode(), dtype=np.uint8))
    ok &= (v[:, 2:8] <= 9).all(axis=1) & (v[:, 2:8] >= 0).all(axis=1)
    check = (31 - (v[:, :17] * USCC_WEIGHTS).sum(axis=1) % 31) % 31
    ok &= check == v[:, 17]
    org = _ORG_LUT[codes[:, 8:16]]
    org_sum = (org * ORG_WEIGHTS).sum(axis=1) % 11
    org_check = 11 - org_sum  # 10 -> 'X', 11 -> '0'
    expected = np.where(org_check == 11, ord("0"), np.where(org_check == 10, ord("X"), org_check + ord("0")))
    ok &= (org >= 0).all(axis=1) & (codes[:, 16] == expected)
    return pd.Series(ok, index=values.index, dtype="boolean").mask(values.isna())


def ric_valid(values: pd.Series, not_after: str | None = None) -> pd.Series:
    """True where a value is a valid resident ID (digits, check char, real birth date); NA stays NA."""
    codes, ok = _as_codes(values, 18)
    digits = codes[:, :17].astype(np.int64) - ord("0")
    ok &= ((digits >= 0) & (digits <= 9)).all(axis=1)
    check = np.frombuffer(RIC_CHECK.encode(), dtype=np.uint8)[(digits * RIC_WEIGHTS).sum(axis=1) % 11]
    ok &= codes[:, 17] == check
    rows = np.flatnonzero(ok)  # the birth date only where everything else holds
    text = pd.Series(np.ascontiguousarray(codes[rows, 6:14]).view("S8").ravel().astype("U8"), dtype=object)
    birth = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
    born_ok = birth.notna() & (birth >= pd.Timestamp("1900-01-01"))
    if not_after is not None:
        born_ok &= birth <= pd.Timestamp(not_after)
    ok[rows] = born_ok.to_numpy(dtype=bool)
    return pd.Series(ok, index=values.index, dtype="boolean").mask(values.isna())
