"""The portal's database access: password checks and per-request transactions as the supervisor's role.

PostgREST's authenticator pattern. The portal connects as ``supervision_portal`` (LOGIN, NOINHERIT, no rights of
its own, granted every supervisor login by ``marts.create_supervisor``, V500). Each request is one read-only
transaction that starts with ``SET LOCAL ROLE <login>``: from then on PostgreSQL checks every query against that
login's grants and row-level security, exactly as if the supervisor had connected with psql. Nothing in Python
decides which rows a supervisor may see.

Passwords are checked by the server itself: the portal opens a connection AS the login with the given password
(SCRAM-SHA-256: the clear password never crosses the wire) and asks ``marts.my_scope()``. A server that lets the
login in without asking for a password (``trust`` in pg_hba.conf) would accept any password, so such a sign-in
is refused and reported as a configuration error (libpq's PQconnectionUsedPassword).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)
AUTHENTICATOR = "supervision_portal"
LOGIN_RE = re.compile(r"^[a-z][a-z0-9_]{2,62}$")


class InsecureServer(RuntimeError):
    """The server let a supervisor login in without checking its password."""


@dataclass(frozen=True)
class Scope:
    login: str
    division_code: str
    level: str
    division_name: str


def with_user(url: str, user: str, password: str | None = None) -> str:
    """The libpq URL with another user (and password), same host, port, database and options."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "")
    return urlunsplit(parts._replace(netloc=f"{auth}@{host}"))


def prepare(owner_url: str) -> str:
    """Development and demo set-up, as the warehouse owner: check the schema, load the targets, and give the authenticator a
    fresh random password (kept in this process only). Returns the authenticator's URL.

    In production set ``SUPERVISION_PORTAL_DATABASE_URL`` to the authenticator's URL instead: the portal then never
    holds the owner's credentials."""
    from supervision.targets import load_targets
    from supervision.warehouse.migrate import require_current_schema

    password = secrets.token_urlsafe(24)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        require_current_schema(conn)  # migrations are a deploy step (supervision db migrate, make demo)
        load_targets(conn)
        verifier = conn.pgconn.encrypt_password(password.encode(), AUTHENTICATOR.encode(), b"scram-sha-256").decode()
        conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(sql.Identifier(AUTHENTICATOR), sql.Literal(verifier)))
    return with_user(owner_url, AUTHENTICATOR, password)


class Database:
    """A small pool of authenticator connections; :meth:`as_role` lends one for a request's transaction."""

    def __init__(self, authenticator_url: str, *, size: int = 4, statement_timeout_ms: int = 15000):
        self.url = authenticator_url
        self.size = size
        self.statement_timeout_ms = statement_timeout_ms
        self._pool = None  # a psycopg_pool.ConnectionPool of this process (supervision.resources.make_pool)
        self._pid = 0
        self._lock = threading.Lock()

    def _pool_here(self):
        with self._lock:
            if self._pool is None or self._pid != os.getpid():  # a forked child makes its own
                from supervision.resources import make_pool

                self._pool = make_pool(self.url, application_name="supervision-portal", max_size=4 * self.size)
                self._pid = os.getpid()
            return self._pool

    def _get(self) -> psycopg.Connection:
        conn = self._pool_here().getconn()
        conn.autocommit = True
        return conn

    def _put(self, conn: psycopg.Connection) -> None:
        conn.close()  # back to the pool, which rolls back and resets it (or discards a broken one)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None and self._pid == os.getpid():
                self._pool.close()
            self._pool = None

    @contextmanager
    def as_role(self, login: str) -> Iterator[psycopg.Connection]:
        """One read-only transaction in which the connection is ``login`` (SET LOCAL ROLE: undone at its end)."""
        if not LOGIN_RE.match(login):
            raise PermissionError(login)
        conn = self._get()
        ok = False
        try:
            with conn.transaction():
                conn.execute("SET TRANSACTION READ ONLY")
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(login)))
                conn.execute(sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(self.statement_timeout_ms)))
                yield conn
            ok = True
        finally:
            if ok:
                self._put(conn)
            else:
                try:
                    conn.close()  # after an error: the pool rolls back and resets it, or discards a broken one
                except Exception:  # noqa: BLE001
                    pass

    def check_password(self, login: str, password: str) -> Scope | None:
        """The login's scope if the server accepts the password and the login is a supervisor here, else None."""
        if not LOGIN_RE.match(login) or not password or len(password) > 1024:
            return None
        url = with_user(self.url, login)
        try:
            conn = psycopg.connect(url, password=password, connect_timeout=10, autocommit=True,
                                   application_name="supervision-portal-signin")
        except psycopg.OperationalError as e:
            log.info("sign-in refused for %s: %s", login, str(e).strip().splitlines()[-1] if str(e) else e)
            return None
        with conn:
            if not conn.pgconn.used_password:
                raise InsecureServer(
                    f"the server let {login} in without asking for its password (trust in pg_hba.conf): "
                    "require scram-sha-256 for supervisor logins (docs/security.md)")
            row = conn.execute("SELECT division_code, level, division_name FROM marts.my_scope()").fetchone()
        if row is None:
            return None
        return Scope(login, row[0], row[1], row[2] or row[0])
