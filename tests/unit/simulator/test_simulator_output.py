"""Layout, determinism, manifests, formats and content of simulated nights."""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, datetime

import pandas as pd
import pytest
from sim_rowcheck import DAY, failures, parse_date, read_rows

from supervision.contract import DATE, PARTY_ID, RECORD_TYPES, RIC, USCC
from supervision.identifiers import make_ric, make_uscc, ric_valid, uscc_valid
from supervision_dev.simulator import TRUTH_DIR, FaultProfile, SimulationReport, simulate_night
from supervision_dev.simulator.county import build_ctx
from supervision_dev.simulator.people import rics, usccs


def _tree(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_inputs_same_bytes(registry, xuchang, tmp_path):
    faults = FaultProfile.default(xuchang)
    a, b = tmp_path / "a", tmp_path / "b"
    simulate_night(registry, DAY, a, faults=faults, counties=xuchang)
    simulate_night(registry, DAY, b, faults=faults, counties=xuchang)
    ta, tb = _tree(a), _tree(b)
    assert ta.keys() == tb.keys() and len(ta) > 20
    assert [k for k in ta if ta[k] != tb[k]] == []
    assert any(k.endswith(".xlsx") for k in ta) and any(k.endswith(".json") and "/" in k for k in ta)


def test_a_county_is_the_same_alone_or_with_others(registry, xuchang, tmp_path):
    simulate_night(registry, DAY, tmp_path / "all", counties=xuchang)
    simulate_night(registry, DAY, tmp_path / "one", counties=["411081"])
    sub = "411081/" + DAY.isoformat()
    assert _tree(tmp_path / "all" / sub) == _tree(tmp_path / "one" / sub)


def test_other_seed_other_data(registry, tmp_path):
    simulate_night(registry, DAY, tmp_path / "a", counties=["411002"], seed=1)
    simulate_night(registry, DAY, tmp_path / "b", counties=["411002"], seed=2)
    assert _tree(tmp_path / "a") != _tree(tmp_path / "b")


def test_layout_and_truth_file(faulty_night, fault_counties):
    root, report = faulty_night
    truth = root / TRUTH_DIR / f"{DAY.isoformat()}.json"
    assert SimulationReport.from_json(truth).to_json() == truth.read_text(encoding="utf-8")
    assert SimulationReport.from_json(truth.read_text(encoding="utf-8")).totals == report.totals
    assert sorted(report.counties) == sorted(fault_counties)
    assert {p.name for p in root.iterdir()} <= set(fault_counties) | {TRUTH_DIR}
    for code, county in report.counties.items():
        for rt, f in county.files.items():
            if f.file:
                assert f.file == f"{rt}.{county.format}"
                assert (root / code / DAY.isoformat() / f.file).is_file()


def test_manifest_matches_healthy_files(faulty_night):
    root, report = faulty_night
    checked = 0
    for code, county in report.counties.items():
        if not county.manifest:
            continue
        folder = root / code / DAY.isoformat()
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert list(manifest) == ["county_code", "business_date", "generated_at", "encoding", "files"]
        assert manifest["county_code"] == code and manifest["business_date"] == DAY.isoformat()
        generated = datetime.fromisoformat(manifest["generated_at"])
        assert manifest["generated_at"].endswith("+08:00") and generated.date() == date(2026, 11, 23)
        assert manifest["encoding"] in ("utf-8", "utf-8-sig", "gbk")
        assert set(manifest["files"]) == {rt for rt, f in county.files.items() if f.file}
        for rt, entry in manifest["files"].items():
            f = county.files[rt]
            if county.fault in ("manifest_rows", "manifest_sha256", "unreadable") and f.expected_outcome == "rejected":
                continue
            data = (folder / f.file).read_bytes()
            assert entry["sha256"] == hashlib.sha256(data).hexdigest() == f.sha256
            assert entry["rows"] == len(read_rows(folder / f.file, manifest["encoding"])) == f.rows
            checked += 1
    assert checked >= 30


def test_headers_follow_the_contract_and_empty_files_have_one(faulty_night):
    root, report = faulty_night
    empty = 0
    for code, county in report.counties.items():
        if county.fault in ("late", "unreadable"):
            continue
        for rt, f in county.files.items():
            if not f.file:
                continue
            path = root / code / DAY.isoformat() / f.file
            if county.format == "csv":
                text = path.read_bytes().decode({"gbk": "gbk"}.get(county.encoding, county.encoding))
                assert text.splitlines()[0].replace('"', "").split(",") == RECORD_TYPES[rt].field_names
            rows = read_rows(path, county.encoding)
            for r in rows:
                assert list(r) == RECORD_TYPES[rt].field_names
            if f.rows == 0:
                empty += 1
                assert rows == [] and path.stat().st_size > 0
    assert empty >= 1  # some county legitimately sends nothing of some type


def test_formats_encodings_and_booleans(faulty_night):
    root, report = faulty_night
    seen = {(c.format, c.encoding) for c in report.counties.values()}
    assert {("csv", "gbk"), ("xlsx", "utf-8"), ("json", "utf-8")} <= seen
    for code, county in report.counties.items():
        if county.fault in ("late", "unreadable"):
            continue
        folder = root / code / DAY.isoformat()
        f = county.files["enforcement_cases"]
        data = (folder / f.file).read_bytes()
        if county.format == "csv" and county.encoding == "gbk":
            text = data.decode("gbk")
            assert "局" in text
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
        if county.format == "csv":
            assert data.startswith(b"\xef\xbb\xbf") == (county.encoding == "utf-8-sig")
        if county.format == "xlsx":
            assert data[:2] == b"PK"
            frame = pd.read_excel(folder / f.file, dtype=str)
            assert list(frame.columns) == RECORD_TYPES["enforcement_cases"].field_names and len(frame) == f.rows
        if county.format == "json":
            doc = json.loads(data)
            assert isinstance(doc, list) and all(isinstance(r["is_major"], bool) for r in doc)
        if county.format in ("csv", "xlsx") and county.fault != "bad_rows":
            words = {"true/false": {"true", "false"}, "1/0": {"1", "0"}, "是/否": {"是", "否"}}[county.bool_style]
            values = {r["is_major"] for r in read_rows(folder / f.file, county.encoding)}
            assert values <= words


def test_xlsx_is_deterministic_text_only(faulty_night):
    import openpyxl

    root, report = faulty_night
    code = next(c for c, t in report.counties.items() if t.format == "xlsx" and t.fault not in ("late",))
    path = root / code / DAY.isoformat() / "enforcement_cases.xlsx"
    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    assert [c.value for c in ws[1]] == RECORD_TYPES["enforcement_cases"].field_names
    assert all(isinstance(c.value, str) for row in ws.iter_rows(min_row=2) for c in row if c.value is not None)
    assert wb.properties.modified == wb.properties.created and wb.properties.created.year == 2026


def _healthy_rows(root, report):
    for code, county in report.counties.items():
        for rt, f in county.files.items():
            if not f.file or f.expected_outcome == "rejected":
                continue
            rows = read_rows(root / code / DAY.isoformat() / f.file, county.encoding)
            for n, row in enumerate(rows, start=1):
                if n not in f.expected_bad_rows:
                    yield code, rt, row


def test_healthy_identifiers_are_valid(faulty_night):
    root, report = faulty_night
    ussc, ric = [], []
    for _code, rt, row in _healthy_rows(root, report):
        for fld in RECORD_TYPES[rt].fields:
            v = row[fld.name]
            if v is None:
                continue
            if fld.type == USCC or (fld.type == PARTY_ID and row[fld.kind_field] == "organization"):
                ussc.append(v)
            elif fld.type == RIC or (fld.type == PARTY_ID and row[fld.kind_field] == "person"):
                ric.append(v)
    assert len(ussc) > 500 and len(ric) > 200
    assert uscc_valid(pd.Series(ussc)).all()
    assert ric_valid(pd.Series(ric), not_after=DAY.isoformat()).all()
    assert any(v[0] == "N" for v in ussc)  # village collectives: a USCC stdnum would reject
    births = [date(int(v[6:10]), int(v[10:12]), int(v[12:14])) for v in ric]
    assert all(18 <= (DAY - b).days / 365.25 <= 81 for b in births)


def test_vectorised_identifiers_match_the_scalar_builders():
    import numpy as np

    assert rics(np.array([411002]), np.array([19800229]), np.array([7])) == [make_ric("411002", "19800229", "007")]
    org = np.frombuffer(b"MA3X5K7L", dtype=np.uint8)[None, :]
    assert usccs(np.frombuffer(b"91", dtype=np.uint8)[None, :], np.array([411002]), org) == [
        make_uscc("91", "411002", "MA3X5K7L")]


def test_healthy_rows_pass_every_rule_and_are_plausible(faulty_night):
    root, report = faulty_night
    n = 0
    for code, county in report.counties.items():
        for rt, f in county.files.items():
            if not f.file or f.expected_outcome == "rejected":
                continue
            rows = read_rows(root / code / DAY.isoformat() / f.file, county.encoding)
            for num, (row, fails) in enumerate(zip(rows, failures(RECORD_TYPES[rt], rows, code, DAY), strict=True), 1):
                assert fails == set(f.expected_bad_rows.get(num, [])), (code, rt, num, row)
                if num in f.expected_bad_rows:
                    continue
                for fld in RECORD_TYPES[rt].fields:
                    if fld.type == DATE and row[fld.name]:
                        assert parse_date(row[fld.name]) <= DAY
                assert row["updated_at"].startswith(DAY.isoformat() + "T") and row["updated_at"].endswith("+08:00")
                assert re.fullmatch(r"[A-Z]{3}-\d{6}-\d{8}-\d{4,}", row["record_id"])
                n += 1
    assert n > 500


def test_statuses_follow_dates(faulty_night):
    root, report = faulty_night
    for _code, rt, r in _healthy_rows(root, report):
        if rt == "enforcement_cases":
            assert (r["decided_date"] is not None) == (r["status"] in ("decided", "closed"))
            assert (r["closed_date"] is not None) == (r["status"] == "closed")
            if r["fine_amount"] or r["confiscated_amount"]:
                assert r["action_type"] == "penalty" and r["decided_date"]
                assert re.fullmatch(r"\d+\.\d{1,2}", r["fine_amount"] or r["confiscated_amount"])
            if r["is_major"] in ("true", "1", "是") and r["decided_date"]:
                assert r["legal_review_done"] in ("true", "1", "是")
        if rt == "reconsideration_cases":
            assert (r["decided_date"] is not None) == (r["outcome"] != "pending")
            assert r["decided_date"] is None or r["accepted_date"] is not None
        if rt == "litigation_cases":
            assert (r["judgment_date"] is not None) == (r["outcome"] != "pending")
        if rt == "complaints":
            assert (r["handled_date"] is not None) == (r["result"] != "pending")


def test_related_ids_point_to_the_same_county(faulty_night):
    root, report = faulty_night
    related = [(code, r[k]) for code, rt, r in _healthy_rows(root, report)
               for k in ("related_enforcement_id", "related_reconsideration_id") if r.get(k)]
    assert related
    assert all(v.split("-")[1] == code for code, v in related)


def test_court_case_numbers(faulty_night):
    root, report = faulty_night
    numbers = [r["court_case_number"] for code, rt, r in _healthy_rows(root, report) if rt == "litigation_cases"]
    assert numbers and all(re.fullmatch(r"[（(]20\d\d[）)]豫1[01]\d\d行.{1,2}\d+号", n) for n in numbers)


def test_agencies_and_townships_are_the_countys(registry):
    from supervision.divisions import townships_of

    ctx = build_ctx(registry, registry.county("411002"), 20261122)
    assert ctx.agencies[0].name == "许昌市魏都区市场监督管理局"
    assert all(a.code[2:8] == "411002" for a in ctx.agencies)
    assert set(ctx.townships.tolist()) == set(townships_of("411002"))


def test_volumes_are_skewed_and_scale(registry, tmp_path):
    codes = [c for c in registry.codes if c.startswith(("4101", "4103", "4110"))]
    one = simulate_night(registry, date(2026, 11, 18), tmp_path / "s1", counties=codes)
    ten = simulate_night(registry, date(2026, 11, 18), tmp_path / "s10", counties=codes, scale=10)
    enf = [c.files["enforcement_cases"].rows for c in one.counties.values()]
    assert 30 <= sum(enf) / len(enf) <= 120 and max(enf) > 3 * min(enf)
    for rt in ("reconsideration_cases", "litigation_cases"):
        assert sum(c.files[rt].rows for c in one.counties.values()) < sum(enf) / 5
    assert any(c.files["litigation_cases"].rows == 0 for c in one.counties.values())
    assert 7 * one.totals["rows"] < ten.totals["rows"] < 13 * one.totals["rows"]
