"""Airflow callbacks: a task that fails for good tells the data engineers at once.

``on_failure_callback`` runs in the task's process after the last retry. The engineers are reached through
the Airflow connection ``supervision_engineers`` (an apprise connection: the provider's hook, secrets in
Airflow's connection store) when it exists, and through the registry's ``alerting.engineers`` contacts and
``SUPERVISION_ENGINEER_CHANNELS``. A callback must never raise: problems are logged.

This is the immediate, best-effort signal. The durable one is the monitor: a county file the pipeline
failed on is a ``pipeline_failed`` alert, a night not recorded in time is ``pipeline_late``; both stay open,
are retried until delivered, and close when a re-run succeeds.

Imported by DAG files at parse time: nothing heavy at module level.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)
ENGINEERS_CONN_ID = "supervision_engineers"


def failure_message(context) -> tuple[str, str]:
    ti = context.get("task_instance") or context.get("ti")
    dag_id = getattr(ti, "dag_id", "?")
    task = getattr(ti, "task_id", "?")
    map_index = getattr(ti, "map_index", -1)
    label = f"{task}[{map_index}]" if map_index not in (None, -1) else task
    run_id = context.get("run_id") or getattr(ti, "run_id", "?")
    params = context.get("params") or {}
    error = context.get("exception")
    title = f"[任务失败 task failed] {dag_id}.{label}"
    lines = [
        f"DAG {dag_id}, task {label}, run {run_id}, try {getattr(ti, 'try_number', '?')}: failed after its retries.",
        f"Error: {type(error).__name__}: {error}" if error else "Error: see the task log.",
    ]
    if params.get("business_date"):
        lines.append(f"Business date: {params['business_date']}")
    if getattr(ti, "log_url", None):
        lines.append(f"Log: {ti.log_url}")
    lines.append("Fix the cause, then clear the task in the Airflow UI or re-run: supervision run --date <date> "
                 "(idempotent). Open alerts: supervision alerts list --kind pipeline_failed")
    return title, "\n".join(lines)


def notify_engineers(title: str, body: str, registry=None) -> int:
    """Send to every engineer channel; returns how many deliveries succeeded. Never raises."""
    sent = 0
    try:
        sent += _via_airflow_connection(title, body)
    except Exception:  # a callback must not fail the task twice
        log.exception("engineer notification through the Airflow connection %s failed", ENGINEERS_CONN_ID)
    try:
        from supervision.alerting.notify import (
            ChannelError,
            apprise_send,
            contact_channels,
            engineers,
            resolve_url,
        )
        from supervision.registry import load_registry

        settings = load_registry(registry).alerting
        for contact in engineers(settings):
            for channel in contact_channels(contact):
                try:
                    ok, error = apprise_send(resolve_url(channel, settings), title, body)
                except ChannelError as e:
                    ok, error = False, str(e)
                sent += ok
                if not ok:
                    log.warning("engineer notification to %s failed: %s", contact.name, error)
    except Exception:
        log.exception("engineer notification failed")
    if not sent:
        log.warning("no engineer was reached about: %s", title)
    return sent


def _via_airflow_connection(title: str, body: str) -> int:
    try:
        from airflow.providers.apprise.hooks.apprise import AppriseHook
        from airflow.sdk import BaseHook

        BaseHook.get_connection(ENGINEERS_CONN_ID)
    except Exception:  # not configured (or not inside Airflow): the registry's channels still apply
        return 0
    from apprise import NotifyType

    AppriseHook(apprise_conn_id=ENGINEERS_CONN_ID).notify(body=body, title=title, notify_type=NotifyType.FAILURE)
    return 1  # the hook does not report per-channel success


def task_failure_callback(context) -> None:
    """``on_failure_callback`` for the project's DAGs (set in their default_args)."""
    try:
        title, body = failure_message(context)
    except Exception:
        log.exception("could not describe the failed task")
        title, body = "[任务失败 task failed] a supervision task failed", "See the Airflow UI."
    notify_engineers(title, body, (context.get("params") or {}).get("registry"))
