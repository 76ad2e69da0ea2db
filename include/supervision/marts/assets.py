"""Airflow assets of the warehouse (importable without I/O: the DAG files import them at parse time).

``WAREHOUSE_CORE`` is updated by the nightly DAG's ``summarize`` task (core tables loaded and reconciled);
the ``supervision_marts`` DAG is scheduled on it and updates ``SUPERVISOR_MARTS``.
"""

from __future__ import annotations

from airflow.sdk import Asset

WAREHOUSE_CORE = Asset(name="supervision_warehouse_core", uri="supervision://warehouse/core")
SUPERVISOR_MARTS = Asset(name="supervision_supervisor_marts", uri="supervision://warehouse/marts")
