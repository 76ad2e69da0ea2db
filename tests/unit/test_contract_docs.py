"""docs/contract.md is generated from the contract: the committed page must match the code."""

from pathlib import Path

from supervision.contract_docs import render

DOC = Path(__file__).resolve().parents[2] / "docs" / "contract.md"


def test_committed_contract_page_matches_the_code():
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/contract.md is stale: run `.venv/bin/python -m supervision.contract_docs > docs/contract.md`")


def test_every_field_and_rule_is_documented():
    from supervision.contract import RECORD_TYPES
    from supervision.validation import rule_specs

    text = DOC.read_text(encoding="utf-8")
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            assert f"`{f.name}`" in text
        for s in rule_specs(rt):
            assert f"`{s.id}`" in text
