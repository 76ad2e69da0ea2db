"""Each alert kind judged from controlled evidence and a controlled clock (no database)."""

from __future__ import annotations

from datetime import date, timedelta

from supervision.alerting.judge import clearance, judge
from supervision.alerting.settings import AlertSettings

from .helpers import TYPES, at, attempt, county, evidence, findings, full_day, grant, probe

D = date(2026, 11, 22)  # a Sunday
C = "411002"
NOW = at(2026, 11, 23, 6, 40)
ON_TIME = at(2026, 11, 23, 2, 0)


def kinds(ev, counties=None, settings=None) -> set[tuple]:
    return findings(counties or [county()], ev, settings)


# --- late and missing ------------------------------------------------------------------------------------


def test_nothing_in_the_folder_after_the_deadline_is_late_and_not_also_missing():
    ev = evidence(NOW, probes={(C, D): probe(None)})
    assert kinds(ev) == {("late", C, "*", D)}


def test_files_in_the_drop_folder_before_the_pipeline_ran_are_not_late():
    ev = evidence(NOW, probes={(C, D): probe({rt: ON_TIME for rt in TYPES})})
    assert kinds(ev) == set()


def test_one_type_absent_is_missing_only_after_the_deadline():
    files = {rt: ON_TIME for rt in TYPES if rt != "complaints"}
    assert kinds(evidence(at(2026, 11, 23, 5, 0), probes={(C, D): probe(files)})) == set()
    assert kinds(evidence(NOW, probes={(C, D): probe(files)})) == {("missing", C, "complaints", D)}


def test_missing_from_the_ledger_without_a_drop_folder_probe():
    atts = full_day(C, D, ON_TIME)[:3] + [attempt(C, "complaints", D, "missing")]
    assert kinds(evidence(NOW, attempts={(C, D): atts})) == {("missing", C, "complaints", D)}


def test_a_county_never_seen_by_the_pipeline_is_not_judged():
    ev = evidence(NOW, first_seen={}, probes={(C, D): probe(None)})
    assert kinds(ev) == set()


def test_api_county_is_judged_from_the_ledger_only():
    c = county(transport="http_api")
    assert kinds(evidence(NOW), [c]) == set()  # the pipeline has not pulled yet: nothing to say
    late_rows = [attempt(C, rt, D, "late") for rt in TYPES]
    assert kinds(evidence(NOW, attempts={(C, D): late_rows}), [c]) == {("late", C, "*", D)}


def test_api_county_that_cannot_be_read_is_told_what_failed_and_how_to_fix_it():
    c = county(transport="http_api")
    rows = [attempt(C, rt, D, "source_error", has_file=False) for rt in TYPES]
    j = judge([c], AlertSettings(), evidence(NOW, attempts={(C, D): rows}))
    (f,) = j.findings
    assert f.kind == "late" and "could not be read: ledger says source_error" in f.summary
    assert "county system (http_api) answer again" in f.fix and "drop_folder" not in f.details
    assert {v.status for v in j.verdicts} == {"source_error"}
    rows = full_day(C, D, ON_TIME)[:3] + [attempt(C, "complaints", D, "source_error", has_file=False)]
    (f,) = judge([c], AlertSettings(), evidence(NOW, attempts={(C, D): rows})).findings
    assert (f.kind, f.record_type) == ("missing", "complaints") and "could not be read" in f.summary


def test_old_business_dates_are_not_alerted_again():
    old = D - timedelta(days=6)
    ev = evidence(NOW, probes={(C, old): probe(None), (C, D): probe({rt: ON_TIME for rt in TYPES})})
    assert kinds(ev) == set()


# --- rejected and invalid --------------------------------------------------------------------------------


def _with(rt_attempt):
    atts = [a for a in full_day(C, D, ON_TIME) if a.record_type != rt_attempt.record_type] + [rt_attempt]
    return evidence(NOW, attempts={(C, D): atts})


def test_damaged_transfer_unreadable_and_schema_drift_are_rejected_files():
    for rule, words in (("file.manifest_sha256", "damaged transfer"), ("file.readable", "unreadable"),
                        ("file.schema", "schema drift")):
        a = attempt(C, "enforcement_cases", D, "rejected", received=ON_TIME, rules=[(rule, 100)])
        j = judge([county()], AlertSettings(), _with(a))
        (f,) = j.findings
        assert (f.kind, f.record_type, f.submission_id) == ("rejected", "enforcement_cases", a.submission_id)
        assert words in f.summary and f.details["quarantine_query"].endswith(f"submission_id = {a.submission_id}"
                                                                              " ORDER BY row_number;")


def test_rejected_before_the_deadline_is_alerted_at_once():
    a = attempt(C, "complaints", D, "rejected", received=at(2026, 11, 23, 1, 0), rules=[("file.manifest_rows", 4)])
    ev = evidence(at(2026, 11, 23, 2, 0), attempts={(C, D): [a]})
    assert kinds(ev) == {("rejected", C, "complaints", D)}


def test_over_the_threshold_is_invalid_with_the_rules_and_the_validation_result():
    a = attempt(C, "complaints", D, "rejected", rows=50, received=ON_TIME, bad_rows=30,
                rules=[("file.reject_threshold", 50), ("party_id.identifier", 20), ("filed_date.format", 10)])
    (f,) = judge([county()], AlertSettings(), _with(a)).findings
    assert f.kind == "invalid"
    assert "30 of 50 rows (60%)" in f.summary and "20%" in f.summary and "party_id.identifier x20" in f.summary
    assert f.details["validation_result"] == a.validation_ref


def test_quarantine_within_the_threshold_is_no_alert_but_a_stricter_registry_makes_it_invalid():
    a = attempt(C, "complaints", D, "loaded_with_quarantine", rows=100, bad_rows=10, received=ON_TIME,
                rules=[("party_id.identifier", 10)])
    assert kinds(_with(a)) == set()
    assert kinds(_with(a), [county(reject_threshold=0.05)]) == {("invalid", C, "complaints", D)}


def test_pipeline_error_goes_to_the_engineers_kind():
    a = attempt(C, "complaints", D, "failed", has_file=False)
    assert kinds(_with(a)) == {("pipeline_failed", C, "complaints", D)}


# --- volume anomaly: the county's own history, working days and rest days apart ---------------------------


def _history(end: date, days=56, working=100, rest=40):
    from supervision.calendar import is_working_day

    out = {}
    for i in range(1, days + 1):
        d = end - timedelta(days=i)
        base = working if is_working_day(d) else rest
        out[d] = base + (i % 5) - 2  # a little noise
    return out


def _volume(d: date, rows: int, rt="enforcement_cases"):
    now = at(d.year, d.month, d.day, 6, 40) + timedelta(days=1)
    atts = [a for a in full_day(C, d, now - timedelta(hours=5)) if a.record_type != rt]
    atts.append(attempt(C, rt, d, received=now - timedelta(hours=5), rows=rows))
    changed = {(C, t): {d - timedelta(days=i): 1 for i in range(30)} for t in TYPES}  # not stale
    ev = evidence(now, attempts={(C, d): atts}, volumes={(C, rt): _history(d)}, changes=changed)
    return {f[0] for f in kinds(ev)}


def test_volume_far_below_a_working_day_is_an_anomaly():
    assert _volume(date(2026, 11, 24), 101) == set()
    assert _volume(date(2026, 11, 24), 8) == {"volume_anomaly"}
    assert _volume(date(2026, 11, 24), 900) == {"volume_anomaly"}


def test_volume_is_robust_to_weekends_and_holidays():
    assert _volume(date(2026, 11, 21), 40) == set()  # a Saturday with rest-day volume
    assert _volume(date(2026, 10, 1), 38) == set()  # National Day (a Thursday) with rest-day volume
    assert _volume(date(2026, 10, 10), 99) == set()  # adjusted working Saturday with working-day volume
    assert _volume(date(2026, 11, 21), 400) == {"volume_anomaly"}


def test_volume_needs_enough_history():
    d = date(2026, 11, 24)
    now = at(2026, 11, 25, 6, 40)
    atts = full_day(C, d, at(2026, 11, 25, 1, 0))
    few = {d - timedelta(days=i): 100 for i in (1, 2, 3)}
    ev = evidence(now, attempts={(C, d): atts[:3] + [attempt(C, "complaints", d, rows=1, received=now)]},
                  volumes={(C, "complaints"): few})
    assert kinds(ev) == set()


# --- stale source and chronic lateness -------------------------------------------------------------------


def _days(end: date, n: int):
    return [end - timedelta(days=i) for i in range(n)]


def test_stale_source_when_files_arrive_but_nothing_changes_for_n_days():
    now = at(2026, 11, 23, 6, 40)
    dates = _days(D, 20)
    atts = {(C, d): full_day(C, d, at(d.year, d.month, d.day, 23, 0)) for d in dates}
    volumes = {(C, rt): {d: 100 for d in dates} for rt in TYPES}
    changed = {(C, rt): {d: 1 for d in dates} for rt in TYPES}
    changed[(C, "enforcement_cases")] = {d: 1 for d in dates if d < D - timedelta(days=6)}
    ev = evidence(now, dates=dates, attempts=atts, volumes=volumes, changes=changed)
    j = judge([county()], AlertSettings(), ev)
    (f,) = j.findings
    assert (f.kind, f.record_type, f.business_date) == ("stale_source", "enforcement_cases", D - timedelta(days=6))
    assert "last change on 2026-11-15" in f.summary
    # one changed row on the last day ends it
    changed[(C, "enforcement_cases")][D] = 1
    assert judge([county()], AlertSettings(), ev).findings == []
    assert clearance("stale_source", county(), "enforcement_cases", D, ev).startswith("changed records received")


def test_stale_source_needs_n_days_of_history():
    dates = _days(D, 3)
    ev = evidence(NOW, dates=dates, first_seen={C: dates[-1]},
                  attempts={(C, d): full_day(C, d, at(d.year, d.month, d.day, 23, 0)) for d in dates},
                  volumes={(C, rt): {d: 10 for d in dates} for rt in TYPES})
    assert kinds(ev) == set()


def test_chronic_lateness_k_of_the_last_n_business_dates():
    settings = AlertSettings(chronic_k=3, chronic_n=10)
    dates = _days(D, 12)
    late_dates = {D - timedelta(days=2), D - timedelta(days=5), D - timedelta(days=9)}

    def ev_for(lates):
        atts = {}
        for d in dates:
            due = at(d.year, d.month, d.day, 6, 0) + timedelta(days=1)
            atts[(C, d)] = full_day(C, d, due + (timedelta(hours=2) if d in lates else -timedelta(hours=2)))
        return evidence(NOW, dates=dates, attempts=atts)

    j = judge([county()], settings, ev_for(late_dates))
    (f,) = j.findings
    assert (f.kind, f.record_type, f.business_date) == ("chronic_late", "*", D)
    assert "late on 3 of the last 10" in f.summary
    assert judge([county()], settings, ev_for(late_dates - {D - timedelta(days=9)})).findings == []
    # a late day outside the window of the last n dates does not count
    assert judge([county()], settings, ev_for({D - timedelta(days=2), D - timedelta(days=5),
                                               D - timedelta(days=11)})).findings == []


def test_chronic_lateness_skips_exempt_days():
    dates = _days(D, 5)
    atts = {(C, d): full_day(C, d, at(d.year, d.month, d.day, 23, 59) + timedelta(days=1)) for d in dates}
    settings = AlertSettings(chronic_k=3, chronic_n=10)
    ev = evidence(NOW, dates=dates, attempts=atts)
    assert {f.kind for f in judge([county()], settings, ev).findings} == {"chronic_late"}
    ev.grants = [grant("exemption", lo=dates[-1], hi=dates[1])]
    assert judge([county()], settings, ev).findings == []


# --- exemptions and extensions ---------------------------------------------------------------------------


def test_exemption_covers_late_and_missing_and_rejected():
    files = {rt: ON_TIME for rt in TYPES if rt != "complaints"}
    a = attempt(C, "enforcement_cases", D, "rejected", received=ON_TIME, rules=[("file.readable", 1)])
    ev = evidence(NOW, attempts={(C, D): [a]}, probes={(C, D): probe(files)}, grants=[grant("exemption")])
    assert kinds(ev) == set()
    ev.grants = [grant("exemption", rt="complaints")]
    assert kinds(ev) == {("rejected", C, "enforcement_cases", D)}
    assert "exempted (complaints" in clearance("missing", county(), "complaints", D, ev)


def test_extension_postpones_late_and_says_so_when_clearing():
    g = grant("extension", deadline_until=at(2026, 11, 23, 12, 0))
    ev = evidence(NOW, probes={(C, D): probe(None)}, grants=[g])
    assert kinds(ev) == set()
    assert clearance("late", county(), "*", D, ev).startswith("deadline extended to 2026-11-23 12:00")
    ev.now = at(2026, 11, 23, 12, 1)
    assert kinds(ev) == {("late", C, "*", D)}


# --- the pipeline's own lateness -------------------------------------------------------------------------


def test_pipeline_late_when_counties_are_unrecorded_by_the_pipeline_deadline():
    c2 = county("411003", name="建安区")
    atts = {(C, D): full_day(C, D, ON_TIME)}
    probes = {(C, D): probe({rt: ON_TIME for rt in TYPES}), ("411003", D): probe({rt: ON_TIME for rt in TYPES})}
    first = {C: D, "411003": D}
    before = evidence(at(2026, 11, 23, 7, 59), attempts=atts, probes=probes, first_seen=first)
    assert kinds(before, [county(), c2]) == set()
    after = evidence(at(2026, 11, 23, 8, 0), attempts=atts, probes=probes, first_seen=first)
    j = judge([county(), c2], AlertSettings(), after)
    (f,) = j.findings
    assert (f.kind, f.county_code, f.business_date) == ("pipeline_late", None, D)
    assert f.details["unrecorded"] == ["411003"]
    subset = evidence(at(2026, 11, 23, 8, 0), attempts=atts, probes=probes, first_seen=first, full_registry=False)
    assert kinds(subset, [county(), c2]) == set()  # only a run over the whole registry can tell


def test_an_unexpected_row_does_not_count_as_recording_the_county():
    """An 'unexpected' ledger row (record type '*') is no record type: two types recorded is still unrecorded."""
    c2 = county("411003", name="建安区")
    atts = {(C, D): full_day(C, D, ON_TIME),
            ("411003", D): full_day("411003", D, ON_TIME)[:2] + [attempt("411003", "*", D, "unexpected",
                                                                          has_file=False)]}
    ev = evidence(at(2026, 11, 23, 8, 0), attempts=atts, first_seen={C: D, "411003": D})
    j = judge([county(), c2], AlertSettings(), ev)
    assert [f.details["unrecorded"] for f in j.findings if f.kind == "pipeline_late"] == [["411003"]]


def test_unexpected_drop_folder_entries_go_to_the_engineers():
    from supervision.alerting.kinds import KINDS

    odd = attempt(C, "*", D, "unexpected", has_file=False)
    ev = evidence(NOW, attempts={(C, D): full_day(C, D, ON_TIME) + [odd]})
    stray = attempt("410199", "*", D, "unexpected", has_file=False)
    ev.strays = [stray]
    j = judge([county()], AlertSettings(), ev)
    got = {(f.kind, f.county_code, f.record_type, f.business_date): f for f in j.findings}
    assert set(got) == {("drop_unexpected", C, "*", D), ("drop_unexpected", None, "*", D)}
    assert got[("drop_unexpected", C, "*", D)].submission_id == odd.submission_id
    assert "ledger says unexpected" in got[("drop_unexpected", None, "*", D)].summary
    assert KINDS["drop_unexpected"].audience == "engineers"
    ev.full_registry = False  # a run over some counties does not judge the drop folder's unknown entries
    assert {f.county_code for f in judge([county()], AlertSettings(), ev).findings} == {C}
    # the county-day is judged on its contract files as before: all on time, nothing else to say
    assert all(v.on_time for v in j.verdicts if v.business_date == D)


# --- verdicts --------------------------------------------------------------------------------------------


def test_verdicts_say_on_time_valid_and_status_per_record_type():
    late_file = attempt(C, "complaints", D, "loaded", received=at(2026, 11, 23, 7, 0))
    bad = attempt(C, "litigation_cases", D, "rejected", received=ON_TIME, rules=[("file.readable", 1)])
    atts = [a for a in full_day(C, D, ON_TIME) if a.record_type not in ("complaints", "litigation_cases")]
    ev = evidence(at(2026, 11, 23, 7, 30), attempts={(C, D): atts + [late_file, bad]})
    v = {x.record_type: x for x in judge([county()], AlertSettings(), ev).verdicts if x.business_date == D}
    assert (v["enforcement_cases"].on_time, v["enforcement_cases"].valid) == (True, True)
    assert (v["complaints"].on_time, v["complaints"].valid) == (False, True)
    assert (v["litigation_cases"].on_time, v["litigation_cases"].valid, v["litigation_cases"].status) == (
        True, False, "rejected")
