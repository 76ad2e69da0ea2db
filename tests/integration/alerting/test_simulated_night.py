"""Done when: a simulated night with the fault profile raises exactly the expected alerts, each delivered once to
the right contact and escalated on time, and resolving re-submissions close them.

The night (Xuchang's 7 counties and 3 of Zhengzhou, every fault of the simulator's profile) goes through the
real pipeline (``process_county``: read, GX validation, quarantine, ledger) into a real PostgreSQL; the monitor
then runs under a controlled clock. The expected alerts come from the simulator's truth, not from the ledger.
The bad-rows county has a stricter threshold in the monitor's registry (5%) than the simulator padded for (20%),
so its files are rejected as invalid.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pytest

from supervision.alerting.kinds import KINDS
from supervision.alerting.monitor import run_monitor
from supervision.contract import RECORD_TYPES
from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county, process_file
from supervision.registry import load_registry
from supervision.settings import DEFAULT_REGISTRY
from supervision.sources.filedrop import discover
from supervision_dev.simulator import FaultProfile, simulate_night

from .alerting_support import alerts, at, keys, registry_file

pytestmark = pytest.mark.integration
D = date(2026, 11, 22)
SEED = 7
STRICT = 0.05
BY_EMAIL = {"late", "missing_type"}  # these faults' counties are reached by e-mail, the others by webhook


def expected_alerts(report, thresholds: dict[str, float]) -> set[tuple]:
    """What the truth says must be alerted: late, missing, rejected (damaged / unreadable), invalid."""
    out = set()
    for code, county in report.counties.items():
        if county.fault == "late":
            out.add(("late", code, "*", D))
            continue
        for rt, f in county.files.items():
            if f.expected_outcome == "missing":
                out.add(("missing", code, rt, D))
            elif f.expected_outcome == "rejected":
                over = "above the reject threshold" in (f.detail or "")
                out.add(("invalid" if over else "rejected", code, rt, D))
            elif f.rows and len(f.expected_bad_rows) / f.rows > thresholds.get(code, 0.2):
                out.add(("invalid", code, rt, D))
    return out


def messages_to(smtp, hook, code: str, email_counties: set[str]) -> list[str]:
    if code in email_counties:
        return [m["subject"] for m in smtp.to(f"data-{code}@supervision.example")]
    return [p["title"] for p in hook.at(f"/county/{code}")]


def test_simulated_night_alerts_escalation_and_resubmission(alert_db, sinks, tmp_path, monkeypatch):
    smtp, hook = sinks
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path / "data"))
    henan = load_registry(DEFAULT_REGISTRY)
    codes = [c.code for c in henan.counties if c.city_code == "4110"] + ["410102", "410103", "410104"]
    faults = FaultProfile.default(codes, SEED)
    drop = tmp_path / "drop"
    report = simulate_night(henan, D, drop, seed=SEED, faults=faults, counties=codes, scale=0.3)
    assert set(faults.to_dict().values()) == {"late", "missing_type", "bad_rows", "manifest_rows", "manifest_sha256",
                                              "duplicate_record_id", "foreign_rows", "unreadable", "no_manifest"}
    strict = {faults.counties_with("bad_rows")[0]: STRICT}
    email_counties = {c for c, f in faults.to_dict().items() if f in BY_EMAIL}
    reg_path = registry_file(tmp_path, smtp, hook, codes, by_email=email_counties, thresholds=strict)
    reg = load_registry(reg_path)

    # the nightly run (06:30: its clock is when it observes the files), then the monitor right after it
    ctx = RunContext.default(D, drop)
    ctx.clock = at(2026, 11, 23, 6, 30)
    for code in codes:
        process_county(reg.county(code), ctx)
    expected = expected_alerts(report, strict)
    assert {k for k, *_ in expected} == {"late", "missing", "rejected", "invalid"} and len(expected) == 9

    def run(hh: int, mm: int):  # the morning after the business date, Asia/Shanghai
        return run_monitor(at(2026, 11, 23, hh, mm), reg, codes, drop)

    run(6, 40)
    assert keys(alert_db) == expected
    for code in codes:  # each alert delivered once, to its county's contact only
        mine = {(k, rt) for k, c, rt, _ in expected if c == code}
        got = messages_to(smtp, hook, code, email_counties)
        assert len(got) == len(mine), (code, got)
        for kind, rt in mine:  # the title names the kind, the record type and the date
            assert any(KINDS[kind].zh in t and (rt == "*" or rt in t) and "2026-11-22" in t for t in got), got
    for hh, mm in ((7, 0), (7, 30), (8, 0)):  # repeated runs: nothing new
        run(hh, mm)
    assert keys(alert_db) == expected
    assert sum(len(messages_to(smtp, hook, c, email_counties)) for c in codes) == len(expected)

    def escalations(path):
        return [p for p in hook.at(path) if "escalated" in p["title"]]

    assert escalations("/city/4110") == [] and escalations("/city/4101") == []
    run(8, 40)  # 2 h after the alerts were raised: the city supervisors
    for city in ("4110", "4101"):
        assert len(escalations(f"/city/{city}")) == sum(1 for _, c, *_ in expected if c.startswith(city))
    def province():
        return [m for m in smtp.to("supervision-41@supervision.example") if "escalated" in m["subject"]]

    run(10, 39)
    assert province() == []
    run(10, 40)  # 4 h: the province
    assert len(province()) == len(expected)

    # resolving re-submissions: the faulty counties send correct files (the late one after its deadline)
    faulty = sorted({c for _, c, *_ in expected})
    simulate_night(henan, D, drop, seed=SEED, faults=FaultProfile.none(), counties=faulty, scale=0.3)
    late_county = faults.counties_with("late")[0]
    for f in (drop / late_county / str(D)).iterdir():  # backdated: the modification time does not count
        os.utime(f, (at(2026, 11, 23, 5, 0).timestamp(),) * 2)
    ctx.clock = at(2026, 11, 23, 10, 50)  # a re-run at 10:50 is the first to see them
    for code in faulty:
        day = discover(Path(drop), code, D)
        types = RECORD_TYPES if code == late_county else {rt for _, c, rt, _ in expected if c == code}
        for rt in types:
            process_file(reg.county(code), RECORD_TYPES[rt], day, ctx)
    sent_before = len(smtp.messages) + len(hook.received)
    run(11, 0)
    assert keys(alert_db) == set()
    closed = alerts(alert_db)
    assert len(closed) == len(expected) and {a["resolved_by"] for a in closed} == {"monitor"}
    late = next(a for a in closed if a["kind"] == "late")
    assert late["resolution"] == "received at 2026-11-23 10:50 (after the deadline)"
    assert all(a["resolution"].startswith("re-submission ") for a in closed if a["kind"] in ("rejected", "invalid"))
    run(11, 30)
    assert len(smtp.messages) + len(hook.received) == sent_before  # closing is silent; nothing re-sent
    # history for reporting: the late county was late once this month and is not on time for the 22nd
    row = alert_db.execute("SELECT late_days, alerts_late, on_time_days FROM marts.compliance_county_month"
                           " WHERE county_code = %s AND month = '2026-11-01'", (late_county,)).fetchone()
    assert row == (1, 1, 0)
