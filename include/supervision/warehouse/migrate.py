"""Versioned SQL migrations (``sql/migrations/V<nnn>__<name>.sql``) and reference data loading.

Migrations are a deploy step: ``supervision db migrate`` calls :func:`deploy_warehouse` (the compose file's
airflow-init, ``supervision demo``, the test fixtures). Tasks and commands only check
(:func:`require_current_schema`): a schema behind the code fails them at once with one line saying what to run.

Each file runs once, in version order, and is recorded in ``ops.schema_migration`` with its sha256; a file
changed after it was applied is an error (write a new migration instead). Everything runs in one
transaction under an advisory lock, so concurrent callers (mapped Airflow tasks starting together) queue
up and the later ones find nothing to do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pyarrow as pa
from psycopg import sql

from supervision import divisions, settings
from supervision.errors import DeterministicError
from supervision.warehouse.load import copy_csv

MIGRATIONS_DIR = settings.SQL_DIR / "migrations"
LOCK_KEY = 0x5355_5056_4D49_4752  # "SUPVMIGR": one advisory lock for all schema changes
_NAME = re.compile(r"^V(\d+)__(\w+)\.sql$")
DIVISION_COLUMNS = ("code", "name", "level", "parent_code", "province_code", "city_code", "county_code", "edition")

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.schema_migration (
    version    int PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationError(RuntimeError):
    pass


class SchemaBehind(DeterministicError, RuntimeError):
    """The warehouse lacks migrations the code needs: deploy (``supervision db migrate``), then re-run."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()


def migrations(directory: Path | None = None) -> list[Migration]:
    found: dict[int, Migration] = {}
    for path in sorted((directory or MIGRATIONS_DIR).glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise MigrationError(f"{path.name}: migration files are named V<number>__<name>.sql")
        version = int(m.group(1))
        if version in found:
            raise MigrationError(f"two migrations with version {version}: {found[version].path.name}, {path.name}")
        found[version] = Migration(version, m.group(2), path)
    return [found[v] for v in sorted(found)]


def migrate(conn: psycopg.Connection, directory: Path | None = None, *, reference: bool = True) -> list[str]:
    """Apply pending migrations (and, with ``reference``, refresh reference data); return the applied names."""
    applied_now: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(_BOOTSTRAP)
        applied = {v: (n, c) for v, n, c in conn.execute("SELECT version, name, checksum FROM ops.schema_migration")}
        for m in migrations(directory):
            if m.version in applied:
                if applied[m.version][1] != m.checksum:
                    raise MigrationError(
                        f"{m.path.name} was changed after it was applied (recorded sha256 {applied[m.version][1]}, "
                        f"file {m.checksum}); never edit an applied migration, add a new one")
                continue
            try:
                conn.execute(m.sql)
            except psycopg.Error as e:
                raise MigrationError(f"{m.path.name} failed: {e}") from e
            conn.execute("INSERT INTO ops.schema_migration (version, name, checksum) VALUES (%s, %s, %s)",
                         (m.version, m.name, m.checksum))
            applied_now.append(m.path.stem)
        if reference:
            load_divisions(conn)
    return applied_now


def deploy_warehouse(conn: psycopg.Connection) -> list[str]:
    """The warehouse's deploy step (``supervision db migrate``): pending migrations, reference data, then the SQL
    models (sql/models, after the migrations: they read the tables the migrations make). Takes milliseconds when
    up to date. Returns the migrations applied."""
    from supervision.warehouse.models import deploy_models

    applied = migrate(conn, reference=True)
    deploy_models(conn, force=bool(applied))  # a migration may have changed what a view reads
    return applied


def schema_versions(conn: psycopg.Connection) -> set[int]:
    """The migration versions applied to this warehouse (empty when it was never migrated)."""
    if conn.execute("SELECT to_regclass('ops.schema_migration')").fetchone()[0] is None:
        return set()
    return {v for (v,) in conn.execute("SELECT version FROM ops.schema_migration")}


def require_current_schema(conn: psycopg.Connection, directory: Path | None = None) -> None:
    """Fail fast (:class:`SchemaBehind`, no retry) when a migration of the code is not applied to the warehouse.
    One query; what tasks and commands call instead of migrating."""
    applied = schema_versions(conn)
    needed = migrations(directory)
    missing = [m.version for m in needed if m.version not in applied]
    if not missing:
        return
    at = f"V{max(applied):03d}" if applied else "V000 (never migrated)"
    if applied and max(applied) >= needed[-1].version:  # a gap: a migration added below the newest applied one
        at += " without " + ", ".join(f"V{v:03d}" for v in missing)
    raise SchemaBehind(f"warehouse schema is at {at}, the code needs V{needed[-1].version:03d}: "
                       "run `supervision db migrate`")


def load_divisions(conn: psycopg.Connection, *, force: bool = False) -> int:
    """Replace ``ref.division`` with :func:`supervision.divisions.load_divisions` when the loaded edition
    differs from ``divisions.EDITION`` (or ``force``). Returns the rows loaded (0 = already up to date)."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        loaded = conn.execute("SELECT min(edition), max(edition) FROM ref.division").fetchone()
        if not force and loaded == (divisions.EDITION, divisions.EDITION):
            return 0  # without reading the CSV files: this runs before every task
        df = divisions.load_divisions()
        conn.execute("DELETE FROM ref.division")
        copy_csv(conn, sql.Identifier("ref", "division"), DIVISION_COLUMNS,
                 pa.Table.from_pandas(df[list(DIVISION_COLUMNS)], preserve_index=False))
    return len(df)
