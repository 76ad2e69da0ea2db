"""bad_rows: every rule id of every record type shown to fire, by rows that fail exactly that rule."""

from __future__ import annotations

from collections import Counter

import pytest
from sim_rowcheck import DAY, failures, read_rows

from supervision.contract import RECORD_TYPES
from supervision_dev.simulator import bad_row_plan, rule_ids_for
from supervision_dev.simulator.faults import ALSO_FAILS


def test_rule_catalogue_comes_from_the_contract():
    enf = rule_ids_for(RECORD_TYPES["enforcement_cases"])
    assert len(enf) == len(set(enf))
    for rid in ("record_id.required", "record_id.max_length", "record_id.unique_in_file", "county_code.format",
                "county_code.matches_submitter", "updated_at.format", "township_code.in_county",
                "agency_code.identifier", "party_id.identifier", "filed_date.not_future", "fine_amount.non_negative",
                "is_major.format", "action_type.enum", "case_number_required_unless_inspection",
                "major_decision_needs_legal_review", "amounts_only_for_penalty"):
        assert rid in enf
    assert "case_number.required" not in enf  # the cross-field rule covers it
    lit = rule_ids_for(RECORD_TYPES["litigation_cases"])
    assert "court_case_number_format" in lit and "court_case_number.max_length" in lit
    assert "complainant_id.identifier" in rule_ids_for(RECORD_TYPES["complaints"])
    for rt in RECORD_TYPES.values():
        assert {r.id for r in rt.rules} <= set(rule_ids_for(rt))


@pytest.mark.parametrize("county", ["411002", "411003", "411122"])
@pytest.mark.parametrize("record_type", list(RECORD_TYPES))
def test_every_rule_fires_exactly(bad_rows_nights, county, record_type):
    root, report = bad_rows_nights
    truth = report.counties[county]
    f = truth.files[record_type]
    rt = RECORD_TYPES[record_type]
    assert truth.fault == "bad_rows" and f.expected_outcome == "loaded"
    injected = Counter(rules[0] for rules in f.expected_bad_rows.values())
    assert set(injected) == set(rule_ids_for(rt))
    assert sum(injected.values()) == len(bad_row_plan(rt))
    # one rule per row, except a value that necessarily breaks a second rule (ALSO_FAILS)
    assert all(rules[1:] == list(ALSO_FAILS.get(rules[0], ())) for rules in f.expected_bad_rows.values())
    assert injected["record_id.unique_in_file"] == 2
    # within the reject threshold, with good rows around them
    assert len(f.expected_bad_rows) / f.rows <= 0.2 * 0.75 + 1e-9
    rows = read_rows(root / county / DAY.isoformat() / f.file, truth.encoding)
    assert len(rows) == f.rows
    got = failures(rt, rows, county, DAY)
    for n, fails in enumerate(got, start=1):
        assert fails == set(f.expected_bad_rows.get(n, [])), (n, rows[n - 1])


def test_bad_values_survive_each_format(bad_rows_nights):
    root, report = bad_rows_nights
    for county, bad_bool in (("411002", "yes"), ("411122", "yes")):
        truth = report.counties[county]
        f = truth.files["enforcement_cases"]
        rows = read_rows(root / county / DAY.isoformat() / f.file, truth.encoding)
        n = next(k for k, v in f.expected_bad_rows.items() if v == ["is_major.format"])
        assert rows[n - 1]["is_major"] in (bad_bool, "2", "对")
        n = next(k for k, v in f.expected_bad_rows.items() if v == ["fine_amount.non_negative"])
        assert float(rows[n - 1]["fine_amount"]) < 0
