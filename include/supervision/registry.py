"""The county registry: which counties submit, by when, how, and who to tell.

One YAML file; adding a county is one entry. Loading checks every entry, its ``source`` section included, with
the typed models of ``supervision.config`` and against the division reference (the code must be a county-level
unit; a given name or city must match it), so a typo fails loudly at load time naming the file, the entry and
the key, not at 3 a.m. in a task. Every problem of the file is reported at once, one line each.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from supervision import divisions
from supervision.config.alerting import AlertingSection, AlertSettings
from supervision.config.contacts import Contact
from supervision.config.county import (
    DEFAULT_DEADLINE,
    DEFAULT_REJECT_THRESHOLD,
    ENTRY_KEYS,
    REST_DAY_POLICIES,
    County,
    Registry,
)
from supervision.config.sources import TRANSPORTS
from supervision.config.values import problems
from supervision.errors import DeterministicError
from supervision.settings import registry_path


class RegistryError(DeterministicError, ValueError):
    """The registry file is wrong; the message names the file and the entry. A retry cannot fix it."""


def load_registry(path: str | Path | None = None, only: list[str] | None = None) -> Registry:
    """The registry at ``path`` (else SUPERVISION_REGISTRY), every entry checked; with ``only``, just those
    counties' entries are checked and kept (a mapped task needs its shard's ten, not the nation's 2,978: 0.3 s
    less per task; ``prepare`` has checked the whole file), and a code not in the file is an error."""
    path = Path(path) if path else registry_path()
    wanted = set(only) if only is not None else None
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
        if wanted is not None and code not in wanted:
            continue
        where = f"{where} (code {code})"
        ref = divisions.division(code)
        if ref is None or ref["level"] != "county":
            errors.append(f"{where}: {code} is not a county-level division in {divisions.EDITION}")
            continue
        if code in seen:
            errors.append(f"{where}: county {code} is listed twice")
            continue
        seen.add(code)
        if (county := _county(merged, ref, where, errors)) is not None:
            counties.append(county)
    alerting = AlertSettings()
    try:
        alerting = AlertingSection.model_validate(doc["alerting"] if doc.get("alerting") is not None else {}).settings()
    except ValidationError as e:
        errors.extend(problems(e, str(path), root=("alerting",)))
    if wanted is not None and (absent := sorted(wanted - seen)):
        errors.append(f"{path}: no entry for county {', '.join(absent)}")
    if errors:
        raise RegistryError("invalid county registry:\n  " + "\n  ".join(errors))
    return Registry(name=str(doc.get("name", path.stem)), path=path, counties=tuple(counties), alerting=alerting)


def _county(entry: dict, ref: dict, where: str, errors: list[str]) -> County | None:
    """One entry, checked against its division ``ref`` and the County model; None when it is wrong."""
    code = ref["code"]
    found: list[str] = []
    unknown = sorted(str(k) for k in entry if k not in ENTRY_KEYS)
    if unknown:
        found.append(f"{where}: unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                     f"(known: {', '.join(ENTRY_KEYS)})")
    if entry.get("name") and entry["name"] != ref["name"]:
        found.append(f"{where}: name: {entry['name']!r} does not match the division reference {ref['name']!r}")
    city = divisions.division(ref["city_code"])
    if entry.get("city") and str(entry["city"]) not in (ref["city_code"], city["name"]):
        found.append(f"{where}: city: {entry['city']!r} is not the parent of {code} ({city['name']}, {city['code']})")
    data = {k: v for k, v in entry.items() if k in ENTRY_KEYS and k not in ("name", "city")}
    data.update(code=code, name=ref["name"], city_code=ref["city_code"], city_name=city["name"],
                province_code=ref["province_code"])
    county = None
    try:
        county = County.model_validate(data, context={"registry": True})
    except ValidationError as e:
        found.extend(problems(e, where))
    errors.extend(found)
    return None if found else county


__all__ = ["DEFAULT_DEADLINE", "DEFAULT_REJECT_THRESHOLD", "REST_DAY_POLICIES", "TRANSPORTS", "AlertSettings",
           "Contact", "County", "Registry", "RegistryError", "load_registry"]
