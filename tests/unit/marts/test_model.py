"""Fact tables derive from the contract; the committed migration is what the generator writes."""

from __future__ import annotations

import re
from pathlib import Path

from supervision.contract import RECORD_TYPES
from supervision.marts import kpis, model
from supervision.marts.refresh import agency_fields, legal_review_rule
from supervision.warehouse.migrate import MIGRATIONS_DIR, migrations
from supervision.warehouse.models import MODELS_DIR, models


def test_committed_fact_migration_matches_the_contract():
    committed = (MIGRATIONS_DIR / model.FACT_MIGRATION).read_text(encoding="utf-8")
    assert committed == model.fact_migration_sql(), (
        "the contract changed: write a new migration (python -m supervision.marts.model shows the new DDL)")


def test_every_contract_field_has_a_fact_column_and_pii_is_never_clear():
    for rt in RECORD_TYPES.values():
        cols = {c.name: c for c in model.fact_columns(rt)}
        for f in rt.fields:
            if not f.pii:
                assert cols[f.name].kind == model.CLEAR and cols[f.name].sql_type == f.sql_type
            else:
                assert cols[f"{f.name}_pseudonym"].kind == model.PSEUDONYM
                if f.pii is True:
                    assert f.name not in cols
                else:
                    assert cols[f.name].kind == model.ORG_ONLY and not cols[f.name].not_null


def test_select_list_pseudonymizes_in_sql():
    rt = RECORD_TYPES["complaints"]
    text = model.select_list(rt).as_string(None)
    assert "sha256" in text and "pii_ipad" in text and "pii_opad" in text
    assert '"c"."complainant_id"' in text  # only inside the HMAC
    assert not re.search(r'(?<!convert_to\()"c"\."complainant_id"(?!::text)', text)


def test_my_migrations_are_in_my_range_and_numbered_in_order():
    mine = [m for m in migrations() if m.path.name.startswith("V1") and len(str(m.version)) == 3]
    assert [m.version for m in mine] == sorted(m.version for m in mine)
    assert all(100 <= m.version <= 199 for m in mine) and model.FACT_MIGRATION in {m.path.name for m in mine}


def test_agency_fields_come_from_the_contract():
    assert agency_fields(RECORD_TYPES["enforcement_cases"]) == [("agency_code", "agency_name")]
    assert agency_fields(RECORD_TYPES["litigation_cases"]) == [("defendant_agency_code", "defendant_agency_name")]
    assert agency_fields(RECORD_TYPES["complaints"]) == [("target_agency_code", None)]
    assert legal_review_rule() == "major_decision_needs_legal_review"


def test_kpi_catalog():
    cat = kpis.catalog()
    codes = [k.kpi for k in cat]
    assert len(codes) == len(set(codes))
    from supervision.contract import ACTION_TYPES, DOMAINS

    assert set(kpis.ACTION_TYPE_ZH) == set(ACTION_TYPES) and set(kpis.DOMAIN_ZH) == set(DOMAINS)
    for a in ACTION_TYPES:
        assert f"enforcement_acts.action.{a}" in codes
    rates = {k.kpi for k in cat if k.unit == kpis.RATIO}
    assert rates == {"full_process_record_rate", "publicity_rate", "legal_review_rate",
                     "reconsideration_correction_rate", "reconsideration_on_time_rate", "litigation_loss_rate",
                     "head_appearance_rate", "head_appearance_rate_required", "judicial_suggestion_reply_rate",
                     "complaint_on_time_rate"}
    assert all(k.denominator for k in cat if k.unit == kpis.RATIO)
    assert all(len(r) == len(kpis.DEFINITION_COLUMNS) for r in kpis.definition_rows())


def test_every_kpi_of_the_catalog_is_computed_by_the_sql_of_its_model():
    for k in kpis.catalog():
        sql_text = (MODELS_DIR.parent / k.model).read_text(encoding="utf-8")
        family = k.kpi if k.kpi == k.family else k.family + "."
        assert f"'{family}" in sql_text, f"{k.kpi} is in the catalog but not in {k.model}"
        assert f"'{k.record_type}'::text AS record_type" in sql_text, k.kpi


def test_sql_quoted_in_the_kpi_page_is_the_model_sql():
    def norm(text: str) -> str:
        return " ".join(text.split())

    live = norm(" ".join(m.sql for m in models()))
    page = (Path(__file__).resolve().parents[3] / "docs" / "kpis.md").read_text(encoding="utf-8")
    quoted = [b for b in re.findall(r"```sql\n(.*?)```", page, re.S) if "VIEW marts." in b]
    assert len(quoted) >= 9
    for block in quoted:
        assert norm(block) in live, block[:80]
