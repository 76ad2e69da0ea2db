"""The nightly DAG really run by Airflow (`airflow dags test`) against a real PostgreSQL, on a simulated night
with every fault of the simulator's profile.

Checks, against the simulator's truth: every valid row loaded, every bad row quarantined with exactly the
rules it breaks, each faulty file with the right ledger status, received = loaded + quarantined per file,
reconciliation OK; then a second run of the same date leaves every count unchanged; a late county that
delivers later is picked up by a re-run; the next night's re-sent records replace older versions.
"""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from supervision.cli import run_through_airflow
from supervision.county_text import row_en, row_zh
from supervision.nightly import prepare_run, run_shard
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.warehouse.connection import connect
from supervision_dev.simulator import FaultProfile, simulate_night

from .truth import load_truth, mismatches, snapshot

pytestmark = [pytest.mark.integration, pytest.mark.airflow]

DAY = date(2026, 11, 22)
SEED = 7


@pytest.fixture(scope="module")
def night(warehouse_url, tmp_path_factory, empty_tables):
    """One simulated night (Xuchang's 7 counties + 3 of Zhengzhou, all faults) run through Airflow, on an empty
    warehouse: the truth is the whole night's, and other modules run nights of the same date and counties."""
    import psycopg

    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        empty_tables(conn)
    data = tmp_path_factory.mktemp("data")
    saved = {k: os.environ.get(k) for k in ("SUPERVISION_DATA_DIR",)}
    os.environ["SUPERVISION_DATA_DIR"] = str(data)
    registry = load_registry()
    codes = [c.code for c in registry.counties if c.city_code == "4110"] + ["410102", "410103", "410104"]
    drop = data / "drop"
    faults = FaultProfile.default(codes, SEED)
    simulate_night(registry, DAY, drop, seed=SEED, faults=faults, counties=codes)
    truth = load_truth(drop, DAY.isoformat())
    rc = run_through_airflow(DAY, str(registry.path), str(drop), counties=codes, quiet=True)
    yield {"rc": rc, "codes": codes, "drop": drop, "truth": truth, "registry": registry, "data": data}
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_every_fault_of_the_profile_is_in_the_night(night):
    faults = {c["fault"] for c in night["truth"]["counties"].values()}
    assert {"late", "missing_type", "bad_rows", "manifest_rows", "manifest_sha256", "duplicate_record_id",
            "foreign_rows", "unreadable", "no_manifest"} <= faults
    assert None in faults, "at least one clean county"


def test_airflow_run_succeeds(night):
    assert night["rc"] == 0


def test_warehouse_matches_what_was_injected(night):
    with connect() as conn:
        assert mismatches(conn, night["truth"]) == []


def test_quarantine_messages_name_county_file_row_and_rule(night):
    with connect() as conn:
        rows = conn.execute("SELECT county_code, source_file, row_number, failed_rules, messages FROM ops.quarantine"
                            " WHERE business_date = %s AND row_number IS NOT NULL", (DAY,)).fetchall()
    assert rows
    for county, source_file, row_number, rules, messages in rows:
        assert len(messages) == len(rules)
        for rule, message in zip(rules, messages, strict=True):
            # the row as the county's spreadsheet shows it (header = row 1), or the n-th JSON object / record
            assert county in message and source_file in message and rule in message
            assert row_zh(source_file, row_number) + "：" in message and row_en(source_file, row_number) + ":" in message
            if source_file.endswith((".csv", ".xlsx")):
                assert f"第 {row_number + 1} 行" in message


def test_reconciles(night):
    report = reconcile(DAY, night["codes"])
    assert report.ok, report.problems
    assert report.totals["rows_received"] == report.totals["rows_loaded"] + report.totals["rows_quarantined"]


def test_rerun_of_the_same_date_changes_nothing(night):
    with connect() as conn:
        before = snapshot(conn, DAY.isoformat())
    rc = run_through_airflow(DAY, str(night["registry"].path), str(night["drop"]), counties=night["codes"],
                             quiet=True)
    assert rc == 0
    with connect() as conn:
        assert snapshot(conn, DAY.isoformat()) == before


def test_late_county_delivering_later_is_picked_up_by_a_rerun(night):
    late = next(c for c, v in night["truth"]["counties"].items() if v["fault"] == "late")
    simulate_night(night["registry"], DAY, night["drop"], seed=SEED, faults=FaultProfile.none(), counties=[late])
    for shard in prepare_run(DAY, str(night["registry"].path), str(night["drop"]), counties=[late]):
        run_shard(shard)
    with connect() as conn:
        statuses = dict(conn.execute("SELECT record_type, status FROM ops.submission_current"
                                     " WHERE business_date = %s AND county_code = %s", (DAY, late)).fetchall())
        superseded = conn.execute("SELECT count(*) FROM ops.submission WHERE business_date = %s AND county_code = %s"
                                  " AND status = 'late' AND superseded_by IS NOT NULL", (DAY, late)).fetchone()[0]
    assert set(statuses.values()) <= {"loaded", "loaded_with_quarantine"}, statuses
    assert superseded == 4
    assert reconcile(DAY, night["codes"]).ok


def test_next_night_newest_version_wins_and_history_is_kept(night):
    nxt = DAY + timedelta(days=1)
    clean = [c for c, v in night["truth"]["counties"].items() if v["fault"] is None]
    simulate_night(night["registry"], nxt, night["drop"], seed=SEED, faults=FaultProfile.none(), counties=clean)
    truth = load_truth(night["drop"], nxt.isoformat())
    resent = sum(f.get("resent_records", 0) for c in truth["counties"].values() for f in c["files"].values())
    assert resent > 0, "the simulator re-sends changed records on later nights"
    with connect() as conn:
        before = conn.execute("SELECT count(*) FROM core.enforcement_case_history").fetchone()[0]
    for shard in prepare_run(nxt, str(night["registry"].path), str(night["drop"]), counties=clean):
        run_shard(shard)
    with connect() as conn:
        assert mismatches(conn, truth) == []
        after = conn.execute("SELECT count(*) FROM core.enforcement_case_history").fetchone()[0]
        # Current rows are the newest version: no history version of a key is newer than its current row.
        stale = conn.execute(
            "SELECT count(*) FROM core.enforcement_case c JOIN core.enforcement_case_history h USING (county_code,"
            " record_id) WHERE h.updated_at > c.updated_at").fetchone()[0]
        versions = conn.execute("SELECT max(n) FROM (SELECT count(*) n FROM core.enforcement_case_history"
                                " GROUP BY county_code, record_id) v").fetchone()[0]
    assert after > before
    assert stale == 0
    assert versions >= 2, "a record re-sent with a newer updated_at keeps its older version in history"
    assert reconcile(nxt, clean).ok


def test_drop_folder_escape_is_refused(night, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "enforcement_cases.csv").write_text("record_id\n1\n", encoding="utf-8")
    clean = next(c for c, v in night["truth"]["counties"].items() if v["fault"] is None)
    folder = Path(night["drop"]) / clean / (DAY + timedelta(days=5)).isoformat()
    folder.mkdir(parents=True)
    (folder / "complaints.csv").symlink_to(outside / "enforcement_cases.csv")
    day = DAY + timedelta(days=5)
    for shard in prepare_run(day, str(night["registry"].path), str(night["drop"]), counties=[clean]):
        run_shard(shard)
    with connect() as conn:
        status, reason = conn.execute("SELECT status, reason FROM ops.submission_current WHERE business_date = %s"
                                      " AND county_code = %s AND record_type = 'complaints'", (day, clean)).fetchone()
    assert status == "rejected" and "是符号链接，未读取" in reason and "symbolic link; not read" in reason
