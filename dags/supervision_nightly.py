"""
### supervision_nightly: county submissions → validated → PostgreSQL warehouse

Runs every day at 06:30 Asia/Shanghai (after the default 06:00 county deadline) for the business date
before; the run id names that date (`scheduled__2026-11-22__...`). Catch-up is deliberate: unpausing (or a
scheduler back after a long stop) does not start a night that was due more than 2 hours ago; re-run a missed
date with `supervision run --date D`, or Trigger → Backfill in the UI with a range of run dates (README,
Operations). For each county of the registry (mapped task `load_shard`; one county per task up to 300 counties,
more per task for bigger registries, 10 for the national one, or the `shard_size` param): read the county's
drop folder, land each file as raw Parquet, validate it with Great Expectations, quarantine bad rows with
every rule they broke, load the rest with binary COPY (new versions into core, older ones kept), and record
the submission in `ops.submission`. `summarize` prints the
per-county table and fails the run if any received row is neither loaded nor quarantined, or any file failed
or was never processed. Faults a retry cannot fix (invalid registry, refused paths, a file the warehouse
refuses) fail their task at once, without retries.

Trigger with params to re-run a day: `{"business_date": "2026-11-22"}` (idempotent), or with
`registry` / `drop_root` to run another registry or folder: several runs may be active at once (e.g. two
provinces' registries, each with its own drop folder; docs/deployment.md). Operators: see README (`supervision run`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task

from supervision.airflow_env import load_pool, retry_delay_seconds
from supervision.alerting.assets import LEDGER
from supervision.alerting.callbacks import task_failure_callback
from supervision.marts.assets import WAREHOUSE_CORE
from supervision.timetables import NightlyTimetable

TZ = "Asia/Shanghai"
# On a deployment (CeleryExecutor, docs/deployment.md) the Airflow pool named by SUPERVISION_LOAD_POOL caps the
# warehouse loads across every worker and each worker's concurrency is its machine's cores; without one (make ui,
# supervision run on one machine) two loads at a time, the cores of this machine.
LOAD_POOL = load_pool()
# Several registries (provinces) may run their nights side by side on one deployment: the load pool caps the
# concurrent loads of every run together, the per-county advisory lock (nightly.run_shard) makes a second run of
# the same county and date wait and then repeat it idempotently, and each run reconciles only its own counties.
MAX_ACTIVE_RUNS = 4


def _fail_fast(step, *args, **kwargs):
    """Run a step; a fault a retry cannot fix (supervision.errors.is_deterministic: invalid registry, refused
    path, a file the warehouse refuses) fails the task at once instead of spending its retries on it."""
    from airflow.sdk.exceptions import AirflowFailException

    from supervision.errors import is_deterministic

    try:
        return step(*args, **kwargs)
    except Exception as e:
        if is_deterministic(e):
            raise AirflowFailException(f"{type(e).__name__}: {e} (not retried: the same input fails the same way; "
                                       "fix the cause, then re-run the date)") from e
        raise


@dag(
    dag_id="supervision_nightly",
    schedule=NightlyTimetable("30 6 * * *", timezone=TZ),  # registered by plugins/supervision_timetables.py
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=MAX_ACTIVE_RUNS,
    doc_md=__doc__,
    tags=["supervision", "nightly"],
    default_args={"retries": 2, "retry_delay": timedelta(seconds=retry_delay_seconds()), "retry_exponential_backoff": 2.0,
                  "on_failure_callback": task_failure_callback},  # tells the data engineers (docs/alerting.md)
    params={
        "business_date": Param(None, type=["null", "string"], format="date",
                               description="YYYY-MM-DD; default: the Asia/Shanghai day before the run"),
        "registry": Param(None, type=["null", "string"], description="county registry YAML; default $SUPERVISION_REGISTRY"),
        "drop_root": Param(None, type=["null", "string"], description="drop folder; default $SUPERVISION_DROP_ROOT"),
        "shard_size": Param(None, type=["null", "integer"], minimum=1,
                            description="counties per mapped task; empty: one per county up to 300 tasks, "
                                        "else as many as keep the night at 300 (national: 10)"),
        "counties": Param(None, type=["null", "array"], description="only these county codes (re-run a few)"),
    },
)
def supervision_nightly():
    @task
    def prepare() -> list[dict]:
        from supervision.nightly import business_date_for, prepare_run

        ctx = get_current_context()
        p = ctx["params"]
        day = business_date_for(ctx["dag_run"].run_after, p.get("business_date"))
        return _fail_fast(prepare_run, day, p.get("registry"), p.get("drop_root"), p.get("shard_size"),
                          p.get("counties"))

    @task(map_index_template="{{ shard_label }}", pool=LOAD_POOL or "default_pool",
          max_active_tis_per_dag=None if LOAD_POOL else 2)
    def load_shard(shard: dict) -> list[dict]:
        from supervision.nightly import run_shard, shard_label

        ctx = get_current_context()
        ctx["shard_label"] = ",".join(shard["counties"])  # shown as the map index in the UI
        outcomes = None
        try:
            outcomes = _fail_fast(run_shard, shard, run_id=ctx["run_id"])
            return outcomes
        finally:  # re-rendered after the task: a county not fully loaded shows its verdict in the grid
            ctx["shard_label"] = shard_label(shard["counties"], outcomes)

    # all_done: the table is printed whatever happened; as the DAG's only leaf its failure (a file failed or never
    # processed, a row unaccounted for) fails the run. A reconciliation failure is deterministic: no retry.
    @task(trigger_rule="all_done", retries=0, outlets=[LEDGER, WAREHOUSE_CORE])
    def summarize(shards: list[dict]) -> dict:
        from supervision.nightly import summarize as summarize_run

        return summarize_run(shards)

    shards = prepare()
    load_shard.expand(shard=shards) >> summarize(shards)


supervision_nightly()
