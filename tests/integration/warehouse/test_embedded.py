"""The embedded server, whatever server the other tests use: a fresh machine has only this one."""

import subprocess
import sys

import psycopg
import pytest

from supervision.warehouse import connection

pytestmark = pytest.mark.integration


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv(connection.URL_ENV, raising=False)
    monkeypatch.delenv(connection.AIRFLOW_CONN_ENV, raising=False)
    yield tmp_path / "data"
    connection.stop_embedded()


def run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=120)
    return out.stdout.strip()


def answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            return conn.execute("SELECT current_database()").fetchone()[0] == "supervision"
    except psycopg.OperationalError:
        return False


def test_start_connect_stop(data_dir):
    url = connection.warehouse_url()
    assert url.startswith("postgresql://postgres@/supervision?host=")
    with connection.connect() as conn:
        assert conn.execute("SELECT current_database()").fetchone()[0] == "supervision"
    assert connection.warehouse_url() == url  # joined, not restarted
    assert connection.stop_embedded() is True
    assert not answers(url) and not connection.embedded_running()
    assert connection.stop_embedded() is False
    assert connection.warehouse_url() == url and answers(url)  # asked again: started again
    assert run("from supervision.warehouse.__main__ import main; main(['stop'])") == "stopped"
    assert connection.warehouse_url() == url and answers(url)  # stopped by another process: started again


def test_pinned_server_outlives_processes_until_stopped(data_dir):
    url = run("from supervision.warehouse.__main__ import main; main(['url'])")
    assert (data_dir / "pg.keep-running").exists()
    assert answers(url)  # psql could use it now
    assert run("from supervision.warehouse.connection import warehouse_url; print(warehouse_url())") == url
    assert answers(url)  # a short-lived task process did not stop it
    assert run("from supervision.warehouse.__main__ import main; main(['stop'])") == "stopped"
    assert not answers(url)


def test_unpinned_server_stops_with_its_last_process(data_dir):
    url = run("from supervision.warehouse.connection import warehouse_url; print(warehouse_url())")
    assert not answers(url)
    # A process killed without its exit hook leaves the server up; the next one adopts and stops it.
    run("import os; from supervision.warehouse.connection import warehouse_url; warehouse_url(); os._exit(0)")
    assert answers(url)
    run("from supervision.warehouse.connection import warehouse_url; warehouse_url()")
    assert not answers(url)
