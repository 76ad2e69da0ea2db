"""Resources in one place: which warehouse, lake, Great Expectations project and PII key this process uses, and
every ``SUPERVISION_*`` environment variable, typed, with its default and meaning (docs/configuration.md is
generated from :class:`Variables`: ``python -m supervision.resources``).

Environments (:func:`environment`; ``SUPERVISION_ENVIRONMENT`` forces one):

* ``embedded``   a fresh machine: no warehouse configured, the embedded PostgreSQL server under ``data/pg``;
  lake, GX project and a generated PII key under ``data/``.
* ``local``      a developer's own server: ``SUPERVISION_WAREHOUSE_URL`` (or ``warehouse_url`` in
  data/settings.json).
* ``compose``    the stack of docker-compose.yaml: the Airflow connection ``AIRFLOW_CONN_SUPERVISION_WAREHOUSE``,
  lake and drop folder on volumes, the PII key from the environment.
* ``production`` as compose, but only when said so (``SUPERVISION_ENVIRONMENT=production``): a warehouse must
  be configured (never the embedded fallback) and the PII key must come from the secret store.

Other modules ask this module (``resources.variables().batch_rows``, :func:`lake_root`, :func:`warehouse_url`,
:func:`pii_key`); none reads ``os.environ`` for a ``SUPERVISION_*`` name itself (tests/unit/test_resources.py).
Values are read at each call (tests and the CLI change the environment), cached per environment snapshot.

Warehouse connections: :func:`connect` (re-exported by ``supervision.warehouse.connection``) opens a fresh
psycopg connection, or, inside :func:`pooled` (long-lived processes: the nightly shard task, the monitor, the
portal), borrows one from a per-process, per-URL ``psycopg_pool.ConnectionPool``; either way it is a psycopg
connection usable as a context manager (``with connect() as conn``), returned to the pool on exit or ``close()``.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from supervision.errors import DeterministicError

log = logging.getLogger(__name__)

Environment = Literal["embedded", "local", "compose", "production"]
KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


class ConfigurationError(DeterministicError, ValueError):
    """A ``SUPERVISION_*`` variable holds a value of the wrong type, or the environment lacks a resource."""


def _var(name: str, default, meaning: str, **kw):
    # the full name spelled out, so that grep finds each variable here
    return Field(default, alias=name, description=meaning, **kw)


class Variables(BaseModel):
    """Every ``SUPERVISION_*`` variable (its full name is the alias of its field) and the two Airflow names we read.
    An empty variable counts as unset."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=False)

    # --- environment and locations
    environment: Environment | None = _var("SUPERVISION_ENVIRONMENT", None,
        "force the environment (embedded, local, compose, production); default: derived from the warehouse "
        "settings")
    data_dir: Path | None = _var("SUPERVISION_DATA_DIR", None,
        "writable data folder: embedded PostgreSQL, lake, GX project, Airflow home (default "
        "<project>/data)")
    registry: Path | None = _var("SUPERVISION_REGISTRY", None,
        "county registry YAML (default data/settings.json, else the Henan registry)")
    drop_root: Path | None = _var("SUPERVISION_DROP_ROOT", None,
        "drop folder of the county files (default data/settings.json, else <data dir>/drop)")
    counties: str | None = _var("SUPERVISION_COUNTIES", None,
        "comma-separated county codes every command covers; 'all' = the registry (default "
        "data/settings.json, else all)")
    lake_root: Path | None = _var("SUPERVISION_LAKE_ROOT", None,
        "raw landing zone (Parquet) (default <data dir>/lake)")
    targets: Path | None = _var("SUPERVISION_TARGETS", None,
        "KPI targets file (default the package's targets.yaml)")
    calendar_overrides: Path | None = _var("SUPERVISION_CALENDAR_OVERRIDES", None,
        "working-day overrides YAML (default the package's calendar_overrides.yaml)")
    # --- warehouse and secrets
    warehouse_url: str | None = _var("SUPERVISION_WAREHOUSE_URL", None,
        "libpq URL of the warehouse (default the Airflow connection, data/settings.json, else the embedded "
        "server)", repr=False)
    airflow_conn: str | None = _var("AIRFLOW_CONN_SUPERVISION_WAREHOUSE", None,
        "the Airflow connection supervision_warehouse (URI or JSON), read when SUPERVISION_WAREHOUSE_URL "
        "is unset", repr=False)
    pii_key: SecretStr | None = _var("SUPERVISION_PII_KEY", None,
        "key of the pseudonyms in the marts (>= 16 bytes; required outside the embedded warehouse)")
    airflow_var_pii_key: SecretStr | None = _var("AIRFLOW_VAR_SUPERVISION_PII_KEY", None,
        "the Airflow Variable supervision_pii_key, read when SUPERVISION_PII_KEY is unset")
    pii_key_file: Path | None = _var("SUPERVISION_PII_KEY_FILE", None,
        "file holding the PII key, read when neither variable is set")
    portal_database_url: str | None = _var("SUPERVISION_PORTAL_DATABASE_URL", None,
        "the portal authenticator's URL (default: set up by the warehouse owner, development only)", repr=False)
    portal_secret: SecretStr | None = _var("SUPERVISION_PORTAL_SECRET", None,
        "signs the portal's cookies (default: random per start)")
    portal_secure_cookies: bool = _var("SUPERVISION_PORTAL_SECURE_COOKIES", False,
        "1 = cookies only over HTTPS (behind the TLS proxy)")
    smtp_url: str | None = _var("SUPERVISION_SMTP_URL", None,
        "Apprise mail URL for e-mail channels; overrides the registry's smtp_url", repr=False)
    engineer_channels: str = _var("SUPERVISION_ENGINEER_CHANNELS", "",
        "extra engineer channels (Apprise URLs), whitespace or comma separated")
    # --- Airflow
    airflow_api_url: str | None = _var("SUPERVISION_AIRFLOW_API_URL", None,
        "a deployment's Airflow API server: `supervision run` triggers there instead of `airflow dags "
        "test`")
    airflow_username: str = _var("SUPERVISION_AIRFLOW_USERNAME", "admin",
        "user of the Airflow API")
    airflow_password: SecretStr | None = _var("SUPERVISION_AIRFLOW_PASSWORD", None,
        "password of that user (required with SUPERVISION_AIRFLOW_API_URL)")
    airflow_host: str = _var("SUPERVISION_AIRFLOW_HOST", "127.0.0.1",
        "address of the local API server and worker log server")
    load_pool: str | None = _var("SUPERVISION_LOAD_POOL", None,
        "Airflow pool capping concurrent warehouse loads across workers (default: none, 2 at a time)")
    retry_delay_seconds: float = _var("SUPERVISION_RETRY_DELAY_SECONDS", 120.0,
        "first retry delay of the nightly's tasks")
    task_hostname: str | None = _var("SUPERVISION_TASK_HOSTNAME", None,
        "host name a worker's task instances record (several workers on one host)")
    # --- pipeline tuning
    lock_wait: float = _var("SUPERVISION_LOCK_WAIT", 3600.0,
        "seconds a run waits for the county lock before failing")
    tmp_stale_seconds: float = _var("SUPERVISION_TMP_STALE_SECONDS", 6 * 3600.0,
        "age after which another host's temporary lake file is removed")
    progress_every: float = _var("SUPERVISION_PROGRESS_EVERY", 15.0,
        "seconds between progress lines of `supervision run`")
    batch_rows: int = _var("SUPERVISION_BATCH_ROWS", 200_000,
        "rows per validation/load batch")
    gx_part_rows: int = _var("SUPERVISION_GX_PART_ROWS", 1_000_000,
        "rows per Great Expectations run (bigger files run in parts)")
    data_docs_index_results: int = _var("SUPERVISION_DATA_DOCS_INDEX_RESULTS", 20_000,
        "validation results listed on the Data Docs index")
    stream_bytes: int = _var("SUPERVISION_STREAM_BYTES", 512 * MiB,
        "files bigger than this are streamed in batches")
    overlap_bytes: int = _var("SUPERVISION_OVERLAP_BYTES", 32 * MiB,
        "files bigger than this read the next batch while one is validated")
    http_max_page_mib: float = _var("SUPERVISION_HTTP_MAX_PAGE_MIB", 32.0,
        "an HTTP API page's body is cut off past this (MiB)", gt=0)
    # --- file limits (sources/limits.py)
    max_csv_bytes: int = _var("SUPERVISION_MAX_CSV_BYTES", 64 * GiB,
        "largest CSV file")
    max_json_bytes: int = _var("SUPERVISION_MAX_JSON_BYTES", 256 * MiB,
        "largest JSON file")
    max_xlsx_bytes: int = _var("SUPERVISION_MAX_XLSX_BYTES", 256 * MiB,
        "largest XLSX file")
    max_parquet_bytes: int = _var("SUPERVISION_MAX_PARQUET_BYTES", 2 * GiB,
        "largest Parquet file, and its columns uncompressed")
    max_columns: int = _var("SUPERVISION_MAX_COLUMNS", 1000,
        "most columns of any file")
    max_header_bytes: int = _var("SUPERVISION_MAX_HEADER_BYTES", 64 * KiB,
        "longest CSV header line")
    max_field_bytes: int = _var("SUPERVISION_MAX_FIELD_BYTES", 1 * MiB,
        "longest cell")
    max_xlsx_cells: int = _var("SUPERVISION_MAX_XLSX_CELLS", 20_000_000,
        "rows x columns the XLSX reader may allocate")
    max_xlsx_unzipped_bytes: int = _var("SUPERVISION_MAX_XLSX_UNZIPPED_BYTES", 2 * GiB,
        "an XLSX's parts uncompressed (zip bomb)")
    xlsx_memory_bytes: int = _var("SUPERVISION_XLSX_MEMORY_BYTES", 6 * GiB,
        "address space of the XLSX reader's child process")
    xlsx_timeout_seconds: float = _var("SUPERVISION_XLSX_TIMEOUT_SECONDS", 900.0,
        "time limit of one workbook in the XLSX reader's child process")
    # --- diagnostics
    debug: bool = _var("SUPERVISION_DEBUG", False,
        "1 = the CLI prints tracebacks")

    @classmethod
    def names(cls) -> dict[str, str]:
        """Environment name -> field name."""
        return {f.alias: name for name, f in cls.model_fields.items()}


def _snapshot() -> tuple[tuple[str, str], ...]:
    names = _NAMES
    return tuple(sorted((k, v) for k, v in os.environ.items() if k in names and v != ""))


@lru_cache(maxsize=16)
def _parse(snapshot: tuple[tuple[str, str], ...]) -> Variables:
    try:
        return Variables.model_validate(dict(snapshot))
    except ValidationError as e:
        problems = "; ".join(f"{err['loc'][0]}={dict(snapshot).get(err['loc'][0])!r}: {err['msg']}"
                             for err in e.errors())
        raise ConfigurationError(f"invalid environment variable(s): {problems}") from None


def variables() -> Variables:
    """The ``SUPERVISION_*`` variables of this process as they are now (typed; defaults filled in)."""
    return _parse(_snapshot())


_NAMES = frozenset(Variables.names())


# --- locations -----------------------------------------------------------------------------------------------


def _project_root() -> Path:
    from supervision import settings

    return settings.PROJECT_ROOT


def data_dir() -> Path:
    """The project's writable data folder (embedded PostgreSQL, lake, drops, GX project, Airflow home)."""
    return Path(variables().data_dir or _project_root() / "data").resolve()


def _remembered(key: str):
    from supervision import project_settings

    return project_settings.get(key)


def registry_path() -> Path:
    """SUPERVISION_REGISTRY, else the project settings file, else the Henan registry."""
    from supervision import settings

    return Path(variables().registry or _remembered("registry") or settings.DEFAULT_REGISTRY).resolve()


def drop_root() -> Path:
    """SUPERVISION_DROP_ROOT, else the project settings file, else <data dir>/drop."""
    return Path(variables().drop_root or _remembered("drop_root") or data_dir() / "drop").resolve()


def default_counties() -> list[str] | None:
    """SUPERVISION_COUNTIES ('all' = None), else the project settings file, else None (every county)."""
    raw = variables().counties
    if raw:
        codes = [c.strip() for c in raw.split(",") if c.strip()]
        return None if codes in ([], ["all"]) else codes
    value = _remembered("counties")
    return list(value) if value else None


def lake_root() -> Path:
    """Immutable raw landing zone (Parquet), partitioned by record type, business date and county."""
    return Path(variables().lake_root or data_dir() / "lake").resolve()


def gx_project_root() -> Path:
    """The Great Expectations project root: GX keeps suites, results and Data Docs in <root>/gx/."""
    return data_dir()


# --- environment and warehouse -------------------------------------------------------------------------------


def configured_warehouse_url() -> str | None:
    """The warehouse URL the environment gives (ours, then Airflow's connection, then data/settings.json), or
    None: the embedded server. In production, None is an error."""
    v = variables()
    if v.warehouse_url:
        return v.warehouse_url
    if v.airflow_conn:
        from supervision.warehouse.connection import airflow_conn_to_url

        return airflow_conn_to_url(v.airflow_conn)
    if url := _remembered("warehouse_url"):  # what the demo used, when it was given one
        return url
    if v.environment == "production":
        raise ConfigurationError("SUPERVISION_ENVIRONMENT=production but no warehouse is configured: set "
                                 "AIRFLOW_CONN_SUPERVISION_WAREHOUSE or SUPERVISION_WAREHOUSE_URL")
    return None


def environment() -> Environment:
    """Where this process runs (see the module docstring)."""
    v = variables()
    if v.environment:
        return v.environment
    if v.warehouse_url:
        return "local"
    if v.airflow_conn:
        return "compose"
    return "local" if _remembered("warehouse_url") else "embedded"


def warehouse_url() -> str:
    """The libpq URL of the warehouse: the configured one, else the embedded server (started when needed)."""
    from supervision.warehouse.connection import start_embedded

    return configured_warehouse_url() or start_embedded(keep_running=False)


# --- PII key -------------------------------------------------------------------------------------------------


def pii_key_material(*, embedded: bool | None = None) -> tuple[bytes, str]:
    """(raw key, where it came from): SUPERVISION_PII_KEY, AIRFLOW_VAR_SUPERVISION_PII_KEY, the file
    SUPERVISION_PII_KEY_FILE, else, for the embedded development warehouse only, <data dir>/secrets/pii_key
    (generated on first use, mode 0600). Raises marts.pii.PiiKeyError when a configured warehouse has no key."""
    import secrets as _secrets

    from supervision.marts.pii import PiiKeyError

    v = variables()
    if v.pii_key:
        return v.pii_key.get_secret_value().encode("utf-8"), "env SUPERVISION_PII_KEY"
    if v.airflow_var_pii_key:
        return v.airflow_var_pii_key.get_secret_value().encode("utf-8"), "env AIRFLOW_VAR_SUPERVISION_PII_KEY"
    if v.pii_key_file:
        p = v.pii_key_file
        if not p.is_file():
            raise PiiKeyError(f"SUPERVISION_PII_KEY_FILE={p}: no such file")
        return p.read_bytes(), f"file {p}"
    if embedded is None:
        embedded = configured_warehouse_url() is None
    if not embedded:
        raise PiiKeyError("no PII key: set SUPERVISION_PII_KEY (or the Airflow Variable supervision_pii_key, or "
                          "SUPERVISION_PII_KEY_FILE) from the secret store; the marts never use a default key")
    p = data_dir() / "secrets" / "pii_key"
    if not p.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
        p.parent.chmod(0o700)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(_secrets.token_hex(32) + "\n")
    return p.read_bytes(), f"file {p} (embedded development warehouse)"


def pii_key(*, embedded: bool | None = None):
    """The checked pseudonymization key (``marts.pii.PiiKey``)."""
    from supervision.marts.pii import load_key

    return load_key(embedded=embedded)


# --- warehouse connections: fresh, or pooled per process and URL ----------------------------------------------

POOL_MAX_SIZE = 16  # nested connections of one file (locks, ledger, loader thread) stay far below this
POOL_WAIT = 5.0  # a borrower waiting longer opens a fresh connection instead (never a deadlock of nested borrows)
POOL_MAX_IDLE = 60.0
_pool_lock = threading.Lock()
_pools: dict[tuple[int, str, str], object] = {}  # (pid, url, application_name) -> ConnectionPool
_pooling: dict[int, int] = {}  # pid -> depth of pooled() scopes


def _forget_after_fork() -> None:
    # A child must never use (or close: that would end the parent's sessions) the parent's sockets.
    global _pool_lock
    _pool_lock = threading.Lock()
    _pools.clear()
    _pooling.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def pooling() -> bool:
    """True inside :func:`pooled` in this process."""
    return _pooling.get(os.getpid(), 0) > 0


@contextmanager
def pooled() -> Iterator[None]:
    """Within this scope, :func:`connect` borrows from per-URL pools; when the outermost scope ends, this process's
    pools are closed (so a test database can be dropped afterwards and no idle session outlives the task)."""
    pid = os.getpid()
    with _pool_lock:
        _pooling[pid] = _pooling.get(pid, 0) + 1
    try:
        yield
    finally:
        with _pool_lock:
            _pooling[pid] -= 1
            last = _pooling[pid] == 0
        if last:
            close_pools()


def close_pools() -> None:
    pid = os.getpid()
    with _pool_lock:
        mine = [k for k in _pools if k[0] == pid]
        pools = [_pools.pop(k) for k in mine]
    for p in pools:
        p.close()


atexit.register(close_pools)


# DISCARD ALL without its DEALLOCATE ALL: psycopg's cache of prepared statements stays true (it does not always
# notice a DISCARD ALL) and keeps its worth across borrowers.
_RESET_SQL = ("CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); "
              "DISCARD PLANS; DISCARD TEMP; DISCARD SEQUENCES")


@lru_cache(maxsize=1)
def _connection_class():
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.rows import tuple_row

    class PooledConnection(psycopg.Connection):
        """``with conn:`` commits (or rolls back) and gives the connection back to its pool; so does ``close()``.

        Reset here, before it goes back, rather than by the pool's ``reset`` callback: the pool runs that in a
        worker thread, and the next borrower (the next file, at once) would find the pool empty and open a new
        session. A borrowed connection is as fresh as a new one: session settings (application_name too),
        session advisory locks, temporary tables, cursors and listeners are gone."""

        def __exit__(self, exc_type, exc_val, exc_tb):
            super().__exit__(exc_type, exc_val, exc_tb)
            self.close()

        def close(self) -> None:
            if getattr(self, "_pool", None) is not None and not self.closed and not self.broken:
                try:
                    if self.info.transaction_status != TransactionStatus.IDLE:
                        self.rollback()
                    self.autocommit = True
                    self.execute(_RESET_SQL, prepare=False)
                    self.row_factory = tuple_row
                except psycopg.Error as e:
                    log.warning("discarding a pooled warehouse connection that could not be reset: %s", e)
                    self.pgconn.finish()  # the pool sees a bad connection and replaces it
            super().close()  # close_returns=True: back to the pool

    return PooledConnection


def make_pool(url: str, *, application_name: str = "supervision", max_size: int | None = None):
    """A ``psycopg_pool.ConnectionPool`` as every pool here is made: opened lazily (no connection until the first
    borrow), each connection checked when borrowed and reset when given back (:func:`_connection_class`), idle
    ones closed. The caller owns it (close it; never use it in a forked child)."""
    from psycopg_pool import ConnectionPool

    return ConnectionPool(url, connection_class=_connection_class(), kwargs={"application_name": application_name},
                          min_size=0, max_size=max_size or POOL_MAX_SIZE, max_idle=POOL_MAX_IDLE, close_returns=True,
                          check=ConnectionPool.check_connection, open=True, name=f"{application_name}-{os.getpid()}")


def _pool(url: str, application_name: str):
    key = (os.getpid(), url, application_name)
    with _pool_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = make_pool(url, application_name=application_name)
    return pool


def connect(url: str | None = None, **kw):
    """A psycopg connection to the warehouse (``url`` defaults to :func:`warehouse_url`): from this process's
    pool inside :func:`pooled` (when only ``autocommit``/``application_name`` are given), else a fresh one."""
    import psycopg

    kw.setdefault("application_name", "supervision")
    url = url or warehouse_url()
    if pooling() and set(kw) <= {"autocommit", "application_name"}:
        from psycopg_pool import PoolTimeout

        try:
            conn = _pool(url, kw["application_name"]).getconn(timeout=POOL_WAIT)
        except PoolTimeout:
            log.warning("warehouse pool exhausted (%d connections out): opening a fresh connection", POOL_MAX_SIZE)
        else:
            conn.autocommit = bool(kw.get("autocommit", False))
            return conn
    return psycopg.connect(url, **kw)


def _size(n: int) -> str:
    unit, size = next((u, z) for u, z in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB), ("B", 1)) if n >= z)
    return f"{n / size:g} {unit}"


def _type_name(t) -> str:
    import typing

    args = [a for a in typing.get_args(t) if a is not type(None)]
    if typing.get_origin(t) is Literal:
        return " / ".join(args)
    if args:
        return _type_name(args[0])
    return {"SecretStr": "secret", "Path": "path", "str": "text", "int": "integer", "float": "number",
            "bool": "0/1"}.get(t.__name__, t.__name__)


def _markdown_table() -> str:
    """The table of docs/configuration.md."""
    rows = ["| Variable | Type | Default | Meaning |", "|---|---|---|---|"]
    for name, f in Variables.model_fields.items():
        tname = _type_name(f.annotation)
        d = f.default
        default = ("" if d in (None, "") else "0" if d is False else f"{d:g}" if isinstance(d, float)
                   else (f"{d:,} ({_size(d)})" if name.endswith("bytes") else f"{d:,}") if isinstance(d, int)
                   else str(d))
        rows.append(f"| `{f.alias}` | {tname} | {default} | {f.description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(_markdown_table(), end="")
