"""
### supervision_monitor: late and invalid county submissions → alerts, escalation, morning digests

Runs every 30 minutes from 05:00 to 11:30 Asia/Shanghai (the morning window in which counties deliver and
fix), hourly until 22:00 (escalations, retries), and right after each nightly load (the asset
`supervision_ledger`, emitted by `supervision_nightly.summarize`).

- `judge`: every county × record type × business date of the last days, against the county's deadline
  (registry; extensions and exemptions applied): **late**, **missing** record type, **rejected** file
  (unreadable, schema drift, damaged transfer), **invalid** (rejected share over the county's threshold),
  **volume anomaly** (against the county's own working-day or rest-day history), **stale source** (no changed
  rows for N days), **chronic lateness** (late on k of the last n dates), and for the engineers
  **pipeline late** (the nightly run has not recorded every county by `pipeline_deadline`) and **pipeline
  failed**. Opens, updates and resolves alerts in `ops.alert` (one unresolved alert per county, type, date
  and kind); saves the verdicts behind the `marts.compliance_*` scorecards.
- `digest`: after `digest_time`, once a day, one digest per city and per province.
- `deliver`: escalates unresolved alerts (county → city → province after the registry's delays), plans and
  sends notifications through apprise (e-mail, DingTalk, WeCom, Slack, webhooks: per contact in the
  registry); a channel that is down is retried with back-off, nothing is lost.

Params: `now` (ISO 8601, re-play a moment), `registry`, `drop_root`, `counties`. Operators:
`supervision alerts list|show|ack|resolve|renotify|extend|exempt|grants|revoke|monitor|scorecard`
(docs/alerting.md). A task that fails for good notifies the data engineers.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import Param, dag, get_current_context, task
from airflow.timetables.assets import AssetOrTimeSchedule
from airflow.timetables.trigger import MultipleCronTriggerTimetable

from supervision.alerting.assets import LEDGER
from supervision.alerting.callbacks import task_failure_callback

TZ = "Asia/Shanghai"


def _fail_fast(step, **kwargs):
    """A fault a retry cannot fix (e.g. an invalid registry) fails the task at once (supervision.errors)."""
    from airflow.sdk.exceptions import AirflowFailException

    from supervision.errors import is_deterministic

    try:
        return step(**kwargs)
    except Exception as e:
        if is_deterministic(e):
            raise AirflowFailException(f"{type(e).__name__}: {e} (not retried: fix the cause)") from e
        raise


def _params() -> dict:
    p = get_current_context()["params"]
    return {"now": p.get("now"), "registry": p.get("registry"), "counties": p.get("counties") or None}


@dag(
    dag_id="supervision_monitor",
    schedule=AssetOrTimeSchedule(
        timetable=MultipleCronTriggerTimetable("*/30 5-11 * * *", "0 12-22 * * *", timezone=TZ), assets=[LEDGER]),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    doc_md=__doc__,
    tags=["supervision", "alerting"],
    default_args={"retries": 1, "retry_delay": timedelta(minutes=2), "on_failure_callback": task_failure_callback},
    params={
        "now": Param(None, type=["null", "string"], description="ISO 8601 moment to judge at; default: now"),
        "registry": Param(None, type=["null", "string"], description="county registry YAML; default $SUPERVISION_REGISTRY"),
        "drop_root": Param(None, type=["null", "string"], description="drop folder; default $SUPERVISION_DROP_ROOT"),
        "counties": Param(None, type=["null", "array"], description="only these county codes"),
    },
)
def supervision_monitor():
    @task
    def judge() -> dict:
        from supervision.alerting.monitor import judge_step

        p = get_current_context()["params"]
        return _fail_fast(judge_step, drop_root=p.get("drop_root"), **_params())

    @task(trigger_rule="all_done")
    def digest() -> dict:
        from supervision.alerting.monitor import digest_step

        return _fail_fast(digest_step, **_params())

    @task(trigger_rule="all_done")
    def deliver() -> dict:
        from supervision.alerting.monitor import deliver_step

        return _fail_fast(deliver_step, **_params())

    judge() >> digest() >> deliver()


supervision_monitor()
