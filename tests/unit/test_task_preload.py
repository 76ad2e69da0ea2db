"""Workers preload Great Expectations and the package before they fork task instances (supervision.task_preload),
through Airflow's and Celery's own settings; the preload itself opens nothing a forked child would inherit.

That a real scheduler's and real Celery workers' task instances start preloaded is checked in their task logs:
tests/integration/test_benchmarks.py (LocalExecutor) and tests/stack/test_celery_stack.py (Celery).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import yaml

from supervision import airflow_env

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys, threading
before = set(os.listdir('/proc/self/fd'))
import supervision.task_preload
after = set(os.listdir('/proc/self/fd'))
print(json.dumps({"threads": [t.name for t in threading.enumerate()], "new_fds": sorted(after - before),
                  "fd_targets": [os.readlink('/proc/self/fd/' + f) for f in sorted(after - before)
                                 if os.path.exists('/proc/self/fd/' + f)],
                  "gx": "great_expectations" in sys.modules, "scipy": "scipy.stats" in sys.modules,
                  "nightly": "supervision.nightly" in sys.modules}))
"""


def test_the_preload_imports_gx_and_the_package_and_leaves_nothing_open():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=300)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["gx"] and got["scipy"] and got["nightly"]
    assert got["threads"] == ["MainThread"]  # a thread does not survive a fork: none may be started here
    # no socket, pipe or file left open for every forked task to share (the interpreter's own reads are closed)
    assert not [t for t in got["fd_targets"] if t.startswith(("socket:", "pipe:", "anon_inode:")) or "/" in t], got


def test_airflow_env_makes_the_local_executor_fork_from_a_preloaded_fork_server():
    env = airflow_env.airflow_env()
    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    modules = env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"].split(",")
    assert "supervision.task_preload" in modules and "airflow.executors.local_executor" in modules
    for m in modules:  # multiprocessing ignores a preload module that fails to import: it must not fail silently
        importlib.import_module(m)


def test_airflow_env_keeps_an_operators_own_choice(monkeypatch):
    monkeypatch.setenv("AIRFLOW__SCHEDULER__MP_START_METHOD", "fork")
    monkeypatch.setenv("AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS", "my.celery.CONFIG")
    env = airflow_env.airflow_env()
    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "fork"
    assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "my.celery.CONFIG"


def test_celery_workers_import_the_preload_and_keep_airflows_defaults():
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    from supervision.celery_config import CELERY_CONFIG

    assert "supervision.task_preload" in CELERY_CONFIG["imports"]
    assert {k: v for k, v in CELERY_CONFIG.items() if k != "imports"} == \
        {k: v for k, v in DEFAULT_CELERY_CONFIG.items() if k != "imports"}
    module, _, name = airflow_env.airflow_env()["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"].rpartition(".")
    assert getattr(importlib.import_module(module), name) is CELERY_CONFIG


def test_the_compose_stack_preloads_the_same_way():
    env = yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))["x-airflow-common"]["environment"]
    assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == airflow_env.CELERY_CONFIG
    assert env["AIRFLOW__SCHEDULER__MP_START_METHOD"] == "forkserver"
    assert env["AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD"] == airflow_env.TASK_PRELOAD
