"""Airflow assets shared by DAG files (imported at parse time: nothing else here).

``LEDGER``: the submission ledger (ops.submission), updated by ``supervision_nightly.summarize``; the
monitor runs after each update (besides its morning schedule).
"""

from airflow.sdk import Asset

LEDGER = Asset(name="supervision_ledger", uri="postgres://warehouse:5432/supervision/ops/submission")
