"""Session-level PostgreSQL advisory locks that keep concurrent runs from doing the same work at once.

Two runs of one business date (the UI and ``supervision run``, or a retry next to a manual trigger) each take
``county:<code>:<date>`` around a county's processing, and every monitor step takes ``monitor``: the second
one waits until the first is done (then repeats the work idempotently) and logs who it waits for. The lock
lives on its own connection, so it spans the many transactions of a county's files and is released if the
process dies. ``SUPERVISION_LOCK_WAIT`` (seconds, default 3600) bounds the wait; past it the task fails
with the holder named (and Airflow may retry it).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import psycopg

from supervision.warehouse.connection import connect

log = logging.getLogger(__name__)
APP_PREFIX = "supervision lock "


def lock_wait_seconds() -> float:
    from supervision import resources

    return resources.variables().lock_wait


def county_lock_name(county_code: str, business_date: date) -> str:
    return f"county:{county_code}:{business_date.isoformat()}"


MONITOR_LOCK = "monitor"


class LockTimeout(RuntimeError):
    """Another run held the lock for longer than SUPERVISION_LOCK_WAIT."""


def in_progress(conn: psycopg.Connection, prefix: str) -> list[tuple[str, float]]:
    """Locks named ``prefix…`` held right now, oldest first, with the seconds held (from application_name)."""
    return [(name, float(secs)) for name, secs in conn.execute(
        "SELECT split_part(substr(application_name, length(%s) + 1), ' ', 1),"
        " extract(epoch FROM now() - backend_start) FROM pg_stat_activity"
        " WHERE application_name LIKE %s AND datname = current_database() ORDER BY backend_start",
        (APP_PREFIX, f"{APP_PREFIX}{prefix}%")).fetchall()]


def holder(conn: psycopg.Connection, name: str) -> str | None:
    """Who holds the lock ``name`` (the application name and pid of its session), if anyone."""
    row = conn.execute(
        "SELECT a.application_name, a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE l.locktype = 'advisory' AND l.granted AND l.database = (SELECT oid FROM pg_database"
        " WHERE datname = current_database()) AND ((l.classid::bigint << 32) | l.objid::bigint)"
        " = hashtextextended(%s, 0) AND l.objsubid = 1 AND a.pid <> pg_backend_pid() LIMIT 1", (name,)).fetchone()
    return None if row is None else f"{row[0] or 'a session'} (pid {row[1]})"


@contextmanager
def advisory_lock(name: str, owner: str, url: str | None = None, wait: float | None = None) -> Iterator[None]:
    """Hold the advisory lock ``name`` (any text; hashed to PostgreSQL's 64-bit key) for the block.

    ``owner`` says who we are (shown to a run that waits for us, e.g. the Airflow run id)."""
    wait = lock_wait_seconds() if wait is None else wait
    with connect(url, autocommit=True) as conn:
        # named after the lock and its owner: a waiting run says whom it waits for, `supervision run` shows progress
        conn.execute("SELECT set_config('application_name', %s, false)", (f"{APP_PREFIX}{name} {owner}"[:63],))
        if not conn.execute("SELECT pg_try_advisory_lock(hashtextextended(%s, 0))", (name,)).fetchone()[0]:
            who = holder(conn, name) or "another run"
            log.warning("%s is being processed by %s; waiting for it to finish (at most %.0f s)", name, who, wait)
            conn.execute("SELECT set_config('lock_timeout', %s, false)", (f"{int(wait * 1000)}ms",))
            try:
                conn.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", (name,))
            except psycopg.errors.LockNotAvailable:
                raise LockTimeout(f"{name} is still held by {holder(conn, name) or 'another run'} after {wait:.0f} s;"
                                  " is another run of the same date stuck?") from None
            log.warning("%s: the other run is done; going on", name)
        try:
            yield
        finally:
            if not conn.closed:
                conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", (name,))
