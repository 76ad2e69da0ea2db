"""Great Expectations once per (shard, record type), split per file (validation.gx_run.ShardValidation)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from supervision.contract import RECORD_TYPES, SOURCE_ROW
from supervision.validation import (
    FAIL,
    NOT_APPLICABLE,
    PASS,
    CheckedBatch,
    ShardValidation,
    gx_suite,
    rule_specs,
)

DAY = date(2026, 11, 22)
RECEIVED = datetime(2026, 11, 22, 20, tzinfo=UTC)


@pytest.fixture
def gx_project(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    gx_suite._gx_context.cache_clear()
    gx_suite._validation_definition.cache_clear()
    yield tmp_path
    gx_suite._gx_context.cache_clear()
    gx_suite._validation_definition.cache_clear()


def batch(rt, rows: int, first_row: int = 1, breaks: dict[str, list[int]] | None = None,
          not_applicable: dict[str, list[int]] | None = None, prefix: str = "R") -> CheckedBatch:
    """A checked batch: every rule passes but the given (rule id -> positions in the batch)."""
    ids = tuple(s.id for s in rule_specs(rt))
    rules = np.full((rows, len(ids)), PASS, np.int8, order="F")
    for rule, positions in (not_applicable or {}).items():
        rules[positions, ids.index(rule)] = NOT_APPLICABLE
    for rule, positions in (breaks or {}).items():
        rules[positions, ids.index(rule)] = FAIL
    numbers = np.arange(first_row, first_row + rows, dtype=np.int32)
    typed = pa.table({"record_id": pa.array([f"{prefix}-{i}" for i in numbers]), SOURCE_ROW: pa.array(numbers)})
    return CheckedBatch(typed, rules, (rules == FAIL).any(axis=1), ids)


def open_file(shard, rt, county, sha, rows, source=None):
    return shard.file(rt, run_name=f"{county}-{DAY}-{rt.name}-{sha}", run_time=RECEIVED, county_code=county,
                      business_date=DAY, source_file=source or f"{county}/{DAY}/{rt.name}.csv", file_sha256=sha * 4,
                      rows_received=rows)


def stored(f):
    return gx_suite._gx_context(str(gx_suite.gx_root())).validation_results_store.get(f.key)


def night(shard):
    """Two complaints files and one enforcement file in one shard, the first file in two batches."""
    c, e = RECORD_TYPES["complaints"], RECORD_TYPES["enforcement_cases"]
    a = open_file(shard, c, "411002", "aaaa", 7)
    a.add(batch(c, 4, 1, {"record_id.unique_in_file": [1, 2], "channel.enum": [3]}, prefix="A"))
    a.add(batch(c, 3, 5, {"channel.enum": [0]}, {"handled_not_before_received": [2]}, prefix="A"))
    a.finish(rows_loaded=4, rows_quarantined=3, status="loaded_with_quarantine")
    b = open_file(shard, c, "411003", "bbbb", 5)
    b.add(batch(c, 5, 1, {"channel.enum": [4]}, prefix="B"))
    b.finish(rows_loaded=4, rows_quarantined=1, status="loaded_with_quarantine")
    x = open_file(shard, e, "411002", "cccc", 2)
    x.add(batch(e, 2, 1, prefix="X"))
    x.finish(rows_loaded=2, rows_quarantined=0, status="loaded")
    return a, b, x


def test_one_gx_run_per_record_type_and_a_result_per_file(gx_project):
    shard = ShardValidation(gx_project / "validation")
    a, b, x = night(shard)
    assert a.ref and b.ref and x.ref and len({a.ref, b.ref, x.ref}) == 3  # known before GX ran
    assert shard.flush() == [a, b, x]
    assert sorted((r["record_type"], r["rows"], r["files"]) for r in shard.runs) == [
        ("complaints", 12, 2), ("enforcement_cases", 2, 1)]

    res = stored(a)
    assert res.meta["county_code"] == "411002" and res.meta["record_type"] == "complaints"
    assert res.meta["business_date"] == "2026-11-22" and res.meta["source_file"] == "411002/2026-11-22/complaints.csv"
    assert res.meta["file_sha256"] == "aaaa" * 4
    assert (res.meta["rows_received"], res.meta["rows_loaded"], res.meta["rows_quarantined"]) == (7, 4, 3)
    by_rule = {r.expectation_config.meta["rule"]: r for r in res.results}
    assert {r.result["element_count"] for r in res.results} == {7}  # this file's rows only
    channel = by_rule["channel.enum"].result
    assert channel["unexpected_count"] == 2 and not by_rule["channel.enum"].success
    # the spreadsheet's row (header = row 1) and the record id of each failing row
    assert channel["unexpected_index_list"] == [{"row_number": 5, "record_id": "A-4"},
                                                {"row_number": 6, "record_id": "A-5"}]
    assert by_rule["record_id.unique_in_file"].result["partial_unexpected_index_list"] == [
        {"row_number": 3, "record_id": "A-2"}, {"row_number": 4, "record_id": "A-3"}]
    assert by_rule["handled_not_before_received"].success  # not applicable is not a failure
    assert res.statistics["unsuccessful_expectations"] == 2 and not res.success
    assert a.summary["rules"]["handled_not_before_received"]["not_applicable"] == 1

    other = {r.expectation_config.meta["rule"]: r.result for r in stored(b).results}
    assert other["channel.enum"]["unexpected_count"] == 1 and other["channel.enum"]["element_count"] == 5
    assert other["channel.enum"]["unexpected_index_list"] == [{"row_number": 6, "record_id": "B-5"}]
    assert stored(x).success and stored(x).statistics["success_percent"] == 100.0
    summary = gx_project / "validation" / "2026-11-22" / "411002" / f"complaints-{'aaaa' * 4}.json"
    assert summary.exists() and '"unexpected_count": 2' in summary.read_text(encoding="utf-8")


def test_pages_render_where_the_ledger_links(gx_project):
    from supervision.validation import render_data_docs_pages

    shard = ShardValidation()
    a, b, x = night(shard)
    shard.flush()
    assert not Path(a.ref).exists()
    assert render_data_docs_pages("2026-11-22", ["411002"]) == 2
    assert Path(a.ref).exists() and Path(x.ref).exists() and not Path(b.ref).exists()
    assert "A-4" in Path(a.ref).read_text(encoding="utf-8")  # the failing rows are on the file's page


def test_a_shard_renders_exactly_its_results_without_walking_the_store(gx_project, monkeypatch):
    """load_shard hands its stored keys to the site's section builder (GivenResultsSectionBuilder): those pages
    only, without listing every stored result (GX's own build does, O(stored x given) over a national night)."""
    from great_expectations.data_context.store.validation_results_store import ValidationResultsStore

    from supervision.validation.data_docs import render_keys

    shard = ShardValidation()
    a, b, x = night(shard)
    shard.flush()

    def no_listing(self, *args, **kwargs):
        raise AssertionError("the validation results store was listed")

    monkeypatch.setattr(ValidationResultsStore, "list_keys", no_listing)  # the suites' store (4 keys) may be
    assert render_keys([b.key]) == 1
    assert Path(b.ref).exists() and not Path(a.ref).exists() and not Path(x.ref).exists()
    assert "B-5" in Path(b.ref).read_text(encoding="utf-8")


def test_parts_bound_the_rows_per_run_and_give_the_same_results(gx_project, monkeypatch):
    whole = ShardValidation()
    files = night(whole)
    whole.flush()
    expected = [f.summary for f in files]
    monkeypatch.setenv("SUPERVISION_GX_PART_ROWS", "3")
    parts = ShardValidation()
    again = night(parts)
    parts.flush()
    assert [f.summary for f in again] == expected
    assert max(r["rows"] for r in parts.runs) <= 3 + 4 and len(parts.runs) >= 4  # a run starts when 3 are waiting
    assert [r.result["unexpected_index_list"] for r in stored(again[0]).results] == [
        r.result["unexpected_index_list"] for r in stored(files[0]).results]


def test_a_discarded_file_stores_nothing_and_changes_no_other_file(gx_project):
    c = RECORD_TYPES["complaints"]
    shard = ShardValidation()
    gone = open_file(shard, c, "411002", "dddd", 3)
    gone.add(batch(c, 3, 1, {"channel.enum": [0, 1, 2]}))
    gone.discard()  # e.g. its transaction rolled back; a re-read opens it again
    kept = open_file(shard, c, "411003", "eeee", 2)
    kept.add(batch(c, 2, 1))
    kept.finish(rows_loaded=2, rows_quarantined=0)
    assert shard.flush() == [kept]
    assert stored(kept).success and shard.runs[0]["rows"] == 2
    with pytest.raises(Exception):  # noqa: B017 - GX raises its own kind for a missing key
        stored(gone)


def test_failing_rows_are_bounded_per_rule_and_file(gx_project):
    from supervision.validation.gx_run import INDEX_ROWS

    c = RECORD_TYPES["complaints"]
    shard = ShardValidation()
    f = open_file(shard, c, "411002", "ffff", 500, source="411002/2026-11-22/complaints.json")
    f.add(batch(c, 500, 1, {"channel.enum": list(range(500))}))
    f.finish(rows_loaded=0, rows_quarantined=500, status="rejected")
    shard.flush()
    channel = next(r.result for r in stored(f).results if r.expectation_config.meta["rule"] == "channel.enum")
    assert channel["unexpected_count"] == 500 and len(channel["unexpected_index_list"]) == INDEX_ROWS
    assert channel["unexpected_index_list"][0] == {"row_number": 1, "record_id": "R-1"}  # JSON: the n-th record


def test_an_empty_file_has_a_result(gx_project):
    c = RECORD_TYPES["complaints"]
    shard = ShardValidation()
    f = open_file(shard, c, "411002", "0000", 0)
    f.add(batch(c, 0))
    f.finish(rows_loaded=0, rows_quarantined=0)
    shard.flush()
    assert stored(f).success and {r.result["element_count"] for r in stored(f).results} == {0}


def test_no_gx_internal_is_replaced(gx_project):
    """GX runs as installed: no class attribute, module global or process-wide setting of GX is changed."""
    import great_expectations.execution_engine.pandas_execution_engine as engine
    import great_expectations.util as gx_util
    from great_expectations.expectations.expectation import Expectation

    before = (engine.HASH_THRESHOLD, gx_util.convert_to_json_serializable,
              {n: Expectation.__dict__[n] for n in ("_get_domain_kwargs", "_get_success_kwargs", "_get_runtime_kwargs")})
    shard = ShardValidation()
    night(shard)
    shard.flush()
    after = (engine.HASH_THRESHOLD, gx_util.convert_to_json_serializable,
             {n: Expectation.__dict__[n] for n in ("_get_domain_kwargs", "_get_success_kwargs", "_get_runtime_kwargs")})
    assert after == before
    assert gx_util.convert_to_json_serializable.__module__ == "great_expectations.util"
    assert all(f.__module__.startswith("great_expectations") for f in after[2].values())
