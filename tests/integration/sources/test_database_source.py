"""Database source against real county databases (SQLite; PostgreSQL and MariaDB when present): mapping, types,
window, batches, read-only sessions, a database that is down, a schema that moved."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
import yaml
from sqlalchemy import exc, text

from supervision.contract import RECORD_TYPES
from supervision.registry import load_registry
from supervision.sources.common import SourceAuthError, SourceSchemaError, SourceUnavailable, connection_env
from supervision.sources.database import DatabaseSource
from supervision_dev.simulator.county_db import CountyDatabase

from .conftest import BACKENDS

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
ENF = RECORD_TYPES["enforcement_cases"]
CODE = "411024"


def registry(tmp_path: Path, **source):
    entry = {"code": CODE, "transport": "database", "contact": {"name": "x", "email": "x@example.org"},
             "source": {"conn_id": "county_411024_db", "batch_rows": 4, "connect_timeout": 2,
                        "columns": {"county_code": "xzqhdm", "updated_at": "gxsj"},
                        "tables": {"enforcement_cases": {"table": "zf_xzzf_aj", "columns": {
                            "record_id": "ajbh", "case_number": "wsh", "filed_date": "lasj"}}}, **source}}
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"name": "db-test", "counties": [entry]}, allow_unicode=True), encoding="utf-8")
    return load_registry(path)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=TZ)


def rows(n: int) -> list[dict]:
    return [{"record_id": f"ENF-{CODE}-{i:04d}", "county_code": CODE, "updated_at": (at(20, 9) + i * timedelta(
        minutes=7)).isoformat(), "case_number": f"鄢市监罚〔2026〕{i + 1}号", "filed_date": "2026-10-01",
        "fine_amount": 1200.5 if i % 4 == 0 else None, "is_major": i % 2 == 0, "agency_name": "鄢陵县市场监督管理局"}
        for i in range(n)]


@pytest.fixture(params=BACKENDS)
def county(request, tmp_path, county_db_url, monkeypatch):
    reg = registry(tmp_path)
    db = CountyDatabase(reg.county(CODE), county_db_url(request.param))
    db.create_schema()
    db.upsert("enforcement_cases", rows(10))
    for k, v in db.env().items():
        monkeypatch.setenv(k, v)
    yield reg, db
    db.close()


def fetch(reg, low=None, high=None):
    high = high or at(21, 0)
    src = DatabaseSource(reg.county(CODE))
    try:
        return src.fetch(ENF, low, high)
    finally:
        src.close()


def test_reads_the_county_table_into_contract_text(county):
    reg, db = county
    got = fetch(reg)
    f = got.frame
    assert list(f.columns) == ["_row_number", *ENF.field_names]
    assert f["record_id"].tolist() == [f"ENF-{CODE}-{i:04d}" for i in range(10)]
    first = f.iloc[0]
    assert first["updated_at"] == "2026-10-20T09:00:00+08:00"
    assert first["filed_date"] == "2026-10-01" and first["case_number"] == "鄢市监罚〔2026〕1号"
    assert first["fine_amount"] == "1200.50" and pd.isna(f.iloc[1]["fine_amount"])
    assert first["is_major"] == "true" and f.iloc[1]["is_major"] == "false"
    assert first["agency_name"] == "鄢陵县市场监督管理局" and pd.isna(first["township_code"])


def test_window_is_half_open_and_read_in_batches(county):
    reg, _ = county
    got = fetch(reg, at(20, 9, 7), at(20, 10, 3))  # rows every 7 minutes from 09:00: 1..8
    assert got.frame["record_id"].tolist() == [f"ENF-{CODE}-{i:04d}" for i in range(1, 9)]
    assert got.pages == 2  # batch_rows: 4
    assert fetch(reg, at(22, 0), at(23, 0)).frame.empty


def test_sessions_are_read_only(county):
    reg, db = county
    src = DatabaseSource(reg.county(CODE))
    engine = src._connect()
    with pytest.raises(exc.DBAPIError, match="(?i)read.?only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM zf_xzzf_aj"))
    src.close()
    assert len(db.current("enforcement_cases")) == 10


def test_a_database_that_is_down_is_unavailable_and_comes_back(county):
    reg, db = county
    db.down()
    with pytest.raises(SourceUnavailable, match="county database zf_xzzf_aj .connection county_411024_db. is not "
                                               "reachable"):
        fetch(reg)
    db.up()
    assert len(fetch(reg).frame) == 10


def test_a_moved_column_or_table_is_a_schema_error_naming_it(county, tmp_path):
    reg, db = county
    moved = registry(tmp_path, tables={"enforcement_cases": {"table": "zf_xzzf_aj", "columns": {
        "record_id": "ajbh", "case_number": "wsh_new", "filed_date": "lasj"}}})
    with pytest.raises(SourceSchemaError, match=r"column\(s\) wsh_new \(is it wsh\?\) do not exist"):
        fetch(moved)
    gone = registry(tmp_path, tables={"enforcement_cases": "zf_gone"})
    with pytest.raises(SourceSchemaError, match="table zf_gone does not exist"):
        fetch(gone)


def test_a_refused_login_is_an_auth_error(tmp_path, county_db_url, monkeypatch):
    url = county_db_url("mariadb")
    reg = registry(tmp_path)
    db = CountyDatabase(reg.county(CODE), url)
    db.create_schema()
    monkeypatch.setenv(connection_env("county_411024_db"), db.url.replace("root@", "root:wrong@"))
    with pytest.raises(SourceAuthError, match="(?i)access denied") as e:
        fetch(reg)
    assert "wrong" not in str(e.value) and "county_411024_db" in e.value.todo
    db.close()
