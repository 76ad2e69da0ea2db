"""Fault matrix: what a county data owner reads (issue 15, issue 19 item 7).

Through the real pipeline (process_county on a drop folder, a real PostgreSQL) and the real notifier (the
monitor, apprise, a real SMTP server on 127.0.0.1): the ledger reason, the quarantine messages and the county's
notifications are Chinese first, name the file, the row as a spreadsheet shows it, the field with its Chinese
label and the rule id, say what to re-send, and carry no SQL or CLI. Rows quarantined under the threshold reach
the county in a daily notice; a corrected re-send resolves a quarantined row that had no record_id.
Every test checks received = loaded + quarantined (reconcile).
"""

from __future__ import annotations

import json
import os
import sys
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from supervision import county_text

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "alerting"))
from alerting_support import SmtpSink  # noqa: E402  (the alerting tests' real SMTP server on 127.0.0.1)

from supervision.alerting.messages import alert_body, alert_title
from supervision.alerting.monitor import run_monitor
from supervision.contract import RECORD_TYPES
from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county
from supervision.reconcile import reconcile
from supervision.registry import County, load_registry
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)
COUNTY = "411002"
TZ = ZoneInfo("Asia/Shanghai")
ADDRESS = f"data-{COUNTY}@supervision.example"
FORBIDDEN = ("SELECT", "FROM ops.", "ops.quarantine", "supervision alerts", "supervision run", "--by")


def at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=TZ)


# ---------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink()
    yield sink
    sink.stop()


def read_json(path) -> pd.DataFrame:
    """A simulator JSON file as text values (as the county's own export would hold them)."""
    doc = json.loads(path.read_text(encoding="utf-8-sig"))
    records = doc["records"] if isinstance(doc, dict) else doc
    return pd.DataFrame(records).map(lambda v: "" if v is None or v != v else str(v))  # v != v: NaN (key absent)


@pytest.fixture()
def day(warehouse, migrated_url, smtp, tmp_path, monkeypatch):
    """One county's drop folder for DAY (a valid enforcement_cases CSV from the simulator), its registry with the
    SMTP sink as the county's e-mail, and a run context on the test warehouse."""
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("SUPERVISION_SMTP_URL", raising=False)
    smtp.messages.clear()
    drop = tmp_path / "drop"
    simulate_night(load_registry(), DAY, drop, seed=7, faults=FaultProfile.none(), counties=[COUNTY], scale=2)
    folder = drop / COUNTY / DAY.isoformat()
    (folder / "manifest.json").unlink()  # the files are edited below; a day without manifest is still read
    path = next(folder.glob("enforcement_cases.*"))
    frame = {".csv": lambda p: pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig"),
             ".json": read_json,
             ".xlsx": lambda p: pd.read_excel(p, dtype=str, keep_default_na=False)}
    try:
        original = frame[path.suffix](path)
    except UnicodeDecodeError:
        original = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    path.unlink()
    original = original.fillna("")
    registry = tmp_path / "registry.yaml"
    registry.write_text("\n".join([
        "name: county-messages-test", "alerting:",
        f'  smtp_url: "mailto://127.0.0.1:{smtp.port}?smtp=127.0.0.1&mode=insecure&from=alerts@supervision.example"',
        "counties:", f'  - code: "{COUNTY}"', f"    contact: {{name: 魏都区数据专员, email: {ADDRESS}}}", ""]),
        encoding="utf-8")
    county = load_registry(registry).county(COUNTY)
    return {"drop": drop, "folder": folder, "original": original, "registry": registry, "county": county,
            "url": migrated_url, "smtp": smtp, "conn": warehouse}


def write(d: dict, frame: pd.DataFrame, fmt: str = "csv") -> str:
    for old in d["folder"].glob("enforcement_cases.*"):
        old.unlink()
    path = d["folder"] / f"enforcement_cases.{fmt}"
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding="utf-8")
    else:
        path.write_text(json.dumps(frame.to_dict("records"), ensure_ascii=False), encoding="utf-8")
    os.utime(path)
    return f"{COUNTY}/{DAY}/enforcement_cases.{fmt}"


def run_pipeline(d: dict) -> dict:
    outcomes = process_county(d["county"], RunContext.default(DAY, d["drop"], warehouse_url=d["url"]))
    return {o.record_type: o for o in outcomes}


def monitor(d: dict, now: datetime) -> dict:
    return run_monitor(now, d["registry"], [COUNTY], d["drop"], d["url"])


def quarantine(d: dict, sid: int) -> list[tuple]:
    return d["conn"].execute("SELECT row_number, record_id, failed_rules, messages, resolved_by_submission"
                             " FROM ops.quarantine WHERE submission_id = %s ORDER BY row_number", (sid,)).fetchall()


def balanced(d: dict) -> None:
    report = reconcile(DAY, [COUNTY], url=d["url"])
    assert report.ok, report.problems
    for row in d["conn"].execute("SELECT rows_received, rows_loaded, rows_quarantined, status FROM"
                                 " ops.submission_current WHERE business_date = %s", (DAY,)).fetchall():
        received, loaded, quarantined, status = row
        assert received == loaded + quarantined, row


def county_facing(text: str) -> None:
    """Chinese first, no SQL or CLI."""
    head = text.strip()[:40]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in head), head  # Chinese from the first words on
    assert text.find(county_text.GLOSS) in (-1, *range(40, len(text))), text[:80]  # any English gloss comes after
    for bad in FORBIDDEN:
        assert bad not in text, (bad, text)


def show(title: str, mail: dict) -> None:
    print(f"\n===== {title}: as the county receives it =====\nTo: {', '.join(mail['to'])}\n"
          f"Subject: {mail['subject']}\n\n{mail['body']}\n=====")


# ---------------------------------------------------------------------------------------------- tests


def test_rows_under_the_threshold_reach_the_county_in_a_daily_notice_and_a_resend_resolves_them(day):
    good = day["original"]
    bad = good.copy()
    bad.loc[2, "agency_code"] = bad.loc[2, "agency_code"][:-1] + ("0" if bad.loc[2, "agency_code"][-1] != "0" else "1")
    bad.loc[4, "record_id"] = ""  # no record_id: only its content can match it later
    rel = write(day, bad)
    outcome = run_pipeline(day)["enforcement_cases"]
    assert (outcome.status, outcome.rows_quarantined) == ("loaded_with_quarantine", 2), outcome.reason
    balanced(day)

    # ledger reason: Chinese first, file, count, rule ids with Chinese field labels, what to send; no SQL
    reason = outcome.reason
    county_facing(reason)
    for text in ("411002 魏都区（许昌市）", f"文件 {rel}", "2 行不符合规则，已隔离（未入库）",
                 "执法主体统一社会信用代码（agency_code）", "agency_code.identifier", "记录标识（record_id）必填",
                 f"重新报送整份文件 {rel}"):
        assert text in reason, (text, reason)

    # quarantine messages: the spreadsheet row (header = row 1), the stored row stays the data row
    rows = quarantine(day, outcome.submission_id)
    assert [(n, rid, rules) for n, rid, rules, _, _ in rows] == [
        (3, good.loc[2, "record_id"], ["agency_code.identifier"]), (5, None, ["record_id.required"])]
    (_, _, _, (msg3,), _), (_, _, _, (msg5,), _) = rows
    county_facing(msg3)
    assert msg3.startswith(f"411002 魏都区（许昌市） 文件 {rel} 第 4 行：执法主体统一社会信用代码（agency_code）须为有效的")
    assert "（规则 agency_code.identifier）" in msg3 and f"收到的值为“{bad.loc[2, 'agency_code']}”" in msg3
    assert "| EN: county 411002" in msg3 and " row 4: agency_code.identifier" in msg3
    assert "第 6 行" in msg5 and "记录标识（record_id）必填" in msg5

    # no alert (under the threshold) but the daily notice after digest_time, once, through the SMTP sink
    monitor(day, at(DAY.replace(day=21), 6, 40))
    assert day["smtp"].messages == []
    monitor(day, at(DAY.replace(day=21), 8, 40))
    (mail,) = day["smtp"].messages
    show("daily notice of quarantined rows", mail)
    assert mail["to"] == [ADDRESS] and "数据隔离日报" in mail["subject"] and COUNTY in mail["subject"]
    county_facing(mail["subject"])
    county_facing(mail["body"])
    for text in (f"文件 {rel}", "2 行被隔离", "第 4 行（记录标识", "第 6 行（无记录标识）：记录标识（record_id）为空",
                 "record_id.required", "执法主体统一社会信用代码（agency_code）须为有效的统一社会信用代码",
                 "表格中的行号，表头为第 1 行", f"重新报送整份文件 {rel}"):
        assert text in mail["body"], text
    monitor(day, at(DAY.replace(day=21), 9, 0))
    monitor(day, at(DAY.replace(day=22), 8, 40))  # the next morning: the same file is not told again
    assert len([m for m in day["smtp"].messages if "数据隔离日报" in m["subject"]]) == 1

    # the corrected re-send resolves both rows, the one without a record_id by its content
    write(day, good)
    second = run_pipeline(day)["enforcement_cases"]
    assert (second.status, second.rows_quarantined) == ("loaded", 0)
    assert [r[4] for r in quarantine(day, outcome.submission_id)] == [second.submission_id] * 2
    balanced(day)


def test_a_file_over_the_threshold_alerts_the_county_in_chinese_with_the_rows_to_fix(day):
    bad = day["original"].copy()
    half = len(bad) // 2 + 1
    bad.loc[: half - 1, "status"] = "unknown"
    rel = write(day, bad)
    outcome = run_pipeline(day)["enforcement_cases"]
    assert (outcome.status, outcome.rows_loaded, outcome.rows_quarantined) == ("rejected", 0, len(bad))
    balanced(day)
    county_facing(outcome.reason)
    assert f"{len(bad)} 行中有 {half} 行" in outcome.reason and "超过本县的拒收阈值 20%" in outcome.reason
    assert "案件状态（status）只能填以下值之一：open（办理中）" in outcome.reason

    monitor(day, at(DAY.replace(day=21), 6, 40))
    (mail,) = [m for m in day["smtp"].messages if "数据不合格" in m["subject"]]
    show("invalid-file alert", mail)
    assert mail["to"] == [ADDRESS]
    assert mail["subject"].startswith(f"[数据不合格] {COUNTY} 魏都区 行政执法案件/行为（enforcement_cases），业务日期 {DAY}")
    county_facing(mail["body"])
    body = mail["body"]
    for text in ("县（区）：411002 魏都区（许昌市，河南省）", f"文件：{rel}", "报送方式：文件报送目录",
                 f"{len(bad)} 行有 {half} 行", "拒收阈值 20%（规则 file.reject_threshold）",
                 "status.enum", "案件状态（status）只能填以下值之一", f"重新报送整份文件 {rel}",
                 "不合格的行（表格中的行号，表头为第 1 行）：", "  - 第 2 行（记录标识", "案件状态（status）收到的值为“unknown”（规则 status.enum）",
                 f"……共 {half} 行，以上为前 10 行"):
        assert text in body, text
    assert "第 1 行（记录标识" not in body  # the header is row 1: the first data row is row 2


def test_schema_drift_says_which_header_the_first_line_must_have(day):
    rel = write(day, day["original"].rename(columns={"agency_code": "agency_cod"}))
    outcome = run_pipeline(day)["enforcement_cases"]
    assert outcome.status == "rejected"
    balanced(day)
    reason = outcome.reason
    county_facing(reason)
    for text in ("第一行（表头）必须是这些字段名", "record_id（记录标识）、county_code（报送县级区划代码）",
                 "疑似改名：“agency_cod”应为 agency_code（执法主体统一社会信用代码）", "规则 file.schema",
                 f"重新报送整份文件 {rel}", "renamed agency_code→agency_cod"):
        assert text in reason, text
    monitor(day, at(DAY.replace(day=21), 6, 40))
    (mail,) = [m for m in day["smtp"].messages if "文件被拒收" in m["subject"]]
    show("schema-drift alert", mail)
    county_facing(mail["body"])
    assert "第一行（表头）必须是这些字段名" in mail["body"] and "file.schema" in mail["body"]


def test_a_json_row_is_named_as_the_nth_object(day):
    bad = day["original"].copy()
    bad.loc[1, "filed_date"] = "2026-02-30"
    rel = write(day, bad, "json")
    outcome = run_pipeline(day)["enforcement_cases"]
    assert (outcome.status, outcome.rows_quarantined) == ("loaded_with_quarantine", 1)
    balanced(day)
    ((number, _, rules, (msg,), _),) = quarantine(day, outcome.submission_id)
    assert (number, rules) == (2, ["filed_date.format"])
    assert msg.startswith(f"411002 魏都区（许昌市） 文件 {rel} 第 2 条记录（数组中的第 2 个对象）：立案日期（filed_date）须为真实日期")
    assert "record 2: filed_date.format" in msg


@pytest.mark.parametrize("transport, says, never", [
    ("file_drop", ("manifest.json", "只含表头一行的文件"), ("接口", "拉取")),
    ("http_api", ("HTTP 接口", "访问令牌", "下一次夜间拉取"), ("manifest.json", "报送目录", "re-send")),
    ("database", ("数据库", "只读账号", "下一次夜间拉取"), ("manifest.json", "报送目录", "re-send")),
])
def test_the_fix_matches_the_county_transport(transport, says, never):
    county = County(code=COUNTY, name="魏都区", city_code="4110", city_name="许昌市", province_code="41",
                    transport=transport)
    late = {"alert_id": 3, "kind": "late", "county_code": COUNTY, "record_type": "*", "business_date": DAY,
            "state": "open", "opened_at": at(DAY.replace(day=21), 6, 40),
            "summary": "nothing received for business date 2026-11-20", "fix": "send the day's files now",
            "details": {"deadline": at(DAY.replace(day=21), 6).isoformat(), "transport": transport}}
    title = alert_title(late, county, "county")
    body = alert_body(late, county, "county", at(DAY.replace(day=21), 6, 45))
    print(f"\n----- {transport}: {title}\n{body}")
    county_facing(body)
    assert title.startswith("[逾期未报] 411002 魏都区，业务日期 2026-11-20")
    for text in says:
        assert text in body, text
    zh = body.split(county_text.GLOSS.strip())[0]
    for text in never:
        assert text not in zh, text


def test_a_database_county_is_never_shown_sql_and_is_told_to_fix_its_system():
    from supervision.contract import ENFORCEMENT

    county = County(code=COUNTY, name="魏都区", city_code="4110", city_name="许昌市", province_code="41",
                    transport="database")
    ref = "SELECT enforcement_view (county_db_411002) updated_at in [2026-11-20 00:00, 2026-11-21 00:00)"
    msg = county_text.row_message(county, ENFORCEMENT, ref, 3, "status.enum", "status is one of ...", "bad", True)
    county_facing(msg)
    assert "第 3 条记录" in msg and "table enforcement_view" in msg and "下一次夜间拉取" in msg
    assert "重新报送" not in msg.split(county_text.GLOSS)[0]  # nothing to re-send: the next pull fetches it


def test_an_id_less_row_stays_open_until_a_resend_loads_it(day):
    good = day["original"]
    bad = good.copy()
    bad.loc[4, "record_id"] = ""
    write(day, bad)
    first = run_pipeline(day)["enforcement_cases"]
    again = bad.copy()
    again.loc[0, "agency_name"] = again.loc[0, "agency_name"] + "（更正）"  # another change: a new file, same bad row
    again.loc[0, "updated_at"] = "2026-11-20T23:00:00+08:00"
    write(day, again)
    second = run_pipeline(day)["enforcement_cases"]
    assert (first.rows_quarantined, second.rows_quarantined) == (1, 1)
    assert [r[4] for r in quarantine(day, first.submission_id)] == [None]  # still not loaded: still open
    balanced(day)
    write(day, good)
    third = run_pipeline(day)["enforcement_cases"]
    assert third.status == "loaded"
    assert [r[4] for r in quarantine(day, first.submission_id) + quarantine(day, second.submission_id)] == [
        third.submission_id] * 2
    balanced(day)


def test_an_api_county_is_told_to_correct_its_system_not_to_resend_a_file(day):
    """The same pipeline path as a pull (ingest of an API batch), the same notifier: the fix fits an API county."""
    from supervision.ingest.consume import ingest
    from supervision.sources import RawBatch
    from supervision.sources.common import batch_sha256, strings_frame

    registry = day["registry"].with_name("registry-api.yaml")
    registry.write_text(day["registry"].read_text(encoding="utf-8").replace(
        "    contact:", "    transport: http_api\n    source: {conn_id: county_411002_api, base_path: /county/411002/v1}"
        "\n    contact:"), encoding="utf-8")
    county = load_registry(registry).county(COUNTY)
    assert county.transport == "http_api"
    bad = day["original"].copy()
    half = len(bad) // 2 + 1
    bad.loc[: half - 1, "filed_date"] = "2026-13-01"
    rt = RECORD_TYPES["enforcement_cases"]
    frame = strings_frame(bad.to_dict("records"), rt.field_names)
    raw = RawBatch("http_api", None, batch_sha256(frame), at(DAY, 23, 59), frame)
    ref = "GET /county/411002/v1/enforcement_cases updated_at [2026-11-20T00:00:00+08:00, 2026-11-21T00:00:00+08:00)"
    ctx = RunContext.default(DAY, day["drop"], warehouse_url=day["url"])
    outcome = ingest(county, rt, raw, ctx, source_kind="http_api", source_ref=ref)
    assert (outcome.status, outcome.rows_quarantined) == ("rejected", len(bad))
    for other in RECORD_TYPES.values():  # nothing changed in the other types that night: empty pulls
        if other is not rt:
            empty = strings_frame([], other.field_names)
            ingest(county, other, RawBatch("http_api", None, batch_sha256(empty), at(DAY, 23, 59), empty), ctx,
                   source_kind="http_api", source_ref=ref.replace(rt.name, other.name))
    balanced(day)
    county_facing(outcome.reason)
    assert "本县HTTP 接口的数据" in outcome.reason and "下一次夜间拉取会自动取回更正后的记录" in outcome.reason
    (_, _, rules, messages, _) = quarantine(day, outcome.submission_id)[0]
    assert "第 1 条记录：" in messages[rules.index("filed_date.format")]  # a pull has no header row

    run_monitor(at(DAY.replace(day=21), 6, 40), registry, [COUNTY], day["drop"], day["url"])
    mails = [m for m in day["smtp"].messages if COUNTY in m["subject"]]
    (mail,) = [m for m in mails if "数据不合格" in m["subject"]]
    show("invalid pull, HTTP API county", mail)
    body = mail["body"]
    county_facing(body)
    assert "报送方式：HTTP 接口" in body and "下一次夜间拉取会自动取回更正后的记录" in body
    assert "本次拉取的整批数据被拒收" in body and "整份文件" not in body
    assert "  - 第 1 条记录（记录标识" in body and "立案日期（filed_date）收到的值为“2026-13-01”" in body
    for m in mails:  # nothing asks an API county for a file, a drop folder or a manifest
        county_facing(m["body"])
        zh = m["body"].split(county_text.GLOSS.strip())[0]
        for text in ("manifest.json", "报送目录", "重新报送整份文件"):
            assert text not in zh, (m["subject"], text)
