"""Deadlines under a controlled clock: across midnight (Asia/Shanghai vs UTC), month and year ends, public
holidays and adjusted working weekends, extensions and exemptions."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from supervision.alerting.judge import due_at
from supervision.calendar import is_working_day, next_working_day

from .helpers import at, county, evidence, findings, grant, probe

UTC = ZoneInfo("UTC")
D = date(2026, 11, 22)


def late_at(now: datetime, c=None, d=D, **kw) -> bool:
    c = c or county()
    ev = evidence(now, dates=[d], first_seen={c.code: d}, probes={(c.code, d): probe(None)}, **kw)
    return ("late", c.code, "*", d) in findings([c], ev)


def test_default_deadline_is_0600_next_day_which_is_2200_utc_the_same_day():
    assert county().deadline_at(D) == at(2026, 11, 23, 6, 0)
    assert not late_at(datetime(2026, 11, 22, 21, 59, 59, tzinfo=UTC))  # 05:59:59 in Shanghai
    assert late_at(datetime(2026, 11, 22, 22, 0, tzinfo=UTC))  # 06:00 in Shanghai, still the 22nd in UTC


def test_deadline_across_the_year_end():
    d = date(2026, 12, 31)
    assert county().deadline_at(d) == at(2027, 1, 1, 6, 0)
    assert not late_at(at(2027, 1, 1, 5, 59), d=d)
    assert late_at(at(2027, 1, 1, 6, 1), d=d)


def test_same_day_deadline_before_midnight():
    c = county(deadline="23:30", deadline_day_offset=0)
    assert c.deadline_at(D) == at(2026, 11, 22, 23, 30)
    assert not late_at(at(2026, 11, 22, 23, 29), c)
    assert late_at(at(2026, 11, 22, 23, 31), c)


def test_calendar_knows_national_day_and_the_adjusted_working_saturday():
    assert not is_working_day(date(2026, 10, 1)) and not is_working_day(date(2026, 10, 7))
    assert is_working_day(date(2026, 10, 10))  # Saturday, adjusted working day (调休)
    assert not is_working_day(date(2026, 11, 21))  # an ordinary Saturday
    assert next_working_day(date(2026, 10, 1)) == date(2026, 10, 8)


def test_a_public_holiday_does_not_move_the_default_deadline():
    # County systems export every day: business date 30 September is due on National Day at 06:00.
    assert county().deadline_at(date(2026, 9, 30)) == at(2026, 10, 1, 6, 0)
    assert late_at(at(2026, 10, 1, 6, 5), d=date(2026, 9, 30))


@pytest.mark.parametrize("business_date, due", [
    (date(2026, 9, 30), at(2026, 10, 8, 6, 0)),  # due on National Day -> first working day after the holiday
    (date(2026, 11, 20), at(2026, 11, 23, 6, 0)),  # due on a Saturday -> Monday
    (date(2026, 10, 9), at(2026, 10, 10, 6, 0)),  # due on the adjusted working Saturday: stays
    (date(2026, 11, 23), at(2026, 11, 24, 6, 0)),  # an ordinary Tuesday
], ids=["national-day", "weekend", "adjusted-working-saturday", "working-day"])
def test_rest_day_policy_moves_deadlines_to_the_next_working_day(business_date, due):
    c = county(deadline_on_rest_days="next_working_day")
    assert c.deadline_at(business_date) == due
    assert not late_at(due - timedelta(minutes=1), c, business_date)
    assert late_at(due, c, business_date)


def test_extension_by_hours_and_until_the_most_generous_wins():
    c = county()
    plus4 = grant("extension", extra_hours=4.0)
    until = grant("extension", deadline_until=at(2026, 11, 23, 9, 0))
    assert due_at(c, "*", D, [plus4]) == (at(2026, 11, 23, 10, 0), plus4)
    assert due_at(c, "*", D, [plus4, until]) == (at(2026, 11, 23, 10, 0), plus4)
    assert due_at(c, "*", D, [until]) == (at(2026, 11, 23, 9, 0), until)
    assert not late_at(at(2026, 11, 23, 9, 59), grants=[plus4])
    assert late_at(at(2026, 11, 23, 10, 0), grants=[plus4])


def test_type_specific_extension_does_not_move_the_county_deadline():
    c = county()
    g = grant("extension", rt="complaints", extra_hours=24.0)
    assert due_at(c, "complaints", D, [g])[0] == at(2026, 11, 24, 6, 0)
    assert due_at(c, "enforcement_cases", D, [g])[0] == at(2026, 11, 23, 6, 0)
    assert due_at(c, "*", D, [g])[0] == at(2026, 11, 23, 6, 0)


def test_grants_outside_their_dates_or_county_do_not_apply():
    c = county()
    assert due_at(c, "*", D, [grant("extension", lo=D + timedelta(days=1), hi=D + timedelta(days=3),
                                    extra_hours=5.0)])[0] == at(2026, 11, 23, 6, 0)
    assert due_at(c, "*", D, [grant("extension", c="411003", extra_hours=5.0)])[0] == at(2026, 11, 23, 6, 0)


def test_exemption_means_never_late():
    assert not late_at(at(2026, 11, 25, 12, 0), grants=[grant("exemption")])


def test_an_override_moves_an_alert_deadline_as_the_marts_see_it(tmp_path, monkeypatch):
    """One calendar: a holiday added to the overrides file moves a rest-day deadline and marts.dim_date alike."""
    from supervision import calendar

    c = county(deadline_on_rest_days="next_working_day")
    friday = date(2026, 11, 20)  # due Saturday 21st, a rest day: moves to Monday 23rd ...
    saturday = date(2026, 11, 21)

    def marts_next_working_day() -> date:
        rows = calendar.dim_date_rows(saturday, date(2026, 11, 30))
        return rows[0][calendar.DIM_DATE_COLUMNS.index("next_working_day")]

    assert due_at(c, "complaints", friday, [])[0] == at(2026, 11, 23, 6, 0)
    assert marts_next_working_day() == date(2026, 11, 23)
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text("holidays:\n  2026-11-23: 地方假日\n", encoding="utf-8")
    monkeypatch.setenv(calendar.OVERRIDES_ENV, str(overrides))  # ... unless Monday is declared a holiday
    assert due_at(c, "complaints", friday, [])[0] == at(2026, 11, 24, 6, 0)
    assert marts_next_working_day() == date(2026, 11, 24)
    assert not is_working_day(date(2026, 11, 23)) and late_at(at(2026, 11, 24, 6, 1), c, friday)
    assert not late_at(at(2026, 11, 23, 12, 0), c, friday)
