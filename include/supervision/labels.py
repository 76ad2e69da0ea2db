"""Chinese labels of every enum value and column a supervisor sees (issue 16), keyed by field and value.

Column labels and the contract's enum values come from the contract (``Field.zh``, ``Field.enum_zh``); the
rest (derived columns and states of the marts and the alerting) are here.
"""

from __future__ import annotations

from supervision.alerting.kinds import KINDS
from supervision.contract import RECORD_TYPES


def _contract_values(record_type: str, field: str) -> dict[str, str]:
    f = next(f for f in RECORD_TYPES[record_type].fields if f.name == field)
    return dict(zip(f.enum, f.enum_zh, strict=True))


# Enum values of the contract: their labels are defined once, beside the fields (contract.Field.enum_zh).
VALUES: dict[str, dict[str, str]] = {
    "action_type": _contract_values("enforcement_cases", "action_type"),
    "domain": _contract_values("enforcement_cases", "domain"),
    "status": _contract_values("enforcement_cases", "status"),
    "reconsideration_outcome": _contract_values("reconsideration_cases", "outcome"),
    "litigation_outcome": _contract_values("litigation_cases", "outcome"),
    "procedure": _contract_values("reconsideration_cases", "procedure"),
    "trial_level": _contract_values("litigation_cases", "trial_level"),
    "party_type": _contract_values("enforcement_cases", "party_type"),
    "channel": _contract_values("complaints", "channel"),
    "result": _contract_values("complaints", "result"),
    "record_type": {rt.name: rt.zh for rt in RECORD_TYPES.values()},
    "level": {"province": "省级", "city": "市级", "county": "县级", "township": "乡镇（街道）"},
    "period_type": {"day": "日", "month": "月", "year": "年"},
    "unit": {"ratio": "比率", "count": "数量", "yuan": "金额（元）"},
    "alert_kind": {name: kind.zh for name, kind in KINDS.items()},  # alerting/kinds.py
    "alert_state": {"open": "待处理", "notified": "已通知", "acknowledged": "已确认", "resolved": "已解决"},
    "submission_day": {"on_time": "按时", "late": "迟报", "missing": "漏报", "invalid": "不合格", "none": "无数据",
                       "exempt": "免报"},
    "target_met": {"true": "达标", "false": "未达标", "none": "—"},
    "watch_kind": {"complaint_overdue": "投诉举报超期未办结", "reconsideration_overdue": "行政复议超期未决",
                   "publicity_overdue": "许可处罚决定超期未公示", "major_without_review": "重大执法决定未经法制审核",
                   "suggestion_unanswered": "司法建议超期未回复"},
}

COLUMNS: dict[str, str] = {
    "kpi": "指标", "kpi_name": "指标", "numerator": "分子", "denominator": "分母", "value": "数值",
    "target": "目标", "target_label": "目标", "target_met": "是否达标", "target_source": "目标依据",
    "division_code": "区划代码", "division_name": "区划", "county_name": "县（市、区）", "township_name": "乡镇（街道）",
    "city_name": "市", "record_type": "记录类型", "record_id": "记录编号", "case_number": "案号/文号",
    "agency_code": "执法主体代码", "agency_name": "执法主体", "period_date": "计入日期", "period_start": "期间",
    "kind": "预警类型", "since_date": "起算日期", "due_date": "期限届满日", "days_overdue": "超期天数",
    "business_date": "业务日期", "business_days": "应报天数", "on_time_days": "按时天数", "valid_days": "合格天数",
    "on_time_valid_days": "按时且合格天数", "late_days": "迟报天数", "on_time_valid_share": "按时合格率",
    "alerts_total": "预警数", "alerts_unresolved": "未解决预警", "summary": "问题", "fix": "处理办法", "state": "状态",
    "opened_at": "发现时间", "county_code": "县级区划代码", "month": "月份",
}


def column(name: str, record_type: str | None = None) -> str:
    """The Chinese label of a column: the contract's for a field of the record type, else ours, else the name."""
    if record_type and record_type in RECORD_TYPES:
        for f in RECORD_TYPES[record_type].fields:
            if f.name == name:
                return f.zh
    return COLUMNS.get(name, name)


def value(field: str, code) -> str:
    """The Chinese label of an enum value (the code itself when unknown, so a new value still shows)."""
    if code is None:
        return "—"
    return VALUES.get(field, {}).get(str(code), str(code))


def load_labels(conn) -> int:
    """Replace marts.enum_label by :data:`VALUES` (the warehouse owner runs this with the targets)."""
    rows = [(f, c, zh) for f, values in VALUES.items() for c, zh in values.items()]
    with conn.transaction():
        conn.execute("DELETE FROM marts.enum_label")
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO marts.enum_label (field, enum_value, zh) VALUES (%s, %s, %s)", rows)
    return len(rows)
