"""The PRC working-day calendar: ``marts.dim_date`` and alert deadlines read the same one.

Working days follow the official calendar: Monday-Friday, minus the statutory holidays, plus the adjusted
working weekends (调休) the State Council announces each year. The holiday arrangements come from the
maintained ``chinese-calendar`` library; a config file can override or extend it (a year announced after the
library's release, a local arrangement). A year neither knows falls back to Monday-Friday, and the rows say
so (``source = 'weekday_fallback'``) so that nobody mistakes the guess for the official calendar.

Overrides file (YAML; env ``SUPERVISION_CALENDAR_OVERRIDES``, else ``calendar_overrides.yaml`` next to this
module)::

    holidays:            # rest days, with the holiday's name
      2027-01-01: 元旦
    workdays:            # adjusted working days (调休), with the holiday they make up for
      2027-02-07: 春节

Alerting asks :func:`is_working_day` / :func:`next_working_day` (a county whose deadline falls on a rest day
may move it, ``deadline_on_rest_days``) and the marts load :func:`dim_date_rows`: both go through
:func:`classify` with the same overrides, so an override moves an alert deadline exactly as the marts see it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_START = date(2000, 1, 1)
DEFAULT_END = date(2035, 12, 31)
OVERRIDES_ENV = "SUPERVISION_CALENDAR_OVERRIDES"
DEFAULT_OVERRIDES = Path(__file__).with_name("calendar_overrides.yaml")

SOURCE_LIBRARY, SOURCE_OVERRIDE, SOURCE_FALLBACK = "chinese_calendar", "override", "weekday_fallback"

# chinese-calendar names its holidays in English; supervisors read Chinese.
HOLIDAY_ZH = {
    "New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节", "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节", "Mid-autumn Festival": "中秋节", "National Day": "国庆节",
    "Anti-Fascist 70th Day": "中国人民抗日战争暨世界反法西斯战争胜利70周年纪念日",
}

DIM_DATE_COLUMNS = ("date", "year", "quarter", "month", "day", "iso_weekday", "is_weekend", "is_working_day",
                    "is_holiday", "holiday_name", "is_adjusted_working_day", "working_day_seq", "next_working_day",
                    "month_start", "year_start", "source")


@dataclass(frozen=True)
class Overrides:
    holidays: dict[date, str]
    workdays: dict[date, str]
    path: Path | None = None

    @classmethod
    def empty(cls) -> Overrides:
        return cls({}, {})


@dataclass(frozen=True)
class Day:
    date: date
    is_working_day: bool
    is_holiday: bool  # a statutory (or overridden) holiday rest day; ordinary weekends are not holidays
    holiday_name: str | None
    is_adjusted_working_day: bool  # a weekend day worked in lieu (调休)
    source: str


def overrides_path() -> Path:
    from supervision import resources

    return Path(resources.variables().calendar_overrides or DEFAULT_OVERRIDES)


def load_overrides(path: Path | str | None = None) -> Overrides:
    """Read the overrides file; a missing default file means no overrides, a missing named file is an error."""
    import yaml

    p = Path(path) if path else overrides_path()
    if not p.exists():
        if path or p != DEFAULT_OVERRIDES:
            raise FileNotFoundError(f"calendar overrides file {p} does not exist (check {OVERRIDES_ENV})")
        return Overrides.empty()
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    unknown = set(doc) - {"holidays", "workdays"}
    if unknown:
        raise ValueError(f"{p}: unknown keys {sorted(unknown)}; expected 'holidays' and 'workdays'")

    def dates(key: str) -> dict[date, str]:
        section = doc.get(key) or {}
        if isinstance(section, list):  # a plain list of dates is fine too
            section = {d: "" for d in section}
        if not isinstance(section, dict):
            raise ValueError(f"{p}: '{key}' must map dates (YYYY-MM-DD) to names")
        out = {}
        for k, v in section.items():
            try:
                d = k if isinstance(k, date) else date.fromisoformat(str(k))
            except ValueError:
                raise ValueError(f"{p}: '{key}' entry {k!r} is not a date YYYY-MM-DD") from None
            out[d] = "" if v is None else str(v)
        return out

    holidays, workdays = dates("holidays"), dates("workdays")
    both = sorted(set(holidays) & set(workdays))
    if both:
        raise ValueError(f"{p}: {', '.join(map(str, both))} listed both as holiday and as working day")
    return Overrides(holidays, workdays, p)


def _library():
    import chinese_calendar

    return chinese_calendar


@lru_cache(maxsize=1)
def library_years() -> range:
    cc = _library()
    return range(min(cc.holidays).year, max(cc.holidays).year + 1)


def classify(day: date, overrides: Overrides | None = None) -> Day:
    """Working day or not, and why, for one date."""
    ov = overrides or Overrides.empty()
    weekend = day.weekday() >= 5
    if day in ov.holidays:
        return Day(day, False, True, ov.holidays[day] or None, False, SOURCE_OVERRIDE)
    if day in ov.workdays:
        return Day(day, True, False, ov.workdays[day] or None, weekend, SOURCE_OVERRIDE)
    cc = _library()
    if day.year in library_years():
        if day in cc.holidays:
            name = cc.holidays[day]
            return Day(day, False, True, HOLIDAY_ZH.get(name, name), False, SOURCE_LIBRARY)
        if day in cc.workdays:
            name = cc.workdays[day]
            return Day(day, True, False, HOLIDAY_ZH.get(name, name), weekend, SOURCE_LIBRARY)
        return Day(day, not weekend, False, None, False, SOURCE_LIBRARY)
    return Day(day, not weekend, False, None, False, SOURCE_FALLBACK)


def days(start: date = DEFAULT_START, end: date = DEFAULT_END, overrides: Overrides | None = None) -> list[Day]:
    ov = overrides if overrides is not None else load_overrides()
    out, d = [], start
    while d <= end:
        out.append(classify(d, ov))
        d += timedelta(days=1)
    fallback_years = sorted({x.date.year for x in out if x.source == SOURCE_FALLBACK})
    if fallback_years:
        log.info("working-day calendar: no official holiday data for %s (Monday-Friday used); add the State "
                 "Council's arrangement to %s when it is announced", _ranges(fallback_years), overrides_path())
    return out


def dim_date_rows(start: date = DEFAULT_START, end: date = DEFAULT_END,
                  overrides: Overrides | None = None) -> list[tuple]:
    """Rows of ``marts.dim_date`` in :data:`DIM_DATE_COLUMNS` order.

    ``working_day_seq`` counts the working days from ``start`` up to and including the date (a rest day has the
    number of the working day before it), so "N working days after D" is the working day whose number is
    ``seq(D) + N``. ``next_working_day`` is the date itself when it is a working day, else the first working
    day after it (null past the end of the range).
    """
    ds = days(start, end, overrides)
    seqs, n = [], 0
    for x in ds:
        n += x.is_working_day
        seqs.append(n)
    nxt: list[date | None] = [None] * len(ds)
    upcoming = None
    for i in range(len(ds) - 1, -1, -1):
        if ds[i].is_working_day:
            upcoming = ds[i].date
        nxt[i] = upcoming
    rows = []
    for x, seq, nw in zip(ds, seqs, nxt, strict=True):
        d = x.date
        rows.append((d, d.year, (d.month - 1) // 3 + 1, d.month, d.day, d.isoweekday(), d.weekday() >= 5,
                     x.is_working_day, x.is_holiday, x.holiday_name, x.is_adjusted_working_day, seq, nw,
                     d.replace(day=1), d.replace(month=1, day=1), x.source))
    return rows


def fingerprint(rows: list[tuple]) -> str:
    """A digest of the calendar's content: the refresh reloads ``marts.dim_date`` when it changes."""
    h = hashlib.sha256()
    for r in rows:
        h.update(f"{r[0].isoformat()}|{int(r[7])}|{int(r[8])}|{r[9] or ''}|{r[15]}\n".encode())
    return h.hexdigest()


def add_working_days(day: date, n: int, overrides: Overrides | None = None) -> date:
    """The n-th working day after ``day`` (``day`` itself not counted): the Python twin of the SQL in the marts."""
    ov = overrides if overrides is not None else load_overrides()
    d, left = day, n
    while left > 0:
        d += timedelta(days=1)
        left -= classify(d, ov).is_working_day
    return d


def _ranges(years: list[int]) -> str:
    if not years:
        return ""
    parts, lo, prev = [], years[0], years[0]
    for y in years[1:] + [None]:
        if y is not None and y == prev + 1:
            prev = y
            continue
        parts.append(str(lo) if lo == prev else f"{lo}-{prev}")
        if y is not None:
            lo = prev = y
    return ", ".join(parts)


# ---------------------------------------------------------------------------------------------- day by day (alerting)

_current: tuple[tuple, Overrides, dict[date, bool]] | None = None  # (file key, overrides, answers) of this process
_warned: set[int] = set()


def _overrides_now() -> tuple[Overrides, dict[date, bool]]:
    """The overrides file as it is now (re-read when its path or modification time changes) and a cache of
    answers for it: the judge asks about the same few dates thousands of times."""
    global _current
    p = overrides_path()
    try:
        key = (str(p), p.stat().st_mtime_ns)
    except FileNotFoundError:
        key = (str(p), None)
    if _current is None or _current[0] != key:
        _current = (key, load_overrides(), {})
    return _current[1], _current[2]


def is_working_day(day: date) -> bool:
    """Official PRC calendar with the overrides file, as ``marts.dim_date`` has it."""
    ov, answers = _overrides_now()
    if (known := answers.get(day)) is not None:
        return known
    x = classify(day, ov)
    if x.source == SOURCE_FALLBACK and day.year not in _warned:
        _warned.add(day.year)
        log.warning("working-day calendar: no official holiday data for %s (Monday-Friday used); add the State "
                    "Council's arrangement to %s", day.year, overrides_path())
    answers[day] = x.is_working_day
    return x.is_working_day


def day_type(day: date) -> str:
    return "working day" if is_working_day(day) else "rest day"


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
