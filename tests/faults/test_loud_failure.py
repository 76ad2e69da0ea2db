"""Fault matrix: loud failure and fail fast (issue 15), against a real PostgreSQL and, for two tests, Airflow.

- a file whose processing fails (here the warehouse refuses its quarantine rows, the way PostgreSQL refused a NUL
  byte) is recorded with its file and rows, stays unreconciled, fails `reconcile`, `summarize`, the DAG run and
  `supervision run`; a re-run after the fix settles it;
- faults a retry cannot fix fail at once (classified, no Airflow retry), transient ones are retried;
- the CLI checks registry and drop folder before starting Airflow (exit 2, one line);
- a correction that keeps updated_at reconciles; a loaded row really missing from core still fails it.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import date
from pathlib import Path

import pandas as pd
import psycopg
import pytest
import yaml

from supervision import cli
from supervision.errors import DeterministicError, FilesFailed, is_deterministic
from supervision.nightly import prepare_run, run_shard, summarize
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.warehouse.connection import connect
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 18)
COUNTY = "411024"  # 鄢陵县 (许昌市)


@pytest.fixture()
def county_day(warehouse, tmp_path, monkeypatch):
    """One clean county night whose enforcement file is a UTF-8 CSV we can edit (no manifest: edits stay valid)."""
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    return _county_day(tmp_path)


def _county_day(root: Path) -> dict:
    registry = load_registry()
    drop = root / "drop"
    simulate_night(registry, DAY, drop, seed=15, faults=FaultProfile.none(), counties=[COUNTY], scale=2)
    folder = drop / COUNTY / DAY.isoformat()
    (folder / "manifest.json").unlink()
    path = next(folder.glob("enforcement_cases.*"))
    frame = _read(path)
    path.unlink()
    path = folder / "enforcement_cases.csv"
    frame.to_csv(path, index=False, encoding="utf-8")
    return {"drop": drop, "path": path, "rel": f"{COUNTY}/{DAY}/enforcement_cases.csv", "frame": frame,
            "registry": registry}


def _read(path: Path) -> pd.DataFrame:
    if path.suffix == ".json":
        return pd.read_json(path, dtype=str)
    if path.suffix == ".xlsx":
        return pd.read_excel(path, dtype=str)
    if path.suffix == ".parquet":
        return pd.read_parquet(path).astype(str)
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError:
            continue
    raise AssertionError(path)


def _with_bad_rows(ctx, n: int = 2) -> pd.DataFrame:
    bad = ctx["frame"].copy()
    bad.loc[: n - 1, "filed_date"] = "2026-02-30"  # filed_date.format: these rows go to quarantine
    bad.to_csv(ctx["path"], index=False, encoding="utf-8")
    return bad


def _shards(ctx, registry: str | None = None):
    return prepare_run(DAY, registry or str(ctx["registry"].path), str(ctx["drop"]), counties=[COUNTY])


REFUSE = """
CREATE OR REPLACE FUNCTION public.loud_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'untranslatable_character', MESSAGE = 'unsupported Unicode escape sequence',
        DETAIL = '\\u0000 cannot be converted to text.';
END $$;
CREATE TRIGGER loud_test_refuse BEFORE INSERT ON ops.quarantine FOR EACH ROW
  WHEN (NEW.county_code = '411024') EXECUTE FUNCTION public.loud_test_refuse();
"""
ACCEPT = "DROP TRIGGER IF EXISTS loud_test_refuse ON ops.quarantine; DROP FUNCTION IF EXISTS public.loud_test_refuse();"


@pytest.fixture()
def refusing_warehouse():
    """The warehouse refuses this county's quarantine rows with the error PostgreSQL gave for a NUL byte."""
    with connect(autocommit=True) as conn:
        conn.execute(REFUSE)
    try:
        yield
    finally:
        with connect(autocommit=True) as conn:
            conn.execute(ACCEPT)


def _ledger(rel: str | None = None):
    with connect() as conn:
        return conn.execute(
            "SELECT submission_id, status, rows_received, rows_loaded, rows_quarantined, source_file, file_sha256,"
            " reason FROM ops.submission_current WHERE county_code = %s AND business_date = %s"
            " AND record_type = 'enforcement_cases'", (COUNTY, DAY)).fetchone()


def _balanced() -> None:
    """received = loaded + quarantined for every file of the county, and the quarantine holds what the ledger says."""
    with connect() as conn:
        for sid, rt, received, loaded, quarantined in conn.execute(
                "SELECT submission_id, record_type, rows_received, rows_loaded, rows_quarantined"
                " FROM ops.submission_current WHERE county_code = %s AND business_date = %s", (COUNTY, DAY)):
            assert received == loaded + quarantined, rt
            held = conn.execute("SELECT count(*) FROM ops.quarantine WHERE submission_id = %s AND row_number IS NOT NULL",
                                (sid,)).fetchone()[0]
            assert held == quarantined, rt


def test_a_file_the_warehouse_refuses_is_loud_then_settled_by_a_rerun(county_day, refusing_warehouse, capsys):
    bad = _with_bad_rows(county_day)
    shards = _shards(county_day)
    with pytest.raises(FilesFailed) as raised:  # deterministic: Airflow is told not to retry it
        run_shard(shards[0])
    assert is_deterministic(raised.value) and county_day["rel"] in str(raised.value)
    sid, status, received, loaded, quarantined, source_file, sha, reason = _ledger()
    # what was received is counted and named: the file, its rows
    assert (status, received, loaded, quarantined) == ("failed", len(bad), 0, 0)
    assert source_file == county_day["rel"] and sha
    assert COUNTY in reason and county_day["rel"] in reason and f"（{len(bad)} 行）处理失败" in reason  # Chinese first
    assert "UntranslatableCharacter" in reason and "re-run the date" in reason

    report = reconcile(DAY, [COUNTY])
    assert not report.ok
    problem = next(p for p in report.problems if "failed in the pipeline" in p)
    assert county_day["rel"] in problem and f"{len(bad)} row(s) received" in problem
    assert f"supervision run --date {DAY} --counties {COUNTY}" in problem

    capsys.readouterr()
    assert cli.main(["reconcile", "--date", DAY.isoformat(), "--counties", COUNTY]) == 1
    err = capsys.readouterr().err
    assert county_day["rel"] in err and "failed in the pipeline" in err

    with pytest.raises(RuntimeError, match="reconciliation failed"):
        summarize(shards)
    table = capsys.readouterr().out
    assert "FAILED" in table and COUNTY in table  # the per-county table is still printed

    # the fault is fixed: the same file re-run replaces the failed row (same attempt) and reconciles
    with connect(autocommit=True) as conn:
        conn.execute(ACCEPT)
    for shard in _shards(county_day):
        run_shard(shard)
    sid2, status, received, loaded, quarantined, *_ = _ledger()
    assert sid2 == sid and (status, received, loaded, quarantined) == ("loaded_with_quarantine", len(bad),
                                                                       len(bad) - 2, 2)
    with connect() as conn:
        attempts = conn.execute("SELECT count(*) FROM ops.submission WHERE county_code = %s AND business_date = %s"
                                " AND record_type = 'enforcement_cases'", (COUNTY, DAY)).fetchone()[0]
    assert attempts == 1
    _balanced()
    assert reconcile(DAY, [COUNTY]).ok


def test_a_transient_failure_is_retried_and_stays_loud(county_day, monkeypatch):
    from supervision.warehouse.load import RecordLoader

    def lost(self):
        raise psycopg.OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(RecordLoader, "finish", lost)
    with pytest.raises(RuntimeError) as raised:
        run_shard(_shards(county_day)[0])
    assert not isinstance(raised.value, DeterministicError), "a lost connection is worth Airflow's retry"
    _, status, received, *_ = _ledger()
    assert status == "failed" and received == len(county_day["frame"])
    assert not reconcile(DAY, [COUNTY]).ok


def test_a_failure_before_the_rows_are_counted_still_names_the_file(county_day, monkeypatch):
    import supervision.sources.filedrop as filedrop

    def denied(path, *a, **kw):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(filedrop, "read_file", denied)
    with pytest.raises(RuntimeError):
        run_shard(_shards(county_day)[0])
    _, status, received, _, _, source_file, sha, _ = _ledger()
    assert (status, received, source_file) == ("failed", 0, county_day["rel"]) and sha
    report = reconcile(DAY, [COUNTY])
    assert any(county_day["rel"] in p and "rows unknown" in p for p in report.problems)


def test_a_county_never_processed_fails_reconcile(warehouse, capsys):
    assert cli.main(["reconcile", "--date", "2026-11-01", "--counties", COUNTY]) == 1
    err = capsys.readouterr().err
    assert f"{COUNTY} enforcement_cases: no ledger entry" in err and "--counties 411024" in err


def test_day_folder_outside_the_drop_root_is_not_retried(county_day, tmp_path):
    outside = tmp_path / "elsewhere"
    folder = county_day["drop"] / COUNTY / DAY.isoformat()
    folder.rename(outside)
    folder.symlink_to(outside, target_is_directory=True)
    try:
        run_shard(_shards(county_day)[0])
    except Exception as e:  # noqa: BLE001 - what matters is how it is classified
        assert is_deterministic(e), f"a refused path must not be retried: {e!r}"
    report = reconcile(DAY, [COUNTY])
    with connect() as conn:
        statuses = {s for (s,) in conn.execute("SELECT status FROM ops.submission_current WHERE county_code = %s"
                                               " AND business_date = %s", (COUNTY, DAY))}
    # the link is refused unread: every type rejected (the county is told) and one 'unexpected' row (the engineers)
    assert statuses == {"rejected", "unexpected"}
    assert report.ok, report.problems


def _invalid_registry(tmp_path: Path) -> Path:
    doc = yaml.safe_load(load_registry().path.read_text(encoding="utf-8"))
    entry = next(e for e in doc["counties"] if str(e["code"]) == COUNTY)
    entry.pop("contact", None)
    path = tmp_path / "no-contact.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def test_cli_checks_registry_and_drop_root_before_airflow(tmp_path, monkeypatch, capsys):
    for var in ("SUPERVISION_REGISTRY", "SUPERVISION_DROP_ROOT"):  # the CLI exports its options: undo after
        monkeypatch.delenv(var, raising=False)
    good = load_registry().path
    started = []
    monkeypatch.setattr(cli, "run_through_airflow", lambda *a, **kw: started.append(a) or 0)
    bad = _invalid_registry(tmp_path)
    (tmp_path / "drop").mkdir()
    assert cli.main(["run", "--date", DAY.isoformat(), "--registry", str(bad), "--drop-root",
                     str(tmp_path / "drop")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "invalid county registry" in err and COUNTY in err and "contact" in err
    assert cli.main(["run", "--date", DAY.isoformat(), "--registry", str(good), "--drop-root",
                     str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nowhere" in err and "does not exist" in err
    assert started == [], "Airflow was started although the pre-flight check failed"


def test_invalid_registry_and_missing_drop_root_are_deterministic(tmp_path):
    with pytest.raises(DeterministicError, match="contact"):
        prepare_run(DAY, str(_invalid_registry(tmp_path)), str(tmp_path))
    with pytest.raises(DeterministicError, match="does not exist"):
        prepare_run(DAY, None, str(tmp_path / "nowhere"))


def test_correction_with_the_same_updated_at_reconciles_and_a_missing_row_still_fails(county_day):
    for shard in _shards(county_day):
        run_shard(shard)
    assert reconcile(DAY, [COUNTY]).ok
    fixed = county_day["frame"].copy()
    fixed.loc[0, "agency_name"] = fixed.loc[0, "agency_name"] + "（更正）"  # the documented correction: same updated_at
    fixed.to_csv(county_day["path"], index=False, encoding="utf-8")
    for shard in _shards(county_day):
        run_shard(shard)
    rid = fixed.loc[0, "record_id"]
    with connect() as conn:
        name = conn.execute("SELECT agency_name FROM core.enforcement_case WHERE county_code = %s AND record_id = %s",
                            (COUNTY, rid)).fetchone()[0]
        versions = conn.execute("SELECT count(*) FROM core.enforcement_case_history WHERE county_code = %s"
                                " AND record_id = %s", (COUNTY, rid)).fetchone()[0]
    assert name.endswith("（更正）") and versions == 2
    report = reconcile(DAY, [COUNTY])
    assert report.ok, report.problems  # was: "N+1 of N loaded rows found" (current and superseded both matched)
    _balanced()

    other = fixed.loc[1, "record_id"]  # a loaded row that really went missing must still fail the check
    with connect() as conn, conn.transaction():
        conn.execute("DELETE FROM core.enforcement_case_superseded WHERE county_code = %s AND record_id = %s",
                     (COUNTY, other))
        conn.execute("DELETE FROM core.enforcement_case WHERE county_code = %s AND record_id = %s", (COUNTY, other))
    report = reconcile(DAY, [COUNTY])
    assert any(f"{len(fixed) - 1} of {len(fixed)} loaded rows found" in p for p in report.problems), report.problems


# --- through Airflow ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def airflow_data(warehouse_url, tmp_path_factory):
    data = tmp_path_factory.mktemp("loud-airflow")
    saved = os.environ.get("SUPERVISION_DATA_DIR")
    os.environ["SUPERVISION_DATA_DIR"] = str(data)
    yield data
    if saved is None:
        os.environ.pop("SUPERVISION_DATA_DIR", None)
    else:
        os.environ["SUPERVISION_DATA_DIR"] = saved


def _last_run(data: Path) -> dict:
    """The newest supervision_nightly run in Airflow's metadata database: its state and each task's tries."""
    from supervision.airflow_env import airflow_env

    url = airflow_env()["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert url.startswith("sqlite:///"), url
    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        run_id, state = db.execute("SELECT run_id, state FROM dag_run WHERE dag_id = 'supervision_nightly'"
                                   " ORDER BY id DESC LIMIT 1").fetchone()
        tasks = {}
        for task_id, map_index, ti_state, tries in db.execute(
                "SELECT task_id, map_index, state, try_number FROM task_instance WHERE dag_id = 'supervision_nightly'"
                " AND run_id = ?", (run_id,)):
            earlier = db.execute("SELECT count(*) FROM task_instance_history WHERE dag_id = 'supervision_nightly'"
                                 " AND run_id = ? AND task_id = ? AND map_index = ?",
                                 (run_id, task_id, map_index)).fetchone()[0]
            tasks[(task_id, map_index)] = (ti_state, tries, earlier)
    return {"run_id": run_id, "state": state, "tasks": tasks}


@pytest.mark.airflow
def test_airflow_a_failed_file_fails_the_dag_run_and_supervision_run(airflow_data, warehouse, refusing_warehouse,
                                                                     capsys, monkeypatch):
    monkeypatch.setenv("SUPERVISION_PROGRESS_EVERY", "2")
    ctx = _county_day(airflow_data)
    bad = _with_bad_rows(ctx)
    rc = cli.main(["run", "--date", DAY.isoformat(), "--registry", str(ctx["registry"].path), "--drop-root",
                   str(ctx["drop"]), "--counties", COUNTY])
    out = capsys.readouterr().out
    assert rc == 1
    run = _last_run(airflow_data)
    assert run["state"] == "failed"
    assert run["tasks"][("prepare", -1)][0] == "success"
    shard = run["tasks"][("load_shard", 0)]
    assert shard[0] == "failed" and shard[1:] == (1, 0), f"a deterministic failure is not retried: {shard}"
    assert run["tasks"][("summarize", -1)][0] == "failed"  # the only leaf: its failure is the run's
    assert "FAILED" in out and COUNTY in out and ctx["rel"] in out  # the table, with the file that failed
    assert "counties done" in out  # progress while Airflow worked (issue 19)
    assert out.rstrip().splitlines()[-1].endswith(f"`supervision reconcile --date {DAY} --table`)")
    _, status, received, *_ = _ledger()
    assert status == "failed" and received == len(bad)
    assert not reconcile(DAY, [COUNTY]).ok


@pytest.mark.airflow
def test_airflow_an_invalid_registry_fails_prepare_without_retries(airflow_data, warehouse, tmp_path):
    from supervision.cli import run_through_airflow

    (tmp_path / "drop").mkdir()
    # straight to Airflow (past the CLI's pre-flight check): the task itself must not spend retries on it
    rc = run_through_airflow(DAY, str(_invalid_registry(tmp_path)), str(tmp_path / "drop"), counties=[COUNTY],
                             quiet=True)
    run = _last_run(airflow_data)
    assert rc == 1, run
    assert run["state"] == "failed"
    state, tries, earlier = run["tasks"][("prepare", -1)]
    assert (state, tries, earlier) == ("failed", 1, 0), f"prepare was retried on an invalid registry: {run}"
    assert run["tasks"][("summarize", -1)][0] == "failed", run  # all_done: it ran, and failed the run


def test_summarize_fails_when_prepare_delivered_nothing(tmp_path):
    # all_done: summarize runs after a failed prepare; it must not turn that run green
    with pytest.raises(DeterministicError, match="prepare did not finish"):
        summarize(None)
    with pytest.raises(DeterministicError, match="not in registry"):
        prepare_run(DAY, None, str(tmp_path), counties=["999999"])


def test_a_shard_renders_the_data_docs_pages_its_ledger_rows_link_to(county_day):
    """load_shard renders exactly the results it stored (summarize only adds the index and anything missing)."""
    run_shard(_shards(county_day)[0])
    with connect() as conn:
        refs = [r for (r,) in conn.execute("SELECT validation_ref FROM ops.submission_current WHERE county_code = %s"
                                           " AND business_date = %s", (COUNTY, DAY))]
    assert len(refs) == 4 and all(r and Path(r).is_file() for r in refs), refs
