import json

import pytest

from supervision.warehouse import connection
from supervision.warehouse.connection import airflow_conn_to_url, redacted, sqlalchemy_url, warehouse_url


def test_env_url_comes_first(monkeypatch):
    monkeypatch.setenv(connection.URL_ENV, "postgresql://a@h/db")
    monkeypatch.setenv(connection.AIRFLOW_CONN_ENV, "postgres://b@h/db")
    assert warehouse_url() == "postgresql://a@h/db"


def test_airflow_connection_uri(monkeypatch):
    monkeypatch.delenv(connection.URL_ENV, raising=False)
    monkeypatch.setenv(connection.AIRFLOW_CONN_ENV, "postgres://u:p%40ss@db.example:5433/wh?sslmode=require&__extra__=%7B%7D")
    assert warehouse_url() == "postgresql://u:p%40ss@db.example:5433/wh?sslmode=require"


@pytest.mark.parametrize("extra", [{"sslmode": "require"}, json.dumps({"sslmode": "require"})])
def test_airflow_connection_json(extra):
    value = json.dumps({"conn_type": "postgres", "host": "db", "port": 5432, "login": "u", "password": "p@ss",
                        "schema": "wh", "extra": extra})
    assert airflow_conn_to_url(value) == "postgresql://u:p%40ss@db:5432/wh?sslmode=require"


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:secret@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql://u@h/db?password=secret&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    ("postgresql://postgres@/supervision?host=%2Ftmp%2Fpg", "postgresql://postgres@/supervision?host=%2Ftmp%2Fpg"),
    ("host=h user=u password=secret dbname=d", "host=h user=u password=*** dbname=d"),
])
def test_redacted(url, expected):
    assert redacted(url) == expected


def test_sqlalchemy_url_uses_psycopg3():
    assert sqlalchemy_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert sqlalchemy_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
