"""Validation of one county file against the contract, through Great Expectations.

How it works (and why): :func:`check_batch` types the raw strings of an Arrow batch and evaluates every rule
of the contract, vectorised with pyarrow.compute and numpy (both release the GIL, so loading can run in another
thread). The outcome is an int8 *rule matrix*, one column per rule id: ``PASS`` (1), ``FAIL`` (0) or
``NOT_APPLICABLE`` (2, e.g. a date-order rule when a date is missing). Great Expectations checks each column
``rule__<rule id>`` with a built-in expectation (``ExpectColumnValuesToBeInSet([1, 2])``), so every rule
appears in the GX result and Data Docs with its id, field and description in ``meta``. The row split reads
the same matrix, and the GX unexpected counts are cross-checked against it: the split can never disagree with
what GX reported. GX runs over ONE consolidated int8 block (:func:`rule_frame`): its pandas engine filters the
whole frame for every expectation, which is cheap on one block and slow on 50 nullable-boolean columns.
``BASIC`` results (counts, a few examples) keep validation fast whatever the number of failures
(``COMPLETE`` results cost minutes on a million failing rows).

:func:`compute_rules` is the same for a pandas frame, with a pandas result (:class:`Checked`).

Rule ids: ``<field>.required | .enum | .format | .max_length | .identifier | .non_negative | .not_future``,
``township_code.in_county``, ``county_code.matches_submitter``, ``record_id.unique_in_file`` and the
cross-field ``Rule.id``s of contract.py.

Keys (``record_id``, ``related_*_id``) are checked in NFKC form (``identifiers.record_key``): the typed rows, and
so the warehouse, hold the normalised key; the batch itself (landed raw, quarantined as received) is untouched.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from supervision import arrow_text, data_docs_site, divisions, settings
from supervision.contract import (
    BOOL,
    BOOL_FALSE,
    BOOL_TRUE,
    CODE6,
    CODE9,
    COURT_CASE_TYPES,
    DATE,
    ENUM,
    MONEY,
    PARTY_ID,
    PROVINCE_ABBREVIATIONS,
    RIC,
    SOURCE_ROW,
    TEXT,
    TIMESTAMP,
    USCC,
    RecordType,
)
from supervision.identifiers import identifier_codes, record_keys, ric_mask, uscc_mask

log = logging.getLogger(__name__)

RULE_PREFIX = "rule__"
# ASCII digits only ([0-9], never \d): a full-width "５００" must fail the format, not slip through as NULL.
# _TIMESTAMP is the shape that _parse_timestamps checks on the bytes (the tests hold the two together).
_TIMESTAMP = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?(?:Z|[+-][0-9]{2}(?::?[0-9]{2})?)"
_MONEY = r"-?[0-9]{1,12}(?:\.[0-9]{1,2})?"
_COURT = re.compile(r"^[（(]([0-9]{4})[）)]([\u4e00-\u9fa5])([0-9]{0,6})(" + "|".join(
    sorted(COURT_CASE_TYPES, key=len, reverse=True)) + r")([0-9]{1,6})号$")


class SchemaDrift(ValueError):
    """The file's columns are not the contract's; the whole file is rejected."""

    def __init__(self, missing: list[str], added: list[str], renamed: dict[str, str]):
        self.missing, self.added, self.renamed = missing, added, renamed
        parts = []
        if renamed:
            parts.append("renamed " + ", ".join(f"{old}→{new}" for old, new in renamed.items()))
        if missing:
            parts.append("missing " + ", ".join(missing))
        if added:
            parts.append("added " + ", ".join(added))
        super().__init__("schema drift: " + "; ".join(parts))


@dataclass(frozen=True)
class RuleSpec:
    id: str
    field: str | None
    description: str
    severity: str = "error"  # error: the row is quarantined; warning: the row loads, the finding is recorded


def rule_specs(rt: RecordType) -> list[RuleSpec]:
    """Every rule that applies to a record type, in a stable order (drives the GX suite and the docs)."""
    specs: list[RuleSpec] = []
    for f in rt.fields:
        add = lambda check, text, f=f: specs.append(RuleSpec(f"{f.name}.{check}", f.name, text))  # noqa: E731
        if f.required:
            add("required", f"{f.name} ({f.zh}) is required")
        if f.max_length:
            add("max_length", f"{f.name} is at most {f.max_length} characters")
        if f.type == ENUM:
            add("enum", f"{f.name} is one of {', '.join(f.enum)}")
        elif f.type in (CODE6, CODE9):
            add("format", f"{f.name} is a {6 if f.type == CODE6 else 9}-digit division code")
        elif f.type == DATE:
            add("format", f"{f.name} is a real date written YYYY-MM-DD")
            add("not_future", f"{f.name} is not after the business date")
        elif f.type == TIMESTAMP:
            add("format", f"{f.name} is an ISO 8601 timestamp with a UTC offset")
        elif f.type == MONEY:
            add("format", f"{f.name} is an amount in yuan with at most 2 decimals")
            add("non_negative", f"{f.name} is not negative")
        elif f.type == BOOL:
            add("format", f"{f.name} is true/false (also 1/0, 是/否)")
        elif f.type == USCC:
            add("identifier", f"{f.name} is a valid unified social credit code (GB 32100 check characters)")
        elif f.type == RIC:
            add("identifier", f"{f.name} is a valid resident ID number (GB 11643 check digit, birth date)")
        elif f.type == PARTY_ID:
            add("identifier", f"{f.name} is a valid resident ID when {f.kind_field} is person, a valid USCC "
                              "when organization")
    specs.append(RuleSpec("record_id.unique_in_file", "record_id",
                          "记录标识在文件中只能出现一次（全角与半角写法视为同一标识）/ record_id appears once in the file "
                          "(full-width and ASCII forms are the same id)"))
    specs.append(RuleSpec("county_code.matches_submitter", "county_code", "county_code is the submitting county"))
    if "township_code" in rt.field_names:
        specs.append(RuleSpec("township_code.in_county", "township_code",
                              "township_code is a township of the submitting county"))
    specs.extend(RuleSpec(r.id, r.args[0], r.description) for r in rt.rules)
    specs.extend(RuleSpec(f"{f.name}.exists", f.name, f"{f.name} names a {f.references} record of the same county "
                          "(in the warehouse or the same night)", severity="warning")
                 for f in rt.fields if f.references)
    return specs


def check_schema(columns: list[str], rt: RecordType) -> None:
    got = [c for c in columns if not c.startswith("_")]
    missing = [c for c in rt.field_names if c not in got]
    added = [c for c in got if c not in rt.field_names]
    if not missing and not added:
        return
    renamed = {}
    import difflib

    for m in list(missing):
        close = difflib.get_close_matches(m, added, n=1, cutoff=0.75)
        if close:
            renamed[m] = close[0]
            missing.remove(m)
            added.remove(close[0])
    raise SchemaDrift(missing, added, renamed)


PASS, FAIL, NOT_APPLICABLE = 1, 0, 2  # values of the rule matrix (int8)
RULE_VALUES = "1 = passes, 2 = not applicable, 0 = breaks the rule"


@dataclass(frozen=True, eq=False)
class CheckedBatch:
    """A batch after every rule was evaluated: typed Arrow rows, the rule matrix and the split.

    ``rules`` is an int8 matrix, one row per row of the batch and one column per rule id (``rule_ids``, the order
    of :func:`rule_specs`): ``PASS`` (1), ``FAIL`` (0) or ``NOT_APPLICABLE`` (2, e.g. a date-order rule when a
    date is missing). It is Fortran-ordered: each rule's column is contiguous.
    """

    typed: pa.Table  # rt.typed_schema(): contract fields in their Arrow types + _source_row
    rules: np.ndarray  # int8 (rows, rules)
    failed: np.ndarray  # bool per row: breaks at least one error rule
    rule_ids: tuple[str, ...]
    warning_rules: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.failed)

    def rule(self, rule_id: str) -> np.ndarray:
        """The int8 column of one rule."""
        return self.rules[:, self.rule_ids.index(rule_id)]

    def _broken(self, columns: list[int], rows: np.ndarray) -> list[tuple[int, list[str]]]:
        if not columns or not rows.size:
            return []
        hit = self.rules[np.ix_(rows, columns)] == FAIL
        ids = np.array([self.rule_ids[j] for j in columns], dtype=object)
        # one list of rule ids per distinct pattern of broken rules (a file has few), copied per row
        patterns, inverse = np.unique(np.packbits(hit, axis=1), axis=0, return_inverse=True)
        names = [ids[np.unpackbits(p, count=len(columns)).astype(bool)].tolist() for p in patterns]
        return [(int(i), list(names[k])) for i, k in zip(rows.tolist(), inverse.ravel().tolist(), strict=True)]

    def _columns(self, warning: bool) -> list[int]:
        return [j for j, r in enumerate(self.rule_ids) if (r in self.warning_rules) == warning]

    def failures(self) -> list[tuple[int, list[str]]]:
        """(row position, [error rule ids]) for every failing row: these rows go to quarantine."""
        return self._broken(self._columns(False), np.flatnonzero(self.failed))

    def warnings(self) -> list[tuple[int, list[str]]]:
        """(row position, [warning rule ids]) for rows that load but carry a finding (e.g. a dangling related id)."""
        cols = self._columns(True)
        if not cols:
            return []
        hit = (self.rules[:, cols] == FAIL).any(axis=1)
        return self._broken(cols, np.flatnonzero(hit))

    def valid_typed(self) -> pa.Table:
        """The typed rows that break no error rule (they load; warnings do not stop a row)."""
        return self.typed.filter(pa.array(~self.failed)) if self.failed.any() else self.typed

    def counts(self) -> dict[str, int]:
        """{rule id: number of rows that break it}."""
        return dict(zip(self.rule_ids, (self.rules == FAIL).sum(axis=0).tolist(), strict=True))

    def not_applicable_counts(self) -> dict[str, int]:
        return dict(zip(self.rule_ids, (self.rules == NOT_APPLICABLE).sum(axis=0).tolist(), strict=True))


@dataclass
class Checked:
    """A file after the rule columns were computed (pandas view of a :class:`CheckedBatch`).

    For callers that work with pandas: typed values, rule columns (nullable booleans, NA = not applicable),
    and the split.
    """

    typed: pd.DataFrame  # contract fields in warehouse types + _source_row
    rules: pd.DataFrame  # one nullable-boolean column per rule id
    failed: np.ndarray  # bool per row: breaks at least one error rule
    warning_rules: tuple[str, ...] = ()
    batch: CheckedBatch | None = dataclass_field(default=None, repr=False, compare=False)

    @property
    def valid_rows(self) -> pd.DataFrame:
        return self.typed.loc[~self.failed]

    def _broken(self, rule_ids: list[str], rows: np.ndarray) -> list[tuple[int, list[str]]]:
        cols = np.array(rule_ids)
        matrix = self.rules[rule_ids].eq(False).fillna(False).to_numpy(dtype=bool) if rule_ids else None
        return [(int(i), cols[matrix[i]].tolist()) for i in rows] if rule_ids else []

    def failures(self) -> list[tuple[int, list[str]]]:
        """(row position, [error rule ids]) for every failing row: these rows go to quarantine."""
        if self.batch is not None:
            return self.batch.failures()
        errors = [c for c in self.rules.columns if c not in self.warning_rules]
        return self._broken(errors, np.flatnonzero(self.failed))

    def warnings(self) -> list[tuple[int, list[str]]]:
        """(row position, [warning rule ids]) for rows that load but carry a finding (e.g. a dangling related id)."""
        if self.batch is not None:
            return self.batch.warnings()
        rules = list(self.warning_rules)
        if not rules:
            return []
        hit = self.rules[rules].eq(False).fillna(False).to_numpy(dtype=bool).any(axis=1)
        return self._broken(rules, np.flatnonzero(hit))

    def rule_matrix(self) -> np.ndarray:
        """The int8 rule matrix (PASS / FAIL / NOT_APPLICABLE) in the order of the rule columns."""
        if self.batch is not None:
            return self.batch.rules
        m = np.full(self.rules.shape, NOT_APPLICABLE, dtype=np.int8, order="F")
        for j, c in enumerate(self.rules.columns):
            col = self.rules[c]
            m[:, j] = np.where(col.isna().to_numpy(), NOT_APPLICABLE, col.fillna(False).to_numpy(dtype=bool))
        return m


# --- the rules, on Arrow -------------------------------------------------------------------------------------

_MONEY_RE = "^(?:" + _MONEY + r")\z"
_DECIMAL = pa.decimal128(14, 2)
_COLON, _DOT, _DASH, _PLUS, _Z, _T, _SPACE = (ord(c) for c in ":.-+ZT ")


def _np(mask) -> np.ndarray:
    """A numpy bool vector from an Arrow boolean array (null = False)."""
    if isinstance(mask, pa.ChunkedArray):
        mask = mask.combine_chunks()
    if mask.null_count:
        mask = pc.fill_null(mask, False)
    return mask.to_numpy(zero_copy_only=False)


def _isin(values: pa.Array, options) -> np.ndarray:
    if not isinstance(options, (pa.Array, pa.ChunkedArray)):
        options = pa.array(sorted(options), type=pa.string())
    if isinstance(options, pa.ChunkedArray):
        options = options.combine_chunks()
    if options.type != values.type:
        options = options.cast(values.type)
    if not len(options):
        return np.zeros(len(values), bool)
    return _np(pc.is_in(values, value_set=options))


def _text(column, n: int, contiguous: bool = True):
    """A raw column as ``string``: one contiguous array (for byte views), or as it comes (for Arrow kernels)."""
    if isinstance(column, pa.ChunkedArray) and (contiguous or not column.num_chunks):
        column = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    if not pa.types.is_string(column.type):
        column = column.cast(pa.string())  # large_string (or a null column of an empty JSON batch)
    if len(column) != n:  # pragma: no cover - a table's columns have its length
        raise ValueError("column length differs from the batch")
    return column


def _spread(rows: np.ndarray, values: np.ndarray, n: int, dtype=bool) -> np.ndarray:
    out = np.zeros(n, dtype)
    out[rows] = values
    return out


def _parse_codes(view: arrow_text.StringView, width: int) -> np.ndarray:
    """ok: exactly ``width`` ASCII digits."""
    rows = arrow_text.shaped_rows(view, width)
    return _spread(rows, arrow_text.digits(arrow_text.codes_at(view, rows, width))[1], len(view))


_DASHES_4_7 = (0xFF0000FF00000000, 0x2D00002D00000000)  # bytes 4 and 7 of a word are '-'


def _parse_dates(view: arrow_text.StringView) -> tuple[np.ndarray, np.ndarray]:
    """(ok, days since 1970-01-01 as int32): YYYY-MM-DD in ASCII digits, a real date.

    Two 8-byte loads per value (bytes 0-7 ``YYYY-MM-`` and 2-9 ``YY-MM-DD``), checked and read as words.
    """
    n = len(view)
    rows = arrow_text.shaped_rows(view, 10)
    starts = view.starts[rows]
    a, b = view.word(starts), view.word(starts, 2)
    good = (arrow_text.swar_digits(a, 0x00FFFF00FFFFFFFF) & arrow_text.swar_digits(b, 0xFFFF000000000000)
            & ((a & np.uint64(_DASHES_4_7[0])) == np.uint64(_DASHES_4_7[1])))
    y, m, day = arrow_text.four_digits(a), arrow_text.two_digits(a, 5), arrow_text.two_digits(b, 6)
    good &= arrow_text.valid_ymd(y, m, day)
    days = np.where(good, arrow_text.civil_days(y, m, day), 0)
    return _spread(rows, good, n), _spread(rows, days, n, np.int32)


def _parse_timestamps(view: arrow_text.StringView) -> tuple[np.ndarray, np.ndarray]:
    """(ok, microseconds since the epoch in UTC) of ISO 8601 timestamps with an offset.

    The shape is ``_TIMESTAMP`` (YYYY-MM-DD, T or space, HH:MM, optional :SS with an optional fraction of 1-6
    digits, then Z, ±HH, ±HHMM or ±HH:MM), checked on the bytes: the pattern is all ASCII, so a value matches it
    iff its UTF-8 bytes do. The values as pandas reads them: month 1-12, a real day, hours 0-23, minutes and
    seconds 0-59 (no leap second), offset hours 0-23 and minutes 0-59.
    """
    n = len(view)
    rows = np.flatnonzero(view.valid & (view.lengths >= 17) & (view.lengths <= 32))  # 17: YYYY-MM-DDTHH:MMZ
    if not rows.size:
        return np.zeros(n, bool), np.zeros(n, np.int64)
    starts, lengths = view.starts[rows], view.lengths[rows]
    a, b, tail, tail2 = (view.word(starts, k) for k in (0, 8, 16, 24))  # YYYY-MM- DDTHH:MM and the rest

    def at(k: int) -> np.ndarray:  # byte k (16-31) of every value
        return arrow_text.byte_of(tail if k < 24 else tail2, k % 8)

    good = (arrow_text.swar_digits(a, 0x00FFFF00FFFFFFFF) & ((a & np.uint64(_DASHES_4_7[0])) == np.uint64(_DASHES_4_7[1]))
            & arrow_text.swar_digits(b, 0xFFFF00FFFF00FFFF))
    sep = arrow_text.byte_of(b, 2)
    good &= ((sep == _T) | (sep == _SPACE)) & (arrow_text.byte_of(b, 5) == _COLON)
    has_sec = at(16) == _COLON
    good &= ~has_sec | arrow_text.swar_digits(tail, 0x0000000000FFFF00)
    has_frac = has_sec & (at(19) == _DOT)
    nfrac = np.zeros(rows.size, np.int32)
    frac = np.zeros(rows.size, np.int64)
    fr = np.flatnonzero(has_frac)
    if fr.size:  # 1-6 digits after the dot
        f, nf, running = np.zeros(fr.size, np.int64), np.zeros(fr.size, np.int32), np.ones(fr.size, bool)
        for k in range(20, 26):
            dk = arrow_text.byte_of((tail if k < 24 else tail2)[fr], k % 8) - ord("0")
            running &= (dk >= 0) & (dk <= 9)
            f = np.where(running, f * 10 + dk, f)
            nf += running
        frac[fr], nfrac[fr] = f, nf
    good &= ~has_frac | (nfrac >= 1)
    tz = np.where(has_frac, 20 + nfrac, np.where(has_sec, 19, 16))
    tz_char, *off = (view.byte(starts, tz + k).astype(np.int32) for k in range(6))
    off = [o - ord("0") for o in off]  # digits at tz+1.. (garbage where there are none)
    is_digit = [(o >= 0) & (o <= 9) for o in off]
    zulu = tz_char == _Z
    signed = (tz_char == _PLUS) | (tz_char == _DASH)
    rest = lengths - (tz + 3)  # after ±HH: nothing, MM or :MM
    good &= (zulu & (lengths == tz + 1)) | (signed & is_digit[0] & is_digit[1] & (
        (rest == 0) | ((rest == 2) & is_digit[2] & is_digit[3])
        | ((rest == 3) & (off[2] == _COLON - ord("0")) & is_digit[3] & is_digit[4])))
    y = arrow_text.four_digits(a)
    month, day, hour, minute = (arrow_text.two_digits(a, 5), arrow_text.two_digits(b, 0),
                                arrow_text.two_digits(b, 3), arrow_text.two_digits(b, 6))
    sec = np.where(has_sec, arrow_text.two_digits(tail, 1), 0)
    off_h = np.where(zulu, 0, off[0] * 10 + off[1])
    off_m = np.where(zulu | (rest == 0), 0, np.where(rest == 3, off[3] * 10 + off[4], off[2] * 10 + off[3]))
    good &= (arrow_text.valid_ymd(y, month, day) & (hour <= 23) & (minute <= 59) & (sec <= 59) & (off_h <= 23)
             & (off_m <= 59))
    offset = np.where(tz_char == _DASH, -1, 1) * (off_h * 3600 + off_m * 60)
    seconds = (arrow_text.civil_days(y, month, day).astype(np.int64) * 86400 + hour * 3600 + minute * 60 + sec
               - offset)
    us = seconds * 1_000_000 + frac * 10 ** (6 - nfrac.astype(np.int64))
    return _spread(rows, good, n), _spread(rows, np.where(good, us, 0), n, np.int64)


def _distinct(values: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """(distinct values, index of every row's value, -1 for null) when the values repeat a lot, as identifiers
    do (a county has a few dozen agencies, its parties come back), else (values, None).

    Checking the distinct values only is then much cheaper; a sample of the first rows decides (a hash of a
    million distinct values costs more than checking them).
    """
    n = len(values)
    if n < 20_000 or len(pc.unique(values.slice(0, 10_000))) > 2_500:
        return values, None
    enc = pc.dictionary_encode(values)
    index = enc.indices
    return enc.dictionary, (pc.fill_null(index, -1) if index.null_count else index).to_numpy(zero_copy_only=False)


def _check_identifiers(kind_of_field: str, values: pa.Array, kind, born_limit: str
                       ) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """(ok, typed upper-cased values, applicable) of a USCC, resident ID or party id column.

    A party id is a resident ID when its kind field says person, a USCC when organization, else not
    applicable. Checked on the distinct values when they repeat (see :func:`_distinct`).
    """
    n = len(values)
    distinct, index = _distinct(values)
    codes, rows = identifier_codes(distinct)
    person = org = None
    if kind is not None:
        person, org = _np(pc.equal(kind, "person")), _np(pc.equal(kind, "organization"))
    ric = lambda c: ric_mask(c, not_after=born_limit)  # noqa: E731
    if index is None:  # one value per row
        if kind_of_field == USCC:
            sub = uscc_mask(codes)
        elif kind_of_field == RIC:
            sub = ric(codes)
        else:  # each check on the rows of its kind only
            sub = np.zeros(rows.size, bool)
            for which, check in ((person[rows], ric), (org[rows], uscc_mask)):
                if which.any():
                    sub[which] = check(codes[:, which])
        good = _spread(rows, sub, n)
        typed = arrow_text.fixed_strings(codes[:, sub], rows[sub], n)
    else:  # every distinct value once, then each row reads its value's outcome
        valued = index >= 0
        at = np.where(valued, index, 0)
        if kind_of_field == PARTY_ID:
            as_ric, as_uscc = (_spread(rows, check(codes), len(distinct)) for check in (ric, uscc_mask))
            good = valued & ((person & as_ric[at]) | (org & as_uscc[at]))
            value_ok = as_ric | as_uscc
        else:
            value_ok = _spread(rows, (uscc_mask if kind_of_field == USCC else ric)(codes), len(distinct))
            good = valued & value_ok[at]
        upper = arrow_text.fixed_strings(codes[:, value_ok[rows]], rows[value_ok[rows]], len(distinct))
        typed = pc.take(upper, pa.array(at.astype(np.int32), mask=~good))
    applicable = np.ones(n, bool) if kind is None else person | org
    return good, typed, applicable


def _parse_money(values: pa.Array) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """(ok, decimal128(14, 2) array (null where not ok), cents as int64)."""
    n = len(values)
    present = np.flatnonzero(arrow_text.valid_mask(values))
    if not present.size:
        return np.zeros(n, bool), pa.nulls(n, _DECIMAL), np.zeros(n, np.int64)
    given = values if present.size == n else values.take(pa.array(present))  # amounts are mostly empty
    ok = _spread(present, _np(pc.match_substring_regex(given, _MONEY_RE)), n)
    amounts = pc.cast(arrow_text.keep(values, ok), _DECIMAL)
    words = np.frombuffer(amounts.buffers()[1], dtype=np.int64)[2 * amounts.offset: 2 * (amounts.offset + n)]
    return ok, amounts, np.where(ok, words[0::2], 0)


def _duplicated(values: pa.Array) -> np.ndarray:
    """True where a (non-null) value occurs more than once (pandas ``duplicated(keep=False)``).

    Arrow's hash kernels take ~0.5 s on a million distinct ids; a numpy fingerprint of every value, sorted,
    finds the candidates, and the exact check runs on those few rows only.
    """
    n = len(values)
    out = np.zeros(n, bool)
    view = arrow_text.string_view(values)
    rows = np.flatnonzero(view.valid)
    if rows.size < 2:
        return out
    fp = _fingerprints(view)[rows]
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


def _fingerprints(view: arrow_text.StringView) -> np.ndarray:
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
    arr = arrow_text.as_string_array(values)
    view = arrow_text.string_view(arr)
    return _fingerprints(view)[view.valid] if len(arr) else np.zeros(0, np.uint64)


def duplicate_ids(*record_ids) -> pa.Array:
    """The record ids that occur more than once over all the given arrays (the batches of one file), for
    :func:`check_batch`'s ``duplicate_ids``."""
    arrays = [_text(a, len(a)) for a in record_ids]
    allids = pa.concat_arrays(arrays) if arrays else pa.array([], pa.string())
    dup = _duplicated(allids)
    return pc.unique(allids.filter(pa.array(dup))) if dup.any() else pa.array([], pa.string())


class _Matrix:
    """The rule matrix being filled, one column per rule id."""

    def __init__(self, specs: list[RuleSpec], n: int):
        self.index = {s.id: j for j, s in enumerate(specs)}
        self.values = np.full((n, len(specs)), NOT_APPLICABLE, dtype=np.int8, order="F")
        self.errors = [s.severity == "error" for s in specs]
        self.failed = np.zeros(n, bool)
        self.filled: set[str] = set()

    def put(self, rule_id: str, ok: np.ndarray, applicable: np.ndarray | None = None) -> None:
        j = self.index[rule_id]
        col = self.values[:, j]
        col[:] = ok
        if applicable is not None:
            np.copyto(col, NOT_APPLICABLE, where=~applicable)
        if self.errors[j]:
            self.failed |= col == FAIL
        self.filled.add(rule_id)


def check_batch(batch: pa.Table, rt: RecordType, county_code: str, business_date: date, *,
                known_ids: dict[str, pa.Array] | None = None, duplicate_ids: pa.Array | None = None) -> CheckedBatch:
    """Type the raw strings of ``batch`` and evaluate every rule of ``rt``, vectorised on Arrow and numpy.

    ``batch``: the file's columns as ``string`` / ``large_string`` (values trimmed, empty = null) plus
    ``_row_number`` (1-based row of the file). ``known_ids``: per referenced record type, an Arrow array of the
    record ids known to exist (warehouse or same night); a type that is missing makes its ``*.exists`` rule not
    applicable. ``duplicate_ids``: the record ids that occur more than once in the whole file (see
    :func:`duplicate_ids`); without it duplicates are found within the batch.
    """
    if batch.num_rows == 0 and not [c for c in batch.column_names if not c.startswith("_")]:  # JSON []
        batch = pa.table({c: pa.array([], pa.string()) for c in rt.field_names})
    check_schema(list(batch.column_names), rt)
    n = batch.num_rows
    specs = rule_specs(rt)
    m = _Matrix(specs, n)
    # byte views need one contiguous array; Arrow kernels take the chunks as they come
    raw = {f.name: _text(batch.column(f.name), n, contiguous=f.type not in (TEXT, ENUM, BOOL) or f.name == "record_id")
           for f in rt.fields}
    for f in rt.key_fields:  # keys are checked (length, duplicates, references) and loaded in NFKC form
        raw[f.name] = record_keys(raw[f.name])
    typed: dict[str, pa.Array] = {}
    ok: dict[str, np.ndarray] = {}  # where a field's value is usable by later rules
    days: dict[str, np.ndarray] = {}
    cents: dict[str, np.ndarray] = {}
    truth: dict[str, np.ndarray] = {}
    bd = (business_date - date(1970, 1, 1)).days
    born_limit = business_date.isoformat()

    for f in rt.fields:
        v = raw[f.name]
        present = arrow_text.valid_mask(v)
        if f.required:
            m.put(f"{f.name}.required", present)
        if f.max_length:
            m.put(f"{f.name}.max_length", _np(pc.less_equal(pc.utf8_length(v), f.max_length)), present)
        if f.type == TEXT:
            good, typed[f.name] = present, v
        elif f.type == ENUM:
            good = _isin(v, f.enum)
            m.put(f"{f.name}.enum", good, present)
            typed[f.name] = arrow_text.keep(v, good)
        elif f.type in (CODE6, CODE9):
            good = _parse_codes(arrow_text.string_view(v), 6 if f.type == CODE6 else 9)
            m.put(f"{f.name}.format", good, present)
            typed[f.name] = arrow_text.keep(v, good)
        elif f.type == DATE:
            good, days[f.name] = _parse_dates(arrow_text.string_view(v))
            m.put(f"{f.name}.format", good, present)
            m.put(f"{f.name}.not_future", days[f.name] <= bd, good)
            typed[f.name] = arrow_text.primitive(days[f.name], pa.date32(), good)
        elif f.type == TIMESTAMP:
            good, us = _parse_timestamps(arrow_text.string_view(v))
            m.put(f"{f.name}.format", good, present)
            typed[f.name] = arrow_text.primitive(us, pa.timestamp("us", tz="UTC"), good)
        elif f.type == MONEY:
            good, typed[f.name], cents[f.name] = _parse_money(v)
            m.put(f"{f.name}.format", good, present)
            m.put(f"{f.name}.non_negative", cents[f.name] >= 0, good)
        elif f.type == BOOL:
            truthy, falsy = _isin(v, BOOL_TRUE), _isin(v, BOOL_FALSE)
            good = truthy | falsy
            truth[f.name] = truthy
            m.put(f"{f.name}.format", good, present)
            typed[f.name] = pa.array(truthy, type=pa.bool_(), mask=~good)
        elif f.type in (USCC, RIC, PARTY_ID):
            kind = raw[f.kind_field] if f.type == PARTY_ID else None
            good, typed[f.name], applicable = _check_identifiers(f.type, v, kind, born_limit)
            m.put(f"{f.name}.identifier", good, present & applicable)
        else:  # pragma: no cover - contract.py and this module move together
            raise ValueError(f"no validation for field type {f.type}")
        ok[f.name] = good

    rid = raw["record_id"]
    dup = _isin(rid, duplicate_ids) if duplicate_ids is not None else _duplicated(rid)
    m.put("record_id.unique_in_file", ~dup, arrow_text.valid_mask(rid))
    m.put("county_code.matches_submitter", _np(pc.equal(typed["county_code"], county_code)), ok["county_code"])
    if "township_code" in rt.field_names:
        m.put("township_code.in_county", _isin(typed["township_code"], _townships(county_code)),
              ok["township_code"])
    values = _Values(typed, ok, days, cents, truth)
    for r in rt.rules:
        m.put(r.id, *_cross_rule(r.kind, r.args, values, county_code))
    for f in rt.fields:
        if f.references:
            known = (known_ids or {}).get(f.references)
            if known is None:
                m.put(f"{f.name}.exists", np.ones(n, bool), np.zeros(n, bool))
                continue
            v = typed[f.name]
            usable = arrow_text.valid_mask(v) & _np(pc.less_equal(pc.utf8_length(v), f.max_length or 10**6))
            m.put(f"{f.name}.exists", _isin(v, known), usable)
    missing = [s.id for s in specs if s.id not in m.filled]
    if missing:  # pragma: no cover - rule_specs and check_batch move together
        raise ValueError(f"no check for rule(s) {missing}")

    src = batch.column("_row_number") if "_row_number" in batch.column_names else pa.array(np.arange(1, n + 1))
    typed[SOURCE_ROW] = pc.cast(src, pa.int32())
    schema = rt.typed_schema()
    table = pa.Table.from_arrays([typed[name] for name in schema.names], schema=schema)
    return CheckedBatch(table, m.values, m.failed, tuple(s.id for s in specs),
                        tuple(s.id for s in specs if s.severity == "warning"))


@dataclass(frozen=True)
class _Values:
    typed: dict[str, pa.Array]
    ok: dict[str, np.ndarray]
    days: dict[str, np.ndarray]
    cents: dict[str, np.ndarray]
    truth: dict[str, np.ndarray]

    def equals(self, name: str, value: str) -> np.ndarray:
        return _np(pc.equal(self.typed[name], value))

    def true(self, name: str) -> np.ndarray:
        return self.truth[name] & self.ok[name]


def _cross_rule(kind: str, args: tuple[str, ...], v: _Values, county_code: str) -> tuple[np.ndarray, np.ndarray]:
    """(ok, applicable) of a cross-field rule of contract.py."""
    if kind == "date_order":
        first, then = args
        return v.days[then] >= v.days[first], v.ok[first] & v.ok[then]
    if kind == "required_unless":
        field_, cond, value = args
        return v.ok[field_] | v.equals(cond, value), v.ok[cond]
    if kind == "amount_only_for":
        type_field, value, *amounts = args
        has_amount = np.zeros(len(v.ok[type_field]), bool)
        for a in amounts:
            has_amount |= v.ok[a] & (v.cents[a] != 0)
        return v.equals(type_field, value) | ~has_amount, v.ok[type_field]
    if kind == "major_needs_review":
        major, decided, review = args
        return v.true(review), v.true(major) & v.ok[decided] & v.ok[review]
    if kind == "court_case_number":
        (field_,) = args
        return _np(pc.match_substring_regex(v.typed[field_], _court_re2(county_code))), v.ok[field_]
    raise ValueError(f"unknown rule kind {kind}")  # pragma: no cover


@lru_cache(maxsize=64)
def _court_re2(county_code: str) -> str:
    """The 案号 pattern of ``_COURT`` for RE2, with the province abbreviation of the county in its place.

    Python's ``$`` also matches before a final newline: ``\\n?\\z`` says the same in RE2. An unknown province
    (``?``) can never be matched, as with ``_COURT`` (whose province character is a CJK ideograph).
    """
    abbr = PROVINCE_ABBREVIATIONS.get(county_code[:2], "?")
    if not re.fullmatch("[\u4e00-\u9fa5]", abbr):
        return r"\A\b\B"  # never matches
    types = "|".join(sorted(COURT_CASE_TYPES, key=len, reverse=True))
    return r"^[（(][0-9]{4}[）)]" + re.escape(abbr) + r"[0-9]{0,6}(?:" + types + r")[0-9]{1,6}号\n?\z"


def compute_rules(raw: pd.DataFrame, rt: RecordType, county_code: str, business_date: date,
                  known_ids: dict[str, set[str]] | None = None) -> Checked:
    """:func:`check_batch` for a pandas frame of raw strings (the contract's columns, ``_row_number``), with the
    result as pandas: typed values (dates and timestamps as datetime64[us], money as Float64, booleans as
    ``boolean``, text as ``string``) and one nullable-boolean rule column per rule id (NA = not applicable).

    ``known_ids``: per referenced record type, the record ids of the county known in the warehouse or the same
    night (sets or Arrow arrays); without it the cross-record (warning) rules are not applicable.
    """
    columns = {}
    for c in raw.columns:
        s = raw[c]
        if c == "_row_number":
            try:
                columns[c] = pa.array(s.to_numpy(dtype=np.int64))
            except (TypeError, ValueError):  # not row numbers: typed rows take the raw values as they are
                pass
        else:
            arr = pa.array(s.astype("string"), from_pandas=True)
            columns[str(c)] = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    batch = pa.table(columns) if columns else pa.table({"_row_number": pa.array([], pa.int64())})
    if len(raw) and "_row_number" not in columns:
        batch = batch.append_column("_row_number", pa.array(np.arange(1, len(raw) + 1)))
    known = None if known_ids is None else {
        k: (v if isinstance(v, (pa.Array, pa.ChunkedArray)) else pa.array(sorted(v), type=pa.string()))
        for k, v in known_ids.items()}
    checked = check_batch(batch, rt, county_code, business_date, known_ids=known)
    typed = _typed_frame(checked.typed, rt, raw.index)
    if "_row_number" in raw.columns:
        typed[SOURCE_ROW] = raw["_row_number"].to_numpy()
    return Checked(typed, _rules_frame(checked, raw.index), checked.failed, checked.warning_rules, batch=checked)


def _typed_frame(typed: pa.Table, rt: RecordType, index: pd.Index) -> pd.DataFrame:
    out = {}
    for f in rt.fields:
        a = typed.column(f.name)
        if f.type == DATE:
            s = pd.Series(a.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False), index=index)
        elif f.type == TIMESTAMP:
            s = pd.Series(a.to_pandas(), index=index)
        elif f.type == MONEY:
            s = pd.Series(_money_floats(a), index=index)
        elif f.type == BOOL:
            s = pd.Series(pd.array(a, dtype="boolean"), index=index)
        else:
            s = pd.Series(pd.array(a, dtype="string"), index=index)
        out[f.name] = s
    frame = pd.DataFrame(out, index=index)
    frame[SOURCE_ROW] = typed.column(SOURCE_ROW).to_numpy().astype(np.int64)
    return frame


def _money_floats(amounts) -> pd.arrays.FloatingArray:
    """decimal128(14, 2) as Float64, correctly rounded (cents / 100, as float('12.34') reads the text; Arrow's
    decimal-to-float cast is off by one unit in the last place on values such as 1.15)."""
    a = arrow_text.as_array(amounts)
    if not len(a):
        return pd.array([], dtype="Float64")
    words = np.frombuffer(a.buffers()[1], dtype=np.int64)[2 * a.offset: 2 * (a.offset + len(a))]
    return pd.arrays.FloatingArray(words[0::2] / 100.0, ~arrow_text.valid_mask(a))


def _rules_frame(checked: CheckedBatch, index: pd.Index) -> pd.DataFrame:
    m = checked.rules
    return pd.DataFrame({rule: pd.arrays.BooleanArray(m[:, j] == PASS, m[:, j] == NOT_APPLICABLE)
                         for j, rule in enumerate(checked.rule_ids)}, index=index)


@lru_cache(maxsize=4096)
def _townships(county_code: str) -> frozenset[str]:
    return frozenset(divisions.townships_of(county_code))


# --- Great Expectations --------------------------------------------------------------------------------------


def gx_root() -> Path:
    """The Great Expectations project root: GX keeps suites, results and Data Docs in <data>/gx/."""
    return settings.data_dir()


@contextmanager
def _gx_lock():
    """Mapped tasks run in parallel processes that share one GX file project: set-up and docs are serialized."""
    root = gx_root() / "gx"
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@lru_cache(maxsize=4)
def _gx_context(root: str):
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    with _gx_lock():
        ctx = gx.get_context(mode="file", project_root_dir=root)
        if ctx.variables.progress_bars != ProgressBarsConfig(globally=False):
            ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
            ctx.variables.save()
        data_docs_site.configure(ctx)  # offline Data Docs: local assets, the file's page (data_docs_site/)
    return ctx


@lru_cache(maxsize=16)
def _validation_definition(rt: RecordType, root: str):
    """Set up (or reuse) the suite and validation definition of a record type in the shared GX file project.

    Mapped tasks run in parallel processes; each set-up used to rewrite the suite, which made GX refuse every
    other process's definition ("ExpectationSuite ... has changed since it has last been saved") on the next
    run. The suite carries a fingerprint of the rules it was built from: an equal stored suite is reused as it
    is, and only a changed contract rewrites it (under the lock).
    """
    import great_expectations as gx
    import great_expectations.expectations as gxe

    ctx = _gx_context(root)
    expectations = [dict(
        column=RULE_PREFIX + spec.id, value_set=[PASS, NOT_APPLICABLE], description=spec.description,
        severity="critical" if spec.severity == "error" else "warning",
        meta={"rule": spec.id, "field": spec.field, "record_type": rt.name, "severity": spec.severity,
              "values": RULE_VALUES}) for spec in rule_specs(rt)]
    fingerprint = hashlib.sha256(json.dumps(expectations, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    suite_name, vd_name = f"{rt.name}_contract_v1", f"{rt.name}_file_validation"
    with _gx_lock():
        try:
            datasource = ctx.data_sources.get("county_files")
        except (KeyError, ValueError):
            datasource = ctx.data_sources.add_pandas("county_files")
        batch = _batch(_asset(datasource, rt.name), f"{rt.name}_file")
        try:
            stored = ctx.validation_definitions.get(vd_name)
        except Exception:  # noqa: BLE001 - GX raises several kinds for "not there" / "not readable"
            stored = None
        if stored is not None and stored.suite.meta.get("rules_fingerprint") == fingerprint:
            return stored
        suite = gx.ExpectationSuite(name=suite_name, meta={"record_type": rt.name, "zh": rt.zh,
                                                           "rules_fingerprint": fingerprint})
        for e in expectations:
            suite.add_expectation(gxe.ExpectColumnValuesToBeInSet(**e))
        suite = ctx.suites.add_or_update(suite)
        return ctx.validation_definitions.add_or_update(
            gx.ValidationDefinition(name=vd_name, data=batch, suite=suite))


def _asset(datasource, name: str):
    try:
        return datasource.get_asset(name)
    except LookupError:
        return datasource.add_dataframe_asset(name)


def _batch(asset, name: str):
    try:
        return asset.get_batch_definition(name)
    except (KeyError, LookupError, ValueError):
        return asset.add_batch_definition_whole_dataframe(name)


def validation_definition(rt: RecordType):
    """The GX suite for a record type (one expectation per rule), cached per process."""
    _hoist_gx_kwargs_once()
    return _validation_definition(rt, str(gx_root()))


def rule_frame(rules: np.ndarray, rt: RecordType) -> pd.DataFrame:
    """The rule matrix as the frame GX validates: one int8 column ``rule__<id>`` per rule, all in ONE block over
    the matrix's memory (no copy per column).

    GX's pandas engine filters the whole frame on every map expectation (``df[df[col].notnull()]``): over one
    consolidated int8 block that costs a fraction of what 50 separate nullable-boolean columns cost.
    """
    ids = [s.id for s in rule_specs(rt)]
    if rules.ndim != 2 or rules.shape[1] != len(ids):
        raise ValueError(f"{rt.name}: a rule matrix has {len(ids)} columns (one per rule), got {rules.shape}")
    if rules.dtype != np.int8:
        raise TypeError(f"the rule matrix is int8, got {rules.dtype}")
    # Fortran order: the (rules, rows) block pandas keeps is then the matrix's own memory
    return pd.DataFrame(np.asfortranarray(rules), columns=[RULE_PREFIX + i for i in ids], copy=False)


_FINGERPRINT = {"lock": threading.Lock(), "runs": 0, "saved": None}


@contextmanager
def _without_gx_data_fingerprint(skip: bool = True):
    """GX md5-hashes every pandas batch under 1 GB for a ``pandas_data_fingerprint`` batch marker: ~40 % of a run
    over a million-row rule matrix, for a marker that says nothing here (the run name carries the file's
    sha256). Skipped while runs are under way (``HASH_THRESHOLD`` = 0, restored by the last one to finish;
    concurrent runs in threads are not serialized). If GX renames the setting, nothing is skipped."""
    import great_expectations.execution_engine.pandas_execution_engine as engine

    if not skip or not hasattr(engine, "HASH_THRESHOLD"):
        yield
        return
    state = _FINGERPRINT
    with state["lock"]:
        if state["runs"] == 0:
            state["saved"], engine.HASH_THRESHOLD = engine.HASH_THRESHOLD, 0
        state["runs"] += 1
    try:
        yield
    finally:
        with state["lock"]:
            state["runs"] -= 1
            if state["runs"] == 0:
                engine.HASH_THRESHOLD = state["saved"]


GX_KWARGS_PINNED = "1.24.1"  # the GX release whose Expectation kwargs methods _hoisted_* reproduce


def _hoisted_domain_kwargs(self, _config=None) -> dict:
    kwargs = (_config or self.configuration).kwargs
    return {key: kwargs.get(key, self._get_default_value(key)) for key in self.domain_keys}


def _hoisted_success_kwargs(self, _config=None) -> dict:
    config = _config or self.configuration
    domain = _hoisted_domain_kwargs(self, config)
    out = {key: config.kwargs.get(key, self._get_default_value(key)) for key in self.success_keys}
    out.update(domain)
    return out


def _hoisted_runtime_kwargs(self, runtime_configuration: dict | None = None) -> dict:
    runtime_configuration = runtime_configuration or {}
    config = self.configuration
    success = _hoisted_success_kwargs(self, config)
    kwargs = config.kwargs
    out = {}
    for key in self.runtime_keys:
        if key in runtime_configuration:
            out[key] = runtime_configuration[key]
        elif key in kwargs:
            out[key] = kwargs[key]
        elif key in self.__fields__:
            out[key] = self._get_default_value(key)  # what _get_success_kwarg returns here, without a 2nd build
        else:
            out[key] = self._get_success_kwarg(key)  # GX's own (its warning)
    out.update(success)
    out["result_format"] = _GX_ORIGINAL["parse_result_format"](out["result_format"])
    return out


def _json_serializable(data):
    """GX's ``convert_to_json_serializable``, with None answered first: GX tests a None against some twenty types
    (three ``np.issubdtype``) before returning it, for every null kwarg of every metric id it builds."""
    return None if data is None else _GX_ORIGINAL["convert_to_json_serializable"](data)


_HOISTED = {"_get_domain_kwargs": _hoisted_domain_kwargs, "_get_success_kwargs": _hoisted_success_kwargs,
            "_get_runtime_kwargs": _hoisted_runtime_kwargs}
_GX_ORIGINAL: dict = {}


@lru_cache(maxsize=1)
def _hoist_gx_kwargs_once() -> bool:
    return hoist_gx_kwargs()


def hoist_gx_kwargs(on: bool = True) -> bool:
    """GX 1.24's ``Expectation`` rebuilds its whole ``configuration`` (a pydantic ``dict()``, a regex, a new
    ExpectationConfiguration) for every key it reads in ``_get_domain/_success/_runtime_kwargs``, ~80 times per
    expectation per run: about a third of a run's CPU, whatever the rows (a 1,000-row file: 0.46 s -> 0.33 s per
    run; a national night runs it 11,912 times). These replacements read it once per call and return the same
    dicts; GX's ``convert_to_json_serializable`` answers None first (:func:`_json_serializable`). Only on the
    release they were written against (else GX's own are kept, and a unit test says so). Returns whether they
    are in place."""
    import great_expectations as gx
    import great_expectations.util as gx_util
    from great_expectations.expectations.expectation import Expectation, parse_result_format

    if on and gx.__version__ != GX_KWARGS_PINNED:
        return False
    if on and not _GX_ORIGINAL:
        _GX_ORIGINAL.update({name: Expectation.__dict__[name] for name in _HOISTED})
        _GX_ORIGINAL["parse_result_format"] = parse_result_format  # imported once, not on every call
        # the module global: GX's recursion into nested values (where the None kwargs are) goes through it
        _GX_ORIGINAL["convert_to_json_serializable"] = gx_util.convert_to_json_serializable
        for name, fn in _HOISTED.items():
            setattr(Expectation, name, fn)
        gx_util.convert_to_json_serializable = _json_serializable
    elif not on and _GX_ORIGINAL:
        for name in _HOISTED:
            setattr(Expectation, name, _GX_ORIGINAL[name])
        gx_util.convert_to_json_serializable = _GX_ORIGINAL["convert_to_json_serializable"]
        _GX_ORIGINAL.clear()
    return bool(_GX_ORIGINAL)


def run_gx_rules(rules: np.ndarray, rt: RecordType, run_name: str | None = None,
                 run_time: datetime | None = None, *, data_fingerprint: bool = False,
                 rows: pd.DataFrame | None = None, meta: dict | None = None) -> dict:
    """Run the suite over an int8 rule matrix (``CheckedBatch.rules``); return a compact, JSON-able result and
    cross-check the split: every rule's GX unexpected count must equal its number of ``FAIL`` values.

    The full GX result is kept in the GX project's validation store under ``run_name`` (one per county file,
    so a re-run rewrites the same result) and rendered into Data Docs by :func:`build_data_docs`.
    ``data_fingerprint``: let GX hash the matrix for its batch marker (see :func:`_without_gx_data_fingerprint`).
    ``rows``: the rows' ``row_number`` (as a spreadsheet shows it) and ``record_id``, so GX lists each broken
    rule's failing rows; ``meta``: the file and its ledger counts, kept in the stored result (its Data Docs page).
    """
    from great_expectations.core.run_identifier import RunIdentifier

    frame = rule_frame(rules, rt)
    result_format = {"result_format": "BASIC", "partial_unexpected_count": 5}
    if rows is not None and not rules.all():  # a rule broken somewhere (FAIL = 0): GX lists its rows (~0.25 s)
        frame[ROW_COLUMNS] = rows[ROW_COLUMNS].set_axis(frame.index)
        result_format = {"result_format": "SUMMARY", "partial_unexpected_count": DOCS_FAILING_ROWS,
                         "unexpected_index_column_names": ROW_COLUMNS}
    column = {s.id: j for j, s in enumerate(rule_specs(rt))}
    run_id = RunIdentifier(run_name=run_name, run_time=run_time) if run_name else None
    with _without_gx_data_fingerprint(skip=not data_fingerprint):
        res = validation_definition(rt).run(batch_parameters={"dataframe": frame}, run_id=run_id,
                                            result_format=result_format)
    per_rule = {}
    for r in res.results:
        rule = r.expectation_config.meta["rule"]
        if r.exception_info and r.exception_info.get("raised_exception"):
            raise RuntimeError(f"GX failed on {rule}: {r.exception_info.get('exception_message')}")
        values = rules[:, column[rule]]
        count = int(r.result.get("unexpected_count") or 0)
        ours = int(np.count_nonzero(values == FAIL))
        if count != ours:
            raise RuntimeError(f"GX counted {count} failures of {rule}, the split {ours}: refusing to load")
        per_rule[rule] = {"success": bool(r.success), "unexpected_count": count,
                          "not_applicable": int(np.count_nonzero(values == NOT_APPLICABLE)),
                          "severity": r.expectation_config.meta.get("severity", "error"),
                          "element_count": int(r.result.get("element_count") or 0)}
    missing = set(column) - set(per_rule)
    if missing:
        raise RuntimeError(f"the GX suite has no expectation for rule(s) {sorted(missing)}: refusing to load")
    rid = res.meta["run_id"]
    if meta and rid.run_name:  # the result is stored by run(): stored again with the file's meta
        _store_with_meta(res, meta, rt, rid)
    page = _page_path(f"{rt.name}_contract_v1", rid, f"county_files-{rt.name}") if rid.run_name else None
    return {"suite": f"{rt.name}_contract_v1", "success": bool(res.success), "data_docs_page": page and str(page),
            "statistics": {k: (float(v) if v is not None else None) for k, v in res.statistics.items()},
            "rules": per_rule}


ROW_COLUMNS = ["row_number", "record_id"]  # GX's unexpected_index_column_names: the failing rows on a page
DOCS_FAILING_ROWS = 200  # failing rows listed per broken rule (the ledger's quarantine has every one)


def _store_with_meta(res, meta: dict, rt: RecordType, rid) -> None:
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    res.meta.update(meta)
    key = ValidationResultIdentifier(ExpectationSuiteIdentifier(f"{rt.name}_contract_v1"), rid,
                                     f"county_files-{rt.name}")
    _gx_context(str(gx_root())).validation_results_store.set(key, res)


def run_gx(checked: Checked | CheckedBatch, rt: RecordType, run_name: str | None = None,
           run_time: datetime | None = None) -> dict:
    """:func:`run_gx_rules` over the rule matrix of a :class:`Checked` or :class:`CheckedBatch`."""
    if isinstance(checked, CheckedBatch):
        return run_gx_rules(checked.rules, rt, run_name, run_time)
    ids = [s.id for s in rule_specs(rt)]
    if list(checked.rules.columns) != ids:
        raise ValueError(f"{rt.name}: the rule columns are not the rules of the contract")
    return run_gx_rules(checked.rule_matrix(), rt, run_name, run_time)


class _KeySet(list):
    """The keys to render, as GX wants them (a list), with a set's ``in``: GX's site builder asks
    ``key not in resource_identifiers`` for every stored result, and on a list that is quadratic (a national
    night's 11,912 results: 71M key comparisons per section, each building two tuples: most of ``summarize``'s
    28 minutes; 6.8 minutes with this)."""

    def __init__(self, keys=()):
        super().__init__(keys)
        self._members = set(self)

    def __contains__(self, key) -> bool:
        return key in self._members


class _Selection(_KeySet):
    """A selection that is never taken for "everything": GX renders every stored result when handed an empty
    (falsy) list of keys, so an empty selection here stays truthy and renders nothing."""

    def __bool__(self) -> bool:
        return True


def _site() -> Path:
    return gx_root() / "gx" / "uncommitted" / "data_docs" / "local_site"


def _page_path(suite: str, run_id, batch_identifier: str) -> Path:
    """Where GX's local site puts the page of a validation result."""
    return (_site() / "validations" / suite / run_id.run_name / run_id.run_time.strftime("%Y%m%dT%H%M%S.%fZ")
            / f"{batch_identifier}.html")


def _page(key) -> Path:
    return _page_path(key.expectation_suite_identifier.name, key.run_id, key.batch_identifier)


def _night_keys(ctx, business_date, counties=None) -> list:
    """The stored results of a business date (run names ``<county>-<date>-…``), of these counties if given."""
    tag = f"-{business_date}-"
    prefixes = tuple(f"{c}{tag}" for c in counties) if counties is not None else None
    return [k for k in ctx.validation_results_store.list_keys()
            if (name := k.run_id.run_name or "") and (name.startswith(prefixes) if prefixes is not None else tag in name)]


def render_data_docs_pages(business_date: date | str, counties: list[str]) -> int:
    """Render the Data Docs pages of these counties' results of a business date, without the index: each
    ``load_shard`` renders its own pages (in parallel with the other shards), ``summarize`` only the index.
    Returns the number of pages rendered."""
    ctx = _gx_context(str(gx_root()))
    with _gx_lock():
        keys = _night_keys(ctx, business_date, counties)
        if keys:
            ctx.build_data_docs(resource_identifiers=_Selection(keys), build_index=False)
    return len(keys)


def index_results() -> int:
    """How many validation results (the newest by run time, i.e. by file received) the Data Docs index lists."""
    return int(os.environ.get("SUPERVISION_DATA_DOCS_INDEX_RESULTS", 20_000))


@contextmanager
def _index_limited(ctx, limit: int):
    """GX's index builder reads back every stored result to list it (3.6 ms each here): capped at the ``limit``
    newest, the index costs the same on the 300th night as on the first. The cap is set in the context's
    variables for this call only (GX applies it to page rendering too: pages are rendered without it)."""
    sites = ctx.variables.data_docs_sites
    capped = {name: {**cfg, "site_index_builder": {**cfg.get("site_index_builder", {
        "class_name": "DefaultSiteIndexBuilder"}), "validation_results_limit": limit}} for name, cfg in sites.items()}
    ctx.variables.data_docs_sites = capped
    try:
        yield
    finally:
        ctx.variables.data_docs_sites = sites


def build_data_docs(business_date: date | str | None = None, counties: list[str] | None = None) -> Path:
    """Render Data Docs and return the site's index.html: for one business date's validation results only (run
    names ``<county>-<date>-…``) when given (of these counties if given: another registry's run of the same
    date renders its own pages), else for every stored result. A night renders its own pages, so the
    nightly cost does not grow with the results of earlier nights; pages its shards already rendered
    (:func:`render_data_docs_pages`) are not rendered again. The index lists the newest
    :func:`index_results` results (every older page stays where it is, linked from the ledger)."""
    ctx = _gx_context(str(gx_root()))
    with _gx_lock():
        if business_date is None:
            ctx.build_data_docs()
        else:
            keys = _night_keys(ctx, business_date, counties)
            if keys:
                ctx.build_data_docs(resource_identifiers=_Selection(k for k in keys if not _page(k).exists()),
                                    build_index=False)
            with _index_limited(ctx, index_results()):
                ctx.build_data_docs(resource_identifiers=_Selection(), build_index=True)
    return _site() / "index.html"
