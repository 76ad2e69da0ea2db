"""Models watch_complaint_overdue, watch_reconsideration_overdue, watch_publicity_overdue,
watch_major_without_review, watch_suggestion_unanswered and watchlist: what is overdue, whose, by how much.

Hand-computed values on the Xuchang world of marts_support.py (as of 2026-11-23).
"""

from __future__ import annotations

from datetime import date

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_watchlists_name_the_agency_and_how_overdue(world):
    rows = world.execute("SELECT kind, county_code, record_id, agency_name, due_date, days_overdue "
                         "FROM marts.watchlist ORDER BY kind, record_id").fetchall()
    assert rows == [
        ("complaint_overdue", "411002", "C3", "许昌市魏都区市场监督管理局", date(2026, 11, 9), 14),
        ("complaint_overdue", "410102", "C9", "郑州市中原区城市管理局", date(2026, 3, 2), 266),
        ("major_without_review", "411002", "E6", "许昌市魏都区市场监督管理局", date(2026, 11, 5), 18),
        ("publicity_overdue", "411002", "E3", "许昌市魏都区市场监督管理局", date(2026, 11, 10), 13),
        ("publicity_overdue", "410102", "E9", "郑州市中原区城市管理局", date(2026, 2, 28), 268),
        ("reconsideration_overdue", "411002", "R4", "许昌市魏都区市场监督管理局", date(2026, 11, 2), 21),
        ("suggestion_unanswered", "411002", "L2", "许昌市魏都区市场监督管理局", date(2026, 8, 30), 85),
    ]
    wd = world.execute("SELECT working_days_overdue FROM marts.watch_publicity_overdue WHERE record_id = 'E3'")
    assert wd.fetchone()[0] == 8  # Nov 11-13 and 16-20 were working days, 11-21/22 the weekend
    rec = world.execute("SELECT deadline_days, extended FROM marts.watch_reconsideration_overdue").fetchall()
    assert rec == [(60, False)]
    assert world.execute("SELECT reported_as FROM marts.watch_major_without_review").fetchall() == [("quarantine",)]


def test_the_materialized_watchlist_has_the_watchlists_columns(world):
    """marts.watchlist_item (a table, V503) is filled with SELECT * FROM marts.watchlist by the refresh: a change of
    the model's columns needs a migration of the table."""
    columns = ("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass "
               "AND attnum > 0 AND NOT attisdropped ORDER BY attnum")
    assert (world.execute(columns, ("marts.watchlist_item",)).fetchall()
            == world.execute(columns, ("marts.watchlist",)).fetchall())
    assert world.execute("SELECT count(*) FROM marts.watchlist_item").fetchone()[0] == 7
