"""docs/data-dictionary.md, generated from a migrated warehouse: every table and view of the supervisor marts,
the core tables and the division reference, every column with its type and Chinese term.

Chinese terms: contract fields take theirs from :mod:`supervision.contract`; the other columns from
:data:`TERMS`. A test regenerates the file against the test database and compares, so a new column without a
term, or a stale dictionary, fails the build.

    python -m supervision.marts.dictionary > docs/data-dictionary.md
"""

from __future__ import annotations

import sys

import psycopg

from supervision.contract import RECORD_TYPES
from supervision.marts.model import fact_history_table, fact_table

# (relation, what it is) in the order of the dictionary; core tables follow the contract.
MARTS_RELATIONS: tuple[tuple[str, str], ...] = (
    ("marts.kpi", "view"), ("marts.kpi_definition", "table"), ("marts.kpi_value", "table"),
    ("marts.kpi_target", "table"), ("marts.kpi_vs_target", "view"), ("marts.enum_label", "table"),
    ("marts.kpi_contribution", "view"), ("marts.kpi_case", "view"),
    ("marts.kpi_contribution_enforcement", "view"), ("marts.kpi_contribution_violation", "view"),
    ("marts.kpi_contribution_reconsideration", "view"), ("marts.kpi_contribution_litigation", "view"),
    ("marts.kpi_contribution_complaint", "view"),
    ("marts.watchlist", "view"), ("marts.watchlist_item", "table"), ("marts.watch_complaint_overdue", "view"),
    ("marts.watch_reconsideration_overdue", "view"), ("marts.watch_publicity_overdue", "view"),
    ("marts.watch_major_without_review", "view"), ("marts.watch_suggestion_unanswered", "view"),
    *[(f"marts.{fact_table(rt)}", "table") for rt in RECORD_TYPES.values()],
    *[(f"marts.{fact_history_table(rt)}", "table") for rt in RECORD_TYPES.values()],
    ("marts.fact_legal_review_violation", "table"),
    ("marts.enforcement_case_derived", "view"), ("marts.reconsideration_case_derived", "view"),
    ("marts.litigation_case_derived", "view"), ("marts.complaint_derived", "view"),
    ("marts.enforcement_case_detail", "view"), ("marts.reconsideration_case_detail", "view"),
    ("marts.litigation_case_detail", "view"), ("marts.complaint_detail", "view"),
    ("marts.dim_date", "table"), ("marts.dim_division", "table"), ("marts.dim_agency", "table"),
    ("marts.dim_agency_name", "table"), ("marts.refresh_state", "table"), ("marts.supervisor_scope", "table"),
)
OTHER_RELATIONS: tuple[tuple[str, str], ...] = (
    ("ref.division", "table"),
    *[(f"core.{rt.table}", "table") for rt in RECORD_TYPES.values()],
    *[(f"core.{rt.table}_superseded", "table") for rt in RECORD_TYPES.values()],
    *[(f"core.{rt.table}_history", "view") for rt in RECORD_TYPES.values()],
    ("ops.marts_refresh", "table"),
)

TERMS: dict[str, str] = {
    # metadata
    "submission_id": "报送批次", "source_row": "源文件行号", "row_hash": "记录内容摘要", "loaded_at": "入库时间",
    "refreshed_at": "集市刷新时间",
    # divisions
    "code": "区划代码", "name": "名称", "level": "层级", "parent_code": "上级区划代码", "province_code": "省级区划代码",
    "city_code": "市级区划代码", "edition": "区划版本", "division_code": "区划代码", "division_name": "区划名称",
    "full_name": "区划全称", "township_name": "乡镇(街道)名称", "county_name": "县级名称", "city_name": "市级名称",
    "province_name": "省级名称", "is_unassigned": "未指定乡镇", "township_key": "乡镇(街道)代码(含未指定)",
    # dates
    "date": "日期", "year": "年", "quarter": "季度", "month": "月", "day": "日", "iso_weekday": "星期",
    "is_weekend": "周末", "is_working_day": "工作日", "is_holiday": "法定节假日", "holiday_name": "节日名称",
    "is_adjusted_working_day": "调休上班日", "working_day_seq": "工作日序号", "next_working_day": "顺延至工作日",
    "month_start": "月初", "year_start": "年初", "source": "来源",
    # agencies
    "agency_code": "执法主体统一社会信用代码", "agency_name": "执法主体名称", "registered_division": "登记机关区划码",
    "first_seen": "首次报送", "last_seen": "最近报送", "names": "名称数", "enforcement_cases": "执法案件数",
    "reconsideration_cases": "复议案件数", "litigation_cases": "诉讼案件数", "complaints": "投诉举报数",
    "valid_from": "名称启用", "valid_to": "名称停用", "is_current": "现用名称", "target_agency_name": "被投诉单位名称",
    # KPIs
    "scope_code": "适用区划(空=全部)", "comparator": "比较方式", "target": "目标值", "target_label": "目标",
    "target_source": "目标依据", "target_met": "是否达标", "field": "字段", "enum_value": "枚举值", "zh": "中文名称",
    "kpi": "指标代码", "kpi_name": "指标名称", "family": "指标类别", "name_zh": "中文名称", "name_en": "英文名称",
    "unit": "单位", "record_type": "记录类型", "period_by": "统计期依据日期", "numerator": "分子",
    "denominator": "分母", "township_level": "可细分到乡镇", "sort": "排序", "period_type": "统计期类型",
    "period_start": "统计期起始日", "period_date": "归属日期", "value": "指标值", "case_number": "案号/文书号",
    "as_of_date": "数据截止日", "records": "计入记录数",
    # derived deadlines
    "publicity_limit_working_days": "公示时限(工作日)", "publicity_due_date": "公示期限",
    "publicized_on_time": "按期公示", "legal_review_violation_reported": "报送未法制审核",
    "deadline_days": "审理期限(日)", "deadline_from": "期限起算日", "deadline_date": "审理期限届满日",
    "is_decided": "已审结", "decided_on_time": "按期审结", "is_corrected": "直接纠错",
    "is_concluded": "已审结", "suggestion_from": "建议期限起算日", "suggestion_due_date": "建议回复期限",
    "suggestion_replied_on_time": "按期回复", "due_date": "办理期限", "handled_on_time": "按期办结",
    "withdrawn_unhandled": "撤回未办结",
    # watchlists
    "kind": "预警类型", "kind_zh": "预警类型名称", "since_date": "起算日", "days_overdue": "超期天数",
    "working_days_overdue": "超期工作日数", "reported_as": "发现途径", "business_date": "业务日期",
    "source_file": "源文件", "quarantine_id": "隔离记录号",
    # refresh, access
    "singleton": "单行标记", "mode": "刷新方式", "role_name": "登录角色", "person": "使用人",
    "created_at": "创建时间", "created_by": "创建人", "refresh_id": "刷新编号", "started_at": "开始时间",
    "finished_at": "结束时间", "reason": "原因", "since": "增量起点", "watermark": "水位线", "counties": "县数",
    "facts_changed": "变更事实行数", "history_added": "新增历史版本数", "kpi_rows": "指标行数", "seconds": "耗时(秒)",
    "pii_key_fingerprint": "假名化密钥指纹", "calendar_fingerprint": "日历指纹", "division_edition": "区划版本",
    "steps": "步骤耗时",
}


def _contract_terms() -> dict[str, str]:
    out: dict[str, str] = {}
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            out.setdefault(f.name, f.zh)
            if f.pii:
                out.setdefault(f"{f.name}_pseudonym", f"{f.zh}(假名)")
    return out


def term(column: str) -> str:
    return _contract_terms().get(column) or TERMS.get(column, "")


def _columns(conn, relation: str) -> list[tuple[str, str, str]]:
    return conn.execute(
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), coalesce(col_description(a.attrelid, a.attnum), '') "
        "FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped "
        "ORDER BY a.attnum", (relation,)).fetchall()


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def generate(conn: psycopg.Connection) -> str:
    out = ["# Data dictionary (数据字典)", "",
           "Generated by `python -m supervision.marts.dictionary` from a migrated warehouse; do not edit by hand.",
           "Supervisors read the `marts` schema only (docs/security.md); `core`, `ref` and `ops` are the pipeline's.",
           "Personal data: columns `*_pseudonym` hold keyed pseudonyms (docs/security.md); a personal column kept in",
           "clear (`party_id`, `party_name`, `plaintiff_id`, `plaintiff_name`) holds organizations' values only.", ""]
    for title, relations in (("Supervisor marts (schema `marts`)", MARTS_RELATIONS),
                             ("Pipeline tables behind them", OTHER_RELATIONS)):
        out += [f"## {title}", ""]
        for relation, kind in relations:
            comment = conn.execute("SELECT coalesce(obj_description(%s::regclass, 'pg_class'), '')",
                                   (relation,)).fetchone()[0]
            out += [f"### `{relation}` ({kind})", ""]
            if comment:
                out += [_cell(comment), ""]
            out += ["| column | type | 中文 | notes |", "|---|---|---|---|"]
            for name, typ, note in _columns(conn, relation):
                out.append(f"| `{name}` | {typ} | {term(name)} | {_cell(note)} |")
            out.append("")
    return "\n".join(out)


def missing_terms(conn: psycopg.Connection) -> list[str]:
    return [f"{rel}.{name}" for rel, _ in MARTS_RELATIONS + OTHER_RELATIONS
            for name, _, _ in _columns(conn, rel) if not term(name)]


if __name__ == "__main__":
    from supervision.warehouse.connection import connect
    from supervision.warehouse.migrate import deploy_warehouse

    with connect(autocommit=True) as c:
        deploy_warehouse(c)
        sys.stdout.write(generate(c))
