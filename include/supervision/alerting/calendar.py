"""Working days and rest days (official PRC calendar: weekends, public holidays, adjusted working weekends).

``chinese_calendar`` knows the State Council's holiday arrangements year by year; for a year it does not know
yet we fall back to Monday-Friday, and say so in the log once.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta
from functools import lru_cache

log = logging.getLogger(__name__)
_warned: set[int] = set()


@lru_cache(maxsize=4096)
def is_working_day(day: date) -> bool:
    import chinese_calendar

    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        if day.year not in _warned:
            _warned.add(day.year)
            log.warning("chinese_calendar has no holiday data for %s: using Monday-Friday", day.year)
        return day.weekday() < 5


def day_type(day: date) -> str:
    return "working day" if is_working_day(day) else "rest day"


def next_working_day(day: date) -> date:
    """``day`` itself when it is a working day, else the first working day after it."""
    while not is_working_day(day):
        day += timedelta(days=1)
    return day
