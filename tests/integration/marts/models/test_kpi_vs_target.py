"""Model kpi_vs_target: marts.kpi with the plans' targets (marts.kpi_target) and marts.enum_label, as a province
supervisor reads them. Moved from tests/portal/test_targets_sql.py."""

from __future__ import annotations

from decimal import Decimal

import pytest

from supervision.targets import load_targets

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


def test_targets_against_figures_with_city_override(world, as_supervisor, tmp_path):
    f = tmp_path / "targets.yaml"
    f.write_text('defaults:\n  publicity_rate: {comparator: ">=", target: 1, source: "国办发〔2018〕118号"}\n'
                 '  head_appearance_rate: {comparator: ">=", target: "1/3", source: "纲要"}\n'
                 'overrides:\n  "4110":\n    publicity_rate: {target: 0.3, source: "许昌市方案"}\n', encoding="utf-8")
    load_targets(world, f)
    try:
        conn = as_supervisor("province")
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
        load_targets(world)  # back to the project's file
