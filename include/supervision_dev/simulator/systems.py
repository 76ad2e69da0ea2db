"""County systems for the pull sources: one local API server for every ``http_api`` county, one database per
``database`` county, filled night after night with the same records the file-drop simulator writes.

    with CountySystems(registry, data_dir / "county_systems") as systems:
        os.environ.update(systems.env())           # AIRFLOW_CONN_<conn_id>: where, and the token / URL
        truth = systems.simulate_night(day, faults=SourceFaultProfile.default(registry, codes))
        ... run the pipeline while the systems are up ...

A night's records come from :func:`supervision_dev.simulator.records.build_tables`, exactly as for file drops
(new records and re-sends of records whose status moved today, with today's ``updated_at``): the county system
stores the newest version of each record, and the pipeline pulls what changed since its watermark.
The truth (``SimulationReport``, written to ``<root>/_simulation/<date>.json``) says, per county and record
type, the rows changed tonight, the rows that must be quarantined and the ledger status expected, fault
included (``source_error`` or ``rejected`` for the transport faults).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np

from supervision.contract import CONTRACT_VERSION, RECORD_TYPES
from supervision.registry import County, Registry
from supervision.settings import TIMEZONE
from supervision_dev.simulator.api_server import API_FAULTS, CountyApiServer
from supervision_dev.simulator.county import CountySet, build_ctx
from supervision_dev.simulator.county_db import DB_FAULTS, CountyDatabase, sqlite_url
from supervision_dev.simulator.faults import bad_row_plan, inject_bad_rows, rows_needed
from supervision_dev.simulator.records import Table, build_tables
from supervision_dev.simulator.report import CountyTruth, FileTruth, SimulationReport

PULL_TRANSPORTS = ("http_api", "database")
ROW_FAULTS = ("bad_rows",)
SOURCE_FAULTS = API_FAULTS + DB_FAULTS + ROW_FAULTS
# What the ledger must say for a record type of a county with the fault (rows = rows in the window).
EXPECTED = {"slow": "source_error", "error_500": "source_error", "flaky_500": "loaded", "rate_limit": "loaded",
            "rate_limit_hard": "source_error", "auth": "source_error", "forbidden": "source_error",
            "malformed_json": "rejected", "vanishing_page": "rejected", "db_down": "source_error",
            "bad_rows": "loaded", None: "loaded"}
# Faults that only show when there is something to page through.
NEEDS_ROWS = ("malformed_json", "vanishing_page")


def _transport_of(fault: str) -> tuple[str, ...]:
    if fault in API_FAULTS or fault in ROW_FAULTS:
        return ("http_api",)
    return ("database",)


def expected_status(fault: str | None, rows: int) -> str:
    if fault in NEEDS_ROWS and rows == 0:
        return "loaded"
    return EXPECTED[fault]


@dataclass
class SourceFaultProfile:
    """Which pull county suffers which fault tonight: ``{county_code: fault}`` (faults persist until the next night)."""

    by_county: dict[str, str] = field(default_factory=dict)

    def __post_init__(self):
        unknown = {f for f in self.by_county.values() if f not in SOURCE_FAULTS}
        if unknown:
            raise ValueError(f"unknown source fault(s) {sorted(unknown)}; faults are {', '.join(SOURCE_FAULTS)}")

    @classmethod
    def none(cls) -> SourceFaultProfile:
        return cls({})

    @classmethod
    def default(cls, registry: Registry, codes: list[str], seed: int = 20261122,
                faults: tuple[str, ...] = ("flaky_500", "rate_limit", "auth", "malformed_json", "vanishing_page",
                                           "bad_rows", "db_down")) -> SourceFaultProfile:
        """Each fault on its own county of the right transport, never the first county of a transport."""
        rng = np.random.default_rng([seed, 0x50A7])
        pools = {t: [c for c in codes if registry.county(c).transport == t][1:] for t in PULL_TRANSPORTS}
        for t in pools:
            pools[t] = [pools[t][i] for i in rng.permutation(len(pools[t]))]
        out = {}
        for f in faults:
            for t in _transport_of(f):
                if pools[t]:
                    out[pools[t].pop(0)] = f
                    break
        return cls(out)

    def fault_of(self, code: str) -> str | None:
        return self.by_county.get(code)

    def to_dict(self) -> dict[str, str]:
        return dict(sorted(self.by_county.items()))


def modified_at(night: int, secs: int) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.combine(date.fromordinal(night), time(0), tzinfo=ZoneInfo(TIMEZONE)) + timedelta(seconds=int(secs))


class CountySystems:
    """The API and database counties of a registry, running. ``db_url`` gives a county's database (writable
    SQLAlchemy URL); by default a SQLite file ``<root>/db/<code>.sqlite``."""

    def __init__(self, registry: Registry, root: Path, *, seed: int = 20261122, counties: list[str] | None = None,
                 db_url: Callable[[County], str] | None = None):
        self.registry, self.root, self.seed = registry, Path(root), seed
        chosen = [c for c in registry.counties if c.transport in PULL_TRANSPORTS
                  and (counties is None or c.code in counties)]
        self.api = CountyApiServer([c for c in chosen if c.transport == "http_api"])
        self.dbs: dict[str, CountyDatabase] = {}
        for c in chosen:
            if c.transport == "database":
                self.dbs[c.code] = CountyDatabase(c, db_url(c) if db_url else sqlite_url(self.root / "db" / f"{c.code}.sqlite"))
        self.codes = [c.code for c in chosen]
        self.faults = SourceFaultProfile.none()
        self._ctx_cache: dict[str, object] = {}

    # -- lifecycle
    def start(self) -> CountySystems:
        self.api.start()
        for db in self.dbs.values():
            db.create_schema()
        return self

    def stop(self) -> None:
        self.api.stop()
        for db in self.dbs.values():
            db.close()

    def __enter__(self) -> CountySystems:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """Every county's Airflow connection, ``AIRFLOW_CONN_<CONN_ID>`` (tokens exist only in this process and
        the environment it hands them to)."""
        out = self.api.env()
        for db in self.dbs.values():
            out.update(db.env())
        return out

    def reset(self) -> None:
        """Empty every county system (a fresh province)."""
        self.api.store.clear()
        for db in self.dbs.values():
            db.up()
            db.drop_schema()
            db.create_schema()

    # -- faults
    def set_fault(self, code: str, fault: str | None, **opts) -> None:
        """Put one county into a fault mode now (``None`` clears it)."""
        if fault is not None and fault not in API_FAULTS + DB_FAULTS:
            raise ValueError(f"{fault!r} is not a transport fault ({', '.join(API_FAULTS + DB_FAULTS)})")
        county = self.registry.county(code)
        if county.transport == "http_api":
            self.api.set_fault(code, fault, **opts)
        elif fault is None:
            self.dbs[code].up()
        elif fault == "db_down":
            self.dbs[code].down()
        else:
            raise ValueError(f"county {code} is a database county; {fault} is an API fault")

    def clear_faults(self) -> None:
        self.api.clear_faults()
        for db in self.dbs.values():
            db.up()

    # -- what the systems hold
    def current(self, code: str, record_type: str) -> dict[str, datetime]:
        """record_id -> modification time of every record the county system holds now."""
        if code in self.dbs:
            return self.dbs[code].current(record_type)
        return {e.record.get("record_id"): e.modified for e in self.api.store.current(code, record_type)}

    # -- nights
    def _ctx(self, code: str):
        if code not in self._ctx_cache:
            self._ctx_cache[code] = build_ctx(self.registry, self.registry.county(code), self.seed)
        return self._ctx_cache[code]

    def simulate_night(self, business_date: date, *, faults: SourceFaultProfile | None = None,
                       counties: list[str] | None = None, scale: float = 1.0) -> SimulationReport:
        """Tonight's changes into every county system, tonight's faults switched on; returns (and writes) the truth.

        Faults are set per night: a county not in ``faults`` runs cleanly (a database that was down is back).
        """
        faults = faults or SourceFaultProfile.none()
        codes = [c for c in (counties or self.codes) if c in self.codes]
        night = business_date.toordinal()
        ctxs = [self._ctx(c) for c in codes]
        all_tables = {rt: build_tables(CountySet(ctxs, self.seed), rt, night, scale) for rt in RECORD_TYPES} if ctxs else {}
        report = SimulationReport(business_date, self.seed, scale, CONTRACT_VERSION,
                                  {c: f for c, f in faults.to_dict().items() if c in codes}, {})
        for i, (code, ctx) in enumerate(zip(codes, ctxs, strict=True)):
            county = self.registry.county(code)
            fault = faults.fault_of(code)
            if fault is not None and county.transport not in _transport_of(fault):
                raise ValueError(f"county {code} ({county.transport}) cannot have fault {fault}")
            tables = {rt: all_tables[rt][i] for rt in RECORD_TYPES}
            if fault == "bad_rows":
                rng = np.random.default_rng([self.seed, ctx.code_int, night, 0x52])
                for rt in RECORD_TYPES:
                    need = rows_needed(len(bad_row_plan(RECORD_TYPES[rt])), ctx.threshold)
                    tables[rt] = build_tables(CountySet([ctx], self.seed), rt, night, scale, np.array([need]))[0]
                    inject_bad_rows(tables[rt], ctx, night, rng)
            truth = CountyTruth(code, county.name, fault, county.transport, "-", "json" if county.transport ==
                                "http_api" else "database", manifest=False, generated_at=None, files={})
            for rt, t in tables.items():
                t.sort()
                self._store(county, rt, t, night)
                bad = {n + 1: e for n, e in enumerate(t.expect) if e}
                outcome = expected_status(fault, len(t))
                if bad and len(bad) / len(t) > ctx.threshold:
                    outcome = "rejected"
                truth.files[rt] = FileTruth(rt, None, len(t), outcome, bad, new_records=sum(t.is_new),
                                            resent_records=len(t) - sum(t.is_new),
                                            detail=f"fault {fault}" if fault else None)
            truth.detail = f"fault {fault}" if fault else None
            report.counties[code] = truth
            self.set_fault(code, fault if fault in API_FAULTS + DB_FAULTS else None)
        self.faults = faults
        out = self.root / "_simulation"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{business_date.isoformat()}.json").write_text(report.to_json(), encoding="utf-8")
        return report

    def _store(self, county: County, record_type: str, t: Table, night: int) -> None:
        rows = [t.row(i) for i in range(len(t))]
        if county.transport == "http_api":
            self.api.store.upsert(county.code, record_type, [(modified_at(night, s), r) for s, r in zip(t.secs, rows,
                                                                                                         strict=True)])
        else:
            db = self.dbs[county.code]
            was_down = db.is_down
            db.up()  # the county keeps working while we cannot reach it; fill it, then restore the outage
            db.upsert(record_type, rows)
            if was_down:
                db.down()
