"""The Airflow set-up the CLI uses: a project-local AIRFLOW_HOME, the project's DAGs and plugins.

Nothing here imports Airflow: it only builds the environment for `airflow ...` subprocesses.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from supervision import settings


def airflow_home() -> Path:
    return Path(os.environ.get("AIRFLOW_HOME", settings.data_dir() / "airflow")).resolve()


def airflow_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    home = airflow_home()
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": settings.TIMEZONE,
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": env.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                                                       f"sqlite:///{home / 'airflow.db'}"),
        "AIRFLOW__CORE__EXECUTOR": env.get("AIRFLOW__CORE__EXECUTOR", "LocalExecutor"),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": env.get("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING"),
        "SUPERVISION_DATA_DIR": str(settings.data_dir()),
        "NO_COLOR": "1",
        "PYTHONWARNINGS": env.get("PYTHONWARNINGS", "ignore"),
    })
    env.update(extra or {})
    return env


def airflow_bin() -> str:
    exe = Path(sys.executable).with_name("airflow")
    return str(exe) if exe.exists() else (shutil.which("airflow") or "airflow")


def ensure_metadata_db(env: dict[str, str]) -> None:
    """`airflow db migrate` once per AIRFLOW_HOME (it is slow; the marker keeps re-runs fast)."""
    home = Path(env["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    marker = home / ".migrated"
    if marker.exists():
        return
    subprocess.run([airflow_bin(), "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
    marker.touch()
