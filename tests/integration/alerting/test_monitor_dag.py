"""The supervision_monitor DAG really run by Airflow (`airflow dags test`) with a controlled `now`: its three
tasks judge, plan the digest and deliver to the local webhook receiver; the run exits 0."""

from __future__ import annotations

import json
import subprocess
from datetime import date

import pytest

from .alerting_support import alerts, at, registry_file, submit_day

pytestmark = [pytest.mark.integration, pytest.mark.airflow]
D = date(2026, 11, 22)


def test_monitor_dag_runs_in_airflow(alert_db, sinks, tmp_path, monkeypatch):
    from supervision.airflow_env import airflow_bin, airflow_env, ensure_metadata_db

    smtp, hook = sinks
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path / "data"))
    reg = registry_file(tmp_path, smtp, hook, ["411002", "411003"])
    submit_day(alert_db, "411002", D, None, status="late")
    submit_day(alert_db, "411003", D, at(2026, 11, 23, 2, 0))
    env = airflow_env()
    ensure_metadata_db(env)
    conf = {"now": "2026-11-23T08:45:00+08:00", "registry": str(reg), "drop_root": str(tmp_path / "drop"),
            "counties": ["411002", "411003"]}
    out = subprocess.run([airflow_bin(), "dags", "test", "supervision_monitor", "2026-11-23T00:45:00+00:00",
                          "--conf", json.dumps(conf)], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    (late,) = alerts(alert_db)
    assert (late["kind"], late["county_code"], late["state"]) == ("late", "411002", "notified")
    assert late["level"] == 0  # raised at 08:45 by this run: no escalation yet
    assert len(hook.at("/county/411002")) == 1
    assert [p["title"] for p in hook.at("/city/4110") if "晨报" in p["title"]]  # 08:45 is after the digest time
