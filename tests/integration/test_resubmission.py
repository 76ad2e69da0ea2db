"""Batch-level validation and re-submission, against a real PostgreSQL (pipeline called directly, no Airflow).

A county file with a few bad rows loads with quarantine; the county re-sends a corrected file for the same day:
it supersedes the first, the quarantined rows it fixes are marked resolved (never deleted), the warehouse holds
the corrected values. A file with too many bad rows, or a renamed column, is rejected whole with every row kept.
"""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from supervision.nightly import prepare_run, run_shard, summarize
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.warehouse.connection import connect
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)
COUNTY = "411002"


@pytest.fixture()
def county_day(warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    registry = load_registry()
    drop = tmp_path / "drop"
    simulate_night(registry, DAY, drop, seed=11, faults=FaultProfile.none(), counties=[COUNTY], scale=3)
    folder = drop / COUNTY / DAY.isoformat()
    (folder / "manifest.json").unlink()  # we edit files below; a day without manifest is still read (and flagged)
    path = next(folder.glob("enforcement_cases.*"))
    if path.suffix != ".csv":  # keep the test simple: turn the file into a UTF-8 CSV
        frame = {".json": lambda p: pd.read_json(p, dtype=str), ".xlsx": lambda p: pd.read_excel(p, dtype=str)}[
            path.suffix](path)
        path.unlink()
        path = folder / "enforcement_cases.csv"
        frame.to_csv(path, index=False)
    encoding = "utf-8-sig" if path.read_bytes().startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        original = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except UnicodeDecodeError:
        original = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    return {"drop": drop, "path": path, "original": original, "registry": registry}


def _run(ctx) -> None:
    shards = prepare_run(DAY, str(ctx["registry"].path), str(ctx["drop"]), counties=[COUNTY])
    for shard in shards:
        run_shard(shard)
    summarize(shards)


def _write(ctx, frame: pd.DataFrame) -> None:
    frame.to_csv(ctx["path"], index=False, encoding="utf-8")
    os.utime(ctx["path"])  # a re-send is a new file


def _current(conn):
    return conn.execute("SELECT submission_id, status, rows_received, rows_loaded, rows_quarantined, reason,"
                        " validation_ref FROM ops.submission_current WHERE county_code = %s AND business_date = %s"
                        " AND record_type = 'enforcement_cases'", (COUNTY, DAY)).fetchone()


def test_corrected_resubmission_supersedes_and_resolves(county_day):
    good = county_day["original"]
    assert len(good) >= 10
    bad = good.copy()
    bad.loc[0, "agency_code"] = bad.loc[0, "agency_code"][:-1] + ("0" if bad.loc[0, "agency_code"][-1] != "0" else "1")
    bad.loc[1, "filed_date"] = "2026-02-30"
    _write(county_day, bad)
    _run(county_day)
    with connect() as conn:
        first_id, status, received, loaded, quarantined, _, _ = _current(conn)
        assert (status, quarantined, loaded) == ("loaded_with_quarantine", 2, received - 2)
        rules = dict(conn.execute("SELECT row_number, failed_rules FROM ops.quarantine WHERE submission_id = %s",
                                  (first_id,)).fetchall())
        assert rules == {1: ["agency_code.identifier"], 2: ["filed_date.format"]}

    _write(county_day, good)  # the corrected re-send for the same business date
    _run(county_day)
    with connect() as conn:
        second_id, status, received, loaded, quarantined, _, _ = _current(conn)
        assert second_id != first_id and (status, quarantined, loaded) == ("loaded", 0, received)
        superseded_by = conn.execute("SELECT superseded_by FROM ops.submission WHERE submission_id = %s",
                                     (first_id,)).fetchone()[0]
        assert superseded_by == second_id
        resolved = conn.execute("SELECT count(*), count(resolved_at), min(resolved_by_submission) FROM ops.quarantine"
                                " WHERE submission_id = %s", (first_id,)).fetchone()
        assert resolved == (2, 2, second_id), "quarantined rows are kept and marked resolved, not deleted"
        fixed = conn.execute("SELECT agency_code, filed_date::text FROM core.enforcement_case WHERE county_code = %s"
                             " AND record_id = ANY(%s) ORDER BY record_id", (COUNTY, list(good.record_id[:2]))).fetchall()
        expected = sorted(zip(good.record_id[:2], good.agency_code[:2], good.filed_date[:2], strict=True))
        assert fixed == [(a, d) for _, a, d in expected]
    assert reconcile(DAY, [COUNTY]).ok


def test_too_many_bad_rows_reject_the_whole_file(county_day):
    bad = county_day["original"].copy()
    half = len(bad) // 2 + 1
    bad.loc[: half - 1, "status"] = "unknown"
    _write(county_day, bad)
    _run(county_day)
    with connect() as conn:
        sid, status, received, loaded, quarantined, reason, _ = _current(conn)
        assert (status, loaded, quarantined) == ("rejected", 0, received)
        assert "over the county's threshold of 20%" in reason and COUNTY in reason
        rows = conn.execute("SELECT row_number, failed_rules FROM ops.quarantine WHERE submission_id = %s"
                            " ORDER BY row_number", (sid,)).fetchall()
    assert len(rows) == received
    assert all("file.reject_threshold" in r for _, r in rows)
    assert sum("status.enum" in r for _, r in rows) == half
    assert reconcile(DAY, [COUNTY]).ok


def test_renamed_column_is_schema_drift(county_day):
    _write(county_day, county_day["original"].rename(columns={"agency_code": "agency_cod"}))
    _run(county_day)
    with connect() as conn:
        _, status, received, loaded, quarantined, reason, _ = _current(conn)
    assert (status, loaded, quarantined) == ("rejected", 0, received)
    assert "schema drift" in reason and "renamed agency_code→agency_cod" in reason


def test_ledger_points_to_the_data_docs_page(county_day):
    _run(county_day)
    with connect() as conn:
        ref = _current(conn)[6]
        rows = conn.execute("SELECT submission_id, status, file_sha256, superseded_by, validation_ref IS NOT NULL"
                            " FROM ops.submission WHERE county_code = %s AND business_date = %s"
                            " AND record_type = 'enforcement_cases' ORDER BY 1", (COUNTY, DAY)).fetchall()
    assert ref, rows
    page = Path(ref)
    assert page.suffix == ".html" and page.exists(), ref
    html = page.read_text(encoding="utf-8")
    assert "enforcement_cases_contract_v1" in html and "record_id.unique_in_file" in html
    assert (page.parents[4] / "index.html").exists() or any(p.name == "index.html" for p in page.parents[5].iterdir())
