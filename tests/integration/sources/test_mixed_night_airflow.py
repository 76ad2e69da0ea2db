"""A mixed night really run by Airflow (`airflow dags test`): file-drop, HTTP API and database counties of the demo
registry, with faults of every kind, against a real PostgreSQL warehouse.

The county APIs are served by the simulator's HTTP server in this process and the county databases are SQLite
files; their Airflow connections reach the DAG's tasks through the environment, as in `make demo`. Checks: the
run succeeds although some counties' systems fail; file drops match the file simulator's truth; API and database
counties match the systems' truth (status, rows, quarantined rows with their rules); the date reconciles; a
re-run changes nothing.
"""

from __future__ import annotations

import os
from datetime import date

import pytest

from supervision.cli import run_through_airflow
from supervision.nightly import prepare_run, run_shard
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.warehouse.connection import connect
from supervision_dev.demo import DEMO_REGISTRY
from supervision_dev.simulator import CountySystems, FaultProfile, SourceFaultProfile, simulate_night

from ..truth import load_truth, mismatches, snapshot

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
DAY = date(2026, 11, 2)
SEED = 3
FILES = ["411002", "411025", "411071", "411082"]
PULLS = ["411003", "411081", "410102", "410302", "410523", "411325", "411024", "410203", "411426"]
SOURCE_FAULTS = ("flaky_500", "auth", "malformed_json", "vanishing_page", "bad_rows", "db_down")
LOADED = {"loaded", "loaded_with_quarantine"}


@pytest.fixture(scope="module")
def night(warehouse_url, tmp_path_factory):
    data = tmp_path_factory.mktemp("mixed")
    saved = {"SUPERVISION_DATA_DIR": os.environ.get("SUPERVISION_DATA_DIR")}
    os.environ["SUPERVISION_DATA_DIR"] = str(data)
    reg = load_registry(DEMO_REGISTRY)
    drop = data / "drop"
    simulate_night(reg, DAY, drop, seed=SEED, faults=FaultProfile.default(FILES, SEED), counties=FILES)
    systems = CountySystems(reg, data / "county_systems", seed=SEED, counties=PULLS).start()
    saved.update({k: os.environ.get(k) for k in systems.env()})
    os.environ.update(systems.env())
    try:
        faults = SourceFaultProfile.default(reg, PULLS, SEED, faults=SOURCE_FAULTS)
        truth = systems.simulate_night(DAY, faults=faults, scale=0.5)
        rc = run_through_airflow(DAY, str(reg.path), str(drop), counties=FILES + PULLS, quiet=True)
        yield {"rc": rc, "reg": reg, "drop": drop, "truth": truth, "faults": faults, "systems": systems}
    finally:
        systems.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_every_source_fault_and_transport_is_in_the_night(night):
    assert set(night["faults"].by_county.values()) == set(SOURCE_FAULTS)
    transports = {night["reg"].county(c).transport for c in FILES + PULLS}
    assert transports == {"file_drop", "http_api", "database"}


def test_airflow_run_succeeds_although_county_systems_failed(night):
    assert night["rc"] == 0


def test_file_drops_match_their_truth(night):
    with connect() as conn:
        assert mismatches(conn, load_truth(night["drop"], DAY.isoformat())) == []


def test_api_and_database_counties_match_their_truth(night):
    with connect() as conn:
        ledger = {(c, rt): (s, rec, ld, q, sid) for c, rt, s, rec, ld, q, sid in conn.execute(
            "SELECT county_code, record_type, status, rows_received, rows_loaded, rows_quarantined, submission_id"
            " FROM ops.submission_current WHERE business_date = %s AND county_code = ANY(%s)", (DAY, PULLS))}
        problems = []
        for code, county in night["truth"].counties.items():
            for rt, f in county.files.items():
                status, received, loaded, quarantined, sid = ledger[(code, rt)]
                expected = LOADED if f.expected_outcome == "loaded" else {f.expected_outcome}
                if status not in expected:
                    problems.append(f"{code} {rt} ({county.fault}): {status}, expected {f.expected_outcome}")
                    continue
                if status in LOADED:
                    got = {n: set(r) for n, r in conn.execute(
                        "SELECT row_number, failed_rules FROM ops.quarantine WHERE submission_id = %s", (sid,))}
                    want = {n: set(r) for n, r in f.expected_bad_rows.items()}
                    if (received, loaded, got) != (f.rows, f.rows - len(want), want):
                        problems.append(f"{code} {rt}: received {received}/{f.rows}, loaded {loaded}, quarantine "
                                        f"differs on rows {sorted(set(got) ^ set(want))[:5]}")
    assert problems == []
    assert any(f.expected_bad_rows for c in night["truth"].counties.values() for f in c.files.values())


def test_the_mixed_night_reconciles(night):
    report = reconcile(DAY, FILES + PULLS)
    assert report.ok, report.problems
    kinds = {k for (k,) in connect().execute(
        "SELECT DISTINCT source_kind FROM ops.submission_current WHERE business_date = %s AND county_code = ANY(%s)",
        (DAY, FILES + PULLS)).fetchall()}
    assert kinds == {"file_drop", "http_api", "database"}


def test_rerun_of_the_mixed_night_changes_nothing(night):
    with connect() as conn:
        before = snapshot(conn, DAY.isoformat())
    for shard in prepare_run(DAY, str(night["reg"].path), str(night["drop"]), shard_size=20, counties=FILES + PULLS):
        run_shard(shard)
    with connect() as conn:
        assert snapshot(conn, DAY.isoformat()) == before
