"""marts.kpi_target / marts.kpi_vs_target and marts.enum_label as a supervisor reads them (no browser)."""

from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest

from supervision.targets import load_targets

from .conftest import as_login

pytestmark = pytest.mark.integration


def test_targets_against_figures_with_city_override(portal, tmp_path):
    owner_url = portal["owner_url"]
    f = tmp_path / "targets.yaml"
    f.write_text('defaults:\n  publicity_rate: {comparator: ">=", target: 1, source: "国办发〔2018〕118号"}\n'
                 '  head_appearance_rate: {comparator: ">=", target: "1/3", source: "纲要"}\n'
                 'overrides:\n  "4110":\n    publicity_rate: {target: 0.3, source: "许昌市方案"}\n', encoding="utf-8")
    with psycopg.connect(owner_url, autocommit=True) as owner:
        load_targets(owner, f)
        try:
            login, password = portal["logins"]["province"]
            with as_login(owner_url, login, password) as conn:
                rows = {r[0]: r[1:] for r in conn.execute(
                    "SELECT division_code, numerator, denominator, target, target_label, target_source, target_met "
                    "FROM marts.kpi_vs_target WHERE kpi = 'publicity_rate' AND period_type = 'year' "
                    "AND period_start = '2026-01-01' AND division_code IN ('411002', '410102', '41')")}
                # 魏都区 under Xuchang's own target (30 %), Zhengzhou and the province under the default (100 %)
                n, d, target, label, source, met = rows["411002"]
                assert (float(target), label, source) == (0.3, "≥ 30%", "许昌市方案") and met == (n >= Decimal("0.3") * d)
                assert rows["41"][3] == "≥ 100%" and rows["41"][5] == (rows["41"][0] == rows["41"][1])
                head = conn.execute(
                    "SELECT numerator, denominator, target_met FROM marts.kpi_vs_target WHERE kpi = "
                    "'head_appearance_rate' AND division_code = '4110' AND period_type = 'year' "
                    "AND period_start = '2026-01-01'").fetchone()
                assert head[2] == (head[0] * 3 >= head[1])  # exactly 1/3 meets it
                assert conn.execute("SELECT zh FROM marts.enum_label WHERE field = 'reconsideration_outcome' AND "
                                    "enum_value = 'confirmed_illegal'").fetchone()[0] == "确认违法"
        finally:
            load_targets(owner)  # back to the project's file


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
