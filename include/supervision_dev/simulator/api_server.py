"""Simulated county HTTP APIs: a real HTTP server on 127.0.0.1 (a free port), one API per county, with faults.

Each county's API is shaped by its registry entry (``source``: base path, endpoints, paging style and parameter
names, response keys, field names), read through :class:`supervision.sources.http_api.ApiConfig`, so the
server speaks exactly the dialect the pipeline was configured for. It serves what the county system holds
now (:class:`ApiStore`: the current version of every record, filtered by its modification time), ordered
by (modification time, record_id), with a bearer token per county.

Fault modes (:meth:`CountyApiServer.set_fault`), as county systems really misbehave:

``slow``            every response waits ``delay`` seconds (default 2) before answering
``error_500``       every request: HTTP 500
``flaky_500``       each distinct request fails ``times`` times (default 2) with 500/502/503, then succeeds
``rate_limit``      the county's first ``times`` requests (default 1): 429 with Retry-After ``retry_after`` (1 s)
``rate_limit_hard`` every request: 429 with Retry-After 3600
``auth``            the token was rotated on the county side: 401
``forbidden``       the token may not read the endpoint: 403
``malformed_json``  the last page of each non-empty listing is cut off mid-way (200, application/json)
``vanishing_page``  the last page of each non-empty listing disappears: 404 (410 for a cursor) when it is not the first
                    page, else an empty page while the total still counts its records
"""

from __future__ import annotations

import base64
import json
import math
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from supervision.contract import RECORD_TYPES
from supervision.registry import County
from supervision.settings import TIMEZONE
from supervision.sources.common import connection_env
from supervision.sources.http_api import ApiConfig

TZ = ZoneInfo(TIMEZONE)
API_FAULTS = ("slow", "error_500", "flaky_500", "rate_limit", "rate_limit_hard", "auth", "forbidden",
              "malformed_json", "vanishing_page")


@dataclass
class Entry:
    modified: datetime  # when the county system last changed the record (what the API filters on)
    record: dict  # contract field -> logical value (str / None / bool / float), possibly malformed
    seq: int

    @property
    def key(self) -> tuple:
        return (self.modified, self.record.get("record_id") or "", self.seq)


class ApiStore:
    """The current version of every record of every county system served by the API (thread-safe)."""

    def __init__(self):
        self._rows: dict[tuple[str, str], list[Entry]] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def upsert(self, county_code: str, record_type: str, rows: list[tuple[datetime, dict]]) -> None:
        """Tonight's changes: each record replaces its earlier version (rows without record_id are kept as sent)."""
        with self._lock:
            ids = {r.get("record_id") for _, r in rows if r.get("record_id") is not None}
            kept = [e for e in self._rows.get((county_code, record_type), []) if e.record.get("record_id") not in ids]
            for modified, record in rows:
                self._seq += 1
                kept.append(Entry(modified, dict(record), self._seq))
            kept.sort(key=lambda e: e.key)
            self._rows[(county_code, record_type)] = kept

    def window(self, county_code: str, record_type: str, low: datetime | None, high: datetime | None) -> list[Entry]:
        with self._lock:
            rows = list(self._rows.get((county_code, record_type), []))
        return [e for e in rows if (low is None or e.modified >= low) and (high is None or e.modified < high)]

    def current(self, county_code: str, record_type: str) -> list[Entry]:
        return self.window(county_code, record_type, None, None)

    def clear(self, county_code: str | None = None) -> None:
        with self._lock:
            for k in [k for k in self._rows if county_code is None or k[0] == county_code]:
                del self._rows[k]


@dataclass
class Fault:
    kind: str
    opts: dict = field(default_factory=dict)


def _cursor(entry: Entry) -> str:
    raw = json.dumps([entry.modified.isoformat(), entry.record.get("record_id") or "", entry.seq])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _uncursor(token: str) -> tuple:
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    m, rid, seq = json.loads(raw)
    return (datetime.fromisoformat(m), rid, int(seq))


class _Handler(BaseHTTPRequestHandler):
    server_version = "CountyApiSimulator/1.0"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - quiet: the simulator keeps its own request log
        pass

    def do_GET(self):  # noqa: N802 - http.server's naming
        try:
            self.server.sim._handle(self)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer


class CountyApiServer:
    """The API counties of a registry on one local HTTP server. ``with CountyApiServer(counties) as api: ...``."""

    def __init__(self, counties: list[County], *, store: ApiStore | None = None, host: str = "127.0.0.1"):
        self.counties = {c.code: c for c in counties if c.transport == "http_api"}
        self.configs = {code: ApiConfig.from_county(c) for code, c in self.counties.items()}
        self.tokens = {code: secrets.token_urlsafe(24) for code in self.counties}
        self.store = store or ApiStore()
        self.faults: dict[str, Fault] = {}
        self.requests: list[tuple[float, str, str, int]] = []  # (monotonic time, county, path?query, status)
        self._counts: Counter = Counter()
        self._lock = threading.Lock()
        self.routes: dict[str, tuple[str, str]] = {}
        for code, cfg in self.configs.items():
            for rt in RECORD_TYPES:
                path = cfg.endpoint_path(rt)
                if path in self.routes:
                    raise ValueError(f"counties {self.routes[path][0]} and {code} both serve {path}: give each its own "
                                     "source.base_path")
                self.routes[path] = (code, rt)
        self.host = host
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle
    def start(self) -> CountyApiServer:
        if self._httpd is None:
            self._httpd = ThreadingHTTPServer((self.host, 0), _Handler)
            self._httpd.daemon_threads = True
            self._httpd.block_on_close = False
            self._httpd.sim = self
            self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1},
                                            name="county-api-simulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> CountyApiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("the API simulator is not started")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connection(self, code: str, token: str | None = None) -> str:
        """The Airflow connection (JSON form) the pipeline uses for county ``code``: where, and the token."""
        return json.dumps({"conn_type": "http", "host": self.host, "port": self.port, "schema": "http",
                           "password": token or self.tokens[code]})

    def env(self) -> dict[str, str]:
        """``AIRFLOW_CONN_<CONN_ID>`` for every API county (set it in the environment of the pipeline)."""
        return {connection_env(cfg.conn_id): self.connection(code) for code, cfg in self.configs.items()}

    # -- faults
    def set_fault(self, code: str, kind: str | None, **opts) -> None:
        if kind is not None and kind not in API_FAULTS:
            raise ValueError(f"unknown API fault {kind!r}; faults are {', '.join(API_FAULTS)}")
        with self._lock:
            if kind is None:
                self.faults.pop(code, None)
            else:
                self.faults[code] = Fault(kind, opts)
            for k in [k for k in self._counts if k[0] == code]:
                del self._counts[k]

    def clear_faults(self) -> None:
        for code in list(self.faults):
            self.set_fault(code, None)

    def requests_of(self, code: str) -> list[tuple[float, str, int]]:
        return [(t, p, s) for t, c, p, s in self.requests if c == code]

    # -- serving
    def _send(self, h: BaseHTTPRequestHandler, code: str | None, status: int, body: bytes | dict,
              headers: dict | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode()
        with self._lock:
            self.requests.append((time.monotonic(), code or "-", h.path, status))
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        route = self.routes.get(parts.path.rstrip("/"))
        if route is None:
            return self._send(h, None, 404, {"error": f"no endpoint {parts.path}"})
        code, rt = route
        cfg = self.configs[code]
        fault = self.faults.get(code)
        kind = fault.kind if fault else None
        if kind == "slow":
            time.sleep(float(fault.opts.get("delay", 2.0)))
        expected = f"{cfg.auth_scheme} {self.tokens[code]}" if cfg.auth_scheme else self.tokens[code]
        if kind == "auth" or h.headers.get(cfg.auth_header) != expected:
            return self._send(h, code, 401, {"error": "invalid or expired token"},
                              {"WWW-Authenticate": f'{cfg.auth_scheme or "Token"} realm="county {code}"'})
        if kind == "forbidden":
            return self._send(h, code, 403, {"error": f"this token may not read {parts.path}"})
        if kind == "error_500":
            return self._send(h, code, 500, {"error": "internal server error"})
        if kind == "rate_limit_hard":
            return self._send(h, code, 429, {"error": "too many requests"}, {"Retry-After": "3600"})
        with self._lock:
            self._counts[(code, h.path)] += 1
            self._counts[(code, "*")] += 1
            this, overall = self._counts[(code, h.path)], self._counts[(code, "*")]
        if kind == "flaky_500" and this <= int(fault.opts.get("times", 2)):
            status = (500, 502, 503)[(this - 1) % 3]
            return self._send(h, code, status, {"error": "temporarily unavailable"})
        if kind == "rate_limit" and overall <= int(fault.opts.get("times", 1)):
            return self._send(h, code, 429, {"error": "too many requests"},
                              {"Retry-After": str(fault.opts.get("retry_after", 1))})
        try:
            q = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
            names = cfg.params
            low = _instant(q.get(names["updated_from"]))
            high = _instant(q.get(names["updated_to"]))
            size = int(q.get(names["page_size"] if cfg.paging != "offset" else names["limit"], cfg.page_size))
            if size < 1:
                raise ValueError("page size must be >= 1")
        except (ValueError, TypeError) as e:
            return self._send(h, code, 400, {"error": f"bad request: {e}"})
        rows = self.store.window(code, rt, low, high)
        total = len(rows)
        first, next_cursor = True, None
        if cfg.paging == "cursor":
            token = q.get(names["cursor"])
            if token:
                first = False
                try:
                    after = _uncursor(token)
                except (ValueError, TypeError):
                    return self._send(h, code, 400, {"error": "bad cursor"})
                rows = [e for e in rows if e.key > after]
            page_rows, rest = rows[:size], rows[size:]
            if rest:
                next_cursor = _cursor(page_rows[-1])
            last = not rest
        else:
            if cfg.paging == "page":
                index = int(q.get(names["page"], cfg.first_page)) - cfg.first_page
                start = index * size
            else:
                start = int(q.get(names["offset"], 0))
                index = start // size
            first = start == 0
            page_rows = rows[start:start + size]
            last = start + size >= total
        if kind == "vanishing_page" and last and total:
            if not first:
                return self._send(h, code, 410 if cfg.paging == "cursor" else 404, {"error": "page not found"})
            page_rows = []
        doc: dict = {cfg.response["records"]: [self._render(cfg, rt, e.record) for e in page_rows]}
        if cfg.response.get("total"):
            doc[cfg.response["total"]] = total
        if cfg.paging == "cursor" and cfg.response.get("next_cursor"):
            doc[cfg.response["next_cursor"]] = next_cursor
        body = json.dumps(doc, ensure_ascii=False).encode()
        if kind == "malformed_json" and last and total:
            body = body[: max(1, len(body) * 3 // 5)]
        return self._send(h, code, 200, body)

    @staticmethod
    def _render(cfg: ApiConfig, rt: str, record: dict) -> dict:
        out = {}
        omit_nulls = cfg.paging == "cursor"  # some APIs leave null fields out
        for name, api_name in cfg.mappings[rt].items():
            v = record.get(name)
            if isinstance(v, float) and math.isnan(v):
                v = None
            if v is None and omit_nulls:
                continue
            out[api_name] = v
        return out


def _instant(value: str | None) -> datetime | None:
    if value is None or value == "":
        return None
    ts = datetime.fromisoformat(value.replace(" ", "+"))  # a raw '+' in a query string reads as a space
    return ts if ts.tzinfo else ts.replace(tzinfo=TZ)
