"""Notifications: who is told (routing and escalation), the outbox, and delivery through apprise.

The outbox (``ops.alert_notification``) has one row per message and channel; its ``dedupe_key`` makes
planning idempotent (alert, notification round, audience, channel), so a message is planned once however
often the monitor runs. Delivery sends what is pending and due, one row at a time under ``FOR UPDATE SKIP
LOCKED``: a channel that is down leaves its row pending with the error and a back-off, the alert stays
unresolved, and the next run tries again; nothing is dropped. (A crash between a successful send and the
commit can repeat that one message: delivery is at least once.)

Channels are apprise URLs from the registry; ``email:<address>`` goes through the configured SMTP URL.
``${VAR}`` is expanded from the environment only when sending: the outbox stores the URL as written.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg.rows import dict_row

from supervision import resources
from supervision.alerting.kinds import KINDS, LEVELS
from supervision.alerting.lifecycle import event
from supervision.alerting.messages import alert_body, alert_title, local
from supervision.alerting.settings import AlertSettings
from supervision.registry import Contact, County

log = logging.getLogger(__name__)
SMTP_ENV = "SUPERVISION_SMTP_URL"
ENGINEER_CHANNELS_ENV = "SUPERVISION_ENGINEER_CHANNELS"  # extra engineer channels, whitespace/comma separated
_VAR = re.compile(r"\$\{(\w+)\}")

Sender = Callable[[str, str, str], "tuple[bool, str | None]"]  # (url, title, body) -> (delivered, error)


class ChannelError(ValueError):
    """A channel cannot be used as configured (unset variable, no SMTP server)."""


# ---------------------------------------------------------------------------------------------- channels


def contact_channels(contact: Contact) -> list[str]:
    """The channels a contact chose; ``email`` (or no channels at all) means their email address."""
    chosen = list(contact.channels) or (["email"] if contact.email else [])
    return [f"email:{contact.email}" if c == "email" else c for c in chosen]


def expand(template: str) -> str:
    def var(m: re.Match) -> str:
        if m.group(1) not in os.environ:
            raise ChannelError(f"environment variable {m.group(1)} is not set (used in a channel URL)")
        return os.environ[m.group(1)]

    return _VAR.sub(var, template)


def resolve_url(channel: str, settings: AlertSettings) -> str:
    """The URL apprise gets for a stored channel."""
    if channel.startswith("email:"):
        template = resources.variables().smtp_url or settings.smtp_url
        if not template:
            raise ChannelError(f"no SMTP server configured for e-mail: set {SMTP_ENV} or alerting.smtp_url")
        parts = urlsplit(expand(template))
        query = [(k, v) for k, v in parse_qsl(parts.query) if k != "to"] + [("to", channel.removeprefix("email:"))]
        return urlunsplit(parts._replace(query=urlencode(query)))
    return expand(channel)


def redact(channel: str) -> str:
    """A channel for display: ``${VAR}`` stays as written; inline secrets are masked by apprise."""
    if channel.startswith("email:") or "${" in channel:
        return channel
    try:
        import apprise

        a = apprise.Apprise()
        return a[0].url(privacy=True) if a.add(channel) else channel.split("://")[0] + "://***"
    except Exception:  # display only
        return channel.split("://")[0] + "://***"


def apprise_send(url: str, title: str, body: str) -> tuple[bool, str | None]:
    """Send one message to one URL with apprise; (delivered, error text)."""
    import logging as _logging

    import apprise

    a = apprise.Apprise()
    if not a.add(url):
        return False, "apprise cannot use this channel URL (unknown scheme or malformed)"
    with apprise.LogCapture(level=_logging.WARNING) as logs:
        # the body is plain text: said so, apprise keeps its line breaks (else e-mail shows it as one HTML line)
        ok = bool(a.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
    if ok:
        return True, None
    lines = [x for x in logs.getvalue().splitlines() if x.strip()]
    return False, (lines[-1].split(" - ", 2)[-1] if lines else "delivery failed")


# ---------------------------------------------------------------------------------------------- routing


def engineers(settings: AlertSettings) -> list[Contact]:
    extra = [c for c in re.split(r"[\s,]+", resources.variables().engineer_channels) if c]
    return list(settings.engineers) + ([Contact("engineers (environment)", channels=tuple(extra))] if extra else [])


def recipients(kind: str, level: int, county: County | None, settings: AlertSettings) -> list[tuple[str, Contact]]:
    """(audience, contact) told about an alert at this escalation level."""
    if KINDS[kind].audience == "engineers":
        return [("engineers", c) for c in engineers(settings)]
    if county is None:
        return []
    out = [("county", county.contact)]
    if level >= 1:
        out += [("city", c) for c in settings.contacts_of(county.city_code)]
    if level >= 2:
        out += [("province", c) for c in settings.contacts_of(county.province_code)]
    return out


def target_level(kind: str, age: timedelta, settings: AlertSettings) -> int:
    """Escalation level an unacknowledged alert of this age should have reached."""
    k = KINDS[kind]
    if k.audience != "county":
        return 0
    level = 2 if age >= settings.province_after else 1 if age >= settings.city_after else 0
    return max(level, k.start_level)


def dedupe_key(prefix: str, audience: str, channel: str) -> str:
    return f"{prefix}:{audience}:{hashlib.sha256(channel.encode()).hexdigest()[:16]}"


# ---------------------------------------------------------------------------------------------- steps


@dataclass
class DeliveryResult:
    sent: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"sent": self.sent, "failed": self.failed, "errors": self.errors[:20]}


def escalate(conn: psycopg.Connection, counties: dict[str, County], settings: AlertSettings, now: datetime) -> list[int]:
    """Raise the level of unresolved, unacknowledged county alerts that have waited long enough."""
    out = []
    with conn.transaction():
        rows = conn.execute(
            "SELECT alert_id, kind, level, opened_at FROM ops.alert"
            " WHERE state IN ('open', 'notified') AND county_code = ANY(%s) FOR UPDATE", (list(counties),)).fetchall()
        for aid, kind, level, opened in rows:
            target = target_level(kind, now - opened, settings)
            if target > level:
                conn.execute("UPDATE ops.alert SET level = %s, escalated_at = %s WHERE alert_id = %s",
                             (target, now, aid))
                event(conn, aid, now, "escalated", "monitor", {"from": LEVELS[level], "to": LEVELS[target]})
                out.append(aid)
    return out


def plan_alert_notifications(conn: psycopg.Connection, counties: dict[str, County], settings: AlertSettings,
                             now: datetime, *, include_pipeline: bool = True, registry: str | None = None) -> int:
    """Outbox rows for everyone who should have heard about each unresolved alert in its current round. With
    ``registry``, county-wide alerts of that registry only (untagged ones of any): each province's engineers hear
    of their own nights."""
    planned = 0
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        alerts = cur.execute(
            "SELECT * FROM ops.alert WHERE state <> 'resolved' AND (county_code = ANY(%s) OR (county_code IS NULL"
            " AND %s AND (%s::text IS NULL OR details->>'registry' IS NULL OR details->>'registry' = %s)))"
            " ORDER BY alert_id", (list(counties), include_pipeline, registry, registry)).fetchall()
        for a in alerts:
            county = counties.get(a["county_code"]) if a["county_code"] else None
            told = _told(conn, a["alert_id"])
            rows, total = _bad_rows(conn, a)
            for audience, contact in recipients(a["kind"], a["level"], county, settings):
                title = alert_title(a, county, audience)
                body = alert_body(a, county, audience, now, told, rows, total)
                for channel in contact_channels(contact):
                    key = dedupe_key(f"alert:{a['alert_id']}:r{a['round']}", audience, channel)
                    row = conn.execute(
                        "INSERT INTO ops.alert_notification (dedupe_key, alert_id, round, level, audience, recipient,"
                        " channel, title, body, created_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s,"
                        " %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING RETURNING notification_id",
                        (key, a["alert_id"], a["round"], LEVELS.index(audience) if audience in LEVELS else 0,
                         audience, contact.name, channel, title, body, now, now)).fetchone()
                    planned += row is not None
            if county is None and KINDS[a["kind"]].audience == "county":
                log.warning("alert #%s: county %s is not in the registry; nobody to tell", a["alert_id"],
                            a["county_code"])
    return planned


FIRST_ROWS = 10  # quarantined rows listed in a message (the county's own data owner reads them)


def first_quarantined_rows(conn: psycopg.Connection, submission_id: int, limit: int = FIRST_ROWS
                           ) -> tuple[list[dict], int]:
    """The first rows of a submission's quarantine that break a row rule, and how many there are."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT row_number, record_id, raw_row, failed_rules, source_file FROM ops.quarantine"
            " WHERE submission_id = %s AND row_number IS NOT NULL AND resolved_at IS NULL"
            " AND EXISTS (SELECT 1 FROM unnest(failed_rules) r WHERE NOT starts_with(r, 'file.'))"
            " ORDER BY row_number LIMIT %s", (submission_id, limit)).fetchall()
        if len(rows) < limit:
            return rows, len(rows)
        (total,) = cur.execute(
            "SELECT count(*) FROM ops.quarantine WHERE submission_id = %s AND row_number IS NOT NULL"
            " AND resolved_at IS NULL AND EXISTS (SELECT 1 FROM unnest(failed_rules) r"
            " WHERE NOT starts_with(r, 'file.'))", (submission_id,)).fetchone().values()
    return rows, total


def _bad_rows(conn: psycopg.Connection, alert: dict) -> tuple[list[dict], int]:
    """For an invalid-file alert: the rows to correct, so the county need not query anything."""
    if alert["kind"] != "invalid" or alert.get("submission_id") is None:
        return [], 0
    return first_quarantined_rows(conn, alert["submission_id"])


def _told(conn: psycopg.Connection, alert_id: int) -> list[str]:
    return [f"{who} ({aud}) at {local(at)}" for who, aud, at in conn.execute(
        "SELECT recipient, audience, min(sent_at) FROM ops.alert_notification WHERE alert_id = %s AND status = 'sent'"
        " GROUP BY 1, 2 ORDER BY 3", (alert_id,))]


def send_pending(conn: psycopg.Connection, settings: AlertSettings, now: datetime, *, sender: Sender | None = None,
                 limit: int = 1000) -> DeliveryResult:
    """Deliver pending outbox rows whose time has come; failures are retried later with back-off."""
    sender = sender or apprise_send
    res = DeliveryResult()
    seen: set[int] = set()
    while len(seen) < limit:
        with conn.transaction():
            row = conn.execute(
                "SELECT notification_id, alert_id, audience, recipient, channel, title, body, attempts"
                " FROM ops.alert_notification WHERE status = 'pending' AND next_attempt_at <= %s"
                " AND NOT (notification_id = ANY(%s)) ORDER BY notification_id LIMIT 1 FOR UPDATE SKIP LOCKED",
                (now, list(seen))).fetchone()
            if row is None:
                break
            nid, alert_id, audience, recipient, channel, title, body, attempts = row
            seen.add(nid)
            try:
                ok, error = sender(resolve_url(channel, settings), title, body)
            except ChannelError as e:
                ok, error = False, str(e)
            except Exception as e:  # a broken plugin must not stop the other deliveries
                ok, error = False, f"{type(e).__name__}: {e}"
            if ok:
                conn.execute("UPDATE ops.alert_notification SET status = 'sent', sent_at = %s, attempts = attempts + 1,"
                             " last_error = NULL WHERE notification_id = %s", (now, nid))
                if alert_id is not None:
                    _mark_notified(conn, alert_id, now, audience, recipient)
                res.sent += 1
            else:
                delay = min(settings.retry_first * (2 ** attempts), settings.retry_max)
                conn.execute("UPDATE ops.alert_notification SET attempts = attempts + 1, last_error = %s,"
                             " next_attempt_at = %s WHERE notification_id = %s", (error, now + delay, nid))
                res.failed += 1
                res.errors.append(f"notification {nid} to {recipient} ({redact(channel)}): {error}")
                log.warning("delivery to %s (%s) failed, retry after %s: %s", recipient, redact(channel), delay, error)
    return res


def _mark_notified(conn: psycopg.Connection, alert_id: int, now: datetime, audience: str, recipient: str) -> None:
    conn.execute("UPDATE ops.alert SET notified_at = coalesce(notified_at, %s),"
                 " state = CASE WHEN state = 'open' THEN 'notified' ELSE state END WHERE alert_id = %s",
                 (now, alert_id))
    event(conn, alert_id, now, "notified", "monitor", {"audience": audience, "recipient": recipient})
