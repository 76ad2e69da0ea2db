"""The Celery configuration of our workers: Airflow's default, plus the modules a worker imports before it forks
its pool (:mod:`supervision.task_preload`), so that task instances do not import Great Expectations each.

Selected with ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=supervision.celery_config.CELERY_CONFIG`` (Airflow's
documented way to change Celery's settings; ``supervision.airflow_env`` and docker-compose.yaml set it).
"""

from __future__ import annotations

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

CELERY_CONFIG = {**DEFAULT_CELERY_CONFIG,
                 "imports": (*DEFAULT_CELERY_CONFIG.get("imports", ()), "supervision.task_preload")}
