"""The measure catalog is read from the model files (one home per measure) and docs/kpis.md is generated from it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from supervision.contract import ACTION_TYPES, DOMAINS
from supervision.marts import kpis
from supervision.warehouse.models import MODELS_DIR

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_every_measure_comes_from_the_model_that_computes_it():
    catalog = kpis.catalog()
    assert len({k.kpi for k in catalog}) == len(catalog) == 20 + len(ACTION_TYPES) + len(DOMAINS)  # 20 measures and the breakdowns
    assert {k.model for k in catalog} == {f"models/marts/kpi_contribution_{t}.sql" for t in
                                          ("enforcement", "reconsideration", "litigation", "complaint")}
    zh = {k.kpi: k.name_zh for k in catalog}
    assert zh["legal_review_rate"] == "重大执法决定法制审核率"
    assert zh["enforcement_acts.action.penalty"] == "行政执法行为数: 行政处罚"
    assert [r[-1] for r in kpis.definition_rows()] == list(range(1, len(catalog) + 1))


def test_kpi_page_is_generated_from_the_models():
    committed = (DOCS / "kpis.md").read_text(encoding="utf-8")
    assert kpis.render_docs(committed) == committed, "regenerate: python -m supervision.marts.kpis docs/kpis.md"


def test_a_measure_declared_without_its_sql_is_refused(tmp_path):
    shutil.copytree(MODELS_DIR, tmp_path / "models")
    path = tmp_path / "models" / "marts" / "kpi_contribution_litigation.sql"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("    ('litigation_filed', l.filed_date, 1::numeric, NULL::numeric),\n", ""),
                    encoding="utf-8")
    with pytest.raises(ValueError, match="litigation_filed is declared but its SQL"):
        kpis.entries(tmp_path / "models")
    assert [e.kpi for e in kpis.entries(MODELS_DIR)][:2] == ["enforcement_acts", "enforcement_acts.action.{value}"]
