"""Airflow connections, parsed once: ``AIRFLOW_CONN_<CONN_ID>`` in URI or JSON form, as Airflow itself reads them.

The pull sources read county connections (``sources.common.airflow_connection``) and the warehouse reads
``supervision_warehouse`` (``warehouse.connection``) through the same :func:`parse_connection`.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit


def connection_env(conn_id: str) -> str:
    """The environment variable Airflow reads connection ``conn_id`` from."""
    return "AIRFLOW_CONN_" + re.sub(r"[^A-Za-z0-9]", "_", conn_id).upper()


def parse_connection(value: str) -> dict:
    """A connection (``scheme://login:password@host:port/schema?extra`` or a JSON object) as a dict with
    conn_type, host, port, login, password, schema, extra (a dict) and uri (the URI form as given, else None).
    Raises ValueError (or TypeError) when the value is neither."""
    value = value.strip()
    if value.startswith("{"):
        doc = json.loads(value)
        if not isinstance(doc, dict):
            raise ValueError("JSON connection must be an object")
        extra = doc.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra) if extra.strip() else {}
        return {"conn_type": doc.get("conn_type"), "host": doc.get("host"), "port": doc.get("port"),
                "login": doc.get("login"), "password": doc.get("password"), "schema": doc.get("schema"),
                "extra": extra, "uri": None}
    parts = urlsplit(value)
    if not parts.scheme:
        raise ValueError("expected scheme://... or a JSON object")
    extra: dict = {}
    for k, v in parse_qsl(parts.query):
        if k == "__extra__":  # Airflow's own URI form: a JSON object
            try:
                extra.update(json.loads(v))
            except (ValueError, TypeError) as e:
                raise ValueError(f"__extra__ of the connection URI is not a JSON object: {e}") from None
        else:
            extra[k] = v
    return {"conn_type": parts.scheme.replace("-", "_"), "host": unquote(parts.hostname or "") or None,
            "port": parts.port, "login": unquote(parts.username) if parts.username else None,
            "password": unquote(parts.password) if parts.password else None,
            "schema": unquote(parts.path.lstrip("/")) or None, "extra": extra, "uri": value}


def libpq_url(conn: dict) -> str:
    """A parsed PostgreSQL connection as a libpq URL (``postgresql://...``); extras become query parameters."""
    if uri := conn.get("uri"):
        parts = urlsplit(uri)  # the URI as given: login and password keep their quoting
        # Airflow puts its own keys in the query (__extra__); libpq would reject them.
        query = [(k, v) for k, v in parse_qsl(parts.query) if not k.startswith("__")]
        return urlunsplit(("postgresql", parts.netloc, parts.path, urlencode(query), ""))
    auth = quote(conn.get("login") or "", safe="")
    if conn.get("password"):
        auth += ":" + quote(conn["password"], safe="")
    host = conn.get("host") or ""
    netloc = (auth + "@" if auth else "") + host + (f":{conn['port']}" if conn.get("port") else "")
    query = urlencode({k: v for k, v in (conn.get("extra") or {}).items() if isinstance(v, str | int)})
    return urlunsplit(("postgresql", netloc, "/" + quote(conn.get("schema") or "", safe=""), query, ""))
