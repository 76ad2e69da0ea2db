"""The faults issue 15 found survived, kept as tests (docs/reliability.md, "Faults survived").

Each test plays the fault for real (real files, a real PostgreSQL, real processes and signals) and asserts the
outcome, what the ledger / quarantine says, and that every file is accounted for (received = loaded +
quarantined, reconcile's three checks) — or that reconcile reports the gap.

a. SIGKILL of the process while the warehouse COPY runs, then a re-run of the date
b. the warehouse shut down while a file's merge runs (a throw-away embedded PostgreSQL), then restart and re-run
c. symlinks out of the drop folder (/etc/passwd) and FIFOs in a day folder
d. SQL injection and <script> strings in record ids and fields
e. the same file twice, and an older file after a newer one
f. a manifest sha256 that does not match the file
g. a county supervisor login trying to leave its county (SET ROLE, base tables, row_security, functions, leaks)
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pandas as pd
import psycopg
import pytest
from psycopg import errors, sql

from supervision.contract import RECORD_TYPES
from supervision.reconcile import reconcile

from .conftest import (
    DAY,
    FaultNight,
    assert_accounted,
    current,
    read_csv,
    run_day,
    set_manifest,
    write_csv,
    write_day,
    write_registry,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(int(os.environ.get("SUPERVISION_FAULT_TIMEOUT", 600)))]

COUNTY = "411002"
LOADED = ("loaded", "loaded_with_quarantine")


def shifted(stamps: pd.Series, **delta) -> pd.Series:
    """ISO 8601 timestamps moved by ``delta`` (kept in Asia/Shanghai, with their offset)."""
    moved = pd.to_datetime(stamps, utc=True, format="ISO8601").dt.tz_convert("Asia/Shanghai") + pd.Timedelta(**delta)
    return moved.map(lambda t: t.isoformat())


def core_rows(conn, table: str, county: str, *cols: str) -> list[tuple]:
    return conn.execute(sql.SQL("SELECT {} FROM {} WHERE county_code = %s ORDER BY record_id").format(
        sql.SQL(", ").join(map(sql.Identifier, ("record_id", *cols))), sql.Identifier("core", table)),
        (county,)).fetchall()


def count(conn, table: str, county: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE county_code = %s").format(
        sql.Identifier("core", table)), (county,)).fetchone()[0]


def big_file(path: Path, rows: int) -> pd.DataFrame:
    """Grow a county's valid file to ``rows`` rows: its own rows repeated under new record ids."""
    base = read_csv(path)
    reps = -(-rows // len(base))
    frame = pd.concat([base] * reps, ignore_index=True).iloc[:rows].copy()
    frame["record_id"] = frame["record_id"] + "-" + pd.Series(range(rows), dtype=str).str.zfill(7)
    write_csv(path, frame)
    return frame


# --- e. duplicate and out-of-order re-sends ------------------------------------------------------------------

def test_duplicate_and_out_of_order_resends_keep_the_newest(fault_night: FaultNight):
    n = fault_night
    path = write_day(n.drop, n.registry, counties=(COUNTY,))[COUNTY] / "enforcement_cases.csv"
    v1 = read_csv(path)
    rows = len(v1)
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []
    first = current(n.conn)[(COUNTY, "enforcement_cases")]
    before = core_rows(n.conn, "enforcement_case", COUNTY, "updated_at", "agency_name", "row_hash", "submission_id")

    # the same file again (a county re-sending, an operator re-running): nothing changes
    os.utime(path)
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []
    again = current(n.conn)[(COUNTY, "enforcement_cases")]
    assert again["submission_id"] == first["submission_id"] and again["status"] == "loaded"
    assert core_rows(n.conn, "enforcement_case", COUNTY, "updated_at", "agency_name", "row_hash",
                     "submission_id") == before
    assert count(n.conn, "enforcement_case_superseded", COUNTY) == 0

    # a newer version of every record, then an OLDER one arriving after it (a county re-sending stale data)
    newer = v1.assign(updated_at=shifted(v1.updated_at, hours=1), agency_name=v1.agency_name + "（更正）")
    write_csv(path, newer)
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []
    second = current(n.conn)[(COUNTY, "enforcement_cases")]
    older = v1.assign(updated_at=shifted(v1.updated_at, hours=-1), agency_name=v1.agency_name + "（旧）")
    write_csv(path, older)
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []
    third = current(n.conn)[(COUNTY, "enforcement_cases")]

    # core keeps the newest version of every record; both other versions are kept as history, none twice
    kept = core_rows(n.conn, "enforcement_case", COUNTY, "agency_name")
    assert kept == sorted(zip(newer.record_id, newer.agency_name, strict=True))
    assert count(n.conn, "enforcement_case", COUNTY) == rows
    assert count(n.conn, "enforcement_case_superseded", COUNTY) == 2 * rows
    history = n.conn.execute("SELECT count(*), count(DISTINCT (record_id, updated_at)) FROM "
                             "core.enforcement_case_history WHERE county_code = %s", (COUNTY,)).fetchone()
    assert history == (3 * rows, 3 * rows)

    # the ledger: one attempt per distinct file, each superseded by the one received after it
    chain = n.conn.execute(
        "SELECT submission_id, superseded_by, status, rows_received, rows_loaded FROM ops.submission WHERE "
        "county_code = %s AND record_type = 'enforcement_cases' AND business_date = %s ORDER BY submission_id",
        (COUNTY, DAY)).fetchall()
    ids = [first["submission_id"], second["submission_id"], third["submission_id"]]
    assert chain == [(ids[0], ids[1], "loaded", rows, rows), (ids[1], ids[2], "loaded", rows, rows),
                     (ids[2], None, "loaded", rows, rows)]
    assert_accounted(n.conn, counties=[COUNTY])


# --- f. manifest sha256 mismatch ------------------------------------------------------------------------------

def test_manifest_sha256_mismatch_rejects_the_whole_file(fault_night: FaultNight):
    n = fault_night
    folder = write_day(n.drop, n.registry, counties=(COUNTY,))[COUNTY]
    path = folder / "complaints.csv"
    rows = len(read_csv(path))
    set_manifest(path, rows=rows, sha256="0" * 64)  # a damaged transfer: the bytes are not what was sent
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []

    ledger = current(n.conn)
    row = ledger[(COUNTY, "complaints")]
    assert (row["status"], row["rows_received"], row["rows_loaded"], row["rows_quarantined"]) == (
        "rejected", rows, 0, rows)
    assert row["manifest_status"] == "mismatch"
    assert COUNTY in row["reason"] and "complaints.csv" in row["reason"] and "sha256" in row["reason"]
    quarantined = n.conn.execute("SELECT failed_rules, messages FROM ops.quarantine WHERE submission_id = %s",
                                 (row["submission_id"],)).fetchall()
    assert len(quarantined) == rows
    for rules, messages in quarantined:
        assert rules[0] == "file.manifest_sha256"
        assert any("file.manifest_sha256" in m and "complaints.csv" in m for m in messages), messages
    assert count(n.conn, "complaint", COUNTY) == 0  # nothing of the damaged file is loaded
    assert all(ledger[(COUNTY, rt)]["status"] == "loaded" for rt in RECORD_TYPES if rt != "complaints")
    assert_accounted(n.conn, counties=[COUNTY])


# --- d. injection and <script> strings ------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
INJECTIONS = {  # column -> value, on a row that loads
    "record_id": SCRIPT,
    "agency_name": "x'); DROP TABLE core.enforcement_case; --",
    "case_number": "\\.",  # COPY's end-of-data marker in text format
    "party_name": "\\N",  # COPY's NULL in text format: must stay the two characters
}
BAD_ROW = {  # a row that is quarantined (status is no enum value): every value kept as received
    "record_id": "r1'; DELETE FROM ops.submission; --",
    "status": "open'; DROP TABLE ops.quarantine; --",
    "party_name": "<img src=x onerror=alert(1)>",
    "agency_name": "$$; SELECT pg_sleep(30); $$",
}


def test_injection_strings_are_stored_inert_and_never_reach_data_docs_unescaped(fault_night: FaultNight):
    from supervision.validation import build_data_docs, render_data_docs_pages

    n = fault_night
    path = write_day(n.drop, n.registry, counties=(COUNTY,))[COUNTY] / "enforcement_cases.csv"
    frame = read_csv(path)
    for col, value in INJECTIONS.items():
        frame.loc[0, col] = value
    for col, value in BAD_ROW.items():
        frame.loc[1, col] = value
    write_csv(path, frame)
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []

    row = current(n.conn)[(COUNTY, "enforcement_cases")]
    assert (row["status"], row["rows_loaded"], row["rows_quarantined"]) == (
        "loaded_with_quarantine", len(frame) - 1, 1)
    stored = n.conn.execute("SELECT record_id, agency_name, case_number, party_name FROM core.enforcement_case "
                            "WHERE county_code = %s AND record_id = %s", (COUNTY, SCRIPT)).fetchone()
    assert stored == tuple(INJECTIONS.values())  # exact text; '\N' is not NULL, '\.' ends nothing
    q = n.conn.execute("SELECT record_id, raw_row, failed_rules, messages FROM ops.quarantine "
                       "WHERE submission_id = %s", (row["submission_id"],)).fetchall()
    assert len(q) == 1
    rid, raw, rules, messages = q[0]
    assert rid == BAD_ROW["record_id"] and "status.enum" in rules
    assert {k: raw[k] for k in BAD_ROW} == BAD_ROW
    assert any(BAD_ROW["status"] in m and COUNTY in m and "status.enum" in m for m in messages), messages
    # no SQL effect: every table is there and holds what it should
    for table in ("core.enforcement_case", "ops.quarantine", "ops.submission"):
        assert n.conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()[0] is not None
    assert len(current(n.conn)) == len(RECORD_TYPES)
    assert_accounted(n.conn, counties=[COUNTY])

    # Data Docs of the night: the file's page exists; no county value appears unescaped anywhere in the site
    render_data_docs_pages(DAY, [COUNTY])
    index = build_data_docs(DAY)
    assert index.exists() and Path(row["validation_ref"]).exists()
    pages = list(index.parent.rglob("*.html"))
    assert len(pages) >= len(RECORD_TYPES) + 1
    dangerous = [SCRIPT, BAD_ROW["party_name"], "onerror=alert(1)>"]
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not [d for d in dangerous if d in html], f"{page} carries county markup unescaped"


# --- c. symlinks out of the drop folder and FIFOs --------------------------------------------------------------

def foreign_marker() -> bytes:
    """A line of /etc/passwd that must never land anywhere."""
    return Path("/etc/passwd").read_bytes().splitlines()[0]


def test_symlinks_outside_the_root_and_fifos_are_never_read(fault_night: FaultNight):
    n = fault_night
    folders = write_day(n.drop, n.registry, counties=("411002", "411003"))
    a, b = folders["411002"], folders["411003"]
    # county A: a data file and its manifest are symlinks to /etc/passwd; an odd extra symlink too
    (a / "enforcement_cases.csv").unlink()
    (a / "enforcement_cases.csv").symlink_to("/etc/passwd")
    (a / "manifest.json").unlink()
    (a / "manifest.json").symlink_to("/etc/passwd")
    (a / "extra.csv").symlink_to("/etc/passwd")
    # county B: a data file, the manifest and an odd name are FIFOs: opening any of them would block for ever
    for name in ("complaints.csv", "manifest.json", "notes.txt"):
        (b / name).unlink(missing_ok=True)
        os.mkfifo(b / name)

    started = time.monotonic()
    outcomes, errors_ = run_day(n.registry, n.drop, counties=["411002", "411003"])
    assert time.monotonic() - started < 300, "a FIFO or symlink held the run"
    assert errors_ == [], errors_  # a refused file is the county's fault, not a pipeline failure

    ledger = current(n.conn)
    hostile = {("411002", "enforcement_cases"): "enforcement_cases.csv", ("411003", "complaints"): "complaints.csv"}
    for key, name in hostile.items():
        row = ledger[key]
        assert row["status"] not in (*LOADED, "failed") and row["rows_loaded"] == 0, row  # a verdict, nothing loaded
        told = [r["reason"] or "" for k, r in ledger.items() if k[0] == key[0]]
        assert any(key[0] in t and name in t for t in told), told  # the county's ledger names the file
    # the counties' regular files still go through (read without a manifest): one bad file stops nothing else
    others = {(c, rt) for c in ("411002", "411003") for rt in RECORD_TYPES} - set(hostile)
    assert {k: ledger[k]["status"] for k in others if ledger[k]["status"] not in LOADED} == {}
    # nothing of /etc/passwd anywhere: warehouse (ledger, quarantine, core), lake, validation results, Data Docs
    marker = foreign_marker()
    dumped = n.conn.execute(
        "SELECT coalesce(string_agg(q::text, '|'), '') FROM ops.quarantine q").fetchone()[0]
    dumped += n.conn.execute("SELECT coalesce(string_agg(s::text, '|'), '') FROM ops.submission s").fetchone()[0]
    for rt in RECORD_TYPES.values():
        dumped += n.conn.execute(sql.SQL("SELECT coalesce(string_agg(c::text, '|'), '') FROM {} c").format(
            sql.Identifier("core", rt.table + "_history"))).fetchone()[0]
    assert marker.decode() not in dumped
    for path in n.data.rglob("*"):
        if path.is_file():
            assert marker not in path.read_bytes(), f"{path} holds bytes of /etc/passwd"
    assert_accounted(n.conn, counties=["411002", "411003"])


# --- a. SIGKILL while the warehouse COPY runs, then re-run ----------------------------------------------------

CHILD = "import json, sys\nfrom supervision.nightly import run_shard\nrun_shard(json.loads(sys.argv[1]))\n"


def active_query(conn, pattern: str) -> tuple[int, str] | None:
    """(backend pid, query) of another session running a statement LIKE ``pattern`` in this database."""
    return conn.execute("SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() "
                        "AND pid <> pg_backend_pid() AND state = 'active' AND query LIKE %s LIMIT 1",
                        (pattern,)).fetchone()


def test_sigkill_during_the_copy_then_rerun_is_exact(fault_night: FaultNight, tmp_path):
    from supervision.nightly import prepare_run

    n = fault_night
    folder = write_day(n.drop, n.registry, counties=(COUNTY,))[COUNTY]
    rows = 250_000  # complaints are processed last: the other three files are committed before the kill
    big_file(folder / "complaints.csv", rows)
    (shard,) = prepare_run(DAY, str(n.registry.path), str(n.drop), counties=[COUNTY])
    log = (tmp_path / "child.log").open("wb")
    child = subprocess.Popen([sys.executable, "-c", CHILD, json.dumps(shard)], env=os.environ.copy(),
                             stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        seen, deadline = None, time.monotonic() + 300
        while seen is None and child.poll() is None and time.monotonic() < deadline:
            seen = active_query(n.conn, 'COPY "core"."complaint"%FORMAT binary%')
            time.sleep(0.01)
        assert seen, f"the child never ran the COPY (exit {child.poll()}): {(tmp_path / 'child.log').read_text()}"
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
            child.wait()
        log.close()
    backend = seen[0]
    for _ in range(300):  # the server notices the dead client and rolls its transaction back
        if not n.conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (backend,)).fetchone():
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"backend {backend} of the killed process is still there")

    # after the kill: the file's transaction is gone whole (no ledger row, no rows), the others are committed
    ledger = current(n.conn)
    assert (COUNTY, "complaints") not in ledger
    assert sorted(ledger) == sorted((COUNTY, rt) for rt in RECORD_TYPES if rt != "complaints")
    assert count(n.conn, "complaint", COUNTY) == 0
    report = reconcile(DAY, [COUNTY])
    assert not report.ok and any("complaints" in p and "never processed" in p for p in report.problems)

    # the re-run of the date: exact, nothing doubled
    assert run_day(n.registry, n.drop, counties=[COUNTY])[1] == []
    ledger = current(n.conn)
    assert all(r["status"] == "loaded" for r in ledger.values()) and len(ledger) == len(RECORD_TYPES)
    assert ledger[(COUNTY, "complaints")]["rows_loaded"] == rows
    for rt in RECORD_TYPES.values():
        file_rows = len(read_csv(folder / f"{rt.name}.csv"))
        assert count(n.conn, rt.table, COUNTY) == file_rows == ledger[(COUNTY, rt.name)]["rows_received"]
        assert count(n.conn, rt.table + "_superseded", COUNTY) == 0
    attempts = n.conn.execute("SELECT count(*) FROM ops.submission WHERE county_code = %s AND business_date = %s",
                              (COUNTY, DAY)).fetchone()[0]
    assert attempts == len(RECORD_TYPES)  # the files committed before the kill were re-recorded in place
    assert_accounted(n.conn, counties=[COUNTY])


# --- b. the warehouse shut down while a merge runs ------------------------------------------------------------

@pytest.fixture
def own_warehouse(monkeypatch, tmp_path):
    """A throw-away embedded PostgreSQL in its own data folder (never the machine's shared server): the test may
    stop it. Yields the data folder; SUPERVISION_WAREHOUSE_URL points at the server while it runs."""
    from supervision.warehouse import connection

    # not under pytest's basetemp (see tests/conftest.py: the server's user must traverse the path)
    home = Path(tempfile.mkdtemp(prefix="supervision-fault-warehouse-"))
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(home))
    for var in ("SUPERVISION_DROP_ROOT", "SUPERVISION_LAKE_ROOT", "SUPERVISION_REGISTRY", connection.AIRFLOW_CONN_ENV):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(connection.URL_ENV, connection.start_embedded(keep_running=False))
    from supervision.warehouse.migrate import deploy_warehouse

    with connection.connect(autocommit=True) as conn:  # the deploy step (supervision db migrate)
        deploy_warehouse(conn)
    try:
        yield home
    finally:
        connection.stop_embedded()
        shutil.rmtree(home, ignore_errors=True)


def test_warehouse_shutdown_during_a_merge_rolls_the_file_back_and_rerun_is_exact(own_warehouse, tmp_path,
                                                                                  monkeypatch):
    from supervision.warehouse import connection

    registry = write_registry(tmp_path / "registry.yaml", (COUNTY,))
    drop = tmp_path / "drop"
    path = write_day(drop, registry, counties=(COUNTY,))[COUNTY] / "enforcement_cases.csv"
    v1 = big_file(path, 120_000)
    assert run_day(registry, drop, counties=[COUNTY])[1] == []
    url = os.environ[connection.URL_ENV]
    # the correction of every record: its keys are in core, so it goes through the stage and the merge
    v2 = v1.assign(updated_at=shifted(v1.updated_at, hours=1), agency_name=v1.agency_name + "（更正）")
    write_csv(path, v2)
    v2_sha = hashlib.sha256(path.read_bytes()).hexdigest()

    stopped: dict = {}

    def stop_during_merge():
        with psycopg.connect(url, autocommit=True) as watch:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                if seen := active_query(watch, "%WITH w AS MATERIALIZED%"):
                    stopped["query"] = seen[1]
                    break
                time.sleep(0.01)
        if stopped:
            stopped["was_running"] = connection.stop_embedded()  # fast shutdown: open sessions are cut

    watcher = threading.Thread(target=stop_during_merge)
    watcher.start()
    outcomes, raised = run_day(registry, drop, counties=[COUNTY])
    watcher.join()
    assert stopped.get("was_running"), "the merge was never seen running"
    assert raised and COUNTY in str(raised[0])  # the shard fails loudly (Airflow retries it)

    monkeypatch.setenv(connection.URL_ENV, connection.start_embedded(keep_running=False))
    with connection.connect() as conn:
        attempt = conn.execute("SELECT status FROM ops.submission WHERE file_sha256 = %s", (v2_sha,)).fetchall()
        assert attempt in ([], [("failed",)])  # rolled back whole (or recorded as failed), never as loaded
        # core still holds the first file exactly: no half-merged correction
        assert core_rows(conn, "enforcement_case", COUNTY, "agency_name") == sorted(
            zip(v1.record_id, v1.agency_name, strict=True))
        assert count(conn, "enforcement_case_superseded", COUNTY) == 0
    # the earlier file of the day is current, but the newer one the run saw is not hidden: reconcile is red
    gap = reconcile(DAY, [COUNTY])
    assert not gap.ok and any("never recorded in the ledger" in p and COUNTY in p for p in gap.problems), gap.problems

    assert run_day(registry, drop, counties=[COUNTY])[1] == []
    with connection.connect(autocommit=True) as conn:
        row = current(conn)[(COUNTY, "enforcement_cases")]
        assert (row["file_sha256"], row["status"], row["rows_loaded"]) == (v2_sha, "loaded", len(v2))
        assert core_rows(conn, "enforcement_case", COUNTY, "agency_name") == sorted(
            zip(v2.record_id, v2.agency_name, strict=True))
        assert count(conn, "enforcement_case_superseded", COUNTY) == len(v1)
        assert_accounted(conn, counties=[COUNTY])


# --- g. RLS escape attempts as a county supervisor login ------------------------------------------------------

MARTS_DATA = ("fact_enforcement_case", "fact_enforcement_case_history", "fact_reconsideration_case",
              "fact_reconsideration_case_history", "fact_litigation_case", "fact_litigation_case_history",
              "fact_complaint", "fact_complaint_history", "fact_legal_review_violation", "kpi_value", "dim_agency",
              "dim_agency_name")
BASE_TABLES = ("core.enforcement_case", "core.complaint_history", "core.enforcement_case_superseded",
               "ops.quarantine", "ops.submission", "ops.validation_warning", "ref.division", "marts.supervisor_scope")


def login_url(url: str, login: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{quote(login, safe='')}@{parts.netloc.rsplit('@', 1)[-1]}"))


def county_relations(conn) -> list[str]:
    """Relations the connected role may SELECT that carry a county_code column."""
    return [r[0] for r in conn.execute("""
        SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'county_code' AND NOT a.attisdropped
        WHERE c.relkind IN ('r', 'v', 'm', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
          AND has_table_privilege(c.oid, 'SELECT') ORDER BY 1""")]


@pytest.fixture
def county_logins(fault_night: FaultNight, warehouse_url):
    """Two counties' nights loaded and the marts refreshed; a supervisor login for each county (cluster-wide roles:
    unique names, dropped afterwards). Yields (fault night, {county: connect()})."""
    from supervision.marts.access import create_supervisor, drop_supervisor
    from supervision.marts.pii import PiiKey
    from supervision.marts.refresh import refresh_marts

    n = fault_night
    write_day(n.drop, n.registry, counties=("411002", "411003"))
    assert run_day(n.registry, n.drop, counties=["411002", "411003"])[1] == []
    refresh_marts(n.conn, key=PiiKey(secrets.token_hex(32).encode(), "fault test"), as_of=DAY + timedelta(days=1),
                  full=True, migrate=False)
    tag, made, opened = secrets.token_hex(3), {}, []

    def connect(code: str, **kw) -> psycopg.Connection:
        kw.setdefault("autocommit", True)
        opened.append(psycopg.connect(login_url(warehouse_url, made[code]), **kw))
        return opened[-1]

    try:
        for code in ("411002", "411003"):
            made[code] = create_supervisor(n.conn, f"t{tag}_county_{code}", code, person="fault test").login
        yield n, made, connect
    finally:
        for c in opened:
            c.close()
        for login in made.values():  # each on its own: one that fails must not leave the other behind
            try:
                drop_supervisor(n.conn, login)
            except psycopg.Error as e:
                print(f"could not drop supervisor login {login}: {e}")
        n.conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(sql.SQL(", ").join(
            [sql.Identifier("marts", t) for t in MARTS_DATA] + [sql.Identifier("ops", "marts_refresh")])))


def test_county_login_cannot_leave_its_county(county_logins):
    n, logins, connect = county_logins
    mine, other = "411002", "411003"
    me = connect(mine)
    relations = county_relations(me)
    assert "marts.fact_enforcement_case" in relations
    own = me.execute("SELECT count(*) FROM marts.fact_enforcement_case").fetchone()[0]
    assert own == n.conn.execute("SELECT count(*) FROM core.enforcement_case WHERE county_code = %s",
                                 (mine,)).fetchone()[0] > 0
    assert n.conn.execute("SELECT count(*) FROM core.enforcement_case WHERE county_code = %s",
                          (other,)).fetchone()[0] > 0

    # another county's rows, asked for by name, in every relation the login can read
    for relation in relations:
        leaked = me.execute(sql.SQL("SELECT count(*) FROM {} WHERE county_code IS DISTINCT FROM %s").format(
            sql.SQL(relation)), (mine,)).fetchone()[0]
        assert leaked == 0, f"{relation}: rows of other counties visible"

    # SET ROLE: to the other county's login, to the wider groups, to the owner
    for role in (logins[other], "supervision_supervisor_province", "supervision_pipeline", "postgres"):
        with pytest.raises(errors.InsufficientPrivilege):
            me.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(role)))
    with pytest.raises(errors.InsufficientPrivilege):
        me.execute(sql.SQL("SET SESSION AUTHORIZATION {}").format(sql.Identifier(logins[other])))
    # ... to its own groups it may: there it has no scope at all, so it sees nothing
    for group in ("supervision_supervisor_county", "supervision_supervisor"):
        me.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(group)))
        assert me.execute("SELECT count(*) FROM marts.fact_enforcement_case").fetchone()[0] == 0
        me.execute("RESET ROLE")

    # the base tables and the scope table
    for table in BASE_TABLES:
        with pytest.raises(errors.InsufficientPrivilege):
            me.execute(sql.SQL("SELECT * FROM {} LIMIT 1").format(sql.SQL(table)))

    # row_security = off does not switch policies off: the query is refused
    me.execute("SET row_security = off")
    with pytest.raises(errors.InsufficientPrivilege, match="row-level security"):
        me.execute("SELECT count(*) FROM marts.fact_enforcement_case")
    me.execute("RESET row_security")

    # the SECURITY DEFINER functions it may call are the three reviewed ones, and they tell nothing of the other
    definers = {r[0] for r in me.execute(
        "SELECT n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND has_function_privilege(p.oid, 'EXECUTE')")}
    assert definers == {"marts.visible_codes", "marts.my_scope", "marts.division_label"}
    assert me.execute("SELECT count(*) FROM marts.visible_codes('county', %s)", (logins[other],)).fetchone()[0] == 0
    assert me.execute("SELECT count(*) FROM marts.my_scope(%s)", (logins[other],)).fetchone()[0] == 0
    assert me.execute("SELECT array_agg(c) FROM marts.visible_codes('county') c").fetchone()[0] == [mine]
    for statement in ("SELECT pg_read_file('/etc/passwd')", "COPY marts.fact_enforcement_case TO PROGRAM 'true'",
                      "SELECT marts.create_supervisor('t_sneaky', '41')"):
        with pytest.raises(errors.InsufficientPrivilege):
            me.execute(statement)

    # a leaky function (a cheap qual that prints what it is given): the policy is applied first
    me.execute("SET default_transaction_read_only = off")
    me.execute("CREATE FUNCTION pg_temp.leak(text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS "
               "$$ BEGIN RAISE NOTICE 'leak:%', $1; RETURN true; END $$")
    notices: list[str] = []
    me.add_notice_handler(lambda d: notices.append(d.message_primary))
    seen = me.execute("SELECT count(*) FROM marts.fact_enforcement_case WHERE pg_temp.leak(county_code::text)"
                      ).fetchone()[0]
    assert seen == own and notices and set(notices) == {f"leak:{mine}"}
    with pytest.raises(errors.InsufficientPrivilege):  # and write privileges are absent, read-only or not
        me.execute("DELETE FROM marts.fact_enforcement_case")
    me.execute("DROP FUNCTION pg_temp.leak(text)")  # the login owns it: its role could not be dropped otherwise
