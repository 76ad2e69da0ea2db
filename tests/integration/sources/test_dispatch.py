"""Our own faults around pull sources (registry, Airflow connection) fail the task; dates already covered by a later
night are empty, not lost."""

from __future__ import annotations

from datetime import date

import pytest
import yaml

from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county
from supervision.nightly import run_shard
from supervision.registry import RegistryError, load_registry
from supervision.sources.common import connection_env
from supervision_dev.simulator import CountySystems

pytestmark = pytest.mark.integration
DAY = date(2026, 8, 3)


def registry(tmp_path, **source):
    entries = [{"code": "410526", "transport": "http_api", "contact": {"name": "d", "email": "d@example.org"},
                "source": {"conn_id": "county_410526_api", **source}},
               {"code": "410527", "transport": "database", "contact": {"name": "d", "email": "d@example.org"},
                "source": {"conn_id": "county_410527_db"}}]
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"name": "dispatch", "counties": entries}), encoding="utf-8")
    return load_registry(path)


def statuses(warehouse, code, day=DAY):
    return dict(warehouse.execute("SELECT record_type, status || ': ' || coalesce(reason, '') FROM"
                                  " ops.submission_current WHERE county_code = %s AND business_date = %s", (code, day)))


def test_a_missing_airflow_connection_fails_the_task_and_names_it(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    monkeypatch.delenv(connection_env("county_410526_api"), raising=False)
    reg = registry(tmp_path)
    (tmp_path / "drop").mkdir()
    run = {"business_date": DAY.isoformat(), "registry": str(reg.path), "drop_root": str(tmp_path / "drop"),
           "counties": ["410526"]}
    with pytest.raises(RuntimeError, match="4 file.s. failed in the pipeline itself"):
        run_shard(run)
    got = statuses(warehouse, "410526")
    assert len(got) == 4 and all(s.startswith("failed: ") and "AIRFLOW_CONN_COUNTY_410526_API" in s
                                 for s in got.values())


def test_a_wrong_registry_source_stops_the_registry_load_naming_the_key(tmp_path):
    # checked when the registry loads (every task loads it), not when the county's task pulls
    with pytest.raises(RegistryError, match=r"registry.yaml: counties\[0\] \(code 410526\): source.paging: 'scroll' "
                                            "is not one of page, offset, cursor"):
        registry(tmp_path, paging="scroll")


def test_a_date_covered_by_a_later_night_is_an_empty_batch_saying_which(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    reg = registry(tmp_path)
    later = date(2026, 8, 5)
    with CountySystems(reg, tmp_path / "systems", counties=["410527"]) as systems:
        for k, v in systems.env().items():
            monkeypatch.setenv(k, v)
        systems.simulate_night(DAY, scale=0.3)
        systems.simulate_night(later, scale=0.3)
        first = process_county(reg.county("410527"), RunContext.default(later, tmp_path))
        early = process_county(reg.county("410527"), RunContext.default(DAY, tmp_path))
    assert sum(o.rows_received for o in first) > 0
    assert {(o.status, o.rows_received) for o in early} == {("loaded", 0)}
    assert all("already loaded, with business date 2026-08-05" in o.reason for o in early)
