"""Fixtures: the Xuchang world loaded and refreshed once per module, and supervisor logins for it (unique role
names per run, dropped afterwards: roles are cluster-wide). Helpers are in marts_support.py."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from supervision.marts.access import create_supervisor, drop_supervisor
from supervision.marts.refresh import refresh_marts

from .marts_support import AS_OF, TEST_PASSWORD, clean, load_world, login_url, make_key

SCOPES = {"province": "41", "city": "4110", "county": "411002", "township": "411002001", "other_county": "411003",
          "other_city": "4101"}


@pytest.fixture(scope="module")
def pii_key():
    return make_key()


@pytest.fixture(scope="module")
def world(migrated_url, pii_key):
    """An autocommit owner connection to a warehouse holding the world, refreshed as of 2026-11-23."""
    conn = psycopg.connect(migrated_url, autocommit=True)
    clean(conn)
    load_world(conn)
    refresh_marts(conn, key=pii_key, as_of=AS_OF, migrate=False)
    yield conn
    clean(conn)
    conn.close()


@pytest.fixture(scope="module")
def supervisors(world, migrated_url):
    """{scope name: (login, url)} for supervisors of the province, Xuchang city, 魏都区, 西大街道 and others."""
    run = secrets.token_hex(3)
    made = {}
    try:
        for name, code in SCOPES.items():
            login = f"t{run}_{name}"
            create_supervisor(world, login, code, password=TEST_PASSWORD, person=f"test {name}")
            made[name] = (login, login_url(migrated_url, login))
        yield made
    finally:
        for login, _ in made.values():
            drop_supervisor(world, login)


@pytest.fixture
def as_supervisor(supervisors):
    """Open a connection as the supervisor of a scope: as_supervisor('county')."""
    opened = []

    def connect(scope: str, **kw) -> psycopg.Connection:
        # autocommit: a supervisor's open transaction would block the owner's DDL in the same test
        kw.setdefault("autocommit", True)
        conn = psycopg.connect(supervisors[scope][1], **kw)
        opened.append(conn)
        return conn

    yield connect
    for c in opened:
        c.close()
