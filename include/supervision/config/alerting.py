"""The registry's optional ``alerting`` section (:class:`AlertingSection`, shaped like the YAML) and the settings
alerting reads (:class:`AlertSettings`, flat). Every key has a default; the YAML is described in
``supervision.alerting.settings``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from supervision import divisions
from supervision.config.contacts import Contact, ReachableContact
from supervision.config.values import HHMM, URL, Minutes, Number, Section, Whole
from supervision.contract import RECORD_TYPES

DEFAULT_STALE_DAYS = {"enforcement_cases": 7, "reconsideration_cases": 30, "litigation_cases": 30, "complaints": 14}


class VolumeSettings(Section):
    history_days: Annotated[Whole, Field(ge=7)] = 56  # calendar days of the county's own history looked at
    min_history: Annotated[Whole, Field(ge=2)] = 5  # fewer comparable days (same day type) than this: not judged
    ratio: Annotated[Number, Field(ge=1.0)] = 3.0  # anomaly only if rows < median / ratio or rows > median * ratio ...
    min_rows: Annotated[Whole, Field(ge=0)] = 20  # ... and differ from the median by at least this many rows ...
    z: Annotated[Number, Field(ge=0.0)] = 4.0  # ... and by more than z robust standard deviations (1.4826 * MAD)


class AlertSettings(Section):
    """What alerting reads (flat); built from the registry's section by :meth:`AlertingSection.settings`."""

    engineers: tuple[Contact, ...] = ()
    supervisors: dict[str, tuple[Contact, ...]] = {}  # division code -> contacts
    city_after: timedelta = timedelta(hours=2)
    province_after: timedelta = timedelta(hours=4)
    pipeline_deadline: str = "08:00"
    digest_time: str = "08:30"
    lookback_days: int = 3
    chronic_k: int = 3
    chronic_n: int = 10
    stale_days: dict[str, int] = dict(DEFAULT_STALE_DAYS)
    volume: VolumeSettings = VolumeSettings()
    retry_first: timedelta = timedelta(minutes=5)
    retry_max: timedelta = timedelta(hours=1)
    smtp_url: str | None = None

    def contacts_of(self, division_code: str) -> tuple[Contact, ...]:
        return self.supervisors.get(division_code, ())


_DEFAULT = AlertSettings()


class Escalation(Section):
    city_after: Minutes = _DEFAULT.city_after
    province_after: Minutes = _DEFAULT.province_after

    @model_validator(mode="after")
    def _order(self) -> Escalation:
        if self.city_after > self.province_after:
            raise ValueError("city_after must not be later than province_after")
        return self


class ChronicLate(Section):
    k: Annotated[Whole, Field(ge=1)] = _DEFAULT.chronic_k  # late on k ...
    n: Annotated[Whole, Field(ge=1, le=120)] = _DEFAULT.chronic_n  # ... of the last n business dates

    @model_validator(mode="after")
    def _order(self) -> ChronicLate:
        if self.k > self.n:
            raise ValueError(f"k ({self.k}) is larger than n ({self.n})")
        return self


class Retry(Section):
    first: Minutes = _DEFAULT.retry_first  # failed deliveries: exponential back-off between these
    max: Minutes = _DEFAULT.retry_max


def _stale_keys(value: Any) -> Any:
    if isinstance(value, dict):
        for key in value:
            if key != "default" and key not in RECORD_TYPES:
                raise ValueError(f"{key!r} is not a record type (or 'default')")
    return value


def _division_keys(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out = {}
    for code, contacts in value.items():
        ref = divisions.division(str(code))
        if ref is None or ref["level"] not in ("province", "city"):
            raise ValueError(f"{code} is not a province or city code in {divisions.EDITION}")
        out[str(code)] = contacts  # "41" and an unquoted 41 alike
    return out


def _url(value: str | None) -> str | None:
    if value is not None and not URL.match(value):
        raise ValueError(f"{value!r} is not an apprise mailto URL")
    return value


Days = Annotated[Whole, Field(ge=1, le=366)]


class AlertingSection(Section):
    """The ``alerting`` section as written in the registry."""

    engineers: tuple[ReachableContact, ...] = ()  # pipeline alerts and Airflow task failures
    supervisors: Annotated[dict[str, tuple[ReachableContact, ...]], BeforeValidator(_division_keys)] = {}
    escalation: Escalation = Escalation()
    pipeline_deadline: HHMM = _DEFAULT.pipeline_deadline
    digest_time: HHMM = _DEFAULT.digest_time
    lookback_days: Annotated[Whole, Field(ge=1, le=60)] = _DEFAULT.lookback_days
    chronic_late: ChronicLate = ChronicLate()
    stale_days: Annotated[dict[str, Days], BeforeValidator(_stale_keys)] = {}  # 'default' and/or per record type
    volume: VolumeSettings = VolumeSettings()
    retry: Retry = Retry()
    smtp_url: Annotated[str | None, AfterValidator(_url)] = None

    @field_validator("supervisors", "escalation", "chronic_late", "stale_days", "volume", "retry", mode="before")
    @classmethod
    def _absent(cls, v: Any, info) -> Any:
        return {} if v is None else v  # "supervisors:" with nothing under it

    def settings(self) -> AlertSettings:
        stale = dict(self.stale_days)
        base = stale.pop("default", None)
        return AlertSettings(
            engineers=self.engineers, supervisors=self.supervisors,
            city_after=self.escalation.city_after, province_after=self.escalation.province_after,
            pipeline_deadline=self.pipeline_deadline, digest_time=self.digest_time, lookback_days=self.lookback_days,
            chronic_k=self.chronic_late.k, chronic_n=self.chronic_late.n,
            # 'default' applies to the record types not listed
            stale_days={t: stale.get(t, base or DEFAULT_STALE_DAYS[t]) for t in RECORD_TYPES},
            volume=self.volume, retry_first=self.retry.first, retry_max=self.retry.max, smtp_url=self.smtp_url)
