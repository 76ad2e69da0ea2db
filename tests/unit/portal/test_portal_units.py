"""Targets file, Chinese labels, formula neutralisation, session signing and the throttle (no database)."""

from __future__ import annotations

import io
from decimal import Decimal

import openpyxl
import pytest

from supervision import labels
from supervision.contract import RECORD_TYPES
from supervision.portal import charts, xlsx
from supervision.portal.sessions import SessionStore, Throttle
from supervision.targets import read_targets


def test_the_plans_targets_have_values_and_sources():
    t = {x.kpi: x for x in read_targets() if x.scope_code == ""}
    assert t["head_appearance_rate"].target == Decimal("0.3333333333") and t["head_appearance_rate"].label == "≥ 1/3"
    for kpi in ("head_appearance_rate_required", "judicial_suggestion_reply_rate", "legal_review_rate"):
        assert t[kpi].target == 1 and t[kpi].comparator == ">=" and t[kpi].label == "≥ 100%"
    assert "100%" in t["judicial_suggestion_reply_rate"].source and "合法性审查" in t["legal_review_rate"].source
    assert all(x.source for x in t.values())


def test_overrides_per_province_and_city(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text('defaults:\n  publicity_rate: {comparator: ">=", target: 1, source: "国办发〔2018〕118号"}\n'
                 'overrides:\n  "4110":\n    publicity_rate: {target: 0.95, source: "许昌市方案"}\n', encoding="utf-8")
    got = {(x.kpi, x.scope_code): x for x in read_targets(f)}
    assert got[("publicity_rate", "4110")].target == Decimal("0.95") and got[("publicity_rate", "4110")].comparator == ">="
    f.write_text('defaults:\n  no_such_kpi: {target: 1, source: x}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown measure"):
        read_targets(f)
    f.write_text('defaults:\n  publicity_rate: {target: 1}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="source"):
        read_targets(f)


def test_every_enum_value_has_a_chinese_label():
    fields = {"outcome": None, "procedure": "procedure", "action_type": "action_type", "domain": "domain",
              "status": "status", "channel": "channel", "result": "result", "trial_level": "trial_level"}
    for rt in RECORD_TYPES.values():
        for f in rt.fields:
            if not f.enum or f.name.endswith("_type") and f.name not in fields:
                continue
            key = fields.get(f.name) or (f"{rt.name.split('_')[0]}_outcome" if f.name == "outcome" else f.name)
            for v in f.enum:
                zh = labels.value(key, v)
                assert zh != v and not zh.isascii(), (rt.name, f.name, v)
    assert labels.value("reconsideration_outcome", "revoked") == "撤销"
    assert labels.value("reconsideration_outcome", "confirmed_illegal") == "确认违法"
    assert labels.column("agency_name", "enforcement_cases") == "执法主体名称"
    assert labels.value("alert_kind", "something_new") == "something_new"  # a new value still shows


@pytest.mark.parametrize("raw", ["=1+1", "+1", "-1", "@SUM(A1)", "=HYPERLINK(\"http://x\",\"y\")", "\t=1"])
def test_formula_cells_are_neutralised(raw):
    wb = openpyxl.load_workbook(io.BytesIO(xlsx.workbook("t", [("s", ["h"], [[raw], [-5], [3.5]])])))
    ws = wb["s"]
    assert ws["A3"].value == "'" + raw and ws["A3"].data_type == "s"
    assert ws["A4"].value == -5 and ws["A5"].value == 3.5  # numbers stay numbers


def test_session_cookies_are_signed_and_expire():
    from supervision.portal.db import Scope

    store = SessionStore(b"k" * 32, idle_seconds=60)
    cookie, s = store.create(Scope("wd_x", "411002", "county", "魏都区"))
    assert store.get(cookie) is s
    sid = cookie.rsplit(".", 1)[0]
    assert store.get(sid + ".forged") is None and store.get(sid) is None
    assert SessionStore(b"o" * 32).get(cookie) is None  # another key
    s.last_seen -= 61
    assert store.get(cookie) is None
    store2 = SessionStore(b"k" * 32)
    c2, _ = store2.create(Scope("wd_x", "411002", "county", "魏都区"))
    store2.drop(c2)
    assert store2.get(c2) is None


def test_throttle_per_login_and_address():
    t = Throttle(limit=2, window=60)
    t.fail("login:a", "ip:1")
    assert not t.blocked("login:a", "ip:1")
    t.fail("login:a", "ip:1")
    assert t.blocked("login:a", "ip:2") and not t.blocked("login:b", "ip:1")
    for i in range(8):
        t.fail(f"login:{i}", "ip:9")
    assert t.blocked("login:new", "ip:9")  # 4 x limit from one address


def test_chart_escapes_and_scales():
    svg = str(charts.bar_chart([("<b>", 0.5), ("x", None)], ratio=True, target=1 / 3, title="<script>"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "&lt;b&gt;" in svg and "50.0%" in svg
