"""``supervision alerts ...``: the documented operator commands, run through the real entry point."""

from __future__ import annotations

import json
from datetime import date

import pytest

from supervision.cli import main

from .alerting_support import alerts, at, registry_file, submit_day

pytestmark = pytest.mark.integration
D = date(2026, 11, 22)


@pytest.fixture
def setup(alert_db, sinks, tmp_path, monkeypatch):
    smtp, hook = sinks
    reg = registry_file(tmp_path, smtp, hook, ["411002", "411003"])
    # main() exports --registry / --drop-root to the environment (for Airflow's processes): undo it afterwards
    monkeypatch.setenv("SUPERVISION_REGISTRY", str(reg))
    monkeypatch.setenv("SUPERVISION_DROP_ROOT", str(tmp_path / "drop"))
    submit_day(alert_db, "411002", D, None, status="late")
    submit_day(alert_db, "411003", D, at(2026, 11, 23, 2, 0))
    drop = tmp_path / "drop"
    drop.mkdir()
    return alert_db, hook, reg, drop


def run(capsys, *argv) -> tuple[int, str, str]:
    rc = main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_monitor_list_show_ack_renotify(setup, capsys):
    conn, hook, reg, drop = setup
    base = ["--registry", str(reg)]
    rc, out, _ = run(capsys, "alerts", "monitor", "--now", "2026-11-23T06:40+08:00", *base, "--drop-root", str(drop),
                     "--counties", "411002,411003")
    assert rc == 0 and json.loads(out)["judge"]["opened"] == 1 and json.loads(out)["deliver"]["sent"] == 1
    rc, out, _ = run(capsys, "alerts", "list")
    assert rc == 0 and "late" in out and "411002" in out and "魏都区" in out and "nothing received" in out
    assert out.startswith("showing 1 of 1 alert(s); opened_at in Asia/Shanghai")
    assert "11-23 06:40" in out  # the moment judged, shown in Asia/Shanghai whatever the machine's zone
    rc, out, _ = run(capsys, "alerts", "list", "--county", "411003")
    assert out.strip().endswith("(none)") and out.startswith("showing 0 of 0")
    rc, out, _ = run(capsys, "alerts", "list", "--city", "4110", "--json")
    (row,) = json.loads(out)
    assert (row["id"], row["kind"], row["level"], row["undelivered"]) == (1, "late", "county", 0)
    rc, out, _ = run(capsys, "alerts", "show", "1")
    shown = json.loads(out)
    assert [e["event"] for e in shown["events"]] == ["opened", "notified"]
    assert shown["notifications"][0]["status"] == "sent"
    rc, out, _ = run(capsys, "alerts", "ack", "1", "--by", "魏都区 赵主任", "--note", "export job fixed",
                     "--now", "2026-11-23T07:00+08:00")
    assert rc == 0 and "acknowledged" in out
    rc, out, _ = run(capsys, "alerts", "renotify", "1", "--by", "ops", "--now", "2026-11-23T07:05+08:00")
    assert rc == 0 and "round 2" in out
    run(capsys, "alerts", "monitor", "--now", "2026-11-23T07:10+08:00", *base, "--drop-root", str(drop),
        "--counties", "411002,411003")
    assert len(hook.at("/county/411002")) == 2
    assert alerts(conn)[0]["state"] == "acknowledged"


def test_extend_exempt_grants_revoke_and_scorecard(setup, capsys):
    conn, hook, reg, drop = setup
    base = ["--registry", str(reg)]
    rc, out, _ = run(capsys, "alerts", "extend", *base, "--county", "411002", "--from", "2026-11-22", "--to",
                     "2026-11-22", "--until", "2026-11-23T12:00+08:00", "--approved-by", "许昌市 王科长",
                     "--reason", "network outage", "--by", "ops", "--now", "2026-11-23T05:00+08:00")
    assert rc == 0 and "grant #1: extension" in out
    rc, out, _ = run(capsys, "alerts", "exempt", *base, "--county", "411003", "--type", "complaints", "--from",
                     "2026-11-20", "--to", "2026-11-30", "--approved-by", "省 张处长", "--reason", "system migration",
                     "--now", "2026-11-23T05:00+08:00")
    assert rc == 0 and "grant #2: exemption" in out
    run(capsys, "alerts", "monitor", "--now", "2026-11-23T06:40+08:00", *base, "--drop-root", str(drop))
    assert alerts(conn) == []  # the extension holds until 12:00
    rc, out, _ = run(capsys, "alerts", "grants")
    assert "network outage" in out and "system migration" in out
    rc, out, _ = run(capsys, "alerts", "revoke", "1", "--by", "王科长", "--reason", "granted by mistake",
                     "--now", "2026-11-23T07:00+08:00")
    assert rc == 0
    rc, out, _ = run(capsys, "alerts", "grants", "--json")
    assert [g["id"] for g in json.loads(out)] == [2]
    rc, out, _ = run(capsys, "alerts", "grants", "--all", "--json")
    assert json.loads(out)[0]["revoked_by"] == "王科长"
    run(capsys, "alerts", "monitor", "--now", "2026-11-23T07:10+08:00", *base, "--drop-root", str(drop))
    assert [a["kind"] for a in alerts(conn)] == ["late"]
    rc, out, _ = run(capsys, "alerts", "scorecard", "--level", "city", "--month", "2026-11", "--json")
    (city,) = json.loads(out)
    assert (city["city_code"], city["business_days"], city["on_time_valid_days"], city["alerts_late"]) == (
        "4110", 2, 1, 1)


def test_operator_mistakes_get_one_clear_line(setup, capsys):
    _, _, reg, _ = setup
    rc, _, err = run(capsys, "alerts", "ack", "99", "--by", "x")
    assert rc == 2 and "there is no alert #99" in err
    rc, _, err = run(capsys, "alerts", "exempt", "--registry", str(reg), "--county", "419999", "--from",
                     "2026-11-20", "--to", "2026-11-21", "--approved-by", "x", "--reason", "y")
    assert rc == 2 and "419999" in err
    rc, _, err = run(capsys, "alerts", "exempt", "--registry", str(reg), "--county", "411002", "--from",
                     "2026-11-22", "--to", "2026-11-21", "--approved-by", "x", "--reason", "y")
    assert rc == 2 and "--from 2026-11-22 is after --to 2026-11-21" in err
