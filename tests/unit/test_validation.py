"""Every contract rule, table-driven: one valid row per record type, then one bad row per rule id.

A bad row must fail exactly its rule (set equality), so a rule that fires too often or too rarely is caught,
and ``test_table_covers_every_rule`` fails CI when a rule is added to the contract without a row here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from functools import cache

import pandas as pd
import pytest

from supervision import divisions
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
from supervision.identifiers import make_ric, make_uscc
from supervision.validation import SchemaDrift, compute_rules, rule_specs, run_gx

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
