"""Where things live. Every location can be moved with a CLI option, an environment variable, or the project's
settings file (data/settings.json, written by `supervision demo`; supervision.project_settings)."""

from __future__ import annotations

import os
from pathlib import Path

# Package data, inside the package wherever it is installed (a wheel or the repository's editable install, where
# supervision/data and supervision/sql are links to include/data and sql/): never found by repository layout.
PACKAGE_DIR = Path(__file__).resolve().parent
INCLUDE_DATA = PACKAGE_DIR / "data"  # divisions and county registries
SQL_DIR = PACKAGE_DIR / "sql"  # migrations (and SQL models)
# The DAG files and Airflow plugins the CLI's local Airflow uses (`supervision run`, `ui`), also package data
# (links to dags/ and plugins/ in the repository); resolved, so Airflow sees the same file paths as before
DAGS_DIR = (PACKAGE_DIR / "dags").resolve()
PLUGINS_DIR = (PACKAGE_DIR / "plugins").resolve()
# The checkout around the package: only the default writable data/ (every deployment sets SUPERVISION_DATA_DIR)
PROJECT_ROOT = PACKAGE_DIR.parents[1]
TIMEZONE = "Asia/Shanghai"
DEFAULT_REGISTRY = INCLUDE_DATA / "registries" / "henan.yaml"


def data_dir() -> Path:
    """The project's writable data folder (embedded PostgreSQL, lake, drops, Airflow home)."""
    return Path(os.environ.get("SUPERVISION_DATA_DIR", PROJECT_ROOT / "data")).resolve()


def _remembered(key: str) -> str | None:
    from supervision import project_settings

    return project_settings.get(key)


def registry_path() -> Path:
    """SUPERVISION_REGISTRY, else the project settings file, else the Henan registry."""
    return Path(os.environ.get("SUPERVISION_REGISTRY") or _remembered("registry") or DEFAULT_REGISTRY).resolve()


def drop_root() -> Path:
    """SUPERVISION_DROP_ROOT, else the project settings file, else data/drop."""
    return Path(os.environ.get("SUPERVISION_DROP_ROOT") or _remembered("drop_root") or data_dir() / "drop").resolve()


def default_counties() -> list[str] | None:
    """SUPERVISION_COUNTIES, else the project settings file, else None (every county of the registry)."""
    from supervision import project_settings

    return project_settings.counties()


def lake_root() -> Path:
    """Immutable raw landing zone (Parquet), partitioned by record type, business date and county."""
    return Path(os.environ.get("SUPERVISION_LAKE_ROOT", data_dir() / "lake")).resolve()
