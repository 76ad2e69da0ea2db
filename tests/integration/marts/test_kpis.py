"""Every measure against hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).

Working-day facts used below (official 2026 calendar): Spring Festival rest Feb 15-23, 调休 Saturdays Feb 14 and
Feb 28; New Year rest Jan 1-3, 调休 Sunday Jan 4; National Day rest Oct 1-7, 调休 Saturday Oct 10.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from supervision import calendar

from .marts_support import AS_OF

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
D = Decimal


def kpi(conn, division: str, period_type: str, period_start: str, name: str):
    row = conn.execute("SELECT numerator, denominator, value FROM marts.kpi WHERE division_code = %s AND "
                       "period_type = %s AND period_start = %s AND kpi = %s",
                       (division, period_type, period_start, name)).fetchone()
    return None if row is None else tuple(None if v is None else D(v) for v in row)


def ratio(num, den, value=None):
    return (D(num), D(den), D(value) if value is not None else round(D(num) / D(den), 4))


def count(n):
    return (D(n), None, D(n))


def test_calendar_facts_the_fixtures_rely_on():
    assert calendar.add_working_days(date(2026, 2, 12), 7) == date(2026, 2, 28)  # via the 调休 Saturdays
    assert calendar.add_working_days(date(2026, 10, 31), 7) == date(2026, 11, 10)
    assert calendar.add_working_days(date(2026, 9, 29), 20) == date(2026, 11, 2)  # across National Day
    assert calendar.add_working_days(date(2025, 12, 31), 7) == date(2026, 1, 12)  # 调休 Sunday Jan 4


def test_sql_deadlines_match_the_python_calendar(world):
    rows = world.execute("SELECT record_id, publicity_limit_working_days, decided_date, publicity_due_date "
                         "FROM marts.enforcement_case_detail WHERE publicity_due_date IS NOT NULL").fetchall()
    assert len(rows) == 6
    for record_id, limit, decided, due in rows:
        assert due == calendar.add_working_days(decided, limit), record_id


# --- enforcement ------------------------------------------------------------------------------------------------

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


# --- reconsideration ----------------------------------------------------------------------------------------------

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


# --- litigation ---------------------------------------------------------------------------------------------------

def test_litigation_rates(world):
    assert kpi(world, "411002", "year", "2026-01-01", "litigation_loss_rate") == ratio(1, 2)  # L1 lost, L2 won
    assert kpi(world, "411002", "month", "2026-06-01", "litigation_loss_rate") == ratio(1, 1)
    assert kpi(world, "411002", "month", "2026-07-01", "litigation_loss_rate") == ratio(0, 1)
    assert kpi(world, "4110", "year", "2026-01-01", "litigation_loss_rate") == ratio(1, 3)  # L4 withdrawn counts
    assert kpi(world, "41", "year", "2026-01-01", "litigation_loss_rate") == ratio(2, 4)
    assert kpi(world, "411002", "year", "2026-01-01", "head_appearance_rate") == ratio(1, 3)
    assert kpi(world, "411002", "month", "2026-04-01", "head_appearance_rate") == ratio(1, 2)
    assert kpi(world, "411002", "year", "2026-01-01", "head_appearance_rate_required") == ratio(1, 2)
    # L1 replied within 60 days of its judgment; L2's 60 days ended 08-30 without a reply.
    assert kpi(world, "411002", "month", "2026-08-01", "judicial_suggestion_reply_rate") == ratio(1, 2)
    assert kpi(world, "411002", "month", "2026-03-01", "litigation_filed") == count(2)


# --- complaints ---------------------------------------------------------------------------------------------------

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
    migration = Path(__file__).parents[3] / "sql" / "migrations" / "V501__complaint_period.sql"
    with world.transaction():
        world.execute(migration.read_text())
    assert figures() == before
    assert kpi(world, "411002", "month", "2026-09-01", "complaints_received") == count(3)
    assert kpi(world, "411002", "month", "2026-11-01", "complaints_handled") == count(1)


# --- the long view, rollups and drill-down ------------------------------------------------------------------------

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


# --- watchlists ---------------------------------------------------------------------------------------------------

def test_watchlists_name_the_agency_and_how_overdue(world):
    rows = world.execute("SELECT kind, county_code, record_id, agency_name, due_date, days_overdue "
                         "FROM marts.watchlist ORDER BY kind, record_id").fetchall()
    assert rows == [
        ("complaint_overdue", "411002", "C3", "许昌市魏都区市场监督管理局", date(2026, 11, 9), 14),
        ("complaint_overdue", "410102", "C9", "郑州市中原区城市管理局", date(2026, 3, 2), 266),
        ("major_without_review", "411002", "E6", "许昌市魏都区市场监督管理局", date(2026, 11, 5), 18),
        ("publicity_overdue", "411002", "E3", "许昌市魏都区市场监督管理局", date(2026, 11, 10), 13),
        ("publicity_overdue", "410102", "E9", "郑州市中原区城市管理局", date(2026, 2, 28), 268),
        ("reconsideration_overdue", "411002", "R4", "许昌市魏都区市场监督管理局", date(2026, 11, 2), 21),
        ("suggestion_unanswered", "411002", "L2", "许昌市魏都区市场监督管理局", date(2026, 8, 30), 85),
    ]
    wd = world.execute("SELECT working_days_overdue FROM marts.watch_publicity_overdue WHERE record_id = 'E3'")
    assert wd.fetchone()[0] == 8  # Nov 11-13 and 16-20 were working days, 11-21/22 the weekend
    rec = world.execute("SELECT deadline_days, extended FROM marts.watch_reconsideration_overdue").fetchall()
    assert rec == [(60, False)]
    assert world.execute("SELECT reported_as FROM marts.watch_major_without_review").fetchall() == [("quarantine",)]


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
