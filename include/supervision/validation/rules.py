"""The rule catalogue: every rule of the contract as a :class:`RuleSpec` (id, field, description, severity), the
values of the rule matrix, the text patterns the rules share, and the schema check (:class:`SchemaDrift`).

Rule ids: ``<field>.required | .enum | .format | .max_length | .identifier | .non_negative | .not_future``,
``township_code.in_county``, ``county_code.matches_submitter``, ``record_id.unique_in_file`` and the
cross-field ``Rule.id``s of contract.py.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from supervision.contract import (
    BOOL,
    CODE6,
    CODE9,
    COURT_CASE_TYPES,
    DATE,
    ENUM,
    MONEY,
    PARTY_ID,
    RIC,
    TIMESTAMP,
    USCC,
    RecordType,
)

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
    for m in list(missing):
        close = difflib.get_close_matches(m, added, n=1, cutoff=0.75)
        if close:
            renamed[m] = close[0]
            missing.remove(m)
            added.remove(close[0])
    raise SchemaDrift(missing, added, renamed)


PASS, FAIL, NOT_APPLICABLE = 1, 0, 2  # values of the rule matrix (int8)
RULE_VALUES = "1 = passes, 2 = not applicable, 0 = breaks the rule"
