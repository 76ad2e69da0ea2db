"""Test helpers: read simulated files back independently, and a plain per-row reference of the rules.

The reference states the rules as the brief and domain write them (null skips every check but required);
the simulator's truth must agree with it row by row.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from datetime import date
from functools import cache
from pathlib import Path

import openpyxl
import pandas as pd

from supervision import divisions
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
    TIMESTAMP,
    USCC,
    RecordType,
)
from supervision.identifiers import ric_valid, uscc_valid

DAY = date(2026, 11, 22)  # business date of the shared simulated nights
CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gbk"}


def read_rows(path: Path, encoding: str = "utf-8") -> list[dict[str, str | None]]:
    """Rows of a simulated file as strings (None for empty), in file order."""
    data = path.read_bytes()
    ext = path.suffix.lstrip(".")
    if ext == "csv":
        text = data.decode(CODECS[encoding])
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        return [{h: (v.strip() or None) for h, v in zip(header, r, strict=True)} for r in reader]
    if ext == "json":
        out = []
        for rec in json.loads(data.decode("utf-8")):
            out.append({k: None if v is None else ("true" if v else "false") if isinstance(v, bool) else str(v)
                        for k, v in rec.items()})
        return out
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    rows = wb.worksheets[0].iter_rows(values_only=True)
    header = list(next(rows))
    out = []
    for r in rows:
        vals = list(r) + [None] * (len(header) - len(r))
        for v in vals:
            assert v is None or isinstance(v, str), f"{path}: non-text cell {v!r}"
        out.append(dict(zip(header, vals, strict=True)))
    return out


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MONEY = re.compile(r"^-?\d+(\.\d{1,2})?$")
_TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)$")


def parse_date(v: str | None) -> date | None:
    if v is None or not _DATE.match(v):
        return None
    try:
        return date.fromisoformat(v)
    except ValueError:
        return None


def _format_ok(ftype: str, v: str) -> bool:
    if ftype == DATE:
        return parse_date(v) is not None
    if ftype == TIMESTAMP:
        return bool(_TS.match(v))
    if ftype == MONEY:
        return bool(_MONEY.match(v))
    if ftype == BOOL:
        return v in BOOL_TRUE or v in BOOL_FALSE
    if ftype == CODE6:
        return bool(re.fullmatch(r"\d{6}", v))
    if ftype == CODE9:
        return bool(re.fullmatch(r"\d{9}", v))
    return True


def _valid_columns(rt: RecordType, rows: list[dict], not_after: date) -> dict[tuple[str, str], list[bool]]:
    """(field, "uscc"|"ric") -> validity of each row's value, computed once per file (vectorised)."""
    out = {}
    for f in rt.fields_of_type(USCC, RIC, PARTY_ID):
        values = pd.Series([r.get(f.name) or "" for r in rows], dtype="string")
        out[(f.name, "uscc")] = uscc_valid(values).fillna(False).tolist()
        out[(f.name, "ric")] = ric_valid(values, not_after=not_after.isoformat()).fillna(False).tolist()
    return out


@cache
def _towns(county: str) -> frozenset[str]:
    return frozenset(divisions.townships_of(county))


def court_case_pattern(county_code: str) -> re.Pattern:
    abbr = PROVINCE_ABBREVIATIONS[county_code[:2]]
    kinds = "|".join(sorted(COURT_CASE_TYPES, key=len, reverse=True))
    return re.compile(rf"^[（(]\d{{4}}[）)]{abbr}\d{{0,6}}({kinds})\d{{1,6}}号$")  # as validation: serial 1-6 digits


def failures(rt: RecordType, rows: list[dict], submitter: str, business_date: date) -> list[set[str]]:
    """Per row, the set of rule ids it fails."""
    towns = _towns(submitter)
    ids = Counter(r.get("record_id") for r in rows if r.get("record_id") is not None)
    court = court_case_pattern(submitter)
    valid = _valid_columns(rt, rows, business_date)
    out = []
    for i, r in enumerate(rows):
        fails = set()
        for f in rt.fields:
            v = r.get(f.name)
            if v is None:
                if f.required:
                    fails.add(f"{f.name}.required")
                continue
            if f.type == ENUM and v not in f.enum:
                fails.add(f"{f.name}.enum")
            if not _format_ok(f.type, v):
                fails.add(f"{f.name}.format")
                continue
            if f.max_length and len(v) > f.max_length:
                fails.add(f"{f.name}.max_length")
            if f.type == USCC and not valid[(f.name, "uscc")][i]:
                fails.add(f"{f.name}.identifier")
            if f.type == RIC and not valid[(f.name, "ric")][i]:
                fails.add(f"{f.name}.identifier")
            if f.type == PARTY_ID:
                kind = r.get(f.kind_field)
                if ((kind == "person" and not valid[(f.name, "ric")][i])
                        or (kind == "organization" and not valid[(f.name, "uscc")][i])):
                    fails.add(f"{f.name}.identifier")
            if f.type == MONEY and float(v) < 0:
                fails.add(f"{f.name}.non_negative")
            if f.type == DATE and parse_date(v) > business_date:
                fails.add(f"{f.name}.not_future")
            if f.type == CODE9 and v not in towns:
                fails.add(f"{f.name}.in_county")
            if f.name == "county_code" and v != submitter:
                fails.add("county_code.matches_submitter")
            if f.name == "record_id" and ids[v] > 1:
                fails.add("record_id.unique_in_file")
        for rule in rt.rules:
            a = rule.args
            if rule.kind == "required_unless":
                broken = r.get(a[0]) is None and r.get(a[1]) != a[2]
            elif rule.kind == "date_order":
                x, y = parse_date(r.get(a[0])), parse_date(r.get(a[1]))
                broken = x is not None and y is not None and y < x
            elif rule.kind == "amount_only_for":
                broken = r.get(a[0]) != a[1] and any(r.get(m) is not None for m in a[2:])
            elif rule.kind == "major_needs_review":
                broken = (r.get(a[0]) in BOOL_TRUE and parse_date(r.get(a[1])) is not None
                          and r.get(a[2]) not in BOOL_TRUE)
            elif rule.kind == "court_case_number":
                broken = r.get(a[0]) is not None and not court.match(r[a[0]])
            else:
                raise AssertionError(f"reference has no check for rule kind {rule.kind}")
            if broken:
                fails.add(rule.id)
        out.append(fails)
    return out
