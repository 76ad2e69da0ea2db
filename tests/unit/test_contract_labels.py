"""Chinese labels beside the contract: every field, enum value and rule id has one (county texts and the portal)."""

from __future__ import annotations

import re

import pytest

from supervision.contract import ENUM, FILE_RULES_ZH, RECORD_TYPES, Field, rule_fields, rule_zh
from supervision.validation import rule_specs

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("rt", RECORD_TYPES.values(), ids=list(RECORD_TYPES))
def test_every_rule_id_has_a_chinese_description_naming_its_fields(rt):
    for spec in rule_specs(rt):
        text = rule_zh(rt, spec.id)
        assert text != spec.id and CJK.search(text), spec.id
        for name in rule_fields(rt, spec.id):
            assert f"（{name}）" in text or name in text, (spec.id, text)


@pytest.mark.parametrize("rt", RECORD_TYPES.values(), ids=list(RECORD_TYPES))
def test_every_enum_value_has_a_chinese_label(rt):
    for f in rt.fields_of_type(ENUM):
        assert len(f.enum_zh) == len(f.enum) and all(CJK.search(z) for z in f.enum_zh), f.name
        assert f.value_zh(f.enum[0]) == f.enum_zh[0] and f.value_zh("nonsense") is None
        assert f.label == f"{f.zh}（{f.name}）"


def test_whole_file_rules_and_unknown_ids():
    rt = RECORD_TYPES["complaints"]
    for rule in ("file.readable", "file.schema", "file.manifest_rows", "file.manifest_sha256", "file.reject_threshold",
                 "source.malformed_response", "source.page_sequence", "source.schema"):
        assert rule_zh(rt, rule) == FILE_RULES_ZH[rule]
    assert rule_zh(rt, "no_such.rule") == "no_such.rule"
    with pytest.raises(ValueError, match="one Chinese label per enum value"):
        Field("x", ENUM, "某", enum=("a", "b"), enum_zh=("甲",))
