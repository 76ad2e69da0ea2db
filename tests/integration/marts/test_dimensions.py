"""The dimensions (tables filled by the refresh) on the Xuchang world of marts_support.py (as of 2026-11-23); the
measures, watchlists and other views are tested per model in models/.

Working-day facts used below (official 2026 calendar): Spring Festival rest Feb 15-23, 调休 Saturdays Feb 14 and
Feb 28; New Year rest Jan 1-3, 调休 Sunday Jan 4; National Day rest Oct 1-7, 调休 Saturday Oct 10.
"""

from __future__ import annotations

from datetime import date

import pytest

from supervision import calendar

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_calendar_facts_the_fixtures_rely_on():
    assert calendar.add_working_days(date(2026, 2, 12), 7) == date(2026, 2, 28)  # via the 调休 Saturdays
    assert calendar.add_working_days(date(2026, 10, 31), 7) == date(2026, 11, 10)
    assert calendar.add_working_days(date(2026, 9, 29), 20) == date(2026, 11, 2)  # across National Day
    assert calendar.add_working_days(date(2025, 12, 31), 7) == date(2026, 1, 12)  # 调休 Sunday Jan 4


# --- dimensions ---------------------------------------------------------------------------------------------------

def test_division_dimension_knows_every_level(world):
    row = world.execute("SELECT level, name, full_name, township_code, county_code, county_name, city_code, "
                        "city_name, province_code, province_name FROM marts.dim_division "
                        "WHERE division_code = '411024'").fetchone()
    assert row == ("county", "鄢陵县", "河南省 / 许昌市 / 鄢陵县", None, "411024", "鄢陵县", "4110", "许昌市", "41",
                   "河南省")
    row = world.execute("SELECT full_name, county_code, city_code, province_code FROM marts.dim_division "
                        "WHERE division_code = '411002001'").fetchone()
    assert row == ("河南省 / 许昌市 / 魏都区 / 西大街道", "411002", "4110", "41")
    n = world.execute("SELECT count(*) FILTER (WHERE level = 'township' AND NOT is_unassigned), "
                      "count(*) FILTER (WHERE is_unassigned), count(*) FILTER (WHERE level = 'county') "
                      "FROM marts.dim_division").fetchone()
    assert n[0] > 40_000 and n[1] == n[2] > 2_900


def test_date_dimension_working_days(world):
    rows = {r[0]: r[1:] for r in world.execute(
        "SELECT date, is_working_day, is_holiday, is_adjusted_working_day, holiday_name FROM marts.dim_date "
        "WHERE date IN ('2026-02-14', '2026-02-16', '2026-10-10', '2026-10-11', '2026-10-12')")}
    assert rows[date(2026, 2, 14)] == (True, False, True, "春节")
    assert rows[date(2026, 2, 16)] == (False, True, False, "春节")
    assert rows[date(2026, 10, 10)] == (True, False, True, "国庆节")
    assert rows[date(2026, 10, 11)] == (False, False, False, None)
    assert rows[date(2026, 10, 12)] == (True, False, False, None)
    src = dict(world.execute("SELECT year, min(source) FROM marts.dim_date WHERE year IN (2026, 2027) "
                             "GROUP BY 1").fetchall())
    assert src == {2026: "chinese_calendar", 2027: "weekday_fallback"}


def test_agency_dimension_with_name_history(world):
    row = world.execute("SELECT agency_name, registered_division, enforcement_cases, reconsideration_cases, "
                        "litigation_cases, complaints FROM marts.dim_agency WHERE county_code = '411002'").fetchone()
    assert row == ("许昌市魏都区市场监督管理局", "411002", 5, 4, 3, 4)
