"""Fault matrix, issue 15: the drop folder is trusted for nothing, and arrival time is what the pipeline observed.

Every night here goes through the real nightly steps (``prepare_run`` -> ``run_shard`` -> ``summarize``, which
reconciles and raises if a row is unaccounted for) or ``process_county`` under a controlled clock, into a real
PostgreSQL; the alert monitor (``judge_step`` / ``deliver_step``) then runs under a controlled clock. Each test
asserts the ledger status and reason (Chinese first, names escaped), the engineers' alert where it applies,
that no foreign bytes were read or landed, and that received = loaded + quarantined for every file.
"""

from __future__ import annotations

import os
import sys
import unicodedata
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from psycopg import sql

from supervision.alerting.monitor import deliver_step, judge_step
from supervision.contract import RECORD_TYPES
from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county
from supervision.nightly import prepare_run, run_shard, summarize
from supervision.reconcile import reconcile, render_report
from supervision.registry import load_registry
from supervision.settings import DEFAULT_REGISTRY
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

TZ = ZoneInfo("Asia/Shanghai")
D = date(2026, 11, 22)
SEED = 15
CODES = ["410105", "410106", "411002", "411003"]
ALERT_TABLES = ("alert_notification", "alert_event", "alert", "submission_exception", "submission_verdict")
MONITOR_AT = datetime(2026, 11, 23, 8, 10, tzinfo=TZ)  # after the county deadlines (06:00) and the pipeline's (08:00)


def at(hh: int, mm: int) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ)


# Every file the process opens while watched (builtins.open, os.open, pathlib: all raise the "open" audit event).
_OPENED: list[str] = []
_WATCHING = [False]


def _audit(event: str, args: tuple) -> None:
    if _WATCHING[0] and event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        _OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_audit)


@pytest.fixture
def env(warehouse, tmp_path, monkeypatch):
    """A migrated, emptied warehouse, a data dir, a drop folder and a registry of four counties."""
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SUPERVISION_SMTP_URL", raising=False)
    monkeypatch.delenv("SUPERVISION_ENGINEER_CHANNELS", raising=False)
    lines = ["name: drop-folder-faults", "alerting:",
             "  engineers: [{name: 数据工程值班, email: data-engineers@supervision.example}]",
             "  supervisors:", '    "41": [{name: 河南省监督处, email: supervision-41@supervision.example}]',
             "counties:"]
    for code in CODES:
        lines += [f'  - code: "{code}"', f"    contact: {{name: 数据专员{code}, email: data-{code}@supervision.example}}"]
    reg = tmp_path / "registry.yaml"
    reg.write_text("\n".join(lines) + "\n", encoding="utf-8")
    drop = tmp_path / "drop"
    yield {"conn": warehouse, "drop": drop, "registry": reg, "data": tmp_path / "data"}
    warehouse.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
        sql.SQL(", ").join(sql.Identifier("ops", t) for t in ALERT_TABLES)))


def simulate(env, counties: list[str]) -> None:
    simulate_night(load_registry(DEFAULT_REGISTRY), D, env["drop"], seed=SEED, faults=FaultProfile.none(),
                   counties=counties, scale=0.3)


def night(env, watch: set[str] = frozenset()) -> dict:
    """The nightly steps for the whole registry, one county per shard; opens are recorded while a county of
    ``watch`` is processed. summarize() reconciles the date and raises if anything is unaccounted for."""
    shards = prepare_run(D, str(env["registry"]), str(env["drop"]), shard_size=1)
    for shard in shards:
        _WATCHING[0] = bool(watch & set(shard["counties"]))
        try:
            run_shard(shard)
        finally:
            _WATCHING[0] = False
    return summarize(shards)


def ledger(conn, county: str) -> dict[str, tuple]:
    return {rt: rest for rt, *rest in conn.execute(
        "SELECT record_type, status, reason, rows_received, rows_loaded, rows_quarantined, file_sha256"
        " FROM ops.submission_current WHERE county_code = %s AND business_date = %s", (county, D))}


def assert_balanced(conn) -> None:
    """received = loaded + quarantined for every ledger row of the date, and the date reconciles."""
    assert conn.execute("SELECT count(*) FROM ops.submission WHERE business_date = %s AND rows_received <>"
                        " rows_loaded + rows_quarantined", (D,)).fetchone()[0] == 0
    report = reconcile(D, CODES)
    assert report.ok, report.problems


def assert_nothing_landed(env, county: str) -> None:
    conn = env["conn"]
    assert conn.execute("SELECT count(*) FROM ops.quarantine WHERE county_code = %s", (county,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM ops.submission WHERE county_code = %s AND (file_sha256 IS NOT NULL"
                        " OR rows_received > 0)", (county,)).fetchone()[0] == 0
    for rt in RECORD_TYPES.values():
        assert conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE county_code = %s").format(
            sql.Identifier("core", f"{rt.table}_history")), (county,)).fetchone()[0] == 0
    assert not list(env["data"].glob(f"lake/**/county_code={county}/*"))


def no_control_characters(text: str) -> bool:
    return not any(unicodedata.category(c) == "Cc" for c in text)


def monitor(env, now: datetime = MONITOR_AT) -> list[tuple]:
    """Judge (whole registry) and plan the notifications without sending; (kind, county, record type, audience,
    recipient) of every planned message."""
    judge_step(now, str(env["registry"]), drop_root=env["drop"])
    deliver_step(now, str(env["registry"]), send=False)
    return env["conn"].execute(
        "SELECT a.kind, a.county_code, a.record_type, n.audience, n.recipient FROM ops.alert_notification n"
        " JOIN ops.alert a USING (alert_id) ORDER BY 1, 2, 3").fetchall()


def told(messages: list[tuple], kind: str, county: str | None) -> set[tuple[str, str]]:
    return {(audience, who) for k, c, _, audience, who in messages if k == kind and c == county}


ENGINEERS = {("engineers", "数据工程值班")}


# ---------------------------------------------------------------------------------------------- links


def test_symlinked_county_folder_is_refused_and_nothing_behind_it_read(env):
    """Fault 5: 410105 -> 410106 was read as 410105's submission (410106's rows, personal data included, landed in
    ops.quarantine under 410105). Now 410105 is rejected unread, 410106 loads as its own."""
    simulate(env, ["410106", "411002", "411003"])
    (env["drop"] / "410105").symlink_to("410106", target_is_directory=True)
    _OPENED.clear()
    totals = night(env, watch={"410105"})
    conn = env["conn"]
    assert [p for p in _OPENED if str(env["drop"]) in os.path.realpath(p) or str(env["drop"]) in p] == []
    rows = ledger(conn, "410105")
    assert set(rows) == set(RECORD_TYPES) | {"*"}
    for rt in RECORD_TYPES:
        status, reason, received, loaded, quarantined, sha = rows[rt]
        assert (status, received, loaded, quarantined, sha) == ("rejected", 0, 0, 0, None)
        assert reason.startswith("金水区（410105，郑州市）：本县文件夹 410105/是符号链接，未读取其中任何内容")
        assert "the county folder 410105/ is a symbolic link; nothing in or behind it was read" in reason
        assert "410106" not in reason
    status, reason, *_ = rows["*"]
    assert status == "unexpected" and "'410105'（符号链接）" in reason
    assert_nothing_landed(env, "410105")
    assert {s for s, *_ in ledger(conn, "410106").values()} <= {"loaded", "loaded_with_quarantine"}
    assert totals["reconciled"] and totals["unexpected"] == 1
    assert_balanced(conn)
    messages = monitor(env)
    assert told(messages, "drop_unexpected", "410105") == ENGINEERS  # the engineers, and only them
    assert {c for k, c, *_ in messages if k == "rejected"} == {"410105"}
    assert {a for k, c, _, a, _ in messages if k == "rejected"} == {"county"}  # the county hears why it is refused


def test_symlinked_day_folder_file_and_manifest_are_refused_unread(env, tmp_path):
    simulate(env, ["410106", "411002", "411003"])
    drop = env["drop"]
    (drop / "410105").mkdir()
    (drop / "410105" / str(D)).symlink_to(drop / "410106" / str(D), target_is_directory=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "manifest.json"
    secret.write_text('{"files": {}}', encoding="utf-8")
    folder = drop / "411002" / str(D)
    complaints = next(folder.glob("complaints.*"))
    complaints.unlink()  # 411002's complaints become a link to 410106's file (another county's personal data)
    linked = folder / "complaints.csv"
    linked.symlink_to(next((drop / "410106" / str(D)).glob("complaints.*")))
    (folder / "manifest.json").unlink()
    (folder / "manifest.json").symlink_to(secret)
    _OPENED.clear()
    night(env, watch={"410105", "411002"})
    conn = env["conn"]
    opened = {os.path.realpath(p) for p in _OPENED}
    assert not any(p.startswith(os.path.realpath(drop / "410106")) for p in opened)  # no foreign bytes read
    assert os.path.realpath(secret) not in opened
    day = ledger(conn, "410105")
    for rt in RECORD_TYPES:
        assert day[rt][0] == "rejected" and day[rt][1].startswith(
            "金水区（410105，郑州市）：日期文件夹 410105/2026-11-22/是符号链接，未读取其中任何内容")
    assert day["*"][0] == "unexpected" and "'410105/2026-11-22'（符号链接）" in day["*"][1]
    assert_nothing_landed(env, "410105")
    xuchang = ledger(conn, "411002")
    status, reason, received, *_ = xuchang["complaints"]
    assert (status, received) == ("rejected", 0)
    assert reason.startswith("魏都区（411002，许昌市）：complaints：'411002/2026-11-22/complaints.csv' 是符号链接，未读取")
    # the county's own plain files still load, flagged: the linked manifest was not read
    for rt in ("enforcement_cases", "reconsideration_cases", "litigation_cases"):
        status, reason, received, loaded, quarantined, _ = xuchang[rt]
        assert status in ("loaded", "loaded_with_quarantine") and received == loaded + quarantined
        assert "manifest.json 是符号链接，未读取" in reason
    assert conn.execute("SELECT count(*) FROM ops.quarantine WHERE county_code = '411002'"
                        " AND record_type = 'complaints'").fetchone()[0] == 0
    unexpected = xuchang["*"][1]
    assert "'411002/2026-11-22/complaints.csv'（符号链接）" in unexpected
    assert "'411002/2026-11-22/manifest.json'（符号链接）" in unexpected
    assert_balanced(conn)
    messages = monitor(env)
    assert told(messages, "drop_unexpected", "410105") == ENGINEERS
    assert told(messages, "drop_unexpected", "411002") == ENGINEERS


@pytest.mark.timeout(300)  # opening a pipe would block: the test would hang instead of failing
def test_fifo_is_refused_without_blocking(env):
    simulate(env, ["410105", "410106", "411002", "411003"])
    folder = env["drop"] / "411002" / str(D)
    next(folder.glob("enforcement_cases.*")).unlink()
    os.mkfifo(folder / "enforcement_cases.csv")
    os.mkfifo(folder / "notes.pipe")
    night(env)
    conn = env["conn"]
    rows = ledger(conn, "411002")
    status, reason, received, loaded, quarantined, sha = rows["enforcement_cases"]
    assert (status, received, loaded, quarantined, sha) == ("rejected", 0, 0, 0, None)
    assert reason.startswith("魏都区（411002，许昌市）：enforcement_cases："
                             "'411002/2026-11-22/enforcement_cases.csv' 是命名管道（FIFO），未读取")
    assert "is a named pipe (FIFO); not read" in reason
    assert "'411002/2026-11-22/notes.pipe'（命名管道（FIFO））" in rows["*"][1]
    assert_balanced(conn)
    messages = monitor(env)  # the monitor's scan does not open the pipe either
    assert told(messages, "drop_unexpected", "411002") == ENGINEERS
    assert ("rejected", "411002", "enforcement_cases") in {m[:3] for m in messages}


# ---------------------------------------------------------------------------------------------- unknown submitters


def test_unknown_county_folders_are_recorded_and_the_engineers_alerted(env):
    """Fault 6: folders of counties not in the registry vanished without a trace."""
    simulate(env, CODES)
    drop = env["drop"]
    stray = drop / "999999" / str(D)
    stray.mkdir(parents=True)
    (stray / "enforcement_cases.csv").write_bytes(
        next((drop / "411003" / str(D)).glob("enforcement_cases.*")).read_bytes())
    (drop / "410199").mkdir()
    (drop / "tmp\x07odd").write_text("x", encoding="utf-8")
    _OPENED.clear()
    _WATCHING[0] = True
    try:
        totals = night(env)
    finally:
        _WATCHING[0] = False
    conn = env["conn"]
    assert not any("999999" in p or "410199" in p or "tmp\x07" in p for p in _OPENED)
    for code, name in (("999999", "'999999/'"), ("410199", "'410199/'"), ("000000", "'tmp\\x07odd'")):
        rows = ledger(conn, code)
        assert set(rows) == {"*"}, code
        status, reason, received, loaded, quarantined, sha = rows["*"]
        assert (status, received, loaded, quarantined, sha) == ("unexpected", 0, 0, 0, None)
        assert name in reason and no_control_characters(reason)
        assert reason.startswith("未登记的县 " + code if code != "000000" else "投递目录顶层")
    assert_nothing_landed(env, "999999")
    assert totals["reconciled"] and totals["unexpected"] == 3 and totals["counties"] == len(CODES)
    whole = reconcile(D)  # the CLI's view of the date (every county in the ledger): still clean, and visible
    assert whole.ok, whole.problems
    text = render_report(whole)
    assert "unexpected drop-folder entries (engineers alerted) in 3 folder(s)" in text and "'999999/'" in text
    assert_balanced(conn)
    messages = monitor(env)
    assert told(messages, "drop_unexpected", None) == ENGINEERS
    (summary,) = conn.execute("SELECT summary FROM ops.alert WHERE kind = 'drop_unexpected'").fetchall()[0:1]
    assert "'999999/'" in summary[0] and "'410199/'" in summary[0] and no_control_characters(summary[0])
    assert not [m for m in messages if m[1] in ("999999", "410199", "000000")]
    (title, body), = conn.execute("SELECT n.title, n.body FROM ops.alert_notification n JOIN ops.alert a"
                                  " USING (alert_id) WHERE a.kind = 'drop_unexpected'").fetchall()
    assert title.startswith("[投递目录异常内容] unexpected entry in the drop folder: drop folder (no registered county)")
    assert "'tmp\\x07odd'" in body and "\x07" not in body


def test_odd_file_names_are_named_escaped_and_the_engineers_alerted(env, caplog):
    simulate(env, CODES)
    folder = env["drop"] / "411002" / str(D)
    odd = {"enforcement_cases": "enforcement_cases.csv;rm -rf ~", "complaints": "complaints\n.csv",
           "litigation_cases": "litigation_cases.csv\x1b[31m"}
    for rt, name in odd.items():
        next(folder.glob(f"{rt}.*")).rename(folder / name)
    (folder / "$(reboot).csv").write_text("x", encoding="utf-8")
    caplog.set_level("WARNING", logger="supervision.sources.filedrop")
    night(env)
    conn = env["conn"]
    rows = ledger(conn, "411002")
    escaped = {"enforcement_cases": "'411002/2026-11-22/enforcement_cases.csv;rm -rf ~'",
               "complaints": "'411002/2026-11-22/complaints\\x0a.csv'",
               "litigation_cases": "'411002/2026-11-22/litigation_cases.csv\\x1b[31m'"}
    for rt, shown in escaped.items():
        status, reason, received, *_ = rows[rt]
        assert (status, received) == ("missing", 0)
        assert reason.startswith(f"魏都区（411002，许昌市）：{rt} 文件名不符合约定，未读取：{shown}")
        assert no_control_characters(reason)
    assert rows["reconsideration_cases"][0] in ("loaded", "loaded_with_quarantine")
    unexpected = rows["*"][1]
    assert all(s in unexpected for s in escaped.values()) and "'411002/2026-11-22/$(reboot).csv'" in unexpected
    assert no_control_characters(unexpected)
    logged = [r.getMessage() for r in caplog.records if "unexpected entries" in r.getMessage()]
    assert logged and all(no_control_characters(m) and escaped["complaints"] in m for m in logged)
    assert_balanced(conn)
    messages = monitor(env)
    assert told(messages, "drop_unexpected", "411002") == ENGINEERS
    assert {rt for k, c, rt, *_ in messages if k == "missing" and c == "411002"} == set(odd)
    for title, body in conn.execute("SELECT title, body FROM ops.alert_notification"):
        assert no_control_characters(title) and no_control_characters(body.replace("\n", " "))


# ---------------------------------------------------------------------------------------------- arrival time


def test_backdated_file_observed_after_the_deadline_is_late(env):
    """Fault 8: received_at was the file's mtime, which the county sets; a backdated file looked on time."""
    conn = env["conn"]
    reg = load_registry(env["registry"])
    simulate(env, ["411003"])  # on time: the monitor's 05:50 scan sees it (its mtime says 07:00: ignored)
    for f in (env["drop"] / "411003" / str(D)).iterdir():
        os.utime(f, (at(7, 0).timestamp(),) * 2)
    judge_step(at(5, 50), str(env["registry"]), counties=["411002", "411003"], drop_root=env["drop"])
    simulate(env, ["411002"])  # dropped after the deadline, backdated to 03:00
    for f in (env["drop"] / "411002" / str(D)).iterdir():
        os.utime(f, (at(3, 0).timestamp(),) * 2)
    ctx = RunContext.default(D, env["drop"])
    ctx.clock = at(6, 30)  # the nightly run observes at 06:30
    for code in ("411002", "411003"):
        process_county(reg.county(code), ctx)
    arrivals = conn.execute("SELECT county_code, received_at, file_mtime FROM ops.submission_current"
                            " WHERE business_date = %s ORDER BY 1", (D,)).fetchall()
    assert {(c, r, m) for c, r, m in arrivals} == {("411002", at(6, 30), at(3, 0)), ("411003", at(5, 50), at(7, 0))}
    seen = dict(conn.execute("SELECT county_code, min(first_seen_by) FROM ops.file_arrival GROUP BY 1").fetchall())
    assert seen == {"411002": "pipeline", "411003": "monitor"}
    judge_step(at(6, 40), str(env["registry"]), counties=["411002", "411003"], drop_root=env["drop"])
    verdicts = conn.execute("SELECT county_code, bool_and(on_time), bool_or(on_time), min(first_received_at)"
                            " FROM ops.submission_verdict WHERE business_date = %s GROUP BY 1 ORDER BY 1",
                            (D,)).fetchall()
    assert verdicts == [("411002", False, False, at(6, 30)), ("411003", True, True, at(5, 50))]
    days = conn.execute("SELECT county_code, on_time, something_on_time FROM marts.submission_compliance_day"
                        " WHERE business_date = %s ORDER BY 1", (D,)).fetchall()
    assert days == [("411002", False, False), ("411003", True, True)]
    # a re-run sees the same bytes again: the first sighting stays
    ctx.clock = at(9, 0)
    process_county(reg.county("411002"), ctx)
    assert conn.execute("SELECT DISTINCT received_at FROM ops.submission_current WHERE county_code = '411002'"
                        " AND business_date = %s", (D,)).fetchall() == [(at(6, 30),)]
    report = reconcile(D, ["411002", "411003"])
    assert report.ok, report.problems
