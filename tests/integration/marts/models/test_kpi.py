"""Models kpi_contribution (the union) and kpi (the long view): names, values, every level the sum of its parts.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

from datetime import date

import pytest

from ..marts_support import AS_OF, D

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_long_view_names_and_values(world):
    row = world.execute(
        "SELECT level, division_code, division_name, period_type, period_start, kpi, numerator, denominator, value, "
        "kpi_name, as_of_date FROM marts.kpi WHERE division_code = '4110' AND period_type = 'year' "
        "AND period_start = '2026-01-01' AND kpi = 'reconsideration_correction_rate'").fetchone()
    assert row == ("city", "4110", "许昌市", "year", date(2026, 1, 1), "reconsideration_correction_rate", D(3), D(5),
                   D("0.6000"), "行政复议直接纠错率", AS_OF)
    names = dict(world.execute("SELECT division_code, division_name FROM marts.kpi WHERE division_code IN "
                               "('411002', '411002001', '411002999', '41') GROUP BY 1, 2").fetchall())
    assert names == {"411002": "魏都区", "411002001": "西大街道", "411002999": "（未指定乡镇）", "41": "河南省"}


def test_every_kpi_of_the_catalog_is_defined_and_every_produced_kpi_is_in_the_catalog(world):
    produced = {r[0] for r in world.execute("SELECT DISTINCT kpi FROM marts.kpi_value")}
    defined = {r[0] for r in world.execute("SELECT kpi FROM marts.kpi_definition")}
    assert produced <= defined
    families = {k.split(".")[0] for k in defined}
    assert families <= {k.split(".")[0] for k in produced} | {"enforcement_acts"}


ROLLUPS = {
    "township->county": """
        SELECT c.kpi, c.period_type, c.period_start, c.division_code, c.numerator, c.denominator,
               sum(t.numerator), sum(t.denominator)
        FROM marts.kpi_value c JOIN marts.kpi_value t ON t.level = 'township' AND t.county_code = c.division_code
             AND (t.kpi, t.period_type, t.period_start) = (c.kpi, c.period_type, c.period_start)
        WHERE c.level = 'county' GROUP BY 1, 2, 3, 4, 5, 6""",
    "county->city": """
        SELECT c.kpi, c.period_type, c.period_start, c.division_code, c.numerator, c.denominator,
               sum(t.numerator), sum(t.denominator)
        FROM marts.kpi_value c JOIN marts.dim_division d ON d.city_code = c.division_code AND d.level = 'county'
        JOIN marts.kpi_value t ON t.division_code = d.division_code
             AND (t.kpi, t.period_type, t.period_start) = (c.kpi, c.period_type, c.period_start)
        WHERE c.level = 'city' GROUP BY 1, 2, 3, 4, 5, 6""",
    "city->province": """
        SELECT c.kpi, c.period_type, c.period_start, c.division_code, c.numerator, c.denominator,
               sum(t.numerator), sum(t.denominator)
        FROM marts.kpi_value c JOIN marts.dim_division d ON d.province_code = c.division_code AND d.level = 'city'
        JOIN marts.kpi_value t ON t.division_code = d.division_code
             AND (t.kpi, t.period_type, t.period_start) = (c.kpi, c.period_type, c.period_start)
        WHERE c.level = 'province' GROUP BY 1, 2, 3, 4, 5, 6""",
    "day->month": """
        SELECT c.kpi, c.period_type, c.period_start, c.division_code, c.numerator, c.denominator,
               sum(t.numerator), sum(t.denominator)
        FROM marts.kpi_value c JOIN marts.kpi_value t ON t.division_code = c.division_code AND t.kpi = c.kpi
             AND t.period_type = 'day' AND date_trunc('month', t.period_start) = c.period_start
        WHERE c.period_type = 'month' GROUP BY 1, 2, 3, 4, 5, 6""",
    "month->year": """
        SELECT c.kpi, c.period_type, c.period_start, c.division_code, c.numerator, c.denominator,
               sum(t.numerator), sum(t.denominator)
        FROM marts.kpi_value c JOIN marts.kpi_value t ON t.division_code = c.division_code AND t.kpi = c.kpi
             AND t.period_type = 'month' AND date_trunc('year', t.period_start) = c.period_start
        WHERE c.period_type = 'year' GROUP BY 1, 2, 3, 4, 5, 6""",
}


@pytest.mark.parametrize("rollup", ROLLUPS)


def test_a_level_is_the_sum_of_its_parts(world, rollup):
    rows = world.execute(ROLLUPS[rollup]).fetchall()
    assert rows, "nothing to compare"
    bad = [r for r in rows if (r[4], r[5]) != (r[6], r[7])]
    assert bad == []


def test_every_parent_row_has_parts_and_vice_versa(world):
    # A county's township-level KPIs (enforcement, complaints) sum to the county; every county row rolls up.
    orphans = world.execute("""
        SELECT v.division_code, v.kpi FROM marts.kpi_value v JOIN marts.kpi_definition k USING (kpi)
        WHERE v.level = 'county' AND k.township_level AND NOT EXISTS (
            SELECT FROM marts.kpi_value t WHERE t.level = 'township' AND t.county_code = v.division_code
              AND (t.kpi, t.period_type, t.period_start) = (v.kpi, v.period_type, v.period_start))""").fetchall()
    assert orphans == []
    cities = {r[0] for r in world.execute("SELECT DISTINCT division_code FROM marts.kpi_value WHERE level = 'city'")}
    assert cities == {"4110", "4101"}
