"""Helpers for the alerting integration tests: local SMTP sink, webhook receiver, test registry, ledger rows."""

from __future__ import annotations

import email
import json
import socket
import threading
import time
from datetime import date, datetime
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from zoneinfo import ZoneInfo

from psycopg import sql

from supervision.warehouse.ledger import record_submission, write_quarantine

TZ = ZoneInfo("Asia/Shanghai")
TYPES = ("enforcement_cases", "reconsideration_cases", "litigation_cases", "complaints")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def at(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


class SmtpSink:
    """A real SMTP server on 127.0.0.1 that keeps what it receives."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.port = free_port()
        self.messages: list[dict] = []
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html"))
        self.messages.append({"to": list(envelope.rcpt_tos), "subject": str(msg["subject"]),
                              "body": body.get_content() if body else ""})
        return "250 OK"

    def to(self, address: str) -> list[dict]:
        return [m for m in self.messages if address in m["to"]]

    def stop(self):
        self._controller.stop()


class Webhook:
    """A real HTTP server on 127.0.0.1 that keeps every JSON POST (apprise json:// URLs)."""

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.received: list[tuple[str, dict]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                n = int(self.headers.get("Content-Length") or 0)
                received.append((self.path, json.loads(self.rfile.read(n) or b"{}")))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[dict]:
        return [p for x, p in self.received if x == path]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()


def registry_file(tmp_path: Path, smtp: SmtpSink, webhook: Webhook, codes: list[str], *, by_email=(),
                  thresholds: dict[str, float] | None = None, extra: str = "", name="registry.yaml") -> Path:
    """A registry of these counties whose contacts are the local sinks."""
    from supervision import divisions

    lines = ["name: alerting-test", "alerting:",
             f'  smtp_url: "mailto://127.0.0.1:{smtp.port}?smtp=127.0.0.1&mode=insecure&from=alerts@supervision.example"',
             f'  engineers: [{{name: 数据工程值班, channels: ["{webhook.url("/engineers")}"]}}]',
             "  supervisors:", '    "41": [{name: 河南省监督处, email: supervision-41@supervision.example}]']
    for city in sorted({c[:4] for c in codes}):
        lines.append(f'    "{city}": [{{name: {city}市监督科, channels: ["{webhook.url("/city/" + city)}"]}}]')
    lines += [extra.rstrip()] if extra else []
    lines.append("counties:")
    for c in codes:
        name = divisions.division(c)["name"]
        contact = (f"{{name: {name}数据专员, email: data-{c}@supervision.example}}" if c in by_email else
                   f'{{name: {name}数据专员, channels: ["{webhook.url("/county/" + c)}"]}}')
        lines += [f'  - code: "{c}"', f"    contact: {contact}"]
        if thresholds and c in thresholds:
            lines.append(f"    reject_threshold: {thresholds[c]}")
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def submit(conn, county: str, day: date, rt: str, status: str = "loaded", *, received: datetime | None = None,
           sha: str | None = None, rows: int = 100, rules: tuple[str, ...] = (), bad_rows: int = 0) -> int:
    """One ledger attempt (as the pipeline records it), with quarantine rows for rejected / quarantined files."""
    has_file = status not in ("late", "missing", "failed")
    sha = sha or (f"{county}-{day}-{rt}-{status}" if has_file else None)
    quarantined = rows if status == "rejected" else bad_rows
    sid = record_submission(
        conn, county_code=county, record_type=rt, business_date=day, source_kind="file_drop",
        source_file=f"{county}/{day}/{rt}.csv" if has_file else None, file_sha256=sha, file_format="csv",
        encoding="utf-8", received_at=received if has_file else None, manifest_rows=rows, manifest_status="ok",
        rows_received=rows if has_file else 0, rows_loaded=0 if status == "rejected" else rows - bad_rows,
        rows_quarantined=quarantined if has_file else 0, status=status, reason=f"test: {status}", lake_path=None,
        validation_ref=f"/data/validation/{day}/{county}/{rt}.json" if has_file else None, run_id="test")
    if has_file and quarantined:
        write_quarantine(conn, sid, [
            {"row_number": i + 1, "record_id": f"r{i}", "raw_row": {"record_id": f"r{i}"},
             "failed_rules": list(rules) + (["party_id.identifier"] if i < bad_rows else []),
             "messages": ["test"] * (len(rules) + (i < bad_rows))} for i in range(quarantined)])
    return sid


def submit_day(conn, county: str, day: date, received: datetime, status="loaded", types=TYPES) -> list[int]:
    return [submit(conn, county, day, rt, status, received=received) for rt in types]


def alerts(conn, where: str = "TRUE") -> list[dict]:
    from psycopg.rows import dict_row

    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(sql.SQL("SELECT * FROM ops.alert WHERE {} ORDER BY alert_id").format(sql.SQL(where))).fetchall()


def keys(conn, where: str = "state <> 'resolved'") -> set[tuple]:
    return {(a["kind"], a["county_code"], a["record_type"], a["business_date"]) for a in alerts(conn, where)}


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
