"""
### supervision_marts: refresh the supervisor marts after each nightly load

Scheduled on the asset `supervision_warehouse_core`, which the nightly DAG's `summarize` task updates once the
night's county files are loaded and reconciled. One task, `refresh`: copies the rows loaded since the last
refresh into the fact tables (personal data pseudonymized with the key from `SUPERVISION_PII_KEY` / the Airflow
Variable `supervision_pii_key`), rebuilds agencies and watchlists, and recomputes the KPIs of every level and
period (all of them when the as-of date moved, as it does every morning). It updates the asset
`supervision_supervisor_marts`.

Run by hand: `supervision marts refresh [--full]`. Supervisors, roles and example queries: README "Supervisors",
docs/supervisor-queries.md, docs/security.md.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag, task

from supervision.marts.assets import SUPERVISOR_MARTS, WAREHOUSE_CORE


@dag(
    dag_id="supervision_marts",
    schedule=[WAREHOUSE_CORE],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["supervision", "marts"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5)},
)
def supervision_marts():
    @task(outlets=[SUPERVISOR_MARTS])
    def refresh() -> dict:
        from supervision.marts.refresh import refresh_marts

        return refresh_marts().to_dict()

    refresh()


supervision_marts()
