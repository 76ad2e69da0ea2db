"""Extraction state in the warehouse: how the window of a date is planned, and how the watermark moves."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from supervision.sources import state as st

pytestmark = pytest.mark.integration
C, RT = "411002", "enforcement_cases"
D = date(2026, 10, 20)
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def plan(conn, day=D, **kw):
    return st.plan(conn, C, RT, day, now=kw.pop("now", NOW), **kw)


def extraction(conn, day, status="loaded", lake_path=None, low=None, high=None):
    st.record_extraction(conn, county_code=C, record_type=RT, business_date=day, source_kind="http_api",
                         source_ref="GET /x", window_from=low, window_to=high or st.end_of_day(day), status=status,
                         rows_received=3, pages=1, batch_sha256="abc", lake_path=lake_path, submission_id=None,
                         detail=None, fetched_at=NOW)


def test_first_pull_takes_everything_up_to_the_end_of_the_date(warehouse):
    p = plan(warehouse)
    assert (p.mode, p.low, p.high, p.start) == ("pull", None, st.end_of_day(D), "beginning")
    assert st.end_of_day(D).isoformat() == "2026-10-21T00:00:00+08:00"


def test_initial_watermark_and_history_start_a_first_pull(warehouse):
    initial = datetime(2026, 10, 1, tzinfo=st.TZ)
    assert plan(warehouse, initial=initial).low == initial
    (sid,) = warehouse.execute(
        "INSERT INTO ops.submission (county_code, record_type, business_date, source_kind, status, file_sha256)"
        " VALUES (%s, %s, %s, 'file_drop', 'loaded', 'f') RETURNING submission_id", (C, RT, D)).fetchone()
    warehouse.execute("INSERT INTO core.enforcement_case (county_code, record_id, updated_at, agency_code, agency_name,"
                      " action_type, domain, party_type, party_id, party_name, filed_date, status, is_major,"
                      " legal_review_done, full_process_recorded, row_hash, submission_id)"
                      " VALUES (%s, 'r1', '2026-10-19 15:00+08', 'a', 'a', 'other', 'other', 'person', 'p', 'p',"
                      " '2026-10-01', 'open', false, false, false, 'h', %s)", (C, sid))
    p = plan(warehouse)
    assert (p.start, p.low) == ("history", datetime(2026, 10, 19, 15, tzinfo=st.TZ))  # e.g. it dropped files before


def test_the_watermark_starts_the_window_and_only_moves_forward(warehouse):
    wm = st.end_of_day(D - timedelta(days=1))
    assert st.advance(warehouse, county_code=C, record_type=RT, to=wm, business_date=D - timedelta(days=1),
                      source_kind="http_api", submission_id=None) == wm
    p = plan(warehouse)
    assert (p.mode, p.low, p.high, p.start) == ("pull", wm, st.end_of_day(D), "watermark")
    assert st.advance(warehouse, county_code=C, record_type=RT, to=wm - timedelta(days=3), business_date=D,
                      source_kind="database", submission_id=None) == wm
    assert st.get_watermark(warehouse, C, RT).source_kind == "http_api"  # untouched by the older batch


def test_a_date_already_covered_by_a_later_night_is_an_empty_window(warehouse):
    st.advance(warehouse, county_code=C, record_type=RT, to=st.end_of_day(D + timedelta(days=2)),
               business_date=D + timedelta(days=2), source_kind="database", submission_id=None)
    p = plan(warehouse)
    assert p.mode == "empty" and "2026-10-22" in p.note and p.low == p.high


def test_a_loaded_date_is_replayed_from_its_landed_batch(warehouse, tmp_path):
    landed = tmp_path / "batch.parquet"
    landed.write_bytes(b"x")
    extraction(warehouse, D, lake_path=str(landed), low=st.end_of_day(D - timedelta(days=3)))
    p = plan(warehouse)
    assert (p.mode, p.low, p.high) == ("replay", st.end_of_day(D - timedelta(days=3)), st.end_of_day(D))
    landed.unlink()  # the lake was cleaned: pull the very same window again
    p = plan(warehouse)
    assert (p.mode, p.low) == ("pull", st.end_of_day(D - timedelta(days=3))) and "is gone" in p.note


def test_a_failed_date_pulls_from_the_watermark_again(warehouse):
    extraction(warehouse, D, status="source_error")
    assert plan(warehouse).mode == "pull"
    extraction(warehouse, D, status="rejected")
    row = st.get_extraction(warehouse, C, RT, D)
    assert row.attempts == 2 and row.status == "rejected"


def test_the_window_never_reaches_into_changes_still_in_flight(warehouse):
    now = datetime(2026, 10, 20, 10, 0, tzinfo=st.TZ)  # running the day itself, mid-morning
    p = plan(warehouse, now=now)
    assert p.high == now - st.DEFAULT_SETTLE


def test_lookback_reopens_part_of_the_loaded_window(warehouse):
    wm = st.end_of_day(D - timedelta(days=1))
    st.advance(warehouse, county_code=C, record_type=RT, to=wm, business_date=D, source_kind="http_api",
               submission_id=None)
    assert plan(warehouse, lookback=timedelta(hours=6)).low == wm - timedelta(hours=6)


def test_source_error_is_a_ledger_status(warehouse):
    warehouse.execute(
        "INSERT INTO ops.submission (county_code, record_type, business_date, source_kind, status, reason)"
        " VALUES (%s, %s, %s, 'http_api', 'source_error', 'x')", (C, RT, D))
    with pytest.raises(Exception, match="submission_status_check"):
        warehouse.execute(
            "INSERT INTO ops.submission (county_code, record_type, business_date, source_kind, status, file_sha256)"
            " VALUES (%s, %s, %s, 'http_api', 'exploded', 'y')", (C, RT, D))
