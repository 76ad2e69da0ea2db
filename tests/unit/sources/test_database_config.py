"""Database source without a database: registry config, connection URLs, value conversion."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from supervision.contract import BOOL, DATE, MONEY, TEXT, TIMESTAMP
from supervision.registry import RegistryError
from supervision.sources.common import SourceConfigError, seconds
from supervision.sources.database import DatabaseSource, DbConfig, connection_url, read_only_engine

from .pull_support import registry


def db_entry(**source):
    return {"code": "411024", "transport": "database", "source": {"conn_id": "county_411024_db", **source}}


def test_mapping_defaults_to_contract_names_and_merges_common_columns(tmp_path):
    cfg = DbConfig.from_county(registry(tmp_path, [db_entry(
        columns={"updated_at": "gxsj"}, tables={"complaints": "zf_tsjb",
                                                "enforcement_cases": {"table": "zf_aj", "columns": {"record_id": "ajbh"}}})]
    ).county("411024"))
    assert cfg.tables["complaints"].table == "zf_tsjb" and cfg.tables["complaints"].columns["updated_at"] == "gxsj"
    enf = cfg.tables["enforcement_cases"].columns
    assert (enf["record_id"], enf["updated_at"], enf["party_id"]) == ("ajbh", "gxsj", "party_id")
    assert cfg.tables["litigation_cases"].table == "litigation_cases"


@pytest.mark.parametrize("source, message", [
    ({"tables": {"cases": "x"}}, "source.tables: 'cases' is not a record type"),
    ({"timezone": "Mars/Olympus"}, "source.timezone: 'Mars/Olympus' is not an IANA time zone"),
    ({"batch_rows": 0}, r"source.batch_rows: 0 is out of range \(at least 1\)"),
    ({"password": "x"}, "source: unknown key 'password' for a database source"),
    ({"tables": {"complaints": {"columns": {"nope": "x"}}}}, "source: tables.complaints.columns: complaints has no field"),
])
def test_config_errors_stop_the_registry_load(tmp_path, source, message):
    with pytest.raises(RegistryError, match=r"counties\[0\] \(code 411024\): " + message):
        registry(tmp_path, [db_entry(**source)])


@pytest.mark.parametrize("conn, url", [
    ({"uri": "postgres://u:p@h:5432/d"}, "postgresql+psycopg://u:p@h:5432/d"),
    ({"uri": "mysql://root@127.0.0.1:3306/county"}, "mysql+pymysql://root@127.0.0.1:3306/county?charset=utf8mb4"),
    ({"uri": "mariadb://root@h/c?ssl=1"}, "mysql+pymysql://root@h/c?ssl=1&charset=utf8mb4"),
    ({"uri": "sqlite:////data/c.sqlite"}, "sqlite:////data/c.sqlite"),
    ({"conn_type": "postgres", "host": "h", "port": 5433, "login": "u", "password": "p@ss", "schema": "d"},
     "postgresql+psycopg://u:p%40ss@h:5433/d"),
    ({"conn_type": "sqlite", "host": "/data/c.sqlite"}, "sqlite:////data/c.sqlite"),
    ({"extra": {"sqlalchemy_url": "postgresql+psycopg://x@y/z"}}, "postgresql+psycopg://x@y/z"),
])
def test_connection_urls(conn, url):
    assert connection_url(conn) == url


@pytest.mark.parametrize("conn", [{"uri": "oracle://u@h/d"}, {"conn_type": "http", "host": "h"}])
def test_databases_we_do_not_read_are_config_errors(conn):
    with pytest.raises(SourceConfigError, match="not .*this source reads"):
        connection_url(conn)


def test_in_memory_sqlite_is_not_a_county_database():
    with pytest.raises(SourceConfigError, match="in-memory"):
        read_only_engine("sqlite://", connect_timeout=1, statement_timeout=1)


def test_values_become_contract_text(tmp_path):
    src = DatabaseSource(registry(tmp_path, [db_entry()]).county("411024"))
    assert src._text(DATE, date(2026, 10, 1)) == "2026-10-01"
    assert src._text(DATE, datetime(2026, 10, 1, 0, 0)) == "2026-10-01"
    assert src._text(TIMESTAMP, datetime(2026, 10, 1, 9, 30)) == "2026-10-01T09:30:00+08:00"  # naive = county time
    assert src._text(TIMESTAMP, datetime(2026, 10, 1, 1, 30, tzinfo=UTC)) == "2026-10-01T09:30:00+08:00"
    assert src._text(MONEY, Decimal("1200.50")) == "1200.50" and src._text(MONEY, 99.1) == "99.1"
    assert [src._text(BOOL, v) for v in (True, False, 1, 0)] == ["true", "false", "true", "false"]
    assert src._text(TEXT, None) is None and src._text(TEXT, 411002) == "411002"


def test_durations():
    assert [seconds(v, "x") for v in (5, "500ms", "30s", "5m", "2h", "1d", 1.5)] == [5, 0.5, 30, 300, 7200, 86400, 1.5]
    with pytest.raises(SourceConfigError):
        seconds("soon", "x")
