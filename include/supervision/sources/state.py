"""Extraction state in the warehouse: watermarks (``ops.extraction_watermark``) and pulls (``ops.extraction``).

Semantics (docs/sources.md):

* The **watermark** of a county and record type is an instant W: every change the county system reports with
  ``updated_at < W`` has been loaded. It belongs to the county, not to its transport, so a county that moves
  from its API to its database (or from file drops, see :func:`plan`) keeps its history.
* The batch of **business date D** is the window ``[W, end of D)`` (end of D = the next midnight,
  Asia/Shanghai; never later than now minus the settle margin). After a loaded night that is exactly D's
  changes; after a night that failed it also holds the missed nights' changes (the catch-up). Late updates
  to old records carry a new ``updated_at`` and so fall into the window of the night they were made.
* W moves to the end of the window **only after the batch is loaded** (status loaded or
  loaded_with_quarantine), in a transaction after the load's; a crash in between re-pulls the window, and the
  load is idempotent. A rejected pull or a source error leaves W where it was.
* **Re-running** a date whose pull was loaded replays the landed Parquet of that pull (same batch, same
  ledger attempt: idempotent, and the county system is not asked again). A date that was never loaded pulls
  ``[W, end of D)``; when W is already past D (a later night caught up), the window is empty and the ledger
  says which night carried its changes. Backfills run dates in order, each a normal night.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from supervision.contract import RECORD_TYPES
from supervision.settings import TIMEZONE
from supervision.warehouse.ddl import CORE_SCHEMA

TZ = ZoneInfo(TIMEZONE)
LOADED = ("loaded", "loaded_with_quarantine")
EXTRACT_LOCK = 0x53555058  # "SUPX": first key of the per-county-and-type advisory locks
DEFAULT_SETTLE = timedelta(minutes=5)  # changes younger than this may still be in flight in the county system


def utcnow() -> datetime:
    """The clock the planner uses (tests replace it)."""
    return datetime.now(UTC)


def end_of_day(day: date) -> datetime:
    """The exclusive end of business date ``day``: the next midnight, Asia/Shanghai."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=TZ)


@dataclass(frozen=True)
class Watermark:
    watermark: datetime
    business_date: date
    source_kind: str
    submission_id: int | None


@dataclass(frozen=True)
class Extraction:
    county_code: str
    record_type: str
    business_date: date
    source_kind: str
    source_ref: str
    window_from: datetime | None
    window_to: datetime
    status: str
    rows_received: int
    pages: int | None
    batch_sha256: str | None
    lake_path: str | None
    submission_id: int | None
    detail: str | None
    first_fetched_at: datetime | None
    attempts: int


@dataclass(frozen=True)
class Plan:
    """What to do for one county, record type and date."""

    mode: str  # pull | replay | empty
    low: datetime | None  # inclusive; None = from the beginning
    high: datetime  # exclusive
    watermark: Watermark | None
    previous: Extraction | None
    start: str  # where low came from: watermark | history | initial | beginning | previous
    note: str | None = None


def get_watermark(conn: psycopg.Connection, county_code: str, record_type: str) -> Watermark | None:
    row = conn.execute("SELECT watermark, business_date, source_kind, submission_id FROM ops.extraction_watermark"
                       " WHERE county_code = %s AND record_type = %s", (county_code, record_type)).fetchone()
    return Watermark(*row) if row else None


def get_extraction(conn: psycopg.Connection, county_code: str, record_type: str, day: date) -> Extraction | None:
    row = conn.execute(
        "SELECT county_code, record_type, business_date, source_kind, source_ref, window_from, window_to, status,"
        " rows_received, pages, batch_sha256, lake_path, submission_id, detail, first_fetched_at, attempts"
        " FROM ops.extraction WHERE county_code = %s AND record_type = %s AND business_date = %s",
        (county_code, record_type, day)).fetchone()
    return Extraction(*row) if row else None


def history_high(conn: psycopg.Connection, county_code: str, record_type: str) -> datetime | None:
    """The newest updated_at the warehouse holds for the county (loaded by any transport, e.g. file drops)."""
    table = sql.Identifier(CORE_SCHEMA, RECORD_TYPES[record_type].table)
    (ts,) = conn.execute(sql.SQL("SELECT max(updated_at) FROM {} WHERE county_code = %s").format(table),
                         (county_code,)).fetchone()
    return ts


def plan(conn: psycopg.Connection, county_code: str, record_type: str, day: date, *, now: datetime | None = None,
         settle: timedelta = DEFAULT_SETTLE, lookback: timedelta = timedelta(0),
         initial: datetime | None = None) -> Plan:
    """The window to pull for ``day`` (see the module docstring), or the loaded pull to replay."""
    previous = get_extraction(conn, county_code, record_type, day)
    wm = get_watermark(conn, county_code, record_type)
    if previous and previous.status in LOADED:
        if previous.lake_path and Path(previous.lake_path).exists():
            return Plan("replay", previous.window_from, previous.window_to, wm, previous, "previous")
        return Plan("pull", previous.window_from, previous.window_to, wm, previous, "previous",
                    f"the landed batch of the earlier pull ({previous.lake_path}) is gone: the same window was pulled again")
    high = min(end_of_day(day), (now or utcnow()) - settle)
    if wm is not None:
        low, start = wm.watermark, "watermark"
        if low >= high:
            note = (f"nothing to pull: changes before {low.astimezone(TZ):%Y-%m-%d %H:%M} were already loaded, "
                    f"with business date {wm.business_date}")
            return Plan("empty", low, low, wm, previous, start, note)
    elif initial is not None:
        low, start = initial, "initial"
    elif (hist := history_high(conn, county_code, record_type)) is not None:
        # First pull of a county whose records the warehouse already holds (e.g. it used to drop files):
        # continue from the newest version it has (inclusive: that version is re-read once, unchanged).
        low, start = hist, "history"
    else:
        low, start = None, "beginning"
    if low is not None and lookback:
        low -= lookback
    if low is not None and low >= high:
        return Plan("empty", low, low, wm, previous, start, f"nothing to pull: the window starts at {low:%Y-%m-%d %H:%M}"
                    f" ({start}), after the end of {day}")
    return Plan("pull", low, high, wm, previous, start)


def record_extraction(conn: psycopg.Connection, *, county_code: str, record_type: str, business_date: date,
                      source_kind: str, source_ref: str, window_from: datetime | None, window_to: datetime,
                      status: str, rows_received: int, pages: int | None, batch_sha256: str | None,
                      lake_path: str | None, submission_id: int | None, detail: str | None,
                      fetched_at: datetime | None) -> None:
    """Upsert the pull of (county, type, date). ``first_fetched_at`` stays while the batch content is the same."""
    conn.execute(
        """INSERT INTO ops.extraction AS e (county_code, record_type, business_date, source_kind, source_ref,
               window_from, window_to, status, rows_received, pages, batch_sha256, lake_path, submission_id, detail,
               first_fetched_at, last_attempt_at)
           VALUES (%(county_code)s, %(record_type)s, %(business_date)s, %(source_kind)s, %(source_ref)s,
                   %(window_from)s, %(window_to)s, %(status)s, %(rows_received)s, %(pages)s, %(batch_sha256)s,
                   %(lake_path)s, %(submission_id)s, %(detail)s, %(fetched_at)s, now())
           ON CONFLICT (county_code, record_type, business_date) DO UPDATE SET
               source_kind = excluded.source_kind, source_ref = excluded.source_ref,
               window_from = excluded.window_from, window_to = excluded.window_to, status = excluded.status,
               rows_received = excluded.rows_received, pages = coalesce(excluded.pages, e.pages),
               batch_sha256 = excluded.batch_sha256, lake_path = excluded.lake_path,
               submission_id = excluded.submission_id, detail = excluded.detail,
               first_fetched_at = CASE WHEN e.batch_sha256 IS NOT DISTINCT FROM excluded.batch_sha256
                                       THEN coalesce(e.first_fetched_at, excluded.first_fetched_at)
                                       ELSE excluded.first_fetched_at END,
               last_attempt_at = now(), attempts = e.attempts + 1""",
        locals() | {"fetched_at": fetched_at})


def advance(conn: psycopg.Connection, *, county_code: str, record_type: str, to: datetime, business_date: date,
            source_kind: str, submission_id: int | None) -> datetime:
    """Move the watermark forward to ``to`` (never back); returns the watermark now in force."""
    (wm,) = conn.execute(
        """INSERT INTO ops.extraction_watermark AS w (county_code, record_type, watermark, business_date, source_kind,
               submission_id)
           VALUES (%s, %s, %s, %s, %s, %s)
           ON CONFLICT (county_code, record_type) DO UPDATE SET
               watermark = excluded.watermark, business_date = excluded.business_date,
               source_kind = excluded.source_kind, submission_id = excluded.submission_id, advanced_at = now()
           WHERE excluded.watermark > w.watermark
           RETURNING watermark""",
        (county_code, record_type, to, business_date, source_kind, submission_id)).fetchone() or (None,)
    if wm is None:
        wm = get_watermark(conn, county_code, record_type).watermark
    return wm


def lock(conn: psycopg.Connection, county_code: str, record_type: str) -> None:
    """Serialise pulls of one county and record type (session advisory lock, released when ``conn`` closes)."""
    conn.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", (EXTRACT_LOCK, f"{county_code}:{record_type}"))
