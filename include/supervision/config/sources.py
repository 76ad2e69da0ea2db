"""A county's ``source`` section, one model per transport (the county's ``transport`` picks the model).

Checked when the registry loads, so a wrong key or value stops the load naming the file, the county and the
key, instead of failing the county's task at 3 a.m. What the keys mean: docs/sources.md and the module
docstrings of ``sources.http_api`` and ``sources.database``; the pull sources turn these models into their
run-time settings (``ApiConfig.from_county``, ``DbConfig.from_county``), nothing there re-checks them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BeforeValidator, Field, field_validator, model_validator

from supervision.config.values import Number, Seconds, Section, Whole
from supervision.contract import RECORD_TYPES, RecordType
from supervision.settings import TIMEZONE

TRANSPORTS = ("file_drop", "http_api", "database")
PULL_TRANSPORTS = ("http_api", "database")
PAGING = ("page", "offset", "cursor")
DEFAULT_PARAMS = {"updated_from": "updated_since", "updated_to": "updated_before", "page": "page",
                  "page_size": "page_size", "offset": "offset", "limit": "limit", "cursor": "cursor"}
Mapping = dict[str, str]  # contract field -> the county's name for it


def _record_type_keys(value: Any) -> Any:
    if isinstance(value, dict):
        bad = [str(k) for k in value if k not in RECORD_TYPES]
        if bad:
            raise ValueError(f"{', '.join(map(repr, bad))} {'is not a record type' if len(bad) == 1 else 'are not record types'}"
                             f" ({', '.join(RECORD_TYPES)})")
    return value


def field_mapping(rt: RecordType, common: Mapping | None, specific: Mapping | None) -> Mapping:
    """contract field -> county name, for every contract field (unmapped fields keep their contract name).
    Raises ValueError when ``specific`` names a field ``rt`` does not have or two fields map to one name."""
    mapping = {**(common or {}), **(specific or {})}
    # A common mapping may name fields of other record types; a specific one must not.
    bad = [k for k in (specific or {}) if k not in rt.field_names]
    if bad:
        raise ValueError(f"{rt.name} has no field(s) {', '.join(bad)} (contract {rt.name})")
    out = {f: str(mapping.get(f, f)) for f in rt.field_names}
    taken: dict[str, str] = {}
    for f, src in out.items():
        if src in taken:
            raise ValueError(f"{rt.name}: {taken[src]} and {f} both map to {src!r}")
        taken[src] = f
    return out


def _checked(rt: RecordType, common: Mapping, specific: Mapping | None, specific_key: str, common_key: str) -> None:
    """:func:`field_mapping`'s check, its message naming the key to fix."""
    try:
        field_mapping(rt, common, specific)
    except ValueError as e:
        raise ValueError(f"{specific_key if specific else common_key}: {e}") from None


def _iso_instant(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        return datetime.fromisoformat(str(value))  # naive = the county's local time (the pull decides)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date or timestamp") from None


def _positive(v: float) -> float:
    if v <= 0:
        raise ValueError(f"{v:g} must be > 0")
    return v


RecordTypeKeyed = BeforeValidator(_record_type_keys)
Positive = Annotated[float, AfterValidator(_positive)]


class FileDropSection(Section):
    """A drop-folder county: nothing to configure (the folder layout is the contract's)."""

    what: ClassVar[str] = " for a file_drop source"
    transport: Literal["file_drop"] = "file_drop"


class PullSection(Section):
    """What every pull source has: the Airflow connection, and the window's timing (``sources.state``)."""

    conn_id: str | None = Field(None, validate_default=True)  # None only to say "required" in our words
    settle: Seconds = 300.0  # the window ends this long before now: changes still being written are left for later
    lookback: Seconds = 0.0  # the window starts this much before the watermark (late-committed changes)
    initial_watermark: Annotated[datetime | None, BeforeValidator(_iso_instant)] = None

    @field_validator("conn_id")
    @classmethod
    def _named(cls, v: str | None) -> str:
        if not v or not v.strip():
            raise ValueError("is required (the Airflow connection that holds the credentials; never put them in "
                             "the registry)")
        return v


class ApiRecordType(Section):
    endpoint: str | None = None
    fields: Mapping = {}


class ApiResponse(Section):
    records: str = "data"  # the key of the record list ("." : the body is the list)
    total: str | None = "total"  # null when the API gives none
    next_cursor: str | None = "next_cursor"

    @field_validator("records")
    @classmethod
    def _records(cls, v: str) -> str:
        if not v:
            raise ValueError("the key of the record list is required")
        return v


class ApiAuth(Section):
    header: str = "Authorization"
    scheme: str | None = "Bearer"


class ApiTimeout(Section):
    connect: Seconds = 5.0
    read: Seconds = 30.0
    total: Annotated[Seconds, AfterValidator(_positive)] = 120.0  # one request, headers and the whole body


class HttpApiSection(PullSection):
    what: ClassVar[str] = " for an http_api source"
    transport: Literal["http_api"] = "http_api"
    base_url: str | None = None
    base_path: str = ""
    paging: Literal["page", "offset", "cursor"] = "page"
    page_size: Annotated[Whole, Field(ge=1)] = 500
    first_page: Whole = 1
    params: Mapping = {}
    response: ApiResponse = ApiResponse()
    endpoints: Annotated[Mapping, RecordTypeKeyed] = {}
    fields: Mapping = {}
    record_types: Annotated[dict[str, ApiRecordType], RecordTypeKeyed] = {}
    ignore_fields: tuple[str, ...] = ()
    auth: ApiAuth = ApiAuth()
    timeout: ApiTimeout = ApiTimeout()
    max_page_mib: Annotated[Number, AfterValidator(_positive)] | None = None  # None: SUPERVISION_HTTP_MAX_PAGE_MIB
    retries: Annotated[Whole, Field(ge=0)] = 4
    backoff: Seconds = 1.0
    backoff_max: Seconds = 30.0
    max_retry_after: Seconds = 120.0
    rate_limit_waits: Annotated[Whole, Field(ge=0)] = 5
    deadline: Seconds = 900.0
    consistency_retries: Whole = 1

    @model_validator(mode="after")
    def _mappings(self) -> HttpApiSection:
        for rt in RECORD_TYPES.values():
            own = self.record_types.get(rt.name)
            _checked(rt, self.fields, own.fields if own else None, f"record_types.{rt.name}.fields", "fields")
        return self

    def endpoint(self, record_type: str) -> str:
        own = self.record_types.get(record_type)
        return str((own and own.endpoint) or self.endpoints.get(record_type) or record_type)

    def mapping(self, rt: RecordType) -> Mapping:
        own = self.record_types.get(rt.name)
        return field_mapping(rt, self.fields, own.fields if own else None)


class DbTable(Section):
    table: str | None = None  # default: the record type's name
    columns: Mapping = {}


def _table_name(value: Any) -> Any:
    return {"table": value} if isinstance(value, str) else value  # tables: {complaints: zf_tsjb}


class DatabaseSection(PullSection):
    what: ClassVar[str] = " for a database source"
    transport: Literal["database"] = "database"
    db_schema: str | None = Field(None, alias="schema")  # the county's database schema
    timezone: str = TIMEZONE  # of timestamps stored without a time zone
    batch_rows: Annotated[Whole, Field(ge=1)] = 5000
    connect_timeout: Seconds = 10.0
    statement_timeout: Seconds = 600.0
    tables: Annotated[dict[str, Annotated[DbTable, BeforeValidator(_table_name)]], RecordTypeKeyed] = {}
    columns: Mapping = {}  # common to every table

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{v!r} is not an IANA time zone") from None
        return v

    @model_validator(mode="after")
    def _mappings(self) -> DatabaseSection:
        for rt in RECORD_TYPES.values():
            own = self.tables.get(rt.name)
            _checked(rt, self.columns, own.columns if own else None, f"tables.{rt.name}.columns", "columns")
        return self

    def table(self, record_type: str) -> str:
        own = self.tables.get(record_type)
        return str((own and own.table) or record_type)

    def mapping(self, rt: RecordType) -> Mapping:
        own = self.tables.get(rt.name)
        return field_mapping(rt, self.columns, own.columns if own else None)


Source = Annotated[FileDropSection | HttpApiSection | DatabaseSection, Field(discriminator="transport")]
