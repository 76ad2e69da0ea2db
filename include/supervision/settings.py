"""Where things live. Every location can be moved with a CLI option, an environment variable, or the project's
settings file (data/settings.json, written by `supervision demo`; supervision.project_settings)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DATA = PROJECT_ROOT / "include" / "data"
SQL_DIR = PROJECT_ROOT / "sql"
DAGS_DIR = PROJECT_ROOT / "dags"
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
