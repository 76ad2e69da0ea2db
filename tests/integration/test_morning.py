"""An engineer's morning after the demo, with the real Airflow and the real monitor (issue 19).

- a night run from the CLI (`supervision run`'s path: run_through_airflow) has its business date in the run id and
  a note, and task logs in Airflow's log folder holding the per-county / per-file lines;
- `supervision ui`'s processes, started with a PATH that does not hold the venv, come up, listen on 127.0.0.1
  only (API server and log server), and the API server serves that CLI run's task log (what the UI shows);
- the demo's morning: the monitor judged after the night's deadlines opens the night's alerts and no others,
  `alerts list` says "showing N of M" in Asia/Shanghai, and a later re-play before them is refused;
- the demo's defaults (registry, drop folder, counties) are what reconcile / report / run use afterwards.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
import urllib.request
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from supervision import project_settings, settings
from supervision.registry import load_registry
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

DAY = date(2026, 11, 22)
SEED = 11
TZ = ZoneInfo("Asia/Shanghai")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listeners(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port`` (from /proc/net/tcp and tcp6)."""
    out = set()
    for name, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        for line in Path(name).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, p = local.split(":")
            if state == "0A" and int(p, 16) == port:  # 0A = LISTEN
                if width == 8:
                    out.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, 32, 8))
                    out.add(socket.inet_ntop(socket.AF_INET6, raw))
    return out


@pytest.fixture(scope="module")
def night(warehouse_url, tmp_path_factory, empty_tables):
    """A small faulty night (4 counties, one of them late) run the way `supervision run` runs it, on an empty
    warehouse (other modules run nights of the same date and counties); emptied again afterwards."""
    import psycopg

    from supervision.cli import run_through_airflow

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        empty_tables(conn)

    data = tmp_path_factory.mktemp("morning")
    mp = pytest.MonkeyPatch()
    mp.setenv("SUPERVISION_DATA_DIR", str(data))
    mp.delenv("AIRFLOW_HOME", raising=False)
    for k in ("SUPERVISION_REGISTRY", "SUPERVISION_DROP_ROOT", "SUPERVISION_COUNTIES"):
        mp.delenv(k, raising=False)
    reg = load_registry()
    codes = ["411002", "411003", "411024", "411025"]
    drop = data / "drop"
    faults = FaultProfile.default(codes, SEED)
    report = simulate_night(reg, DAY, drop, seed=SEED, faults=faults, counties=codes)
    # the settings file the demo writes: every later default comes from it
    project_settings.save(registry=str(reg.path), drop_root=str(drop), counties=codes, demo_date=DAY.isoformat())
    rc = run_through_airflow(DAY, None, None, quiet=True)
    yield {"rc": rc, "data": data, "codes": codes, "reg": reg, "drop": drop,
           "truth": json.loads(report.to_json()), "home": data / "airflow"}
    mp.undo()


def _runs(home: Path) -> list[tuple[str, str | None]]:
    with sqlite3.connect(home / "airflow.db") as db:
        return db.execute("SELECT r.run_id, n.content FROM dag_run r LEFT JOIN dag_run_note n ON n.dag_run_id = r.id"
                          " WHERE r.dag_id = 'supervision_nightly' ORDER BY r.id").fetchall()


def test_cli_run_names_the_business_date_and_notes_the_verdicts(night):
    assert night["rc"] == 0
    ((run_id, note),) = _runs(night["home"])
    assert run_id.startswith(f"manual__{DAY}__")
    assert note.startswith(f"业务日期 business date {DAY}: 4 counties recorded")
    late = [c for c, v in night["truth"]["counties"].items() if v.get("fault") == "late"]
    assert late and all(c in note for c in late), "counties not fully loaded are named in the note"
    with sqlite3.connect(night["home"] / "airflow.db") as db:
        labels = [x for (x,) in db.execute("SELECT rendered_map_index FROM task_instance WHERE task_id = 'load_shard'"
                                           " AND run_id = ?", (run_id,))]
    assert len(labels) == 4 and all(any(lbl.startswith(c) for lbl in labels) for c in night["codes"])
    assert all(f"{c} LATE" in labels for c in late), "the grid shows which county's shard is late"


def test_cli_run_task_logs_are_where_the_ui_reads_them(night):
    ((run_id, _),) = _runs(night["home"])
    base = night["home"] / "logs" / "dag_id=supervision_nightly" / f"run_id={run_id}"
    summarize = (base / "task_id=summarize" / "attempt=1.log").read_text(encoding="utf-8")
    lines = [json.loads(x) for x in summarize.splitlines()]
    text = "\n".join(x["event"] for x in lines)
    assert all(c in text for c in night["codes"]), "the per-county table is in summarize's task log"
    assert f"business date {DAY}, per county" in text
    shards = sorted(base.glob("task_id=load_shard/map_index=*/attempt=*.log"))
    assert len(shards) == 4
    shard_text = "\n".join(p.read_text(encoding="utf-8") for p in shards)
    for c in night["codes"]:  # per county and file: received / loaded / quarantined / verdict
        assert f"{c} " in shard_text
    assert "received" in shard_text and "quarantined" in shard_text and "-> LATE" in shard_text


def test_demo_defaults_are_what_later_commands_use(night, capsys):
    from supervision.cli import main

    assert settings.registry_path() == night["reg"].path
    assert settings.drop_root() == night["drop"].resolve()
    assert main(["reconcile", "--date", str(DAY)]) == 0  # the demo's 4 counties, not the whole registry
    capsys.readouterr()
    assert main(["report", "--date", str(DAY)]) == 0
    report = capsys.readouterr().out
    assert all(c in report for c in night["codes"]) and "411081" not in report
    # the option still wins: every county of the registry, and most were never processed
    assert main(["reconcile", "--date", str(DAY), "--counties", "all"]) == 1
    assert "never processed" in capsys.readouterr().err


def test_ui_on_loopback_serves_the_cli_runs_log(night, monkeypatch, browser):
    from supervision.airflow_env import start_ui, stop_ui, wait_for_api

    port, log_port = _free_port(), _free_port()
    # a fresh clone's shell: no venv on PATH (make ui does not activate it)
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    monkeypatch.setenv("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", str(log_port))
    monkeypatch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")  # the test reads the API bare
    procs = start_ui("127.0.0.1", port)
    try:
        assert wait_for_api("127.0.0.1", port, procs), (night["home"] / "logs/ui/api-server.log").read_text()[-3000:]
        assert _listeners(port) == {"127.0.0.1"}
        for _ in range(30):  # the log server starts alongside
            if _listeners(log_port):
                break
            time.sleep(1)
        assert _listeners(log_port) == {"127.0.0.1"}
        ((run_id, _),) = _runs(night["home"])
        url = (f"http://127.0.0.1:{port}/api/v2/dags/supervision_nightly/dagRuns/{run_id}/taskInstances/summarize"
               "/logs/1")
        req = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - our own local server
            body = json.loads(r.read())
        events = "\n".join(str(x.get("event", "")) for x in body["content"])
        assert "not found" not in events.lower()
        assert all(c in events for c in night["codes"])
        alive = {n: p.poll() for n, p in procs.items()}
        assert all(v is None for v in alive.values()), alive  # no FileNotFoundError 'airflow' without the venv
        _ui_in_chromium(browser, port, night["home"] / "ui-dag.png")

        # Unpausing starts no missed night; a run the scheduler executes logs the night at INFO in its task logs.
        api = f"http://127.0.0.1:{port}/api/v2/dags/supervision_nightly"
        _call(api, "PATCH", {"is_paused": False})
        run_id = f"manual__{DAY}__scheduler"
        _call(api + "/dagRuns", "POST", {"dag_run_id": run_id, "logical_date": None,
                                         "conf": {"business_date": str(DAY), "counties": night["codes"][:1]}})
        state = None
        for _ in range(180):
            state = _call(f"{api}/dagRuns/{run_id}")["state"]
            if state in ("success", "failed"):
                break
            time.sleep(2)
        assert state == "success"
        runs = _call(f"{api}/dagRuns")["dag_runs"]
        local = datetime.now(TZ)  # 06:30-08:30 Shanghai: tonight's run is due, not a missed one
        if not (6 <= local.hour < 9):
            assert not [r for r in runs if r["run_type"] == "scheduled"], "unpausing started a missed night"
        body = _call(f"{api}/dagRuns/{run_id}/taskInstances/summarize/logs/1")
        events = "\n".join(str(x.get("event", "")) for x in body["content"])
        assert f"business date {DAY}, per county" in events and night["codes"][0] in events
        shard = _call(f"{api}/dagRuns/{run_id}/taskInstances/load_shard/logs/1?map_index=0")
        shard_events = "\n".join(str(x.get("event", "")) for x in shard["content"])
        assert "received" in shard_events and "quarantined" in shard_events
    finally:
        stop_ui(procs)


def _ui_in_chromium(browser, port: int, screenshot: Path) -> None:
    """The Airflow UI as an engineer in China sees it: Debian's Chromium in Asia/Shanghai. Airflow 3.3 has no
    server-side UI time zone; its UI shows the browser's zone, so the DAG page's 24-hour window is Shanghai time."""
    page = browser.new_page(timezone_id="Asia/Shanghai", viewport={"width": 1366, "height": 768})
    try:
        before = datetime.now(TZ)
        page.goto(f"http://127.0.0.1:{port}/dags/supervision_nightly", wait_until="networkidle")
        page.wait_for_selector("text=Latest Run", timeout=60_000)
        body = page.inner_text("body")
        page.screenshot(path=str(screenshot))
    finally:
        page.close()
    after = datetime.now(TZ)
    assert "supervision_nightly" in body and "(Asia/Shanghai)" in body  # the schedule names its zone
    # the 'Last 24 Hours' window ends now, in Shanghai time (UTC would be 8 hours off)
    assert any(t.strftime("%Y-%m-%d %H:%M") in body for t in (before, after, before + timedelta(minutes=1))), body[:800]


def _call(url: str, method: str = "GET", body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Accept": "application/json", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - our own local server
        return json.loads(r.read())


def test_demo_morning_alerts_are_the_nights_only(night, capsys):
    from supervision.alerting.cli import morning_after_report
    from supervision.alerting.monitor import latest_finished_night, morning_after
    from supervision.cli import main
    from supervision.warehouse.connection import connect

    text = morning_after_report(DAY, night["reg"], night["codes"], night["drop"])
    with connect() as conn:
        dates = {d for (d,) in conn.execute("SELECT DISTINCT business_date FROM ops.alert")}
        kinds = {k for (k,) in conn.execute("SELECT DISTINCT kind FROM ops.alert")}
        opened = {o for (o,) in conn.execute("SELECT DISTINCT opened_at FROM ops.alert")}
    assert dates == {DAY}, "alerts only for the night that was simulated"
    assert "late" in kinds
    assert opened == {morning_after(DAY, night["reg"], night["codes"])}
    assert "opened_at in Asia/Shanghai" in text and "showing" in text
    # a re-play before what was recorded is refused (it would close alerts before they were opened)
    rc = main(["alerts", "monitor", "--now", f"{DAY + timedelta(days=1)}T07:00+08:00"])
    assert rc == 2 and "before the newest alert event" in capsys.readouterr().err
    # the demo's default date: yesterday once the morning is over, the day before until then
    reg = night["reg"]
    at = morning_after(DAY, reg, night["codes"])
    assert latest_finished_night(reg, night["codes"], at) == DAY
    assert latest_finished_night(reg, night["codes"], at - timedelta(minutes=1)) == DAY - timedelta(days=1)
    assert latest_finished_night(reg, None, datetime(2026, 11, 23, 23, 0, tzinfo=TZ)) == DAY
    assert main(["alerts", "list", "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("showing 1 of ") and "raise --limit" in out



def test_a_run_of_the_demo_registry_brings_its_county_systems_up(tmp_path, monkeypatch):
    """`supervision run` after the demo: the demo's API counties answer again while the run works."""
    from supervision.contract import RECORD_TYPES
    from supervision.sources import state as st
    from supervision.sources.pull import make_source
    from supervision_dev.demo import _conn_envs, demo_county_systems

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    mixed = settings.INCLUDE_DATA / "registries" / "henan-mixed.yaml"
    reg = load_registry(mixed)
    api = next(c for c in reg.counties if c.transport == "http_api")
    (env,) = _conn_envs(reg, [api.code])
    monkeypatch.delenv(env, raising=False)
    with demo_county_systems(DAY, str(mixed), [api.code]):
        assert env not in os.environ, "no demo recorded: nothing is started"
    project_settings.save(demo_county_systems={"root": str(tmp_path / "cs"), "seed": 5, "registry": str(mixed)})
    with demo_county_systems(DAY, str(settings.DEFAULT_REGISTRY), [api.code]):
        assert env not in os.environ, "another registry: nothing is started"
    with demo_county_systems(DAY, str(mixed), [api.code]):
        source = make_source(api)
        fetched = source.fetch(RECORD_TYPES["enforcement_cases"], None, st.end_of_day(DAY))
        source.close()
        assert len(fetched.frame) > 0
    assert env not in os.environ, "the connection lives only as long as the run"
