"""A server that does not ask for the password (trust in pg_hba.conf) must not let a wrong password sign in."""

from __future__ import annotations

import secrets

import psycopg
import pytest

from supervision.marts.access import create_supervisor, drop_supervisor
from supervision.portal.db import Database, InsecureServer, with_user

pytestmark = pytest.mark.integration


def test_sign_in_on_a_trusting_server_is_refused(migrated_url):
    """The session's test warehouse: the local server trusts 127.0.0.1 (then the portal must refuse), the embedded
    one demands SCRAM (then the wrong password is simply wrong)."""
    login, password = f"t{secrets.token_hex(3)}_trust", secrets.token_urlsafe(12)
    with psycopg.connect(migrated_url, autocommit=True) as owner:
        create_supervisor(owner, login, "411002", password=password)
        try:
            try:
                psycopg.connect(with_user(migrated_url, login), password="wrong", connect_timeout=5).close()
                trusting = True
            except psycopg.OperationalError:
                trusting = False
            db = Database(migrated_url)  # check_password only borrows the URL's host, port and database
            if trusting:
                with pytest.raises(InsecureServer, match="without asking for its password"):
                    db.check_password(login, "wrong")
            else:
                assert db.check_password(login, "wrong") is None
                assert db.check_password(login, password).division_code == "411002"
        finally:
            drop_supervisor(owner, login)
