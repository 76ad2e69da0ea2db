"""Incremental extraction over several nights: late updates, backfills and re-runs, a county switching transport,
late-arriving rows (lookback), and a crash between the load and the watermark."""

from __future__ import annotations

import os
from datetime import date, datetime, timedelta

import pytest
import yaml

from supervision.contract import RECORD_TYPES
from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.sources import state as st
from supervision.warehouse.connection import connect
from supervision_dev.simulator import CountySystems, FaultProfile, simulate_night

pytestmark = pytest.mark.integration
D1 = date(2026, 9, 7)
DAYS = [D1 + timedelta(days=i) for i in range(3)]
SEED = 5
NIGHTLY, BACKFILL, SWITCH, LATE, CRASH = "410502", "410503", "410505", "410506", "410522"
FAST = {"timeout": {"connect": 2, "read": 5}, "retries": 1, "backoff": "10ms", "page_size": 15}


def _registry(path, switch_transport: str):
    def entry(code, transport, **source):
        e = {"code": code, "transport": transport, "contact": {"name": f"d {code}", "email": f"d{code}@example.org"}}
        if transport == "http_api":
            e["source"] = {"conn_id": f"county_{code}_api", "base_path": f"/c/{code}", **FAST, **source}
        elif transport == "database":
            e["source"] = {"conn_id": f"county_{code}_db", "columns": {"updated_at": "gxsj"}, **source}
        return e

    entries = [entry(NIGHTLY, "http_api"), entry(BACKFILL, "database"), entry(SWITCH, switch_transport),
               entry(LATE, "http_api", lookback="1d"), entry(CRASH, "http_api")]
    path.write_text(yaml.safe_dump({"name": "incremental", "counties": entries}), encoding="utf-8")
    return load_registry(path)


def run(reg, day, codes):
    ctx = RunContext.default(day, None)
    return {(o.county_code, o.record_type): o for c in codes for o in process_county(reg.county(c), ctx)}


def ledger(code, days):
    with connect() as conn:
        return conn.execute(
            "SELECT business_date, record_type, status, rows_received, rows_loaded, submission_id, source_kind, reason"
            " FROM ops.submission_current WHERE county_code = %s AND business_date = ANY(%s) ORDER BY 1, 2",
            (code, days)).fetchall()


def core(code, rt):
    with connect() as conn:
        return dict(conn.execute(f"SELECT record_id, updated_at FROM core.{RECORD_TYPES[rt].table}"  # noqa: S608
                                 " WHERE county_code = %s", (code,)).fetchall())


@pytest.fixture(scope="module")
def nights(migrated_url, tmp_path_factory):
    data = tmp_path_factory.mktemp("incremental")
    saved = os.environ.get("SUPERVISION_DATA_DIR")
    os.environ["SUPERVISION_DATA_DIR"] = str(data)
    regs = {t: _registry(data / f"registry-{t}.yaml", t) for t in ("file_drop", "http_api", "database")}
    reg = regs["http_api"]
    systems = CountySystems(reg, data / "systems", seed=SEED).start()
    switch_db = CountySystems(regs["database"], data / "systems-db", seed=SEED, counties=[SWITCH]).start()
    env = {**systems.env(), **switch_db.env()}
    env_saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    out = {"regs": regs, "systems": systems, "switch_db": switch_db, "requests": {}, "data": data}
    try:
        # BACKFILL's database already holds three nights of changes before its first run.
        for day in DAYS:
            systems.simulate_night(day, counties=[BACKFILL], scale=0.4)
        for i, day in enumerate(DAYS):
            systems.simulate_night(day, counties=[NIGHTLY, LATE, CRASH], scale=0.4)
            switch_db.simulate_night(day, counties=[SWITCH], scale=0.4)  # the county system behind both transports
            if i == 0:  # SWITCH drops files on night 1, then offers its API, then its database
                simulate_night(regs["file_drop"], day, data / "drop", seed=SEED, faults=FaultProfile.none(),
                               counties=[SWITCH], scale=0.4)
                run(regs["file_drop"], day, [SWITCH])
            elif i == 1:
                systems.simulate_night(day, counties=[SWITCH], scale=0.4)
                run(regs["http_api"], day, [SWITCH])
            else:
                run(regs["database"], day, [SWITCH])
            run(reg, day, [NIGHTLY, BACKFILL, LATE])
            if i == 0:  # a row that reaches the LATE county's system late, stamped inside the window already loaded
                _late_row(systems, day)
        out["snapshot"] = _snapshot([NIGHTLY, BACKFILL])
        out["requests"]["before_rerun"] = len(systems.api.requests)
        for day in DAYS:  # re-run the whole range (a backfill over dates already loaded)
            run(reg, day, [NIGHTLY, BACKFILL])
        out["requests"]["after_rerun"] = len(systems.api.requests)
        yield out
    finally:
        systems.stop()
        switch_db.stop()
        for k, v in {"SUPERVISION_DATA_DIR": saved, **env_saved}.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _late_row(systems, day):
    modified = datetime.combine(day, datetime.min.time(), tzinfo=st.TZ) + timedelta(hours=15)
    template = systems.api.store.current(LATE, "enforcement_cases")[0].record
    rec = {**template, "record_id": f"ENF-{LATE}-LATE-0001", "updated_at": modified.isoformat()}
    systems.api.store.upsert(LATE, "enforcement_cases", [(modified, rec)])


def _snapshot(codes):
    with connect() as conn:
        ledger_rows = conn.execute(
            "SELECT county_code, business_date, record_type, status, rows_received, rows_loaded, rows_quarantined,"
            " submission_id, file_sha256 FROM ops.submission_current WHERE county_code = ANY(%s) ORDER BY 1, 2, 3",
            (codes,)).fetchall()
        tables = {rt.table: conn.execute(
            f"SELECT count(*), (SELECT count(*) FROM core.{rt.table}_history WHERE county_code = ANY(%s))"  # noqa: S608
            f" FROM core.{rt.table} WHERE county_code = ANY(%s)", (codes, codes)).fetchone()
            for rt in RECORD_TYPES.values()}
        marks = conn.execute("SELECT county_code, record_type, watermark FROM ops.extraction_watermark"
                             " WHERE county_code = ANY(%s) ORDER BY 1, 2", (codes,)).fetchall()
    return ledger_rows, tables, marks


def test_each_night_loads_its_changes_and_the_warehouse_holds_the_county_system(nights):
    systems = nights["systems"]
    for code in (NIGHTLY, BACKFILL):
        rows = ledger(code, DAYS)
        assert {r[2] for r in rows} == {"loaded"}, rows and len(rows) == 12
        for rt, spec in RECORD_TYPES.items():
            assert core(code, rt) == systems.current(code, rt)
            pulled = sum(r[3] for r in rows if r[1] == rt)
            with connect() as conn:
                versions = conn.execute(f"SELECT count(*) FROM core.{spec.table}_history WHERE county_code = %s",  # noqa: S608
                                        (code,)).fetchone()[0]
            assert pulled == versions  # each version pulled once, none twice
            if code == BACKFILL:  # its system held three nights before the first pull: newest versions only
                assert pulled == len(systems.current(code, rt))
    for day in DAYS:
        assert reconcile(day, [NIGHTLY, BACKFILL]).ok


def test_late_updates_to_old_records_are_picked_up_and_history_is_kept(nights):
    with connect() as conn:
        old = conn.execute(
            "SELECT count(*) FROM core.enforcement_case WHERE county_code = %s AND updated_at >= %s"
            " AND record_id < %s", (NIGHTLY, st.end_of_day(DAYS[1]), f"ENF-{NIGHTLY}-{DAYS[2]:%Y%m%d}")).fetchone()[0]
        versions = conn.execute(
            "SELECT max(n) FROM (SELECT count(*) n FROM core.enforcement_case_history WHERE county_code = %s"
            " GROUP BY record_id) v", (NIGHTLY,)).fetchone()[0]
    assert old > 0, "night 3 carries records created on earlier nights whose status moved"
    assert versions >= 2


def test_rerunning_a_range_is_idempotent_and_does_not_ask_the_county_again(nights):
    assert _snapshot([NIGHTLY, BACKFILL]) == nights["snapshot"]
    assert nights["requests"]["after_rerun"] == nights["requests"]["before_rerun"]  # replayed from the lake


def test_first_backfill_of_a_county_with_history_takes_it_all_then_night_by_night(nights):
    with connect() as conn:
        windows = conn.execute("SELECT business_date, window_from, window_to FROM ops.extraction WHERE county_code = %s"
                               " AND record_type = 'enforcement_cases' ORDER BY 1", (BACKFILL,)).fetchall()
    assert windows == [(DAYS[0], None, st.end_of_day(DAYS[0])), (DAYS[1], st.end_of_day(DAYS[0]),
                        st.end_of_day(DAYS[1])), (DAYS[2], st.end_of_day(DAYS[1]), st.end_of_day(DAYS[2]))]


def test_a_county_switching_transport_keeps_its_history(nights):
    rows = ledger(SWITCH, DAYS)
    assert [(r[0], r[6]) for r in rows if r[1] == "enforcement_cases"] == [
        (DAYS[0], "file_drop"), (DAYS[1], "http_api"), (DAYS[2], "database")]
    assert {r[2] for r in rows} == {"loaded"}, rows
    api_first = next(r for r in rows if r[0] == DAYS[1] and r[1] == "enforcement_cases")
    assert "continues from the newest record the warehouse already holds" in api_first[7]
    with connect() as conn:
        w = dict(conn.execute("SELECT business_date, window_from FROM ops.extraction WHERE county_code = %s"
                              " AND record_type = 'enforcement_cases'", (SWITCH,)).fetchall())
    assert w[DAYS[2]] == st.end_of_day(DAYS[1])  # the database pull continues where the API pull stopped
    db = nights["switch_db"]
    for rt in RECORD_TYPES:
        assert core(SWITCH, rt) == db.current(SWITCH, rt)
    assert reconcile(DAYS[0], [SWITCH]).ok and reconcile(DAYS[2], [SWITCH]).ok


def test_lookback_picks_up_rows_that_arrive_late_with_an_old_timestamp(nights):
    assert f"ENF-{LATE}-LATE-0001" in core(LATE, "enforcement_cases")
    for rt in RECORD_TYPES:
        assert core(LATE, rt) == nights["systems"].current(LATE, rt)


def test_a_crash_between_load_and_watermark_is_caught_up_by_the_rerun(nights, monkeypatch):
    reg, day = nights["regs"]["http_api"], DAYS[0]
    real = st.advance
    calls = []

    def crash(*a, **kw):
        calls.append(1)
        raise RuntimeError("worker killed")

    monkeypatch.setattr(st, "advance", crash)
    first = run(reg, day, [CRASH])
    assert {o.status for o in first.values()} == {"failed"} and len(calls) == 4
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM ops.extraction_watermark WHERE county_code = %s",
                            (CRASH,)).fetchone()[0] == 0
    monkeypatch.setattr(st, "advance", real)
    again = run(reg, day, [CRASH])
    assert {o.status for o in again.values()} == {"loaded"}
    for rt in RECORD_TYPES:  # night 1's window: what the system holds with an older time stamp than its end
        held = {k: v for k, v in nights["systems"].current(CRASH, rt).items() if v < st.end_of_day(day)}
        assert core(CRASH, rt) == held
    with connect() as conn:
        dupes = conn.execute("SELECT count(*) - count(DISTINCT (record_id, updated_at)) FROM core.complaint_history"
                             " WHERE county_code = %s", (CRASH,)).fetchone()[0]
        marks = conn.execute("SELECT count(*) FROM ops.extraction_watermark WHERE county_code = %s AND watermark = %s",
                             (CRASH, st.end_of_day(day))).fetchone()[0]
    assert dupes == 0 and marks == 4
    assert reconcile(day, [CRASH]).ok

