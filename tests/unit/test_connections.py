"""The one Airflow-connection parser: URI and JSON forms, what the pull sources and the warehouse make of them."""

from __future__ import annotations

import json

import pytest

from supervision.config.connections import connection_env, libpq_url, parse_connection
from supervision.sources.common import airflow_connection
from supervision.warehouse.connection import airflow_conn_to_url


def test_env_name_follows_airflow():
    assert connection_env("county_411002-api") == "AIRFLOW_CONN_COUNTY_411002_API"


def test_uri_and_json_forms_give_the_same_fields():
    uri = parse_connection("postgres://u:p%40ss@db.example:5433/wh?sslmode=require")
    js = parse_connection(json.dumps({"conn_type": "postgres", "host": "db.example", "port": 5433, "login": "u",
                                      "password": "p@ss", "schema": "wh", "extra": {"sslmode": "require"}}))
    fields = ("conn_type", "host", "port", "login", "password", "schema", "extra")
    assert [uri[k] for k in fields] == [js[k] for k in fields] == [
        "postgres", "db.example", 5433, "u", "p@ss", "wh", {"sslmode": "require"}]
    assert uri["uri"].startswith("postgres://") and js["uri"] is None
    assert libpq_url(uri) == libpq_url(js) == "postgresql://u:p%40ss@db.example:5433/wh?sslmode=require"


@pytest.mark.parametrize("value", ["not a url", "[1, 2]", '{"host": '])
def test_neither_form_is_an_error(value):
    with pytest.raises(ValueError):
        parse_connection(value)


def test_sources_and_warehouse_read_the_same_value_alike(monkeypatch):
    value = "postgresql://reader:s%3Acret@10.0.0.5/county?__extra__=%7B%22token%22%3A+%22t%22%7D"
    monkeypatch.setenv(connection_env("county_db"), value)
    c = airflow_connection("county_db")
    assert (c["login"], c["password"], c["host"], c["schema"], c["extra"]) == (
        "reader", "s:cret", "10.0.0.5", "county", {"token": "t"})
    assert airflow_conn_to_url(value) == "postgresql://reader:s%3Acret@10.0.0.5/county"
