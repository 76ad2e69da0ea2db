"""The enforcement measures: models enforcement_case_derived, enforcement_case_detail,
kpi_contribution_enforcement and kpi_contribution_violation.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

import pytest

from supervision import calendar

from ..marts_support import count, kpi, ratio

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_sql_deadlines_match_the_python_calendar(world):
    rows = world.execute("SELECT record_id, publicity_limit_working_days, decided_date, publicity_due_date "
                         "FROM marts.enforcement_case_detail WHERE publicity_due_date IS NOT NULL").fetchall()
    assert len(rows) == 6
    for record_id, limit, decided, due in rows:
        assert due == calendar.add_working_days(decided, limit), record_id


def test_enforcement_volumes_by_level(world):
    assert kpi(world, "411002", "year", "2026-01-01", "enforcement_acts") == count(5)  # E1-E5
    assert kpi(world, "411002001", "year", "2026-01-01", "enforcement_acts") == count(2)  # E1, E2
    assert kpi(world, "411002002", "year", "2026-01-01", "enforcement_acts") == count(2)  # E3, E5
    assert kpi(world, "411002999", "year", "2026-01-01", "enforcement_acts") == count(1)  # E4: no township
    assert kpi(world, "411002", "month", "2026-02-01", "enforcement_acts") == count(2)
    assert kpi(world, "411002", "day", "2026-02-01", "enforcement_acts") == count(1)
    assert kpi(world, "411002", "year", "2026-01-01", "enforcement_acts.action.penalty") == count(2)
    assert kpi(world, "411002", "year", "2026-01-01", "enforcement_acts.domain.transport") == count(2)  # E3, E5
    assert kpi(world, "411003", "year", "2025-01-01", "enforcement_acts") == count(1)  # E7 filed 2025-12-20
    assert kpi(world, "4110", "year", "2026-01-01", "enforcement_acts") == count(5)
    assert kpi(world, "41", "year", "2026-01-01", "enforcement_acts") == count(6)  # + E9 in Zhengzhou


def test_fines_belong_to_the_year_of_the_decision(world):
    assert kpi(world, "411002", "month", "2026-02-01", "fine_amount") == count("800.50")
    assert kpi(world, "411002", "month", "2026-02-01", "penalty_decisions") == count(2)
    assert kpi(world, "411003", "year", "2025-01-01", "fine_amount") == count("1000.00")  # decided 2025-12-31
    assert kpi(world, "411003", "year", "2026-01-01", "fine_amount") is None
    assert kpi(world, "41", "month", "2026-02-01", "fine_amount") == count("10799.50")  # + 9999 in Zhengzhou


def test_full_process_record_rate(world):
    assert kpi(world, "411002", "year", "2026-01-01", "full_process_record_rate") == ratio(4, 5)  # E2 not recorded
    assert kpi(world, "411002001", "month", "2026-02-01", "full_process_record_rate") == ratio(1, 2)


def test_publicity_rate_counts_working_days_and_adjusted_weekends(world):
    # E1 publicized on the 调休 Saturday 2026-02-28, its deadline: on time. E2 on 03-02: late. Both due 02-28.
    assert kpi(world, "411002", "day", "2026-02-28", "publicity_rate") == ratio(1, 2)
    assert kpi(world, "411002", "month", "2026-02-01", "publicity_rate") == ratio(1, 2)
    # E3 (due 11-10, never publicized, deadline passed) late; E5 (20 working days, due 11-02) on time.
    assert kpi(world, "411002", "month", "2026-11-01", "publicity_rate") == ratio(1, 2)
    assert kpi(world, "411002002", "month", "2026-11-01", "publicity_rate") == ratio(1, 2)
    assert kpi(world, "411002", "year", "2026-01-01", "publicity_rate") == ratio(2, 4)
    # E7 decided 2025-12-31 is due 2026-01-12: the measure belongs to January 2026, not to 2025.
    assert kpi(world, "411003", "month", "2026-01-01", "publicity_rate") == ratio(1, 1)
    assert kpi(world, "411003", "year", "2025-01-01", "publicity_rate") is None
    assert kpi(world, "4110", "year", "2026-01-01", "publicity_rate") == ratio(3, 5)
    assert kpi(world, "41", "year", "2026-01-01", "publicity_rate") == ratio(3, 6)  # E9 late


def test_legal_review_rate_counts_quarantined_violations(world):
    assert kpi(world, "411002", "month", "2026-09-01", "legal_review_rate") == ratio(1, 1)  # E5
    assert kpi(world, "411002", "month", "2026-11-01", "legal_review_rate") == ratio(0, 1)  # E6, quarantined
    assert kpi(world, "411002002", "year", "2026-01-01", "legal_review_rate") == ratio(1, 2)
