"""Simulated county databases: each county's own tables and column names (its registry ``source``), typed columns.

SQLite files on a fresh machine; a PostgreSQL or MariaDB database where one is available (tests). The schema
follows :class:`supervision.sources.database.DbConfig`: the county's table name per record type and its column
name per contract field, with the types such systems use: DATE, a timestamp (without time zone, local time,
on SQLite and MariaDB; ``timestamptz`` on PostgreSQL), NUMERIC(14,2), BOOLEAN (TINYINT(1) on MariaDB),
VARCHAR. The record id is the primary key.

``down()`` takes the database away the way it happens: a SQLite file that is not there (moved aside), or,
for a server database, connections refused by :class:`OutageProxy`, a loopback TCP relay the pipeline's
connection goes through. ``up()`` brings it back.
"""

from __future__ import annotations

import os
import socket
import threading
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    create_engine,
    delete,
    select,
)
from sqlalchemy.engine import make_url

from supervision.contract import BOOL, DATE, MONEY, RECORD_TYPES, TIMESTAMP, RecordType
from supervision.registry import County
from supervision.sources.common import connection_env
from supervision.sources.database import DbConfig

DB_FAULTS = ("db_down",)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


class OutageProxy:
    """A loopback TCP relay to ``target``: ``down()`` refuses connections (and cuts open ones), ``up()`` listens again."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._server: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    def up(self) -> None:
        if self._server is not None:
            return
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(16)
        self.port = srv.getsockname()[1]
        self._server = srv
        threading.Thread(target=self._accept, args=(srv,), daemon=True, name="outage-proxy").start()

    def down(self) -> None:
        srv, self._server = self._server, None
        if srv is not None:
            _close(srv)  # shutdown wakes the thread blocked in accept(); close alone would leave it listening
        with self._lock:
            for s in list(self._open):
                _close(s)
            self._open.clear()

    close = down

    def _accept(self, srv: socket.socket) -> None:
        while True:
            try:
                client, _ = srv.accept()
            except OSError:
                return  # closed by down()
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                _close(s)
                with self._lock:
                    self._open.discard(s)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


def _column(rt: RecordType, name: str, column: str, aware: bool, backend: str) -> Column:
    f = rt.field(name)
    if f.type == DATE:
        typ = Date()
    elif f.type == TIMESTAMP:
        typ = DateTime(timezone=aware)
    elif f.type == MONEY:
        typ = Numeric(14, 2, asdecimal=True)
    elif f.type == BOOL:
        typ = Boolean(create_constraint=False)
    elif f.max_length and f.max_length > 500 and backend != "postgresql":
        typ = Text()
    else:
        typ = String(f.max_length or 200)
    return Column(column, typ, primary_key=name == "record_id", nullable=name != "record_id")


class CountyDatabase:
    """One county's database, shaped as its registry entry says. ``admin_url`` may write; the pipeline reads
    through :attr:`url` (its Airflow connection), behind an :class:`OutageProxy` for server databases."""

    def __init__(self, county: County, admin_url: str):
        self.county = county
        self.cfg = DbConfig.from_county(county)
        self.tz = ZoneInfo(self.cfg.timezone)
        self.admin_url = admin_url
        u = make_url(admin_url)
        self.backend = u.get_backend_name()
        self.aware = self.backend == "postgresql"  # PostgreSQL counties store timestamptz, others local time
        self.proxy: OutageProxy | None = None
        if self.backend == "sqlite":
            self.path = Path(u.database).resolve()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.url = sqlite_url(self.path)
        else:
            self.path = None
            self.proxy = OutageProxy(u.host or "127.0.0.1", u.port or (5432 if self.backend == "postgresql" else 3306))
            self.url = u.set(host="127.0.0.1", port=self.proxy.port).render_as_string(hide_password=False)
        kw = {"connect_args": {"charset": "utf8mb4"}} if self.backend in ("mysql", "mariadb") else {}
        self.engine = create_engine(u, **kw)
        self.metadata = MetaData(schema=self.cfg.schema)
        self.tables: dict[str, Table] = {}
        for rt in RECORD_TYPES.values():
            spec = self.cfg.tables[rt.name]
            self.tables[rt.name] = Table(
                spec.table, self.metadata,
                *[_column(rt, name, col, self.aware, self.backend) for name, col in spec.columns.items()],
                **({"mysql_charset": "utf8mb4"} if self.backend in ("mysql", "mariadb") else {}))
        self.is_down = False

    def create_schema(self) -> None:
        self.metadata.create_all(self.engine)

    def drop_schema(self) -> None:
        self.metadata.drop_all(self.engine)

    def connection_uri(self) -> str:
        """The Airflow connection (URI form) for the pipeline."""
        return self.url

    def env(self) -> dict[str, str]:
        return {connection_env(self.cfg.conn_id): self.connection_uri()}

    def _db_row(self, rt: RecordType, record: dict) -> dict:
        spec = self.cfg.tables[rt.name]
        row = {}
        for name, col in spec.columns.items():
            v = record.get(name)
            ftype = rt.field(name).type
            if v is None or (isinstance(v, float) and v != v):
                v = None
            elif ftype == DATE:
                v = date.fromisoformat(v)
            elif ftype == TIMESTAMP:
                ts = datetime.fromisoformat(v)
                ts = ts if ts.tzinfo else ts.replace(tzinfo=self.tz)
                v = ts if self.aware else ts.astimezone(self.tz).replace(tzinfo=None)
            elif ftype == MONEY:
                v = Decimal(str(round(float(v), 2)))
            elif ftype == BOOL:
                v = bool(v)
            row[col] = v
        return row

    def upsert(self, record_type: str, records: list[dict]) -> None:
        """Tonight's changes (contract names, logical values): each record replaces its earlier version."""
        rt = RECORD_TYPES[record_type]
        table = self.tables[record_type]
        key = table.c[self.cfg.tables[record_type].columns["record_id"]]
        rows = [self._db_row(rt, r) for r in records]
        with self.engine.begin() as conn:
            ids = [r[key.name] for r in rows]
            for i in range(0, len(ids), 500):
                conn.execute(delete(table).where(key.in_(ids[i:i + 500])))
            if rows:
                conn.execute(table.insert(), rows)

    def current(self, record_type: str) -> dict[str, datetime]:
        """record_id -> updated_at (aware) of every record the county system holds."""
        spec = self.cfg.tables[record_type]
        table = self.tables[record_type]
        with self.engine.connect() as conn:
            rows = conn.execute(select(table.c[spec.columns["record_id"]], table.c[spec.columns["updated_at"]]))
            return {rid: (ts if ts.tzinfo else ts.replace(tzinfo=self.tz)) for rid, ts in rows}

    def down(self) -> None:
        """The database goes away: connections are refused (server) or the file is not there (SQLite)."""
        if self.is_down:
            return
        self.engine.dispose()
        if self.proxy is not None:
            self.proxy.down()
        elif self.path.exists():
            os.replace(self.path, self.path.with_name(self.path.name + ".offline"))
        self.is_down = True

    def up(self) -> None:
        if not self.is_down:
            return
        if self.proxy is not None:
            self.proxy.up()
        else:
            offline = self.path.with_name(self.path.name + ".offline")
            if offline.exists():
                os.replace(offline, self.path)
        self.is_down = False

    def close(self) -> None:
        self.up()
        self.engine.dispose()
        if self.proxy is not None:
            self.proxy.down()


def create_server_database(server_url: str, name: str) -> str:
    """Create database ``name`` on a PostgreSQL or MariaDB server (``server_url`` names any database there);
    returns the SQLAlchemy URL of the new database."""
    u = make_url(server_url)
    if u.get_backend_name() == "postgresql":
        import psycopg

        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                             dbname="postgres", autocommit=True, connect_timeout=5) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return u.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    import pymysql

    c = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                        connect_timeout=5)
    try:
        with c.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    finally:
        c.close()
    return u.set(drivername="mysql+pymysql", database=name).render_as_string(hide_password=False)


def drop_server_database(server_url: str, name: str) -> None:
    u = make_url(server_url)
    if u.get_backend_name() == "postgresql":
        import psycopg

        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                             dbname="postgres", autocommit=True, connect_timeout=5) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        return
    import pymysql

    c = pymysql.connect(host=u.host, port=u.port or 3306, user=u.username, password=u.password or "",
                        connect_timeout=5)
    try:
        with c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
    finally:
        c.close()
