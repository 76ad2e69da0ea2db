"""docker-compose.yaml and Dockerfile, checked statically (no Docker engine here): they must agree with the code.

The same services run for real in the test suite: the integration tests use a real PostgreSQL (the local
server, or the embedded one) and run Airflow itself.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from supervision.warehouse.connection import airflow_conn_to_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")
CODE = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "include" / "supervision").rglob("*.py"))


def _env(service: str) -> dict[str, str]:
    return COMPOSE["services"][service]["environment"]


def test_services_and_dependencies():
    services = COMPOSE["services"]
    assert {"warehouse", "airflow-db", "airflow"} <= set(services)
    for name, dep in services["airflow"]["depends_on"].items():
        assert name in services and dep["condition"] == "service_healthy" and "healthcheck" in services[name]


def test_images_are_pinned_and_airflow_matches_the_lock():
    for svc in COMPOSE["services"].values():
        if "image" in svc:
            assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", svc["image"]), f"unpinned image {svc['image']}"
    locked = re.search(r"^apache-airflow==([\d.]+)$", LOCK, re.M).group(1)
    assert f"FROM apache/airflow:{locked}-python3.11" in DOCKERFILE
    assert "requirements.lock" in DOCKERFILE


def test_no_secret_in_the_file():
    text = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    for key, value in [*_env("warehouse").items(), *_env("airflow-db").items(), *_env("airflow").items()]:
        if "PASSWORD" in key or "KEY" in key or "CONN" in key:
            assert "${" in value and ":?" in value, f"{key} must come from the environment"
    assert not re.search(r"://\w+:(?!\$\{)[^@]+@", text), "no literal password in a URL"


def test_airflow_points_at_the_warehouse_service():
    url = airflow_conn_to_url(_env("airflow")["AIRFLOW_CONN_SUPERVISION_WAREHOUSE"].replace(
        "${WAREHOUSE_PASSWORD:?set WAREHOUSE_PASSWORD}", "pw"))
    assert url.startswith("postgresql://") and "@warehouse:5432/supervision" in url
    warehouse = _env("warehouse")
    assert warehouse["POSTGRES_USER"] in url and warehouse["POSTGRES_DB"] == "supervision"


def test_every_supervision_variable_is_one_the_code_reads():
    for key in _env("airflow"):
        if key.startswith("SUPERVISION_") or key.startswith("AIRFLOW_CONN_SUPERVISION"):
            assert key in CODE, f"{key} is set in docker-compose.yaml but nothing reads it"


def test_ports_only_on_loopback_and_paths_exist():
    for svc in COMPOSE["services"].values():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), port
    registry = _env("airflow")["SUPERVISION_REGISTRY"].replace("/opt/supervision/", "")
    assert (ROOT / registry).exists()
    for path in re.findall(r"^COPY --chown=\S+ (.+) /opt/supervision", DOCKERFILE, re.M):
        for part in path.split():
            assert (ROOT / part).exists(), part
