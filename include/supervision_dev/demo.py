"""The demo (``make demo``): Xuchang's counties and 20 more of Henan simulated, file drops, APIs and databases with
faults, then the real nightly DAG through Airflow, the results, the portal's marts and demo logins. Also
``simulate`` (a simulated night into the drop folder) and the county systems a later ``supervision run`` of the
demo's registry brings up again (``demo_county_systems``, called by ``supervision.cli.run_through_airflow``)."""

from __future__ import annotations

import contextlib
import json
import os
import time
from datetime import date, timedelta
from pathlib import Path

from supervision import resources, settings
from supervision.cli import _yesterday, run_through_airflow

XUCHANG = "4110"
DEMO_REGISTRY = settings.INCLUDE_DATA / "registries" / "henan-mixed.yaml"  # file-drop, API and database counties


def cmd_simulate(args) -> int:
    from supervision.registry import load_registry
    from supervision_dev.simulator import FaultProfile, simulate_night

    reg = load_registry(args.registry)
    day = args.date or _yesterday()
    drop = Path(args.drop_root or settings.drop_root())
    counties = args.counties.split(",") if args.counties else None
    codes = counties or reg.codes
    faults = FaultProfile.default(codes, args.seed) if args.faults == "default" else FaultProfile.none()
    t = time.perf_counter()
    report = simulate_night(reg, day, drop, seed=args.seed, faults=faults, counties=counties, scale=args.scale)
    print(f"simulated {day} for {len(codes)} counties into {drop} in {time.perf_counter() - t:.1f}s"
          f" ({_sim_summary(report)})")
    return 0


def _sim_summary(report) -> str:
    try:
        doc = json.loads(report.to_json())
        rows = sum(f.get("rows", 0) or 0 for c in doc["counties"].values() for f in c.get("files", {}).values())
        faults = {c: v["fault"] for c, v in doc["counties"].items() if v.get("fault")}
        return f"{rows} rows; faults: " + (", ".join(f"{c}={f}" for c, f in sorted(faults.items())) or "none")
    except Exception:  # the summary is a courtesy; never fail the simulation over it
        return "see _simulation/ for details"


def demo_counties(registry, extra: int = 20) -> list[str]:
    """Xuchang city's counties plus `extra` other Henan counties spread over the other cities."""
    xuchang = [c.code for c in registry.counties if c.city_code == XUCHANG]
    others = [c.code for c in registry.counties if c.city_code != XUCHANG]
    step = max(1, len(others) // extra)
    return xuchang + others[::step][:extra]


def remember_demo(registry: Path, drop: Path, codes: list[str], day: date, seed: int) -> Path:
    """What the demo used becomes every later command's default (data/settings.json)."""
    from urllib.parse import urlsplit

    from supervision import project_settings

    url = resources.variables().warehouse_url
    keep_url = url if url and not urlsplit(url).password else None  # a password stays in the environment
    systems = {"root": str(settings.data_dir() / "county_systems"), "seed": seed,
               "registry": str(Path(registry).resolve())}
    return project_settings.save(registry=str(Path(registry).resolve()), drop_root=str(drop), counties=codes,
                                 demo_date=day.isoformat(), warehouse_url=keep_url, demo_county_systems=systems)


@contextlib.contextmanager
def demo_county_systems(day: date, registry: str, counties: list[str] | None):
    """While a run of the demo's registry works, its simulated API and database counties are up again (they
    lived in the demo's process): databases as the demo left them, the APIs serving the night's records again,
    no faults (the counties fixed their systems). Nothing happens for any other registry, or inside the demo."""
    from supervision import project_settings

    spec = project_settings.get("demo_county_systems")
    if not spec or Path(spec.get("registry", "")).resolve() != Path(registry).resolve():
        yield
        return
    from supervision.registry import load_registry
    from supervision_dev.simulator import CountySystems

    reg = load_registry(registry)
    pulls = [c.code for c in reg.counties if c.transport != "file_drop" and (not counties or c.code in counties)]
    if not pulls or all(os.environ.get(k) for k in _conn_envs(reg, pulls)):
        yield  # nothing to serve, or the systems are up already (the demo's own run)
        return
    with CountySystems(reg, Path(spec["root"]), seed=int(spec.get("seed", 20261122)), counties=pulls) as systems:
        systems.clear_faults()
        systems.simulate_night(day)
        saved = {k: os.environ.get(k) for k in systems.env()}
        os.environ.update(systems.env())
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def _conn_envs(reg, codes: list[str]) -> list[str]:
    from supervision.sources.common import connection_env

    return [connection_env(conn_id) for code in codes if (conn_id := getattr(reg.county(code).source, "conn_id", None))]


def cmd_demo(args) -> int:
    from supervision.alerting.monitor import latest_finished_night
    from supervision.reconcile import reconcile, render_report
    from supervision.registry import load_registry
    from supervision.warehouse import connection
    from supervision.warehouse.migrate import deploy_warehouse
    from supervision_dev.simulator import CountySystems, FaultProfile, SourceFaultProfile, simulate_night

    started = time.perf_counter()
    reg = load_registry(args.registry or DEMO_REGISTRY)
    codes = demo_counties(reg)
    day = args.date or latest_finished_night(reg, codes)  # yesterday, once its morning is over (Asia/Shanghai)
    drop = Path(args.drop_root or settings.drop_root()).resolve()
    print(f"defaults for every later command (registry, drop folder, counties, warehouse) saved in "
          f"{remember_demo(reg.path, drop, codes, day, args.seed)} (supervision settings show | reset)")
    files = [c for c in codes if reg.county(c).transport == "file_drop"]
    pulls = [c for c in codes if c not in files]
    print(f"[1/5] simulating {day} for {len(codes)} counties (Xuchang's 7 + {len(codes) - 7} more): {len(files)} drop "
          f"files into {drop}")
    simulate_night(reg, day, drop, seed=args.seed, faults=FaultProfile.default(files, args.seed), counties=files)
    # API and database counties: their systems run in this process for the whole Airflow run (docs/sources.md).
    with CountySystems(reg, settings.data_dir() / "county_systems", seed=args.seed, counties=pulls) as systems:
        systems.reset()
        faults = SourceFaultProfile.default(reg, pulls, args.seed)
        systems.simulate_night(day, faults=faults)
        os.environ.update(systems.env())  # the counties' Airflow connections (tokens, database URLs), this run only
        apis = sum(reg.county(c).transport == "http_api" for c in pulls)
        print(f"[2/5] county systems up: {apis} APIs on {systems.api.base_url}, {len(pulls) - apis} SQLite databases "
              f"under {systems.root / 'db'}; faults: "
              + (", ".join(f"{c}={f}" for c, f in faults.to_dict().items()) or "none"))
        url = (connection.start_embedded(keep_running=True) if not resources.variables().warehouse_url
               else connection.warehouse_url())
        with connection.connect(url) as conn:  # the demo's deploy step, as `supervision db migrate` is a stack's
            applied = deploy_warehouse(conn)
        print(f"[3/5] warehouse {connection.redacted(url)}: schema deployed "
              f"({len(applied)} migration(s) applied, supervision db migrate)")
        print("[4/5] running the nightly DAG through Airflow (airflow dags test supervision_nightly) ...")
        rc = run_through_airflow(day, str(reg.path), str(drop), counties=codes, quiet=not args.verbose)
    report = reconcile(day, codes)
    print("[5/5] results\n" + render_report(report))
    from supervision.alerting.cli import morning_after_report

    print(morning_after_report(day, reg, codes, drop))
    print(f"\nDemo finished in {time.perf_counter() - started:.0f}s (Airflow run exit code {rc}).")
    print("Where to look next:\n"  # noqa: S608 - text for the operator, not a query we run
          "  psql \"$(.venv/bin/supervision db url)\"   then e.g.\n"
          "    SELECT county_code, record_type, status, rows_received, rows_loaded, rows_quarantined, reason\n"
          f"      FROM ops.submission_current WHERE business_date = '{day}' ORDER BY 1, 2;\n"
          f"    SELECT county_code, source_file, row_number, failed_rules, messages[1] FROM ops.quarantine\n"
          f"      WHERE business_date = '{day}' ORDER BY 1, 2, 3;\n"
          f"  Great Expectations Data Docs: {settings.data_dir() / 'gx/uncommitted/data_docs/local_site/index.html'}\n"
          f"  raw landed Parquet: {settings.lake_root() / 'raw'}\n"
          "  Airflow UI: make ui   (then open supervision_nightly)")
    portal_demo(day, reg, codes, drop)
    return 0 if (rc == 0 and report.ok) else 1


DEMO_LOGINS = (("demo_henan", "41"), ("demo_xuchang", "4110"), ("demo_weidu", "411002"), ("demo_weidu_xdj", "411002001"))


def portal_demo(day: date, reg, codes: list[str], drop: Path) -> None:
    """The end of the demo (issue 16): submissions judged (the 报送 page), marts refreshed, targets loaded, demo
    supervisor logins, how to start the portal."""
    from supervision.alerting.monitor import judge_step
    from supervision.marts.access import create_supervisor, drop_supervisor, generate_password
    from supervision.marts.refresh import refresh_marts
    from supervision.targets import load_targets
    from supervision.warehouse.connection import connect

    # the alerting monitor's verdicts as of 09:00 the next morning (Asia/Shanghai); it judges, sends nothing
    judged = judge_step(f"{day + timedelta(days=1)}T09:00:00+08:00", reg, codes, drop)
    print(f"\nsubmissions judged for the portal's 报送 page: {json.dumps(judged, default=str)[:200]}")
    with connect(autocommit=True) as conn:
        result = refresh_marts(conn, as_of=day + timedelta(days=1))
        load_targets(conn)
        print("\n" + result.summary())
        print("Demo supervisor logins (passwords shown once; each sees its own division and below):")
        for login, division in DEMO_LOGINS:
            if conn.execute("SELECT 1 FROM marts.supervisor_scope WHERE role_name = %s", (login,)).fetchone():
                drop_supervisor(conn, login)
            password = generate_password()
            s = create_supervisor(conn, login, division, password=password, person="demo")
            print(f"  {s.division_name or division:<12} {s.level:<8} login {login:<16} password {password}")
    print("Supervisors' portal: make portal   (then open http://127.0.0.1:8000/ and sign in with a login above)")


