"""Routing, escalation timing, channel URLs and message texts (no database, no network)."""

from __future__ import annotations

from datetime import date, timedelta
from types import SimpleNamespace

import pytest

from supervision.alerting.callbacks import failure_message, notify_engineers
from supervision.alerting.messages import alert_body, alert_title
from supervision.alerting.notify import (
    ChannelError,
    contact_channels,
    recipients,
    resolve_url,
    target_level,
)
from supervision.alerting.settings import AlertSettings
from supervision.registry import Contact

from .helpers import at, county

CITY = Contact("许昌市监督科", email="s-4110@x.example")
PROVINCE = Contact("河南省监督处", channels=("json://127.0.0.1:9/province",))
ENGINEER = Contact("值班", channels=("json://127.0.0.1:9/eng", "email"), email="eng@x.example")
SETTINGS = AlertSettings(supervisors={"4110": (CITY,), "41": (PROVINCE,)}, engineers=(ENGINEER,),
                         smtp_url="mailto://127.0.0.1:2525?smtp=127.0.0.1&mode=insecure&from=alerts@x.example")


@pytest.mark.parametrize("kind, age, level", [
    ("late", timedelta(hours=1, minutes=59), 0), ("late", timedelta(hours=2), 1),
    ("missing", timedelta(hours=3, minutes=59), 1), ("rejected", timedelta(hours=4), 2),
    ("chronic_late", timedelta(0), 1),  # the city hears about chronic lateness at once
    ("pipeline_late", timedelta(days=2), 0),  # engineers' alerts do not escalate
])
def test_escalation_timing(kind, age, level):
    assert target_level(kind, age, SETTINGS) == level


def test_recipients_grow_with_the_level():
    c = county()
    assert [a for a, _ in recipients("late", 0, c, SETTINGS)] == ["county"]
    assert [a for a, _ in recipients("late", 1, c, SETTINGS)] == ["county", "city"]
    assert [(a, x.name) for a, x in recipients("late", 2, c, SETTINGS)] == [
        ("county", c.contact.name), ("city", CITY.name), ("province", PROVINCE.name)]
    assert [a for a, _ in recipients("pipeline_late", 2, None, SETTINGS)] == ["engineers"]


def test_channels_per_contact():
    assert contact_channels(county().contact) == ["email:data-411002@supervision.example"]
    assert contact_channels(ENGINEER) == ["json://127.0.0.1:9/eng", "email:eng@x.example"]


def test_email_goes_through_the_smtp_url_and_env_wins(monkeypatch):
    monkeypatch.delenv("SUPERVISION_SMTP_URL", raising=False)
    url = resolve_url("email:a@x.example", SETTINGS)
    assert url.startswith("mailto://127.0.0.1:2525?") and "to=a%40x.example" in url and "from=alerts%40x.example" in url
    monkeypatch.setenv("SUPERVISION_SMTP_URL", "mailtos://u:p@smtp.example.com?to=ignored@x.example")
    assert resolve_url("email:a@x.example", SETTINGS) == "mailtos://u:p@smtp.example.com?to=a%40x.example"
    monkeypatch.delenv("SUPERVISION_SMTP_URL")
    with pytest.raises(ChannelError, match="no SMTP server configured"):
        resolve_url("email:a@x.example", AlertSettings())


def test_variables_are_expanded_only_when_sending(monkeypatch):
    monkeypatch.setenv("DINGTALK_4110", "secret-token")
    assert resolve_url("dingtalk://${DINGTALK_4110}/", SETTINGS) == "dingtalk://secret-token/"
    monkeypatch.delenv("DINGTALK_4110")
    with pytest.raises(ChannelError, match="DINGTALK_4110 is not set"):
        resolve_url("dingtalk://${DINGTALK_4110}/", SETTINGS)


ALERT = {"alert_id": 7, "kind": "invalid", "county_code": "411002", "record_type": "complaints",
         "business_date": date(2026, 11, 22), "state": "notified", "opened_at": at(2026, 11, 23, 6, 40),
         "summary": "411002/2026-11-22/complaints.csv: 30 of 50 rows (60%) break validation rules",
         "fix": "correct the rows listed by the quarantine query below",
         "details": {"source_file": "411002/2026-11-22/complaints.csv", "rows_received": 50, "bad_rows": 30,
                     "rules": {"complainant_id.identifier": 30},
                     "quarantine_query": "SELECT ... FROM ops.quarantine WHERE submission_id = 12 ORDER BY row_number;",
                     "validation_result": "/data/validation/2026-11-22/411002/complaints-abc.json"}}
ROWS = [{"row_number": 3, "record_id": "C-1", "raw_row": {"complainant_id": "4110"}, "source_file":
         "411002/2026-11-22/complaints.csv", "failed_rules": ["complainant_id.identifier"]}]


def test_message_says_which_county_which_date_what_how_and_where():
    c = county()
    title = alert_title(ALERT, c, "county")
    body = alert_body(ALERT, c, "county", at(2026, 11, 23, 6, 45), rows=ROWS, total_rows=30)
    assert title.startswith("[数据不合格] 411002 魏都区 行政执法投诉举报（complaints），业务日期 2026-11-22")
    assert "escalated" not in title
    for text in ("县（区）：411002 魏都区（许昌市，河南省）", "业务日期：2026-11-22　数据类型：行政执法投诉举报（complaints）",
                 "问题：文件 411002/2026-11-22/complaints.csv中 50 行有 30 行（60%）不符合规则",
                 "投诉人身份证号（complainant_id）须为有效的公民身份号码", "（规则 complainant_id.identifier）30 行",
                 "需要您做的：请在本县系统中更正这些行，然后重新报送整份文件 411002/2026-11-22/complaints.csv",
                 "  - 第 4 行（记录标识 C-1）：投诉人身份证号（complainant_id）收到的值为“4110”",
                 "……共 30 行，以上为前 1 行", "| EN: invalid: rejected rows over the threshold: 411002/"):
        assert text in body, text
    for engineers_only in ("SELECT", "ops.quarantine", "supervision alerts", "/data/validation/"):
        assert engineers_only not in body  # the county can run none of it


def test_escalation_message_says_how_long_and_who_was_told():
    body = alert_body(ALERT, county(), "city", at(2026, 11, 23, 8, 45), told=["魏都区 (county) at 2026-11-23 06:40"])
    assert "已升级至市级监督人员" in body and "escalated to the city supervisor" in body and "2 h 05 min" in body
    assert "魏都区 (county) at" in body
    assert "quarantined rows: SELECT" in body and "supervision alerts ack 7" in body  # supervisors' references
    assert alert_title(ALERT, county(), "city").startswith("[升级 escalated]")


def test_engineers_messages_keep_their_queries_and_commands():
    alert = {**ALERT, "kind": "pipeline_failed", "fix": "re-run: supervision run --date 2026-11-22"}
    body = alert_body(alert, county(), "engineers", at(2026, 11, 23, 6, 45))
    assert "How to fix it: re-run: supervision run" in body and "quarantined rows: SELECT" in body


def test_failure_callback_message_and_no_channel_means_no_crash(monkeypatch, tmp_path):
    ti = SimpleNamespace(dag_id="supervision_nightly", task_id="load_shard", map_index=3, try_number=3,
                         run_id="scheduled__2026-11-23", log_url="http://localhost:8080/log")
    title, body = failure_message({"ti": ti, "exception": RuntimeError("warehouse down"),
                                   "params": {"business_date": "2026-11-22"}})
    assert title == "[任务失败 task failed] supervision_nightly.load_shard[3]"
    assert "RuntimeError: warehouse down" in body and "2026-11-22" in body and "http://localhost:8080/log" in body
    reg = tmp_path / "r.yaml"
    reg.write_text('counties:\n- code: "411002"\n  contact: {name: x, email: a@b.example}\n', encoding="utf-8")
    monkeypatch.delenv("SUPERVISION_ENGINEER_CHANNELS", raising=False)
    monkeypatch.setattr("supervision.alerting.callbacks._via_airflow_connection", lambda title, body: 0)  # no Airflow
    assert notify_engineers(title, body, reg) == 0  # nobody configured: logged, never raised
