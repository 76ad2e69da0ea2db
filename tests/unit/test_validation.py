"""Every contract rule, table-driven: one valid row per record type, then one bad row per rule id.

A bad row must fail exactly its rule (set equality), so a rule that fires too often or too rarely is caught,
and ``test_table_covers_every_rule`` fails CI when a rule is added to the contract without a row here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from supervision import divisions
from supervision.arrow_text import duplicate_ids
from supervision.arrow_text import duplicated as _duplicated
from supervision.contract import (
    BOOL,
    CODE6,
    CODE9,
    DATE,
    ENUM,
    MONEY,
    PARTY_ID,
    RECORD_TYPES,
    RIC,
    TEXT,
    TIMESTAMP,
    USCC,
    RecordType,
)
from supervision.identifiers import make_ric, make_uscc, record_key, record_keys
from supervision.sources import RawBatch
from supervision.validation import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    CheckedBatch,
    SchemaDrift,
    check_batch,
    rule_frame,
    rule_specs,
    run_gx,
    run_gx_rules,
    validation_definition,
)

sys.path.insert(0, str(Path(__file__).parent))  # the pandas view of the rule engine, for these tests only
from validation_compat import compute_rules  # noqa: E402

BUSINESS_DATE = date(2026, 11, 22)
COUNTY = "411002"  # 魏都区, 许昌市
TOWNSHIP = "411002001"
OTHER_COUNTY = "411003"  # 建安区, same city
OTHER_TOWNSHIP = "411003001"
TOMORROW = "2026-11-23"

AGENCY = make_uscc("11", COUNTY, "00593841")
COMPANY = make_uscc("91", COUNTY, "MA3X7Q2K")
PERSON = make_ric(COUNTY, "19800101", "001")


def wrong_check(code: str) -> str:
    """The same code with another last character (0 for X is fine for both standards)."""
    return code[:17] + ("1" if code[17] != "1" else "2")


BAD_USCC = wrong_check(AGENCY)
BAD_RIC = wrong_check(PERSON)


def test_fixture_codes_are_real():
    assert divisions.division(COUNTY)["name"] == "魏都区"
    assert TOWNSHIP in divisions.townships_of(COUNTY)
    assert OTHER_TOWNSHIP in divisions.townships_of(OTHER_COUNTY)
    assert OTHER_TOWNSHIP not in divisions.townships_of(COUNTY)


# --- one fully valid row per record type ---------------------------------------------------------------------

VALID: dict[str, dict[str, str | None]] = {
    "enforcement_cases": {
        "record_id": "ZF-2026-0001", "county_code": COUNTY, "updated_at": "2026-11-22T18:30:00+08:00",
        "case_number": "许魏市监罚〔2026〕15号", "township_code": TOWNSHIP, "agency_code": AGENCY,
        "agency_name": "许昌市魏都区市场监督管理局", "action_type": "penalty", "domain": "market_regulation",
        "party_type": "person", "party_id": PERSON, "party_name": "张三",
        "filed_date": "2026-10-08", "decided_date": "2026-11-02", "closed_date": "2026-11-20", "status": "closed",
        "fine_amount": "5000.00", "confiscated_amount": "0", "is_major": "true", "legal_review_done": "true",
        "full_process_recorded": "true", "publicized_date": "2026-11-05",
    },
    "reconsideration_cases": {
        "record_id": "FY-2026-0007", "county_code": COUNTY, "updated_at": "2026-11-22T09:00:00+08:00",
        "case_number": "许魏政复〔2026〕7号", "respondent_agency_code": AGENCY,
        "respondent_agency_name": "许昌市魏都区市场监督管理局", "applicant_type": "organization",
        "applicant_id": COMPANY, "applicant_name": "许昌某某商贸有限公司", "received_date": "2026-09-01",
        "accepted_date": "2026-09-03", "decided_date": "2026-10-30", "procedure": "normal", "extended": "false",
        "outcome": "revoked", "related_enforcement_id": "ZF-2026-0001",
    },
    "litigation_cases": {
        "record_id": "SS-2026-0003", "county_code": COUNTY, "updated_at": "2026-11-21T16:00:00Z",
        "court_case_number": "（2026）豫1002行初123号", "defendant_agency_code": AGENCY,
        "defendant_agency_name": "许昌市魏都区市场监督管理局", "plaintiff_type": "person", "plaintiff_id": PERSON,
        "plaintiff_name": "张三", "trial_level": "first", "filed_date": "2026-08-10", "hearing_date": "2026-09-15",
        "head_appearance_required": "是", "head_appeared": "1", "judgment_date": "2026-10-20", "outcome": "lost",
        "related_reconsideration_id": "FY-2026-0007", "related_enforcement_id": "ZF-2026-0001",
        "judicial_suggestion": "true", "suggestion_replied_date": "2026-11-10",
    },
    "complaints": {
        "record_id": "TS-2026-0042", "county_code": COUNTY, "updated_at": "2026-11-22T08:00:00+08:00",
        "township_code": TOWNSHIP, "target_agency_code": AGENCY, "channel": "hotline_12345",
        "complainant_name": "李四", "complainant_id": make_ric("410102", "19751231", "002"),
        "received_date": "2026-11-01", "handled_date": "2026-11-15", "result": "substantiated", "replied": "true",
        "summary": "反映某商户无证经营",
    },
}


def row(rt: str, **overrides) -> dict[str, str | None]:
    r = dict(VALID[rt])
    unknown = set(overrides) - set(r)
    assert not unknown, f"{rt} has no field {unknown}"
    r.update(overrides)
    return r


def check(rt: str, rows: list[dict], county: str = COUNTY):
    raw = pd.DataFrame(rows, columns=RECORD_TYPES[rt].field_names, dtype="string")
    raw.insert(0, "_row_number", range(1, len(rows) + 1))
    return compute_rules(raw, RECORD_TYPES[rt], county, BUSINESS_DATE)


def failed_rules(rt: str, rows: list[dict]) -> list[set[str]]:
    """The set of failed rule ids of every row (empty set = the row passes)."""
    checked = check(rt, rows)
    out = [set() for _ in rows]
    for pos, rules in checked.failures():
        out[pos] = set(rules)
    return out


@pytest.mark.parametrize("rt", RECORD_TYPES)
def test_valid_row_passes_every_rule(rt):
    checked = check(rt, [row(rt)])
    assert checked.failures() == []
    assert not checked.failed.any()
    assert list(checked.rules.columns) == [s.id for s in rule_specs(RECORD_TYPES[rt])]
    assert checked.rules.iloc[0].eq(False).sum() == 0
    assert checked.typed["_source_row"].tolist() == [1]


def test_valid_row_is_typed():
    t = check("enforcement_cases", [row("enforcement_cases")]).typed.iloc[0]
    assert t["filed_date"] == pd.Timestamp("2026-10-08")
    assert t["updated_at"] == pd.Timestamp("2026-11-22T10:30:00Z")
    assert t["fine_amount"] == 5000 and t["is_major"] == True  # noqa: E712
    assert t["party_id"] == PERSON


# --- the table: one bad row per rule id ---------------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    rt: str
    rule: str  # the rule the row is built to break
    overrides: dict = field(default_factory=dict)
    also: frozenset[str] = frozenset()  # rules that cannot hold when `rule` breaks (documented per case)
    duplicate: bool = False  # the batch is the bad row twice (record_id.unique_in_file)
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.rt}:{self.rule}" + (f":{self.note}" if self.note else "")


def _generic_cases(rt: RecordType) -> list[Bad]:
    """A bad value per field and check, from the field's type (the bad values are the test's own)."""
    out = []
    for f in rt.fields:
        n = f.name
        if f.required:
            out.append(Bad(rt.name, f"{n}.required", {n: None}))
        if f.max_length:
            out.append(Bad(rt.name, f"{n}.max_length", {n: "长" * (f.max_length + 1)}))
        if f.type == ENUM:
            out.append(Bad(rt.name, f"{n}.enum", {n: "不在列表中"}))
        elif f.type == CODE6:
            out.append(Bad(rt.name, f"{n}.format", {n: "41100A"}))
        elif f.type == CODE9:
            out.append(Bad(rt.name, f"{n}.format", {n: "41100200"}))
        elif f.type == DATE:
            out.append(Bad(rt.name, f"{n}.format", {n: "2026-02-30"}))
            out.append(Bad(rt.name, f"{n}.not_future", {n: TOMORROW}))
        elif f.type == TIMESTAMP:
            out.append(Bad(rt.name, f"{n}.format", {n: "2026-11-22T10:00:00"}, note="no-offset"))
        elif f.type == MONEY:
            out.append(Bad(rt.name, f"{n}.format", {n: "12.345"}))
            out.append(Bad(rt.name, f"{n}.non_negative", {n: "-1"}))
        elif f.type == BOOL:
            out.append(Bad(rt.name, f"{n}.format", {n: "yes"}))
        elif f.type == USCC:
            out.append(Bad(rt.name, f"{n}.identifier", {n: BAD_USCC}))
        elif f.type == RIC:
            out.append(Bad(rt.name, f"{n}.identifier", {n: BAD_RIC}))
        elif f.type == PARTY_ID:
            person = VALID[rt.name][f.kind_field] == "person"
            out.append(Bad(rt.name, f"{n}.identifier", {n: BAD_RIC if person else BAD_USCC}))
        else:
            assert f.type == TEXT, f"no generic bad value for {f.type}: add one"
    out += [
        Bad(rt.name, "record_id.unique_in_file", {"record_id": "DUP-1"}, duplicate=True),
        Bad(rt.name, "county_code.matches_submitter", {"county_code": OTHER_COUNTY}),
    ]
    if "township_code" in rt.field_names:
        out.append(Bad(rt.name, "township_code.in_county", {"township_code": OTHER_TOWNSHIP}))
    return out


# A date that moves to tomorrow would also break the order with the next date of the row: clear that one.
_NOT_FUTURE_CLEARS = {
    ("enforcement_cases", "filed_date.not_future"): {"decided_date": None, "closed_date": None, "status": "open",
                                                      "publicized_date": None},
    ("enforcement_cases", "decided_date.not_future"): {"closed_date": None, "status": "decided"},
    ("reconsideration_cases", "received_date.not_future"): {"accepted_date": None, "decided_date": None,
                                                             "outcome": "pending"},
    ("reconsideration_cases", "accepted_date.not_future"): {"decided_date": None, "outcome": "pending"},
    ("litigation_cases", "filed_date.not_future"): {"hearing_date": None, "judgment_date": None,
                                                     "outcome": "pending", "suggestion_replied_date": None,
                                                     "judicial_suggestion": "false"},
    ("complaints", "received_date.not_future"): {"handled_date": None, "result": "pending"},
}
# The one rule pair that cannot be separated: a 案号 over 100 characters can never match the 案号 pattern
# (at most ~25 characters), so it breaks the format rule as well.
_ALSO = {("litigation_cases", "court_case_number.max_length"): frozenset({"court_case_number_format"})}


def _adjusted(case: Bad) -> Bad:
    key = (case.rt, case.rule)
    extra = _NOT_FUTURE_CLEARS.get(key, {})
    return Bad(case.rt, case.rule, {**case.overrides, **extra}, _ALSO.get(key, case.also), case.duplicate, case.note)


CROSS_FIELD = [
    # enforcement_cases
    Bad("enforcement_cases", "case_number_required_unless_inspection", {"case_number": None}),
    Bad("enforcement_cases", "decided_not_before_filed", {"decided_date": "2026-10-07"}),
    Bad("enforcement_cases", "closed_not_before_decided", {"closed_date": "2026-11-01"}),
    Bad("enforcement_cases", "amounts_only_for_penalty", {"action_type": "licensing"}, note="fine-on-licensing"),
    Bad("enforcement_cases", "amounts_only_for_penalty", {"action_type": "inspection", "fine_amount": None,
                                                          "confiscated_amount": "300"}, note="confiscation-on-inspection"),
    Bad("enforcement_cases", "major_decision_needs_legal_review", {"legal_review_done": "false"}),
    Bad("enforcement_cases", "major_decision_needs_legal_review", {"legal_review_done": "否", "status": "decided",
                                                                   "closed_date": None}, note="decided-not-closed"),
    # reconsideration_cases
    Bad("reconsideration_cases", "accepted_not_before_received", {"accepted_date": "2026-08-31"}),
    Bad("reconsideration_cases", "decided_not_before_accepted", {"decided_date": "2026-09-02"}),
    # litigation_cases
    Bad("litigation_cases", "court_case_number_format", {"court_case_number": "（2026）京0105行初123号"},
        note="other-province"),
    Bad("litigation_cases", "court_case_number_format", {"court_case_number": "(2026)鄂1002行初1号"},
        note="other-province-half-width"),
    Bad("litigation_cases", "court_case_number_format", {"court_case_number": "2026豫1002行初123号"},
        note="no-brackets"),
    Bad("litigation_cases", "court_case_number_format", {"court_case_number": "（2026）豫1002民初123号"},
        note="civil-case-type"),
    Bad("litigation_cases", "court_case_number_format", {"court_case_number": "（2026）豫1002行初123"},
        note="no-hao"),
    Bad("litigation_cases", "court_case_number_format", {"court_case_number": "〔2026〕豫1002行初123号"},
        note="hexagonal-brackets"),
    Bad("litigation_cases", "hearing_not_before_filed", {"hearing_date": "2026-08-09"}),
    Bad("litigation_cases", "judgment_not_before_filed", {"judgment_date": "2026-08-09"}),
    # complaints
    Bad("complaints", "handled_not_before_received", {"handled_date": "2026-10-31"}),
]

EXTRA = [  # more ways to break a field rule, beyond the generic bad value
    Bad("enforcement_cases", "party_id.identifier", {"party_type": "organization"}, note="person-id-for-organization"),
    Bad("enforcement_cases", "party_id.identifier", {"party_id": COMPANY}, note="uscc-for-person"),
    Bad("enforcement_cases", "party_id.identifier", {"party_id": make_ric(COUNTY, "20261201", "003")},
        note="born-after-business-date"),
    Bad("reconsideration_cases", "applicant_id.identifier", {"applicant_type": "person"}, note="uscc-for-person"),
    Bad("complaints", "complainant_id.identifier", {"complainant_id": make_ric(COUNTY, "19490230", "001")},
        note="impossible-birth-date"),
    Bad("complaints", "complainant_id.identifier", {"complainant_id": COMPANY}, note="uscc"),
    Bad("enforcement_cases", "filed_date.format", {"filed_date": "2026/10/08"}, note="slashes"),
    Bad("enforcement_cases", "filed_date.format", {"filed_date": "2026-10-8"}, note="one-digit-day"),
    Bad("enforcement_cases", "filed_date.format", {"filed_date": "2026-10-08T00:00:00"}, note="timestamp"),
    Bad("enforcement_cases", "updated_at.format", {"updated_at": "2026-11-22"}, note="date-only"),
    Bad("enforcement_cases", "updated_at.format", {"updated_at": "2026-13-22T10:00:00+08:00"}, note="month-13"),
    Bad("enforcement_cases", "fine_amount.format", {"fine_amount": "5,000"}, note="thousands-separator"),
    Bad("enforcement_cases", "fine_amount.format", {"fine_amount": "¥5000"}, note="currency-sign"),
    Bad("enforcement_cases", "is_major.format", {"is_major": "对"}, note="chinese-non-bool"),
    Bad("enforcement_cases", "county_code.format", {"county_code": "4110020"}, note="seven-digits"),
    Bad("enforcement_cases", "township_code.in_county", {"township_code": "411002999"}, note="no-such-township"),
    Bad("complaints", "township_code.format", {"township_code": "411002001X"}, note="ten-chars"),
]

CASES = [_adjusted(c) for rt in RECORD_TYPES.values() for c in _generic_cases(rt)] + CROSS_FIELD + EXTRA


@cache
def table_results(rt: str) -> dict[str, list[set[str]]]:
    """All bad rows of a record type in one batch, after one valid row: case id -> failed rule ids of its row(s).

    One batch per record type keeps the table fast, and shows that a bad row never spoils its neighbours.
    """
    rows, owners = [row(rt, record_id="VALID-0")], ["valid"]
    for i, case in enumerate(c for c in CASES if c.rt == rt):
        bad = row(rt, **{"record_id": f"CASE-{i}", **case.overrides})
        rows += [bad, bad] if case.duplicate else [bad]
        owners += [case.id, case.id] if case.duplicate else [case.id]
    out: dict[str, list[set[str]]] = {}
    for owner, failed in zip(owners, failed_rules(rt, rows), strict=True):
        out.setdefault(owner, []).append(failed)
    return out


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_row_fails_exactly_its_rule(case: Bad):
    expected = {case.rule} | case.also
    assert table_results(case.rt)[case.id] == [expected] * (2 if case.duplicate else 1)


@pytest.mark.parametrize("rt", RECORD_TYPES)
def test_valid_row_among_bad_rows_still_passes(rt):
    assert table_results(rt)["valid"] == [set()]


def test_table_adjustments_are_not_stale():
    generated = {(c.rt, c.rule) for rt in RECORD_TYPES.values() for c in _generic_cases(rt)}
    assert set(_NOT_FUTURE_CLEARS) <= generated and set(_ALSO) <= generated


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("rt", RECORD_TYPES)
def test_table_covers_every_rule(rt):
    """A rule added to the contract (or to validation) without a bad row in the table fails here.

    Field checks of the existing kinds get a generic bad row from the field's type; a new kind of check or a new
    cross-field rule needs a hand-written row in CROSS_FIELD.
    """
    covered = {c.rule for c in CASES if c.rt == rt} | set(WARNING_RULES_TESTED.get(rt, ()))
    missing = [s.id for s in rule_specs(RECORD_TYPES[rt]) if s.id not in covered]
    assert not missing, f"no bad row for {rt} rule(s) {missing}: add one to the table in {__file__}"
    unknown = covered - {s.id for s in rule_specs(RECORD_TYPES[rt])}
    assert not unknown, f"the table tests rules that no longer exist: {unknown}"


def test_rule_ids_are_unique():
    for rt in RECORD_TYPES.values():
        ids = [s.id for s in rule_specs(rt)]
        assert len(ids) == len(set(ids)), rt.name


# --- values that must pass ----------------------------------------------------------------------------------

BOOLS = {"true": True, "false": False, "1": True, "0": False, "是": True, "否": False, "True": True, "FALSE": False}


@pytest.mark.parametrize("text", BOOLS)
def test_booleans_accepted(text):
    checked = check("enforcement_cases", [row("enforcement_cases", full_process_recorded=text)])
    assert checked.failures() == []
    assert checked.typed["full_process_recorded"].iloc[0] == BOOLS[text]


@pytest.mark.parametrize("amount", ["0", "0.5", "12.34", "999999999999.99", "-0"])
def test_money_accepted(amount):
    assert failed_rules("enforcement_cases", [row("enforcement_cases", fine_amount=amount)]) == [set()]


def test_money_with_three_decimals_fails_format_only():
    checked = check("enforcement_cases", [row("enforcement_cases", fine_amount="12.345")])
    assert checked.failures() == [(0, ["fine_amount.format"])]
    assert pd.isna(checked.rules["fine_amount.non_negative"].iloc[0])  # not applicable to an unreadable amount


def test_negative_money_fails_non_negative_only():
    checked = check("enforcement_cases", [row("enforcement_cases", fine_amount="-1")])
    assert checked.failures() == [(0, ["fine_amount.non_negative"])]
    assert checked.rules["fine_amount.format"].iloc[0] == True  # noqa: E712


@pytest.mark.parametrize("ts", ["2026-11-22T10:00:00+08:00", "2026-11-22T02:00:00Z", "2026-11-22 10:00+0800",
                                "2026-11-22T10:00:00.123456+08:00", "2026-11-22T10:00-05:00"])
def test_timestamps_with_offset_accepted(ts):
    assert failed_rules("complaints", [row("complaints", updated_at=ts)]) == [set()]


@pytest.mark.parametrize("ts", ["2026-11-22T10:00:00", "2026-11-22 10:00:00", "2026-11-22T10:00:00.5"])
def test_timestamp_without_offset_fails(ts):
    assert failed_rules("complaints", [row("complaints", updated_at=ts)]) == [{"updated_at.format"}]


@pytest.mark.parametrize("number", ["（2026）豫1002行初123号", "(2026)豫1002行初123号", "（2026)豫1002行终5号",
                                    "(2025）豫10行申1号", "（2026）豫1002行赔初12号", "（2026）豫行再1号"],
                         ids=["full-width", "half-width", "mixed", "intermediate-court", "compensation",
                              "no-court-digits"])
def test_court_case_numbers_accepted(number):
    assert failed_rules("litigation_cases", [row("litigation_cases", court_case_number=number)]) == [set()]


def test_court_case_number_uses_the_submitting_countys_province():
    r = row("litigation_cases", county_code="420102", court_case_number="（2026）鄂0102行初1号")
    checked = check("litigation_cases", [r], county="420102")
    assert checked.failures() == []
    other = check("litigation_cases", [row("litigation_cases", county_code="420102")], county="420102")
    assert other.failures() == [(0, ["court_case_number_format"])]  # 豫 in a Hubei county's file


def test_inspection_needs_no_case_number():
    r = row("enforcement_cases", action_type="inspection", case_number=None, fine_amount=None, confiscated_amount=None)
    assert failed_rules("enforcement_cases", [r]) == [set()]


def test_zero_amounts_are_allowed_on_any_action():
    r = row("enforcement_cases", action_type="licensing", fine_amount="0", confiscated_amount="0.00")
    assert failed_rules("enforcement_cases", [r]) == [set()]


def test_undecided_major_decision_needs_no_review_yet():
    r = row("enforcement_cases", status="open", decided_date=None, closed_date=None, publicized_date=None,
            legal_review_done="false")
    checked = check("enforcement_cases", [r])
    assert checked.failures() == []
    assert pd.isna(checked.rules["major_decision_needs_legal_review"].iloc[0])


def test_same_day_dates_pass_the_order_rules():
    r = row("enforcement_cases", filed_date="2026-11-02", decided_date="2026-11-02", closed_date="2026-11-02",
            publicized_date="2026-11-02")
    assert failed_rules("enforcement_cases", [r]) == [set()]


def test_business_date_itself_is_not_future():
    r = row("complaints", received_date="2026-11-22", handled_date="2026-11-22")
    assert failed_rules("complaints", [r]) == [set()]


def test_optional_fields_may_be_empty():
    for rt in RECORD_TYPES.values():
        optional = {f.name: None for f in rt.fields if not f.required and f.name != "case_number"}
        checked = check(rt.name, [row(rt.name, **optional)])
        assert checked.failures() == [], rt.name


# --- non-ASCII digits and hour-only offsets (regressions of bugs found by these tests) -----------------------


@pytest.mark.parametrize("amount", ["５００", "٥٠٠"], ids=["full-width", "arabic-indic"])
def test_money_with_non_ascii_digits_fails_format(amount):
    checked = check("enforcement_cases", [row("enforcement_cases", fine_amount=amount)])
    assert checked.failures() == [(0, ["fine_amount.format"])]


@pytest.mark.parametrize("field_, value", [("county_code", "４１１００２"), ("township_code", "４１１００２００１")],
                         ids=["county_code", "township_code"])
def test_division_code_with_full_width_digits_fails_format(field_, value):
    assert failed_rules("enforcement_cases", [row("enforcement_cases", **{field_: value})]) == [{f"{field_}.format"}]


def test_timestamp_with_hour_only_offset_is_accepted():
    assert failed_rules("complaints", [row("complaints", updated_at="2026-11-22 10:00:00+08")]) == [set()]


# --- not applicable: NA, never a failure -------------------------------------------------------------------

DATE_ORDER = [(rt.name, r.id, r.args) for rt in RECORD_TYPES.values() for r in rt.rules if r.kind == "date_order"]


@pytest.mark.parametrize("rt, rule, args", DATE_ORDER, ids=[f"{rt}:{rule}" for rt, rule, _ in DATE_ORDER])
@pytest.mark.parametrize("missing", ["first", "then"])
def test_date_order_not_applicable_when_a_date_is_missing(rt, rule, args, missing):
    checked = check(rt, [row(rt, **{args[0] if missing == "first" else args[1]: None})])
    assert pd.isna(checked.rules[rule].iloc[0]), checked.rules[rule].iloc[0]
    assert rule not in {r for _, rules in checked.failures() for r in rules}


def test_rules_on_an_unreadable_value_are_not_applicable():
    checked = check("enforcement_cases", [row("enforcement_cases", action_type="罚款", county_code="41100X")])
    assert {r for _, rules in checked.failures() for r in rules} == {"action_type.enum", "county_code.format"}
    for rule in ("case_number_required_unless_inspection", "amounts_only_for_penalty", "county_code.matches_submitter"):
        assert pd.isna(checked.rules[rule].iloc[0]), rule


def test_empty_batch_has_no_failures():
    checked = check("complaints", [])
    assert checked.failures() == [] and len(checked.rules) == 0 and len(checked.typed) == 0


def test_empty_json_array_is_an_empty_batch_not_schema_drift():
    raw = pd.DataFrame({"_row_number": pd.Series([], dtype="int64")})  # what the reader makes of "[]"
    checked = compute_rules(raw, RECORD_TYPES["complaints"], COUNTY, BUSINESS_DATE)
    assert checked.failures() == [] and len(checked.typed) == 0


def test_failures_report_positions_in_batch_order():
    rows = [row("complaints", record_id=f"R{i}") for i in range(5)]
    rows[1]["channel"] = "wechat"
    rows[3].update(replied=None, handled_date="2026-10-01")
    assert check("complaints", rows).failures() == [
        (1, ["channel.enum"]), (3, ["replied.required", "handled_not_before_received"])]


# --- schema drift ------------------------------------------------------------------------------------------


def raw_with(rt: str, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{c: VALID[rt].get(c, "x") for c in columns}], dtype="string")


def test_contract_columns_in_any_order_are_no_drift():
    cols = list(reversed(RECORD_TYPES["complaints"].field_names))
    compute_rules(raw_with("complaints", cols), RECORD_TYPES["complaints"], COUNTY, BUSINESS_DATE)


def test_underscore_columns_are_no_drift():
    cols = ["_row_number", "_source"] + RECORD_TYPES["complaints"].field_names
    compute_rules(raw_with("complaints", cols), RECORD_TYPES["complaints"], COUNTY, BUSINESS_DATE)


def drift(rt: str, columns: list[str]) -> SchemaDrift:
    with pytest.raises(SchemaDrift) as exc:
        compute_rules(raw_with(rt, columns), RECORD_TYPES[rt], COUNTY, BUSINESS_DATE)
    return exc.value


def test_missing_column_is_schema_drift():
    cols = [c for c in RECORD_TYPES["enforcement_cases"].field_names if c != "publicized_date"]
    e = drift("enforcement_cases", cols)
    assert (e.missing, e.added, e.renamed) == (["publicized_date"], [], {})
    assert str(e) == "schema drift: missing publicized_date"


def test_extra_column_is_schema_drift():
    e = drift("complaints", RECORD_TYPES["complaints"].field_names + ["remark"])
    assert (e.missing, e.added, e.renamed) == ([], ["remark"], {})
    assert str(e) == "schema drift: added remark"


def test_renamed_column_is_schema_drift():
    cols = [("agency_cod" if c == "agency_code" else c) for c in RECORD_TYPES["enforcement_cases"].field_names]
    e = drift("enforcement_cases", cols)
    assert (e.missing, e.added, e.renamed) == ([], [], {"agency_code": "agency_cod"})
    assert str(e) == "schema drift: renamed agency_code→agency_cod"


def test_missing_extra_and_renamed_at_once():
    cols = [c for c in RECORD_TYPES["litigation_cases"].field_names if c not in ("outcome", "head_appeared")]
    cols = [("filed_dat" if c == "filed_date" else c) for c in cols] + ["备注"]
    e = drift("litigation_cases", cols)
    assert e.renamed == {"filed_date": "filed_dat"}
    assert sorted(e.missing) == ["head_appeared", "outcome"] and e.added == ["备注"]
    for name in ("filed_date→filed_dat", "head_appeared", "outcome", "备注"):
        assert name in str(e)


def test_other_record_types_file_is_schema_drift():
    e = drift("complaints", RECORD_TYPES["reconsideration_cases"].field_names)
    assert "summary" in e.missing + list(e.renamed) and "procedure" in e.added + list(e.renamed.values())


# --- Great Expectations: the same counts as the split -------------------------------------------------------


@pytest.fixture(scope="module")
def gx_batch():
    rt = RECORD_TYPES["enforcement_cases"]
    rows = [row(rt.name, record_id=f"ZF-{i}") for i in range(8)]
    rows[1]["fine_amount"] = "-1"
    rows[2].update(decided_date="2026-10-01", legal_review_done="false")
    rows[3]["party_id"] = BAD_RIC
    rows[4]["record_id"] = rows[5]["record_id"] = "ZF-DUP"
    rows[6].update(township_code=OTHER_TOWNSHIP, is_major="maybe")
    checked = check(rt.name, rows)
    return rt, checked, run_gx(checked, rt)


def test_gx_unexpected_counts_equal_the_failures(gx_batch):
    rt, checked, result = gx_batch
    ours: dict[str, int] = {}
    for _, rules in checked.failures():
        for r in rules:
            ours[r] = ours.get(r, 0) + 1
    assert ours == {"fine_amount.non_negative": 1, "decided_not_before_filed": 1,
                    "major_decision_needs_legal_review": 1, "party_id.identifier": 1,
                    "record_id.unique_in_file": 2, "township_code.in_county": 1, "is_major.format": 1}
    assert set(result["rules"]) == {s.id for s in rule_specs(rt)}
    gx_counts = {rule: r["unexpected_count"] for rule, r in result["rules"].items() if r["unexpected_count"]}
    assert gx_counts == ours
    assert all(r["success"] == (r["unexpected_count"] == 0) for r in result["rules"].values())
    assert result["success"] is False
    assert result["suite"] == "enforcement_cases_contract_v1"


def test_gx_skips_not_applicable_values(gx_batch):
    _, checked, result = gx_batch
    # element_count is the batch; NA (not applicable) never counts as unexpected
    assert {r["element_count"] for r in result["rules"].values()} == {len(checked.rules)}
    assert checked.rules["major_decision_needs_legal_review"].isna().sum() == 1  # row 6: is_major unreadable


def test_gx_set_up_in_another_process_does_not_stale_this_ones(tmp_path, monkeypatch):
    """Parallel mapped tasks share one GX project: a second process's set-up must not make the first one's
    definition stale (GX refused it: "ExpectationSuite ... has changed since it has last been saved")."""
    import numpy as np

    from supervision import validation
    from supervision.validation import gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    rt = RECORD_TYPES["complaints"]
    root = str(validation.gx_root())
    first = gx_suite._validation_definition.__wrapped__(rt, root)  # process A
    gx_suite._gx_context.cache_clear()  # process B: its own context over the same files
    second = gx_suite._validation_definition.__wrapped__(rt, root)
    matrix = np.ones((3, len(rule_specs(rt))), dtype=np.int8)
    for definition in (first, second):
        res = definition.run(batch_parameters={"dataframe": validation.rule_frame(matrix, rt)})
        assert res.success and len(res.results) == len(rule_specs(rt))
    assert first.suite.meta["rules_fingerprint"] == second.suite.meta["rules_fingerprint"]


def test_data_docs_of_one_night_render_only_its_results(tmp_path, monkeypatch):
    import numpy as np

    from supervision import validation
    from supervision.validation import gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    gx_suite._gx_context.cache_clear()
    rt = RECORD_TYPES["complaints"]
    matrix = np.ones((3, len(rule_specs(rt))), dtype=np.int8)
    pages = {d: validation.run_gx_rules(matrix, rt, run_name=f"411002-{d}-complaints-ab{i}")["data_docs_page"]
             for i, d in enumerate(("2026-11-21", "2026-11-22"))}
    index = validation.build_data_docs("2026-11-22")
    assert index.exists() and Path(pages["2026-11-22"]).exists() and not Path(pages["2026-11-21"]).exists()


def test_shards_render_their_own_pages_and_summarize_only_the_rest_and_the_index(tmp_path, monkeypatch):
    import numpy as np

    from supervision import validation
    from supervision.validation import data_docs, gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    gx_suite._gx_context.cache_clear()
    rt = RECORD_TYPES["complaints"]
    matrix = np.ones((3, len(rule_specs(rt))), dtype=np.int8)
    pages = {c: Path(validation.run_gx_rules(matrix, rt, run_name=f"{c}-2026-11-22-complaints-ab")["data_docs_page"])
             for c in ("411002", "411003", "4110")}
    index = tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"

    assert validation.render_data_docs_pages("2026-11-22", ["411002", "411004"]) == 1  # one shard
    assert pages["411002"].exists() and not pages["411003"].exists() and not index.exists()
    assert not pages["4110"].exists()  # a prefix of a code is not that county
    rendered = pages["411002"].stat().st_mtime_ns
    keys = data_docs._night_keys(gx_suite._gx_context(str(tmp_path)), "2026-11-22", ["411002"])
    assert [Path(data_docs.page_link(k)) for k in keys] == [pages["411002"]]  # where run_gx_rules says the page is

    assert validation.build_data_docs("2026-11-22") == index  # summarize: what is missing, and the index
    assert index.exists() and pages["411003"].exists() and pages["4110"].exists()
    assert pages["411002"].stat().st_mtime_ns == rendered  # not rendered twice
    text = index.read_text(encoding="utf-8")
    assert all(f"{c}-2026-11-22-complaints-ab" in text for c in pages)

    for p in pages.values():
        p.unlink()
    index.unlink()
    validation.build_data_docs("2026-11-22")  # nothing rendered yet (every shard failed to): all of the night
    assert all(p.exists() for p in pages.values()) and index.exists()


def test_summarize_renders_only_its_own_registrys_missing_pages(tmp_path, monkeypatch):
    """Two registries' runs of the same date at once (issue 17): one run's summarize renders the missing pages of
    its own counties and the index, not the other registry's pages (its own shards and summarize render them)."""
    import numpy as np

    from supervision import validation
    from supervision.validation import gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    gx_suite._gx_context.cache_clear()
    rt = RECORD_TYPES["complaints"]
    matrix = np.ones((3, len(rule_specs(rt))), dtype=np.int8)
    pages = {c: Path(validation.run_gx_rules(matrix, rt, run_name=f"{c}-2026-11-22-complaints-ab")["data_docs_page"])
             for c in ("411002", "420102")}
    index = validation.build_data_docs("2026-11-22", ["411002", "411003"])
    assert index.exists() and pages["411002"].exists() and not pages["420102"].exists()
    validation.build_data_docs("2026-11-22", ["420102"])
    assert pages["420102"].exists()


def test_the_index_lists_the_newest_results_only_and_every_page_is_still_rendered(tmp_path, monkeypatch):
    from datetime import UTC, datetime, timedelta

    import numpy as np

    from supervision import validation
    from supervision.validation import gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPERVISION_DATA_DOCS_INDEX_RESULTS", "2")
    gx_suite._gx_context.cache_clear()
    rt = RECORD_TYPES["complaints"]
    matrix = np.ones((3, len(rule_specs(rt))), dtype=np.int8)
    received = datetime(2026, 11, 22, 20, tzinfo=UTC)
    # the oldest received first among the night's three, so GX's cap would drop it if it applied to pages
    pages = {c: Path(validation.run_gx_rules(matrix, rt, run_name=f"{c}-2026-11-22-complaints-ab",
                                             run_time=received + timedelta(minutes=i))["data_docs_page"])
             for i, c in enumerate(("411002", "411003", "411081"))}
    ctx = gx_suite._gx_context(str(tmp_path))
    sites = ctx.variables.data_docs_sites
    text = validation.build_data_docs("2026-11-22").read_text(encoding="utf-8")
    assert all(p.exists() for p in pages.values())
    assert "411002-2026-11-22" not in text and "411003-2026-11-22" in text and "411081-2026-11-22" in text
    assert ctx.variables.data_docs_sites == sites  # the cap was for that call only
    monkeypatch.setenv("SUPERVISION_DATA_DOCS_INDEX_RESULTS", "20000")
    assert "411002-2026-11-22" in validation.build_data_docs("2026-11-22").read_text(encoding="utf-8")


# --- cross-record checks: warnings, never quarantine -------------------------------------------------------

WARNING_RULES_TESTED = {
    "reconsideration_cases": ("related_enforcement_id.exists",),
    "litigation_cases": ("related_reconsideration_id.exists", "related_enforcement_id.exists"),
}


@pytest.mark.parametrize("rt, field, target", [
    ("reconsideration_cases", "related_enforcement_id", "enforcement_cases"),
    ("litigation_cases", "related_reconsideration_id", "reconsideration_cases"),
    ("litigation_cases", "related_enforcement_id", "enforcement_cases"),
], ids=lambda v: str(v))
def test_dangling_related_id_is_a_warning_not_an_error(rt, field, target):
    others = {f.name: None for f in RECORD_TYPES[rt].fields if f.references and f.name != field}
    rows = [row(rt, **others, **{field: "KNOWN-1"}), row(rt, record_id="R-2", **others, **{field: "NOWHERE-9"}),
            row(rt, record_id="R-3", **others, **{field: None})]
    raw = pd.DataFrame(rows, columns=RECORD_TYPES[rt].field_names, dtype="string")
    raw.insert(0, "_row_number", range(1, len(rows) + 1))
    known = {"enforcement_cases": {"KNOWN-1"}, "reconsideration_cases": {"KNOWN-1"}}
    checked = compute_rules(raw, RECORD_TYPES[rt], COUNTY, BUSINESS_DATE, known)
    assert checked.failures() == [], "a dangling reference never quarantines the row"
    assert len(checked.valid_rows) == 3
    assert checked.warnings() == [(1, [f"{field}.exists"])]
    assert f"{field}.exists" in checked.warning_rules


def test_related_id_rules_not_applicable_without_lookup():
    rt = "reconsideration_cases"
    checked = check(rt, [row(rt, related_enforcement_id="ANY-1")])
    assert checked.warnings() == [] and checked.failures() == []


# --- check_batch: the Arrow core -------------------------------------------------------------------------------


def arrow_batch(rt: str, rows: list[dict], *, large: bool = False, start: int = 1, chunks: int = 1) -> pa.Table:
    """What the reader hands to check_batch: string columns (empty = null) and ``_row_number``."""
    kind = pa.large_string() if large else pa.string()
    names = RECORD_TYPES[rt].field_names
    cols = {c: pa.array([r[c] for r in rows], type=kind) for c in names}
    cols["_row_number"] = pa.array(range(start, start + len(rows)), type=pa.int64())
    table = pa.table(cols)
    if chunks > 1 and len(rows) >= chunks:  # the same rows in several record batches
        size = -(-len(rows) // chunks)
        table = pa.Table.from_batches(table.to_batches(max_chunksize=size))
    return table


def batch_failures(checked: CheckedBatch) -> list[set[str]]:
    out = [set() for _ in range(len(checked))]
    for pos, rules in checked.failures():
        out[pos] = set(rules)
    return out


def table_rows(rt: str) -> list[dict]:
    """The valid row and every bad row of the table for a record type, in one list."""
    rows = [row(rt, record_id="VALID-0")]
    for i, case in enumerate(c for c in CASES if c.rt == rt):
        bad = row(rt, **{"record_id": f"CASE-{i}", **case.overrides})
        rows += [bad, bad] if case.duplicate else [bad]
    return rows


@pytest.mark.parametrize("rt", RECORD_TYPES)
def test_check_batch_matches_the_table(rt):
    """check_batch on Arrow finds exactly what the table expects (compute_rules is a wrapper over it)."""
    rows = table_rows(rt)
    checked = check_batch(arrow_batch(rt, rows), RECORD_TYPES[rt], COUNTY, BUSINESS_DATE)
    assert batch_failures(checked) == failed_rules(rt, rows)
    assert batch_failures(checked)[0] == set()
    assert sum(1 for f in batch_failures(checked) if f) == len(rows) - 1


@pytest.mark.parametrize("rt", RECORD_TYPES)
def test_typed_schema_is_the_contracts(rt):
    checked = check_batch(arrow_batch(rt, table_rows(rt)), RECORD_TYPES[rt], COUNTY, BUSINESS_DATE)
    assert checked.typed.schema.equals(RECORD_TYPES[rt].typed_schema())
    assert checked.typed.num_rows == len(checked)
    empty = check_batch(arrow_batch(rt, []), RECORD_TYPES[rt], COUNTY, BUSINESS_DATE)
    assert empty.typed.schema.equals(RECORD_TYPES[rt].typed_schema()) and empty.typed.num_rows == 0


def test_typed_values_in_arrow_types():
    r = row("enforcement_cases", party_type="organization", party_id=COMPANY.lower(), agency_code=AGENCY.lower(),
            fine_amount="1.15", confiscated_amount=None, is_major="否", legal_review_done="是",
            updated_at="2026-11-22 10:00:00.5+0530")
    bad = row("enforcement_cases", record_id="ZF-2", filed_date="2026-02-30", fine_amount="12.345", is_major="yes",
              party_id=BAD_RIC)
    t = check_batch(arrow_batch("enforcement_cases", [r, bad], start=41), RECORD_TYPES["enforcement_cases"], COUNTY,
                    BUSINESS_DATE).typed.to_pylist()
    good, broken = t
    assert good["filed_date"] == date(2026, 10, 8)
    assert good["updated_at"] == datetime(2026, 11, 22, 4, 30, 0, 500000, tzinfo=UTC)
    assert good["fine_amount"] == Decimal("1.15") and good["confiscated_amount"] is None
    assert good["is_major"] is False and good["legal_review_done"] is True
    assert good["party_id"] == COMPANY and good["agency_code"] == AGENCY  # upper-cased
    assert good["_source_row"] == 41 and broken["_source_row"] == 42
    # an invalid value is null in the typed row, whatever its type
    assert broken["filed_date"] is None and broken["fine_amount"] is None and broken["is_major"] is None
    assert broken["party_id"] is None
    assert broken["record_id"] == "ZF-2"


def test_rule_matrix_is_int8_pass_fail_not_applicable():
    rt = RECORD_TYPES["enforcement_cases"]
    rows = [row(rt.name, record_id="A"),
            row(rt.name, record_id="B", fine_amount="-1"),  # non_negative fails
            row(rt.name, record_id="C", fine_amount="12.345"),  # format fails, non_negative not applicable
            row(rt.name, record_id="D", decided_date=None, closed_date=None, status="open", publicized_date=None)]
    checked = check_batch(arrow_batch(rt.name, rows), rt, COUNTY, BUSINESS_DATE)
    assert (PASS, FAIL, NOT_APPLICABLE) == (1, 0, 2)
    assert checked.rules.dtype == np.int8 and checked.rules.shape == (4, len(rule_specs(rt)))
    assert checked.rule_ids == tuple(s.id for s in rule_specs(rt))
    assert checked.rule("fine_amount.non_negative").tolist() == [PASS, FAIL, NOT_APPLICABLE, PASS]
    assert checked.rule("fine_amount.format").tolist() == [PASS, PASS, FAIL, PASS]
    assert checked.rule("decided_not_before_filed").tolist() == [PASS, PASS, PASS, NOT_APPLICABLE]
    assert checked.rule("major_decision_needs_legal_review").tolist() == [PASS, PASS, PASS, NOT_APPLICABLE]
    assert set(np.unique(checked.rules).tolist()) <= {PASS, FAIL, NOT_APPLICABLE}
    assert checked.failed.tolist() == [False, True, True, False]
    assert checked.failures() == [(1, ["fine_amount.non_negative"]), (2, ["fine_amount.format"])]
    counts = checked.counts()
    assert counts["fine_amount.non_negative"] == 1 and counts["fine_amount.format"] == 1
    assert sum(counts.values()) == 2
    assert checked.not_applicable_counts()["decided_not_before_filed"] == 1
    assert checked.valid_typed().column("record_id").to_pylist() == ["A", "D"]


def test_compute_rules_is_the_same_matrix():
    rows = table_rows("litigation_cases")
    batch = check_batch(arrow_batch("litigation_cases", rows), RECORD_TYPES["litigation_cases"], COUNTY, BUSINESS_DATE)
    frame = check("litigation_cases", rows)
    for j, rule in enumerate(batch.rule_ids):
        col = frame.rules[rule]
        expected = np.where(col.isna(), NOT_APPLICABLE, col.fillna(False).astype(bool)).astype(np.int8)
        assert (batch.rules[:, j] == expected).all(), rule
    assert (frame.rule_matrix() == batch.rules).all()


def test_large_string_and_chunked_input_give_the_same_result():
    rt = RECORD_TYPES["enforcement_cases"]
    rows = table_rows(rt.name)
    plain = check_batch(arrow_batch(rt.name, rows), rt, COUNTY, BUSINESS_DATE)
    for variant in (arrow_batch(rt.name, rows, large=True), arrow_batch(rt.name, rows, chunks=3),
                    arrow_batch(rt.name, rows, large=True, chunks=4)):
        other = check_batch(variant, rt, COUNTY, BUSINESS_DATE)
        assert (other.rules == plain.rules).all()
        assert other.failures() == plain.failures()
        assert other.typed.schema.equals(rt.typed_schema())  # string, never large_string
        assert other.typed.equals(plain.typed)


def test_duplicate_ids_across_batches():
    rt = RECORD_TYPES["complaints"]
    first = arrow_batch(rt.name, [row(rt.name, record_id="R-1"), row(rt.name, record_id="R-2"),
                                  row(rt.name, record_id=None)])
    second = arrow_batch(rt.name, [row(rt.name, record_id="R-2"), row(rt.name, record_id="R-3")], start=4)
    # each batch alone: no duplicate
    for b in (first, second):
        alone = check_batch(b, rt, COUNTY, BUSINESS_DATE)
        assert alone.rule("record_id.unique_in_file").tolist().count(FAIL) == 0
    dups = duplicate_ids(first.column("record_id"), second.column("record_id"))
    assert dups.to_pylist() == ["R-2"]
    a = check_batch(first, rt, COUNTY, BUSINESS_DATE, duplicate_ids=dups)
    b = check_batch(second, rt, COUNTY, BUSINESS_DATE, duplicate_ids=dups)
    assert a.rule("record_id.unique_in_file").tolist() == [PASS, FAIL, NOT_APPLICABLE]
    assert b.rule("record_id.unique_in_file").tolist() == [FAIL, PASS]
    assert a.failures() == [(1, ["record_id.unique_in_file"]), (2, ["record_id.required"])]
    # given, duplicate_ids replaces the batch's own view: a duplicate inside the batch that the caller does not
    # list is not reported
    twice = arrow_batch(rt.name, [row(rt.name, record_id="R-9"), row(rt.name, record_id="R-9")])
    assert check_batch(twice, rt, COUNTY, BUSINESS_DATE).rule("record_id.unique_in_file").tolist() == [FAIL, FAIL]
    none = pa.array([], pa.string())
    assert check_batch(twice, rt, COUNTY, BUSINESS_DATE, duplicate_ids=none).rule(
        "record_id.unique_in_file").tolist() == [PASS, PASS]


def test_duplicated_finds_exact_duplicates_among_many_values():
    rng = np.random.default_rng(5)
    values = [f"ID-{i:07d}" for i in range(30_000)] + ["x" * 300, "x" * 300, "x" * 299, "", ""]
    values += [values[i] for i in rng.choice(30_000, 50, replace=False)]
    arr = pa.array(values + [None, None])
    expected = pd.Series(values + [None, None], dtype="string")
    expected = (expected.duplicated(keep=False) & expected.notna()).to_numpy()
    assert (_duplicated(arr) == expected).all()
    assert _duplicated(arr).sum() == 2 + 2 + 100


@pytest.mark.parametrize("known_type", ["string", "large_string", "chunked"])
def test_known_ids_as_arrow_arrays(known_type):
    rt = RECORD_TYPES["litigation_cases"]
    rows = [row(rt.name, related_enforcement_id="ZF-1", related_reconsideration_id="FY-1"),
            row(rt.name, record_id="S-2", related_enforcement_id="ZF-404", related_reconsideration_id=None),
            row(rt.name, record_id="S-3", related_enforcement_id=None, related_reconsideration_id="FY-404")]
    ids = ["ZF-1", "ZF-2"]
    known = {"string": pa.array(ids), "large_string": pa.array(ids, pa.large_string()),
             "chunked": pa.chunked_array([["ZF-1"], ["ZF-2"]])}[known_type]
    # only enforcement ids are known: the reconsideration rule is not applicable
    checked = check_batch(arrow_batch(rt.name, rows), rt, COUNTY, BUSINESS_DATE,
                          known_ids={"enforcement_cases": known})
    assert checked.failures() == []
    assert checked.warnings() == [(1, ["related_enforcement_id.exists"])]
    assert checked.rule("related_enforcement_id.exists").tolist() == [PASS, FAIL, NOT_APPLICABLE]
    assert checked.rule("related_reconsideration_id.exists").tolist() == [NOT_APPLICABLE] * 3
    assert not checked.failed.any() and checked.valid_typed().num_rows == 3
    both = check_batch(arrow_batch(rt.name, rows), rt, COUNTY, BUSINESS_DATE,
                       known_ids={"enforcement_cases": known, "reconsideration_cases": pa.array([], pa.string())})
    assert both.rule("related_reconsideration_id.exists").tolist() == [FAIL, NOT_APPLICABLE, FAIL]
    assert both.warnings() == [(0, ["related_reconsideration_id.exists"]),
                               (1, ["related_enforcement_id.exists"]), (2, ["related_reconsideration_id.exists"])]


def test_check_batch_schema_drift_and_empty_json():
    rt = RECORD_TYPES["complaints"]
    table = arrow_batch(rt.name, [row(rt.name)]).drop_columns(["summary"])
    with pytest.raises(SchemaDrift) as exc:
        check_batch(table, rt, COUNTY, BUSINESS_DATE)
    assert exc.value.missing == ["summary"]
    empty = check_batch(pa.table({"_row_number": pa.array([], pa.int64())}), rt, COUNTY, BUSINESS_DATE)
    assert len(empty) == 0 and empty.failures() == [] and empty.rules.shape == (0, len(rule_specs(rt)))
    assert empty.typed.schema.equals(rt.typed_schema())


def test_repeating_values_are_checked_once_with_the_same_outcome(monkeypatch):
    """A big batch of repeating identifiers is checked per distinct value: the outcome is the per-row one."""
    rt = RECORD_TYPES["enforcement_cases"]
    base = table_rows(rt.name)
    rows = [dict(base[i % len(base)], record_id=f"R-{i}") for i in range(25_000)]
    batch = arrow_batch(rt.name, rows)
    from supervision.validation import engine as validation

    assert validation._distinct(batch.column("party_id").combine_chunks())[1] is not None  # the distinct path
    fast = check_batch(batch, rt, COUNTY, BUSINESS_DATE)
    monkeypatch.setattr(validation, "_distinct", lambda values: (values, None))
    plain = check_batch(batch, rt, COUNTY, BUSINESS_DATE)
    assert (fast.rules == plain.rules).all()
    assert fast.typed.equals(plain.typed)
    assert fast.failures() == plain.failures() and len(fast.failures()) > 1000


# pandas reads a shaped timestamp as the old implementation did: the format rule must say the same
TIMESTAMP_EDGES = ["2026-11-22T24:00:00+08:00", "2026-11-22T23:60:00+08:00", "2026-11-22T23:59:60+08:00",
                   "2026-11-22T10:00+24:00", "2026-11-22T10:00+23:59", "2026-11-22T10:00+08:60",
                   "2026-11-22T10:00-00:00", "2026-11-22T10:00+0830", "0000-01-01T00:00Z",
                   "9999-12-31T23:00-05:00", "2026-02-29T10:00Z", "2024-02-29T10:00Z", "2026-11-22T10:00:00.1234567Z",
                   "2026-11-22T10:00:00.Z", "2026-11-22t10:00Z", "2026-11-22T10:00:00+08:0", "2026-11-22T10:00+08:",
                   "２026-11-22T10:00Z", "2026-11-22T10:00:00.999999-23:59", "2026-11-22 10:00:00-0530"]


@pytest.mark.parametrize("ts", TIMESTAMP_EDGES)
def test_timestamp_edges_as_pandas_reads_them(ts):
    import re

    from supervision.validation.rules import _TIMESTAMP

    shaped = re.fullmatch(_TIMESTAMP, ts) is not None
    parsed = pd.to_datetime(pd.Series([ts]), utc=True, format="ISO8601", errors="coerce").iloc[0] if shaped else pd.NaT
    checked = check_batch(arrow_batch("complaints", [row("complaints", updated_at=ts)]), RECORD_TYPES["complaints"],
                          COUNTY, BUSINESS_DATE)
    assert checked.rule("updated_at.format").tolist() == [PASS if pd.notna(parsed) else FAIL]
    value = checked.typed.column("updated_at").cast(pa.int64())[0].as_py()  # year 0 is no Python datetime
    assert (value is None) if pd.isna(parsed) else value == parsed.as_unit("us").asm8.view("i8")


@pytest.mark.parametrize("d", ["0000-02-29", "0100-02-29", "1900-02-29", "2000-02-29", "2026-04-31", "2026-12-00",
                               "2026-00-10", "9999-12-31", "2026-1-22"])
def test_date_edges_as_pandas_reads_them(d):
    import re

    shaped = re.fullmatch("[0-9]{4}-[0-9]{2}-[0-9]{2}", d) is not None  # pandas alone reads 2026-1-22
    parsed = pd.to_datetime(pd.Series([d]), format="%Y-%m-%d", errors="coerce").iloc[0] if shaped else pd.NaT
    checked = check_batch(arrow_batch("complaints", [row("complaints", handled_date=d, result="pending")]),
                          RECORD_TYPES["complaints"], COUNTY, BUSINESS_DATE)
    assert checked.rule("handled_date.format").tolist() == [PASS if pd.notna(parsed) else FAIL]


def test_court_case_number_with_a_final_newline_passes_as_before():
    """The old pattern (Python re, ``$``) accepted one final newline; so does the RE2 pattern."""
    ok = check_batch(arrow_batch("litigation_cases", [row("litigation_cases", court_case_number="（2026）豫1002行初1号\n")]),
                     RECORD_TYPES["litigation_cases"], COUNTY, BUSINESS_DATE)
    assert ok.rule("court_case_number_format").tolist() == [PASS]
    unknown_province = check_batch(arrow_batch("litigation_cases", [row("litigation_cases", county_code="710000")]),
                                   RECORD_TYPES["litigation_cases"], "710000", BUSINESS_DATE)
    assert unknown_province.rule("court_case_number_format").tolist() == [FAIL]


# --- run_gx_rules: GX over the int8 matrix -------------------------------------------------------------------


@pytest.fixture(scope="module")
def gx_matrix():
    rt = RECORD_TYPES["complaints"]
    rows = [row(rt.name, record_id=f"T-{i}") for i in range(6)]
    rows[1]["channel"] = "wechat"
    rows[2].update(handled_date=None, result="pending")  # handled_not_before_received: not applicable
    rows[3].update(handled_date=None, result="pending")
    rows[4]["record_id"] = rows[5]["record_id"] = "T-DUP"
    checked = check_batch(arrow_batch(rt.name, rows), rt, COUNTY, BUSINESS_DATE)
    return rt, checked, run_gx_rules(checked.rules, rt)


def test_run_gx_rules_counts_failures_and_not_applicable(gx_matrix):
    rt, checked, result = gx_matrix
    assert set(result["rules"]) == {s.id for s in rule_specs(rt)}
    assert {r: v["unexpected_count"] for r, v in result["rules"].items() if v["unexpected_count"]} == {
        "channel.enum": 1, "record_id.unique_in_file": 2}
    assert result["rules"]["handled_not_before_received"]["not_applicable"] == 2
    assert result["rules"]["handled_date.format"]["not_applicable"] == 2  # empty optional date
    assert result["rules"]["complainant_id.identifier"]["not_applicable"] == 0
    for rule, v in result["rules"].items():
        assert v["not_applicable"] == checked.not_applicable_counts()[rule]
        assert v["unexpected_count"] == checked.counts()[rule]
        assert v["element_count"] == len(checked)
        assert v["success"] == (v["unexpected_count"] == 0)
    assert result["rules"]["channel.enum"]["severity"] == "error" and result["success"] is False


def test_gx_suite_reads_the_int8_encoding():
    rt = RECORD_TYPES["complaints"]
    suite = validation_definition(rt).suite
    assert len(suite.expectations) == len(rule_specs(rt))
    for e, spec in zip(suite.expectations, rule_specs(rt), strict=True):
        assert e.column == "rule__" + spec.id and list(e.value_set) == [PASS, NOT_APPLICABLE]
        assert e.description == spec.description
        assert e.meta["rule"] == spec.id and e.meta["severity"] == spec.severity and e.meta["record_type"] == rt.name
        assert "1 = passes" in e.meta["values"] and "2 = not applicable" in e.meta["values"]


def test_run_gx_rules_refuses_a_matrix_gx_reads_otherwise():
    """GX and the split disagree (a value that is neither 0, 1 nor 2): no result is stored (GX runs per shard,
    after the files' transactions: the shard fails and its retry re-runs them)."""
    rt = RECORD_TYPES["complaints"]
    checked = check_batch(arrow_batch(rt.name, [row(rt.name)]), rt, COUNTY, BUSINESS_DATE)
    broken = checked.rules.copy(order="F")
    broken[0, 0] = 3
    with pytest.raises(RuntimeError, match="GX counted 1 failures of record_id.required in 1 rows, the split 0"):
        run_gx_rules(broken, rt)
    with pytest.raises(ValueError):
        run_gx_rules(checked.rules[:, 1:], rt)


def test_rule_frame_is_one_block_over_the_matrix():
    rt = RECORD_TYPES["enforcement_cases"]
    checked = check_batch(arrow_batch(rt.name, table_rows(rt.name)), rt, COUNTY, BUSINESS_DATE)
    frame = rule_frame(checked.rules, rt)
    assert list(frame.columns) == ["rule__" + s.id for s in rule_specs(rt)]
    assert set(frame.dtypes.astype(str)) == {"int8"}
    assert np.shares_memory(frame.to_numpy(copy=False), checked.rules)  # no copy per column


def test_run_gx_accepts_a_checked_batch(gx_matrix):
    rt, checked, result = gx_matrix
    again = run_gx(checked, rt)
    assert again["rules"] == result["rules"]


COURT_NUMBERS = ["（2026）豫1002行初123号", "(2026)豫1002行初123号", "（2026)豫1002行终5号", "(2025）豫10行申1号",
                 "（2026）豫1002行赔初12号", "（2026）豫行再1号", "（2026）京0105行初123号", "2026豫1002行初123号",
                 "（2026）豫1002民初123号", "（2026）豫1002行初123", "〔2026〕豫1002行初123号", "（2026）豫1002行初123号\n",
                 "（2026）豫1002行初123号\n\n", "（2026）豫1002行初1234567号", "（2026）豫10020000行初1号", "（２026）豫1002行初1号",
                 "（2026）豫1002行赔号1号", "（2026）豫1002行初号", " （2026）豫1002行初1号", "（2026）豫1002行辖99号"]


@pytest.mark.parametrize("county", [COUNTY, "420102", "710000"])
def test_court_case_number_re2_says_what_the_python_pattern_says(county):
    """RE2 (Arrow) and the Python pattern ``_COURT`` of the contract agree on every number."""
    from supervision.contract import PROVINCE_ABBREVIATIONS
    from supervision.validation.rules import _COURT

    abbr = PROVINCE_ABBREVIATIONS.get(county[:2], "?")
    expected = [PASS if (m := _COURT.search(n)) and m.group(2) == abbr else FAIL for n in COURT_NUMBERS]
    rows = [row("litigation_cases", record_id=f"S-{i}", county_code=county, court_case_number=n)
            for i, n in enumerate(COURT_NUMBERS)]
    checked = check_batch(arrow_batch("litigation_cases", rows), RECORD_TYPES["litigation_cases"], county,
                          BUSINESS_DATE)
    assert checked.rule("court_case_number_format").tolist() == expected
    assert expected.count(PASS) >= (7 if county == COUNTY else 0)


@pytest.mark.parametrize("values", [[], [7], [3, 3], [5, 1, 5, 2, 1, 2**64 - 1, 0, 2**64 - 1]])
def test_sorted_unique_is_numpy_unique(values):
    import numpy as np

    from supervision.arrow_text import sorted_unique

    a = np.array(values, dtype=np.uint64)
    out = sorted_unique(a)
    assert out.dtype == np.uint64 and np.array_equal(out, np.unique(a))


def test_keys_are_checked_and_typed_in_nfkc_form():
    """A full-width record id is the same key as its ASCII form: one file holding both breaks unique_in_file, the
    typed (loaded) key is ASCII, a full-width related id finds its ASCII record; the batch itself is untouched."""
    rt = RECORD_TYPES["reconsideration_cases"]
    wide = "ＲＥＣ－４１１００２－００１"
    batch = arrow_batch(rt.name, [row(rt.name, record_id=wide, related_enforcement_id="ＥＮＦ－１"),
                                  row(rt.name, record_id="REC-411002-001", related_enforcement_id=None),
                                  row(rt.name, record_id="REC-411002-002", related_enforcement_id="ENF-2")])
    known = {"enforcement_cases": pa.array(["ENF-1"], pa.string())}
    checked = check_batch(batch, rt, COUNTY, BUSINESS_DATE, known_ids=known)
    assert checked.rule("record_id.unique_in_file").tolist() == [FAIL, FAIL, PASS]
    assert checked.rule("related_enforcement_id.exists").tolist() == [PASS, NOT_APPLICABLE, FAIL]
    assert checked.typed.column("record_id").to_pylist() == ["REC-411002-001", "REC-411002-001", "REC-411002-002"]
    assert checked.typed.column("related_enforcement_id").to_pylist()[0] == "ENF-1"
    assert batch.column("record_id").to_pylist()[0] == wide  # the raw batch (landed as received) keeps its form
    # the file-wide views of a batch (duplicates, night fingerprints, loaded ids) speak keys too
    raw = RawBatch("csv", "utf-8", "0" * 64, datetime.now(UTC), table=batch)
    assert raw.duplicate_ids().to_pylist() == ["REC-411002-001"]
    assert raw.record_ids().to_pylist() == ["REC-411002-001", "REC-411002-001", "REC-411002-002"]
    assert raw.table.column("record_id").to_pylist()[0] == wide


@pytest.mark.parametrize(("given", "key"), [
    ("ＥＮＦ－４１１００２－２０２６－０００１", "ENF-411002-2026-0001"),  # full-width letters, digits, hyphen
    ("ＡＢＣ　１２３", "ABC 123"),  # ideographic space
    ("案件①号", "案件1号"),  # circled digit; Han characters untouched
    ("ｅｎｆ-1", "enf-1"),  # no case folding: enf-1 and ENF-1 stay two keys
    ("ENF-1", "ENF-1"), (None, None),
])
def test_record_key(given, key):
    assert record_key(given) == key
    assert record_keys(pa.array([given], pa.string())).to_pylist() == [key]
