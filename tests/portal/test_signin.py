"""Sign-in, sign-out, wrong passwords, throttling, sessions and CSRF, in Chromium and over plain HTTP."""

from __future__ import annotations

import httpx
import psycopg
import pytest

from supervision.portal.db import with_user

from .conftest import shot, sign_in

pytestmark = pytest.mark.integration


def test_sign_in_and_out(browser, portal):
    page = sign_in(browser, portal, "city")
    assert page.url == portal["base"] + "/"
    assert "许昌市" in page.inner_text("#who")
    shot(page, "01-overview-city")
    cookies = {c["name"]: c for c in page.context.cookies()}
    sess = cookies["sv_session"]
    assert sess["httpOnly"] and sess["sameSite"] == "Strict"
    page.click("#logout")
    assert page.url.endswith("/login")
    page.goto(portal["base"] + "/")  # the session is over on the server, not only in the browser
    assert page.url.endswith("/login")
    r = httpx.get(portal["base"] + "/", cookies={"sv_session": sess["value"]}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page.context.close()


def test_wrong_password_refused(browser, portal):
    page = sign_in(browser, portal, "county", password="not-the-password")
    assert page.url.endswith("/login")
    assert "用户名或口令错误" in page.inner_text("#error")
    shot(page, "00-login-refused")
    page.context.close()


def test_embedded_server_demands_the_password(portal):
    """The embedded server's pg_hba.conf: a supervisor login with a wrong password or none does not get in, over
    the socket or (were it listening) TCP; the right one does and the server asked for it."""
    login, password = portal["logins"]["county"]
    url = with_user(portal["owner_url"], login)
    for wrong in ("wrong", ""):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, password=wrong, connect_timeout=5).close()
    with psycopg.connect(url, password=password) as conn:
        assert conn.pgconn.used_password
        assert conn.execute("SELECT division_code FROM marts.my_scope()").fetchone()[0] == "411002"


def test_failed_sign_ins_are_throttled(portal):
    login, password = portal["logins"]["other_county"]
    with httpx.Client(base_url=portal["base"]) as client:
        statuses = []
        for _ in range(4):
            form = client.get("/login")
            csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            statuses.append(client.post("/login", data={"login": login, "password": "bad", "csrf": csrf}).status_code)
        assert statuses == [401, 401, 401, 429]
        form = client.get("/login")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = client.post("/login", data={"login": login, "password": password, "csrf": csrf})
        assert r.status_code == 429 and "登录失败次数过多" in r.text  # even the right password, until it passes
    portal["app"].state.throttle.clear("login:" + login)


def test_forms_need_their_csrf_token(portal):
    login, password = portal["logins"]["city"]
    with httpx.Client(base_url=portal["base"]) as client:
        client.get("/login")
        r = client.post("/login", data={"login": login, "password": password, "csrf": "forged"})
        assert r.status_code == 400 and "sv_session" not in client.cookies
        form = client.get("/login")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        r = client.post("/login", data={"login": login, "password": password, "csrf": csrf})
        assert r.status_code == 303
        assert client.post("/logout", data={"csrf": "forged"}).status_code == 400
        assert client.get("/").status_code == 200  # still signed in: the forged sign-out did nothing
        headers = client.get("/").headers
        assert "script-src 'self'" in headers["content-security-policy"] and headers["cache-control"] == "no-store"


def test_idle_sessions_expire(portal):
    login, password = portal["logins"]["county"]
    store = portal["app"].state.sessions
    with httpx.Client(base_url=portal["base"]) as client:
        form = client.get("/login")
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert client.post("/login", data={"login": login, "password": password, "csrf": csrf}).status_code == 303
        assert client.get("/").status_code == 200
        for s in store._sessions.values():
            s.last_seen -= store.idle_seconds + 1  # as if idle for longer than the timeout
        assert client.get("/", follow_redirects=False).status_code == 303
