"""Supervisor logins: read-only PostgreSQL roles scoped to one division (``supervision supervisor ...``).

The work is done by SQL functions of migration V100 (``marts.create_supervisor`` / ``marts.drop_supervisor``),
called here with bind parameters. A password is turned into a SCRAM-SHA-256 verifier by libpq on the client
(``PQencryptPasswordConn``), so the clear password never reaches the server or its logs.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import psycopg

LEVEL_GROUPS = {level: f"supervision_supervisor_{level}" for level in ("province", "city", "county", "township")}
SUPERVISOR_GROUP = "supervision_supervisor"
PIPELINE_GROUP = "supervision_pipeline"


@dataclass(frozen=True)
class Supervisor:
    login: str
    division_code: str
    level: str
    division_name: str | None
    person: str | None = None
    can_login: bool | None = None


def generate_password() -> str:
    return secrets.token_urlsafe(18)


def password_verifier(conn: psycopg.Connection, login: str, password: str) -> str:
    """SCRAM-SHA-256 verifier of ``password`` for ``login``, computed client-side by libpq."""
    return conn.pgconn.encrypt_password(password.encode(), login.encode(), b"scram-sha-256").decode()


def create_supervisor(conn: psycopg.Connection, login: str, division: str, *, password: str | None = None,
                      person: str | None = None) -> Supervisor:
    """Create a LOGIN role for a supervisor of ``division`` (a province, city, county or township code).

    ``password=None`` creates a login without password (certificate, peer or trust authentication).
    """
    verifier = password_verifier(conn, login, password) if password else None
    with conn.transaction():
        row = conn.execute("SELECT * FROM marts.create_supervisor(%s, %s, %s, %s)",
                           (login, division, verifier, person)).fetchone()
    return Supervisor(row[0], row[1], row[2], row[3], person, True)


def drop_supervisor(conn: psycopg.Connection, login: str) -> None:
    with conn.transaction():
        conn.execute("SELECT marts.drop_supervisor(%s)", (login,))


def list_supervisors(conn: psycopg.Connection, division: str | None = None) -> list[Supervisor]:
    """Supervisor logins, optionally only those of a division and the divisions below it."""
    rows = conn.execute(
        "SELECT s.role_name, s.division_code, s.level, d.name, s.person, r.rolcanlogin "
        "FROM marts.supervisor_scope s LEFT JOIN ref.division d ON d.code = s.division_code "
        "LEFT JOIN pg_roles r ON r.rolname = s.role_name "
        "WHERE %(division)s::text IS NULL OR %(division)s IN (d.code, d.province_code, d.city_code, d.county_code) "
        "ORDER BY s.division_code, s.role_name", {"division": division}).fetchall()
    return [Supervisor(*r) for r in rows]
