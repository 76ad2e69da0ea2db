"""Model kpi_case: the drill-down adds up to the figures.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

import pytest

from ..marts_support import D

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_drill_down_adds_up_to_the_figures(world):
    rows = world.execute("""
        SELECT v.division_code, v.kpi, v.numerator, v.denominator, sum(c.numerator), sum(c.denominator)
        FROM marts.kpi_value v
        JOIN marts.kpi_case c ON c.county_code = v.division_code AND c.kpi = v.kpi
             AND date_trunc('year', c.period_date) = v.period_start
        WHERE v.level = 'county' AND v.period_type = 'year'
        GROUP BY 1, 2, 3, 4""").fetchall()
    assert rows and all((r[2], r[3]) == (r[4], r[5]) for r in rows)
    cases = world.execute("SELECT record_id, numerator FROM marts.kpi_case WHERE kpi = 'publicity_rate' "
                          "AND county_code = '411002' AND period_date BETWEEN '2026-02-01' AND '2026-02-28' "
                          "ORDER BY record_id").fetchall()
    assert cases == [("E1", D(1)), ("E2", D(0))]
