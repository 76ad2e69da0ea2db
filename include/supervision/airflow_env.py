"""The Airflow set-up the CLI uses: a project-local AIRFLOW_HOME, the project's DAGs and plugins.

Nothing here imports Airflow at module level: it builds the environment for `airflow ...` subprocesses and runs
the UI's processes (`supervision ui`).

- PATH starts with the venv's bin folder, so every `airflow` Airflow itself spawns is this venv's (`make ui`
  works without activating anything).
- Task logs: the project's loggers (`supervision.*`) at INFO in every task log, Airflow's own at
  AIRFLOW__LOGGING__LOGGING_LEVEL (WARNING for CLI runs, INFO in the UI). One log folder, AIRFLOW_HOME/logs, for
  scheduler runs and CLI runs (supervision.airflow_dagtest writes a CLI run's task logs there), so the UI
  reads both.
- Network: the API server and the worker log server listen on SUPERVISION_AIRFLOW_HOST (default 127.0.0.1,
  this machine only); task instances record a host name the API server can reach the log server at.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from supervision import resources, settings

LOOPBACK = ("127.0.0.1", "localhost", "::1")
HOST_ENV = "SUPERVISION_AIRFLOW_HOST"
LOG_SERVER_PORT = 8793  # Airflow's default [logging] worker_log_server_port
# Deployment knobs the nightly DAG reads at parse time (docs/deployment.md):
LOAD_POOL_ENV = "SUPERVISION_LOAD_POOL"  # an Airflow pool capping concurrent warehouse loads across all workers
RETRY_DELAY_ENV = "SUPERVISION_RETRY_DELAY_SECONDS"  # first retry delay of the nightly's tasks (default 120)
TASK_HOSTNAME_ENV = "SUPERVISION_TASK_HOSTNAME"  # the name a worker's task instances record (several on one host)
# What the LocalExecutor's fork server imports before it forks the executor's workers (supervision.task_preload)
TASK_PRELOAD = "airflow,airflow.executors.local_executor,supervision.task_preload"
CELERY_CONFIG = "supervision.celery_config.CELERY_CONFIG"  # Airflow's Celery defaults + the same preload


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", settings.data_dir() / "airflow")).resolve()


def venv_bin() -> Path:
    return Path(sys.executable).parent


def task_hostname() -> str:
    """[core] hostname_callable: where the API server finds the log server of the machine a task ran on."""
    v = resources.variables()
    if v.task_hostname:
        return v.task_hostname
    return "127.0.0.1" if v.airflow_host in LOOPBACK else socket.getfqdn()


def load_pool() -> str | None:
    """The pool of load_shard on a deployment (None: no pool; at most 2 loads at a time, this machine's cores)."""
    return resources.variables().load_pool


def retry_delay_seconds() -> float:
    return resources.variables().retry_delay_seconds


def airflow_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    home = airflow_home()
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        # `airflow standalone`, the scheduler's executor, `dags test` ... spawn `airflow` from PATH: this venv's.
        "PATH": os.pathsep.join([str(venv_bin()), *[p for p in env.get("PATH", "").split(os.pathsep)
                                                    if p and p != str(venv_bin())]]),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": settings.TIMEZONE,
        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "supervision.airflow_env.task_hostname",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                                                       f"sqlite:///{home / 'airflow.db'}"),
        "AIRFLOW__CORE__EXECUTOR": env.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": env.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER", str(home / "logs")),
        # Airflow's own chatter stays at WARNING on the console of CLI runs; the project's loggers are at INFO
        # in every task log (namespace_levels for scheduler-run tasks, supervision.airflow_dagtest for CLI runs).
        "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": env.get("AIRFLOW__LOGGING__NAMESPACE_LEVELS", "supervision=INFO"),
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": env.get("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
                                                            str(LOG_SERVER_PORT)),
        # Task instances fork from workers that have imported Great Expectations and the package once
        # (supervision.task_preload): the LocalExecutor's workers come from a preloaded fork server, Celery
        # workers import it before forking their pool. Without it each load_shard spends ~4.5 s importing.
        "AIRFLOW__SCHEDULER__MP_START_METHOD": env.get("AIRFLOW__SCHEDULER__MP_START_METHOD", "forkserver"),
        "AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD": env.get("AIRFLOW__SCHEDULER__MP_FORKSERVER_PRELOAD",
                                                             TASK_PRELOAD),
        "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": env.get("AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS", CELERY_CONFIG),
        "SUPERVISION_DATA_DIR": str(settings.data_dir()),
        "NO_COLOR": "1",
        "PYTHONWARNINGS": env.get("PYTHONWARNINGS", "ignore"),
    })
    env.update(extra or {})
    return env


def airflow_bin() -> str:
    exe = venv_bin() / "airflow"
    return str(exe) if exe.exists() else (shutil.which("airflow") or "airflow")


def ensure_metadata_db(env: dict[str, str]) -> None:
    """`airflow db migrate` once per AIRFLOW_HOME (it is slow; the marker keeps re-runs fast)."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".migrated"
    if marker.exists():
        return
    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    marker.touch()


def ui_commands(host: str, port: int) -> dict[str, list[str]]:
    """The UI's processes. Not `airflow standalone`: its scheduler starts the log server on every interface
    (hard-coded in Airflow 3.3); ours listens on ``host`` only, like the API server."""
    airflow = airflow_bin()
    return {
        "api-server": [airflow, "api-server", "--host", host, "--port", str(port)],
        "scheduler": [airflow, "scheduler", "--skip-serve-logs"],
        "dag-processor": [airflow, "dag-processor"],
        "triggerer": [airflow, "triggerer", "--skip-serve-logs"],
        "log-server": [sys.executable, "-m", "uvicorn", "--factory", "airflow.utils.serve_logs.log_server:get_app",
                       "--host", host, "--port", os.environ.get("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT",
                                                                str(LOG_SERVER_PORT)),
                       "--no-access-log", "--log-level", "warning"],
    }


def ui_env(host: str, port: int) -> dict[str, str]:
    os.environ[HOST_ENV] = host  # task_hostname() in the processes started below reads it
    return airflow_env({
        HOST_ENV: host,
        "AIRFLOW__API__HOST": host,
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": f"http://{_url_host(host)}:{port}",
        # Workers (LocalExecutor) reach the execution API on this machine, whatever the UI's address.
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{_url_host(host, local=True)}:{port}/execution/",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": os.environ.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "INFO"),
    })


def _url_host(host: str, local: bool = False) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1" if local else socket.getfqdn()
    return f"[{host}]" if ":" in host else host


def start_ui(host: str = "127.0.0.1", port: int = 8080, log_dir: Path | None = None) -> dict[str, subprocess.Popen]:
    """Start the UI's processes (each in its own process group, output in ``log_dir``/<name>.log)."""
    env = ui_env(host, port)
    ensure_metadata_db(env)
    log_dir = log_dir or Path(env["AIRFLOW_HOME"]) / "logs" / "ui"
    log_dir.mkdir(parents=True, exist_ok=True)
    procs = {}
    for name, cmd in ui_commands(host, port).items():
        with open(log_dir / f"{name}.log", "ab") as out:
            procs[name] = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT,
                                           start_new_session=True)
    return procs


def stop_ui(procs: dict[str, subprocess.Popen], timeout: float = 20) -> None:
    for p in procs.values():
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs.values():
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def wait_for_api(host: str, port: int, procs: dict[str, subprocess.Popen], timeout: float = 180) -> bool:
    url = f"http://{_url_host(host, local=True)}:{port}/api/v2/monitor/health"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if procs["api-server"].poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=5) as r:  # noqa: S310 - our own local server
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(1)
    return False


def run_ui(host: str = "127.0.0.1", port: int = 8080) -> int:
    """`supervision ui`: start, say where to look, keep running until Ctrl-C (or a process dies)."""
    home = airflow_home()
    log_dir = home / "logs" / "ui"
    print(f"starting Airflow (API server, scheduler, DAG processor, triggerer, log server) on {host}; "
          f"their output: {log_dir}/<name>.log")
    procs = start_ui(host, port, log_dir)
    try:
        if not wait_for_api(host, port, procs):
            print(f"the API server did not come up: see {log_dir}/api-server.log", file=sys.stderr)
            return 1
        print(f"Airflow UI: http://{_url_host(host)}:{port}  (user admin; password in "
              f"{home}/simple_auth_manager_passwords.json.generated)\n"
              f"  listening on {host} only" + (" (this machine; `supervision ui --host 0.0.0.0` to open it to the "
                                               "network)" if host in LOOPBACK else "") + "\n"
              "  times: the UI shows the browser's time zone (Asia/Shanghai on a machine set to China time; "
              "change it in the UI's user menu, Timezone); DAG schedules are Asia/Shanghai\n"
              "  runs are named by business date: scheduled__<date>__..., manual__<date>__... (supervision run)\n"
              "  DAGs start paused: unpausing does not back-fill missed nights (README, Operations). Ctrl-C stops.")
        while True:
            dead = [n for n, p in procs.items() if p.poll() is not None]
            if dead:
                print(f"{', '.join(dead)} stopped: see {log_dir}/<name>.log; stopping the others", file=sys.stderr)
                return 1
            time.sleep(2)
    except KeyboardInterrupt:
        return 0
    finally:
        stop_ui(procs)
