"""Database source: a county's own database, read-only with SQLAlchemy, incremental by an ``updated_at`` watermark.

Registry entry (``transport: database``; docs/sources.md)::

    source:
      conn_id: county_411024_db        # Airflow connection: the database URL with its credentials
      schema: zfjd                     # optional database schema
      timezone: Asia/Shanghai          # of timestamps stored without a time zone (the usual case)
      batch_rows: 5000                 # rows per fetch from the server-side cursor
      connect_timeout: 10s
      statement_timeout: 10m
      tables:
        enforcement_cases:
          table: zf_xzzf_aj
          columns: {record_id: ajbh, county_code: xzqhdm, updated_at: gxsj}   # contract name -> column
      columns: {county_code: xzqhdm}   # mapping common to every table

Read-only three ways: the session is read-only (SQLite ``mode=ro``, PostgreSQL
``default_transaction_read_only``, MySQL/MariaDB ``SET SESSION TRANSACTION READ ONLY``), the statements are
SELECTs built by SQLAlchemy from reflected tables (names quoted, values bound), and nothing else is issued.
Memory is bounded by the window, not the table: rows stream from a server-side cursor
(``stream_results``), ``batch_rows`` at a time, and are turned into text as they come.
"""

from __future__ import annotations

import difflib
import logging
import sqlite3
import warnings
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import MetaData, Table, create_engine, event, exc, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from supervision.config.sources import DatabaseSection
from supervision.contract import BOOL, DATE, MONEY, RECORD_TYPES, RecordType
from supervision.registry import County
from supervision.settings import TIMEZONE
from supervision.sources.common import (
    SourceAuthError,
    SourceConfigError,
    SourceSchemaError,
    SourceUnavailable,
    airflow_connection,
    connection_env,
    describe_window,
    source_config,
    strings_frame,
)

log = logging.getLogger(__name__)
_DRIVERS = {"postgres": "postgresql+psycopg", "postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql",
            "mariadb": "mysql+pymysql", "sqlite": "sqlite"}
_AUTH_WORDS = ("password authentication failed", "access denied", "permission denied", "authentication failed")


@dataclass(frozen=True)
class TableSpec:
    table: str
    columns: dict[str, str]  # contract field -> column


@dataclass(frozen=True)
class DbConfig:
    county_code: str
    conn_id: str
    schema: str | None = None
    timezone: str = TIMEZONE
    batch_rows: int = 5000
    connect_timeout: float = 10.0
    statement_timeout: float = 600.0
    tables: dict[str, TableSpec] = field(default_factory=dict)

    @classmethod
    def from_county(cls, county: County) -> DbConfig:
        """The run-time settings of the county's source section (checked when the registry loaded)."""
        src: DatabaseSection = source_config(county, "database")
        specs = {rt.name: TableSpec(src.table(rt.name), src.mapping(rt)) for rt in RECORD_TYPES.values()}
        return cls(county.code, src.conn_id, src.db_schema or None, src.timezone, src.batch_rows,
                   src.connect_timeout, src.statement_timeout, specs)


def connection_url(conn: dict) -> str:
    """A SQLAlchemy URL from an Airflow connection (URI form used as is, JSON form assembled)."""
    extra = conn.get("extra") or {}
    url = extra.get("sqlalchemy_url") or conn.get("uri")
    if not url:
        ctype = (conn.get("conn_type") or "").lower()
        if ctype == "sqlite":
            url = f"sqlite:///{conn.get('host') or conn.get('schema')}"
        elif ctype in _DRIVERS:
            from sqlalchemy.engine import URL

            url = URL.create(_DRIVERS[ctype], username=conn.get("login"), password=conn.get("password"),
                             host=conn.get("host"), port=conn.get("port"), database=conn.get("schema")).render_as_string(
                hide_password=False)
        else:
            raise SourceConfigError(f"connection type {ctype!r} is not a database this source reads "
                                    f"({', '.join(sorted(set(_DRIVERS)))})")
    scheme, sep, rest = str(url).partition("://")
    if not sep:
        raise SourceConfigError("the database connection is not a URL")
    base = scheme.split("+")[0].lower()
    if base not in _DRIVERS:
        raise SourceConfigError(f"database {base!r} is not one this source reads ({', '.join(sorted(set(_DRIVERS)))})")
    if "+" not in scheme:
        scheme = _DRIVERS[base]
    url = f"{scheme}://{rest}"
    if scheme.startswith("mysql") and "charset=" not in url:
        url += ("&" if "?" in url else "?") + "charset=utf8mb4"
    return url


def read_only_engine(url: str, *, connect_timeout: float, statement_timeout: float) -> Engine:
    """An engine whose sessions cannot write."""
    u = make_url(url)
    backend = u.get_backend_name()
    if backend == "sqlite":
        path = u.database
        if not path or path == ":memory:":
            raise SourceConfigError("an in-memory SQLite database cannot be a county database")
        from urllib.parse import quote

        uri = f"file:{quote(path)}?mode=ro"
        return create_engine("sqlite://", poolclass=NullPool,
                             creator=lambda: sqlite3.connect(uri, uri=True, timeout=connect_timeout))
    if backend == "postgresql":
        options = f"-c default_transaction_read_only=on -c statement_timeout={int(statement_timeout * 1000)}"
        return create_engine(u, poolclass=NullPool, connect_args={
            "connect_timeout": max(1, int(connect_timeout)), "options": options, "application_name": "supervision"})
    if backend in ("mysql", "mariadb"):
        engine = create_engine(u, poolclass=NullPool, connect_args={
            "connect_timeout": max(1, int(connect_timeout)), "read_timeout": max(1, int(statement_timeout))})

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn, _record):  # every session of this engine, before any statement
            with dbapi_conn.cursor() as cur:
                cur.execute("SET SESSION TRANSACTION READ ONLY")

        return engine
    raise SourceConfigError(f"database {backend!r} is not one this source reads (sqlite, postgresql, mysql/mariadb)")


@dataclass
class Fetched:
    frame: pd.DataFrame
    pages: int  # batches read from the cursor
    requests: int = 1
    notes: list[str] = field(default_factory=list)


class DatabaseSource:
    kind = "database"

    def __init__(self, county: County, config: DbConfig | None = None):
        self.county = county
        self.cfg = config or DbConfig.from_county(county)
        self.tz = ZoneInfo(self.cfg.timezone)
        self._engine: Engine | None = None
        self._url: str | None = None

    def _connect(self) -> Engine:
        if self._engine is None:
            self._url = connection_url(airflow_connection(self.cfg.conn_id))
            self._engine = read_only_engine(self._url, connect_timeout=self.cfg.connect_timeout,
                                            statement_timeout=self.cfg.statement_timeout)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def _table_name(self, record_type: str) -> str:
        t = self.cfg.tables[record_type].table
        return f"{self.cfg.schema}.{t}" if self.cfg.schema else t

    def describe(self, record_type: str, low: datetime | None, high: datetime) -> str:
        spec = self.cfg.tables[record_type]
        return (f"SELECT {self._table_name(record_type)} ({self.cfg.conn_id}) "
                f"{describe_window(low, high, self.tz).replace('updated_at', spec.columns['updated_at'], 1)}")

    def target(self, record_type: str) -> str:
        return f"table {self._table_name(record_type)} (connection {self.cfg.conn_id})"

    def fetch(self, rt: RecordType, low: datetime | None, high: datetime) -> Fetched:
        engine = self._connect()
        spec = self.cfg.tables[rt.name]
        where = f"county database {self._table_name(rt.name)} (connection {self.cfg.conn_id})"
        try:
            with engine.connect() as conn, warnings.catch_warnings():
                warnings.simplefilter("ignore", exc.SAWarning)  # e.g. Decimal on SQLite, unknown column types
                try:
                    table = Table(spec.table, MetaData(), schema=self.cfg.schema, autoload_with=conn)
                except exc.NoSuchTableError:
                    raise SourceSchemaError(f"{where}: table {self._table_name(rt.name)} does not exist",
                                            todo=self._schema_todo()) from None
                missing = [c for c in spec.columns.values() if c not in table.c]
                if missing:
                    hints = [f"{m} (is it {close[0]}?)" if (close := difflib.get_close_matches(m, list(table.c.keys()), 1))
                             else m for m in missing]
                    raise SourceSchemaError(f"{where}: column(s) {', '.join(hints)} do not exist",
                                            todo=self._schema_todo())
                upd = table.c[spec.columns["updated_at"]]
                aware = bool(getattr(upd.type, "timezone", False))
                bind = (lambda t: t) if aware else (lambda t: t.astimezone(self.tz).replace(tzinfo=None))
                query = select(*[table.c[col].label(name) for name, col in spec.columns.items()])
                if low is not None:
                    query = query.where(upd >= bind(low))
                query = query.where(upd < bind(high)).order_by(upd, table.c[spec.columns["record_id"]])
                result = conn.execution_options(stream_results=True, yield_per=self.cfg.batch_rows).execute(query)
                records: list[dict] = []
                batches = 0
                for part in result.partitions(self.cfg.batch_rows):
                    batches += 1
                    records.extend(self._texts(rt, row._mapping) for row in part)
                return Fetched(strings_frame(records, rt.field_names), batches)
        except (SourceSchemaError, SourceConfigError):
            raise
        except exc.DBAPIError as e:
            text = str(e.orig if e.orig is not None else e).strip().splitlines()[0][:300]
            if any(w in text.lower() for w in _AUTH_WORDS):
                raise SourceAuthError(f"{where}: the database refused our login: {text}", todo=(
                    f"Engineers: check the credentials in Airflow connection {self.cfg.conn_id} "
                    f"({connection_env(self.cfg.conn_id)}) with the county's DBA, then re-run the date. "
                    "Nothing was loaded; the watermark stays.")) from None
            if isinstance(e, exc.ProgrammingError):
                raise SourceSchemaError(f"{where}: {type(e.orig).__name__}: {text}", todo=self._schema_todo()) from None
            raise SourceUnavailable(f"{where} is not reachable: {type(e.orig).__name__ if e.orig else type(e).__name__}:"
                                    f" {text}", todo=("Ask the county to bring its database back. Nothing is lost: "
                                                      "the watermark stays, and the next run fetches every change "
                                                      "since it.")) from None

    def _schema_todo(self) -> str:
        return (f"The county changed its database or the registry's mapping for county {self.county.code} is wrong: "
                "compare source.tables with the county's schema, fix the registry (or ask the county), then re-run "
                "the date. Nothing was loaded; the watermark stays.")

    def _texts(self, rt: RecordType, row) -> dict:
        return {name: self._text(rt.field(name).type, row[name]) for name in rt.field_names}

    def _text(self, ftype: str, v) -> str | None:
        if v is None:
            return None
        if isinstance(v, bool):
            return "true" if v else "false"
        if ftype == BOOL and isinstance(v, int) and v in (0, 1):
            return "true" if v else "false"  # MySQL/MariaDB booleans are TINYINT(1)
        if isinstance(v, datetime):
            if ftype == DATE:
                return v.date().isoformat()
            ts = v.astimezone(self.tz) if v.tzinfo else v.replace(tzinfo=self.tz)
            return ts.isoformat()
        if isinstance(v, date):
            return v.isoformat()
        if isinstance(v, Decimal):
            return format(v, "f")
        if isinstance(v, float) and ftype == MONEY:
            return format(Decimal(repr(v)), "f")
        if isinstance(v, bytes | bytearray | memoryview):
            return bytes(v).decode("utf-8", "replace")
        return str(v)
