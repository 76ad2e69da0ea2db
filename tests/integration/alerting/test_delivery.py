"""Delivery checked at a real local SMTP sink and a real local HTTP webhook receiver; a channel that is down keeps
its message pending (the alert stays open) and is retried with back-off until delivered, exactly once."""

from __future__ import annotations

from datetime import date

import pytest

from supervision.alerting.monitor import run_monitor

from .alerting_support import Webhook, alerts, at, free_port, registry_file, submit, submit_day

pytestmark = pytest.mark.integration
D = date(2026, 11, 22)
ON_TIME = at(2026, 11, 23, 2, 0)


def test_email_and_webhook_carry_county_date_problem_fix_and_details(alert_db, sinks, tmp_path):
    smtp, hook = sinks
    codes = ["411002", "411003"]
    reg = registry_file(tmp_path, smtp, hook, codes, by_email=("411002",))
    submit_day(alert_db, "411002", D, ON_TIME, types=("enforcement_cases", "litigation_cases", "reconsideration_cases"))
    sid = submit(alert_db, "411002", D, "complaints", "rejected", received=ON_TIME, rows=10, bad_rows=5,
                 rules=("file.reject_threshold",))
    submit_day(alert_db, "411003", D, None, status="late")
    run_monitor(at(2026, 11, 23, 6, 40), reg, codes, tmp_path / "none")
    (mail,) = smtp.messages
    assert mail["to"] == ["data-411002@supervision.example"]
    assert "411002" in mail["subject"] and "2026-11-22" in mail["subject"] and "数据不合格" in mail["subject"]
    body = mail["body"].replace("\r\n", "\n")
    for text in ("县（区）：411002 魏都区（许昌市，河南省）", f"文件：{D.strftime('411002/%Y-%m-%d')}/complaints.csv",
                 "10 行有 5 行（50%）不符合规则，超过本县的拒收阈值 20%", "需要您做的：请在本县系统中更正这些行",
                 "不合格的行（表格中的行号，表头为第 1 行）：\n  - 第 2 行（记录标识 r0）",  # stored data row 1
                 "  - 第 6 行（记录标识 r4）",
                 "5 of 10 rows (50%) break validation rules"):  # the English gloss for engineers
        assert text in body, text
    for engineers_only in (f"WHERE submission_id = {sid}", "supervision alerts ack", "/data/validation/"):
        assert engineers_only not in body, engineers_only  # the county can run none of it
    (payload,) = hook.at("/county/411003")
    assert "[逾期未报]" in payload["title"] and "411003 建安区" in payload["title"]
    assert "截至报送期限 2026-11-23 06:00（北京时间），未收到业务日期 2026-11-22 的任何数据" in payload["message"]
    assert "报送目录 411003/2026-11-22/：manifest.json" in payload["message"]
    assert "nothing received for business date 2026-11-22 by the deadline 2026-11-23 06:00" in payload["message"]
    rows = alert_db.execute("SELECT status, attempts, channel FROM ops.alert_notification ORDER BY 1, 3").fetchall()
    assert rows == [("sent", 1, "email:data-411002@supervision.example"), ("sent", 1, hook.url("/county/411003"))]


def test_a_channel_that_is_down_keeps_the_alert_open_and_is_retried_until_delivered_once(alert_db, sinks, tmp_path):
    smtp, hook = sinks
    down_port = free_port()  # nobody listens there yet
    codes = ["411002", "411003"]
    reg = registry_file(tmp_path, smtp, hook, codes, extra='  digest_time: "23:00"')
    text = reg.read_text(encoding="utf-8").replace(hook.url("/county/411003"), f"json://127.0.0.1:{down_port}/county")
    reg.write_text(text, encoding="utf-8")
    submit_day(alert_db, "411002", D, None, status="late")
    submit_day(alert_db, "411003", D, None, status="late")
    r = run_monitor(at(2026, 11, 23, 6, 40), reg, codes, tmp_path / "none")
    assert (r["deliver"]["sent"], r["deliver"]["failed"]) == (1, 1)
    down = alerts(alert_db, "county_code = '411003'")[0]
    assert (down["state"], down["notified_at"]) == ("open", None)  # nobody reached yet
    status, attempts, error, due = alert_db.execute(
        "SELECT status, attempts, last_error, next_attempt_at FROM ops.alert_notification WHERE alert_id = %s",
        (down["alert_id"],)).fetchone()
    assert (status, attempts, due) == ("pending", 1, at(2026, 11, 23, 6, 45)) and "127.0.0.1" in error
    run_monitor(at(2026, 11, 23, 6, 44), reg, codes, tmp_path / "none")  # before the back-off: not tried
    assert alert_db.execute("SELECT attempts FROM ops.alert_notification WHERE alert_id = %s",
                            (down["alert_id"],)).fetchone() == (1,)
    run_monitor(at(2026, 11, 23, 6, 46), reg, codes, tmp_path / "none")  # still down: back-off doubles
    assert alert_db.execute("SELECT attempts, next_attempt_at FROM ops.alert_notification WHERE alert_id = %s",
                            (down["alert_id"],)).fetchone() == (2, at(2026, 11, 23, 6, 56))
    receiver = Webhook(down_port)  # the channel comes back
    try:
        for hh, mm in ((6, 57), (7, 10), (7, 30)):
            run_monitor(at(2026, 11, 23, hh, mm), reg, codes, tmp_path / "none")
        assert len(receiver.at("/county")) == 1 and "411003" in receiver.at("/county")[0]["title"]
    finally:
        receiver.stop()
    down = alerts(alert_db, "county_code = '411003'")[0]
    assert (down["state"], down["notified_at"]) == ("notified", at(2026, 11, 23, 6, 57))
    assert len(hook.at("/county/411002")) == 1  # the other county was not held up meanwhile


def test_an_unset_secret_keeps_the_message_pending_with_the_reason(alert_db, sinks, tmp_path, monkeypatch):
    smtp, hook = sinks
    reg = registry_file(tmp_path, smtp, hook, ["411002"], extra='  digest_time: "23:00"')
    reg.write_text(reg.read_text(encoding="utf-8").replace(hook.url("/county/411002"),
                                                           "json://127.0.0.1:${HOOK_PORT_411002}/county/411002"),
                   encoding="utf-8")
    submit_day(alert_db, "411002", D, None, status="late")
    monkeypatch.delenv("HOOK_PORT_411002", raising=False)
    run_monitor(at(2026, 11, 23, 6, 40), reg, ["411002"], tmp_path / "none")
    (error, channel) = alert_db.execute("SELECT last_error, channel FROM ops.alert_notification").fetchone()
    assert error == "environment variable HOOK_PORT_411002 is not set (used in a channel URL)"
    assert channel == "json://127.0.0.1:${HOOK_PORT_411002}/county/411002"  # the secret never enters the warehouse
    monkeypatch.setenv("HOOK_PORT_411002", str(hook.port))
    run_monitor(at(2026, 11, 23, 6, 50), reg, ["411002"], tmp_path / "none")
    assert len(hook.at("/county/411002")) == 1


def test_morning_digest_once_per_city_and_province(alert_db, sinks, tmp_path):
    smtp, hook = sinks
    codes = ["411002", "411003", "410102"]
    reg = registry_file(tmp_path, smtp, hook, codes)
    submit_day(alert_db, "411002", D, ON_TIME)
    submit_day(alert_db, "411003", D, None, status="late")
    submit_day(alert_db, "410102", D, ON_TIME)
    run_monitor(at(2026, 11, 23, 8, 29), reg, codes, tmp_path / "none")
    assert not [p for p in hook.received if "晨报" in p[1]["title"]]
    for hh, mm in ((8, 31), (9, 0), (10, 0)):
        run_monitor(at(2026, 11, 23, hh, mm), reg, codes, tmp_path / "none")
    xuchang = [p for p in hook.at("/city/4110") if "晨报" in p["title"]]
    zhengzhou = [p for p in hook.at("/city/4101") if "晨报" in p["title"]]
    province = [m for m in smtp.to("supervision-41@supervision.example") if "晨报" in m["subject"]]
    assert (len(xuchang), len(zhengzhou), len(province)) == (1, 1, 1)
    body = xuchang[0]["message"]
    assert "许昌市 (4110), business date 2026-11-22" in body
    assert "Counties: 2; judged: 2; on time and valid: 1; late (nothing by the deadline): 1" in body
    assert "许昌市（4110）业务日期 2026-11-22 的报送情况" in body and "县（区）2 个；已评判 2；按时且合格 1" in body
    assert "Late: 411003 建安区" in body and "#1 411003 建安区 2026-11-22 逾期未报 late" in body
    assert "截至报送期限 2026-11-23 06:00（北京时间），未收到业务日期 2026-11-22 的任何数据" in body
    assert "Counties: 3" in province[0]["body"] and "4101 郑州市: 1 counties, 1 on time and valid" in province[0]["body"]
    run_monitor(at(2026, 11, 24, 8, 31), reg, codes, tmp_path / "none")  # the next morning: a new digest
    assert len([p for p in hook.at("/city/4110") if "晨报" in p["title"]]) == 2
