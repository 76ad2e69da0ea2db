"""A person or team to tell: county data contacts, supervisors, engineers.

``channels`` is a list of apprise URLs (``mailto://``, ``dingtalk://``, ``wecombot://``, ``json://`` ...) where
``email`` means "my email address through ``smtp_url``"; without ``channels`` a contact is reached by email.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from supervision.config.values import URL, Section

UNREACHABLE = "a contact needs a name and an email or notification channels"


class Contact(Section):
    name: str = ""
    email: str | None = None
    phone: str | None = None
    channels: tuple[str, ...] = ()  # notification URLs (apprise style), used by alerting

    def __init__(self, name: str = "", /, **data: Any):  # Contact("许昌市监督科", email=...) as before
        super().__init__(name=data.pop("name", name), **data)


def _mapping(value: Any) -> Any:
    if not isinstance(value, dict | Contact):  # missing, or e.g. a bare name
        raise ValueError(UNREACHABLE)
    return value


def _reachable(c: Contact) -> Contact:
    if not c.name or not (c.email or c.channels):
        raise ValueError(UNREACHABLE)
    for ch in c.channels:
        if ch != "email" and not URL.match(ch):
            raise ValueError(f"channel {ch!r} is not an apprise URL (scheme://...) or 'email'")
        if ch == "email" and not c.email:
            raise ValueError("channel 'email' needs the contact's email")
    return c


# A contact in the registry: somebody we can actually reach.
ReachableContact = Annotated[Contact, BeforeValidator(_mapping), AfterValidator(_reachable)]
