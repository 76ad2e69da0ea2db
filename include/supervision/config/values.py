"""What every registry section shares: the base model, value types (HH:MM, durations) and readable errors.

A registry is written by people: every problem is reported as one line that names where it is (``<file>:
counties[3] (code 411002): source.paging: 'pages' is not one of page, offset, cursor``), all problems of a
file at once, and never as a traceback. :func:`problems` turns pydantic's errors into such lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import timedelta
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, model_validator

_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_SECONDS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_SECOND_UNITS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "h": 3600, "d": 86400}
_MINUTES = re.compile(r"^\s*(\d+)\s*([mhd]?)\s*$")
_MINUTE_UNITS = {"": "minutes", "m": "minutes", "h": "hours", "d": "days"}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


class Section(BaseModel):
    """A mapping of the registry: immutable, unknown keys refused with the list of known ones."""

    model_config = ConfigDict(frozen=True, extra="forbid", coerce_numbers_to_str=True, populate_by_name=True)
    what: ClassVar[str] = ""  # e.g. " for an http_api source", appended to the unknown-key message

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            known = {f.alias or name for name, f in cls.model_fields.items() if name != "transport"}
            unknown = sorted(str(k) for k in data if k not in known and k not in cls.model_fields)
            if unknown:
                keys = ", ".join(repr(k) for k in unknown)
                known_text = f"known: {', '.join(sorted(known))}" if known else "it takes none"
                raise ValueError(f"unknown key{'s' if len(unknown) > 1 else ''} {keys}{cls.what} ({known_text})")
        return data


def seconds(value: Any) -> float:
    """A duration in seconds: a number, or '500ms', '30s', '5m', '2h', '1d' (pull sources)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int | float):
        return float(value)
    m = _SECONDS.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration (e.g. 30, '30s', '5m', '2h', '1d')")
    return float(m.group(1)) * _SECOND_UNITS[m.group(2)]


def parse_duration(value: Any) -> timedelta:
    """``90`` (minutes), ``"30m"``, ``"2h"``, ``"1d"`` (alerting)."""
    if isinstance(value, timedelta):
        return value
    m = _MINUTES.match(str(value))
    if not m or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration like 30m, 2h or 1d")
    return timedelta(**{_MINUTE_UNITS[m.group(2)]: int(m.group(1))})


def _hhmm(value: Any) -> str:
    text = str(value)
    if not _TIME.match(text):
        # YAML 1.1 (PyYAML) reads an unquoted 7:30 as the base-60 integer 450 (07:30 stays a string)
        hint = " (quote it: YAML reads an unquoted 7:30 as the number 450)" if isinstance(value, int) else ""
        raise ValueError(f"{text!r} is not HH:MM{hint}")
    return text


def _strict_number(value: Any) -> Any:
    if isinstance(value, bool):  # YAML's yes/no are not numbers
        raise ValueError(f"{value!r} is not a number")
    return value


HHMM = Annotated[str, BeforeValidator(_hhmm)]
Seconds = Annotated[float, BeforeValidator(seconds)]
Minutes = Annotated[timedelta, BeforeValidator(parse_duration)]
Number = Annotated[float, BeforeValidator(_strict_number)]
Whole = Annotated[int, BeforeValidator(_strict_number)]


# ---------------------------------------------------------------------------------------------- errors

_NUMBER = ("float_parsing", "float_type", "float_finite_number", "decimal_parsing")
_WHOLE = ("int_parsing", "int_type", "int_from_float", "int_parsing_size")
_MAPPING = ("dict_type", "model_type", "model_attributes_type", "dataclass_type", "mapping_type")
_LIST = ("list_type", "tuple_type", "set_type", "iterable_type")
_TEXT = ("string_type", "string_unicode")
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
           "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}
_MISSING_HINTS = {"conn_id": " (the Airflow connection that holds the credentials; never put them in the registry)"}


def path_text(loc: Iterable) -> str:
    """('source', 'record_types', 'complaints', 'fields') -> 'source.record_types.complaints.fields';
    list positions as [i]; the transport tag pydantic puts after 'source' is left out."""
    out = ""
    parts = list(loc)
    for i, part in enumerate(parts):
        if i == 1 and parts[0] == "source" and part in ("file_drop", "http_api", "database"):
            continue
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":
            out += ("." if out else "") + str(part)
    return out


def message(error: dict) -> str:
    """One pydantic error as a sentence (the value it is about included)."""
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])
    if kind == "missing":
        loc = error.get("loc") or ("",)
        return "is required" + _MISSING_HINTS.get(str(loc[-1]), "")
    if kind in _WHOLE:
        return f"{value!r} is not a whole number"
    if kind in _NUMBER:
        return f"{value!r} is not a number"
    if kind in _MAPPING:
        return f"expected a mapping, got {type(value).__name__}"
    if kind in _LIST:
        return f"expected a list, got {type(value).__name__}"
    if kind in _TEXT:
        return f"{value!r} is not text"
    if kind == "literal_error":
        options = str(ctx.get("expected", "")).replace("'", "").replace(" or ", ", ")
        return f"{value!r} is not one of {options}"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"{value!r} is out of range ({words} {ctx.get(key)})"
    if kind in ("bool_parsing", "bool_type"):
        return f"{value!r} is not true or false"
    return f"{error['msg']} (got {value!r})"


def problems(exc: ValidationError, prefix: str, root: tuple = ()) -> list[str]:
    """Every error of ``exc`` as ``<prefix>: <where>: <what is wrong>``, in the input's order; ``root`` is the
    section's own place (``("alerting",)``) when it was validated on its own."""
    out = []
    for e in exc.errors(include_url=False):
        where = path_text((*root, *e["loc"]))
        out.append(f"{prefix}: {where}: {message(e)}" if where else f"{prefix}: {message(e)}")
    return out
