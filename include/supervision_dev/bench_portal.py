"""Page times of the portal at province scale (docs/benchmarks.md, "Supervisors' portal (issue 16)").

Run it on the database the mart benchmark keeps (``python -m supervision_dev.bench_marts --keep``: Henan, one
year, 2.33 M records)::

    python -m supervision_dev.bench_portal --url postgresql://postgres@127.0.0.1:5432/supervision_bench_xxxx

It creates a province and a county supervisor login, signs each in by creating its session directly (sign-in
itself is one SCRAM connection, timed separately in the tests' terms: not a page), and times every page through
the real application (FastAPI in-process, the authenticator's SET LOCAL ROLE per request, row-level security
on): one warm-up, then ``--repeat`` requests each; reported: median and slowest, in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import time

import psycopg

PAGES = (
    ("总览 overview", "/?month=2026-11"),
    ("总览 other trend", "/?month=2026-11&kpi=complaint_on_time_rate"),
    ("下钻 drill (children)", "/drill?month=2026-11&kpi=publicity_rate&period=year"),
    ("下钻 drill sorted by value", "/drill?month=2026-11&kpi=publicity_rate&period=month&sort=value&order=desc"),
    ("明细 detail, a county's month", "/detail?division={county}&month=2026-10&kpi=publicity_rate&period=month"),
    ("明细 detail, own division, month", "/detail?month=2026-10&kpi=publicity_rate&period=month"),
    ("明细 detail, page 20", "/detail?month=2026-10&kpi=publicity_rate&period=month&page=20"),
    ("预警 watchlist", "/watch"),
    ("预警 one kind", "/watch?kind=complaint_overdue"),
    ("报送 submissions", "/submissions?month=2026-11"),
    ("月报 report", "/report?month=2026-10"),
    ("月报 .xlsx", "/report.xlsx?month=2026-10"),
)


def run(url: str, province: str, repeat: int) -> dict:
    from fastapi.testclient import TestClient

    from supervision.marts.access import create_supervisor, drop_supervisor
    from supervision.portal.app import COOKIE, create_app
    from supervision.portal.db import Database, Scope, prepare

    auth_url = prepare(url)
    report: dict = {"repeat": repeat, "pages": {}}
    run_id = secrets.token_hex(3)
    with psycopg.connect(url, autocommit=True) as owner:
        county = owner.execute("SELECT min(code) FROM ref.division WHERE level = 'county' AND province_code = %s",
                               (province,)).fetchone()[0]
        logins = {"province": (f"pb{run_id}_province", province), "county": (f"pb{run_id}_county", county)}
        for login, code in logins.values():
            create_supervisor(owner, login, code, password=secrets.token_urlsafe(12))
        report["records"] = owner.execute(
            "SELECT (SELECT count(*) FROM marts.fact_enforcement_case) + (SELECT count(*) FROM marts.fact_complaint)"
            " + (SELECT count(*) FROM marts.fact_reconsideration_case) + (SELECT count(*) FROM "
            "marts.fact_litigation_case)").fetchone()[0]
        report["kpi_value_rows"] = owner.execute("SELECT count(*) FROM marts.kpi_value").fetchone()[0]
        try:
            db = Database(auth_url)
            app = create_app(db)
            with TestClient(app) as client:
                for who, (login, _code) in logins.items():
                    with db.as_role(login) as conn:
                        row = conn.execute("SELECT division_code, level, division_name FROM marts.my_scope()").fetchone()
                    cookie, _ = app.state.sessions.create(Scope(login, *row))
                    client.cookies.set(COOKIE, cookie)
                    for name, path in PAGES:
                        path = path.format(county=county)
                        r = client.get(path)
                        assert r.status_code == 200, (who, path, r.status_code, r.text[:300])
                        times = []
                        for _ in range(repeat):
                            t0 = time.perf_counter()
                            r = client.get(path)
                            times.append((time.perf_counter() - t0) * 1000)
                        report["pages"][f"{who}: {name}"] = {
                            "path": path, "median_ms": round(statistics.median(times), 1),
                            "max_ms": round(max(times), 1), "bytes": len(r.content)}
            db.close()
        finally:
            for login, _ in logins.values():
                drop_supervisor(owner, login)
    return report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m supervision_dev.bench_portal", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", required=True, help="the warehouse (owner) URL, e.g. the mart benchmark's kept database")
    p.add_argument("--province", default="41")
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)
    report = run(args.url, args.province, args.repeat)
    print(json.dumps(report, indent=2, ensure_ascii=False))
    print("\n| page | path | median ms | slowest ms |\n|---|---|---|---|")
    for name, r in report["pages"].items():
        print(f"| {name} | `{r['path']}` | {r['median_ms']} | {r['max_ms']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
