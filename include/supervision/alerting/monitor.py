"""The submission monitor's steps, as plain functions (the DAG's tasks and ``supervision alerts monitor`` call them).

    judge_step    gather evidence -> judge -> open / update / resolve alerts, save verdicts
    digest_step   plan the morning digests (after digest_time, once a day)
    deliver_step  escalate -> plan notifications -> send what is pending (retrying failed channels)

Every step takes ``now`` (default: the current time): tests and re-plays run under a controlled clock.
Every step holds the monitor's advisory lock (``warehouse.locks``): two monitor runs at once (the schedule and
``supervision alerts monitor``) take turns step by step instead of judging or sending side by side.
"""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from supervision import resources
from supervision import settings as project_settings
from supervision.alerting.digest import plan_county_notices, plan_digests
from supervision.alerting.evidence import gather
from supervision.alerting.judge import judge
from supervision.alerting.lifecycle import apply_judgement
from supervision.alerting.notify import Sender, escalate, plan_alert_notifications, send_pending
from supervision.registry import County, Registry, load_registry
from supervision.warehouse.connection import connect
from supervision.warehouse.locks import MONITOR_LOCK, advisory_lock
from supervision.warehouse.migrate import require_current_schema

log = logging.getLogger(__name__)
TZ = ZoneInfo(project_settings.TIMEZONE)


def _one_monitor(url: str | None):
    return advisory_lock(MONITOR_LOCK, f"monitor pid {os.getpid()}", url=url)


def parse_now(value: str | datetime | None) -> datetime:
    """An aware datetime: the given one (ISO 8601 with offset; a naive one is read as Asia/Shanghai) or now."""
    if value is None or value == "":
        return datetime.now(TZ)
    ts = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return ts if ts.tzinfo else ts.replace(tzinfo=TZ)


def morning_after(business_date: date, reg: Registry, counties: list[str] | None = None) -> datetime:
    """The first moment the night of ``business_date`` is over: every county's deadline, the pipeline deadline
    and the digest time have passed (plus 30 minutes). The demo judges at this moment, so the alerts it shows
    are exactly that night's; a real morning's monitor run after it finds the same ones."""
    scope, _ = _scope(reg, counties)
    moments = [c.deadline_at(business_date) for c in scope]
    for hhmm in (reg.alerting.pipeline_deadline, reg.alerting.digest_time):
        hh, mm = (int(x) for x in hhmm.split(":"))
        moments.append(datetime.combine(business_date + timedelta(days=1), time(hh, mm), tzinfo=TZ))
    return max(moments) + timedelta(minutes=30)


def latest_finished_night(reg: Registry, counties: list[str] | None = None, now: datetime | None = None) -> date:
    """The newest business date whose morning is over by ``now`` (yesterday, Asia/Shanghai, once the morning's
    deadlines have passed; the day before until then): what the demo simulates by default."""
    now = parse_now(now)
    day = now.astimezone(TZ).date() - timedelta(days=1)
    while morning_after(day, reg, counties) > now:
        day -= timedelta(days=1)
    return day


def _registry(registry: str | Path | Registry | None) -> Registry:
    return registry if isinstance(registry, Registry) else load_registry(registry)


def _scope(reg: Registry, counties: list[str] | None) -> tuple[list[County], bool]:
    if not counties:
        return list(reg.counties), True
    unknown = sorted(set(counties) - set(reg.codes))
    if unknown:
        raise KeyError(f"counties not in registry {reg.path}: {', '.join(unknown)}")
    return [c for c in reg.counties if c.code in counties], False


def judge_step(now: str | datetime | None = None, registry: str | Path | Registry | None = None,
               counties: list[str] | None = None, drop_root: str | Path | None = None, url: str | None = None,
               since: date | None = None) -> dict:
    now = parse_now(now)
    reg = _registry(registry)
    scope, full = _scope(reg, counties)
    root = Path(drop_root) if drop_root else project_settings.drop_root()
    with _one_monitor(url), connect(url, autocommit=True) as conn:
        require_current_schema(conn)
        ev = gather(conn, scope, reg.alerting, now, drop_root=root, full_registry=full, since=since)
        judgement = judge(scope, reg.alerting, ev)
        for f in judgement.findings:  # county-wide alerts (pipeline_late, strays) belong to this registry's nights
            if f.county_code is None:
                f.details["registry"] = reg.name
        result = apply_judgement(conn, judgement, {c.code: c for c in scope}, registry=reg.name)
    kinds: dict[str, int] = {}
    for f in judgement.findings:
        kinds[f.kind] = kinds.get(f.kind, 0) + 1
    out = {"now": now.isoformat(), "counties": len(scope), "dates": [str(ev.dates[0]), str(ev.dates[-1])],
           "problems_found": kinds, **result.to_dict()}
    log.info("monitor judged %d counties at %s: %s", len(scope), now.isoformat(), out)
    return out


def digest_step(now: str | datetime | None = None, registry: str | Path | Registry | None = None,
                counties: list[str] | None = None, url: str | None = None) -> dict:
    now = parse_now(now)
    reg = _registry(registry)
    scope, _ = _scope(reg, counties)
    with _one_monitor(url), connect(url, autocommit=True) as conn:
        planned = plan_digests(conn, scope, reg.alerting, now)
        notices = plan_county_notices(conn, scope, reg.alerting, now)
    return {"digests_planned": planned, "county_notices_planned": notices}


def deliver_step(now: str | datetime | None = None, registry: str | Path | Registry | None = None,
                 counties: list[str] | None = None, url: str | None = None, sender: Sender | None = None,
                 send: bool = True) -> dict:
    now = parse_now(now)
    reg = _registry(registry)
    scope, full = _scope(reg, counties)
    by_code = {c.code: c for c in scope}
    with _one_monitor(url), connect(url, autocommit=True) as conn:
        escalated = escalate(conn, by_code, reg.alerting, now)
        planned = plan_alert_notifications(conn, by_code, reg.alerting, now, include_pipeline=full, registry=reg.name)
        result = send_pending(conn, reg.alerting, now, sender=sender) if send else None
    out = {"escalated": len(escalated), "planned": planned, **(result.to_dict() if result else {"sent": 0})}
    log.info("delivery at %s: %s", now.isoformat(), out)
    return out


def run_monitor(now: str | datetime | None = None, registry: str | Path | Registry | None = None,
                counties: list[str] | None = None, drop_root: str | Path | None = None, url: str | None = None,
                sender: Sender | None = None, send: bool = True, since: date | None = None) -> dict:
    """All three steps, as one monitor run of the DAG does them."""
    now = parse_now(now)
    reg = _registry(registry)
    with resources.pooled():  # the three steps share this process's warehouse pool
        return {"judge": judge_step(now, reg, counties, drop_root, url, since),
                "digest": digest_step(now, reg, counties, url),
                "deliver": deliver_step(now, reg, counties, url, sender, send)}
