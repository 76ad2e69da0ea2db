"""Alert life cycle in a real warehouse under a controlled clock: dedupe over repeated monitor runs, escalation
timing, acknowledgement, auto-resolve on re-submission, re-notify, manual resolve, extensions and exemptions
(audit trail), the pipeline's own lateness. Deliveries go to the real local SMTP sink and webhook receiver."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
import pytest

from supervision.alerting import lifecycle
from supervision.alerting.monitor import run_monitor

from .alerting_support import alerts, at, keys, registry_file, submit, submit_day

pytestmark = pytest.mark.integration
D = date(2026, 11, 22)
ON_TIME = at(2026, 11, 23, 2, 0)
CODES = ["411002", "411003"]


@pytest.fixture
def env(alert_db, sinks, tmp_path):
    smtp, hook = sinks
    reg = registry_file(tmp_path, smtp, hook, CODES, by_email=("411003",), extra='  digest_time: "23:00"')
    drop = tmp_path / "drop"
    drop.mkdir()

    def monitor(now, counties=CODES, **kw):
        return run_monitor(now, reg, counties, drop, **kw)

    return alert_db, smtp, hook, monitor, reg


def test_repeated_runs_keep_one_alert_delivered_once_and_escalate_on_time(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, ON_TIME)
    submit_day(conn, "411003", D, None, status="late")  # the nightly found nothing
    for hh, mm in ((6, 10), (6, 40), (7, 10), (8, 9)):
        monitor(at(2026, 11, 23, hh, mm))
    (late,) = alerts(conn)
    assert (late["kind"], late["county_code"], late["state"], late["level"]) == ("late", "411003", "notified", 0)
    assert late["opened_at"] == at(2026, 11, 23, 6, 10)
    assert len(smtp.to("data-411003@supervision.example")) == 1  # four runs, one message
    assert hook.at("/city/4110") == []
    monitor(at(2026, 11, 23, 8, 10))  # 2 h after it was raised: the city supervisor is told
    assert len(hook.at("/city/4110")) == 1 and "escalated" in hook.at("/city/4110")[0]["title"]
    assert "数据专员 (county) at 2026-11-23 06:10" in hook.at("/city/4110")[0]["message"]
    monitor(at(2026, 11, 23, 9, 0))
    assert len(hook.at("/city/4110")) == 1 and smtp.to("supervision-41@supervision.example") == []
    monitor(at(2026, 11, 23, 10, 10))  # 4 h: the province
    province = smtp.to("supervision-41@supervision.example")
    assert len(province) == 1 and "411003" in province[0]["subject"]
    monitor(at(2026, 11, 23, 11, 0))
    assert len(smtp.to("supervision-41@supervision.example")) == 1
    (late,) = alerts(conn)
    assert late["level"] == 2 and late["alert_id"] == 1
    events = [e for (e,) in conn.execute("SELECT event FROM ops.alert_event WHERE alert_id = 1 ORDER BY event_id")]
    assert events == ["opened", "notified", "escalated", "notified", "escalated", "notified"]


def test_acknowledged_alerts_stop_escalating(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, ON_TIME)
    submit_day(conn, "411003", D, None, status="late")
    monitor(at(2026, 11, 23, 6, 40))
    lifecycle.acknowledge(conn, 1, at(2026, 11, 23, 7, 0), "许昌市 王科长", "county system down, fixing")
    monitor(at(2026, 11, 23, 12, 0))
    a = alerts(conn)[0]
    assert (a["state"], a["level"], a["acknowledged_by"]) == ("acknowledged", 0, "许昌市 王科长")
    assert hook.at("/city/4110") == []
    with pytest.raises(lifecycle.AlertError, match="already acknowledged"):
        lifecycle.acknowledge(conn, 1, at(2026, 11, 23, 12, 0), "x")
    # still resolved automatically when the county delivers
    submit_day(conn, "411003", D, at(2026, 11, 23, 12, 30))
    monitor(at(2026, 11, 23, 12, 40))
    a = alerts(conn)[0]
    assert a["state"] == "resolved" and "received at 2026-11-23 12:30 (after the deadline)" in a["resolution"]


def test_valid_resubmission_resolves_and_a_still_bad_one_tells_the_county_again(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411003", D, ON_TIME)
    submit_day(conn, "411002", D, ON_TIME, types=("enforcement_cases", "litigation_cases", "reconsideration_cases"))
    first = submit(conn, "411002", D, "complaints", "rejected", received=ON_TIME, rows=4,
                   rules=("file.manifest_rows",))
    monitor(at(2026, 11, 23, 6, 40))
    assert keys(conn) == {("rejected", "411002", "complaints", D)}
    assert len(hook.at("/county/411002")) == 1
    second = submit(conn, "411002", D, "complaints", "rejected", received=at(2026, 11, 23, 7, 0), sha="again",
                    rows=4, rules=("file.manifest_sha256",))
    monitor(at(2026, 11, 23, 7, 10))
    (a,) = alerts(conn)
    assert (a["round"], a["submission_id"], a["evidence"]) == (2, second, f"submission {second}") and first < second
    county_msgs = hook.at("/county/411002")
    assert len(county_msgs) == 2 and "manifest_sha256" in county_msgs[1]["message"]
    fixed = submit(conn, "411002", D, "complaints", received=at(2026, 11, 23, 7, 30), sha="fixed", rows=4)
    monitor(at(2026, 11, 23, 7, 40))
    (a,) = alerts(conn)
    assert a["state"] == "resolved" and a["resolved_by"] == "monitor"
    assert a["resolution"].startswith(f"re-submission {fixed} ") and "loaded: 4 rows" in a["resolution"]
    monitor(at(2026, 11, 23, 9, 0))  # nothing reopens, nobody else is told
    assert len(alerts(conn)) == 1 and hook.at("/city/4110") == [] and len(hook.at("/county/411002")) == 2


def test_renotify_sends_the_current_round_again_once(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, None, status="late")
    submit_day(conn, "411003", D, ON_TIME)
    monitor(at(2026, 11, 23, 6, 40))
    monitor(at(2026, 11, 23, 8, 45))  # escalated to the city
    assert (len(hook.at("/county/411002")), len(hook.at("/city/4110"))) == (1, 1)
    assert lifecycle.renotify(conn, 1, at(2026, 11, 23, 9, 0), "operator") == 2
    monitor(at(2026, 11, 23, 9, 5))
    monitor(at(2026, 11, 23, 9, 35))
    assert (len(hook.at("/county/411002")), len(hook.at("/city/4110"))) == (2, 2)


def test_manual_resolve_is_not_reopened_for_the_same_problem(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, ON_TIME, types=("enforcement_cases", "litigation_cases", "reconsideration_cases"))
    submit(conn, "411002", D, "complaints", "missing")
    submit_day(conn, "411003", D, ON_TIME)
    monitor(at(2026, 11, 23, 6, 40))
    lifecycle.resolve(conn, 1, at(2026, 11, 23, 7, 0), "省 李处长", "complaints system retired; no file expected")
    monitor(at(2026, 11, 23, 7, 30))
    assert keys(conn) == set() and len(alerts(conn)) == 1


def test_exemption_resolves_revocation_reopens_and_the_audit_trail_stays(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, None, status="late")
    submit_day(conn, "411003", D, ON_TIME)
    monitor(at(2026, 11, 23, 6, 40))
    eid = lifecycle.grant_exception(conn, kind="exemption", county_code="411002", record_type=None, date_from=D,
                                    date_to=D + timedelta(days=2), approved_by="河南省司法厅 张处长",
                                    reason="planned outage: data centre move", granted_by="ops",
                                    now=at(2026, 11, 23, 7, 0))
    monitor(at(2026, 11, 23, 7, 10))
    (a,) = alerts(conn)
    assert a["state"] == "resolved" and f"grant #{eid} approved by 河南省司法厅 张处长" in a["resolution"]
    lifecycle.revoke_exception(conn, eid, at(2026, 11, 23, 7, 20), "张处长", "outage cancelled")
    monitor(at(2026, 11, 23, 7, 30))
    assert keys(conn) == {("late", "411002", "*", D)} and len(alerts(conn)) == 2
    with pytest.raises(psycopg.errors.RaiseException, match="audit trail"):
        conn.execute("UPDATE ops.submission_exception SET reason = 'edited' WHERE exception_id = %s", (eid,))
    with pytest.raises(psycopg.errors.RaiseException, match="audit trail"):
        conn.execute("DELETE FROM ops.submission_exception")
    with pytest.raises(lifecycle.AlertError, match="already revoked"):
        lifecycle.revoke_exception(conn, eid, at(2026, 11, 23, 8, 0), "x", "y")


def test_extension_resolves_late_until_the_new_deadline(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, None, status="late")
    submit_day(conn, "411003", D, ON_TIME)
    monitor(at(2026, 11, 23, 6, 40))
    lifecycle.grant_exception(conn, kind="extension", county_code="411002", record_type=None, date_from=D, date_to=D,
                              approved_by="许昌市 王科长", reason="network fault", granted_by="ops",
                              now=at(2026, 11, 23, 7, 0), extra_hours=6)
    monitor(at(2026, 11, 23, 7, 10))
    (a,) = alerts(conn)
    assert a["state"] == "resolved" and "deadline extended by 6 h" in a["resolution"]
    monitor(at(2026, 11, 23, 12, 5))
    assert keys(conn) == {("late", "411002", "*", D)}


def test_files_dropped_after_the_deadline_close_late_and_count_as_late(env, tmp_path):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, None, status="late")
    submit_day(conn, "411003", D, ON_TIME)
    monitor(at(2026, 11, 23, 6, 40))
    folder = tmp_path / "drop" / "411002" / str(D)
    folder.mkdir(parents=True)
    import os

    for rt in ("enforcement_cases", "complaints"):
        (folder / f"{rt}.csv").write_text("record_id\n", encoding="utf-8")
        os.utime(folder / f"{rt}.csv", (at(2026, 11, 23, 7, 0).timestamp(),) * 2)
    monitor(at(2026, 11, 23, 7, 10))
    late = alerts(conn, "kind = 'late'")[0]
    assert late["state"] == "resolved"
    # arrival = when the monitor's scan first saw the files (07:10), not their modification time (07:00)
    assert late["resolution"] == "received at 2026-11-23 07:10 (after the deadline), awaiting the next load"
    assert keys(conn) == {("missing", "411002", rt, D) for rt in ("reconsideration_cases", "litigation_cases")}
    day = conn.execute("SELECT on_time, something_on_time FROM marts.submission_compliance_day"
                       " WHERE county_code = '411002' AND business_date = %s", (D,)).fetchone()
    assert day == (False, False)


def test_pipeline_late_and_pipeline_failed_go_to_the_engineers(env):
    conn, smtp, hook, monitor, _ = env
    submit_day(conn, "411002", D, ON_TIME, types=("enforcement_cases", "litigation_cases", "reconsideration_cases"))
    submit(conn, "411002", D, "complaints", "failed")
    monitor(at(2026, 11, 23, 7, 59), counties=None)
    assert keys(conn) == {("pipeline_failed", "411002", "complaints", D)}
    monitor(at(2026, 11, 23, 8, 1), counties=None)  # 411003 still unrecorded at the pipeline deadline
    assert keys(conn) == {("pipeline_failed", "411002", "complaints", D), ("pipeline_late", None, "*", D)}
    titles = [p["title"] for p in hook.at("/engineers")]
    assert len(titles) == 2 and any("夜间任务未按时完成" in t for t in titles)
    assert hook.at("/county/411002") == []  # the county is not blamed for our failure
    submit(conn, "411002", D, "complaints", received=ON_TIME)
    submit_day(conn, "411003", D, ON_TIME)
    monitor(at(2026, 11, 23, 9, 0), counties=None)
    assert keys(conn) == set()
    assert {a["resolution"] for a in alerts(conn)} >= {"the nightly run has recorded every county"}
    monitor(at(2026, 11, 23, 14, 0), counties=None)
    assert len(hook.at("/engineers")) == 2  # engineers' alerts do not escalate to supervisors
