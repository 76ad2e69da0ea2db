"""``supervision alerts ...``: the operators' commands for alerts (docs/alerting.md, README "Alerts").

  list       open (or any) alerts, filtered by county, city, province, kind, date
  show       one alert with its history and its notifications
  ack        acknowledge an alert (escalation stops; it closes when fixed)
  resolve    close an alert by hand (with a note); the monitor does not reopen the same problem
  renotify   tell everyone told so far again (at the next delivery)
  extend     grant a county a later deadline for a date range (who approved it, why)
  exempt     exempt a county from submitting for a date range (planned outage; who approved it, why)
  grants     list extensions and exemptions (the audit trail); revoke one with ``revoke``
  monitor    run the monitor once now (judge, digest, deliver), as the DAG does
  scorecard  monthly compliance per county, city or province

Every command takes ``--now`` (ISO 8601) for re-plays and tests; it defaults to the current time.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import date, datetime
from decimal import Decimal

from psycopg.rows import dict_row

from supervision.alerting.kinds import KINDS, LEVELS
from supervision.contract import RECORD_TYPES


def _local(value: datetime) -> datetime:
    """Times are shown in Asia/Shanghai, with the offset (+08:00) written out."""
    from zoneinfo import ZoneInfo

    from supervision.settings import TIMEZONE

    return value.astimezone(ZoneInfo(TIMEZONE)) if value.tzinfo else value


def _json(value):
    """json.dumps default: numbers from numeric columns stay numbers; times in Asia/Shanghai; the rest text."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return _local(value).isoformat()
    return str(value)


def _dump(rows) -> str:
    return json.dumps(rows, ensure_ascii=False, default=_json, indent=1)


def _date(s: str) -> date:
    return date.fromisoformat(s)


def _now(args):
    from supervision.alerting.monitor import parse_now

    return parse_now(args.now)


def _connect():
    from supervision.warehouse.connection import connect
    from supervision.warehouse.migrate import require_current_schema

    conn = connect(autocommit=True)
    require_current_schema(conn)  # migrations are a deploy step: supervision db migrate
    return conn


def _actor(args) -> str:
    return getattr(args, "by", None) or getpass.getuser()


def _print_rows(rows: list[dict], columns: list[str]) -> None:
    if not rows:
        print("(none)")
        return
    text = [[("" if r[c] is None else _local(r[c]).strftime("%Y-%m-%d %H:%M%z") if isinstance(r[c], datetime)
              else str(r[c])) for c in columns] for r in rows]
    widths = [min(60, max(len(c), *(len(t[i]) for t in text))) for i, c in enumerate(columns)]
    print("  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    for t in text:
        print("  ".join(v[:w].ljust(w) for v, w in zip(t, widths, strict=True)))


def query_alerts(conn, *, states: list[str], county=None, city=None, province=None, kind=None, day=None, since=None,
                 limit: int = 200) -> tuple[list[dict], int]:
    """The alerts matching the filters, newest business date first, at most ``limit``; and how many match."""
    with conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT a.alert_id AS id, a.state, a.level, a.kind, a.county_code AS county, d.name, a.record_type AS type,"
            " a.business_date AS date, a.opened_at, a.summary, a.resolution,"
            " (SELECT count(*) FROM ops.alert_notification n WHERE n.alert_id = a.alert_id AND n.status = 'pending')"
            "   AS undelivered, count(*) OVER () AS matching"
            " FROM ops.alert a LEFT JOIN ref.division d ON d.code = a.county_code"
            " WHERE a.state = ANY(%(states)s)"
            " AND (%(county)s::text IS NULL OR a.county_code = %(county)s)"
            " AND (%(city)s::text IS NULL OR d.city_code = %(city)s)"
            " AND (%(province)s::text IS NULL OR d.province_code = %(province)s)"
            " AND (%(kind)s::text IS NULL OR a.kind = %(kind)s)"
            " AND (%(date)s::date IS NULL OR a.business_date = %(date)s)"
            " AND (%(since)s::date IS NULL OR a.business_date >= %(since)s)"
            " ORDER BY a.business_date DESC, a.county_code NULLS FIRST, a.kind LIMIT %(limit)s",
            {"states": states, "county": county, "city": city, "province": province, "kind": kind, "date": day,
             "since": since, "limit": limit}).fetchall()
    total = rows[0]["matching"] if rows else 0  # the window count runs over every matching row, before LIMIT
    if not rows and limit == 0:
        with conn.cursor() as cur:  # --limit 0: only the count
            total = cur.execute(
                "SELECT count(*) FROM ops.alert a LEFT JOIN ref.division d ON d.code = a.county_code"
                " WHERE a.state = ANY(%(states)s) AND (%(county)s::text IS NULL OR a.county_code = %(county)s)"
                " AND (%(city)s::text IS NULL OR d.city_code = %(city)s)"
                " AND (%(province)s::text IS NULL OR d.province_code = %(province)s)"
                " AND (%(kind)s::text IS NULL OR a.kind = %(kind)s)"
                " AND (%(date)s::date IS NULL OR a.business_date = %(date)s)"
                " AND (%(since)s::date IS NULL OR a.business_date >= %(since)s)",
                {"states": states, "county": county, "city": city, "province": province, "kind": kind, "date": day,
                 "since": since}).fetchone()[0]
    for r in rows:
        r.pop("matching", None)
        r["level"] = LEVELS[r["level"]] if KINDS[r["kind"]].audience == "county" else "engineers"
    return rows, total


def render_alerts(rows: list[dict], total: int) -> str:
    """The alerts as a table, times in Asia/Shanghai (named in the header), and "showing N of M"."""
    import io
    from contextlib import redirect_stdout
    from zoneinfo import ZoneInfo

    from supervision.settings import TIMEZONE

    tz = ZoneInfo(TIMEZONE)
    shown = [{**r, "opened_at": r["opened_at"].astimezone(tz).strftime("%m-%d %H:%M")} for r in rows]
    buf = io.StringIO()
    with redirect_stdout(buf):
        _print_rows(shown, ["id", "state", "level", "kind", "county", "name", "type", "date", "opened_at",
                            "undelivered", "summary"])
    head = f"showing {len(rows)} of {total} alert(s); opened_at in {TIMEZONE} (UTC+8)"
    if total > len(rows):
        head += f"; raise --limit or narrow with --date/--county/--kind to see the other {total - len(rows)}"
    return head + "\n" + buf.getvalue().rstrip("\n")


def cmd_list(args) -> int:
    states = {"unresolved": ["open", "notified", "acknowledged"], "all": ["open", "notified", "acknowledged", "resolved"]}
    wanted = states.get(args.state, [args.state])
    with _connect() as conn:
        rows, total = query_alerts(conn, states=wanted, county=args.county, city=args.city, province=args.province,
                                   kind=args.kind, day=args.date, since=args.since, limit=args.limit)
    if args.json:  # the list itself on stdout (scripts), the count on stderr
        print(_dump(rows))
        print(f"showing {len(rows)} of {total} alert(s)", file=sys.stderr)
    else:
        print(render_alerts(rows, total))
    return 0


def cmd_show(args) -> int:
    with _connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        alert = cur.execute("SELECT * FROM ops.alert WHERE alert_id = %s", (args.id,)).fetchone()
        if alert is None:
            print(f"there is no alert #{args.id}")
            return 1
        events = cur.execute("SELECT at, event, actor, detail FROM ops.alert_event WHERE alert_id = %s ORDER BY at,"
                             " event_id", (args.id,)).fetchall()
        notes = cur.execute("SELECT notification_id AS id, round, audience, recipient, channel, status, attempts,"
                            " sent_at, last_error FROM ops.alert_notification WHERE alert_id = %s ORDER BY 1",
                            (args.id,)).fetchall()
    from supervision.alerting.notify import redact

    for n in notes:
        n["channel"] = redact(n["channel"])
    print(_dump({"alert": alert, "events": events, "notifications": notes}))
    return 0


def cmd_ack(args) -> int:
    from supervision.alerting.lifecycle import acknowledge

    with _connect() as conn:
        acknowledge(conn, args.id, _now(args), args.by, args.note)
    print(f"alert #{args.id} acknowledged by {args.by}: escalation stops; it closes when the problem is fixed")
    return 0


def cmd_resolve(args) -> int:
    from supervision.alerting.lifecycle import resolve

    with _connect() as conn:
        resolve(conn, args.id, _now(args), args.by, args.note)
    print(f"alert #{args.id} resolved by {args.by}")
    return 0


def cmd_renotify(args) -> int:
    from supervision.alerting.lifecycle import renotify

    with _connect() as conn:
        round_ = renotify(conn, args.id, _now(args), _actor(args))
    print(f"alert #{args.id}: notification round {round_} planned; sent by the next monitor run "
          "(or now: supervision alerts monitor)")
    return 0


def cmd_grant(args) -> int:
    from supervision.alerting.lifecycle import grant_exception
    from supervision.alerting.monitor import parse_now
    from supervision.registry import load_registry

    reg = load_registry(args.registry)
    reg.county(args.county)  # KeyError names the registry when the county is not in it
    kind = "extension" if args.command_name == "extend" else "exemption"
    with _connect() as conn:
        eid = grant_exception(
            conn, kind=kind, county_code=args.county, record_type=args.type, date_from=args.date_from,
            date_to=args.date_to, approved_by=args.approved_by, reason=args.reason, granted_by=_actor(args),
            now=_now(args), deadline_until=parse_now(args.until) if getattr(args, "until", None) else None,
            extra_hours=getattr(args, "hours", None))
    print(f"grant #{eid}: {kind} for county {args.county} ({args.type or 'all record types'}) "
          f"{args.date_from}..{args.date_to}, approved by {args.approved_by}; applied at the next monitor run")
    return 0


def cmd_grants(args) -> int:
    with _connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            "SELECT exception_id AS id, kind, county_code AS county, coalesce(record_type, '*') AS type,"
            " date_from, date_to, deadline_until, extra_hours, approved_by, reason, granted_by, granted_at,"
            " revoked_at, revoked_by, revoke_reason FROM ops.submission_exception"
            " WHERE (%(county)s::text IS NULL OR county_code = %(county)s) AND (%(all)s OR revoked_at IS NULL)"
            " ORDER BY exception_id", {"county": args.county, "all": args.all}).fetchall()
    if args.json:
        print(_dump(rows))
    else:
        _print_rows(rows, ["id", "kind", "county", "type", "date_from", "date_to", "deadline_until", "extra_hours",
                           "approved_by", "reason", "granted_by", "granted_at", "revoked_at"])
    return 0


def cmd_revoke(args) -> int:
    from supervision.alerting.lifecycle import revoke_exception

    with _connect() as conn:
        revoke_exception(conn, args.id, _now(args), args.by, args.reason)
    print(f"grant #{args.id} revoked by {args.by}; the next monitor run judges the dates without it")
    return 0


def _latest_event(conn):
    (latest,) = conn.execute("SELECT max(at) FROM ops.alert_event").fetchone()
    return latest


def cmd_monitor(args) -> int:
    from supervision.alerting.monitor import run_monitor

    if args.now and not args.allow_past:
        # A re-play before what the warehouse already recorded would resolve alerts before they were opened.
        with _connect() as conn:
            latest = _latest_event(conn)
        if latest is not None and _now(args) < latest:
            from zoneinfo import ZoneInfo

            from supervision.settings import TIMEZONE

            shown = latest.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M %Z")
            print(f"--now {args.now} is before the newest alert event ({shown}, Asia/Shanghai): judging the past "
                  "again would close alerts before they were opened. Use a later --now, or --allow-past on a "
                  "scratch warehouse.", file=sys.stderr)
            return 2
    counties = args.counties.split(",") if args.counties else None
    result = run_monitor(args.now, args.registry, counties, args.drop_root, send=not args.no_send, since=args.since)
    print(_dump(result))
    return 0


def cmd_scorecard(args) -> int:
    view = {"county": "compliance_county_month", "city": "compliance_city_month",
            "province": "compliance_province_month"}[args.level]
    from psycopg import sql

    with _connect() as conn, conn.cursor(row_factory=dict_row) as cur:
        rows = cur.execute(
            sql.SQL("SELECT * FROM {} WHERE (%(month)s::date IS NULL OR month = %(month)s)"
                    " AND (%(code)s::text IS NULL OR {} = %(code)s) ORDER BY 1, month").format(
                sql.Identifier("marts", view), sql.Identifier(f"{args.level}_code")),
            {"month": args.month, "code": args.code}).fetchall()
    if args.json:
        print(_dump(rows))
    else:
        name = f"{args.level}_name"
        print("late_days: business days judged late (every date the monitor judged, however old); alerts_late: late"
              " alerts opened, which happens only within lookback_days of the deadline (registry `alerting`), one"
              " per county, record type and date - so a back-filled or long-missed month can show more late days"
              " than late alerts; chronic lateness is one chronic_late alert, not counted here.")
        _print_rows(rows, [f"{args.level}_code", name, "month", "business_days", "on_time_days", "valid_days",
                           "on_time_valid_share", "late_days", "alerts_late", "alerts_missing", "alerts_rejected",
                           "alerts_invalid", "alerts_total"])
    return 0


def _month(s: str) -> date:
    return date.fromisoformat(s + "-01") if len(s) == 7 else date.fromisoformat(s).replace(day=1)


def register_cli(subparsers) -> None:
    """Add ``alerts`` and its sub-commands to the ``supervision`` parser."""
    p = subparsers.add_parser("alerts", help="alerts on county submissions: list | show | ack | resolve | renotify |"
                                             " extend | exempt | grants | revoke | monitor | scorecard",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="alerts_command", required=True)

    def add(name: str, func, text: str, registry: bool = False) -> argparse.ArgumentParser:
        q = sub.add_parser(name, help=text, description=text)
        q.add_argument("--now", default=None, help="the current time, ISO 8601 (re-plays and tests); default: now")
        if registry:
            q.add_argument("--registry", default=None, help="county registry YAML (default $SUPERVISION_REGISTRY)")
        q.set_defaults(func=func, command_name=name)
        return q

    q = add("list", cmd_list, "list alerts (default: unresolved)")
    q.add_argument("--state", default="unresolved",
                   choices=["unresolved", "open", "notified", "acknowledged", "resolved", "all"])
    q.add_argument("--county")
    q.add_argument("--city", help="city code, e.g. 4110")
    q.add_argument("--province", help="province code, e.g. 41")
    q.add_argument("--kind", choices=sorted(KINDS))
    q.add_argument("--date", type=_date, help="business date")
    q.add_argument("--since", type=_date, help="business dates from this one on")
    q.add_argument("--limit", type=int, default=200)
    q.add_argument("--json", action="store_true")

    q = add("show", cmd_show, "one alert with its events and notifications (JSON)")
    q.add_argument("id", type=int)

    q = add("ack", cmd_ack, "acknowledge an alert: escalation stops; it still closes only when fixed")
    q.add_argument("id", type=int)
    q.add_argument("--by", required=True, help="who acknowledges")
    q.add_argument("--note")

    q = add("resolve", cmd_resolve, "close an alert by hand (the monitor does not reopen the same problem)")
    q.add_argument("id", type=int)
    q.add_argument("--by", required=True)
    q.add_argument("--note", required=True, help="why it is closed")

    q = add("renotify", cmd_renotify, "tell everyone told so far again, at the next delivery")
    q.add_argument("id", type=int)
    q.add_argument("--by")

    for name, text in (("extend", "grant a later deadline for a county and a date range"),
                       ("exempt", "exempt a county from submitting for a date range (e.g. a planned outage)")):
        q = add(name, cmd_grant, text, registry=True)
        q.add_argument("--county", required=True)
        q.add_argument("--type", choices=sorted(RECORD_TYPES),
                       help="only this record type (default: all)")
        q.add_argument("--from", dest="date_from", type=_date, required=True, help="first business date")
        q.add_argument("--to", dest="date_to", type=_date, required=True, help="last business date")
        if name == "extend":
            g = q.add_mutually_exclusive_group(required=True)
            g.add_argument("--until", help="new deadline for every date, ISO 8601 (e.g. 2026-11-25T12:00+08:00)")
            g.add_argument("--hours", type=float, help="hours added to each date's own deadline")
        q.add_argument("--approved-by", required=True, help="who approved it")
        q.add_argument("--reason", required=True, help="why (kept in the audit trail)")
        q.add_argument("--by", help="who records it (default: your user name)")

    q = add("grants", cmd_grants, "list extensions and exemptions (audit trail)")
    q.add_argument("--county")
    q.add_argument("--all", action="store_true", help="include revoked grants")
    q.add_argument("--json", action="store_true")

    q = add("revoke", cmd_revoke, "revoke an extension or exemption (kept, marked revoked)")
    q.add_argument("id", type=int)
    q.add_argument("--by", required=True)
    q.add_argument("--reason", required=True)

    q = add("monitor", cmd_monitor, "run the monitor once: judge, digest, deliver", registry=True)
    q.add_argument("--drop-root", default=None, help="drop folder (default $SUPERVISION_DROP_ROOT or data/drop)")
    q.add_argument("--counties", help="comma-separated county codes (default: the whole registry)")
    q.add_argument("--since", type=_date, help="also judge business dates from this one (back-fill scorecards)")
    q.add_argument("--no-send", action="store_true", help="plan notifications but do not send them")
    q.add_argument("--allow-past", action="store_true",
                   help="accept a --now earlier than the newest alert event (re-plays on a scratch warehouse)")

    q = add("scorecard", cmd_scorecard, "monthly share of business days on time and valid, and alert counts")
    q.add_argument("--level", choices=["county", "city", "province"], default="county")
    q.add_argument("--month", type=_month, help="YYYY-MM (default: every month)")
    q.add_argument("--code", help="only this county, city or province code")
    q.add_argument("--json", action="store_true")


def morning_after_report(day: date, reg, counties: list[str], drop_root) -> str:
    """The demo's last step: the monitor judges the night at the moment its morning is over (the deadlines,
    the pipeline deadline and the digest time passed), and the night's alerts are listed."""
    from zoneinfo import ZoneInfo

    from supervision.alerting.monitor import morning_after, run_monitor
    from supervision.settings import TIMEZONE

    now = morning_after(day, reg, counties)
    # Notifications are planned, not sent: the demo has no mail server or chat webhooks.
    result = run_monitor(now, reg, counties, drop_root, send=False)
    with _connect() as conn:
        rows, total = query_alerts(conn, states=["open", "notified", "acknowledged"], day=day, limit=50)
    shown = now.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M")
    return (f"\nThe morning after: the alert monitor judged {day} at {shown} {TIMEZONE} (every deadline passed); "
            f"{result['judge'].get('opened', 0)} alert(s) opened, notifications planned but not sent "
            "(no mail server in the demo):\n" + render_alerts(rows, total)
            + f"\n  later: supervision alerts list --date {day}  |  supervision alerts show <id>")
