"""`supervision run` chooses between a deployment (Airflow's REST API) and `airflow dags test` here, without
starting anything: a half-configured deployment is refused, an unreachable one fails loudly, none keeps dags test."""

from __future__ import annotations

import socket
from datetime import date

from supervision import cli
from supervision.registry import load_registry

DAY = date(2026, 11, 22)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_deployment_without_a_password_is_refused(monkeypatch, capsys):
    monkeypatch.setenv("SUPERVISION_AIRFLOW_API_URL", "http://127.0.0.1:1")
    monkeypatch.delenv("SUPERVISION_AIRFLOW_PASSWORD", raising=False)
    assert cli.main(["run", "--date", DAY.isoformat()]) == 2
    assert "SUPERVISION_AIRFLOW_PASSWORD" in capsys.readouterr().err


def test_an_unreachable_deployment_fails_and_never_falls_back_to_dags_test(monkeypatch, capsys):
    started = []
    monkeypatch.setattr(cli, "run_through_airflow", lambda *a, **kw: started.append(a) or 0)
    monkeypatch.setenv("SUPERVISION_AIRFLOW_API_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("SUPERVISION_AIRFLOW_PASSWORD", "x")
    code = load_registry().codes[0]
    assert cli.main(["run", "--date", DAY.isoformat(), "--counties", code]) == 1
    assert "deployment's Airflow API failed" in capsys.readouterr().err
    assert started == []


def test_without_a_deployment_dags_test_runs_here(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(cli, "run_through_airflow", lambda *a, **kw: started.append(a) or 0)
    monkeypatch.setattr(cli, "run_through_scheduler", lambda *a, **kw: 1 / 0)
    monkeypatch.delenv("SUPERVISION_AIRFLOW_API_URL", raising=False)
    # the table printed after the run is a courtesy: a warehouse nobody listens at keeps it away from data/
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("SUPERVISION_WAREHOUSE_URL", f"postgresql://postgres@127.0.0.1:{_closed_port()}/none")
    (tmp_path / "drop").mkdir()
    code = load_registry().codes[0]
    assert cli.main(["run", "--date", DAY.isoformat(), "--drop-root", str(tmp_path / "drop"), "--counties", code]) == 0
    assert len(started) == 1
