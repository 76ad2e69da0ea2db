"""The complaint measures: models complaint_derived, complaint_detail and kpi_contribution_complaint.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

import pytest

from ..marts_support import count, kpi, ratio

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_complaint_on_time_rate(world):
    assert kpi(world, "411002", "month", "2026-10-01", "complaint_on_time_rate") == ratio(1, 1)  # C1
    assert kpi(world, "411002", "month", "2026-11-01", "complaint_on_time_rate") == ratio(0, 2)  # C2 late, C3 open
    assert kpi(world, "411002001", "month", "2026-11-01", "complaint_on_time_rate") == ratio(0, 1)
    assert kpi(world, "411002999", "month", "2026-11-01", "complaint_on_time_rate") == ratio(0, 1)
    assert kpi(world, "411002", "month", "2026-12-01", "complaint_on_time_rate") is None  # C4 not yet due
    # Counted in the period it was handled (domain.md, V501), not when its 60 days ran out: C5, received 08-01 and
    # handled 08-15, is August's (its due date 09-30 used to put it in September).
    assert kpi(world, "411003", "month", "2026-08-01", "complaint_on_time_rate") == ratio(1, 1)
    assert kpi(world, "411003", "month", "2026-09-01", "complaint_on_time_rate") is None


def test_complaint_rebase_migration_equals_the_refresh(world):
    """V501 re-bases the materialized figures itself (no full refresh needed after upgrading): run again on the
    refreshed world, it leaves every figure as the refresh made it."""
    from pathlib import Path

    def figures():
        return set(world.execute("SELECT division_code, period_type, period_start, kpi, level, county_code, "
                                 "numerator, denominator, records FROM marts.kpi_value"))

    before = figures()
    migration = Path(__file__).parents[4] / "sql" / "migrations" / "V501__complaint_period.sql"
    with world.transaction():
        world.execute(migration.read_text())
    assert figures() == before
    assert kpi(world, "411002", "month", "2026-09-01", "complaints_received") == count(3)
    assert kpi(world, "411002", "month", "2026-11-01", "complaints_handled") == count(1)
