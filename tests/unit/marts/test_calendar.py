"""The PRC working-day calendar: holidays, adjusted working weekends (调休), overrides, fallback years."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from supervision import calendar as cal


def test_2026_national_day_and_its_adjusted_saturday():
    days = {d.date: d for d in cal.days(date(2026, 9, 30), date(2026, 10, 12), cal.Overrides.empty())}
    assert days[date(2026, 9, 30)].is_working_day
    assert all(not days[date(2026, 10, d)].is_working_day and days[date(2026, 10, d)].is_holiday for d in range(1, 8))
    assert days[date(2026, 10, 1)].holiday_name == "国庆节"
    sat = days[date(2026, 10, 10)]
    assert sat.is_working_day and sat.is_adjusted_working_day and not sat.is_holiday and sat.holiday_name == "国庆节"
    sun = days[date(2026, 10, 11)]
    assert not sun.is_working_day and not sun.is_holiday and sun.holiday_name is None


@pytest.mark.parametrize(("start", "n", "due"), [
    (date(2026, 2, 12), 7, date(2026, 2, 28)),   # 调休 Saturdays Feb 14 and 28 count, Feb 15-23 do not
    (date(2026, 9, 29), 20, date(2026, 11, 2)),  # across the National Day week
    (date(2025, 12, 31), 7, date(2026, 1, 12)),  # New Year 2026 and the 调休 Sunday Jan 4
    (date(2026, 10, 31), 7, date(2026, 11, 10)),  # from a Saturday
    (date(2026, 11, 20), 1, date(2026, 11, 23)),  # Friday + 1 = Monday
])
def test_add_working_days(start, n, due):
    assert cal.add_working_days(start, n, cal.Overrides.empty()) == due


def test_dim_date_rows_sequence_and_next_working_day():
    rows = cal.dim_date_rows(date(2026, 9, 28), date(2026, 10, 14), cal.Overrides.empty())
    by = {r[0]: dict(zip(cal.DIM_DATE_COLUMNS, r, strict=True)) for r in rows}
    assert len(rows) == 17 and len(rows[0]) == len(cal.DIM_DATE_COLUMNS)
    assert by[date(2026, 9, 28)]["working_day_seq"] == 1
    assert by[date(2026, 9, 30)]["working_day_seq"] == 3
    assert by[date(2026, 10, 5)]["working_day_seq"] == 3  # a rest day keeps the number of the day before
    assert by[date(2026, 10, 8)]["working_day_seq"] == 4
    assert by[date(2026, 10, 1)]["next_working_day"] == date(2026, 10, 8)
    assert by[date(2026, 10, 9)]["next_working_day"] == date(2026, 10, 9)
    assert by[date(2026, 10, 11)]["next_working_day"] == date(2026, 10, 12)
    # N working days after D is the working day numbered seq(D) + N, the rule the SQL uses.
    working = {r["working_day_seq"]: d for d, r in by.items() if r["is_working_day"]}
    assert working[by[date(2026, 9, 29)]["working_day_seq"] + 5] == cal.add_working_days(date(2026, 9, 29), 5,
                                                                                          cal.Overrides.empty())
    assert by[date(2026, 10, 3)]["month_start"] == date(2026, 10, 1) and by[date(2026, 10, 3)]["quarter"] == 4


def test_a_year_without_official_data_falls_back_to_weekdays():
    assert 2026 in cal.library_years() and 2027 not in cal.library_years()
    days = cal.days(date(2027, 1, 1), date(2027, 1, 4), cal.Overrides.empty())
    assert [d.source for d in days] == ["weekday_fallback"] * 4
    assert [d.is_working_day for d in days] == [True, False, False, True]  # no New Year holiday known


def test_overrides_file(tmp_path, monkeypatch):
    f = tmp_path / "cal.yaml"
    f.write_text("holidays:\n  2027-01-01: 元旦\n  2026-11-23: 本地假日\nworkdays:\n  2027-02-07: 春节\n",
                 encoding="utf-8")
    monkeypatch.setenv(cal.OVERRIDES_ENV, str(f))
    ov = cal.load_overrides()
    new_year = cal.classify(date(2027, 1, 1), ov)
    assert (new_year.is_working_day, new_year.is_holiday, new_year.holiday_name, new_year.source) == (
        False, True, "元旦", "override")
    sunday = cal.classify(date(2027, 2, 7), ov)
    assert sunday.is_working_day and sunday.is_adjusted_working_day and sunday.source == "override"
    assert not cal.classify(date(2026, 11, 23), ov).is_working_day  # overrides beat the library too
    plain = cal.dim_date_rows(date(2026, 11, 1), date(2027, 2, 28), cal.Overrides.empty())
    assert cal.fingerprint(cal.dim_date_rows(date(2026, 11, 1), date(2027, 2, 28), ov)) != cal.fingerprint(plain)


@pytest.mark.parametrize(("text", "message"), [
    ("holidays:\n  not-a-date: x\n", "is not a date"),
    ("holidays:\n  2027-01-01: x\nworkdays:\n  2027-01-01: y\n", "both as holiday and as working day"),
    ("vacations: {}\n", "unknown keys"),
])
def test_bad_overrides_are_explained(tmp_path, text, message):
    f = tmp_path / "cal.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        cal.load_overrides(f)


def test_named_overrides_file_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv(cal.OVERRIDES_ENV, str(tmp_path / "missing.yaml"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        cal.load_overrides()


def test_default_overrides_file_is_valid_and_empty(monkeypatch):
    monkeypatch.delenv(cal.OVERRIDES_ENV, raising=False)
    assert cal.load_overrides() == cal.Overrides({}, {}, cal.DEFAULT_OVERRIDES)


def test_whole_default_range_is_consistent():
    rows = cal.dim_date_rows(overrides=cal.Overrides.empty())
    assert rows[0][0] == cal.DEFAULT_START and rows[-1][0] == cal.DEFAULT_END
    assert all(b[0] - a[0] == timedelta(days=1) for a, b in zip(rows, rows[1:], strict=False))
    per_year = {}
    for r in rows:
        per_year.setdefault(r[1], 0)
        per_year[r[1]] += r[7]
    assert 245 <= per_year[2026] <= 251  # an official year has about 248-250 working days
