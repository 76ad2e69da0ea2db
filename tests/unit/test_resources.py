"""supervision.resources: every SUPERVISION_* variable in one typed model, listed in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from supervision import resources, settings
from supervision.marts.pii import PiiKeyError, load_key
from supervision.resources import ConfigurationError, Variables

ROOT = Path(__file__).resolve().parents[2]
NAME = re.compile(r"\bSUPERVISION_[A-Z0-9_]*[A-Z0-9]\b")
# reading a SUPERVISION_* variable straight from the environment (writing one for a child process is fine)
DIRECT_READ = re.compile(r"""(environ\.get\(|getenv\(|environ\[)\s*["']SUPERVISION_\w+["']\s*(?!\]\s*=[^=])""")


def _code_files() -> list[Path]:
    files = [*(ROOT / "include").rglob("*.py"), *(ROOT / "dags").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]
    return files + [ROOT / "docker-compose.yaml", ROOT / "Makefile", *(ROOT / "include").rglob("*.yaml")]


def test_every_name_in_the_code_is_in_the_model_and_the_table():
    known = set(Variables.names())
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    used: dict[str, str] = {}
    for path in _code_files():
        for name in NAME.findall(path.read_text(encoding="utf-8")):
            used.setdefault(name, str(path.relative_to(ROOT)))
    assert len(used) > 40  # the scan sees the code (guards the regular expression itself)
    missing = {n: where for n, where in used.items() if n not in known}
    assert not missing, f"SUPERVISION_* names used but not in resources.Variables: {missing}"
    undocumented = sorted(n for n in known if f"| `{n}` |" not in table)
    assert not undocumented, f"not in the table of docs/configuration.md: {undocumented}"


def test_the_docs_table_is_the_model():
    table = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert resources._markdown_table() in table, \
        "docs/configuration.md is stale: paste `.venv/bin/python -m supervision.resources` into it"


def test_no_other_module_reads_a_supervision_variable_itself():
    readers = []
    for path in _code_files():
        if path.name == "resources.py" or path.suffix != ".py":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if DIRECT_READ.search(line):
                readers.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not readers, "read through supervision.resources instead:\n" + "\n".join(readers)


def test_direct_read_pattern_tells_reads_from_writes():
    assert DIRECT_READ.search('x = os.environ.get("SUPERVISION_BATCH_ROWS", 5)')
    assert DIRECT_READ.search('if os.environ["SUPERVISION_DEBUG"] == "1":')
    assert not DIRECT_READ.search('os.environ["SUPERVISION_COUNTIES"] = "all"')


def test_values_are_typed_with_defaults_and_follow_the_environment(monkeypatch):
    monkeypatch.delenv("SUPERVISION_BATCH_ROWS", raising=False)
    assert resources.variables().batch_rows == 200_000
    monkeypatch.setenv("SUPERVISION_BATCH_ROWS", "7")
    assert resources.variables().batch_rows == 7
    monkeypatch.setenv("SUPERVISION_BATCH_ROWS", "")  # empty = unset
    assert resources.variables().batch_rows == 200_000
    monkeypatch.setenv("SUPERVISION_PORTAL_SECURE_COOKIES", "1")
    assert resources.variables().portal_secure_cookies is True


def test_a_wrong_type_is_one_clear_deterministic_error(monkeypatch):
    from supervision.errors import is_deterministic

    monkeypatch.setenv("SUPERVISION_LOCK_WAIT", "an hour")
    with pytest.raises(ConfigurationError, match=r"SUPERVISION_LOCK_WAIT='an hour'") as e:
        resources.variables()
    assert is_deterministic(e.value)


def test_secrets_are_not_shown(monkeypatch):
    monkeypatch.setenv("SUPERVISION_PII_KEY", "k" * 40)
    monkeypatch.setenv("SUPERVISION_WAREHOUSE_URL", "postgresql://u:hunter2@db/x")
    text = repr(resources.variables())
    assert "k" * 40 not in text and "hunter2" not in text


@pytest.fixture
def bare(monkeypatch, tmp_path):
    """No warehouse configured anywhere (empty data folder: no data/settings.json)."""
    for name in ("SUPERVISION_WAREHOUSE_URL", "AIRFLOW_CONN_SUPERVISION_WAREHOUSE", "SUPERVISION_ENVIRONMENT",
                 "SUPERVISION_PII_KEY", "AIRFLOW_VAR_SUPERVISION_PII_KEY", "SUPERVISION_PII_KEY_FILE",
                 "SUPERVISION_LAKE_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    return tmp_path


def test_environments(bare, monkeypatch):
    assert resources.environment() == "embedded" and resources.configured_warehouse_url() is None
    assert resources.lake_root() == bare.resolve() / "lake" == settings.lake_root()
    assert resources.gx_project_root() == bare.resolve()
    monkeypatch.setenv("AIRFLOW_CONN_SUPERVISION_WAREHOUSE", "postgres://w:pw@warehouse:5432/supervision?__extra__=%7B%7D")
    assert resources.environment() == "compose"
    assert resources.configured_warehouse_url() == "postgresql://w:pw@warehouse:5432/supervision"
    monkeypatch.setenv("SUPERVISION_WAREHOUSE_URL", "postgresql://me@127.0.0.1/w")
    assert resources.environment() == "local"
    assert resources.configured_warehouse_url() == "postgresql://me@127.0.0.1/w"


def test_production_never_falls_back_to_the_embedded_server(bare, monkeypatch):
    monkeypatch.setenv("SUPERVISION_ENVIRONMENT", "production")
    with pytest.raises(ConfigurationError, match="no warehouse is configured"):
        resources.warehouse_url()
    monkeypatch.setenv("SUPERVISION_ENVIRONMENT", "staging")
    with pytest.raises(ConfigurationError, match="SUPERVISION_ENVIRONMENT"):
        resources.environment()


def test_pii_key_per_environment(bare, monkeypatch):
    generated = load_key()  # embedded: generated once under the data folder, then the same
    assert "embedded development warehouse" in generated.source and load_key().key == generated.key
    assert (bare / "secrets" / "pii_key").stat().st_mode & 0o077 == 0
    monkeypatch.setenv("AIRFLOW_CONN_SUPERVISION_WAREHOUSE", "postgres://w@warehouse/supervision")
    with pytest.raises(PiiKeyError, match="no PII key"):
        load_key()
    monkeypatch.setenv("AIRFLOW_VAR_SUPERVISION_PII_KEY", "a" * 32)
    assert load_key().source == "env AIRFLOW_VAR_SUPERVISION_PII_KEY"
    monkeypatch.setenv("SUPERVISION_PII_KEY", "b" * 32)
    assert load_key().key == b"b" * 32 and load_key().source == "env SUPERVISION_PII_KEY"
