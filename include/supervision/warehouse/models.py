"""SQL models (``sql/models/<schema>/<name>.sql``): the views of the marts, re-deployable, one per file.

Migrations (:mod:`supervision.warehouse.migrate`) hold state: schemas, tables, roles, row-level security, the
functions behind them; each runs once. A model is a view and holds none, so it is simply deployed again whenever
it (or anything under it) may have changed: :func:`deploy_models` runs after the migrations and

* orders the models so that each comes after the models it reads (a model's dependencies are the other models
  its SQL names, ``<schema>.<name>``);
* skips everything when ``ops.schema_model`` already records every model with the checksum of its file, every
  view exists and no migration was applied just before (milliseconds: callers run it before their work);
* otherwise, in one transaction under the migrations' advisory lock, drops every model view (the current ones
  and those recorded by the previous deploy) in one ``DROP VIEW`` statement — without CASCADE, so a view
  somebody else built on a model stops the deploy with PostgreSQL's message instead of vanishing — and runs
  every model file in order. A file creates its view (security_invoker), comments it and grants it through
  ``marts.expose_view``, so grants and security settings come back with it.

A warehouse migrated before the models existed (views created by V103-V503) is upgraded by its first deploy:
nothing is recorded yet, so the old views are dropped and the models create them again.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from functools import cached_property
from graphlib import TopologicalSorter
from pathlib import Path

import psycopg
from psycopg import sql

from supervision import settings

log = logging.getLogger(__name__)

MODELS_DIR = settings.SQL_DIR / "models"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")

_BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.schema_model (
    name        text PRIMARY KEY,
    checksum    text NOT NULL,
    deployed_at timestamptz NOT NULL DEFAULT now()
)"""


class ModelError(RuntimeError):
    pass


@dataclass(frozen=True)
class Model:
    schema: str
    name: str
    path: Path

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @cached_property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def reads(self, names: set[str]) -> set[str]:
        """The models among ``names`` this one's SQL names (comments left out)."""
        body = re.sub(r"/\*.*?\*/|--[^\n]*", "", self.sql, flags=re.S)
        found = set(re.findall(r"\b([a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*)\b", body))
        return (found & names) - {self.qualified}


def models(directory: Path | None = None) -> list[Model]:
    """Every model under ``directory`` (default sql/models), in deployment order: each after those it reads."""
    found: dict[str, Model] = {}
    for path in sorted((directory or MODELS_DIR).glob("*/*.sql")):
        schema, name = path.parent.name, path.stem
        if not (_NAME.match(schema) and _NAME.match(name)):
            raise ModelError(f"{path}: models are sql/models/<schema>/<name>.sql, lower-case names")
        m = Model(schema, name, path)
        if not re.search(rf"^CREATE (OR REPLACE )?VIEW {re.escape(m.qualified)}\b", m.sql, re.M):
            raise ModelError(f"{path}: a model file creates the view it is named after ({m.qualified})")
        found[m.qualified] = m
    names = set(found)
    graph = {q: m.reads(names) for q, m in sorted(found.items())}
    return [found[q] for q in TopologicalSorter(graph).static_order()]


def _up_to_date(conn: psycopg.Connection, todo: list[Model]) -> bool:
    recorded = dict(conn.execute("SELECT name, checksum FROM ops.schema_model").fetchall())
    if recorded != {m.qualified: m.checksum for m in todo}:
        return False
    return len(_views(conn, [m.qualified for m in todo])) == len(todo)


def _views(conn: psycopg.Connection, names: list[str]) -> list[str]:
    """Those of ``names`` that are views in the database."""
    return [r[0] for r in conn.execute(
        "SELECT n FROM unnest(%s::text[]) n JOIN pg_class c ON c.oid = to_regclass(n) WHERE c.relkind = 'v' "
        "ORDER BY n", (names,))]


def deploy_models(conn: psycopg.Connection, directory: Path | None = None, *, force: bool = False) -> list[str]:
    """Deploy the models when any changed or is missing (or ``force``: a migration was just applied).
    Returns the models deployed, in order ([] = up to date)."""
    from supervision.warehouse.migrate import LOCK_KEY  # one lock for every schema change

    todo = models(directory)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(_BOOTSTRAP)
        if not force and _up_to_date(conn, todo):
            return []
        recorded = [r[0] for r in conn.execute("SELECT name FROM ops.schema_model ORDER BY name")]
        names = {m.qualified for m in todo} | set(recorded)
        existing = _views(conn, sorted(names))
        if existing:
            try:
                conn.execute(sql.SQL("DROP VIEW {}").format(
                    sql.SQL(", ").join(sql.Identifier(*n.split(".")) for n in existing)))
            except psycopg.errors.DependentObjectsStillExist as e:
                raise ModelError(f"the models cannot be re-deployed: {e} (drop or move that object first)") from e
        for m in todo:
            try:
                conn.execute(m.sql)
            except psycopg.Error as e:
                raise ModelError(f"{m.path.name} failed: {e}") from e
        conn.execute("DELETE FROM ops.schema_model")
        with conn.cursor().copy("COPY ops.schema_model (name, checksum) FROM STDIN") as copy:
            for m in todo:
                copy.write_row((m.qualified, m.checksum))
    log.info("deployed %d SQL models (%d views dropped first)", len(todo), len(existing))
    return [m.qualified for m in todo]
