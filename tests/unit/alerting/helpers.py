"""Builders for judge inputs: counties, ledger attempts, drop-folder probes, evidence (no database)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from supervision.alerting.judge import Attempt, DropProbe, Evidence, Grant, judge
from supervision.alerting.settings import AlertSettings
from supervision.contract import RECORD_TYPES
from supervision.registry import Contact, County

TZ = ZoneInfo("Asia/Shanghai")
TYPES = list(RECORD_TYPES)
_ids = itertools.count(1)


def at(y, m, d, hh=0, mm=0, tz=TZ) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


def county(code="411002", **kw) -> County:
    base = dict(code=code, name="魏都区", city_code=code[:4], city_name="许昌市", province_code=code[:2],
                contact=Contact(name=f"{code} 数据专员", email=f"data-{code}@supervision.example"))
    return County(**{**base, **kw})


def attempt(c: str, rt: str, d: date, status="loaded", *, rows=100, has_file=None, current=True,
            received: datetime | None = None, bad_rows=0, rules=(), sid=None) -> Attempt:
    has_file = status not in ("late", "missing") if has_file is None else has_file
    quarantined = rows if status == "rejected" else bad_rows
    return Attempt(sid or next(_ids), c, rt, d, status, has_file, current,
                   received_at=received if has_file else None,
                   first_processed_at=received or datetime.combine(d + timedelta(days=1), datetime.min.time(), TZ),
                   source_file=f"{c}/{d}/{rt}.csv" if has_file else None, rows_received=rows if has_file else 0,
                   rows_loaded=0 if status == "rejected" else rows - bad_rows, rows_quarantined=quarantined,
                   reason=f"ledger says {status}", validation_ref=f"/data/validation/{d}/{c}/{rt}.json",
                   bad_rows=bad_rows, rules=tuple(rules))


def full_day(c: str, d: date, received: datetime, status="loaded", rows=100) -> list[Attempt]:
    return [attempt(c, rt, d, status, rows=rows, received=received) for rt in TYPES]


def probe(files: dict[str, datetime] | None = None) -> DropProbe:
    return DropProbe(files is not None, files or {})


def evidence(now: datetime, *, dates=None, first_seen=None, attempts=None, probes=None, grants=(), volumes=None,
             changes=None, lookback=3, full_registry=True) -> Evidence:
    today = now.astimezone(TZ).date()
    dates = sorted(dates or [today - timedelta(days=i) for i in range(12)])
    return Evidence(now=now, dates=dates, alert_dates=set(), lookback=timedelta(days=lookback), first_seen=first_seen if first_seen is not None else {"411002": dates[0]},
                    system_start=min((d for _, d in attempts), default=None) if attempts else None,
                    attempts=attempts or {}, probes=probes or {}, grants=list(grants),
                    volumes=volumes or {}, changes=changes or {}, full_registry=full_registry)


def findings(counties, ev: Evidence, settings: AlertSettings | None = None) -> set[tuple]:
    j = judge(counties, settings or AlertSettings(), ev)
    return {(f.kind, f.county_code, f.record_type, f.business_date) for f in j.findings}


def grant(kind="exemption", c="411002", rt=None, lo=date(2026, 11, 22), hi=date(2026, 11, 22), **kw) -> Grant:
    return Grant(next(_ids), kind, c, rt, lo, hi, approved_by="张处长", reason="planned outage", **kw)
