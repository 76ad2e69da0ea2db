"""HTTP JSON API source: paged, incremental by ``updated_at``, with a token from an Airflow connection.

Registry entry (``transport: http_api``; every key but ``conn_id`` optional; docs/sources.md)::

    source:
      conn_id: county_411003_api       # Airflow connection: host/port/schema (base URL) and password (the token)
      base_url: https://api.example    # else the connection's scheme://host:port
      base_path: /open/v1              # prefix of every endpoint
      paging: page                     # page | offset | cursor
      page_size: 200
      first_page: 1
      params: {updated_from: updated_since, updated_to: updated_before, page: page, page_size: page_size,
               offset: offset, limit: limit, cursor: cursor}
      response: {records: data, total: total, next_cursor: next_cursor}   # total: null when the API gives none
      endpoints: {enforcement_cases: cases, ...}                          # default: the record type name
      fields: {record_id: id, updated_at: modified_at}                    # contract name -> API name, all types
      record_types: {complaints: {endpoint: petitions, fields: {received_date: accept_date}}}
      ignore_fields: [_links]                                             # API keys that are not contract fields
      auth: {header: Authorization, scheme: Bearer}
      timeout: {connect: 5, read: 30, total: 2m}   # total: one request, headers and the whole body
      max_page_mib: 32                  # a page's body is cut off past this (default SUPERVISION_HTTP_MAX_PAGE_MIB)
      retries: 4                        # per request, on network errors, timeouts and 5xx
      backoff: 1s                       # first back-off; doubles per retry (with jitter) up to backoff_max
      backoff_max: 30s
      max_retry_after: 120s             # a 429/503 asking to wait longer than this ends the pull
      rate_limit_waits: 5               # 429s accepted per request
      deadline: 15m                     # whole pull of one record type
      consistency_retries: 1            # re-read the whole window once when the page sequence is inconsistent

The pull reads every page of the window, checks that the sequence is complete and consistent (total constant
and reached, no vanished page, no repeated page, no cursor loop) and only then returns: a partial window is
never loaded, so the watermark never moves past records that were not received.

Every request has a wall-clock limit that holds while the body streams (``timeout.total``, and the pull's
``deadline``): the socket's read timeout only bounds the gap between two bytes, so a server dripping a byte
every half second would otherwise hold the task for ever. The body is read in pieces and given up past
``max_page_mib`` (checked on Content-Length first), so an oversized page never sits in memory whole.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import requests
import urllib3

from supervision.config.sources import DEFAULT_PARAMS, HttpApiSection
from supervision.contract import RECORD_TYPES, RecordType
from supervision.registry import County
from supervision.settings import TIMEZONE
from supervision.sources.common import (
    MalformedResponse,
    PageSequenceError,
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceRateLimited,
    SourceRequestError,
    SourceUnavailable,
    airflow_connection,
    connection_env,
    describe_window,
    source_config,
    strings_frame,
)

log = logging.getLogger(__name__)
TZ = ZoneInfo(TIMEZONE)
DEFAULT_RESPONSE = {"records": "data", "total": "total", "next_cursor": "next_cursor"}
MAX_PAGES = 100_000
MAX_PAGE_MIB_ENV = "SUPERVISION_HTTP_MAX_PAGE_MIB"
DEFAULT_MAX_PAGE_MIB = 32.0  # a 500-record page is ~0.5 MiB; parsing a page takes a few times its size in memory
READ_CHUNK = 1 << 16


def default_max_page_mib() -> float:
    from supervision import resources

    try:
        return resources.variables().http_max_page_mib
    except resources.ConfigurationError as e:
        raise SourceConfigError(f"{MAX_PAGE_MIB_ENV} must be a number of MiB > 0 ({e})") from None


class PageTooLarge(SourceError):
    """A page's body is larger than ``max_page_mib``: not read further (county side: source_error)."""

    kind = "page_too_large"
    todo = ("数据未丢失：水位线保持不变。请县级接口管理员核查该页为何如此之大；或由工程人员在登记表中调小 page_size、"
            "调大 max_page_mib 后重跑该日期。/ Nothing is lost: the watermark stays. Ask the county's API administrator "
            "why one page is this large, or lower page_size (or raise max_page_mib) in the registry and re-run the date.")


class RequestDeadline(SourceUnavailable):
    """A request (headers and body) did not complete within ``timeout.total`` or the pull's ``deadline``."""

    pull_over = False  # the pull's deadline (not only the request's) is reached: no retry

    todo = ("数据未丢失：水位线保持不变，下次运行会重新拉取此后的全部变更。请县级接口管理员核查接口为何在时限内传不完"
            "一页（服务器发送过慢）。/ Nothing is lost: the watermark stays, and the next run fetches every change "
            "since it. Ask the county's API administrator why a page does not arrive within the time limit.")


def public_url(url: str) -> str:
    """``url`` without user info and query string: what may go into a reason or a log (no secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class ApiConfig:
    county_code: str
    conn_id: str
    base_url: str | None = None
    base_path: str = ""
    paging: str = "page"
    page_size: int = 500
    first_page: int = 1
    params: dict = field(default_factory=lambda: dict(DEFAULT_PARAMS))
    response: dict = field(default_factory=lambda: dict(DEFAULT_RESPONSE))
    endpoints: dict = field(default_factory=dict)  # record type -> endpoint
    mappings: dict = field(default_factory=dict)  # record type -> {contract field: API field}
    ignore_fields: tuple[str, ...] = ()
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    total_timeout: float = 120.0  # one request, headers and body
    max_page_bytes: int = int(DEFAULT_MAX_PAGE_MIB * 2**20)
    retries: int = 4
    backoff: float = 1.0
    backoff_max: float = 30.0
    max_retry_after: float = 120.0
    rate_limit_waits: int = 5
    deadline: float = 900.0
    consistency_retries: int = 1

    @classmethod
    def from_county(cls, county: County) -> ApiConfig:
        """The run-time settings of the county's source section (checked when the registry loaded)."""
        src: HttpApiSection = source_config(county, "http_api")
        return cls(
            county_code=county.code, conn_id=src.conn_id,
            base_url=src.base_url.rstrip("/") if src.base_url else None,
            base_path="/" + src.base_path.strip("/") if src.base_path else "",
            paging=src.paging, page_size=src.page_size, first_page=src.first_page,
            params={**DEFAULT_PARAMS, **src.params}, response=src.response.model_dump(),
            endpoints={rt: src.endpoint(rt) for rt in RECORD_TYPES},
            mappings={rt.name: src.mapping(rt) for rt in RECORD_TYPES.values()}, ignore_fields=src.ignore_fields,
            auth_header=src.auth.header, auth_scheme=src.auth.scheme or "",
            connect_timeout=src.timeout.connect, read_timeout=src.timeout.read, total_timeout=src.timeout.total,
            max_page_bytes=int((src.max_page_mib or default_max_page_mib()) * 2**20),
            retries=src.retries, backoff=src.backoff, backoff_max=src.backoff_max,
            max_retry_after=src.max_retry_after, rate_limit_waits=src.rate_limit_waits, deadline=src.deadline,
            consistency_retries=src.consistency_retries,
        )

    def endpoint_path(self, record_type: str) -> str:
        return f"{self.base_path}/{self.endpoints[record_type].lstrip('/')}"


@dataclass
class Fetched:
    """One window of one record type, as received."""

    frame: object  # pandas DataFrame of strings (contract names) + _row_number
    pages: int
    requests: int
    notes: list[str] = field(default_factory=list)


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(when.tzinfo)).total_seconds())


def _json_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


class HttpApiSource:
    """Pulls windows of one county's API. ``session``, ``sleep`` and ``clock`` are injectable for tests."""

    kind = "http_api"

    def __init__(self, county: County, config: ApiConfig | None = None, *, session: requests.Session | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic):
        self.county = county
        self.cfg = config or ApiConfig.from_county(county)
        self._session = session
        self._sleep, self._clock = sleep, clock
        self._base: str | None = None
        self._headers: dict[str, str] | None = None

    # -- connection
    def _connect(self) -> None:
        if self._headers is not None:
            return
        conn = airflow_connection(self.cfg.conn_id)
        extra = conn.get("extra") or {}
        token = conn.get("password") or extra.get("token")
        if not token:
            raise SourceConfigError(f"Airflow connection {self.cfg.conn_id} ({connection_env(self.cfg.conn_id)}) has "
                                    "no token: put it in the password field (or extra.token)")
        base = self.cfg.base_url or extra.get("base_url")
        if not base:
            host = conn.get("host")
            if not host:
                raise SourceConfigError(f"county {self.county.code}: no base_url in the registry and no host in "
                                        f"Airflow connection {self.cfg.conn_id}")
            if "://" in host:
                base = host.rstrip("/")
            else:
                scheme = conn.get("schema") if conn.get("schema") in ("http", "https") else (
                    "https" if conn.get("conn_type") == "https" else "http")
                base = f"{scheme}://{host}" + (f":{conn['port']}" if conn.get("port") else "")
        self._base = base.rstrip("/")
        value = f"{self.cfg.auth_scheme} {token}" if self.cfg.auth_scheme else str(token)
        self._headers = {self.cfg.auth_header: value, "Accept": "application/json"}
        if self._session is None:
            self._session = requests.Session()

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    def describe(self, record_type: str, low: datetime | None, high: datetime) -> str:
        return f"GET {self.cfg.endpoint_path(record_type)} {describe_window(low, high, TZ)}"

    def target(self, record_type: str) -> str:
        return f"endpoint {self.cfg.endpoint_path(record_type)}"

    # -- pulling
    def fetch(self, rt: RecordType, low: datetime | None, high: datetime) -> Fetched:
        self._connect()
        started = self._clock()
        tries = 0
        while True:
            try:
                return self._fetch_once(rt, low, high, started)
            except PageSequenceError as e:
                if tries >= self.cfg.consistency_retries:
                    raise
                tries += 1
                log.warning("county %s %s: %s; reading the window again", self.county.code, rt.name, e)

    def _fetch_once(self, rt: RecordType, low: datetime | None, high: datetime, started: float) -> Fetched:
        cfg = self.cfg
        url = self._base + cfg.endpoint_path(rt.name)
        names = cfg.params
        window = {names["updated_to"]: high.astimezone(TZ).isoformat()}
        if low is not None:
            window[names["updated_from"]] = low.astimezone(TZ).isoformat()
        records: list[dict] = []
        seen_keys: dict[tuple, int] = {}
        total: int | None = None
        cursors: set[str] = set()
        page, offset, cursor, pages, requests_made = cfg.first_page, 0, None, 0, 0
        id_field = cfg.mappings[rt.name]["record_id"]
        upd_field = cfg.mappings[rt.name]["updated_at"]
        while True:
            if pages >= MAX_PAGES:
                raise PageSequenceError(f"{url}: more than {MAX_PAGES} pages; the paging never ends")
            params = dict(window)
            if cfg.paging == "page":
                params.update({names["page"]: page, names["page_size"]: cfg.page_size})
                label = f"page {page}"
            elif cfg.paging == "offset":
                params.update({names["offset"]: offset, names["limit"]: cfg.page_size})
                label = f"offset {offset}"
            else:
                params[names["page_size"]] = cfg.page_size
                if cursor is not None:
                    params[names["cursor"]] = cursor
                label = f"page {pages + 1}" + (" (cursor)" if cursor else "")
            doc, body, n = self._get_json(url, params, label, first=pages == 0, started=started)
            requests_made += n
            items, page_total, next_cursor = self._parse(doc, body, url, label)
            pages += 1
            if page_total is not None:
                if total is None:
                    total = page_total
                elif page_total != total:
                    raise PageSequenceError(
                        f"{url}: inconsistent page sequence: the total changed from {total} to {page_total} at "
                        f"{label} (records changed while we paged)")
            for it in items:
                if it.get(id_field) is None:
                    continue  # a record without its id: validation's business (record_id.required)
                key = (json.dumps(it.get(id_field), ensure_ascii=False), json.dumps(it.get(upd_field)))
                if key in seen_keys and seen_keys[key] != pages:
                    raise PageSequenceError(
                        f"{url}: inconsistent page sequence: {label} repeats record {it.get(id_field)!r} of page "
                        f"{seen_keys[key]} (the pages shifted while we paged)")
                seen_keys.setdefault(key, pages)
            records.extend(items)
            if cfg.paging == "cursor":
                if not next_cursor:
                    break
                if next_cursor in cursors:
                    raise PageSequenceError(f"{url}: inconsistent page sequence: cursor {next_cursor!r} came back at "
                                            f"{label} (the cursor loops)")
                cursors.add(next_cursor)
                cursor = next_cursor
                if not items:
                    raise PageSequenceError(f"{url}: {label} is empty but names a next cursor")
            else:
                if total is not None:
                    if len(records) >= total:
                        break
                    if not items:
                        raise PageSequenceError(
                            f"{url}: truncated page sequence: {label} came back empty after {len(records)} of "
                            f"{total} records (the rest of the sequence vanished)")
                elif len(items) < cfg.page_size:
                    break
                page += 1
                offset += len(items)
        if total is not None and len(records) != total:
            raise PageSequenceError(f"{url}: truncated page sequence: {len(records)} records received over {pages} "
                                    f"page(s), the API announced {total}")
        return Fetched(self._frame(rt, records), pages, requests_made)

    def _frame(self, rt: RecordType, items: list[dict]):
        mapping = self.cfg.mappings[rt.name]
        back = {api: contract for contract, api in mapping.items()}
        ignore = set(self.cfg.ignore_fields)
        columns: dict[str, None] = dict.fromkeys(rt.field_names)  # an API may omit null fields: absent = empty
        rows = []
        for it in items:
            row = {}
            for k, v in it.items():
                if k in ignore:
                    continue
                name = back.get(k, k)
                if name == "_row_number":
                    raise MalformedResponse("the API sends a field named _row_number, a name the pipeline reserves")
                columns.setdefault(name)
                row[name] = _json_text(v)
            rows.append(row)
        return strings_frame(rows, list(columns))

    def _parse(self, doc, body: bytes, url: str, label: str):
        cfg = self.cfg.response
        if isinstance(doc, list) and cfg["records"] in ("", "."):
            return doc, None, None
        if not isinstance(doc, dict) or not isinstance(doc.get(cfg["records"]), list):
            raise MalformedResponse(f"{url} {label}: expected a JSON object with a list under {cfg['records']!r}, "
                                    f"got {type(doc).__name__}" + (f" with keys {sorted(doc)[:8]}" if isinstance(doc, dict) else ""),
                                    evidence=body)
        items = doc[cfg["records"]]
        if not all(isinstance(r, dict) for r in items):
            raise MalformedResponse(f"{url} {label}: {cfg['records']!r} must hold JSON objects", evidence=body)
        total = None
        if cfg.get("total") and doc.get(cfg["total"]) is not None:
            try:
                total = int(doc[cfg["total"]])
            except (TypeError, ValueError):
                raise MalformedResponse(f"{url} {label}: total {doc[cfg['total']]!r} is not a number",
                                        evidence=body) from None
        next_cursor = doc.get(cfg["next_cursor"]) if cfg.get("next_cursor") else None
        return items, total, (str(next_cursor) if next_cursor not in (None, "") else None)

    def _backoff(self, attempt: int) -> float:
        base = min(self.cfg.backoff_max, self.cfg.backoff * (2 ** (attempt - 1)))
        return base * (0.5 + random.random() / 2)  # noqa: S311 - jitter, not security

    def _deadline_error(self, where: str, begun: float, end: float, pull_end: float, received: int) -> RequestDeadline:
        cfg = self.cfg
        pull_over = end >= pull_end
        limit = (f"整次拉取时限 {cfg.deadline:g} 秒 / the pull's deadline of {cfg.deadline:g}s" if pull_over else
                 f"单次请求时限 {cfg.total_timeout:g} 秒 / the {cfg.total_timeout:g}s limit per request (timeout.total)")
        e = RequestDeadline(
            f"县 {self.county.code} 接口 {where} 超过{limit.split(' / ')[0]}仍未传完，已收到 {received} 字节，已放弃 / "
            f"county {self.county.code}: {where} did not complete within {limit.split(' / ')[1]} "
            f"({received} bytes received after {self._clock() - begun:.1f}s; the server was still sending)")
        e.pull_over = pull_over
        return e

    def _read_body(self, resp: requests.Response, where: str, begun: float, end: float, pull_end: float) -> bytes:
        """The response body, read piece by piece within the request's wall-clock limit and the page byte cap."""
        cap = self.cfg.max_page_bytes
        mib = cap / 2**20
        too_large = lambda zh, en: PageTooLarge(  # noqa: E731
            f"县 {self.county.code} 接口 {where} 单页超过 {mib:g} MiB（{zh}），其余内容未读取 / county "
            f"{self.county.code}: {where}: page over {mib:g} MiB ({en}); the rest was not read (max_page_mib)")
        declared = resp.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > cap:
            raise too_large(f"服务器声明 {int(declared):,} 字节", f"Content-Length {int(declared):,} bytes")
        raw = resp.raw
        if raw is None or not hasattr(raw, "read1"):  # an injected session that answers with ready content
            body = resp.content
            if len(body) > cap:
                raise too_large(f"{len(body):,} 字节", f"{len(body):,} bytes")
            return body
        conn = getattr(raw, "connection", None)
        sock = getattr(conn, "sock", None)
        # backstop: past the limit, shut the socket down, which wakes a read blocked anywhere below us
        watchdog = threading.Timer(max(0.0, end - self._clock()) + 0.05, _shutdown, (sock,)) if sock else None
        if watchdog:
            watchdog.daemon = True
            watchdog.start()
        buf = bytearray()
        try:
            while True:
                left = end - self._clock()
                if left <= 0:
                    raise self._deadline_error(where, begun, end, pull_end, len(buf))
                if sock is not None:  # no single read may outlast the request's limit
                    sock.settimeout(max(0.01, min(self.cfg.read_timeout, left)))
                try:
                    chunk = raw.read1(READ_CHUNK, decode_content=True)
                except (urllib3.exceptions.HTTPError, OSError) as e:
                    if self._clock() >= end:
                        raise self._deadline_error(where, begun, end, pull_end, len(buf)) from None
                    if isinstance(e, urllib3.exceptions.ReadTimeoutError | TimeoutError):
                        raise requests.Timeout(str(e)) from None
                    raise requests.ConnectionError(str(e)) from None
                if not chunk:
                    if self._clock() >= end:  # the watchdog's shutdown reads as the end of the body
                        raise self._deadline_error(where, begun, end, pull_end, len(buf))
                    break
                buf += chunk
                if len(buf) > cap:
                    raise too_large(f"已收到 {len(buf):,} 字节仍未结束", f"{len(buf):,} bytes received and more coming")
        finally:
            if watchdog:
                watchdog.cancel()
        return bytes(buf)

    def _get_json(self, url: str, params: dict, label: str, *, first: bool, started: float):
        """GET one page with retries; returns (document, body bytes, requests made)."""
        cfg = self.cfg
        failures = waits = made = 0
        last = ""
        where = f"{public_url(url)} {label}"
        pull_end = started + cfg.deadline
        while True:
            if self._clock() > pull_end:
                raise SourceUnavailable(f"{where}: gave up after {cfg.deadline:.0f}s for the pull (last: {last or '-'})")
            made += 1
            begun = self._clock()
            end = min(begun + cfg.total_timeout, pull_end)  # this request's wall-clock limit
            try:
                resp = self._session.get(url, params=params, headers=self._headers, stream=True,
                                         timeout=(cfg.connect_timeout, max(0.01, min(cfg.read_timeout, end - begun))),
                                         allow_redirects=False)
                try:
                    body = self._read_body(resp, where, begun, end, pull_end)
                finally:
                    resp.close()
            except RequestDeadline as e:
                if e.pull_over:
                    raise
                last = str(e)
                failures += 1
                if failures > cfg.retries:
                    raise RequestDeadline(f"{e}; {failures} attempt(s)") from None
                self._sleep(self._backoff(failures))
                continue
            except (requests.ConnectionError, requests.Timeout) as e:
                timed_out = isinstance(e, requests.Timeout)
                if self._clock() >= end:  # the read timeout was shortened to the request's limit
                    deadline = self._deadline_error(where, begun, end, pull_end, received=0)
                    if deadline.pull_over:
                        raise deadline from None
                    timed_out = True
                kind = "timeout" if timed_out else "connection error"
                last = f"{kind} ({type(e).__name__}; timeouts {cfg.connect_timeout:g}s connect, {cfg.read_timeout:g}s read)"
                failures += 1
                if failures > cfg.retries:
                    raise SourceUnavailable(f"{where}: {last}, {failures} attempt(s)") from None
                self._sleep(self._backoff(failures))
                continue
            code = resp.status_code
            if code in (401, 403):
                raise SourceAuthError(
                    f"{where}: HTTP {code} {resp.reason}: the API refused our token",
                    todo=(f"Engineers: check the token in Airflow connection {cfg.conn_id} with the county's API "
                          f"administrator (expired, rotated or without the right to read this endpoint), then re-run "
                          f"the date. Nothing was loaded; the watermark stays."))
            if code == 429 or (code == 503 and resp.headers.get("Retry-After")):
                wait = _retry_after(resp.headers.get("Retry-After"))
                waits += 1
                if wait is not None and wait > cfg.max_retry_after:
                    raise SourceRateLimited(
                        f"{where}: HTTP {code}, Retry-After {wait:.0f}s is more than the {cfg.max_retry_after:.0f}s we "
                        "wait", todo="Nothing is lost: the watermark stays, and the next run fetches every change "
                        "since it. If this repeats, agree a higher rate limit with the county.")
                if waits > cfg.rate_limit_waits:
                    raise SourceRateLimited(f"{where}: still HTTP {code} after {waits - 1} wait(s)")
                self._sleep(wait if wait is not None else self._backoff(waits))
                last = f"HTTP {code}"
                continue
            if code >= 500:
                failures += 1
                last = f"HTTP {code} {resp.reason}"
                if failures > cfg.retries:
                    raise SourceUnavailable(f"{where}: {last}, {failures} attempt(s)")
                self._sleep(self._backoff(failures))
                continue
            if code in (404, 410) and not first:
                raise PageSequenceError(f"{where}: the page vanished (HTTP {code} {resp.reason}) in the middle of the "
                                        "sequence", evidence=body[:4096] or None)
            if code >= 300:
                raise SourceRequestError(
                    f"{where}: HTTP {code} {resp.reason}: {body[:200].decode('utf-8', 'replace')}",
                    todo=("Engineers: compare the registry's source config (endpoint, parameters) with the county's API"
                          " documentation; then re-run the date. Nothing was loaded; the watermark stays."))
            try:
                return json.loads(body.decode("utf-8-sig")), body, made
            except (ValueError, UnicodeDecodeError) as e:
                ctype = resp.headers.get("Content-Type", "?")
                raise MalformedResponse(f"{where}: not valid JSON ({type(e).__name__}: {str(e)[:120]}; "
                                        f"Content-Type {ctype}, {len(body)} bytes)", evidence=body) from None


def _shutdown(sock) -> None:
    try:  # the plain socket's shutdown, also under TLS: SSLSocket.shutdown would drop the SSL object under the reader
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # already closed
