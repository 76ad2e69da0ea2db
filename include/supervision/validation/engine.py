"""The rule engine: every rule of the contract over one Arrow batch, as an int8 rule matrix.

How it works (and why): :func:`check_batch` types the raw strings of an Arrow batch and evaluates every rule
of the contract, vectorised with pyarrow.compute and numpy (both release the GIL, so loading can run in another
thread). The outcome is an int8 *rule matrix*, one column per rule id: ``PASS`` (1), ``FAIL`` (0) or
``NOT_APPLICABLE`` (2, e.g. a date-order rule when a date is missing). The row split reads the matrix, and
Great Expectations checks the same matrix (validation.gx_run), so the split can never disagree with what GX
reported.

The pandas view of it lives with the tests (tests/unit/validation_compat.py).

Keys (``record_id``, ``related_*_id``) are checked in NFKC form (``identifiers.record_key``): the typed rows, and
so the warehouse, hold the normalised key; the batch itself (landed raw, quarantined as received) is untouched.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from supervision import arrow_text, divisions
from supervision.arrow_text import duplicated as _duplicated
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
from supervision.validation.rules import _MONEY, FAIL, NOT_APPLICABLE, RuleSpec, check_schema, rule_specs


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



@lru_cache(maxsize=4096)
def _townships(county_code: str) -> frozenset[str]:
    return frozenset(divisions.townships_of(county_code))

