"""The county registry: which counties submit, by when, how, and who to tell.

One YAML file; adding a county is one entry. Loading validates every entry against the division
reference (the code must be a county-level unit; a given name or city must match it), so a typo
fails loudly at load time with the entry it came from, not at 3 a.m. in a task.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import yaml

from supervision import divisions
from supervision.errors import DeterministicError
from supervision.settings import TIMEZONE, registry_path

if TYPE_CHECKING:
    from supervision.alerting.settings import AlertSettings

TRANSPORTS = ("file_drop", "http_api", "database")
DEFAULT_DEADLINE = "06:00"  # next calendar day, Asia/Shanghai (domain: submission deadlines)
DEFAULT_REJECT_THRESHOLD = 0.2  # a file whose rejected share exceeds this is rejected whole (issue 4)
REST_DAY_POLICIES = ("keep", "next_working_day")  # a deadline on a weekend or public holiday stays, or moves


class RegistryError(DeterministicError, ValueError):
    """The registry file is wrong; the message names the file and the entry. A retry cannot fix it."""


@dataclass(frozen=True)
class Contact:
    name: str
    email: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = ()  # notification URLs (apprise style), used by alerting


@dataclass(frozen=True)
class County:
    code: str
    name: str
    city_code: str
    city_name: str
    province_code: str
    deadline: str = DEFAULT_DEADLINE
    deadline_day_offset: int = 1
    transport: str = "file_drop"
    contact: Contact = field(default_factory=lambda: Contact(name=""))
    reject_threshold: float = DEFAULT_REJECT_THRESHOLD
    source: dict = field(default_factory=dict)
    deadline_on_rest_days: str = "keep"  # next_working_day: a deadline on a rest day moves to the next working day

    def deadline_at(self, business_date: date) -> datetime:
        """The moment (Asia/Shanghai) by which this county's submission for business_date is due."""
        hh, mm = (int(x) for x in self.deadline.split(":"))
        day = business_date + timedelta(days=self.deadline_day_offset)
        if self.deadline_on_rest_days == "next_working_day":
            from supervision.calendar import next_working_day  # official PRC calendar, with the overrides

            day = next_working_day(day)
        return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(TIMEZONE))


def _no_alerting():
    from supervision.alerting.settings import AlertSettings

    return AlertSettings()


@dataclass(frozen=True)
class Registry:
    name: str
    path: Path
    counties: tuple[County, ...]
    alerting: AlertSettings = field(default_factory=_no_alerting)  # the optional 'alerting' section

    def county(self, code: str) -> County:
        for c in self.counties:
            if c.code == code:
                return c
        raise KeyError(f"county {code} is not in registry {self.path}")

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.counties]


_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def load_registry(path: str | Path | None = None) -> Registry:
    path = Path(path) if path else registry_path()
    try:
        # libyaml's safe loader when present: the national registry (2,978 counties) parses in 0.8 s instead of
        # 10-20 s, and every mapped task loads it (docs/benchmarks.md, national scale)
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise RegistryError(f"registry file {path} does not exist (set SUPERVISION_REGISTRY or --registry)") from None
    except yaml.YAMLError as e:
        raise RegistryError(f"registry file {path} is not valid YAML: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("counties"), list):
        raise RegistryError(f"registry file {path}: expected a mapping with a 'counties' list")
    defaults = doc.get("defaults") or {}
    errors: list[str] = []
    counties: list[County] = []
    seen: set[str] = set()
    for i, entry in enumerate(doc["counties"]):
        where = f"{path}: counties[{i}]"
        if not isinstance(entry, dict) or "code" not in entry:
            errors.append(f"{where}: each entry needs at least a 'code'")
            continue
        merged = {**defaults, **entry}
        code = str(merged["code"])
        where = f"{where} (code {code})"
        ref = divisions.division(code)
        if ref is None or ref["level"] != "county":
            errors.append(f"{where}: {code} is not a county-level division in {divisions.EDITION}")
            continue
        if code in seen:
            errors.append(f"{where}: county {code} is listed twice")
            continue
        seen.add(code)
        if merged.get("name") and merged["name"] != ref["name"]:
            errors.append(f"{where}: name {merged['name']!r} does not match the division reference {ref['name']!r}")
        city = divisions.division(ref["city_code"])
        if merged.get("city") and str(merged["city"]) not in (ref["city_code"], city["name"]):
            errors.append(f"{where}: city {merged['city']!r} is not the parent of {code} ({city['name']}, {city['code']})")
        deadline = str(merged.get("deadline", DEFAULT_DEADLINE))
        if not _TIME.match(deadline):
            hint = " (quote it: YAML reads an unquoted 7:30 as the number 450)" if isinstance(
                merged.get("deadline"), int) else ""
            errors.append(f"{where}: deadline {deadline!r} is not HH:MM{hint}")
        transport = merged.get("transport", "file_drop")
        if transport not in TRANSPORTS:
            errors.append(f"{where}: transport {transport!r} is not one of {', '.join(TRANSPORTS)}")
        try:
            threshold = float(merged.get("reject_threshold", DEFAULT_REJECT_THRESHOLD))
        except (TypeError, ValueError):
            errors.append(f"{where}: reject_threshold {merged.get('reject_threshold')!r} is not a number")
            threshold = DEFAULT_REJECT_THRESHOLD
        if not 0 <= threshold <= 1:
            errors.append(f"{where}: reject_threshold {threshold} is not between 0 and 1")
        try:
            day_offset = int(merged.get("deadline_day_offset", 1))
        except (TypeError, ValueError):
            errors.append(f"{where}: deadline_day_offset {merged.get('deadline_day_offset')!r} is not a whole number")
            day_offset = 1
        rest_days = merged.get("deadline_on_rest_days", "keep")
        if rest_days not in REST_DAY_POLICIES:
            errors.append(f"{where}: deadline_on_rest_days {rest_days!r} is not one of {', '.join(REST_DAY_POLICIES)}")
        c = merged.get("contact") or {}
        if not isinstance(c, dict):
            c = {}  # e.g. a bare name: reported as a missing contact below
        if not c.get("name") or not (c.get("email") or c.get("channels")):
            errors.append(f"{where}: contact needs a name and an email or notification channels")
        counties.append(County(
            code=code, name=ref["name"], city_code=ref["city_code"], city_name=city["name"],
            province_code=ref["province_code"], deadline=deadline,
            deadline_day_offset=day_offset, transport=transport,
            contact=Contact(name=c.get("name", ""), email=c.get("email"), phone=c.get("phone"),
                            channels=tuple(c.get("channels") or ())),
            reject_threshold=threshold, source=dict(merged.get("source") or {}), deadline_on_rest_days=rest_days,
        ))
    from supervision.alerting.settings import parse_alerting  # needs Contact, defined above

    alerting = parse_alerting(doc.get("alerting"), path, errors)
    if errors:
        raise RegistryError("invalid county registry:\n  " + "\n  ".join(errors))
    return Registry(name=str(doc.get("name", path.stem)), path=path, counties=tuple(counties), alerting=alerting)
