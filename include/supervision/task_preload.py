"""What an Airflow worker imports once, so that every task instance it forks starts with it.

Each task instance is a process forked from its worker (Airflow 3's task supervisor). Forked from a worker
that has not imported them, every ``load_shard`` imports Great Expectations (about 4.5 s of CPU here: scipy.stats,
altair, sqlalchemy, marshmallow ...) and this package again: 298 tasks of a national night would spend ~22 min
of slot time on imports alone (docs/benchmarks.md, "Task start-up"). Preloaded, the fork shares them
copy-on-write. Wired through Airflow's and Celery's own settings (``supervision.airflow_env``):

- LocalExecutor: ``[scheduler] mp_start_method = forkserver`` with ``mp_forkserver_preload`` naming this module
  (the executor's worker processes come from the preloaded fork server);
- CeleryExecutor: ``[celery] celery_config_options = supervision.celery_config.CELERY_CONFIG``, whose Celery
  ``imports`` names this module (imported by the worker before it forks its pool).

Importing it has no side effect beyond imports and reading the division reference (package data, 0.8 s): no
connection, no thread, no file written (a forked child must not inherit either), which
tests/unit/test_task_preload.py checks.
"""

from __future__ import annotations

import great_expectations  # noqa: F401  (the 4.5 s)

import supervision.data_docs_site.site  # noqa: F401  (GX's site builder: the Data Docs pages of each shard)
import supervision.nightly  # noqa: F401  (ingest, sources, validation, warehouse, registry)
import supervision.reconcile  # noqa: F401
import supervision.validation.data_docs  # noqa: F401
import supervision.validation.gx_suite  # noqa: F401
import supervision.warehouse.models  # noqa: F401
from supervision import divisions

divisions.division("110101")  # the reference every registry load checks codes against, read once per worker
