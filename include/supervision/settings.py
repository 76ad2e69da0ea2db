"""Where things live. Every location can be moved with an environment variable (or a CLI option)."""

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


def registry_path() -> Path:
    return Path(os.environ.get("SUPERVISION_REGISTRY", DEFAULT_REGISTRY)).resolve()


def drop_root() -> Path:
    return Path(os.environ.get("SUPERVISION_DROP_ROOT", data_dir() / "drop")).resolve()


def lake_root() -> Path:
    """Immutable raw landing zone (Parquet), partitioned by record type, business date and county."""
    return Path(os.environ.get("SUPERVISION_LAKE_ROOT", data_dir() / "lake")).resolve()
