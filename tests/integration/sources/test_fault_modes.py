"""Every fault mode of a county API or database, in one simulated night, then a clean night that catches up.

Night 1 runs every county of a province of file-drop, API and database counties (SQLite, and PostgreSQL and
MariaDB county databases where present) through the nightly steps (``prepare_run`` → ``run_shard``), with one
fault per county. Checks, per fault mode: the county's ledger rows end in a clear status whose reason names the
county, the endpoint or table, and what to do; the other counties load; the shard does not fail; the watermark
does not move. Night 2 runs clean: the faulty counties catch up (their window starts at the old watermark),
and the warehouse holds exactly what each county system holds: nothing lost, nothing loaded twice.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

import pytest
import yaml

from supervision.contract import RECORD_TYPES
from supervision.nightly import prepare_run, run_shard
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.sources import state as st
from supervision.warehouse.connection import connect
from supervision_dev.simulator import CountySystems, FaultProfile, SourceFaultProfile, simulate_night

from .conftest import SERVERS

pytestmark = pytest.mark.integration
D1 = date(2026, 10, 12)
D2 = D1 + timedelta(days=1)
SEED = 11
API = {"timeout": {"connect": 2, "read": 5}, "retries": 2, "backoff": "20ms", "backoff_max": "100ms",
       "max_retry_after": 5, "deadline": 60, "page_size": 10}
DIALECTS = {
    "page": {"fields": {"record_id": "id", "updated_at": "last_modified"}},
    "cursor": {"paging": "cursor", "params": {"updated_from": "modified_from", "updated_to": "modified_to",
                                              "cursor": "after"},
               "response": {"records": "items", "total": "count", "next_cursor": "next"},
               "auth": {"header": "X-Api-Key", "scheme": ""}},
    "offset": {"paging": "offset", "response": {"records": "results", "total": None}},
}
DB = {"connect_timeout": 2, "batch_rows": 25, "columns": {"county_code": "xzqhdm", "updated_at": "gxsj"},
      "tables": {"enforcement_cases": {"table": "zf_xzzf_aj", "columns": {"record_id": "ajbh"}},
                 "complaints": {"table": "zf_tsjb", "columns": {"record_id": "tsbh", "summary": "nrzy"}}}}
FILE_COUNTY = "410302"
# county: (transport, dialect or database backend, fault)
COUNTIES = {
    "410303": ("http_api", "page", None), "410305": ("database", "sqlite", None),
    "410311": ("http_api", "page", "slow"), "410323": ("http_api", "cursor", "error_500"),
    "410324": ("http_api", "offset", "flaky_500"), "410325": ("http_api", "page", "rate_limit"),
    "410326": ("http_api", "cursor", "rate_limit_hard"), "410327": ("http_api", "page", "auth"),
    "410329": ("http_api", "cursor", "malformed_json"), "410371": ("http_api", "page", "vanishing_page"),
    "410402": ("database", "sqlite", "db_down"), "410403": ("database", "postgresql", "db_down"),
    "410404": ("database", "mariadb", "db_down"),
}  # 403, offset paging's vanished page and more: tests/unit/sources/test_http_api.py
FAULT_OPTS = {"slow": {"delay": 1.5}, "rate_limit": {"times": 1, "retry_after": 1}}
CASES = [(code, fault) for code, (_, _, fault) in COUNTIES.items() if fault]
# What the reason must tell, besides the county: where, and what to do.
TODO = {"source_error": ("Nothing is lost", "Engineers: check the token", "Ask the county to bring its database"),
        "rejected": ("the next run fetches every change",)}


def _entry(code: str, transport: str, kind: str) -> dict:
    e = {"code": code, "transport": transport, "contact": {"name": f"data {code}", "email": f"d{code}@example.org"}}
    if transport == "http_api":
        read = {"timeout": {"connect": 2, "read": 0.5}, "retries": 1} if COUNTIES[code][2] == "slow" else {}
        e["source"] = {"conn_id": f"county_{code}_api", "base_path": f"/county/{code}/v1", **API, **DIALECTS[kind],
                       **read}
    elif transport == "database":
        e["source"] = {"conn_id": f"county_{code}_db", **DB}
    return e


@pytest.fixture(scope="module")
def province(migrated_url, tmp_path_factory, server_status):
    data = tmp_path_factory.mktemp("fault_modes")
    saved = {k: os.environ.get(k) for k in ("SUPERVISION_DATA_DIR",)}
    os.environ["SUPERVISION_DATA_DIR"] = str(data)
    present = {c: v for c, v in COUNTIES.items() if v[0] != "database" or v[1] == "sqlite" or not server_status[v[1]]}
    entries = [_entry(FILE_COUNTY, "file_drop", "")] + [_entry(c, t, k) for c, (t, k, _) in present.items()]
    path = data / "registry.yaml"
    path.write_text(yaml.safe_dump({"name": "fault-modes", "counties": entries}, allow_unicode=True), encoding="utf-8")
    reg = load_registry(path)
    made: list[tuple[str, str]] = []

    def db_url(county):
        backend = COUNTIES[county.code][1]
        if backend == "sqlite":
            return f"sqlite:///{data / 'db' / f'{county.code}.sqlite'}"
        from supervision_dev.simulator.county_db import create_server_database

        name = f"county_sim_{county.code}_{os.getpid()}"
        made.append((SERVERS[backend], name))
        return create_server_database(SERVERS[backend], name)

    systems = CountySystems(reg, data / "county_systems", seed=SEED, db_url=db_url).start()
    env_saved = {k: os.environ.get(k) for k in systems.env()}
    os.environ.update(systems.env())
    drop = data / "drop"
    pulls = list(present)
    faults = SourceFaultProfile({c: f for c, (_, _, f) in present.items() if f})
    out = {"registry": reg, "systems": systems, "codes": [FILE_COUNTY, *pulls], "pulls": pulls, "present": present,
           "truth": {}, "outcomes": {}, "watermarks": {}, "requests": {}}
    try:
        # Night 2 (clean) runs the counties that had a fault: the others just go on as on night 1.
        for day, night_faults, codes in ((D1, faults, out["codes"]), (D2, SourceFaultProfile.none(), list(faults.by_county))):
            simulate_night(reg, day, drop, seed=SEED, faults=FaultProfile.none(), counties=[FILE_COUNTY])
            out["truth"][day] = systems.simulate_night(day, faults=night_faults, scale=0.3)
            for code, fault in night_faults.by_county.items():
                if fault in FAULT_OPTS:
                    systems.set_fault(code, fault, **FAULT_OPTS[fault])
            outcomes = []
            for shard in prepare_run(day, str(path), str(drop), shard_size=100, counties=codes):
                outcomes += run_shard(shard, run_id=f"fault-modes-{day}")  # raises if anything 'failed'
            out["outcomes"][day] = {(o["county_code"], o["record_type"]): o for o in outcomes}
            with connect() as conn:
                out["watermarks"][day] = {(c, rt): w for c, rt, w in conn.execute(
                    "SELECT county_code, record_type, watermark FROM ops.extraction_watermark"
                    " WHERE county_code = ANY(%s)", (pulls,)).fetchall()}
            out["requests"][day] = list(systems.api.requests)
        yield out
    finally:
        systems.stop()
        from supervision_dev.simulator.county_db import drop_server_database

        for server, name in made:
            drop_server_database(server, name)
        for k, v in {**saved, **env_saved}.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _skip_absent(province, code):
    if code not in province["present"]:
        pytest.skip(f"{COUNTIES[code][1]} county databases: server absent (see conftest.server_status)")


def _ledger(day, code):
    with connect() as conn:
        return {rt: (status, received, loaded, quarantined, reason, sid) for rt, status, received, loaded, quarantined,
                reason, sid in conn.execute(
                    "SELECT record_type, status, rows_received, rows_loaded, rows_quarantined, reason, submission_id"
                    " FROM ops.submission_current WHERE business_date = %s AND county_code = %s", (day, code))}


@pytest.mark.parametrize("code, fault", CASES, ids=[f"{f}-{COUNTIES[c][1]}" for c, f in CASES])
def test_fault_ends_in_a_clear_ledger_status(province, code, fault):
    _skip_absent(province, code)
    truth = province["truth"][D1].counties[code]
    ledger = _ledger(D1, code)
    transport = COUNTIES[code][0]
    cfg = province["registry"].county(code).source
    for rt, f in truth.files.items():
        status, received, loaded, quarantined, reason, sid = ledger[rt]
        assert status == f.expected_outcome, (rt, status, reason)
        if status in ("loaded", "loaded_with_quarantine"):
            assert received == f.rows == loaded + quarantined
            continue
        assert received == loaded == quarantined == 0
        assert f"county {code}" in reason
        where = (f"/county/{code}/v1/" if transport == "http_api" else
                 DB["tables"].get(rt, {}).get("table", rt))
        assert where in reason, reason
        assert any(t in reason for t in TODO[status]) and "watermark" in reason, reason
        if fault in ("auth", "db_down"):
            assert cfg.conn_id in reason  # the Airflow connection to check
        with connect() as conn:
            q = conn.execute("SELECT row_number, failed_rules FROM ops.quarantine WHERE submission_id = %s",
                             (sid,)).fetchall()
        if status == "rejected":  # one whole-batch entry, the bytes kept
            assert q == [(None, [{"malformed_json": "source.malformed_response"}.get(fault, "source.page_sequence")])]
            assert "kept at" in reason
        else:
            assert q == []


@pytest.mark.parametrize("code, fault", CASES, ids=[f"{f}-{COUNTIES[c][1]}" for c, f in CASES])
def test_watermark_moves_only_when_the_batch_was_loaded(province, code, fault):
    _skip_absent(province, code)
    wm = province["watermarks"]
    for rt, f in province["truth"][D1].counties[code].files.items():
        if f.expected_outcome == "loaded":
            assert wm[D1][(code, rt)] == st.end_of_day(D1)
        else:
            assert (code, rt) not in wm[D1]
        assert wm[D2][(code, rt)] == st.end_of_day(D2)


@pytest.mark.parametrize("code, fault", CASES, ids=[f"{f}-{COUNTIES[c][1]}" for c, f in CASES])
def test_next_run_catches_up_and_nothing_is_lost_or_loaded_twice(province, code, fault):
    _skip_absent(province, code)
    truth1, truth2 = province["truth"][D1].counties[code], province["truth"][D2].counties[code]
    ledger = _ledger(D2, code)
    systems = province["systems"]
    with connect() as conn:
        for rt, spec in RECORD_TYPES.items():
            status, received, loaded, *_ = ledger[rt]
            assert status == "loaded", (rt, ledger[rt])
            if truth1.files[rt].expected_outcome == "loaded":
                assert received == truth2.files[rt].rows
            else:  # the catch-up window holds both nights' changes (a record changed twice comes once, newest)
                assert truth2.files[rt].rows <= received <= truth1.files[rt].rows + truth2.files[rt].rows
            held = systems.current(code, rt)
            core = dict(conn.execute(f"SELECT record_id, updated_at FROM core.{spec.table} WHERE county_code = %s",  # noqa: S608
                                     (code,)).fetchall())
            assert core == held, f"{rt}: the warehouse does not hold what the county system holds"
            dupes = conn.execute(f"SELECT count(*) - count(DISTINCT (record_id, updated_at)) FROM core.{spec.table}_history"  # noqa: S608
                                 " WHERE county_code = %s", (code,)).fetchone()[0]
            assert dupes == 0
    assert reconcile(D1, [code]).ok and reconcile(D2, [code]).ok


def test_other_counties_load_on_the_faulty_night(province):
    for code, (_, _, fault) in province["present"].items():
        if fault:
            continue
        ledger = _ledger(D1, code)
        for rt, f in province["truth"][D1].counties[code].files.items():
            assert ledger[rt][0] == "loaded" and ledger[rt][1] == f.rows, (code, rt, ledger[rt])
    assert {ledger[0] for ledger in _ledger(D1, FILE_COUNTY).values()} == {"loaded"}
    assert reconcile(D1, province["codes"]).ok, reconcile(D1, province["codes"]).problems


def test_source_faults_do_not_fail_the_task(province):
    statuses = {o["status"] for o in province["outcomes"][D1].values()}
    assert "failed" not in statuses and {"source_error", "rejected", "loaded"} <= statuses


def test_rate_limited_client_waits_as_told(province):
    code = "410325"
    reqs = [(t, s) for t, c, _, s in province["requests"][D1] if c == code]
    first_429 = next(i for i, (_, s) in enumerate(reqs) if s == 429)
    assert reqs[first_429 + 1][0] - reqs[first_429][0] >= 1.0  # Retry-After: 1


def test_county_wide_faults_are_not_repeated_for_every_record_type(province):
    reqs = [c for _, c, _, _ in province["requests"][D1]]
    assert reqs.count("410327") == 1  # auth: one 401, the other types are not asked
    assert reqs.count("410326") == 1  # 429 asking for an hour
    assert reqs.count("410311") == 2  # slow: one request and its retry time out
