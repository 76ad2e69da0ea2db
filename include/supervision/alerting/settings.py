"""Alerting settings: the optional ``alerting`` section of the county registry.

Every key has a default, so a registry without the section works unchanged. Example (all keys)::

    alerting:
      engineers:                       # pipeline alerts and Airflow task failures
        - {name: 数据工程值班, email: data-engineers@supervision.example}
      supervisors:                     # escalation and digests, by division code (province "41", city "4110")
        "41":   [{name: 河南省司法厅执法监督处, email: supervision-41@supervision.example}]
        "4110": [{name: 许昌市司法局执法监督科, channels: ["dingtalk://${DINGTALK_4110}/"]}]
      escalation: {city_after: 2h, province_after: 4h}
      pipeline_deadline: "08:00"       # the nightly run must have recorded every county by then (next day)
      digest_time: "08:30"             # morning digest per city and province
      lookback_days: 3                 # per-date alerts for deadlines passed at most 3 days ago
      chronic_late: {k: 3, n: 10}      # late on k of the last n business dates
      stale_days: {default: 7, reconsideration_cases: 30, litigation_cases: 30, complaints: 14}
      volume: {history_days: 56, min_history: 5, ratio: 3, min_rows: 20, z: 4}
      retry: {first: 5m, max: 1h}      # failed deliveries: exponential back-off between these
      smtp_url: "mailtos://${SMTP_USER}:${SMTP_PASSWORD}@smtp.example.com?from=alerts@example.com"

Contacts (county ``contact`` entries too) choose their channels: ``channels`` is a list of apprise URLs
(``mailto://``, ``dingtalk://``, ``wecombot://``, ``slack://``, ``json://`` ...), where ``email`` means "my
email address through ``smtp_url``"; without ``channels`` a contact is reached by email. ``${VAR}`` in a
URL is read from the environment when sending, so tokens stay out of the repository (and the warehouse).
``SUPERVISION_SMTP_URL`` in the environment overrides ``smtp_url``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from supervision import divisions
from supervision.contract import RECORD_TYPES
from supervision.registry import Contact

DEFAULT_STALE_DAYS = {"enforcement_cases": 7, "reconsideration_cases": 30, "litigation_cases": 30, "complaints": 14}
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_DURATION = re.compile(r"^\s*(\d+)\s*([mhd]?)\s*$")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_UNITS = {"": "minutes", "m": "minutes", "h": "hours", "d": "days"}
KEYS = {"engineers", "supervisors", "escalation", "pipeline_deadline", "digest_time", "lookback_days",
        "chronic_late", "stale_days", "volume", "retry", "smtp_url"}


@dataclass(frozen=True)
class VolumeSettings:
    history_days: int = 56  # calendar days of the county's own history looked at
    min_history: int = 5  # fewer comparable days (same day type) than this: not judged
    ratio: float = 3.0  # anomaly only if rows < median / ratio or rows > median * ratio ...
    min_rows: int = 20  # ... and differ from the median by at least this many rows ...
    z: float = 4.0  # ... and by more than z robust standard deviations (1.4826 * MAD)


@dataclass(frozen=True)
class AlertSettings:
    engineers: tuple[Contact, ...] = ()
    supervisors: dict[str, tuple[Contact, ...]] = field(default_factory=dict)  # division code -> contacts
    city_after: timedelta = timedelta(hours=2)
    province_after: timedelta = timedelta(hours=4)
    pipeline_deadline: str = "08:00"
    digest_time: str = "08:30"
    lookback_days: int = 3
    chronic_k: int = 3
    chronic_n: int = 10
    stale_days: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_STALE_DAYS))
    volume: VolumeSettings = field(default_factory=VolumeSettings)
    retry_first: timedelta = timedelta(minutes=5)
    retry_max: timedelta = timedelta(hours=1)
    smtp_url: str | None = None

    def contacts_of(self, division_code: str) -> tuple[Contact, ...]:
        return self.supervisors.get(division_code, ())


def parse_duration(value) -> timedelta:
    """``90`` (minutes), ``"30m"``, ``"2h"``, ``"1d"``."""
    m = _DURATION.match(str(value))
    if not m or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration like 30m, 2h or 1d")
    return timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})


def parse_contact(value, where: str, errors: list[str]) -> Contact | None:
    if not isinstance(value, dict) or not value.get("name") or not (value.get("email") or value.get("channels")):
        errors.append(f"{where}: a contact needs a name and an email or notification channels")
        return None
    channels = value.get("channels") or ()
    if isinstance(channels, str) or not all(isinstance(c, str) for c in channels):
        errors.append(f"{where}: channels must be a list of URLs")
        return None
    for c in channels:
        if c != "email" and not _URL.match(c):
            errors.append(f"{where}: channel {c!r} is not an apprise URL (scheme://...) or 'email'")
        if c == "email" and not value.get("email"):
            errors.append(f"{where}: channel 'email' needs the contact's email")
    return Contact(name=str(value["name"]), email=value.get("email"), phone=value.get("phone"),
                   channels=tuple(channels))


def parse_alerting(doc, path: Path | str, errors: list[str]) -> AlertSettings:
    """The registry's ``alerting`` section; problems are appended to ``errors`` naming the file and key."""
    where = f"{path}: alerting"
    if doc is None:
        return AlertSettings()
    if not isinstance(doc, dict):
        errors.append(f"{where}: expected a mapping")
        return AlertSettings()
    for key in sorted(set(doc) - KEYS):
        errors.append(f"{where}: unknown key {key!r} (known: {', '.join(sorted(KEYS))})")
    kw: dict = {}

    def contacts(value, at: str) -> tuple[Contact, ...]:
        if not isinstance(value, list):
            errors.append(f"{at}: expected a list of contacts")
            return ()
        return tuple(c for i, v in enumerate(value) if (c := parse_contact(v, f"{at}[{i}]", errors)))

    if "engineers" in doc:
        kw["engineers"] = contacts(doc["engineers"], f"{where}.engineers")
    sup = doc.get("supervisors") or {}
    if not isinstance(sup, dict):
        errors.append(f"{where}.supervisors: expected a mapping of division code to contacts")
        sup = {}
    kw["supervisors"] = {}
    for code, value in sup.items():
        code = str(code)
        ref = divisions.division(code)
        if ref is None or ref["level"] not in ("province", "city"):
            errors.append(f"{where}.supervisors: {code} is not a province or city code in {divisions.EDITION}")
            continue
        kw["supervisors"][code] = contacts(value, f"{where}.supervisors.{code}")

    def number(value, at: str, cast, low=None, high=None):
        try:
            if isinstance(value, bool):
                raise ValueError
            n = cast(value)
        except (TypeError, ValueError):
            errors.append(f"{at}: {value!r} is not a number")
            return None
        if (low is not None and n < low) or (high is not None and n > high):
            errors.append(f"{at}: {n} is out of range")
            return None
        return n

    def section(key: str) -> dict:
        value = doc.get(key) or {}
        if not isinstance(value, dict):
            errors.append(f"{where}.{key}: expected a mapping")
            return {}
        return value

    def duration(value, at: str):
        try:
            return parse_duration(value)
        except ValueError as e:
            errors.append(f"{at}: {e}")
            return None

    esc = section("escalation")
    for key in sorted(set(esc) - {"city_after", "province_after"}):
        errors.append(f"{where}.escalation: unknown key {key!r}")
    for key in ("city_after", "province_after"):
        if key in esc and (d := duration(esc[key], f"{where}.escalation.{key}")) is not None:
            kw[key] = d
    if kw.get("city_after", AlertSettings.city_after) > kw.get("province_after", AlertSettings.province_after):
        errors.append(f"{where}.escalation: city_after must not be later than province_after")
    for key in ("pipeline_deadline", "digest_time"):
        if key in doc:
            if not _TIME.match(str(doc[key])):
                errors.append(f"{where}.{key}: {doc[key]!r} is not HH:MM")
            else:
                kw[key] = str(doc[key])
    if "lookback_days" in doc and (n := number(doc["lookback_days"], f"{where}.lookback_days", int, 1, 60)):
        kw["lookback_days"] = n
    chronic = section("chronic_late")
    k = number(chronic.get("k", 3), f"{where}.chronic_late.k", int, 1)
    n = number(chronic.get("n", 10), f"{where}.chronic_late.n", int, 1, 120)
    if k and n:
        if k > n:
            errors.append(f"{where}.chronic_late: k ({k}) is larger than n ({n})")
        kw["chronic_k"], kw["chronic_n"] = k, n
    stale_doc = section("stale_days")
    base = number(stale_doc["default"], f"{where}.stale_days.default", int, 1, 366) if "default" in stale_doc else None
    stale = {t: base or DEFAULT_STALE_DAYS[t] for t in RECORD_TYPES}  # 'default' applies to types not listed
    for key, value in stale_doc.items():
        if key == "default":
            continue
        if key not in RECORD_TYPES:
            errors.append(f"{where}.stale_days: {key!r} is not a record type (or 'default')")
        elif (days := number(value, f"{where}.stale_days.{key}", int, 1, 366)) is not None:
            stale[key] = days
    kw["stale_days"] = stale
    vol = section("volume")
    vkw = {}
    for key, cast, low in (("history_days", int, 7), ("min_history", int, 2), ("ratio", float, 1.0),
                           ("min_rows", int, 0), ("z", float, 0.0)):
        if key in vol and (v := number(vol[key], f"{where}.volume.{key}", cast, low)) is not None:
            vkw[key] = v
    for key in sorted(set(vol) - {"history_days", "min_history", "ratio", "min_rows", "z"}):
        errors.append(f"{where}.volume: unknown key {key!r}")
    kw["volume"] = VolumeSettings(**vkw)
    retry = section("retry")
    for key, attr in (("first", "retry_first"), ("max", "retry_max")):
        if key in retry and (d := duration(retry[key], f"{where}.retry.{key}")) is not None:
            kw[attr] = d
    if doc.get("smtp_url") is not None:
        if not _URL.match(str(doc["smtp_url"])):
            errors.append(f"{where}.smtp_url: {doc['smtp_url']!r} is not an apprise mailto URL")
        else:
            kw["smtp_url"] = str(doc["smtp_url"])
    return AlertSettings(**kw)
