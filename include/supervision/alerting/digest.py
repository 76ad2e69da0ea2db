"""Morning digests: one message per city and one per province, once a day after ``digest_time``.

A digest covers the previous business date (counties on time and valid, late, exempt) and every unresolved
alert of its counties, plus what was resolved in the last 24 hours and deliveries still pending. It is
planned into the outbox once per division and day (``dedupe_key``) and delivered like any notification.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, time, timedelta

import psycopg
from psycopg.rows import dict_row

from supervision import county_text, divisions
from supervision.alerting.evidence import local_today
from supervision.alerting.judge import TZ
from supervision.alerting.kinds import KINDS, LEVELS
from supervision.alerting.messages import digest_title, local
from supervision.alerting.notify import contact_channels, dedupe_key, first_quarantined_rows
from supervision.alerting.settings import AlertSettings
from supervision.registry import County

READER_SCORECARD = "SELECT * FROM marts.compliance_county_month WHERE {} = '{}' ORDER BY month DESC;"  # for the reader


def digest_due(now: datetime, settings: AlertSettings) -> bool:
    hh, mm = (int(x) for x in settings.digest_time.split(":"))
    return now.astimezone(TZ) >= datetime.combine(local_today(now), time(hh, mm), tzinfo=TZ)


def plan_digests(conn: psycopg.Connection, counties: list[County], settings: AlertSettings, now: datetime) -> int:
    """Outbox rows for today's city and province digests (none before digest_time; once per day)."""
    if not digest_due(now, settings):
        return 0
    today = local_today(now)
    scopes: dict[tuple[str, str], list[County]] = defaultdict(list)
    for c in counties:
        scopes[("city", c.city_code)].append(c)
        scopes[("province", c.province_code)].append(c)
    planned = 0
    with conn.transaction():
        for (level, code), members in sorted(scopes.items()):
            contacts = settings.contacts_of(code)
            if not contacts:
                continue
            if conn.execute("SELECT 1 FROM ops.alert_notification WHERE digest_scope = %s AND digest_date = %s LIMIT 1",
                            (code, today)).fetchone():
                continue
            title, body = render_digest(conn, level, code, members, now)
            for contact in contacts:
                for channel in contact_channels(contact):
                    row = conn.execute(
                        "INSERT INTO ops.alert_notification (dedupe_key, digest_scope, digest_date, level, audience,"
                        " recipient, channel, title, body, created_at, next_attempt_at) VALUES (%s, %s, %s, %s, %s,"
                        " %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING RETURNING notification_id",
                        (dedupe_key(f"digest:{code}:{today}", level, channel), code, today, LEVELS.index(level),
                         level, contact.name, channel, title, body, now, now)).fetchone()
                    planned += row is not None
    return planned


def render_digest(conn: psycopg.Connection, level: str, code: str, members: list[County], now: datetime) -> tuple[str, str]:
    day = local_today(now) - timedelta(days=1)
    codes = [c.code for c in members]
    names = {c.code: c for c in members}
    with conn.cursor(row_factory=dict_row) as cur:
        days = {r["county_code"]: r for r in cur.execute(
            "SELECT county_code, exempt, on_time, valid, something_on_time FROM marts.submission_compliance_day"
            " WHERE business_date = %s AND county_code = ANY(%s)", (day, codes))}
        alerts = cur.execute(
            "SELECT alert_id, kind, county_code, record_type, business_date, state, level, opened_at, summary, details,"
            " fix"
            " FROM ops.alert WHERE state <> 'resolved' AND county_code = ANY(%s)"
            " ORDER BY county_code, business_date, kind", (codes,)).fetchall()
        resolved = cur.execute(
            "SELECT alert_id, kind, county_code, record_type, business_date, resolution FROM ops.alert"
            " WHERE state = 'resolved' AND resolved_at > %s AND county_code = ANY(%s) ORDER BY resolved_at",
            (now - timedelta(days=1), codes)).fetchall()
        pending = cur.execute(
            "SELECT a.county_code, n.recipient, n.audience, n.attempts, n.last_error FROM ops.alert_notification n"
            " JOIN ops.alert a USING (alert_id) WHERE n.status = 'pending' AND n.attempts > 0"
            " AND a.county_code = ANY(%s) ORDER BY 1", (codes,)).fetchall()
    judged = [d for d in days.values() if not d["exempt"]]
    good = sum(1 for d in judged if d["on_time"] and d["valid"])
    late = sorted(c for c, d in days.items() if not d["exempt"] and not d["something_on_time"])
    exempt = sorted(c for c, d in days.items() if d["exempt"])
    name = (divisions.division(code) or {}).get("name", code)
    # Chinese first for the supervisors; the English gloss follows on the same line
    lines = [f"{name}（{code}）业务日期 {day} 的报送情况，截至 {local(now)}（北京时间）"
             f" | {name} ({code}), business date {day}, as of {local(now)} Asia/Shanghai",
             f"县（区）{len(members)} 个；已评判 {len(judged)}；按时且合格 {good}；逾期（期限前未收到任何数据）{len(late)}；"
             f"豁免 {len(exempt)} | Counties: {len(members)}; judged: {len(judged)}; on time and valid: {good}; "
             f"late (nothing by the deadline): {len(late)}; exempt: {len(exempt)}"]
    if late:
        lines.append("逾期 Late: " + ", ".join(f"{c} {names[c].name}" for c in late))
    if level == "province":
        lines.append("按市 By city:")
        by_city: dict[str, list[str]] = defaultdict(list)
        for c in members:
            by_city[c.city_code].append(c.code)
        open_by_county = Counter(a["county_code"] for a in alerts)
        for city, cs in sorted(by_city.items()):
            ok = sum(1 for c in cs if c in days and not days[c]["exempt"] and days[c]["on_time"] and days[c]["valid"])
            esc = sum(1 for a in alerts if a["county_code"] in cs and a["level"] == 2)
            n_open = sum(open_by_county[c] for c in cs)
            lines.append(f"  {city} {names[cs[0]].city_name}：{len(cs)} 个县（区），{ok} 个按时且合格，{n_open} 条未解决提醒"
                         f"（{esc} 条已升级至省级） | {city} {names[cs[0]].city_name}: {len(cs)} counties, {ok} on time "
                         f"and valid, {n_open} open alerts ({esc} escalated to the province)")
    shown = alerts if level == "city" else [a for a in alerts if a["level"] == 2 or a["kind"] == "chronic_late"]
    lines.append(f"未解决提醒 Open alerts: {len(alerts)}" + (
        "" if level == "city" else f"（列出已升级至省级或多次逾期的 {len(shown)} 条 listed: the {len(shown)} escalated "
                                   "to the province or chronic）"))
    for kind, n in sorted(Counter(a["kind"] for a in alerts).items()):
        lines.append(f"  {KINDS[kind].zh} {kind}: {n}")
    for a in shown:
        c = names.get(a["county_code"])
        rt = "" if a["record_type"] == "*" else f" {a['record_type']}"
        problem = county_text.alert_problem(a, c).split(county_text.GLOSS)[0] if c else a["summary"]
        lines.append(f"  #{a['alert_id']} {a['county_code']} {c.name if c else ''} {a['business_date']} "
                     f"{KINDS[a['kind']].zh} {a['kind']}{rt} [{a['state']}, told: {LEVELS[a['level']]}, since "
                     f"{local(a['opened_at'])}]：{problem[:160]}")
    lines.append(f"最近 24 小时已解决 Resolved in the last 24 hours: {len(resolved)}")
    for a in resolved[:50]:
        lines.append(f"  #{a['alert_id']} {a['county_code']} {a['business_date']} {a['kind']}: {a['resolution']}")
    if pending:
        lines.append(f"尚未送达的通知（重试中）Notifications not delivered yet (retried): {len(pending)}")
        for p in pending[:20]:
            lines.append(f"  {p['county_code']} to {p['recipient']} ({p['audience']}), {p['attempts']} attempt(s): "
                         f"{p['last_error']}")
    lines += ["详情 Details: supervision alerts list --" + ("city " if level == "city" else "province ") + code,
              "评分 Scorecards: " + READER_SCORECARD.format("city_code" if level == "city" else "province_code", code)]
    return digest_title(code, name, day, level), "\n".join(lines)


NOTICE_ROWS = 5  # quarantined rows shown per file in the county's daily notice

# Loaded files of a county with rows still quarantined (under the threshold: no alert of their own), that no
# earlier notice listed, for the business dates alerts look at.
_NOTICE_FILES = """
SELECT s.submission_id, s.business_date, s.record_type, s.source_file, s.rows_received, s.rows_quarantined
FROM ops.submission s
WHERE s.county_code = %(county)s AND s.superseded_by IS NULL AND s.status = 'loaded_with_quarantine'
  AND s.business_date >= %(since)s
  AND EXISTS (SELECT 1 FROM ops.quarantine q WHERE q.submission_id = s.submission_id AND q.resolved_at IS NULL)
  AND NOT EXISTS (SELECT 1 FROM ops.alert_notification n
                  WHERE n.digest_scope = %(county)s AND s.submission_id = ANY(n.submission_ids))
ORDER BY s.business_date, s.record_type"""
_NOTICE_RULES = """
SELECT r, count(*) FROM ops.quarantine q CROSS JOIN LATERAL unnest(q.failed_rules) AS r
WHERE q.submission_id = %s AND q.resolved_at IS NULL GROUP BY r ORDER BY 2 DESC, 1"""


def plan_county_notices(conn: psycopg.Connection, counties: list[County], settings: AlertSettings,
                        now: datetime) -> int:
    """The county's daily notice of quarantined rows (rows under the threshold raise no alert): one message per
    county and day after ``digest_time``, listing per file the rows per rule and the first rows, through the
    county contact's channels. Each submission is told once (``submission_ids``)."""
    if not digest_due(now, settings):
        return 0
    today = local_today(now)
    since = today - timedelta(days=settings.lookback_days + 1)
    planned = 0
    with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        for c in counties:
            channels = contact_channels(c.contact)
            if not channels or cur.execute(
                    "SELECT 1 FROM ops.alert_notification WHERE digest_scope = %s AND digest_date = %s LIMIT 1",
                    (c.code, today)).fetchone():
                continue
            files = cur.execute(_NOTICE_FILES, {"county": c.code, "since": since}).fetchall()
            if not files:
                continue
            for f in files:
                f["rules"] = [tuple(r.values()) for r in cur.execute(_NOTICE_RULES, (f["submission_id"],)).fetchall()]
                f["rows"], _ = first_quarantined_rows(conn, f["submission_id"], NOTICE_ROWS)
            title, body = county_text.quarantine_notice(c, today, files)
            ids = [f["submission_id"] for f in files]
            for channel in channels:
                row = conn.execute(
                    "INSERT INTO ops.alert_notification (dedupe_key, digest_scope, digest_date, level, audience,"
                    " recipient, channel, title, body, created_at, next_attempt_at, submission_ids) VALUES (%s, %s,"
                    " %s, 0, 'county', %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (dedupe_key) DO NOTHING"
                    " RETURNING notification_id",
                    (dedupe_key(f"quarantine:{c.code}:{today}", "county", channel), c.code, today, c.contact.name,
                     channel, title, body, now, now, ids)).fetchone()
                planned += row is not None
    return planned
