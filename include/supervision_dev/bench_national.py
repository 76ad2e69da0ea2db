"""A national night through a real Airflow executor: every county-level unit of China, simulated, loaded.

    python -m supervision_dev.bench_national [--scale 80] [--shard-size 10] [--every 1] [--parallel 2]

1. Simulates one night for the national registry (include/data/registries/china.yaml, 2,978 counties; ``--every
   N`` takes every N-th county for a quicker sample) at ``--scale`` (80: about 1,000 rows per county and record
   type on average, skewed by county size and record type).
2. Starts Airflow 3 with the LocalExecutor (``airflow api-server``, ``scheduler``, ``dag-processor``) on a
   PostgreSQL metadata database, in a fresh AIRFLOW_HOME, with the project's nightly DAG. The DAG file is copied
   with ``schedule=None`` so that only this run happens (the wiring is otherwise the real file's).
3. Triggers one run with the national registry and ``--shard-size``, waits for it, reconciles.
4. Reads the task instances back from the metadata database and prints: DAG parse time, task instances, the wall
   time of the night, busy time per task, queue delay (scheduled → started), the time between one task's end and
   the next one's start on each executor slot (scheduler overhead), and rows per second.

The warehouse and Airflow's metadata are throw-away databases on ``--url``, else the local server (127.0.0.1:5432),
else the embedded one. tests/integration/test_benchmarks.py runs a small sample of it.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from supervision import settings
from supervision_dev.bench import _admin_url, _with_db, create_db, drop_db, machine

DAY = date(2026, 11, 22)
PORT = 8795  # the api-server's (task SDK's execution API); --port


def _dag_copy(folder: Path) -> Path:
    """The nightly DAG with schedule=None (nothing else changes): the benchmark's run is the only one."""
    src = (settings.DAGS_DIR / "supervision_nightly.py").read_text(encoding="utf-8")
    needle = 'schedule=NightlyTimetable("30 6 * * *", timezone=TZ),'
    if needle not in src:
        raise SystemExit("dags/supervision_nightly.py changed its schedule line; update bench_national._dag_copy")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "supervision_nightly.py"
    target.write_text(src.replace(needle, "schedule=None,"), encoding="utf-8")
    return target


def parse_time(registry: Path) -> dict:
    """Seconds to parse the project's DAG folder with the national registry configured (a fresh process).

    The registry is read by the ``prepare`` task, never at parse time, so its size cannot show here; this proves it."""
    code = "\n".join([
        "import json, sys, time",
        "t0 = time.perf_counter()",
        "from airflow.dag_processing.dagbag import DagBag",
        "t1 = time.perf_counter()",
        "b = DagBag(dag_folder=sys.argv[1])",
        "t2 = time.perf_counter()",
        "DagBag(dag_folder=sys.argv[1])",
        "t3 = time.perf_counter()",
        "print(json.dumps({'import_airflow': t1 - t0, 'first_parse': t2 - t1, 'second_parse': t3 - t2,",
        "                  'errors': len(b.import_errors), 'dags': sorted(b.dag_ids)}))",
    ])
    from supervision.airflow_env import airflow_env

    env = airflow_env({"SUPERVISION_REGISTRY": str(registry)})
    out = subprocess.run([sys.executable, "-c", code, str(settings.DAGS_DIR)], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _env(home: Path, meta_url: str, warehouse: str, data: Path, parallel: int, dags: Path, port: int) -> dict:
    from supervision.airflow_env import airflow_env

    return airflow_env({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": meta_url.replace("postgresql://", "postgresql+psycopg://"),
        # Airflow would derive asyncpg (not installed); psycopg 3 does async as well
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": meta_url.replace("postgresql://", "postgresql+psycopg_async://"),
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": str(parallel + 2),
        "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(parallel + 2),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
        "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(16).hex(),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
        "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
        "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
        # INFO: the task logs (under this home) keep the project's lines, e.g. the shard's start-up and GX runs
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "SUPERVISION_WAREHOUSE_URL": warehouse,
        "SUPERVISION_DATA_DIR": str(data),
    })


def _wait_http(url: str, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def task_stats(meta_url: str, dag_run_id: str) -> dict:
    with psycopg.connect(meta_url) as conn:
        rows = conn.execute(
            "SELECT task_id, map_index, state, queued_dttm, start_date, end_date, try_number FROM task_instance "
            "WHERE dag_id = 'supervision_nightly' AND run_id = %s ORDER BY start_date", (dag_run_id,)).fetchall()
        run = conn.execute("SELECT start_date, end_date, state FROM dag_run WHERE run_id = %s", (dag_run_id,)).fetchone()
    tis = [dict(zip(("task_id", "map_index", "state", "queued", "start", "end", "tries"), r, strict=True)) for r in rows]
    shards = [t for t in tis if t["task_id"] == "load_shard" and t["start"] and t["end"]]
    busy = [(t["end"] - t["start"]).total_seconds() for t in shards]
    queue = [(t["start"] - t["queued"]).total_seconds() for t in shards if t["queued"]]
    # scheduler overhead: on each of the executor's slots, the gap between a shard's end and the next start
    ends = sorted(t["end"] for t in shards)
    starts = sorted(t["start"] for t in shards)
    gaps = []
    for s in starts[len(starts) - len(ends):]:
        before = [e for e in ends if e <= s]
        if before:
            gaps.append((s - before[-1]).total_seconds())
    return {
        "task_instances": len(tis), "load_shard_tis": len(shards), "states": sorted({t["state"] for t in tis}),
        "retries": sum(1 for t in tis if (t["tries"] or 1) > 1),
        "run_seconds": (run[1] - run[0]).total_seconds() if run and run[1] else None, "run_state": run and run[2],
        "shard_busy_total": sum(busy), "shard_busy_median": statistics.median(busy) if busy else None,
        "shard_busy_max": max(busy) if busy else None,
        "queue_delay_median": statistics.median(queue) if queue else None,
        "gap_median": statistics.median(gaps) if gaps else None,
        "other": {t["task_id"]: (t["end"] - t["start"]).total_seconds() for t in tis
                  if t["task_id"] != "load_shard" and t["start"] and t["end"]},
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m supervision_dev.bench_national", description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=80.0)
    p.add_argument("--shard-size", type=int, default=10)
    p.add_argument("--every", type=int, default=1, help="every N-th county of the national registry (1 = all)")
    p.add_argument("--parallel", type=int, default=2, help="load_shard tasks at a time (the machine's cores)")
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("--keep", action="store_true", help="keep the databases")
    p.add_argument("--json", type=Path)
    p.add_argument("--timeout", type=float, default=8 * 3600)
    p.add_argument("--port", type=int, default=PORT, help="port of Airflow's api-server")
    p.add_argument("--url", help="admin URL of a PostgreSQL server (default: local 127.0.0.1:5432, else embedded)")
    a = p.parse_args(argv)

    from supervision.registry import load_registry
    from supervision_dev.simulator import simulate_night

    root = (a.root or settings.data_dir() / "bench-national").resolve()
    registry_path = settings.INCLUDE_DATA / "registries" / "china.yaml"
    reg = load_registry(registry_path)
    codes = reg.codes[::a.every]
    result: dict = {"machine": machine(), "counties": len(codes), "scale": a.scale, "shard_size": a.shard_size,
                    "parallel": a.parallel, "parse": parse_time(registry_path)}
    print(f"DAG parse with the national registry: {result['parse']}", flush=True)
    drop = root / "drop"
    stamp = root / f".simulated-{a.scale}-{a.every}"
    if not stamp.exists():
        shutil.rmtree(drop, ignore_errors=True)
        t = time.perf_counter()
        sim = simulate_night(reg, DAY, drop, counties=codes, scale=a.scale)
        result["simulate_seconds"] = time.perf_counter() - t
        stamp.write_text(json.dumps({c: {rt: f.rows for rt, f in t.files.items()} for c, t in sim.counties.items()}))
    sizes = json.loads(stamp.read_text())
    result["rows_simulated"] = sum(n for c in sizes.values() for n in c.values())
    print(f"simulated {len(codes)} counties, {result['rows_simulated']:,} rows", flush=True)

    names = {"warehouse": f"bench_nat_wh_{os.getpid()}", "meta": f"bench_nat_af_{os.getpid()}"}
    admin = _admin_url(a.url)
    warehouse = create_db(admin, names["warehouse"])
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(names["meta"])))
    meta = _with_db(admin, names["meta"])
    home = root / "airflow"
    shutil.rmtree(home, ignore_errors=True)
    env = _env(home, meta, warehouse, root / "data", a.parallel, _dag_copy(root / "dags"), a.port)
    from supervision.airflow_env import airflow_bin

    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    procs = []
    logs = root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for comp in (["api-server", "--port", str(a.port)], ["scheduler"], ["dag-processor"]):
            out = open(logs / f"{comp[0]}.log", "w")  # noqa: SIM115 - closed with the process
            procs.append(subprocess.Popen([airflow_bin(), *comp], env=env, stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))
        _wait_http(f"http://127.0.0.1:{a.port}/api/v2/version", 180)
        for _ in range(120):  # the dag-processor has to parse the DAG before it can be triggered
            if subprocess.run([airflow_bin(), "dags", "unpause", "supervision_nightly"], env=env,
                              capture_output=True).returncode == 0:
                break
            time.sleep(2)
        conf = {"business_date": DAY.isoformat(), "registry": str(registry_path), "drop_root": str(drop),
                "shard_size": a.shard_size, "counties": codes if a.every > 1 else None}
        run_id = f"national_{os.getpid()}"
        t0 = time.perf_counter()
        subprocess.run([airflow_bin(), "dags", "trigger", "supervision_nightly", "--run-id", run_id,
                        "--conf", json.dumps(conf)], env=env, check=True, stdout=subprocess.DEVNULL)
        state, said = None, t0
        while time.perf_counter() - t0 < a.timeout:
            with psycopg.connect(meta) as c:
                state = c.execute("SELECT state FROM dag_run WHERE run_id = %s", (run_id,)).fetchone()
                done = c.execute("SELECT count(*) FILTER (WHERE state IN ('success', 'failed', 'upstream_failed')),"
                                 " count(*) FROM task_instance WHERE run_id = %s", (run_id,)).fetchone()
            if state and state[0] in ("success", "failed"):
                break
            if time.perf_counter() - said >= 30:
                said = time.perf_counter()
                print(f"  {said - t0:7.0f} s: {done[0]} of {done[1]} task instances done", flush=True)
            time.sleep(2)
        result["wall_seconds"] = time.perf_counter() - t0
        result["state"] = state and state[0]
        result["tasks"] = task_stats(meta, run_id)
    finally:
        for proc in procs:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for proc in procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        with psycopg.connect(warehouse) as c:
            result["ledger"] = dict(c.execute(
                "SELECT status, count(*) FROM ops.submission_current GROUP BY 1").fetchall())
            result["rows_received"], result["rows_loaded"], result["rows_quarantined"] = c.execute(
                "SELECT sum(rows_received), sum(rows_loaded), sum(rows_quarantined) "
                "FROM ops.submission_current").fetchone()
        if not a.keep:
            drop_db(admin, names["warehouse"])
            drop_db(admin, names["meta"])
    print(json.dumps(result, indent=1, default=str))
    if a.json:
        a.json.write_text(json.dumps(result, indent=1, default=str))
    return 0 if result.get("state") == "success" else 1


if __name__ == "__main__":
    raise SystemExit(main())
