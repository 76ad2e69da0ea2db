"""What the pull sources (HTTP API, database) share: their errors, Airflow connections, config values, batches.

Errors say who has to act. A :class:`SourceError` is the county system's doing (or at least on its side of the
wire): the ledger records it for the county and the night goes on. A :class:`SourceConfigError` is ours (a
registry entry or an Airflow connection is wrong or absent): the ledger says 'failed' and the task goes red.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from datetime import datetime

import pandas as pd

from supervision.config import values as config_values
from supervision.config.connections import connection_env, parse_connection
from supervision.registry import County


class SourceConfigError(ValueError):
    """The registry's source config or the county's Airflow connection is wrong: engineers fix it."""


class SourceError(Exception):
    """The county system could not be read. ``status`` is the ledger status; ``rule`` the quarantine rule of a
    rejected pull; ``evidence`` the bytes received that prove it (kept in the lake); ``todo`` what to do."""

    status = "source_error"
    rule: str | None = None
    todo = "Nothing is lost: the watermark stays, and the next run fetches every change since it."

    def __init__(self, message: str, *, evidence: bytes | None = None, todo: str | None = None):
        super().__init__(message)
        self.evidence = evidence
        if todo:
            self.todo = todo


class SourceUnavailable(SourceError):
    """Network error, timeout, 5xx after the retries, a database that does not answer."""

    kind = "unavailable"


class SourceAuthError(SourceError):
    """401 / 403, or the database refused the login: the credentials in the Airflow connection are not accepted."""

    kind = "auth"


class SourceRateLimited(SourceError):
    """429 Too Many Requests beyond what we are willing to wait."""

    kind = "rate_limited"


class SourceRequestError(SourceError):
    """The API refused the request itself (400, 404 on the first page, ...): endpoint or parameters disagree."""

    kind = "request"


class SourceRejected(SourceError):
    """The county system answered, but with something unusable: the pull is rejected like an unreadable file."""

    status = "rejected"
    kind = "rejected"


class MalformedResponse(SourceRejected):
    rule = "source.malformed_response"
    kind = "malformed"


class PageSequenceError(SourceRejected):
    """Truncated or inconsistent paging: a page vanished, the total changed, pages overlap, a cursor loops."""

    rule = "source.page_sequence"
    kind = "page_sequence"


class SourceSchemaError(SourceRejected):
    """The county table or a mapped column does not exist (the county changed its schema, or the mapping is off)."""

    rule = "source.schema"
    kind = "schema"


# ---------------------------------------------------------------------------------------------- Airflow connections


def airflow_connection(conn_id: str) -> dict:
    """The Airflow connection ``conn_id`` as a dict (conn_type, host, port, login, password, schema, extra, uri).

    Read from ``AIRFLOW_CONN_<CONN_ID>`` (URI or JSON form, as Airflow itself reads it), else, inside an Airflow
    process, from Airflow's own connection API (secrets backends, metadata database).
    """
    env = connection_env(conn_id)
    value = os.environ.get(env)
    if value:
        try:
            return parse_connection(value)
        except (ValueError, TypeError) as e:
            raise SourceConfigError(f"{env} is not a valid Airflow connection (URI or JSON): {e}") from None
    if "airflow" in sys.modules:  # inside a task: secrets backends and the metadata database
        try:
            from airflow.sdk import BaseHook

            c = BaseHook.get_connection(conn_id)
            return {"conn_type": c.conn_type, "host": c.host, "port": c.port, "login": c.login,
                    "password": c.password, "schema": c.schema, "extra": c.extra_dejson or {}, "uri": None}
        except Exception as e:  # AirflowNotFoundException and friends: all mean "not configured"
            raise SourceConfigError(f"Airflow connection {conn_id!r} is not defined ({type(e).__name__}); add it "
                                    f"(Admin → Connections, a secrets backend, or env {env})") from None
    raise SourceConfigError(f"Airflow connection {conn_id!r} is not defined: set env {env} "
                            "(URI or JSON) or add the connection in Airflow")


# ---------------------------------------------------------------------------------------------- config values

def seconds(value, what: str) -> float:
    """A duration from the registry: a number of seconds, or '500ms', '30s', '5m', '2h', '1d'."""
    try:
        return config_values.seconds(value)
    except ValueError as e:
        raise SourceConfigError(f"{what}: {e}") from None


def source_config(county: County, kind: str):
    """The county's source section (checked when the registry loaded), for a ``kind`` pull."""
    src = county.source
    if src is None or getattr(src, "transport", None) != kind:
        raise SourceConfigError(f"county {county.code}: no {kind} source section (transport {county.transport})")
    return src


# ---------------------------------------------------------------------------------------------- batches


def strings_frame(records: list[dict], columns: list[str]) -> pd.DataFrame:
    """Text values (None for empty) into the RawBatch shape: string columns (NA for empty), ``_row_number`` first."""
    data = {c: pd.array([r.get(c) for r in records], dtype="string") for c in columns}
    frame = pd.DataFrame(data, index=pd.RangeIndex(len(records)))
    for c in columns:
        s = frame[c].str.strip()
        frame[c] = s.mask(s == "")
    frame.insert(0, "_row_number", pd.RangeIndex(1, len(records) + 1))
    return frame


def batch_sha256(frame: pd.DataFrame) -> str:
    """A content hash of a batch (columns, then each row in order): the same records give the same attempt."""
    h = hashlib.sha256()
    cols = [c for c in frame.columns if c != "_row_number"]
    h.update(json.dumps(cols, ensure_ascii=False).encode())
    for row in frame[cols].itertuples(index=False, name=None):
        h.update(b"\n" + json.dumps([None if pd.isna(v) else str(v) for v in row], ensure_ascii=False).encode())
    return h.hexdigest()


def local_iso(ts: datetime | None, tz) -> str:
    return "-" if ts is None else ts.astimezone(tz).isoformat(timespec="seconds")


def describe_window(low: datetime | None, high: datetime, tz) -> str:
    return f"updated_at [{local_iso(low, tz) if low else 'beginning'}, {local_iso(high, tz)})"


__all__ = [
    "MalformedResponse", "PageSequenceError", "SourceAuthError", "SourceConfigError", "SourceError",
    "SourceRateLimited", "SourceRejected", "SourceRequestError", "SourceSchemaError", "SourceUnavailable",
    "airflow_connection", "batch_sha256", "connection_env", "describe_window", "parse_connection",
    "seconds", "source_config", "strings_frame",
]
