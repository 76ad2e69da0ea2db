"""Message texts: every alert message says which county, which date, what is wrong, how to fix it and where
the details are; digests summarise a city or the province for the morning."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from supervision import county_text, divisions
from supervision.alerting.kinds import COUNTY_WIDE, KINDS, LEVELS
from supervision.registry import County
from supervision.settings import TIMEZONE

TZ = ZoneInfo(TIMEZONE)
DETAIL_LINES = (  # details keys shown in messages, in this order
    ("source_file", "file"),
    ("ledger_reason", "ledger says"),
    ("quarantine_query", "quarantined rows"),
    ("validation_result", "validation result (Great Expectations)"),
    ("ledger_query", "ledger"),
    ("drop_folder", "drop folder"),
    ("deadline", "deadline"),
)
CLOSES = {
    "late": "when the county's files have arrived.",
    "missing": "when the file has arrived.",
    "stale_source": "when changed records arrive.",
    "chronic_late": "when the county is late on fewer days of the window than the threshold.",
    "pipeline_late": "when the nightly run has recorded every county.",
    "pipeline_failed": "when a re-run records the file without a pipeline error.",
    "drop_unexpected": "by an engineer (supervision alerts resolve) once the entries are removed or the county is "
                       "added to the registry.",
}
ESCALATION_ZH = {
    "city": "已升级至市级监督人员：提醒发出 {age} 后仍未解决",
    "province": "已升级至省级监督人员：提醒发出 {age} 后仍未解决",
}
ESCALATION = {
    "city": "escalated to the city supervisor (市级): still unresolved {age} after it was raised",
    "province": "escalated to the province supervisor (省级): still unresolved {age} after it was raised",
}


def local(ts: datetime | None) -> str:
    return ts.astimezone(TZ).strftime("%Y-%m-%d %H:%M") if ts else "-"


def county_label(county: County | None, code: str | None) -> str:
    if county is None:
        return f"county {code}" if code else "all counties (the nightly pipeline)"
    province = divisions.division(county.province_code)
    return f"{county.code} {county.name} ({county.city_name}, {province['name'] if province else county.province_code})"


def _age(delta) -> str:
    minutes = int(delta.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def _county_facing(alert: dict, county: County | None, audience: str) -> bool:
    return county is not None and audience in LEVELS and KINDS[alert["kind"]].audience == "county"


def alert_title(alert: dict, county: County | None, audience: str) -> str:
    k = KINDS[alert["kind"]]
    prefix = "[升级 escalated] " if audience in ("city", "province") and k.start_level < LEVELS.index(audience) else ""
    if _county_facing(alert, county, audience):  # Chinese first (supervision.county_text)
        return county_text.alert_county_title(alert, county, k.zh, k.label, prefix)
    what = "" if alert["record_type"] == COUNTY_WIDE else f" {alert['record_type']}"
    who = (county.code + " " + county.name if county else
           "drop folder (no registered county)" if alert["kind"] == "drop_unexpected" else "nightly pipeline")
    return f"{prefix}[{k.zh}] {k.label}: {who}{what}, business date {alert['business_date']}"


def alert_body(alert: dict, county: County | None, audience: str, now: datetime, told: list[str] | None = None,
               rows: list[dict] | None = None, total_rows: int = 0) -> str:
    """The message of an alert. The county (and its supervisors) read Chinese first, without SQL or CLI, the fix
    matched to the county's transport, with the first quarantined ``rows``; supervisors also get the engineers'
    references; the engineers' own kinds stay in English with queries and commands."""
    k = KINDS[alert["kind"]]
    if _county_facing(alert, county, audience):
        lines = county_text.alert_county_body(alert, county, rows, total_rows)
        if audience in ESCALATION and k.start_level < LEVELS.index(audience):
            lines.append("升级：" + ESCALATION_ZH[audience].format(age=_age(now - alert["opened_at"]))
                         + f" / {ESCALATION[audience].format(age=_age(now - alert['opened_at']))}")
            if told:
                lines.append("  已通知 already told: " + "; ".join(told))
        lines.append(f"{county_text.GLOSS.strip()} {k.label}: {alert['summary']}")
        if audience != "county":  # supervisors: where the details are, for whoever follows it up
            lines += _references(alert, k)
        return "\n".join(lines)
    details = alert.get("details") or {}
    lines = [
        f"County: {county_label(county, alert['county_code'])}" if county or alert["kind"] != "drop_unexpected"
        else "County: none in the registry (entries at the top of the drop folder)",
        f"Business date: {alert['business_date']}"
        + (f" (record type {alert['record_type']})" if alert["record_type"] != COUNTY_WIDE else ""),
        f"What is wrong: {alert['summary']}",
        f"How to fix it: {alert['fix']}",
        "Where the details are:",
    ]
    for key, label in DETAIL_LINES:
        if details.get(key):
            lines.append(f"  - {label}: {details[key]}")
    if audience in ESCALATION and k.start_level < LEVELS.index(audience):
        lines.append("Escalation: " + ESCALATION[audience].format(age=_age(now - alert["opened_at"])))
        if told:
            lines.append("  already told: " + "; ".join(told))
    lines += [
        f"Alert #{alert['alert_id']} ({k.name}), raised {local(alert['opened_at'])} Asia/Shanghai, "
        f"state {alert['state']}.",
        f"  list:        supervision alerts list --county {alert['county_code']}" if alert["county_code"] else
        "  list:        supervision alerts list --kind " + k.name,
        f"  acknowledge: supervision alerts ack {alert['alert_id']} --by <your name>",
        "It is closed automatically " + CLOSES.get(k.name, "when a valid re-submission has been loaded."),
    ]
    return "\n".join(lines)


def _references(alert: dict, k) -> list[str]:
    details = alert.get("details") or {}
    lines = ["供监督人员和工程人员参考 (for supervisors and engineers):"]
    for key, label in DETAIL_LINES:
        if details.get(key) and key != "ledger_reason":
            lines.append(f"  - {label}: {details[key]}")
    lines.append(f"  acknowledge: supervision alerts ack {alert['alert_id']} --by <your name>")
    return lines


def digest_title(scope_code: str, scope_name: str, business_date, level: str) -> str:
    zh = "市级" if level == "city" else "省级"
    return f"[报送晨报 {zh}] {scope_name} ({scope_code}): submissions for business date {business_date}"
