"""CeleryExecutor for real, without Docker: the stack of docker-compose.yaml as processes on this machine
(tests/stack/conftest.py), a night of 20 counties triggered by `supervision run` through Airflow's REST API.

One night proves, from what Airflow's API reports and what the warehouse holds:
- `supervision run` on a deployment triggers through the API, prints progress per county, exits with the state;
- the night succeeds and its task instances ran on both Celery workers (their host names);
- a worker SIGKILLed (with its task processes) in the middle of a load_shard: the task is failed by the heartbeat
  timeout and re-runs on the other worker; nothing lost or doubled (reconciliation exact, core = loaded);
- the pool `warehouse_loads` caps concurrent loads although the workers have more slots than it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest

from supervision.contract import RECORD_TYPES
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision_dev.simulator import FaultProfile, simulate_night

from .conftest import POOL, POOL_SLOTS, WORKER_CONCURRENCY, kill_tree

pytestmark = [pytest.mark.integration, pytest.mark.airflow, pytest.mark.timeout(900)]

DAY = date(2026, 11, 22)
DAG = "supervision_nightly"


def _t(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


@pytest.fixture(scope="module")
def night(stack, migrated_url):
    registry = load_registry()
    codes = registry.codes[:20]
    drop = stack.root / "drop"
    # one county with bad rows: the board shows its quarantine; every file still arrives (20 x 4 in the ledger)
    sim = simulate_night(registry, DAY, drop, seed=17, faults=FaultProfile({codes[3]: "bad_rows"}), counties=codes)
    env = {**stack.env, "SUPERVISION_AIRFLOW_API_URL": stack.api.base, "SUPERVISION_AIRFLOW_USERNAME": "admin",
           "SUPERVISION_AIRFLOW_PASSWORD": stack.password, "SUPERVISION_PROGRESS_EVERY": "5"}
    cmd = [str(Path(sys.executable).parent / "supervision"), "run", "--date", DAY.isoformat(), "--drop-root", str(drop),
           "--counties", ",".join(codes), "--shard-size", "2"]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    def read():
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        run_id = stack.wait_for(lambda: next((x.split(" run ")[1].split()[0] for x in list(lines)
                                              if x.startswith("triggered ")), None), 60, "the triggered run")
        # SIGKILL the worker running a load_shard, once that task is well under way
        def running_load():
            for ti in stack.api.task_instances(DAG, run_id):
                if ti["task_id"] == "load_shard" and ti["state"] == "running" and ti.get("hostname") \
                        and (datetime.now(_t(ti["start_date"]).tzinfo) - _t(ti["start_date"])).total_seconds() > 3:
                    return ti
            return None

        victim_ti = stack.wait_for(running_load, 240, "a running load_shard")
        victim = next(n for n in (1, 2) if stack.worker_name(n) == victim_ti["hostname"])
        stack.killed.add(f"worker{victim}")
        kill_tree(stack.procs[f"worker{victim}"])
        rc = proc.wait(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(5)
    yield {"rc": rc, "out": "".join(lines), "run_id": run_id, "codes": codes, "sim": sim, "seconds":
           time.monotonic() - t0, "victim": stack.worker_name(victim), "victim_ti": victim_ti,
           "survivor": stack.worker_name(3 - victim), "tis": stack.api.task_instances(DAG, run_id)}


def test_supervision_run_triggers_through_the_api_and_exits_with_the_runs_state(night, stack):
    out = night["out"]
    assert night["rc"] == 0, out
    assert f"triggered {DAG} run manual__{DAY.isoformat()}__" in out
    assert "counties done" in out and f"/{len(night['codes'])}" in out, "progress per county while it runs"
    assert stack.api.run(DAG, night["run_id"])["state"] == "success"
    health = stack.api.get("/api/v2/monitor/health")
    for component in ("metadatabase", "scheduler", "triggerer", "dag_processor"):
        assert health[component]["status"] == "healthy", health
    print(f"night of {len(night['codes'])} counties on the Celery stack: {night['seconds']:.0f} s", file=sys.stderr)


def test_the_killed_task_reran_on_the_other_worker_and_both_workers_ran_tasks(night, stack):
    tis = night["tis"]
    assert {t["state"] for t in tis} == {"success"}
    v = night["victim_ti"]
    tries = stack.api.tries(DAG, night["run_id"], "load_shard", v["map_index"])
    assert len(tries) >= 2, tries
    assert tries[0]["hostname"] == night["victim"] and tries[0]["state"] != "success"
    final = next(t for t in tis if t["task_id"] == "load_shard" and t["map_index"] == v["map_index"])
    assert final["hostname"] == night["survivor"] and final["try_number"] >= 2
    ran_on = {t["hostname"] for t in tis} | {t["hostname"] for t in tries}
    assert {night["victim"], night["survivor"]} <= ran_on


def test_the_pool_caps_concurrent_warehouse_loads(night, stack):
    loads = [t for t in night["tis"] if t["task_id"] == "load_shard"]
    assert len(loads) == len(night["codes"]) // 2
    assert {t["pool"] for t in loads} == {POOL}
    intervals = []
    for t in loads:
        tries = stack.api.tries(DAG, night["run_id"], "load_shard", t["map_index"]) if t["try_number"] > 1 else [t]
        for i, tr in enumerate(tries):
            # a try killed with its worker ends when the scheduler fails it; if unset, when its retry starts
            end = _t(tr["end_date"]) or (_t(tries[i + 1]["start_date"]) if i + 1 < len(tries) else None)
            intervals.append((_t(tr["start_date"]), end))
    events = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals], key=lambda x: (x[0], x[1]))
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    # 2 workers x WORKER_CONCURRENCY slots could run more at once: the pool is what held them to its slots
    assert 2 * WORKER_CONCURRENCY > POOL_SLOTS
    assert 1 <= peak <= POOL_SLOTS, f"{peak} load_shard tries overlapped; the pool has {POOL_SLOTS} slots"


def test_nothing_lost_or_doubled(night, migrated_url):
    report = reconcile(DAY, night["codes"])
    assert report.ok, report.problems
    totals = report.totals
    simulated = night["sim"].totals["rows"]
    assert totals["rows_received"] == simulated
    assert totals["rows_received"] == totals["rows_loaded"] + totals["rows_quarantined"]
    assert totals["rows_quarantined"] > 0
    assert totals["files"] == len(night["codes"]) * len(RECORD_TYPES)
    with psycopg.connect(migrated_url) as conn:
        in_core = sum(conn.execute(f"SELECT count(*) FROM core.{rt.table} WHERE county_code = ANY(%s)",  # noqa: S608 - contract names
                                   (night["codes"],)).fetchone()[0] for rt in RECORD_TYPES.values())
        entries = conn.execute("SELECT count(*) FROM ops.submission_current WHERE business_date = %s"
                               " AND county_code = ANY(%s)", (DAY, night["codes"])).fetchone()[0]
    assert in_core == totals["rows_loaded"], "every loaded row once in core: the re-run shard doubled nothing"
    assert entries == len(night["codes"]) * len(RECORD_TYPES)
    assert os.environ.get("SUPERVISION_AIRFLOW_API_URL") is None, "the test process itself stays without a deployment"


def test_supervision_run_exits_with_a_failed_runs_state(night, stack, tmp_path):
    """A night the deployment cannot run (its drop folder does not exist on the workers: prepare fails at once,
    not retried) makes `supervision run` exit 1 with the run named."""
    env = {**stack.env, "SUPERVISION_AIRFLOW_API_URL": stack.api.base, "SUPERVISION_AIRFLOW_PASSWORD": stack.password,
           "SUPERVISION_PROGRESS_EVERY": "2"}
    res = subprocess.run([str(Path(sys.executable).parent / "supervision"), "run", "--date", DAY.isoformat(),
                          "--drop-root", str(tmp_path / "nowhere"), "--counties", night["codes"][0]],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    assert f"{DAG} run manual__{DAY.isoformat()}__" in res.stderr and "ended failed" in res.stderr
    assert "FAILED" in res.stdout


def test_county_board_in_the_airflow_ui(night, stack, browser, migrated_url):
    """The engineers' board (plugins/supervision_board.py) in Chromium, served by the stack's api-server."""
    import re

    base = stack.api.base
    views = [v for p in stack.api.get("/api/v2/plugins")["plugins"] for v in p["external_views"]]
    assert any(v["href"] == "/county-board/" and v["destination"] == "nav" for v in views), "a link in the UI's nav"
    codes = night["codes"]
    bad = codes[3]
    with psycopg.connect(migrated_url) as conn:
        names = dict(conn.execute("SELECT code, name FROM ref.division WHERE code = ANY(%s)", (codes,)).fetchall())
        # an open alert of the county with bad rows (the monitor's kind 'invalid'), shown in its row
        conn.execute("INSERT INTO ops.alert (kind, county_code, record_type, business_date, evidence, summary, fix,"
                     " opened_at, last_seen_at) VALUES ('invalid', %s, 'complaints', %s, 'test', 'test', 'test',"
                     " now(), now())", (bad, DAY))

    anonymous = browser.new_context()
    page = anonymous.new_page()
    page.goto(f"{base}/county-board/?date={DAY}")
    assert "/auth/login" in page.url, "the board needs Airflow's sign-in"
    anonymous.close()

    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    ctx.add_cookies([{"name": "_token", "value": stack.api.token(), "url": base}])
    page = ctx.new_page()
    external = []
    page.on("request", lambda r: external.append(r.url) if not r.url.startswith(base) else None)
    page.goto(f"{base}/county-board/?date={DAY}")
    assert page.locator("h1").inner_text().startswith("县区看板")
    assert page.locator("tr[data-county]").count() == len(codes)
    for code in codes:
        assert names[code] in page.locator(f"tr[data-county='{code}'] th").inner_text()
    assert page.locator("td[data-status='loaded']").count() >= (len(codes) - 1) * 4
    assert page.locator(f"tr[data-county='{bad}'] td.alert").inner_text() == "invalid"
    assert page.locator(f"tr[data-county='{codes[0]}'] td.alert").inner_text() == ""
    cell = page.locator(f"tr[data-county='{bad}'] td[data-status='loaded_with_quarantine']").first
    assert re.search(r"收 [\d,]+ · 入 [\d,]+ · 隔 [1-9]", cell.inner_text())
    run_href = cell.locator("a", has_text="运行").get_attribute("href")
    assert run_href == f"/dags/supervision_nightly/runs/{night['run_id']}".replace(":", "%3A").replace("+", "%2B")
    log_href = cell.locator("a", has_text="日志").get_attribute("href")
    assert re.fullmatch(re.escape(run_href) + r"/tasks/load_shard/mapped/\d+", log_href)
    shard = int(log_href.rsplit("/", 1)[1])
    ti = next(t for t in night["tis"] if t["task_id"] == "load_shard" and t["map_index"] == shard)
    assert bad in ti["rendered_map_index"], "the log link is the load_shard that processed the county"
    page.screenshot(path=str(stack.root / "county-board.png"), full_page=True)

    docs = cell.locator("a", has_text="Data Docs").get_attribute("href")
    assert page.request.get(base + docs).status == 200
    cell.locator("a", has_text="隔离行").click()
    page.wait_for_load_state()
    assert "隔离行" in page.locator("h1").inner_text() and names[bad] in page.locator("h1").inner_text()
    rows = page.locator("table tr")
    assert rows.count() > 1
    assert re.search(r"第 \d+ 行", page.locator("table").inner_text()), "messages name the row as a spreadsheet does"
    assert external == [], f"no CDN or other host: {external}"
    ctx.close()


def test_a_dump_of_the_loaded_night_restored_into_an_empty_database_reconciles(night, migrated_url, tmp_path):
    """docs/deployment.md's backup and restore: pg_dump (custom format) of the warehouse, pg_restore into an empty
    database; the restored warehouse reconciles the night exactly, with the same ledger, quarantine and core."""
    from psycopg import sql

    from .conftest import LOCAL_ADMIN_URL, admin_execute

    name = f"supervision_restore_{os.getpid()}"
    dump = tmp_path / "warehouse.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), migrated_url], check=True)
    admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    restored = LOCAL_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    counts = ("SELECT (SELECT count(*) FROM ops.submission), (SELECT count(*) FROM ops.quarantine),"
              " (SELECT count(*) FROM core.enforcement_case), (SELECT count(*) FROM core.complaint)")
    try:
        subprocess.run(["pg_restore", "--exit-on-error", "--dbname", restored, str(dump)], check=True)
        original, copy = reconcile(DAY, night["codes"]), reconcile(DAY, night["codes"], url=restored)
        assert copy.ok, copy.problems
        assert copy.totals == original.totals and copy.totals["rows_loaded"] > 0
        with psycopg.connect(migrated_url) as a, psycopg.connect(restored) as b:
            assert a.execute(counts).fetchone() == b.execute(counts).fetchone()
    finally:
        admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def test_task_instances_start_with_great_expectations_preloaded_by_their_worker(night, stack):
    """Celery workers import supervision.task_preload before forking their pool (supervision.celery_config):
    every load_shard's log says so (else each would spend ~4.5 s importing Great Expectations)."""
    from supervision.nightly import PRELOADED

    folder = stack.root / "airflow" / "logs"
    logs = [p for p in folder.rglob("attempt=*.log")
            if "task_id=load_shard" in p.parts[-3] + p.parts[-2] and f"run_id={night['run_id']}" in str(p)]
    started = [p for p in logs if "task start-up" in p.read_text(encoding="utf-8", errors="replace")]
    assert len(started) >= 10, (folder, logs[:3])  # 20 counties in shards of 2, the killed try's log besides
    assert all(PRELOADED in p.read_text(encoding="utf-8", errors="replace") for p in started)
