"""Helpers for the pull-source unit tests: small registries, hand-made records, a recording sleep."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from supervision.registry import load_registry

TZ = ZoneInfo("Asia/Shanghai")
FAST = {"timeout": {"connect": 1, "read": 1}, "retries": 2, "backoff": "10ms", "backoff_max": "50ms",
        "max_retry_after": 5, "deadline": 30}


def registry(tmp_path: Path, entries: list[dict]):
    """A registry of the given entries (code, transport, source, ...); contacts filled in."""
    doc = {"name": "pull-test", "counties": [
        {"contact": {"name": f"data {e['code']}", "email": f"data-{e['code']}@example.org"}, **e} for e in entries]}
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_registry(path)


def api_entry(code: str, **source) -> dict:
    return {"code": code, "transport": "http_api",
            "source": {"conn_id": f"county_{code}_api", "base_path": f"/county/{code}", "page_size": 5, **FAST,
                       **source}}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, tzinfo=TZ)


def records(code: str, n: int, start: datetime, step: timedelta = timedelta(minutes=7), prefix: str = "ENF"
            ) -> list[tuple[datetime, dict]]:
    """n enforcement records of county ``code`` modified from ``start`` on (logical values, contract names)."""
    out = []
    for i in range(n):
        ts = start + i * step
        out.append((ts, {"record_id": f"{prefix}-{code}-{i:04d}", "county_code": code, "updated_at": ts.isoformat(),
                         "case_number": f"许罚〔2026〕{i + 1}号" if i % 3 else None, "is_major": i % 2 == 0,
                         "fine_amount": 1200.5 if i % 4 == 0 else None, "filed_date": "2026-10-01"}))
    return out


class Sleeps:
    """A sleep that records what it was asked to wait and returns at once."""

    def __init__(self):
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
