"""The reconsideration measures: models reconsideration_case_derived, reconsideration_case_detail and
kpi_contribution_reconsideration.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

from datetime import date

import pytest

from ..marts_support import count, kpi, ratio

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_reconsideration_deadlines(world):
    rows = dict(world.execute("SELECT record_id, deadline_date FROM marts.reconsideration_case_detail").fetchall())
    assert rows["R1"] == date(2026, 10, 8)  # extended: 07-03 + 90 = 10-01 (National Day) -> first working day
    assert rows["R2"] == date(2026, 10, 8)  # 08-02 + 60 = 10-01 -> 10-08
    assert rows["R3"] == date(2026, 10, 8)  # simplified: 09-01 + 30
    assert rows["R4"] == date(2026, 11, 2)  # 10-31 is a Saturday
    assert rows["R5"] == date(2026, 11, 16)


def test_reconsideration_rates(world):
    # October: R1 (revoked, on time thanks to the extension and the holiday roll-over), R2 (upheld, a day late).
    assert kpi(world, "411002", "month", "2026-10-01", "reconsideration_correction_rate") == ratio(1, 2)
    assert kpi(world, "411002", "month", "2026-10-01", "reconsideration_on_time_rate") == ratio(1, 2)
    assert kpi(world, "411002", "month", "2026-09-01", "reconsideration_correction_rate") == ratio(1, 1)  # R3
    assert kpi(world, "411002", "year", "2026-01-01", "reconsideration_correction_rate") == ratio(2, 3)
    assert kpi(world, "411002", "year", "2026-01-01", "reconsideration_decided") == count(3)  # R4 pending
    assert kpi(world, "411002", "year", "2026-01-01", "reconsideration_received") == count(4)
    # Period boundary: R5 decided on 10-31 belongs to October, R6 on 11-01 to November.
    assert kpi(world, "411003", "month", "2026-10-01", "reconsideration_correction_rate") == ratio(1, 1)
    assert kpi(world, "411003", "month", "2026-11-01", "reconsideration_correction_rate") == ratio(0, 1)
    assert kpi(world, "4110", "month", "2026-10-01", "reconsideration_correction_rate") == ratio(2, 3)
    assert kpi(world, "4110", "year", "2026-01-01", "reconsideration_correction_rate") == ratio(3, 5)
    assert kpi(world, "4110", "year", "2026-01-01", "reconsideration_on_time_rate") == ratio(4, 5)
    assert kpi(world, "41", "year", "2026-01-01", "reconsideration_correction_rate") == ratio(4, 6)
    # Township level: reconsideration cases carry no township, so there are no township rows.
    assert world.execute("SELECT count(*) FROM marts.kpi_value WHERE level = 'township' "
                         "AND kpi LIKE 'reconsideration%'").fetchone()[0] == 0
