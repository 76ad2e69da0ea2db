"""A county of the registry and the registry itself, as typed models (loaded by ``supervision.registry``)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, ValidationInfo, model_validator

from supervision.config.alerting import AlertSettings
from supervision.config.contacts import Contact, ReachableContact
from supervision.config.sources import TRANSPORTS, Source
from supervision.config.values import HHMM, Number, Section, Whole
from supervision.settings import TIMEZONE

DEFAULT_DEADLINE = "06:00"  # next calendar day, Asia/Shanghai (domain: submission deadlines)
DEFAULT_REJECT_THRESHOLD = 0.2  # a file whose rejected share exceeds this is rejected whole (issue 4)
REST_DAY_POLICIES = ("keep", "next_working_day")  # a deadline on a weekend or public holiday stays, or moves
# What a registry entry may say; name and city are checked against the division reference and replaced by it.
ENTRY_KEYS = ("code", "name", "city", "deadline", "deadline_day_offset", "transport", "contact",
              "reject_threshold", "source", "deadline_on_rest_days")


def _share(v: float) -> float:
    if not 0 <= v <= 1:
        raise ValueError(f"{v:g} is not between 0 and 1")
    return v


class County(Section):
    code: str
    name: str
    city_code: str
    city_name: str
    province_code: str
    deadline: HHMM = DEFAULT_DEADLINE
    deadline_day_offset: Whole = 1
    transport: Literal["file_drop", "http_api", "database"] = "file_drop"
    contact: ReachableContact = Contact()  # hand-built counties (tests) may leave it out; a registry entry may not
    reject_threshold: Annotated[Number, AfterValidator(_share)] = DEFAULT_REJECT_THRESHOLD
    source: Source | None = None  # the transport's own model; None only for counties built by hand (tests)
    deadline_on_rest_days: Literal["keep", "next_working_day"] = "keep"  # next_working_day: a rest day moves it

    @model_validator(mode="before")
    @classmethod
    def _tag_source(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        transport = data.get("transport", "file_drop")
        in_registry = bool(info.context and info.context.get("registry"))
        if in_registry:
            data.setdefault("contact", None)  # a registry entry must name its contact
        if transport not in TRANSPORTS:
            data.pop("source", None)  # the transport is wrong: say that, not that the source does not fit it
        elif isinstance(data.get("source"), dict) or (in_registry and data.get("source") is None):
            # the county's transport picks the source model (the YAML does not repeat it inside 'source')
            data["source"] = {**(data.get("source") or {}), "transport": transport}
        return data

    def deadline_at(self, business_date: date) -> datetime:
        """The moment (Asia/Shanghai) by which this county's submission for business_date is due."""
        hh, mm = (int(x) for x in self.deadline.split(":"))
        day = business_date + timedelta(days=self.deadline_day_offset)
        if self.deadline_on_rest_days == "next_working_day":
            from supervision.calendar import next_working_day  # official PRC calendar, with the overrides

            day = next_working_day(day)
        return datetime.combine(day, time(hh, mm), tzinfo=ZoneInfo(TIMEZONE))


class Registry(Section):
    name: str
    path: Path
    counties: tuple[County, ...]
    alerting: AlertSettings = AlertSettings()  # the optional 'alerting' section

    def county(self, code: str) -> County:
        for c in self.counties:
            if c.code == code:
                return c
        raise KeyError(f"county {code} is not in registry {self.path}")

    @property
    def codes(self) -> list[str]:
        return [c.code for c in self.counties]


__all__ = ["DEFAULT_DEADLINE", "DEFAULT_REJECT_THRESHOLD", "ENTRY_KEYS", "REST_DAY_POLICIES", "TRANSPORTS",
           "AlertSettings", "Contact", "County", "ReachableContact", "Registry"]
