"""County database servers for the pull-source tests: SQLite always; the local PostgreSQL and MariaDB when they
answer (each test gets its own throw-away database there), else those cases are skipped, saying why."""

from __future__ import annotations

import secrets
import socket

import pytest

from supervision_dev.simulator.county_db import create_server_database, drop_server_database

SERVERS = {"postgresql": "postgresql://postgres@127.0.0.1:5432/postgres",
           "mariadb": "mysql+pymysql://root@127.0.0.1:3306/test"}
BACKENDS = ("sqlite", "postgresql", "mariadb")


def _answers(url: str) -> str | None:
    """None if the server takes a database; else why not."""
    port = 5432 if url.startswith("postgresql") else 3306
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError as e:
        return f"no server on 127.0.0.1:{port} ({e.strerror or e})"
    name = f"county_probe_{secrets.token_hex(3)}"
    try:
        create_server_database(url, name)
        drop_server_database(url, name)
    except Exception as e:  # e.g. no right to create databases
        return f"cannot create a database on {url.split('@')[-1]}: {type(e).__name__}: {e}"
    return None


@pytest.fixture(scope="session")
def server_status() -> dict[str, str | None]:
    return {b: _answers(u) for b, u in SERVERS.items()}


@pytest.fixture
def county_db_url(request, tmp_path, server_status):
    """Factory: a writable SQLAlchemy URL of a fresh database on ``backend`` (dropped after the test)."""
    made: list[tuple[str, str]] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'county_{secrets.token_hex(3)}.sqlite'}"
        why = server_status[backend]
        if why:
            pytest.skip(f"{backend} county databases: {why}")
        name = f"county_sim_{secrets.token_hex(4)}"
        url = create_server_database(SERVERS[backend], name)
        made.append((SERVERS[backend], name))
        return url

    yield make
    for server, name in made:
        drop_server_database(server, name)
