"""A CeleryExecutor stack from processes on this machine (the topology of docker-compose.yaml without Docker):
Airflow's metadata in a throw-away database of a PostgreSQL server, Redis as Celery broker (a dedicated db number
and a queue of this stack's own, so parallel stacks never take each other's tasks), the api-server on a free
loopback port, the scheduler, the dag-processor, the triggerer and N Celery workers with distinct host names. Used by
tests/stack and by ``python -m supervision_dev.bench_celery``. ``down()`` stops every process tree and drops the
metadata database.
"""

from __future__ import annotations

import json
import secrets
import signal
import socket
import subprocess
import time
from pathlib import Path

import psutil
import psycopg
from psycopg import sql

from supervision.airflow_api import AirflowApi

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"  # the local server, trust auth
REDIS = ("127.0.0.1", 6379)
REDIS_DB = 11  # the process stacks' own Redis database; each stack's queue name is unique
POOL = "warehouse_loads"


def local_reachable(admin_url: str = LOCAL_ADMIN_URL) -> bool:
    try:
        with psycopg.connect(admin_url, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def admin_execute(statement: sql.Composable, admin_url: str = LOCAL_ADMIN_URL) -> None:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(statement)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def kill_tree(proc: subprocess.Popen | psutil.Process, sig: int = signal.SIGKILL) -> None:
    """Signal a process and every descendant (a Celery worker's pool children and their task processes)."""
    try:
        root = psutil.Process(proc.pid)
        family = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for p in family:
        try:
            p.send_signal(sig)
        except psutil.NoSuchProcess:
            pass


class Stack:
    def __init__(self, root: Path, warehouse_url: str, workers: int = 2, concurrency: int = 2, pool_slots: int = 2,
                 heartbeat_timeout: int = 30, admin_url: str = LOCAL_ADMIN_URL, extra_env: dict | None = None):
        self.root = root
        self.workers, self.concurrency, self.pool_slots = workers, concurrency, pool_slots
        self.admin_url = admin_url
        self.killed: set[str] = set()
        self.port = _free_port()
        self.tag = secrets.token_hex(4)
        self.queue = f"supervision_stack_{self.tag}"
        self.meta_name = f"airflow_stack_{self.tag}"
        self.meta_url = admin_url.rsplit("/", 1)[0] + "/" + self.meta_name
        self.password = secrets.token_urlsafe(12)
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        home = root / "airflow"
        home.mkdir(exist_ok=True)
        (home / "passwords.json").write_text(json.dumps({"admin": self.password}))
        from supervision.airflow_env import airflow_env

        pg = self.meta_url.replace("postgresql://", "")
        self.env = airflow_env({
            "AIRFLOW_HOME": str(home),
            # task logs under this stack's home (airflow_env's default is the project's data/airflow/logs)
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"postgresql+psycopg://{pg}",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": f"postgresql+psycopg_async://{pg}",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": f"redis://{REDIS[0]}:{REDIS[1]}/{REDIS_DB}",
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+postgresql+psycopg://{pg}",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__CORE__PARALLELISM": "8",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "8",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{self.port}",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(16),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(home / "passwords.json"),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            # a dead worker's task instance is failed (then retried elsewhere) after 30 s instead of 5 min
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": str(heartbeat_timeout),
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "90",
            # Airflow's default, as in docker-compose.yaml: a task log's file keeps only what passes this level
            # (the worker's supervisor filters what the task sends), so WARNING would leave them empty
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "SUPERVISION_LOAD_POOL": POOL,
            "SUPERVISION_RETRY_DELAY_SECONDS": "2",
            "SUPERVISION_WAREHOUSE_URL": warehouse_url,
            "SUPERVISION_DATA_DIR": str(root / "data"),
            **(extra_env or {}),
        })
        self.api = AirflowApi(f"http://127.0.0.1:{self.port}", "admin", self.password)

    def airflow(self, *args: str, **kw) -> subprocess.CompletedProcess:
        from supervision.airflow_env import airflow_bin

        return subprocess.run([airflow_bin(), *args], env=self.env, check=True, capture_output=True, text=True, **kw)

    def start(self, name: str, *args: str, env: dict | None = None) -> subprocess.Popen:
        from supervision.airflow_env import airflow_bin

        out = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed when the process ends
        self.procs[name] = subprocess.Popen([airflow_bin(), *args], env={**self.env, **(env or {})}, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        return self.procs[name]

    def worker_name(self, n: int) -> str:
        return f"w{n}.stack-{self.tag}"

    def start_worker(self, n: int) -> subprocess.Popen:
        # distinct Celery node names, and the host name each one's task instances record
        return self.start(f"worker{n}", "celery", "worker", "--celery-hostname", f"w{n}@stack-{self.tag}",
                          "--queues", self.queue, "--concurrency", str(self.concurrency), "--skip-serve-logs",
                          env={"SUPERVISION_TASK_HOSTNAME": self.worker_name(n)})

    def up(self) -> None:
        admin_execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.meta_name)), self.admin_url)
        self.airflow("db", "migrate", timeout=300)
        self.airflow("pools", "set", POOL, str(self.pool_slots), "concurrent warehouse loads")
        self.start("api-server", "api-server", "--host", "127.0.0.1", "--port", str(self.port))
        self.start("scheduler", "scheduler", "--skip-serve-logs")
        self.start("dag-processor", "dag-processor")
        self.start("triggerer", "triggerer", "--skip-serve-logs")
        for n in range(1, self.workers + 1):
            self.start_worker(n)
        self.wait_for(self._dag_parsed, 240, "the api-server and the DAG processor")
        self.api.unpause("supervision_nightly")

    def _dag_parsed(self) -> bool:
        try:
            return self.api.dag("supervision_nightly")["dag_id"] == "supervision_nightly"
        except Exception:
            return False

    def wait_for(self, check, seconds: float, what: str):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            dead = [n for n, p in self.procs.items() if p.poll() is not None and n in self.expected_alive]
            assert not dead, f"{dead} died: see {self.logs}"
            value = check()
            if value:
                return value
            time.sleep(1)
        raise AssertionError(f"{what} not ready after {seconds:.0f} s: see {self.logs}")

    @property
    def expected_alive(self) -> set[str]:
        return set(self.procs) - self.killed

    def down(self) -> None:
        for p in self.procs.values():
            kill_tree(p, signal.SIGTERM)
        end = time.monotonic() + 20
        for p in self.procs.values():
            try:
                p.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            kill_tree(p, signal.SIGKILL)
            p.wait()
        self._forget_queue()
        admin_execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.meta_name)),
                      self.admin_url)

    def _forget_queue(self) -> None:
        """Delete this run's queue from the shared Redis (the other keys of its db belong to other runs)."""
        try:
            import redis

            r = redis.Redis(host=REDIS[0], port=REDIS[1], db=REDIS_DB)
            r.delete(self.queue)
            for key in r.scan_iter(f"*{self.queue}*"):
                r.delete(key)
            # a killed worker's unacknowledged message would be re-delivered to the (gone) queue hours later
            for tag, message in r.hscan_iter("unacked"):
                if self.queue.encode() in message:
                    r.hdel("unacked", tag)
                    r.zrem("unacked_index", tag)
        except Exception:  # cleanup is best effort; the queue name is never used again
            pass
