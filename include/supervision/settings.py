"""Where things live: the project's fixed paths. The movable locations (data folder, registry, drop folder, lake)
are chosen by :mod:`supervision.resources` (CLI option, ``SUPERVISION_*`` variable, data/settings.json, built-in
default); the functions below are kept as the short names every module already uses."""

from __future__ import annotations

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
