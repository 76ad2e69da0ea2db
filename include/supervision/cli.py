"""`supervision`: the operators' command line.

  supervision demo                      simulate a night (Xuchang + 20 Henan counties: file drops, APIs and
                                        databases, with faults) and run it          (dev tool: supervision_dev)
  supervision simulate --date D         write a simulated night into the drop folder (dev tool: supervision_dev)
  supervision run --date D              run the nightly DAG for a business date through Airflow
  supervision reconcile --date D        exit non-zero unless every received row is loaded or quarantined
  supervision report --date D           the per-county table of a date
  supervision db url|migrate|stop       the warehouse connection URL (psql "$(supervision db url)"), schema, stop
  supervision ui                        the Airflow UI (127.0.0.1:8080) on the same set-up
  supervision settings show|set|reset   the remembered defaults (data/settings.json) every command uses

Registry, drop folder, counties, warehouse: the CLI option, else SUPERVISION_REGISTRY / SUPERVISION_DROP_ROOT /
SUPERVISION_COUNTIES / SUPERVISION_WAREHOUSE_URL, else data/settings.json (written by `supervision demo`), else
the Henan registry, data/drop, every county, the embedded PostgreSQL.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from supervision import resources, settings

COUNTIES_HELP = ("comma-separated county codes, or 'all' (default: $SUPERVISION_COUNTIES, else the counties in "
                 "data/settings.json, else the whole registry)")


def _date(s: str) -> date:
    return date.fromisoformat(s)


def _yesterday() -> date:
    return datetime.now(ZoneInfo(settings.TIMEZONE)).date() - timedelta(days=1)


def _common(p: argparse.ArgumentParser, with_date: bool = True) -> None:
    if with_date:
        p.add_argument("--date", type=_date, default=None, help="business date YYYY-MM-DD (default: yesterday, Asia/Shanghai)")
    p.add_argument("--registry", default=None,
                   help="county registry YAML (default $SUPERVISION_REGISTRY, data/settings.json, else Henan)")
    p.add_argument("--drop-root", default=None,
                   help="drop folder (default $SUPERVISION_DROP_ROOT, data/settings.json, else data/drop)")


def _apply_locations(args) -> None:
    """CLI options win over env vars, and are passed on to Airflow's task processes through the env."""
    if getattr(args, "registry", None):
        os.environ["SUPERVISION_REGISTRY"] = str(Path(args.registry).resolve())
    if getattr(args, "drop_root", None):
        os.environ["SUPERVISION_DROP_ROOT"] = str(Path(args.drop_root).resolve())
    # --counties: the option, else SUPERVISION_COUNTIES / data/settings.json (the demo's counties); "all" = the
    # whole registry. The demo picks its own counties (and records them).
    if hasattr(args, "counties") and getattr(args, "command", None) != "demo":
        if args.counties is None:
            remembered = settings.default_counties()
            args.counties = ",".join(remembered) if remembered else None
        elif args.counties.strip().lower() == "all":
            args.counties = None
            os.environ["SUPERVISION_COUNTIES"] = "all"  # Airflow's task processes: not the remembered ones


def cmd_db(args) -> int:
    from supervision.warehouse import connection
    from supervision.warehouse.migrate import deploy_warehouse

    if args.action == "url":
        if not resources.variables().warehouse_url:
            connection.start_embedded(keep_running=True)
        print(connection.warehouse_url())
    elif args.action == "migrate":
        with connection.connect() as conn:
            applied = deploy_warehouse(conn)
        print("applied: " + (", ".join(applied) if applied else "nothing (schema up to date)"))
    elif args.action == "stop":
        connection.stop_embedded()
        print("embedded PostgreSQL stopped")
    return 0


class PreflightError(Exception):
    """What is wrong before Airflow starts (registry, drop folder): one line for the operator, exit 2."""


def preflight(registry: str | None, drop_root: str | None, counties: list[str] | None = None,
              check_drop: bool = True):
    """Check the registry and the drop folder before starting Airflow: a wrong one fails here in a second, with
    what is wrong, instead of in a task that Airflow would retry. Returns the registry. (On a deployment the
    drop folder is the workers': not checked here.)"""
    from supervision.nightly import check_drop_root
    from supervision.registry import RegistryError, load_registry

    try:
        reg = load_registry(registry)
    except RegistryError as e:
        lines = [x.strip() for x in str(e).splitlines() if x.strip()]
        problems = lines[1:] or lines
        raise PreflightError(f"invalid county registry: {problems[0]}"
                             + (f" (and {len(problems) - 1} more problem(s): {'; '.join(problems[1:])})"
                                if len(problems) > 1 else "") + "; fix the registry, nothing was run") from None
    try:
        if check_drop:
            check_drop_root(drop_root)
    except FileNotFoundError as e:
        raise PreflightError(f"{e}; nothing was run") from None
    unknown = sorted(set(counties or ()) - set(reg.codes))
    if unknown:
        raise PreflightError(f"counties not in registry {reg.path}: {', '.join(unknown)}; nothing was run")
    return reg


def run_through_airflow(day: date, registry: str | None, drop_root: str | None, shard_size: int | None = None,
                        counties: list[str] | None = None, quiet: bool = False, progress: bool = False) -> int:
    """Run the nightly DAG for one business date with `airflow dags test` (in-process, SQLite metadata).

    Returns 0 when the DAG run's state in Airflow's metadata is 'success', else 1. The exit code of `dags test`
    is not used: it is wrong for DAGs with a deadline (apache/airflow#73428, docs stack notes)."""
    from supervision.airflow_env import airflow_env, ensure_metadata_db

    env = airflow_env()
    ensure_metadata_db(env)
    conf = {"business_date": day.isoformat(), "registry": str(Path(registry or settings.registry_path()).resolve()),
            "drop_root": str(Path(drop_root or settings.drop_root()).resolve()), "shard_size": shard_size,
            "counties": counties}
    # A distinct logical date per invocation: re-running a business date is a new Airflow run of the same work.
    logical = datetime.now(ZoneInfo("UTC")).replace(microsecond=0).isoformat()
    # `airflow dags test` with the business date in the run id, task logs where the UI reads them, a run note
    cmd = [sys.executable, "-m", "supervision.airflow_dagtest", "supervision_nightly", logical, "--conf",
           json.dumps(conf)]
    out = subprocess.DEVNULL if quiet else None
    started = datetime.now(ZoneInfo("UTC"))
    with _demo_county_systems(day, conf["registry"], counties):  # the demo's API and database counties, if any
        proc = subprocess.Popen(cmd, env=env, stdout=out)
        watch = _Progress(day, counties, conf["registry"], started) if progress else None
        while proc.poll() is None:
            try:
                proc.wait(timeout=progress_every())
            except subprocess.TimeoutExpired:
                if watch:
                    watch.show()
    state = dag_run_state(logical, env)
    if state != "success":
        print(f"supervision_nightly run {logical} ended {state or 'without a run in Airflow'} "
              f"(`airflow dags test` exit {proc.returncode})", file=sys.stderr)
    return 0 if state == "success" else 1


def progress_every() -> float:
    """Seconds between progress lines of `supervision run`."""
    return resources.variables().progress_every


def dag_run_state(logical: str, env: dict[str, str], dag_id: str = "supervision_nightly") -> str | None:
    """The state of the DAG run with this logical date, from Airflow's metadata database."""
    from supervision.airflow_env import airflow_bin

    res = subprocess.run([airflow_bin(), "dags", "state", dag_id, logical], env=env, capture_output=True, text=True)
    lines = [x.strip() for x in res.stdout.splitlines() if x.strip()]
    state = lines[-1].split(",")[0].strip() if lines else ""
    return None if state in ("", "None") else state


class _Progress:
    """While the Airflow run works: counties done / total, rows so far, the county in progress the longest
    (from the ledger and the per-county locks). A courtesy: never fails the run."""

    def __init__(self, day: date, counties: list[str] | None, registry: str, started: datetime):
        self.day, self.started = day, started
        try:
            from supervision.registry import load_registry

            self.total = len(counties) if counties else len(load_registry(registry).codes)
        except Exception:
            self.total = None

    def show(self) -> None:
        try:
            from supervision.contract import RECORD_TYPES
            from supervision.warehouse.connection import connect
            from supervision.warehouse.locks import in_progress

            with connect() as conn:
                # a county is done when all its record types are in the ledger for this run
                done, files, rows = conn.execute(
                    "SELECT count(*) FILTER (WHERE types >= %s), coalesce(sum(files), 0), coalesce(sum(rows), 0)"
                    " FROM (SELECT county_code, count(DISTINCT record_type) AS types, count(*) AS files,"
                    " sum(rows_received) AS rows FROM ops.submission WHERE business_date = %s"
                    " AND last_processed_at >= %s GROUP BY county_code) c",
                    (len(RECORD_TYPES), self.day, self.started)).fetchone()
                busy = in_progress(conn, "county:")
            busy = [(name.split(":")[1], secs) for name, secs in busy if name.endswith(self.day.isoformat())]
            slow = f"; slowest in progress: {busy[0][0]} ({busy[0][1]:.0f} s)" if busy else ""
            elapsed = (datetime.now(ZoneInfo("UTC")) - self.started).total_seconds()
            print(f"[{elapsed:5.0f} s] counties done {done}/{self.total or '?'}, {files} file(s), {rows} row(s) so far"
                  f"{slow}", flush=True)
        except Exception as e:  # progress is for reading; the run goes on
            print(f"(progress unavailable: {type(e).__name__})", flush=True)


def run_through_scheduler(api, day: date, registry: str | None, drop_root: str | None, shard_size: int | None = None,
                          counties: list[str] | None = None, progress: bool = True) -> int:
    """Trigger the nightly DAG on a deployment (its scheduler and Celery workers) through Airflow's REST API,
    show progress per county while it runs, and return 0 only if the run ended 'success'.

    registry / drop_root are paths on the workers: None leaves the deployment's own (SUPERVISION_REGISTRY ...)."""
    conf = {"business_date": day.isoformat(), "registry": registry, "drop_root": drop_root,
            "shard_size": shard_size, "counties": counties}
    started = datetime.now(ZoneInfo("UTC"))
    # runs are named by business date, like scheduled ones (README, Operations)
    run_id = f"manual__{day.isoformat()}__{started.strftime('%Y%m%dT%H%M%S%f')}"
    if api.dag("supervision_nightly").get("is_paused"):
        print("supervision_nightly is paused on the deployment (a paused DAG's runs never start): unpausing it",
              flush=True)
        api.unpause("supervision_nightly")
    api.trigger("supervision_nightly", conf, run_id=run_id, note="supervision run (CLI)")
    print(f"triggered supervision_nightly run {run_id} on {api.base}", flush=True)
    watch = _Progress(day, counties, registry or settings.registry_path(), started) if progress else None
    state = api.wait("supervision_nightly", run_id, every=progress_every(), on_tick=watch.show if watch else None)
    if state != "success":
        print(f"supervision_nightly run {run_id} ended {state}: see its task logs in the Airflow UI", file=sys.stderr)
    return 0 if state == "success" else 1


def cmd_run(args) -> int:
    from supervision.airflow_api import AirflowApiError, deployment

    day = args.date or _yesterday()
    counties = args.counties.split(",") if args.counties else None
    try:
        api = deployment()
    except AirflowApiError as e:
        print(f"supervision run: {e}", file=sys.stderr)
        return 2
    try:  # on a deployment the workers read the files: the drop folder is theirs, the registry checked if named
        reg = preflight(args.registry, args.drop_root, counties, check_drop=not api) \
            if not api or args.registry else None
    except PreflightError as e:
        print(f"supervision run: {e}", file=sys.stderr)
        return 2
    t = time.perf_counter()
    if api:
        try:
            rc = run_through_scheduler(api, day, str(reg.path) if args.registry else None, args.drop_root,
                                       args.shard_size, counties)
        except AirflowApiError as e:
            print(f"supervision run: the deployment's Airflow API failed: {e}", file=sys.stderr)
            return 1
    else:
        rc = run_through_airflow(day, str(reg.path), args.drop_root, args.shard_size, counties, progress=True)
    try:  # the per-county table from the ledger (the row-level check is summarize's and `supervision reconcile`'s)
        from supervision.reconcile import reconcile, render_report
        from supervision.registry import load_registry

        print(render_report(reconcile(day, counties or (reg or load_registry()).codes, rows=False)))
    except Exception as e:  # the table is a courtesy; the exit code is the run's state
        print(f"(table unavailable: {type(e).__name__}: {e})", file=sys.stderr)
    print(f"airflow run of supervision_nightly for {day} finished in {time.perf_counter() - t:.1f}s: "
          + ("success" if rc == 0 else "FAILED (see the table above and `supervision reconcile --date "
                                      f"{day} --table`)"))
    return rc


def cmd_reconcile(args) -> int:
    from supervision.reconcile import reconcile, render_report
    from supervision.registry import load_registry

    day = args.date or _yesterday()
    reg = load_registry(args.registry)
    report = reconcile(day, reg.codes if not args.counties else args.counties.split(","))
    print(render_report(report) if args.table else json.dumps(report.totals, ensure_ascii=False))
    if not report.ok:
        print("\n".join(report.problems), file=sys.stderr)
    return 0 if report.ok else 1


def cmd_report(args) -> int:
    from supervision.reconcile import reconcile, render_report

    report = reconcile(args.date or _yesterday(), args.counties.split(",") if args.counties else None)
    print(render_report(report))
    return 0


def cmd_ui(args) -> int:
    from supervision.airflow_env import run_ui

    return run_ui(args.host, args.port)


DEV_PACKAGE = "supervision_dev"  # simulator, demo, benchmarks: in the dev environment, not in the wheel or image


def _dev_module(name: str):
    """A module of the dev package, or None where it is not installed (the product wheel, the image). An import
    error inside the dev package itself is raised, not taken for its absence."""
    import importlib

    try:
        return importlib.import_module(f"{DEV_PACKAGE}.{name}")
    except ModuleNotFoundError as e:
        if e.name != DEV_PACKAGE:
            raise
        return None


def _demo_county_systems(day: date, registry: str, counties: list[str] | None):
    """The demo's simulated API and database counties, up again while a run of the demo's registry works
    (supervision_dev.demo.demo_county_systems); nothing without the dev package."""
    demo = _dev_module("demo")
    return demo.demo_county_systems(day, registry, counties) if demo else contextlib.nullcontext()


def _register_dev_commands(sub) -> None:
    """`demo` and `simulate` come from the dev package when it is installed; else they say where to get it."""
    dev = _dev_module("cli")
    if dev:
        dev.register_cli(sub)
        return
    for name in ("demo", "simulate"):
        p = sub.add_parser(name, help="developer tool (the repository's dev environment: make install)")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=_dev_missing)


def _dev_missing(args) -> int:
    print(f"supervision {args.command}: a developer tool (package {DEV_PACKAGE}: simulator, demo, benchmarks), not "
          "part of this installation. In a clone of the repository: `make install`, then `make demo` or "
          f"`.venv/bin/supervision {args.command}`.", file=sys.stderr)
    return 2


def cmd_portal(args) -> int:
    from supervision.portal.run import serve

    serve(args.host, args.port)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="supervision", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("db", help="warehouse: url | migrate | stop")
    p.add_argument("action", choices=["url", "migrate", "stop"])
    p.set_defaults(func=cmd_db)

    p = sub.add_parser("run", help="run the nightly DAG for a business date through Airflow")
    _common(p)
    p.add_argument("--counties", help=COUNTIES_HELP)
    p.add_argument("--shard-size", type=int, default=None,
                   help="counties per mapped task (default: one per county up to 300 tasks, else fewer tasks)")
    p.set_defaults(func=cmd_run)

    for name, func, text in (("reconcile", cmd_reconcile, "check that every received row is loaded or quarantined"),
                             ("report", cmd_report, "per-county table of a business date")):
        p = sub.add_parser(name, help=text)
        _common(p)
        p.add_argument("--counties", help=COUNTIES_HELP)
        if name == "reconcile":
            p.add_argument("--table", action="store_true", help="print the per-county table, not just totals")
        p.set_defaults(func=func)

    p = sub.add_parser("ui", help="start the Airflow UI (API server, scheduler, DAG processor, triggerer)")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--host", default="127.0.0.1",
                   help="address the API server and the log server listen on (default 127.0.0.1: this machine "
                        "only; 0.0.0.0 for every interface)")
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("portal", help="start the supervisors' portal (web, zh-CN) on 127.0.0.1:8000")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000)
    p.set_defaults(func=cmd_portal)
    __import__("supervision.project_settings", fromlist=["register_cli"]).register_cli(sub)  # settings show|set
    __import__("supervision.alerting.cli", fromlist=["register_cli"]).register_cli(sub)  # supervision alerts ...
    __import__("supervision.marts.cli", fromlist=["register_cli"]).register_cli(sub)  # supervisor, marts
    _register_dev_commands(sub)  # demo, simulate

    args = parser.parse_args(argv)
    _apply_locations(args)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        return 130
    except Exception as e:  # operators get one clear line and a hint, not a traceback
        if _debug():
            raise
        print(f"supervision {args.command}: {type(e).__name__}: {e}\n(set SUPERVISION_DEBUG=1 for the traceback)",
              file=sys.stderr)
        return 2


def _debug() -> bool:
    try:
        return resources.variables().debug
    except resources.ConfigurationError:  # the error being reported may be that very variable
        return False


if __name__ == "__main__":
    sys.exit(main())
