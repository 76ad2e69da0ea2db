"""marts.watchlist_item after each refresh (no browser). marts.kpi_vs_target is tested with its model:
tests/integration/marts/models/test_kpi_vs_target.py."""

from __future__ import annotations

import psycopg
import pytest

pytestmark = pytest.mark.integration


def test_watchlist_item_is_the_watchlist_after_each_refresh(portal):
    """V503: the refresh leaves marts.watchlist_item equal to marts.watchlist (the migration, then a refresh
    after a complaint was handled; a new key makes it a full one, the incremental path runs the same function)."""
    from supervision.marts.refresh import refresh_marts

    from .conftest import world_data

    with psycopg.connect(portal["owner_url"], autocommit=True) as owner:
        def same():
            return (set(owner.execute("SELECT * FROM marts.watchlist_item"))
                    == set(owner.execute("SELECT * FROM marts.watchlist")))

        assert same() and owner.execute("SELECT count(*) FROM marts.watchlist_item").fetchone()[0] > 0
        world_data.load(owner, "complaints", [world_data.complaint("C3", "411002", received="2026-09-10",
                                                                   handled="2026-11-08", updated_at="2026-11-23T08:00:00+08:00")])
        refresh_marts(owner, key=world_data.make_key(), as_of=world_data.AS_OF, migrate=False)
        assert same() and not owner.execute("SELECT 1 FROM marts.watchlist_item WHERE record_id = 'C3'").fetchone()
