"""Fault matrix: concurrency (issue 15). Two runs of the same business date at once (the UI and the CLI), and two
monitor runs at once, as real processes against a real PostgreSQL: the second waits for the first (a
per county+date advisory lock; one lock for the monitor), nothing is doubled and the date reconciles exactly.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import date

import pytest

from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.warehouse.connection import connect
from supervision.warehouse.locks import MONITOR_LOCK, advisory_lock, county_lock_name
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 17)
COUNTIES = ["411002", "411003", "411024"]  # 411003 sends rows that break rules: quarantine and warnings too

NIGHT = """
import sys
from datetime import date
from supervision.nightly import prepare_run, run_shard
day, registry, drop, counties, run_id = sys.argv[1:6]
for shard in prepare_run(date.fromisoformat(day), registry, drop, counties=counties.split(",")):
    run_shard(shard, run_id=run_id)
"""

MONITOR = """
import sys
from supervision.alerting.monitor import run_monitor
now, registry, drop, counties = sys.argv[1:5]
print(run_monitor(now, registry, counties.split(","), drop, send=False))
"""


@pytest.fixture()
def night(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    registry = load_registry()
    drop = tmp_path / "drop"
    simulate_night(registry, DAY, drop, seed=17, faults=FaultProfile({"411003": "bad_rows"}), counties=COUNTIES)
    return {"registry": str(registry.path), "drop": str(drop)}


def _start(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", script, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def _finish(procs: list[subprocess.Popen]) -> list[str]:
    logs = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        logs.append(out + err)
    return logs


def _waiting_for_locks() -> int:
    with connect() as conn:
        return conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted").fetchone()[0]


def _wait_until_both_wait(procs: list[subprocess.Popen], deadline: float = 120) -> None:
    t = time.monotonic()
    while _waiting_for_locks() < 2:
        for p in procs:
            assert p.poll() is None, f"a run did not wait for the lock: {p.communicate()}"
        assert time.monotonic() - t < deadline, "the two runs never queued on the lock"
        time.sleep(0.5)


def _nothing_doubled() -> None:
    with connect() as conn:
        ledger = conn.execute(
            "SELECT county_code, record_type, count(*) FROM ops.submission_current WHERE business_date = %s"
            " GROUP BY 1, 2 HAVING count(*) > 1", (DAY,)).fetchall()
        assert ledger == []
        attempts = conn.execute("SELECT count(*), count(DISTINCT (county_code, record_type, attempt_key))"
                                " FROM ops.submission WHERE business_date = %s", (DAY,)).fetchone()
        assert attempts[0] == attempts[1] == len(COUNTIES) * 4
        for sid, quarantined in conn.execute("SELECT submission_id, rows_quarantined FROM ops.submission"
                                             " WHERE business_date = %s", (DAY,)).fetchall():
            held = conn.execute("SELECT count(*) FROM ops.quarantine WHERE submission_id = %s AND row_number IS NOT"
                                " NULL", (sid,)).fetchone()[0]
            assert held == quarantined
        total_q = conn.execute("SELECT count(*) FROM ops.quarantine WHERE business_date = %s", (DAY,)).fetchone()[0]
        assert total_q > 0, "the night has quarantined rows: a doubling would show"
        warnings = conn.execute("SELECT count(*), count(DISTINCT (submission_id, row_number, rule))"
                                " FROM ops.validation_warning WHERE business_date = %s", (DAY,)).fetchone()
        assert warnings[0] == warnings[1]
        for table in ("enforcement_case", "reconsideration_case", "litigation_case", "complaint"):
            dupes = conn.execute(f"SELECT count(*) - count(DISTINCT (county_code, record_id, updated_at, row_hash))"  # noqa: S608
                                 f" FROM core.{table}_history").fetchone()[0]
            assert dupes == 0, table
    report = reconcile(DAY, COUNTIES)
    assert report.ok, report.problems
    t = report.totals
    assert t["rows_received"] == t["rows_loaded"] + t["rows_quarantined"] and t["rows_quarantined"] > 0


def test_two_runs_of_the_same_date_at_once_queue_per_county(night):
    args = (DAY.isoformat(), night["registry"], night["drop"], ",".join(COUNTIES))
    with ExitStack() as held:  # a third run holds the first county: both runs must queue behind it
        held.enter_context(advisory_lock(county_lock_name(COUNTIES[0], DAY), "the test"))
        procs = [_start(NIGHT, *args, "ui-run"), _start(NIGHT, *args, "cli-run")]
        _wait_until_both_wait(procs)
        with connect() as conn:
            assert conn.execute("SELECT count(*) FROM ops.submission WHERE business_date = %s",
                                (DAY,)).fetchone()[0] == 0, "nothing of the county was written while it was locked"
    logs = _finish(procs)
    assert all(f"county:{COUNTIES[0]}:{DAY} is being processed by supervision lock" in log for log in logs)
    _nothing_doubled()


def test_two_runs_started_together_double_nothing(night):
    args = (DAY.isoformat(), night["registry"], night["drop"], ",".join(COUNTIES))
    _finish([_start(NIGHT, *args, "ui-run"), _start(NIGHT, *args, "cli-run")])
    _nothing_doubled()


def test_two_monitor_runs_at_once_take_turns(night):
    # the night is loaded first: the monitor judges it and plans the morning digests (once a day)
    args = (DAY.isoformat(), night["registry"], night["drop"], ",".join(COUNTIES[:2]))
    _finish([_start(NIGHT, *args, "night")])
    now = "2026-11-18T09:00:00+08:00"
    margs = (now, night["registry"], night["drop"], ",".join(COUNTIES))
    with advisory_lock(MONITOR_LOCK, "the test"):
        procs = [_start(MONITOR, *margs), _start(MONITOR, *margs)]
        _wait_until_both_wait(procs)
    logs = _finish(procs)
    assert sum("monitor is being processed by supervision lock monitor" in log for log in logs) >= 2
    results = [ast.literal_eval(log.splitlines()[0]) for log in logs]
    # supervisors' digests and the counties' daily notices are both planned once a day
    planned = sum(r["digest"]["digests_planned"] + r["digest"].get("county_notices_planned", 0) for r in results)
    with connect() as conn:
        alerts = conn.execute("SELECT count(*), count(DISTINCT (kind, county_code, record_type, business_date))"
                              " FROM ops.alert").fetchone()
        assert alerts[0] == alerts[1]
        opened = conn.execute("SELECT count(*), count(DISTINCT alert_id) FROM ops.alert_event"
                              " WHERE event = 'opened'").fetchone()
        assert opened == (alerts[0], alerts[0])
        digests = conn.execute("SELECT count(*) FROM ops.alert_notification WHERE digest_date IS NOT NULL").fetchone()[0]
        notes = conn.execute("SELECT count(*) FROM ops.alert_notification").fetchone()[0]
    # the morning digests were planned once, by whichever run came first
    assert planned > 0 and digests == planned and sorted(r["digest"]["digests_planned"] + r["digest"].get("county_notices_planned", 0)
                                                             for r in results)[0] == 0
    # a third run at the same moment finds nothing new to open or plan: the two did not double anything
    _finish([_start(MONITOR, *margs)])
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM ops.alert").fetchone()[0] == alerts[0]
        assert conn.execute("SELECT count(*) FROM ops.alert_notification").fetchone()[0] == notes
