"""Alerting on late and invalid county submissions, routed up the hierarchy (issue 6; docs/alerting.md).

Modules: ``settings`` (the registry's ``alerting`` section), ``kinds`` (alert kinds), ``calendar`` (working
days), ``evidence`` (what the warehouse and the drop folder say), ``judge`` (pure judging under a given
clock), ``lifecycle`` (alerts in the warehouse, operator actions), ``notify`` (routing, escalation, outbox,
apprise delivery), ``messages`` and ``digest`` (texts), ``monitor`` (the DAG's steps), ``callbacks`` (Airflow
task failures), ``cli`` (``supervision alerts ...``).

Kept import-light: DAG files import ``callbacks`` at parse time.
"""
