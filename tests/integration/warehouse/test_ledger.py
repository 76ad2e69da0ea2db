from datetime import UTC, date, datetime

import numpy as np
import pandas as pd
import psycopg
import pytest

from supervision.warehouse.ledger import record_submission, write_quarantine

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 22)


def submit(conn, sha=None, status="loaded", county="411002", day=DAY, **kw):
    args = dict(county_code=county, record_type="enforcement_cases", business_date=day, source_kind="file_drop",
                source_file=f"{county}/{day}/enforcement_cases.csv" if sha else None, file_sha256=sha,
                file_format="csv" if sha else None, encoding="utf-8" if sha else None,
                received_at=datetime(2026, 11, 23, 1, 0, tzinfo=UTC) if sha else None,
                manifest_rows=10 if sha else None, manifest_status="ok" if sha else None,
                rows_received=10 if sha else 0, rows_loaded=10 if sha else 0, rows_quarantined=0, status=status,
                reason=None, lake_path=None, validation_ref=None, run_id="run-1")
    return record_submission(conn, **(args | kw))


def rows(conn):
    return {r[0]: r[1:] for r in conn.execute(
        "SELECT submission_id, attempt_key, status, superseded_by, rows_loaded FROM ops.submission")}


def test_same_attempt_is_upserted(warehouse):
    a = submit(warehouse, "aa", rows_loaded=7, status="loaded_with_quarantine", rows_quarantined=3)
    first = warehouse.execute("SELECT first_processed_at, last_processed_at FROM ops.submission").fetchone()
    b = submit(warehouse, "aa", rows_loaded=10, run_id="run-2")
    assert a == b
    r = warehouse.execute("SELECT count(*), min(first_processed_at), max(last_processed_at), min(rows_loaded), "
                          "min(status), min(run_id), min(rows_quarantined) FROM ops.submission").fetchone()
    assert r[0] == 1 and r[1] == first[0] and r[2] > first[1]
    assert r[3:] == (10, "loaded", "run-2", 0)


def test_file_after_late_supersedes_it_and_corrections_chain(warehouse):
    late = submit(warehouse, None, status="late", reason="nothing by 06:00")
    other_county = submit(warehouse, None, status="late", county="411023")
    other_day = submit(warehouse, None, status="missing", day=date(2026, 11, 21))
    first = submit(warehouse, "aa")
    assert rows(warehouse)[late][2] == first
    second = submit(warehouse, "bb")
    r = rows(warehouse)
    assert (r[late][2], r[first][2], r[second][2]) == (first, second, None)
    assert r[other_county][2] is None and r[other_day][2] is None
    submit(warehouse, "bb")  # re-running the current file changes nothing
    assert {k: v[2] for k, v in rows(warehouse).items()} == {k: v[2] for k, v in r.items()}
    current = "SELECT submission_id FROM ops.submission_current WHERE county_code = '411002' AND business_date = %s"
    assert warehouse.execute(current, (DAY,)).fetchall() == [(second,)]
    # The file received last is current: a county that reverts to its first file makes it current again.
    assert submit(warehouse, "aa") == first
    assert warehouse.execute(current, (DAY,)).fetchall() == [(first,)]
    assert rows(warehouse)[second][2] == first


def test_nothing_received_never_hides_a_received_file(warehouse):
    loaded = submit(warehouse, "aa")
    missing = submit(warehouse, None, status="missing")
    r = rows(warehouse)
    assert r[missing][2] == loaded and r[loaded][2] is None


def test_late_then_missing_is_one_attempt(warehouse):
    a = submit(warehouse, None, status="late")
    b = submit(warehouse, None, status="missing")
    assert a == b and rows(warehouse)[a][1:3] == ("missing", None)


def test_bad_status_is_refused(warehouse):
    with pytest.raises(psycopg.errors.CheckViolation):
        submit(warehouse, "aa", status="ok")


def test_quarantine_replaces_rows_of_the_submission(warehouse):
    sid = submit(warehouse, "aa", status="loaded_with_quarantine")
    bad = [
        {"row_number": 3, "record_id": "r3", "raw_row": {"record_id": "r3", "fine_amount": "-1", "x": None},
         "failed_rules": ["fine_amount_non_negative"], "messages": ["fine_amount must be >= 0"]},
        {"row_number": 5, "record_id": None, "raw_row": {"record_id": "", "n": 5},
         "failed_rules": ["record_id_required", "x"], "messages": ["record_id is required", "二"]},
    ]
    assert write_quarantine(warehouse, sid, bad) == 2
    assert write_quarantine(warehouse, sid, bad) == 2
    got = warehouse.execute("SELECT row_number, record_id, raw_row, failed_rules, messages, county_code, "
                            "record_type, business_date, source_file FROM ops.quarantine ORDER BY 1").fetchall()
    assert len(got) == 2
    assert got[0][:5] == (3, "r3", {"record_id": "r3", "fine_amount": "-1", "x": None},
                          ["fine_amount_non_negative"], ["fine_amount must be >= 0"])
    assert got[1][2] == {"record_id": "", "n": "5"} and got[1][4] == ["record_id is required", "二"]
    assert got[0][5:] == ("411002", "enforcement_cases", DAY, "411002/2026-11-22/enforcement_cases.csv")

    whole_file = pd.DataFrame([{"row_number": None, "record_id": None, "raw_row": None,
                                "failed_rules": np.array(["unreadable"]), "messages": "not a CSV file"}])
    assert write_quarantine(warehouse, sid, whole_file) == 1
    assert warehouse.execute("SELECT row_number, failed_rules FROM ops.quarantine").fetchall() == [
        (None, ["unreadable"])]
    assert write_quarantine(warehouse, sid, []) == 0
    assert warehouse.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 0


def test_quarantine_one_whole_file_row_per_submission(warehouse):
    sid = submit(warehouse, "aa", status="rejected")
    row = {"row_number": None, "failed_rules": ["damaged"], "messages": ["sha256 differs from manifest"]}
    with pytest.raises(psycopg.errors.UniqueViolation):
        write_quarantine(warehouse, sid, [row, row])
    assert warehouse.execute("SELECT count(*) FROM ops.quarantine").fetchone()[0] == 0
