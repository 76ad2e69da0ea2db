"""The nightly DAG's timetable: cron in Asia/Shanghai, run ids that name the business date, deliberate catch-up.

``NightlyTimetable("30 6 * * *", timezone="Asia/Shanghai")`` is Airflow's CronTriggerTimetable with two changes:

- run ids name the business date (the Asia/Shanghai day before the run): ``scheduled__2026-11-22__2026-11-22T
  22:30:00+00:00``, so the UI's run list reads as nights, not wall-clock times;
- without catch-up, a run is started for the latest past schedule only if it was due at most ``grace`` ago
  (default 2 hours: a scheduler restart at 06:40 still runs the 06:30 night). Airflow's own CronTriggerTimetable
  (catchup=False, a start_date given) always starts the latest missed one, so unpausing the DAG at 15:00 would
  at once start a night over the whole registry. Missed nights are re-run on purpose: ``supervision run --date``
  or ``airflow backfill create`` (README, Operations).

Registered for the scheduler by plugins/supervision_timetables.py (Airflow needs custom timetables in a plugin).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from airflow.timetables.trigger import CronTriggerTimetable

DEFAULT_GRACE = dt.timedelta(hours=2)


class NightlyTimetable(CronTriggerTimetable):
    def __init__(self, cron: str, *, timezone, interval=dt.timedelta(), run_immediately=False,
                 grace: dt.timedelta = DEFAULT_GRACE) -> None:
        super().__init__(cron, timezone=timezone, interval=interval, run_immediately=run_immediately)
        self.grace = grace

    @property
    def summary(self) -> str:
        return f"{self._expression} ({self._timezone.name}), a missed run only within {self.grace.total_seconds() / 3600:g} h"

    def serialize(self) -> dict[str, Any]:
        return {**super().serialize(), "grace": self.grace.total_seconds()}

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> NightlyTimetable:
        base = CronTriggerTimetable.deserialize(data)
        return cls(base._expression, timezone=base._timezone, interval=base._interval,
                   run_immediately=base._run_immediately,
                   grace=dt.timedelta(seconds=float(data.get("grace", DEFAULT_GRACE.total_seconds()))))

    def next_dagrun_info(self, *, last_automated_data_interval, restriction):
        from airflow._shared.timezones.timezone import coerce_datetime, utcnow
        from airflow.timetables.base import DagRunInfo

        if restriction.catchup:
            return super().next_dagrun_info(last_automated_data_interval=last_automated_data_interval,
                                            restriction=restriction)
        now = coerce_datetime(utcnow())
        prev = self._align_to_prev(now)
        # The latest past schedule only while it is fresh; otherwise wait for the next one.
        candidates = [prev if now - prev <= self.grace else self._align_to_next(now)]
        if last_automated_data_interval is not None:
            candidates.append(self._get_next(last_automated_data_interval.end))
        if restriction.earliest is not None:
            candidates.append(self._align_to_next(restriction.earliest))
        start = max(candidates)
        if restriction.latest is not None and restriction.latest < start:
            return None
        return DagRunInfo.interval(coerce_datetime(start - self._interval), start)

    def generate_run_id(self, *, run_type, run_after, data_interval, **extra) -> str:
        from airflow._shared.timezones.timezone import coerce_datetime

        local = coerce_datetime(run_after).in_timezone(self._timezone)
        business_date = local.date() - dt.timedelta(days=1)
        return run_type.generate_run_id(suffix=f"{business_date.isoformat()}__{run_after.isoformat()}")
