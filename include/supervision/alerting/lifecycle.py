"""Alert life cycle in the warehouse: open -> notified -> acknowledged -> resolved, with an event per step.

``apply_judgement`` turns a judgement into alerts, in one transaction under an advisory lock, so repeated or
concurrent monitor runs never duplicate an alert (the unique indexes of V200 would refuse it anyway):

* a finding with an unresolved alert of the same key updates it (last seen, details); new evidence (e.g. a
  re-sent file that is still bad) starts a new notification round, so the county hears about it again;
* a finding without one opens an alert, unless a person resolved the same key with the same evidence;
* an unresolved alert in scope whose problem was not found is resolved by the monitor, with the reason
  (re-submission loaded, files received, exemption granted, ...), and its pending notifications are cancelled.

Operator actions (acknowledge, resolve, re-notify, extensions and exemptions) are plain functions here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg
from psycopg.types.json import Jsonb

from supervision.alerting.judge import Judgement, Verdict, clearance
from supervision.alerting.kinds import KINDS
from supervision.registry import County

LOCK_KEY = 0x5355_5056_414C_5254  # "SUPVALRT": one monitor at a time changes alerts
MONITOR = "monitor"


class AlertError(ValueError):
    """An operator action that cannot be done (unknown alert, wrong state); the message says why."""


@dataclass
class ApplyResult:
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    renewed: list[int] = field(default_factory=list)  # new evidence: a new notification round
    resolved: list[int] = field(default_factory=list)
    verdicts: int = 0

    def to_dict(self) -> dict:
        return {"opened": len(self.opened), "updated": len(self.updated), "renewed": len(self.renewed),
                "resolved": len(self.resolved), "verdicts": self.verdicts}


def event(conn: psycopg.Connection, alert_id: int, at: datetime, name: str, actor: str, detail: dict | None = None):
    conn.execute("INSERT INTO ops.alert_event (alert_id, at, event, actor, detail) VALUES (%s, %s, %s, %s, %s)",
                 (alert_id, at, name, actor, Jsonb(detail or {})))


def _key(kind: str, county_code: str | None, record_type: str, business_date: date) -> tuple:
    return (kind, county_code, record_type) if KINDS[kind].ongoing else (kind, county_code, record_type, business_date)


def apply_judgement(conn: psycopg.Connection, judgement: Judgement, counties: dict[str, County],
                    registry: str | None = None) -> ApplyResult:
    """Open, update and resolve alerts from a judgement. With ``registry``, the county-wide alerts it may update or
    resolve are that registry's only (``details.registry``; untagged ones of any): two provinces judged on one
    deployment each keep their own ``pipeline_late`` of a date instead of resolving the other's."""
    ev, now = judgement.evidence, judgement.evidence.now
    res = ApplyResult()
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        rows = conn.execute(
            "SELECT alert_id, kind, county_code, record_type, business_date, evidence FROM ops.alert"
            " WHERE state <> 'resolved' AND (county_code = ANY(%s) OR (county_code IS NULL AND %s"
            " AND (%s::text IS NULL OR details->>'registry' IS NULL OR details->>'registry' = %s)))"
            " ORDER BY alert_id FOR UPDATE", (judgement.counties, ev.full_registry, registry, registry)).fetchall()
        unresolved = {_key(k, c, rt, d): (aid, evid, d) for aid, k, c, rt, d, evid in rows}
        found = set()
        for f in judgement.findings:
            found.add(f.key)
            if f.key in unresolved:
                aid, old, _ = unresolved[f.key]
                renew = old != f.evidence and not KINDS[f.kind].ongoing
                conn.execute(
                    "UPDATE ops.alert SET last_seen_at = %s, summary = %s, fix = %s, details = %s,"
                    " evidence = %s, submission_id = coalesce(%s, submission_id),"
                    " round = round + CASE WHEN %s THEN 1 ELSE 0 END WHERE alert_id = %s",
                    (now, f.summary, f.fix, Jsonb(f.details), f.evidence, f.submission_id, renew, aid))
                if renew:
                    event(conn, aid, now, "updated", MONITOR, {"evidence": [old, f.evidence], "summary": f.summary})
                    res.renewed.append(aid)
                else:
                    res.updated.append(aid)
                continue
            if _resolved_by_person(conn, f):
                continue
            row = conn.execute(
                "INSERT INTO ops.alert (kind, county_code, record_type, business_date, level, evidence, summary, fix,"
                " details, submission_id, opened_at, last_seen_at)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING alert_id",
                (f.kind, f.county_code, f.record_type, f.business_date, KINDS[f.kind].start_level, f.evidence,
                 f.summary, f.fix, Jsonb(f.details), f.submission_id, now, now)).fetchone()
            if row:
                event(conn, row[0], now, "opened", MONITOR, {"summary": f.summary})
                res.opened.append(row[0])
        for key, (aid, _, d) in unresolved.items():
            if key in found:
                continue
            kind, county_code, record_type = key[:3]
            reason = clearance(kind, counties.get(county_code), record_type, d, ev)
            resolve(conn, aid, now, MONITOR, reason)
            res.resolved.append(aid)
        res.verdicts = save_verdicts(conn, judgement.verdicts, now)
    return res


def _resolved_by_person(conn: psycopg.Connection, f) -> bool:
    """A person closed this very problem (same key, same evidence): the monitor does not reopen it."""
    return conn.execute(
        "SELECT 1 FROM ops.alert WHERE kind = %s AND county_code IS NOT DISTINCT FROM %s AND record_type = %s"
        " AND (business_date = %s OR %s) AND evidence = %s AND state = 'resolved' AND resolved_by <> %s LIMIT 1",
        (f.kind, f.county_code, f.record_type, f.business_date, KINDS[f.kind].ongoing, f.evidence, MONITOR),
    ).fetchone() is not None


def save_verdicts(conn: psycopg.Connection, verdicts: list[Verdict], now: datetime) -> int:
    if not verdicts:
        return 0
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ops.submission_verdict (county_code, record_type, business_date, due_at, first_received_at,"
            " on_time, status, valid, exempt, judged_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (county_code, record_type, business_date) DO UPDATE SET due_at = excluded.due_at,"
            " first_received_at = excluded.first_received_at, on_time = excluded.on_time, status = excluded.status,"
            " valid = excluded.valid, exempt = excluded.exempt, judged_at = excluded.judged_at",
            [(v.county_code, v.record_type, v.business_date, v.due_at, v.first_received_at, v.on_time, v.status,
              v.valid, v.exempt, now) for v in verdicts])
    return len(verdicts)


# ---------------------------------------------------------------------------------------------- operator actions


def _get(conn: psycopg.Connection, alert_id: int) -> tuple[str, int]:
    row = conn.execute("SELECT state, round FROM ops.alert WHERE alert_id = %s FOR UPDATE", (alert_id,)).fetchone()
    if row is None:
        raise AlertError(f"there is no alert #{alert_id} (supervision alerts list shows them)")
    return row


def resolve(conn: psycopg.Connection, alert_id: int, now: datetime, by: str, reason: str) -> None:
    with conn.transaction():
        state, _ = _get(conn, alert_id)
        if state == "resolved":
            raise AlertError(f"alert #{alert_id} is already resolved")
        conn.execute("UPDATE ops.alert SET state = 'resolved', resolved_at = %s, resolved_by = %s, resolution = %s"
                     " WHERE alert_id = %s", (now, by, reason, alert_id))
        conn.execute("UPDATE ops.alert_notification SET status = 'cancelled', last_error = coalesce(last_error, '')"
                     " || ' (cancelled: alert resolved)' WHERE alert_id = %s AND status = 'pending'", (alert_id,))
        event(conn, alert_id, now, "resolved", by, {"resolution": reason})


def acknowledge(conn: psycopg.Connection, alert_id: int, now: datetime, by: str, note: str | None = None) -> None:
    """Someone owns the problem: escalation stops; the alert stays unresolved until the monitor (or a person)
    finds it fixed."""
    if not by.strip():
        raise AlertError("say who acknowledges (--by)")
    with conn.transaction():
        state, _ = _get(conn, alert_id)
        if state in ("resolved", "acknowledged"):
            raise AlertError(f"alert #{alert_id} is already {state}")
        conn.execute("UPDATE ops.alert SET state = 'acknowledged', acknowledged_at = %s, acknowledged_by = %s,"
                     " ack_note = %s WHERE alert_id = %s", (now, by, note, alert_id))
        event(conn, alert_id, now, "acknowledged", by, {"note": note})


def renotify(conn: psycopg.Connection, alert_id: int, now: datetime, by: str) -> int:
    """A new notification round: everyone told so far is told again (the next delivery step sends it)."""
    with conn.transaction():
        state, round_ = _get(conn, alert_id)
        if state == "resolved":
            raise AlertError(f"alert #{alert_id} is resolved; nothing to re-notify")
        conn.execute("UPDATE ops.alert SET round = round + 1 WHERE alert_id = %s", (alert_id,))
        event(conn, alert_id, now, "renotify", by, {"round": round_ + 1})
    return round_ + 1


def grant_exception(conn: psycopg.Connection, *, kind: str, county_code: str, record_type: str | None,
                    date_from: date, date_to: date, approved_by: str, reason: str, granted_by: str, now: datetime,
                    deadline_until: datetime | None = None, extra_hours: float | None = None) -> int:
    """Record an extension (new deadline or extra hours) or an exemption for a county and a date range.

    The grant takes effect at the next monitor run: alerts it covers are resolved with the grant as reason.
    """
    if kind not in ("extension", "exemption"):
        raise AlertError("kind is extension or exemption")
    if not approved_by.strip() or not reason.strip():
        raise AlertError("an extension or exemption needs who approved it (--approved-by) and why (--reason)")
    if date_from > date_to:
        raise AlertError(f"--from {date_from} is after --to {date_to}")
    if kind == "extension" and (deadline_until is None) == (extra_hours is None):
        raise AlertError("an extension needs exactly one of --until (new deadline) or --hours (added hours)")
    if kind == "extension" and deadline_until is not None and deadline_until.tzinfo is None:
        raise AlertError("--until needs a time zone (e.g. 2026-11-25T12:00+08:00)")
    (eid,) = conn.execute(
        "INSERT INTO ops.submission_exception (kind, county_code, record_type, date_from, date_to, deadline_until,"
        " extra_hours, approved_by, reason, granted_by, granted_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " RETURNING exception_id",
        (kind, county_code, record_type, date_from, date_to, deadline_until if kind == "extension" else None,
         extra_hours if kind == "extension" else None, approved_by, reason, granted_by, now)).fetchone()
    return eid


def revoke_exception(conn: psycopg.Connection, exception_id: int, now: datetime, by: str, reason: str) -> None:
    if not by.strip() or not reason.strip():
        raise AlertError("a revocation needs who (--by) and why (--reason)")
    row = conn.execute("SELECT revoked_at FROM ops.submission_exception WHERE exception_id = %s",
                       (exception_id,)).fetchone()
    if row is None:
        raise AlertError(f"there is no grant #{exception_id}")
    if row[0] is not None:
        raise AlertError(f"grant #{exception_id} was already revoked at {row[0]}")
    conn.execute("UPDATE ops.submission_exception SET revoked_at = %s, revoked_by = %s, revoke_reason = %s"
                 " WHERE exception_id = %s", (now, by, reason, exception_id))
