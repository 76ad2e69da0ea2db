"""Sessions, CSRF tokens and sign-in throttling (in memory: one portal process).

A session cookie carries a random id and its HMAC-SHA256 signature (HttpOnly, SameSite=Strict, Secure behind
HTTPS). The session itself (login, scope, CSRF token, last use) stays on the server, so sign-out and the idle
timeout really end it. Failed sign-ins are counted per login and per client address: after ``limit`` failures
(or 4x that from one address) within ``window`` seconds
further attempts are refused until the window has passed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

from supervision.portal.db import Scope


@dataclass
class Session:
    scope: Scope
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    last_seen: float = field(default_factory=time.monotonic)


class SessionStore:
    def __init__(self, secret: bytes, idle_seconds: int = 1800):
        self.secret = secret
        self.idle_seconds = idle_seconds
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def sign(self, value: str) -> str:
        mac = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()
        return f"{value}.{mac}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed or "." not in signed:
            return None
        value, mac = signed.rsplit(".", 1)
        good = hmac.new(self.secret, value.encode(), hashlib.sha256).hexdigest()
        return value if hmac.compare_digest(mac, good) else None

    def create(self, scope: Scope) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        s = Session(scope)
        with self._lock:
            self._sessions[sid] = s
        return self.sign(sid), s

    def get(self, cookie: str | None) -> Session | None:
        sid = self.unsign(cookie)
        if sid is None:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._sessions.get(sid)
            if s is None:
                return None
            if now - s.last_seen > self.idle_seconds:
                del self._sessions[sid]
                return None
            s.last_seen = now
            return s

    def drop(self, cookie: str | None) -> None:
        sid = self.unsign(cookie)
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)


class Throttle:
    def __init__(self, limit: int = 5, window: float = 900.0, address_limit: int | None = None):
        # one address may try several logins (an office behind one NAT): a wider limit per address
        self.limit, self.window = limit, window
        self.address_limit = address_limit or limit * 4
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque:
        q = self._failures.setdefault(key, deque())
        while q and now - q[0] > self.window:
            q.popleft()
        return q

    def blocked(self, login_key: str, address_key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            return (len(self._recent(login_key, now)) >= self.limit
                    or len(self._recent(address_key, now)) >= self.address_limit)

    def fail(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for k in keys:
                self._recent(k, now).append(now)

    def clear(self, key: str) -> None:
        with self._lock:
            self._failures.pop(key, None)
