"""``python -m supervision.airflow_dagtest DAG_ID [LOGICAL_DATE] --conf JSON``: ``airflow dags test`` (the same
Airflow CLI command, in this process) with three things the UI needs for runs started by ``supervision run``:

1. the run id names the business date: ``manual__2026-11-22__2026-12-04T20:01:16+00:00`` (``airflow dags test``
   names it by the wall clock only);
2. each task's log is written where the UI reads it: ``AIRFLOW_HOME/logs/`` + Airflow's log_filename_template,
   as JSON lines like Airflow's own (``airflow dags test`` runs tasks in-process and writes no log file, so the
   UI said "Log file not found on worker"); the project's loggers at INFO;
3. the run gets a note (shown in the UI's run details): the business date and the counties' verdicts.
"""

from __future__ import annotations

import json
import logging
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

RUN: dict = {}  # what the patched Airflow functions learn about this run: run_id, dag_id


class JsonLinesHandler(logging.Handler):
    """Airflow 3's task log format: one JSON object per line (timestamp, level, event, logger)."""

    def __init__(self, path: Path):
        super().__init__(logging.INFO)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.stream = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            event = record.getMessage()
            if record.exc_info:
                event += "\n" + "".join(traceback.format_exception(*record.exc_info))
            doc = {"timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
                   "level": record.levelname.lower(), "event": event, "logger": record.name}
            self.stream.write(json.dumps(doc, ensure_ascii=False) + "\n")
            self.stream.flush()
        except Exception:  # a log line must never fail the task
            self.handleError(record)

    def close(self) -> None:
        self.stream.close()
        super().close()


def task_log_path(ti) -> Path:
    """Where the UI looks for this try's log: [logging] base_log_folder + log_filename_template."""
    from airflow.configuration import conf
    from airflow.utils.log.file_task_handler import FileTaskHandler

    base = conf.get("logging", "base_log_folder")
    return Path(base) / FileTaskHandler(base)._render_filename(ti, ti.try_number)


def _patch_airflow(business_date: str | None) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.sdk.definitions import dag as sdk_dag

    original_run_id = DagRun.generate_run_id

    def generate_run_id(*, run_type, logical_date=None, run_after):
        run_id = original_run_id(run_type=run_type, logical_date=logical_date, run_after=run_after)
        if business_date:
            prefix, _, rest = run_id.partition("__")
            run_id = f"{prefix}__{business_date}__{rest}"
        RUN["run_id"] = run_id
        return run_id

    DagRun.generate_run_id = staticmethod(generate_run_id)
    original_run_task = sdk_dag._run_task

    def run_task(*, ti, task, run_triggerer=False):
        RUN["dag_id"] = ti.dag_id
        project = logging.getLogger("supervision")
        saved = (project.level, project.propagate, list(project.handlers))
        handler = JsonLinesHandler(task_log_path(ti))
        console = logging.StreamHandler(sys.stdout)  # the console (where Airflow logs) keeps only warnings
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        project.setLevel(logging.INFO)
        project.propagate = False
        project.handlers = [handler, console]
        handler.emit(logging.LogRecord("supervision.airflow_dagtest", logging.INFO, __file__, 0,
                                       "task %s run in-process by `supervision run` (airflow dags test), run %s",
                                       (ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""),
                                        ti.run_id), None))
        try:
            return original_run_task(ti=ti, task=task, run_triggerer=run_triggerer)
        finally:
            project.setLevel(saved[0])
            project.propagate = saved[1]
            project.handlers = saved[2]
            handler.close()

    sdk_dag._run_task = run_task


def run_note(business_date: str, counties: list[str] | None) -> str:
    """The run's note: business date and how many counties ended in each verdict, the bad ones named."""
    from supervision.warehouse.connection import connect

    with connect() as conn:
        rows = conn.execute(
            "SELECT county_code, array_agg(DISTINCT status ORDER BY status) FROM ops.submission_current"
            " WHERE business_date = %s AND (%s::text[] IS NULL OR county_code = ANY(%s::text[])) GROUP BY 1"
            " ORDER BY 1", (business_date, counties, counties)).fetchall()
    bad = {c: s for c, s in rows if set(s) - {"loaded", "loaded_with_quarantine"}}
    text = f"业务日期 business date {business_date}: {len(rows)} counties recorded"
    if counties and len(rows) < len(counties):
        text += f" of {len(counties)} asked for"
    if bad:
        text += f"; {len(bad)} not fully loaded (FAILED / REJECTED / late): " + ", ".join(
            f"{c} {'/'.join(s)}" for c, s in list(bad.items())[:40]) + (" ..." if len(bad) > 40 else "")
    else:
        text += "; every county loaded"
    return text


def _set_note(note: str) -> None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        dr = session.query(DagRun).filter_by(dag_id=RUN["dag_id"], run_id=RUN["run_id"]).one_or_none()
        if dr is not None:
            dr.note = note


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    conf = json.loads(argv[argv.index("--conf") + 1]) if "--conf" in argv else {}
    day = conf.get("business_date")
    from airflow.__main__ import main as airflow_main

    _patch_airflow(day)
    sys.argv = ["airflow", "dags", "test", *argv]
    rc = 0
    try:
        airflow_main()
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    if day and RUN.get("run_id") and RUN.get("dag_id"):
        try:
            _set_note(run_note(day, conf.get("counties")))
        except Exception:  # the note is for reading; never turn a run's result into a failure over it
            logging.getLogger(__name__).warning("could not write the run's note", exc_info=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
