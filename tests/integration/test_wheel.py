"""The product installs as a wheel: every data file it needs is package data (migrations and SQL models, divisions,
registries, targets, calendar overrides, portal templates and assets, the DAG files and plugins), found from the package wherever it is
installed, never through the repository; the dev package (simulator, demo, benchmarks) is not in it.

The wheel is built from this checkout, unpacked into a temporary directory and used by a fresh Python process that
sees only that directory and the environment's dependencies (no site processing, so not the editable install's
path to include/), from a working directory outside the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import psycopg
import pytest

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "include" / "supervision"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    uv = Path(sys.executable).with_name("uv")
    build = [str(uv), "build", "--wheel", "-q", "-o", str(out)] if uv.exists() else \
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), "."]
    proc = subprocess.run(build, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (whl,) = out.glob("supervision_pipeline-*.whl")
    return whl


def _data_files(root: Path, prefix: str) -> set[str]:
    """Every non-Python file under root (following the repository's links), as wheel member names."""
    return {f"{prefix}/{p.relative_to(root).as_posix()}" for p in root.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


def test_the_wheel_holds_the_data_files_and_no_dev_module(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = (_data_files(REPO / "sql", "supervision/sql") | _data_files(REPO / "include" / "data", "supervision/data")
                | _data_files(PACKAGE, "supervision")
                | {f"supervision/dags/{p.name}" for p in (REPO / "dags").glob("*.py")}
                | {f"supervision/plugins/{p.name}" for p in (REPO / "plugins").glob("*.py")})
    assert "supervision/sql/migrations/V001__schemas.sql" in expected  # the walk above found the repository's files
    assert {"supervision/targets.yaml", "supervision/calendar_overrides.yaml",
            "supervision/data/registries/henan.yaml", "supervision/data/divisions/areas.csv",
            "supervision/portal/templates/base.html", "supervision/portal/static/portal.css"} <= expected
    assert expected - names == set()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"supervision"}
    dev = [n for n in names if any(part in n for part in ("simulator", "bench", "celery_stack", "supervision_dev"))]
    assert dev == []
    assert not [n for n in names if n.endswith(".pyc") or "__pycache__" in n]


def test_the_unpacked_wheel_finds_its_data_outside_the_repository(wheel: Path, tmp_path: Path, fresh_database):
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    url = fresh_database()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SUPERVISION_", "PYTHON"))}
    # the dependencies only: -S skips site processing, so the editable install's include/ is not on the path
    env.update(PYTHONPATH=os.pathsep.join([str(site), sysconfig.get_paths()["purelib"]]),
               SUPERVISION_WAREHOUSE_URL=url, SUPERVISION_DATA_DIR=str(tmp_path / "data"))
    cwd = tmp_path / "elsewhere"
    cwd.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-S", *args], cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=300)

    probe = run("-c", """if True:
        import importlib.util, json
        import supervision, supervision.portal
        from supervision import settings
        from supervision.registry import load_registry
        from supervision.warehouse.migrate import migrations
        from importlib.resources import files
        portal = files(supervision.portal)
        print(json.dumps({
            "package": supervision.__file__,
            "dev": importlib.util.find_spec("supervision_dev") is not None,
            "migrations": [str(m.path) for m in migrations()],
            "registry": str(load_registry(settings.DEFAULT_REGISTRY).path),
            "counties": len(load_registry(settings.DEFAULT_REGISTRY).codes),
            "portal": [(portal / "templates" / "base.html").is_file(), (portal / "static" / "portal.css").is_file()],
            "airflow": [str(settings.DAGS_DIR / "supervision_nightly.py"), str(settings.PLUGINS_DIR)],
        }))""")
    assert probe.returncode == 0, probe.stderr[-3000:]
    found = json.loads(probe.stdout)
    assert Path(found["package"]).is_relative_to(site)
    assert found["dev"] is False
    assert len(found["migrations"]) == len(list((REPO / "sql" / "migrations").glob("V*.sql")))
    assert all(Path(p).is_relative_to(site) for p in found["migrations"])
    assert Path(found["registry"]).is_relative_to(site) and found["counties"] > 100
    assert found["portal"] == [True, True]
    dag, plugins = map(Path, found["airflow"])  # what the CLI's local Airflow (supervision run, ui) is given
    assert dag.is_file() and dag.is_relative_to(site) and plugins.is_relative_to(site)

    # the warehouse from the wheel alone: migrations and the divisions (reference data) found in the package
    migrated = run("-m", "supervision.cli", "db", "migrate")
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    assert "V001" in migrated.stdout
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM ref.division").fetchone()[0] > 40000

    # the dev commands say where they live instead of failing on an import
    demo = run("-m", "supervision.cli", "demo")
    assert demo.returncode == 2 and "make install" in demo.stderr
