import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from supervision.contract import ENFORCEMENT, RECORD_TYPES
from supervision.warehouse.load import LoadResult, load_records

pytestmark = pytest.mark.integration


def core(conn, columns="*", table="enforcement_case"):
    return conn.execute(f"SELECT {columns} FROM core.{table} ORDER BY county_code, record_id").fetchall()  # noqa: S608


def history_count(conn, table="enforcement_case"):
    return conn.execute(f"SELECT count(*) FROM core.{table}_history").fetchone()[0]  # noqa: S608


@pytest.mark.parametrize("rt", RECORD_TYPES.values(), ids=lambda rt: rt.name)
def test_insert_then_reload_changes_nothing(warehouse, make_frame, rt):
    frame = make_frame(rt, 5)
    assert load_records(warehouse, rt, frame, 1) == LoadResult(5, 5, 0, 0, 5)
    before = core(warehouse, table=rt.table)
    assert load_records(warehouse, rt, frame, 2) == LoadResult(5, 0, 0, 5, 0)
    assert core(warehouse, table=rt.table) == before  # same submission_id, loaded_at, everything
    assert history_count(warehouse, rt.table) == 5


def test_newer_version_wins_older_is_kept_in_history(warehouse, make_frame):
    t0 = pd.Timestamp("2026-11-20T09:00:00+08:00")
    v1 = make_frame(ENFORCEMENT, 2, updated_at=t0, status="open")
    v2 = make_frame(ENFORCEMENT, 1, updated_at=t0 + timedelta(days=1), status="decided")
    v0 = make_frame(ENFORCEMENT, 1, updated_at=t0 - timedelta(days=1), status="withdrawn")
    assert load_records(warehouse, ENFORCEMENT, v1, 1) == LoadResult(2, 2, 0, 0, 2)
    assert load_records(warehouse, ENFORCEMENT, v2, 2) == LoadResult(1, 0, 1, 0, 1)
    assert load_records(warehouse, ENFORCEMENT, v0, 3) == LoadResult(1, 0, 0, 1, 1)
    assert core(warehouse, "record_id, status, submission_id") == [("r0", "decided", 2), ("r1", "open", 1)]
    hist = warehouse.execute("SELECT status, submission_id FROM core.enforcement_case_history "
                             "WHERE record_id = 'r0' ORDER BY updated_at").fetchall()
    assert hist == [("withdrawn", 3), ("open", 1), ("decided", 2)]
    # Re-sending the same versions adds nothing.
    for sid, frame in ((4, v1), (5, v2), (6, v0)):
        r = load_records(warehouse, ENFORCEMENT, frame, sid)
        assert (r.inserted, r.updated, r.history_added) == (0, 0, 0)
    assert history_count(warehouse) == 4


def test_same_key_twice_in_one_frame_newest_wins(warehouse, make_frame):
    t0 = pd.Timestamp("2026-11-20T09:00:00Z")
    frame = pd.concat([make_frame(ENFORCEMENT, 1, updated_at=t0 + timedelta(hours=1), status="closed"),
                       make_frame(ENFORCEMENT, 1, updated_at=t0, status="open")], ignore_index=True)
    assert load_records(warehouse, ENFORCEMENT, frame, 1) == LoadResult(2, 1, 0, 0, 2, duplicates=1)
    assert core(warehouse, "status") == [("closed",)]


def test_same_updated_at_a_later_submission_corrects_an_earlier_one(warehouse, make_frame):
    # A corrected re-send for the same day keeps updated_at but changes content: the later submission wins.
    load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 1, agency_name="甲"), 1)
    r = load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 1, agency_name="乙"), 2)
    assert (r.updated, r.unchanged, r.history_added) == (1, 0, 1)
    assert core(warehouse, "agency_name") == [("乙",)]


def test_same_updated_at_an_earlier_submission_never_overwrites(warehouse, make_frame):
    # Re-running an older submission after a correction must not bring the old content back.
    load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 1, agency_name="乙"), 2)
    r = load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 1, agency_name="甲"), 1)
    assert (r.updated, r.unchanged, r.history_added) == (0, 1, 1)
    assert core(warehouse, "agency_name") == [("乙",)]


def test_null_and_empty_string_stay_apart(warehouse, make_frame):
    frame = make_frame(ENFORCEMENT, 4)
    frame["case_number"] = pd.array(["", None, 'a "quoted", comma\nnewline \\ 豫', "NULL"], dtype="str")
    frame["township_code"] = pd.array([None, "411002001", None, "411002001"], dtype="str")
    load_records(warehouse, ENFORCEMENT, frame, 1)
    assert core(warehouse, "case_number, township_code") == [
        ("", None), (None, "411002001"), ('a "quoted", comma\nnewline \\ 豫', None), ("NULL", "411002001")]
    # '' and NULL hash differently: the same updated_at with NULL instead of '' is another version.
    frame2 = frame.iloc[:1].copy()
    frame2["case_number"] = pd.array([None], dtype="str")
    assert load_records(warehouse, ENFORCEMENT, frame2, 2).history_added == 1


def test_types_round_trip(warehouse, make_frame):
    frame = make_frame(ENFORCEMENT, 3)
    frame["updated_at"] = pd.to_datetime(["2026-11-22T23:59:59.123456+08:00", "2026-01-01T00:00:00Z",
                                          "2026-06-30T12:00:00.5-05:00"], utc=True, format="ISO8601")
    frame["filed_date"] = pd.to_datetime(["2026-02-28", "2024-02-29", "1999-12-31"])
    frame["decided_date"] = pd.Series([pd.Timestamp("2026-03-01"), pd.NaT, pd.NaT], dtype="datetime64[us]")
    frame["fine_amount"] = [0.1 + 0.2, None, 123456789012.34]
    frame["confiscated_amount"] = [Decimal("5.05"), None, Decimal("0")]
    frame["is_major"] = pd.array([True, False, True], dtype="boolean")
    frame["legal_review_done"] = pd.array([False, True, False], dtype="boolean")
    load_records(warehouse, ENFORCEMENT, frame, 1)
    got = core(warehouse, "updated_at, filed_date, decided_date, fine_amount, confiscated_amount, is_major, "
                          "legal_review_done")
    assert got == [
        (datetime(2026, 11, 22, 15, 59, 59, 123456, tzinfo=UTC), date(2026, 2, 28), date(2026, 3, 1),
         Decimal("0.30"), Decimal("5.05"), True, False),
        (datetime(2026, 1, 1, tzinfo=UTC), date(2024, 2, 29), None, None, None, False, True),
        (datetime(2026, 6, 30, 17, 0, 0, 500000, tzinfo=UTC), date(1999, 12, 31), None,
         Decimal("123456789012.34"), Decimal("0.00"), True, False),
    ]


def test_naive_timestamps_are_utc(warehouse, make_frame):
    frame = make_frame(ENFORCEMENT, 1)
    frame["updated_at"] = pd.to_datetime(["2026-11-22 10:00:00"])
    warehouse.execute("SET TimeZone = 'Asia/Shanghai'")
    load_records(warehouse, ENFORCEMENT, frame, 1)
    assert core(warehouse, "updated_at") == [(datetime(2026, 11, 22, 10, tzinfo=UTC),)]


def test_row_hash_ignores_session_settings(warehouse, make_frame):
    frame = make_frame(ENFORCEMENT, 2)
    load_records(warehouse, ENFORCEMENT, frame, 1)
    warehouse.execute("SET TimeZone = 'America/New_York'")
    warehouse.execute("SET DateStyle = 'German, DMY'")
    assert load_records(warehouse, ENFORCEMENT, frame, 2).history_added == 0


def test_empty_frame(warehouse, make_frame):
    assert load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 0), 1) == LoadResult(0, 0, 0, 0, 0)


def test_missing_contract_column_is_refused(warehouse, make_frame):
    with pytest.raises(ValueError, match="lacks contract fields"):
        load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 1).drop(columns=["status"]), 1)


def test_rolled_back_with_the_callers_transaction(warehouse, make_frame):
    warehouse.autocommit = False
    warehouse.execute("SELECT 1")  # the caller's transaction is open: loads join it
    load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 2), 1)
    load_records(warehouse, ENFORCEMENT, make_frame(ENFORCEMENT, 2, start=2), 1)  # same temp table name
    warehouse.rollback()
    assert core(warehouse) == []


def test_50k_rows(warehouse, make_frame):
    frame = make_frame(ENFORCEMENT, 50_000)
    start = time.perf_counter()
    assert load_records(warehouse, ENFORCEMENT, frame, 1) == LoadResult(50_000, 50_000, 0, 0, 50_000)
    first = time.perf_counter() - start
    assert load_records(warehouse, ENFORCEMENT, frame, 2) == LoadResult(50_000, 0, 0, 50_000, 0)
    newer = frame.assign(updated_at=frame.updated_at + pd.Timedelta(hours=1))
    assert load_records(warehouse, ENFORCEMENT, newer, 3) == LoadResult(50_000, 0, 50_000, 0, 50_000)
    print(f"50k rows: first load {first:.2f}s ({50_000 / first:,.0f} rows/s)")
    assert first < 30
