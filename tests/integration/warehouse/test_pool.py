"""The pooled warehouse resource: per process and URL, reset between borrowers, fork-safe, closed with its scope."""

from __future__ import annotations

import os

import psycopg
import pytest

from supervision import resources
from supervision.warehouse.connection import connect

pytestmark = pytest.mark.integration


def _backend(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_outside_a_scope_every_connect_is_a_new_session(migrated_url):
    assert not resources.pooling()
    with connect() as a:
        first = _backend(a)
    with connect() as b:
        assert _backend(b) != first


def test_inside_a_scope_sessions_are_reused_and_reset(migrated_url):
    with resources.pooled():
        with connect(autocommit=True) as conn:
            first = _backend(conn)
            conn.execute("SET statement_timeout = 1234")
            conn.execute("SELECT set_config('application_name', 'county:x lock', false)")
            conn.execute("SELECT pg_advisory_lock(424242)")
            conn.execute("CREATE TEMP TABLE scratch (x int)")
            for i in range(8):  # past psycopg's prepare threshold: a server-side prepared statement
                conn.execute("SELECT %s::int", (i,))
        with connect() as conn:  # the same session, as fresh as a new one
            assert _backend(conn) == first and not conn.autocommit
            assert conn.execute("SHOW statement_timeout").fetchone()[0] != "1234ms"
            assert conn.execute("SHOW application_name").fetchone()[0] == "supervision"
            assert conn.execute("SELECT to_regclass('pg_temp.scratch')").fetchone()[0] is None
            held = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242"
                                ).fetchone()[0]
            assert held == 0
            assert [conn.execute("SELECT %s::int", (i,)).fetchone()[0] for i in range(8)] == list(range(8))
        with connect() as conn:  # a transaction left open by an error is rolled back, not lent
            with pytest.raises(psycopg.errors.DivisionByZero):
                with conn:
                    conn.execute("SELECT 1 / 0")
        with connect() as conn:
            assert conn.execute("SELECT 2").fetchone() == (2,)
    assert not resources.pooling()


def test_one_pool_per_url_and_closed_with_the_scope(migrated_url, fresh_database):
    other = fresh_database()
    with resources.pooled():
        with connect(migrated_url) as a, connect(other) as b:
            assert a.execute("SELECT current_database()").fetchone() != b.execute(
                "SELECT current_database()").fetchone()
        mine = [k for k in resources._pools if k[0] == os.getpid()]
        assert {k[1] for k in mine} == {migrated_url, other}
    assert not [k for k in resources._pools if k[0] == os.getpid()]
    with psycopg.connect(migrated_url, autocommit=True) as admin:  # nothing of the pool is left on the server
        left = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                             (other.rsplit("/", 1)[1].split("?")[0],)).fetchone()[0]
    assert left == 0


def test_a_forked_child_never_uses_its_parents_sessions(migrated_url):
    with resources.pooled():
        with connect() as conn:
            parent = _backend(conn)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: a fresh session of its own, and the parent's pool untouched
            code = 1
            try:
                with connect() as c:
                    code = 0 if (_backend(c) != parent and not resources.pooling()) else 3
            finally:
                os.write(write, bytes([code]))
                os._exit(0)
        os.waitpid(pid, 0)
        assert os.read(read, 1) == b"\x00"
        with connect() as conn:  # the parent's pooled session still works
            assert _backend(conn) == parent


def test_an_exhausted_pool_opens_a_fresh_connection_instead_of_waiting_forever(migrated_url, monkeypatch):
    monkeypatch.setattr(resources, "POOL_MAX_SIZE", 2)
    monkeypatch.setattr(resources, "POOL_WAIT", 0.2)
    with resources.pooled():
        with connect() as a, connect() as b, connect() as c:  # nested, as a lock around a file's connections
            assert getattr(a, "_pool", None) is not None and getattr(b, "_pool", None) is not None
            assert getattr(c, "_pool", None) is None  # a plain connection, closed on exit
            assert len({_backend(x) for x in (a, b, c)}) == 3
        assert c.closed
