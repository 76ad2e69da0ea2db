"""Where things live: the project's fixed paths. The movable locations (data folder, registry, drop folder, lake)
are chosen by :mod:`supervision.resources` (CLI option, ``SUPERVISION_*`` variable, data/settings.json, built-in
default); the functions below are kept as the short names every module already uses."""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
INCLUDE_DATA = PROJECT_ROOT / "include" / "data"
SQL_DIR = PROJECT_ROOT / "sql"
DAGS_DIR = PROJECT_ROOT / "dags"
TIMEZONE = "Asia/Shanghai"
DEFAULT_REGISTRY = INCLUDE_DATA / "registries" / "henan.yaml"


def data_dir() -> Path:
    """The project's writable data folder (embedded PostgreSQL, lake, drops, Airflow home)."""
    from supervision import resources

    return resources.data_dir()


def registry_path() -> Path:
    """SUPERVISION_REGISTRY, else the project settings file, else the Henan registry."""
    from supervision import resources

    return resources.registry_path()


def drop_root() -> Path:
    """SUPERVISION_DROP_ROOT, else the project settings file, else data/drop."""
    from supervision import resources

    return resources.drop_root()


def default_counties() -> list[str] | None:
    """SUPERVISION_COUNTIES, else the project settings file, else None (every county of the registry)."""
    from supervision import resources

    return resources.default_counties()


def lake_root() -> Path:
    """Immutable raw landing zone (Parquet), partitioned by record type, business date and county."""
    from supervision import resources

    return resources.lake_root()
