"""Counter-based randomness: every draw is a hash of (record key, attribute name).

A record's attributes depend only on its key, never on which other records are drawn with it, so a
record created on an earlier night can be re-materialised alone, identically, when it is re-sent.
"""

from __future__ import annotations

import zlib
from datetime import date

import numpy as np

_G = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_EPOCH = date(1970, 1, 1).toordinal()


def mix(x) -> np.ndarray:
    """splitmix64 finaliser over a uint64 array (wrap-around is intended; arrays never warn, 0-d would)."""
    x = np.asarray(x, dtype=np.uint64)
    if x.ndim == 0:
        x = x.reshape(1)
    z = x + _G
    z ^= z >> _S30
    z *= _M1
    z ^= z >> _S27
    z *= _M2
    z ^= z >> _S31
    return z


def key(*parts) -> np.ndarray:
    """Chain-hash integer parts (scalars or equal-length arrays) into uint64 keys."""
    h = mix(np.uint64(0x5EED))
    for p in parts:
        h = mix(h ^ mix(np.asarray(p, dtype=np.int64).view(np.uint64)))
    return h


_SALTS: dict[str, np.uint64] = {}


def salt(name: str) -> np.uint64:
    s = _SALTS.get(name)
    if s is None:
        s = _SALTS[name] = mix(np.uint64(zlib.crc32(name.encode("utf-8"))))[0]
    return s


class Draw:
    """Named, independent random attributes of a set of records (one key per record)."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys

    def __len__(self) -> int:
        return len(self.keys)

    def take(self, sel) -> Draw:
        return Draw(self.keys[sel])

    def bits(self, name: str) -> np.ndarray:
        """64 random bits per record (for several small draws at once)."""
        return mix(self.keys ^ salt(name))

    def u(self, name: str) -> np.ndarray:
        return (mix(self.keys ^ salt(name)) >> _S11).astype(np.float64) * (1.0 / (1 << 53))

    def int(self, name: str, lo, hi) -> np.ndarray:
        """Integers in [lo, hi) (bounds may be arrays)."""
        lo, hi = np.asarray(lo), np.asarray(hi)
        return (lo + np.floor(self.u(name) * (hi - lo))).astype(np.int64)

    def bern(self, name: str, p) -> np.ndarray:
        return self.u(name) < p

    def pick(self, name: str, weights) -> np.ndarray:
        """Index into weights, drawn with those relative weights."""
        cum = np.cumsum(np.asarray(weights, dtype=np.float64))
        return np.minimum(np.searchsorted(cum / cum[-1], self.u(name), side="right"), len(cum) - 1)

    def normal(self, name: str) -> np.ndarray:
        u1 = np.maximum(self.u(name + "#1"), 1e-300)
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * self.u(name + "#2"))


def poisson(lam: np.ndarray, u: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Poisson counts by inverse CDF from uniforms u (normal approximation z for large means)."""
    lam = np.asarray(lam, dtype=np.float64)
    out = np.maximum(np.rint(lam + np.sqrt(lam) * z), 0).astype(np.int64)
    small = lam < 40
    if small.any():
        lm, um = lam[small], u[small]
        p = np.exp(-lm)
        cdf = p.copy()
        k = np.zeros(len(lm), dtype=np.int64)
        for i in range(1, 200):
            more = um > cdf
            if not more.any():
                break
            k += more
            p = p * lm / i
            cdf = cdf + p
        out[small] = k
    return out


def iso_dates(ordinals: np.ndarray) -> np.ndarray:
    """Python date ordinals -> array of 'YYYY-MM-DD' strings."""
    return (np.asarray(ordinals, dtype=np.int64) - _EPOCH).astype("datetime64[D]").astype(str)


def weekday(ordinals: np.ndarray) -> np.ndarray:
    return (np.asarray(ordinals) - 1) % 7  # date(1, 1, 1) (ordinal 1) was a Monday
