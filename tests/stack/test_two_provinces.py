"""Two provinces' registries run their nights at the same time on one Celery deployment (issue 17).

A Henan subset and a Hubei registry written here (6 counties of 湖北省), each with its own drop folder, are
triggered through Airflow's REST API for the same business date, one right after the other. supervision_nightly
allows several active runs: the pool `warehouse_loads` caps their loads together, the per-county advisory locks
guard a county against two runs. Proven from Airflow's task instances and the warehouse: the runs overlapped in
time, both succeeded, each run's ledger rows are its own registry's counties only, each reconciles exactly, and
core holds every loaded row once.
"""

from __future__ import annotations

import sys
import time
from datetime import date, datetime

import psycopg
import pytest

from supervision.contract import RECORD_TYPES
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision_dev.simulator import FaultProfile, simulate_night

from .conftest import POOL, POOL_SLOTS, WORKER_CONCURRENCY

pytestmark = [pytest.mark.integration, pytest.mark.airflow, pytest.mark.timeout(600)]

DAY = date(2026, 11, 23)
DAG = "supervision_nightly"
HUBEI = [("420102", "江岸区"), ("420103", "江汉区"), ("420104", "硚口区"), ("420105", "汉阳区"), ("420106", "武昌区"),
         ("420107", "青山区")]


def _t(s: str | None) -> datetime | None:
    return datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None


def _hubei_registry(path):
    lines = ["name: hubei-wuhan", "defaults:", '  deadline: "06:00"', "  transport: file_drop",
             "  reject_threshold: 0.2", "counties:"]
    for code, name in HUBEI:
        lines += [f'  - code: "{code}"', f"    name: {name}", "    city: 武汉市",
                  f"    contact: {{name: {name}司法局数据专员, email: data-{code}@supervision.example}}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def two_nights(stack):
    henan = load_registry()
    hubei_path = _hubei_registry(stack.root / "hubei.yaml")
    hubei = load_registry(hubei_path)
    henan_codes = henan.codes[:6]
    assert set(hubei.codes) == {c for c, _ in HUBEI} and not set(hubei.codes) & set(henan_codes)
    drops = {"henan": stack.root / "drop-henan", "hubei": stack.root / "drop-hubei"}
    # one county of each with bad rows: its quarantine must land in its own run's ledger only
    sims = {"henan": simulate_night(henan, DAY, drops["henan"], seed=41, counties=henan_codes,
                                    faults=FaultProfile({henan_codes[1]: "bad_rows"})),
            "hubei": simulate_night(hubei, DAY, drops["hubei"], seed=42,
                                    faults=FaultProfile({hubei.codes[2]: "bad_rows"}))}
    confs = {"henan": {"business_date": DAY.isoformat(), "registry": str(henan.path), "drop_root": str(drops["henan"]),
                       "counties": henan_codes, "shard_size": 2},
             "hubei": {"business_date": DAY.isoformat(), "registry": str(hubei_path), "drop_root": str(drops["hubei"]),
                       "shard_size": 2}}  # the whole Hubei registry: it also looks for strays in its own folder
    t0 = time.monotonic()
    runs = {p: stack.api.trigger(DAG, conf, run_id=f"manual__{DAY}__{p}_{stack.tag}", note=f"two provinces: {p}")
            for p, conf in confs.items()}
    states = {p: stack.api.wait(DAG, r, every=2, timeout=480) for p, r in runs.items()}
    yield {"runs": runs, "states": states, "seconds": time.monotonic() - t0, "sims": sims,
           "codes": {"henan": henan_codes, "hubei": list(hubei.codes)},
           "tis": {p: stack.api.task_instances(DAG, r) for p, r in runs.items()}}


def test_both_runs_succeed_and_overlapped_in_time(two_nights):
    assert two_nights["states"] == {"henan": "success", "hubei": "success"}, two_nights["states"]
    spans = {}
    for p, tis in two_nights["tis"].items():
        assert {t["state"] for t in tis} == {"success"}, (p, tis)
        assert sum(t["task_id"] == "load_shard" for t in tis) == 3
        spans[p] = (min(_t(t["start_date"]) for t in tis), max(_t(t["end_date"]) for t in tis))
    (a0, a1), (b0, b1) = spans["henan"], spans["hubei"]
    # with max_active_runs=1 the second run's first task would start only after the first run's last one ended
    assert a0 < b1 and b0 < a1, f"the runs did not overlap: henan {spans['henan']}, hubei {spans['hubei']}"
    # the pool caps the loads of both runs together (2 workers x WORKER_CONCURRENCY slots could run more)
    loads = [t for tis in two_nights["tis"].values() for t in tis if t["task_id"] == "load_shard"]
    assert {t["pool"] for t in loads} == {POOL}
    events = sorted([(_t(t["start_date"]), 1) for t in loads] + [(_t(t["end_date"]), -1) for t in loads])
    level = peak = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    assert 2 * WORKER_CONCURRENCY > POOL_SLOTS and 1 <= peak <= POOL_SLOTS, f"{peak} loads at once"
    overlap = (min(a1, b1) - max(a0, b0)).total_seconds()
    print(f"two provinces' nights on the Celery stack: {two_nights['seconds']:.0f} s, overlapping {overlap:.0f} s",
          file=sys.stderr)


def test_each_runs_ledger_is_its_own_registrys_counties_and_reconciles(two_nights, migrated_url):
    codes, runs = two_nights["codes"], two_nights["runs"]
    with psycopg.connect(migrated_url) as conn:
        by_run = {p: {r[0] for r in conn.execute("SELECT DISTINCT county_code FROM ops.submission"
                                                 " WHERE business_date = %s AND run_id = %s", (DAY, run_id))}
                  for p, run_id in runs.items()}
        for p in ("henan", "hubei"):
            assert by_run[p] == set(codes[p]), (p, by_run[p])
            other = codes["hubei" if p == "henan" else "henan"]
            report = reconcile(DAY, codes[p])
            assert report.ok, report.problems
            assert set(report.ledger.county_code) == set(codes[p]), "no row of the other registry in this ledger"
            assert not set(report.ledger.county_code) & set(other)
            totals = report.totals
            assert totals["rows_received"] == two_nights["sims"][p].totals["rows"]
            assert totals["rows_received"] == totals["rows_loaded"] + totals["rows_quarantined"]
            assert totals["rows_quarantined"] > 0, "the county with bad rows quarantined in its own run"
            assert totals["files"] == len(codes[p]) * len(RECORD_TYPES)
            in_core = sum(conn.execute(f"SELECT count(*) FROM core.{rt.table} WHERE county_code = ANY(%s)",  # noqa: S608 - contract names
                                       (codes[p],)).fetchone()[0] for rt in RECORD_TYPES.values())
            assert in_core == totals["rows_loaded"], "every loaded row once in core: nothing doubled"
            entries = conn.execute("SELECT count(*), count(DISTINCT (county_code, record_type))"
                                   " FROM ops.submission_current WHERE business_date = %s AND county_code = ANY(%s)",
                                   (DAY, codes[p])).fetchone()
            assert entries == (len(codes[p]) * len(RECORD_TYPES),) * 2, "one current ledger row per county file"
            stray = conn.execute("SELECT count(*) FROM ops.submission WHERE business_date = %s AND status ="
                                 " 'unexpected'", (DAY,)).fetchone()[0]
            assert stray == 0, "neither run took the other's folders for strays (each has its own drop folder)"
