"""County-facing text builders (no database): row numbers as the county sees them, notes, sources, schema drift."""

from __future__ import annotations

import pytest

from supervision import county_text as txt
from supervision.contract import ENFORCEMENT
from supervision.registry import County
from supervision.validation import SchemaDrift, check_schema


def county(transport="file_drop") -> County:
    return County(code="411002", name="魏都区", city_code="4110", city_name="许昌市", province_code="41",
                  transport=transport)


@pytest.mark.parametrize("source, stored, zh, en", [
    ("411002/2026-11-20/enforcement_cases.csv", 3, "第 4 行", "row 4"),  # header = row 1
    ("411002/2026-11-20/enforcement_cases.XLSX", 1, "第 2 行", "row 2"),
    ("411002/2026-11-20/enforcement_cases.json", 3, "第 3 条记录（数组中的第 3 个对象）", "record 3"),
    ("GET /county/411002/v1/enforcement_cases updated_at [a, b)", 3, "第 3 条记录", "record 3"),
    ("411002/2026-11-20/enforcement_cases.csv", None, "整个文件", "the whole file"),
])
def test_rows_are_numbered_as_the_county_sees_them(source, stored, zh, en):
    assert (txt.row_zh(source, stored), txt.row_en(source, stored)) == (zh, en)


def test_pull_notes_in_chinese_and_sql_never_shown():
    assert txt.note_zh("nothing to pull: changes before 2026-08-06 00:00 were already loaded, with business date "
                       "2026-08-05") == "无需拉取：2026-08-06 00:00 之前的变化已随业务日期 2026-08-05 入库"
    assert txt.note_zh("something new") == "数据中心另有说明（见英文部分）"
    assert txt.shown("SELECT enf (db) updated_at [a, b)") == "table enf (db) updated_at [a, b)"
    assert txt.shown("411002/2026-11-20/complaints.csv") == "411002/2026-11-20/complaints.csv"


@pytest.mark.parametrize("transport, head", [("file_drop", "第一行（表头）必须是这些字段名"),
                                             ("http_api", "接口返回的每条记录必须使用这些字段名"),
                                             ("database", "数据库中约定的列必须对应这些字段")])
def test_schema_drift_lists_the_header_with_chinese_labels(transport, head):
    with pytest.raises(SchemaDrift) as e:
        check_schema([c for c in ENFORCEMENT.field_names if c != "status"] + ["remark"], ENFORCEMENT)
    text = txt.schema_zh(county(transport), ENFORCEMENT, e.value)
    assert text.startswith(head) and "record_id（记录标识）、county_code（报送县级区划代码）" in text
    assert "缺少：status（案件状态）" in text and "多出（规范中没有）：remark" in text


@pytest.mark.parametrize("transport, kind, says", [
    ("http_api", "unavailable", "请恢复本县HTTP 接口的正常访问"),
    ("http_api", "auth", "请与数据中心核对访问令牌是否过期或被更换"),
    ("database", "auth", "请与数据中心核对数据库账号是否过期或被更换"),
    ("http_api", "rate_limited", "请放宽对数据中心的限流"),
])
def test_a_pull_that_failed_tells_the_county_what_to_do_on_its_side(transport, kind, says):
    reason = txt.reason_source_error(county(transport), ENFORCEMENT, "endpoint /county/411002/v1/enforcement_cases",
                                     "source_error", "HTTP 401", "Engineers: check the token", "no watermark yet",
                                     None, kind)
    zh = reason.split(txt.GLOSS)[0]
    assert zh.startswith("411002 魏都区（许昌市）：无法读取本县") and says in zh and "不会丢数据" in zh
    assert "manifest" not in zh and "报送目录" not in zh
    assert reason.endswith("Engineers: check the token (no watermark yet)")
