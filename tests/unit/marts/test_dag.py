"""The marts DAG is scheduled on the asset the nightly load updates (parsed by Airflow, no I/O)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = textwrap.dedent("""
    import json, sys
    from airflow.dag_processing.dagbag import DagBag
    bag = DagBag(dag_folder=sys.argv[1])
    out = {"errors": {k: str(v) for k, v in bag.import_errors.items()}}
    marts, nightly = bag.dags.get("supervision_marts"), bag.dags.get("supervision_nightly")
    if marts and nightly:
        out["marts_tasks"] = sorted(t.task_id for t in marts.tasks)
        out["marts_schedule"] = [a.uri for a in marts.timetable.asset_condition.objects]
        out["marts_outlets"] = [o.uri for o in marts.get_task("refresh").outlets]
        out["summarize_outlets"] = [o.uri for o in nightly.get_task("summarize").outlets]
        out["doc"] = bool(marts.doc_md)
    print("RESULT" + json.dumps(out))
""")


def test_marts_dag_is_triggered_by_the_nightly_load(tmp_path):
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "PYTHONWARNINGS": "ignore"}
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(ROOT / "dags")], env=env, capture_output=True, text=True,
                         timeout=300)
    line = next((x for x in out.stdout.splitlines() if x.startswith("RESULT")), None)
    assert line, out.stderr[-3000:]
    res = json.loads(line[len("RESULT"):])
    assert res["errors"] == {}
    assert res["marts_tasks"] == ["refresh"] and res["doc"]
    assert res["marts_schedule"] == ["supervision://warehouse/core"]
    assert "supervision://warehouse/core" in res["summarize_outlets"]
    assert res["marts_outlets"] == ["supervision://warehouse/marts"]
