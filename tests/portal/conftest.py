"""Fixtures for the portal: an embedded PostgreSQL with the project's pg_hba.conf (SCRAM for every role but the
superuser: the local test server trusts 127.0.0.1, so a password could not be refused there), the marts' hand-made
Xuchang world plus an XSS record id and a month of submission verdicts, supervisor logins, and the portal served by
uvicorn on a free 127.0.0.1 port."""

from __future__ import annotations

import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "integration" / "marts"))
import marts_support as world_data  # noqa: E402  (the marts tests' hand-checked world)

XSS = "<script>alert(1)</script>"
LOGINS = {"city": "4110", "county": "411002", "other_county": "411003", "township": "411002001", "province": "41"}
SHOTS = Path(__file__).parents[2] / "data" / "portal-screenshots"


@pytest.fixture(scope="session")
def embedded_owner_url():
    from supervision.warehouse import connection

    # SUPERVISION_DATA_DIR only while starting and stopping: the rest of the session keeps its own data folder
    home = Path(tempfile.mkdtemp(prefix="supervision-portal-test-"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SUPERVISION_DATA_DIR", str(home))
        url = connection.start_embedded(keep_running=False)
    from supervision.warehouse.migrate import deploy_warehouse

    with psycopg.connect(url, autocommit=True) as conn:  # the deploy step (supervision db migrate)
        deploy_warehouse(conn)
    try:
        yield url
    finally:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("SUPERVISION_DATA_DIR", str(home))
            connection.stop_embedded()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def portal_world(embedded_owner_url):
    """(owner url, authenticator url, {scope: (login, password)}) over a refreshed world."""
    from supervision.marts.access import create_supervisor
    from supervision.marts.refresh import refresh_marts
    from supervision.portal.db import prepare

    auth_url = prepare(embedded_owner_url)  # checks the schema, loads the targets, sets the authenticator's password
    with psycopg.connect(embedded_owner_url, autocommit=True) as conn:
        world_data.clean(conn)
        world_data.load_world(conn)
        world_data.load(conn, "enforcement_cases", [world_data.enforcement(
            XSS, "411002", township="411002001", filed="2026-11-02", decided="2026-11-03", publicized=None,
            fine=10.0, person=True)])
        _submissions(conn)
        refresh_marts(conn, key=world_data.make_key(), as_of=world_data.AS_OF, migrate=False)
        logins = {}
        for name, code in LOGINS.items():
            login, password = f"p{secrets.token_hex(3)}_{name}", secrets.token_urlsafe(12)
            create_supervisor(conn, login, code, password=password, person=f"portal test {name}")
            logins[name] = (login, password)
    return embedded_owner_url, auth_url, logins


def _submissions(conn) -> None:
    """November 2026 verdicts for three Xuchang counties and 中原区 (another city), and one open alert."""
    conn.execute("DELETE FROM ops.alert; DELETE FROM ops.submission_verdict")
    rows = []
    for county in ("411002", "411003", "411024", "410102"):
        for day in range(1, 23):
            d = f"2026-11-{day:02d}"
            late = county == "411003" and day % 5 == 0
            missing = county == "411024" and day == 10
            invalid = county == "411002" and day == 7
            rows.append((county, "enforcement_cases", d, f"{d}T22:00:00Z", None if missing else f"{d}T20:00:00Z",
                         not late and not missing, "not_received" if missing else "loaded", not invalid))
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO ops.submission_verdict (county_code, record_type, business_date, due_at, first_received_at, "
            "on_time, status, valid, judged_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now())", rows)
    conn.execute(
        "INSERT INTO ops.alert (kind, county_code, record_type, business_date, evidence, summary, fix, opened_at, "
        "last_seen_at) VALUES ('missing', '411024', 'enforcement_cases', '2026-11-10', 'verdict', "
        "'鄢陵县 2026-11-10 未报送行政执法案件', '请补报 enforcement_cases 文件', now(), now())")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def portal(portal_world):
    """The portal on http://127.0.0.1:<port> (uvicorn in a thread), its app and the world."""
    import uvicorn

    from supervision.portal.app import create_app
    from supervision.portal.db import Database
    from supervision.portal.sessions import Throttle

    owner_url, auth_url, logins = portal_world
    db = Database(auth_url)
    app = create_app(db, idle_seconds=600, throttle=Throttle(limit=3, window=60))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield {"base": f"http://127.0.0.1:{port}", "app": app, "owner_url": owner_url, "auth_url": auth_url,
               "logins": logins, "db": db}
    finally:
        server.should_exit = True
        thread.join(10)
        db.close()


def sign_in(browser, portal, scope: str, password: str | None = None):
    """A new browser context signed in as the scope's login; returns the page."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page = ctx.new_page()
    login, good = portal["logins"][scope]
    page.goto(portal["base"] + "/login")
    page.fill("#login", login)
    page.fill("#password", password if password is not None else good)
    page.click("#submit")
    return page


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def as_login(owner_url: str, login: str, password: str) -> psycopg.Connection:
    """A direct connection as the supervisor (psql's view), to compare the pages with SQL over marts.kpi."""
    from supervision.portal.db import with_user

    return psycopg.connect(with_user(owner_url, login), password=password, autocommit=True)
