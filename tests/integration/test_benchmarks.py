"""The benchmark scripts really run, at small sizes: `make bench`, the incremental-cost bench and the national
night under Airflow's LocalExecutor (api-server, scheduler, dag-processor, parallel mapped tasks).

Behaviour only (every phase ran, rows reconcile, the run succeeded), never timings.
"""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = [pytest.mark.integration]


def _admin(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/postgres"))


def _run(module: str, *args: str, timeout: float) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{module} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_make_bench_measures_every_phase_on_the_same_rows(warehouse_url, tmp_path: Path):
    out = tmp_path / "bench.json"
    proc = _run("supervision_dev.bench", "--rows", "3000", "--root", str(tmp_path), "--url", _admin(warehouse_url),
                "--json", str(out), timeout=600)
    res = json.loads(out.read_text())["results"]
    assert set(res) == {"ours", "floor", "dlt", "baseline", "ceiling"}
    ours = res["ours"]
    assert ours["rows"] == res["baseline"]["rows"] == res["ceiling"]["rows"] == res["dlt"]["rows"] == 3000
    # dlt merged into a table keyed like core's: the loader a user would pick, on the same terms
    assert res["dlt"]["keys"] == ["PRIMARY KEY (county_code, record_id)"]
    assert {"extract", "normalize", "load"} <= set(res["dlt"]["stages"])
    assert ours["loaded"] + ours["quarantined"] == 3000 and ours["quarantined"] == 15  # one row in 200
    assert res["floor"]["rows"] == ours["loaded"]
    assert {"read_file", "check_batch", "gx_check"} <= set(ours["stages"])
    for line in ("ours / baseline =", "ours / ceiling  =", "ours / floor    =", "ours / dlt      =", "end to end:"):
        assert line in proc.stdout


def test_incremental_bench_loads_the_same_night_against_1x_and_10x_history(warehouse_url, tmp_path: Path):
    out = tmp_path / "incremental.json"
    _run("supervision_dev.bench_incremental", "--history", "3000", "--scale", "2", "--nights", "2",
         "--root", str(tmp_path), "--url", _admin(warehouse_url), "--json", str(out), timeout=900)
    res = json.loads(out.read_text())
    one, ten = res["1x"], res["10x"]
    assert one["rows"] == ten["rows"] > 0 and one["loaded"] == ten["loaded"]
    h1, h10 = one["history_versions"]["enforcement_case"], ten["history_versions"]["enforcement_case"]
    assert h1 >= 3000 and h10 >= 8 * h1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.airflow
def test_national_sample_runs_under_the_local_executor(warehouse_url, tmp_path: Path):
    """Every 400th county of the national registry, 2 per mapped task, 2 tasks at a time: parallel task
    processes share the GX project (a second set-up once made the first one's suite stale) and the warehouse."""
    out = tmp_path / "national.json"
    _run("supervision_dev.bench_national", "--every", "400", "--scale", "3", "--shard-size", "2",
         "--root", str(tmp_path), "--url", _admin(warehouse_url), "--port", str(_free_port()),
         "--json", str(out), "--timeout", "900", timeout=1200)
    res = json.loads(out.read_text())
    assert res["state"] == "success" and res["counties"] == 8
    tasks = res["tasks"]
    assert tasks["load_shard_tis"] == math.ceil(8 / 2) and tasks["task_instances"] == 4 + 2
    assert tasks["states"] == ["success"] and tasks["retries"] == 0
    assert res["parse"]["errors"] == 0 and "supervision_nightly" in res["parse"]["dags"]
    assert res["ledger"] == {"loaded": 8 * 4}
    assert res["rows_received"] == res["rows_loaded"] + res["rows_quarantined"] == res["rows_simulated"]
    # the scheduler's LocalExecutor forks its workers from a fork server that preloaded supervision.task_preload
    from supervision.nightly import PRELOADED

    logs = [p for p in (tmp_path / "airflow" / "logs").rglob("attempt=*.log") if "task_id=load_shard" in str(p)]
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in logs]
    assert len(logs) == 4 and all("task start-up" in t and PRELOADED in t for t in texts), texts[:1]
