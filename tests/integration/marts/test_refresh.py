"""Incremental refreshes give exactly what a full one gives; watermark, key rotation, calendar overrides,
recovery from an inconsistency, the command line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import psycopg
import pytest

from supervision import calendar
from supervision.marts import pii
from supervision.marts.refresh import last_refresh, refresh_marts

from .marts_support import (
    AS_OF,
    VIOLATION,
    complaint,
    enforcement,
    load,
    make_key,
    quarantine,
    reconsideration,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
LATER = "2026-11-23T09:00:00+08:00"


def figures(conn) -> set[tuple]:
    return set(conn.execute("SELECT division_code, period_type, period_start, kpi, level, county_code, numerator, "
                            "denominator, records FROM marts.kpi_value"))


def kpi(conn, division, period_type, period_start, name):
    return conn.execute("SELECT numerator, denominator FROM marts.kpi WHERE division_code = %s AND period_type = %s "
                        "AND period_start = %s AND kpi = %s", (division, period_type, period_start, name)).fetchone()


def test_nothing_loaded_nothing_changes(world, pii_key):
    before = figures(world)
    r = refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
    assert (r.mode, r.facts_changed, r.history_added, r.kpi_rows) == ("incremental", 0, 0, 0)
    assert figures(world) == before


def test_incremental_refreshes_equal_a_full_one(world, pii_key):
    # The next night: C3 handled (in time), R4 decided, E3 publicized late, a new act in 鄢陵县, E6 sent again with
    # its legal review (the violation goes away), a new violation in 建安区, a complaint moved to another township.
    load(world, "complaints", [complaint("C3", "411002", received="2026-09-10", handled="2026-11-08", updated_at=LATER),
                               complaint("C5", "411003", township="411003101", received="2026-08-01",
                                         handled="2026-08-15", updated_at=LATER)])
    load(world, "reconsideration_cases", [reconsideration("R4", "411002", received="2026-08-31", accepted="2026-09-01",
                                                          decided="2026-11-20", outcome="revoked", updated_at=LATER)])
    load(world, "enforcement_cases", [
        enforcement("E3", "411002", township="411002002", action="licensing", filed="2026-10-31", decided="2026-10-31",
                    publicized="2026-11-20", domain="transport", updated_at=LATER),
        enforcement("E10", "411024", township="411024100", filed="2026-11-22", decided="2026-11-22", fine=50.0,
                    updated_at=LATER),
        {**VIOLATION, "legal_review_done": True, "updated_at": LATER},
    ])
    quarantine(world, enforcement("E11", "411003", township="411003100", filed="2026-11-10", decided="2026-11-12",
                                  major=True, review=False, updated_at=LATER))
    r = refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
    assert r.mode == "incremental" and r.facts_changed == 6 and r.history_added == 6
    assert kpi(world, "411002", "month", "2026-11-01", "complaint_on_time_rate") == (1, 2)  # C3 now on time
    assert kpi(world, "411002", "month", "2026-11-01", "reconsideration_correction_rate") == (1, 1)  # R4
    assert kpi(world, "411002", "month", "2026-11-01", "legal_review_rate") == (1, 1)  # E6 reviewed now
    assert kpi(world, "411003", "month", "2026-11-01", "legal_review_rate") == (0, 1)  # E11 quarantined
    assert kpi(world, "411024", "year", "2026-01-01", "enforcement_acts") == (1, None)
    assert kpi(world, "4110", "year", "2026-01-01", "enforcement_acts") == (7, None)  # + E10, E6 (now loaded)
    # C5 moved away (counted in August, when it was handled)
    assert kpi(world, "411003100", "month", "2026-08-01", "complaint_on_time_rate") is None
    assert kpi(world, "411003101", "month", "2026-08-01", "complaint_on_time_rate") == (1, 1)
    kinds = {r[0] for r in world.execute("SELECT kind || ':' || record_id FROM marts.watchlist")}
    assert "complaint_overdue:C3" not in kinds and "reconsideration_overdue:R4" not in kinds
    assert "major_without_review:E11" in kinds and "major_without_review:E6" not in kinds
    # The as-of date moves on: C4 (due 2026-12-31, still open) becomes late; then back again.
    for as_of in (date(2027, 1, 5), date(2026, 12, 1), date(2027, 1, 5)):
        refresh_marts(world, key=pii_key, as_of=as_of, migrate=False)
    assert kpi(world, "411002", "month", "2026-12-01", "complaint_on_time_rate") == (0, 1)
    incremental = figures(world)
    r = refresh_marts(world, key=pii_key, as_of=date(2027, 1, 5), migrate=False, full=True)
    assert r.mode == "full"
    assert figures(world) == incremental
    refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)  # back to the world's as-of date


def test_watermark_waits_for_open_transactions(world, migrated_url, pii_key):
    with psycopg.connect(migrated_url) as other:
        started = other.execute("SELECT now()").fetchone()[0]  # a load in progress, not committed
        refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
        watermark = world.execute("SELECT watermark FROM ops.marts_refresh ORDER BY refresh_id DESC LIMIT 1")
        assert watermark.fetchone()[0] <= started
        other.rollback()


def test_a_new_key_rebuilds_every_pseudonym(world, pii_key):
    def pseudonyms():
        return {r[0] for r in world.execute("SELECT party_id_pseudonym FROM marts.fact_enforcement_case")}

    before, new_key = pseudonyms(), make_key()
    r = refresh_marts(world, key=new_key, as_of=AS_OF, migrate=False)
    assert (r.mode, r.reason) == ("full", "the PII key changed")
    assert pseudonyms().isdisjoint(before)
    r = refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
    assert r.mode == "full" and pseudonyms() == before


def test_calendar_override_moves_the_deadlines(world, pii_key, tmp_path, monkeypatch):
    # Make Tuesday 2026-02-24 a (local) holiday: E1 and E2 are then due 2026-03-02, so E2 is on time too.
    f = tmp_path / "overrides.yaml"
    f.write_text("holidays:\n  2026-02-24: 地方假日\n", encoding="utf-8")
    monkeypatch.setenv(calendar.OVERRIDES_ENV, str(f))
    r = refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
    assert (r.mode, r.reason) == ("full", "the working-day calendar changed")
    assert world.execute("SELECT is_working_day, source FROM marts.dim_date WHERE date = '2026-02-24'").fetchone() == (
        False, "override")
    assert kpi(world, "411002", "day", "2026-03-02", "publicity_rate") == (2, 2)
    assert kpi(world, "411002", "day", "2026-02-28", "publicity_rate") is None
    monkeypatch.delenv(calendar.OVERRIDES_ENV)
    refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
    assert kpi(world, "411002", "day", "2026-02-28", "publicity_rate") == (1, 2)


def test_an_inconsistent_figure_is_recomputed(world, pii_key):
    # Someone tampered with a figure; then C1 moves to 2025, so its 2026 contribution is subtracted from it.
    world.execute("UPDATE marts.kpi_value SET records = 0, numerator = 99 WHERE division_code = '411002' "
                  "AND period_type = 'year' AND period_start = '2026-01-01' AND kpi = 'complaints_received'")
    load(world, "complaints", [complaint("C1", "411002", township="411002001", received="2025-12-30",
                                         handled="2026-10-30", updated_at="2026-11-23T10:00:00+08:00")])
    r = refresh_marts(world, key=pii_key, as_of=AS_OF, migrate=False)
    assert "recomputed" in r.kpi_scope
    row = world.execute("SELECT numerator, records FROM marts.kpi_value WHERE division_code = '411002' "
                        "AND period_type = 'year' AND period_start = '2026-01-01' AND kpi = 'complaints_received'")
    assert row.fetchone() == (Decimal(3), 3)  # C2, C3, C4


def test_command_line(world, monkeypatch, capsys):
    from supervision.marts.cli import main

    monkeypatch.setenv(pii.KEY_ENV, "a-key-only-for-this-test-0123456789")
    assert main(["marts", "refresh", "--as-of", "2026-11-23"]) == 0
    assert "marts refreshed (full: the PII key changed) as of 2026-11-23" in capsys.readouterr().out
    assert main(["marts", "status"]) == 0
    assert '"mode": "full"' in capsys.readouterr().out
    assert last_refresh(world)["as_of_date"] == AS_OF
