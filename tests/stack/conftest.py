"""The production topology of docker-compose.yaml, from processes on this machine (no Docker): Airflow's metadata
in a throw-away database on the local PostgreSQL, the local Redis as Celery broker (a dedicated db number and a
queue of this run's own, so parallel runs never take each other's tasks), scheduler, dag-processor, api-server on a
free loopback port, and two Celery workers with distinct host names. Every process is started here and stopped
(its whole process tree) when the module ends, also on failure.
"""

from __future__ import annotations

import os

import pytest

from supervision_dev.celery_stack import (
    LOCAL_ADMIN_URL,
    POOL,
    REDIS,
    Stack,
    admin_execute,
    kill_tree,
    local_reachable,
    redis_up,
)

__all__ = ["LOCAL_ADMIN_URL", "POOL", "POOL_SLOTS", "WORKER_CONCURRENCY", "Stack", "admin_execute", "kill_tree"]
POOL_SLOTS = 2
WORKER_CONCURRENCY = 2  # 2 workers x 2 = 4 task slots: more than the pool, so the pool is what caps the loads


@pytest.fixture(scope="module")
def stack(migrated_url, tmp_path_factory):
    if not local_reachable() or not redis_up():
        msg = f"the Celery stack test needs the local PostgreSQL ({LOCAL_ADMIN_URL}) and Redis ({REDIS[0]}:{REDIS[1]})"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)
    s = Stack(tmp_path_factory.mktemp("stack"), migrated_url, workers=2, concurrency=WORKER_CONCURRENCY,
              pool_slots=POOL_SLOTS)
    try:
        s.up()
        yield s
    finally:
        s.down()


