"""docker-compose.yaml and Dockerfile, checked without Docker (no engine here): the file validates against the
Compose specification's JSON schema (vendored in tests/unit/fixtures/compose-spec, with its licence), and the
stack agrees with the code.

The same topology runs for real, from processes on this machine, in tests/stack/test_celery_stack.py.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import yaml

from supervision.warehouse.connection import airflow_conn_to_url

ROOT = Path(__file__).resolve().parents[2]
TEXT = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
COMPOSE = yaml.safe_load(TEXT)
SCHEMA = json.loads((Path(__file__).parent / "fixtures" / "compose-spec" / "compose-spec.schema.json").read_text())
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
LOCK = (ROOT / "requirements.lock").read_text(encoding="utf-8")
CODE = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "include" / "supervision").rglob("*.py"))
SERVICES = COMPOSE["services"]
AIRFLOW = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker",
           "airflow-init"]
LONG_RUNNING = [s for s in SERVICES if s != "airflow-init"]
SECRET = re.compile(r"PASSWORD|KEY|SECRET|CONN|DATABASE_URL|BROKER|BACKEND")


def _env(service: str) -> dict[str, str]:
    return SERVICES[service].get("environment") or {}


def _errors(doc) -> list[str]:
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]


def test_validates_against_the_compose_specification():
    assert _errors(COMPOSE) == []


def test_the_schema_check_catches_mistakes():
    """The validation is not vacuous: a misspelt key, a wrong type and an unknown depends_on condition fail."""
    for mutate in (lambda c: c["services"]["redis"].update(helthcheck={}),
                   lambda c: c["services"]["airflow-worker"].update(ports="8080"),
                   lambda c: c["services"]["portal"]["depends_on"]["warehouse"].update(condition="healthy")):
        doc = copy.deepcopy(COMPOSE)
        mutate(doc)
        assert _errors(doc), "the schema accepted a broken file"


def test_the_topology_of_airflows_official_file():
    assert {"warehouse", "airflow-db", "redis", "portal", *AIRFLOW} <= set(SERVICES)
    assert "x-airflow-common" in COMPOSE
    for name in AIRFLOW:
        env = _env(name)
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"].startswith("redis://redis:6379/"), name
        assert "@airflow-db:5432/airflow" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], name
        # one JWT secret and one Fernet key for every Airflow container, else workers cannot talk to the API
        assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == _env("airflow-apiserver")["AIRFLOW__API_AUTH__JWT_SECRET"]
        assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    commands = {name: SERVICES[name]["command"] for name in AIRFLOW if name != "airflow-init"}
    assert commands == {"airflow-apiserver": "api-server", "airflow-scheduler": "scheduler",
                        "airflow-dag-processor": "dag-processor", "airflow-triggerer": "triggerer",
                        "airflow-worker": "celery worker"}


def test_workers_scale():
    """`docker compose up --scale airflow-worker=N`: no fixed container name, no published port."""
    worker = SERVICES["airflow-worker"]
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker
    assert all("container_name" not in s for s in SERVICES.values())


def test_health_checks_and_start_order():
    for name in LONG_RUNNING:
        assert "healthcheck" in SERVICES[name], f"{name} has no health check"
        assert SERVICES[name].get("restart") == "always", name
    for name, svc in SERVICES.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in SERVICES, f"{name} depends on unknown {dep}"
            if cond["condition"] == "service_healthy":
                assert "healthcheck" in SERVICES[dep], f"{name} waits for {dep}'s health, which has no check"
    for name in AIRFLOW[:-1] + ["portal"]:
        assert SERVICES[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully", name


def test_init_migrates_both_databases_creates_the_admin_and_the_pool():
    script = SERVICES["airflow-init"]["command"][-1]
    assert SERVICES["airflow-init"]["restart"] == "no"
    for step in ("airflow db migrate", "supervision db migrate", "AIRFLOW_ADMIN_PASSWORD", "PORTAL_DB_PASSWORD"):
        assert step in script, step
    pool = _env("airflow-worker")["SUPERVISION_LOAD_POOL"]
    assert re.search(rf"airflow pools set {pool} \d+ ", script), "the pool load_shard uses is created"
    assert "SUPERVISION_LOAD_POOL" in CODE


def test_portal_listens_in_the_network_and_is_published_on_loopback():
    portal = SERVICES["portal"]
    assert portal["entrypoint"][:2] == ["supervision", "portal"] and "0.0.0.0" in portal["entrypoint"]
    assert portal["ports"] == ["127.0.0.1:8000:8000"]
    url = _env("portal")["SUPERVISION_PORTAL_DATABASE_URL"]
    assert url.startswith("postgresql://supervision_portal:${PORTAL_DB_PASSWORD:?") and "@warehouse:5432/" in url
    assert "SUPERVISION_PORTAL_DATABASE_URL" in CODE and "SUPERVISION_PORTAL_SECRET" in CODE


def test_shared_volumes_for_drop_lake_and_gx():
    for name in ("airflow-worker", "airflow-scheduler", "airflow-dag-processor", "airflow-apiserver"):
        mounts = {v.split(":")[1]: v.split(":")[0] for v in SERVICES[name]["volumes"]}
        assert mounts["/drop"] == "drop" and mounts["/lake"] == "lake", name
        assert mounts["/opt/supervision/data"] == "pipeline-data", name  # GX project and validation results
        assert mounts["/opt/airflow/logs"] == "airflow-logs", name  # the api-server reads the workers' logs
    assert {"drop", "lake", "pipeline-data", "airflow-logs"} <= set(COMPOSE["volumes"])
    assert _env("airflow-worker")["SUPERVISION_DROP_ROOT"] == "/drop"
    assert _env("airflow-worker")["SUPERVISION_LAKE_ROOT"] == "/lake"


def test_images_are_pinned_and_airflow_matches_the_lock():
    for svc in SERVICES.values():
        if "image" in svc:
            assert re.fullmatch(r"[\w./-]+:\d[\w.-]*", svc["image"]), f"unpinned image {svc['image']}"
    locked = re.search(r"^apache-airflow==([\d.]+)$", LOCK, re.M).group(1)
    assert f"FROM apache/airflow:{locked}-python3.11" in DOCKERFILE
    assert "requirements.lock" in DOCKERFILE
    assert re.search(r"^apache-airflow-providers-celery==", LOCK, re.M), "the CeleryExecutor is in the lock"
    assert re.search(r"^redis==", LOCK, re.M)


def test_no_secret_in_the_file():
    for name, svc in SERVICES.items():
        for key, value in (svc.get("environment") or {}).items():
            if key.endswith("_FILE"):  # a path, not a secret
                continue
            if SECRET.search(key) and "://" in value and "@" in value or "PASSWORD" in key or "SECRET" in key \
                    or key.endswith("_KEY"):
                assert "${" in value and ":?" in value, f"{name}: {key} must come from the environment"
    assert not re.search(r"://\w+:(?!\$\{)[^@\s]+@", TEXT), "no literal password in a URL"


def test_airflow_points_at_the_warehouse_service():
    url = airflow_conn_to_url(_env("airflow-worker")["AIRFLOW_CONN_SUPERVISION_WAREHOUSE"].replace(
        "${WAREHOUSE_PASSWORD:?set WAREHOUSE_PASSWORD}", "pw"))
    assert url.startswith("postgresql://") and "@warehouse:5432/supervision" in url
    warehouse = _env("warehouse")
    assert warehouse["POSTGRES_USER"] in url and warehouse["POSTGRES_DB"] == "supervision"


def test_every_supervision_variable_is_one_the_code_reads():
    for name, svc in SERVICES.items():
        for key in svc.get("environment") or {}:
            if key.startswith("SUPERVISION_") or key.startswith("AIRFLOW_CONN_SUPERVISION"):
                assert key in CODE, f"{name}: {key} is set in docker-compose.yaml but nothing reads it"


def test_ports_only_on_loopback_and_paths_exist():
    for svc in SERVICES.values():
        for port in svc.get("ports", []):
            assert port.startswith("127.0.0.1:"), port
    registry = _env("airflow-worker")["SUPERVISION_REGISTRY"].replace("/opt/supervision/", "")
    assert (ROOT / registry).exists()
    for path in re.findall(r"^COPY --chown=\S+ (.+) /opt/supervision", DOCKERFILE, re.M):
        for part in path.split():
            assert (ROOT / part).exists(), part
