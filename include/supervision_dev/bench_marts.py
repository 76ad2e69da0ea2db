"""Time the marts refresh on a province-year of records (docs/benchmarks.md, "Mart refresh (issue 5)").

Generates, in SQL, one year of core records for every county of a province at the simulator's volumes
(per county and day: 32 enforcement acts on weekdays and 18 at weekends, 6/3 complaints, about 1.3
reconsideration and 0.9 litigation cases; half the records with an older version in history), into a throw-away
database, then times:

1. the first (full) refresh;
2. a nightly refresh: one more day of records plus updates of 5% of the open ones, as-of date moved (facts
   incremental, every KPI recomputed: what runs every morning);
3. a same-day re-run for one county (facts incremental, KPIs of that county and its city and province only);
4. a few supervisor queries as a county and a province supervisor (row-level security on).

    python -m supervision_dev.bench_marts [--province 41] [--days 365] [--admin-url postgresql://...] [--keep]

Takes a few minutes and a few GB on disk; not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from datetime import date, timedelta
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql

from supervision.marts.access import create_supervisor, drop_supervisor
from supervision.marts.pii import PiiKey
from supervision.marts.refresh import refresh_marts
from supervision.warehouse.migrate import deploy_warehouse

LOCAL_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

_COUNTIES = """
    CREATE TEMP TABLE bench_county AS
    SELECT c.code, c.name, coalesce(array_agg(t.code ORDER BY t.code) FILTER (WHERE t.code IS NOT NULL),
                                    ARRAY[]::text[]) AS townships
    FROM ref.division c LEFT JOIN ref.division t ON t.parent_code = c.code AND t.level = 'township'
    WHERE c.level = 'county' AND c.province_code = %(province)s
    GROUP BY c.code, c.name"""

# One row per record; r1..r5 are independent uniform draws.
_DRAWS = """
    SELECT c.code AS county, c.name AS cname, c.townships, d::date AS day, g AS i,
           random() AS r1, random() AS r2, random() AS r3, random() AS r4, random() AS r5
    FROM bench_county c
    CROSS JOIN generate_series(%(start)s::date, %(end)s::date, interval '1 day') d
    CROSS JOIN LATERAL generate_series(1, CASE WHEN extract(isodow FROM d) >= 6 THEN {weekend} ELSE {weekday} END) g
    WHERE random() < {keep}"""

_ENFORCEMENT = """
    INSERT INTO core.enforcement_case (record_id, county_code, updated_at, case_number, township_code, agency_code,
        agency_name, action_type, domain, party_type, party_id, party_name, filed_date, decided_date, closed_date,
        status, fine_amount, confiscated_amount, is_major, legal_review_done, full_process_recorded, publicized_date,
        submission_id, source_row, row_hash)
    SELECT rid, county, day + time '10:00' + make_interval(days => coalesce(decided - day, 0)), 'No.' || rid,
           CASE WHEN r3 < 0.8 AND cardinality(townships) > 0
                THEN townships[1 + floor(r3 / 0.8 * cardinality(townships))::int] END,
           '11' || county || lpad(agency::text, 9, '0') || 'X', cname || '执法部门' || agency, action,
           (ARRAY['market_regulation', 'ecology_environment', 'transport', 'emergency_management', 'agriculture',
                  'culture_tourism', 'urban_management', 'health', 'natural_resources', 'public_security',
                  'other'])[1 + floor(r2 * 11)::int],
           CASE WHEN r2 < 0.6 THEN 'person' ELSE 'organization' END,
           lpad(floor(r4 * 1e17)::bigint::text, 18, '0'), '当事人' || rid,
           day, decided, CASE WHEN decided IS NOT NULL AND r1 < 0.5 THEN decided + 3 END,
           CASE WHEN decided IS NULL THEN 'open' WHEN r1 < 0.5 THEN 'closed' ELSE 'decided' END,
           CASE WHEN action = 'penalty' AND decided IS NOT NULL THEN round((r3 * 5000)::numeric, 2) END,
           CASE WHEN action = 'penalty' AND decided IS NOT NULL THEN 0 END,
           r4 < 0.03, (r4 < 0.03 AND decided IS NOT NULL) OR r5 < 0.5, r1 * 7 - floor(r1 * 7) < 0.9,
           CASE WHEN decided IS NOT NULL AND r2 < 0.9 THEN decided + floor(r2 * 14)::int END,
           1, i, md5(rid)
    FROM (SELECT x.*, 'E' || to_char(day, 'YYYYMMDD') || '-' || county || '-' || i AS rid,
                 1 + floor(r4 * 15)::int AS agency,
                 CASE WHEN r1 < 0.40 THEN 'inspection' WHEN r1 < 0.60 THEN 'penalty' WHEN r1 < 0.78 THEN 'licensing'
                      WHEN r1 < 0.84 THEN 'coercion' WHEN r1 < 0.88 THEN 'levy' WHEN r1 < 0.92 THEN 'payment'
                      WHEN r1 < 0.95 THEN 'confirmation' WHEN r1 < 0.97 THEN 'adjudication' ELSE 'other' END AS action,
                 CASE WHEN r1 >= 0.40 AND r5 < 0.85 THEN least(day + floor(r5 * 30)::int, %(end)s::date) END AS decided
          FROM ({draws}) x) e"""

_RECONSIDERATION = """
    INSERT INTO core.reconsideration_case (record_id, county_code, updated_at, case_number, respondent_agency_code,
        respondent_agency_name, applicant_type, applicant_id, applicant_name, received_date, accepted_date,
        decided_date, procedure, extended, outcome, related_enforcement_id, submission_id, source_row, row_hash)
    SELECT rid, county, day + time '11:00', 'No.' || rid, '11' || county || lpad((1 + floor(r4 * 15))::text, 9, '0') || 'X',
           cname || '执法部门', 'person', lpad(floor(r4 * 1e17)::bigint::text, 18, '0'), '申请人' || rid, day, day + 3,
           CASE WHEN r5 < 0.8 THEN least(day + 3 + floor(r5 * 80)::int, %(end)s::date) END,
           CASE WHEN r2 < 0.2 THEN 'simplified' ELSE 'normal' END, r3 < 0.1,
           CASE WHEN r5 >= 0.8 THEN 'pending' ELSE (ARRAY['upheld', 'rejected', 'revoked', 'altered',
                'confirmed_illegal', 'ordered_performance', 'mediated', 'terminated'])[1 + floor(r1 * 8)::int] END,
           NULL, 1, i, md5(rid)
    FROM (SELECT x.*, 'R' || to_char(day, 'YYYYMMDD') || '-' || county || '-' || i AS rid FROM ({draws}) x) r"""

_LITIGATION = """
    INSERT INTO core.litigation_case (record_id, county_code, updated_at, court_case_number, defendant_agency_code,
        defendant_agency_name, plaintiff_type, plaintiff_id, plaintiff_name, trial_level, filed_date, hearing_date,
        head_appearance_required, head_appeared, judgment_date, outcome, related_reconsideration_id,
        related_enforcement_id, judicial_suggestion, suggestion_replied_date, submission_id, source_row, row_hash)
    SELECT rid, county, day + time '12:00', '（2026）豫' || substr(county, 3) || '行初' || i || '号',
           '11' || county || lpad((1 + floor(r4 * 15))::text, 9, '0') || 'X', cname || '执法部门',
           CASE WHEN r2 < 0.7 THEN 'person' ELSE 'organization' END, lpad(floor(r4 * 1e17)::bigint::text, 18, '0'),
           '原告' || rid, 'first', day, CASE WHEN r5 < 0.8 THEN least(day + 40, %(end)s::date) END, r3 < 0.3,
           r1 < 0.5, judgment, CASE WHEN judgment IS NULL THEN 'pending' WHEN r2 < 0.1 THEN 'lost'
                                    WHEN r2 < 0.6 THEN 'won' ELSE 'withdrawn' END,
           NULL, NULL, r4 < 0.05, CASE WHEN r4 < 0.05 AND r3 < 0.7 AND judgment IS NOT NULL THEN judgment + 30 END,
           1, i, md5(rid)
    FROM (SELECT x.*, 'L' || to_char(day, 'YYYYMMDD') || '-' || county || '-' || i AS rid,
                 CASE WHEN r5 < 0.6 THEN least(day + 90, %(end)s::date) END AS judgment FROM ({draws}) x) l"""

_COMPLAINT = """
    INSERT INTO core.complaint (record_id, county_code, updated_at, township_code, target_agency_code, channel,
        complainant_name, complainant_id, received_date, handled_date, result, replied, summary, submission_id,
        source_row, row_hash)
    SELECT rid, county, day + time '09:00',
           CASE WHEN r3 < 0.7 AND cardinality(townships) > 0
                THEN townships[1 + floor(r3 / 0.7 * cardinality(townships))::int] END,
           '11' || county || lpad((1 + floor(r4 * 15))::text, 9, '0') || 'X',
           (ARRAY['hotline_12345', 'online', 'letter', 'visit', 'other'])[1 + floor(r2 * 5)::int],
           '投诉人' || rid, lpad(floor(r4 * 1e17)::bigint::text, 18, '0'), day,
           CASE WHEN r5 < 0.9 THEN least(day + floor(r5 * 75)::int, %(end)s::date) END,
           CASE WHEN r5 < 0.9 THEN 'substantiated' ELSE 'pending' END, r5 < 0.9, '反映' || rid, 1, i, md5(rid)
    FROM (SELECT x.*, 'C' || to_char(day, 'YYYYMMDD') || '-' || county || '-' || i AS rid FROM ({draws}) x) c"""

TABLES = ("enforcement_case", "reconsideration_case", "litigation_case", "complaint")
VOLUMES = {"enforcement_case": (_ENFORCEMENT, 32, 18, 1.0), "reconsideration_case": (_RECONSIDERATION, 2, 2, 0.65),
           "litigation_case": (_LITIGATION, 1, 1, 0.9), "complaint": (_COMPLAINT, 6, 3, 1.0)}


def _generate(conn, start: date, end: date) -> dict[str, int]:
    counts = {}
    for table, (template, weekday, weekend, keep) in VOLUMES.items():
        draws = _DRAWS.format(weekday=weekday, weekend=weekend, keep=keep)
        counts[table] = conn.execute(template.format(draws=draws), {"start": start, "end": end}).rowcount
    return counts


def _history(conn, since) -> None:
    """Half the records get an older version (re-sent rows): into ``core.<table>_superseded`` (V400: the
    current version is the core row itself; ``core.<table>_history`` is the view of both)."""
    for table in TABLES:
        core, sup = sql.Identifier("core", table), sql.Identifier("core", table + "_superseded")
        cols = [r[0] for r in conn.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum", (f"core.{table}",))]
        older = {"updated_at": sql.SQL("updated_at - interval '2 days'"), "row_hash": sql.SQL("md5(row_hash)")}
        conn.execute(sql.SQL("INSERT INTO {} SELECT {} FROM {} WHERE loaded_at >= %s "
                             "AND right(record_id, 1) IN ('0', '2', '4', '6', '8') ON CONFLICT DO NOTHING").format(
            sup, sql.SQL(", ").join(older.get(c, sql.Identifier(c)) for c in cols), core), (since,))


def _supersede(conn, table: str, where: str, params) -> None:
    """Before a benchmark UPDATE replaces current rows: keep their version in ``_superseded`` (as the loader
    does)."""
    conn.execute(sql.SQL("INSERT INTO {} SELECT * FROM {} WHERE {} ON CONFLICT DO NOTHING").format(
        sql.Identifier("core", table + "_superseded"), sql.Identifier("core", table), sql.SQL(where)), params)


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, round(time.perf_counter() - t, 2)


def run(url: str, province: str, days: int, key: PiiKey) -> dict:
    report: dict = {"province": province, "days": days}
    end = date(2026, 11, 22)
    start = end - timedelta(days=days - 1)
    with psycopg.connect(url, autocommit=True) as conn:
        deploy_warehouse(conn)
        conn.execute("INSERT INTO ops.submission (county_code, record_type, business_date, source_kind, status) "
                     "VALUES ('000000', 'benchmark', %s, 'file_drop', 'loaded')", (end,))
        conn.execute(_COUNTIES, {"province": province})
        report["counties"] = conn.execute("SELECT count(*) FROM bench_county").fetchone()[0]
        t0 = conn.execute("SELECT now()").fetchone()[0]
        with conn.transaction():
            report["rows"], report["generate_seconds"] = _timed(lambda: _generate(conn, start, end))
            _history(conn, t0)
        report["history_rows"] = sum(conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier("core", t + "_history"))).fetchone()[0] for t in TABLES)
        conn.execute("VACUUM ANALYZE")

        r, report["full_refresh_seconds"] = _timed(lambda: refresh_marts(conn, key=key, as_of=end + timedelta(1),
                                                                         migrate=False, full=True))
        report["full_refresh"] = r.to_dict()

        # The next night: a day of new records, 5% of the open enforcement acts decided, as-of date moves on.
        t1 = conn.execute("SELECT now()").fetchone()[0]
        with conn.transaction():
            nxt = end + timedelta(1)
            report["night_rows"] = _generate(conn, nxt, nxt)
            # about 1 in 20 open acts decided (deterministic, so their current version can be superseded first)
            decided = "status = 'open' AND action_type <> 'inspection' AND hashtext(record_id) %% 20 = 0"
            _supersede(conn, "enforcement_case", decided, ())
            conn.execute(sql.SQL("UPDATE core.enforcement_case SET status = 'decided', decided_date = %s, "
                                 "updated_at = updated_at + interval '1 day', row_hash = md5(row_hash), "
                                 "loaded_at = now() WHERE {}").format(sql.SQL(decided)), (nxt,))
            _history(conn, t1)
        r, report["nightly_refresh_seconds"] = _timed(lambda: refresh_marts(conn, key=key, as_of=nxt + timedelta(1),
                                                                            migrate=False))
        report["nightly_refresh"] = r.to_dict()

        # A same-day re-run for one county.
        county = conn.execute("SELECT min(code) FROM bench_county").fetchone()[0]
        _supersede(conn, "complaint", "county_code = %s AND handled_date IS NULL", (county,))
        conn.execute("UPDATE core.complaint SET handled_date = received_date + 10, updated_at = updated_at + "
                     "interval '1 hour', row_hash = md5(row_hash), loaded_at = now() WHERE county_code = %s "
                     "AND handled_date IS NULL", (county,))
        r, report["one_county_refresh_seconds"] = _timed(lambda: refresh_marts(conn, key=key, as_of=nxt + timedelta(1),
                                                                               migrate=False))
        report["one_county_refresh"] = r.to_dict()
        report["kpi_value_rows"] = conn.execute("SELECT count(*) FROM marts.kpi_value").fetchone()[0]
        report["marts_size"] = conn.execute(
            "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'marts' AND c.relkind = 'r'").fetchone()[0]
        report["queries"] = _queries(conn, url, province, county)
        report["server"] = conn.execute("SHOW server_version").fetchone()[0]
    return report


QUERIES = {
    "kpi_one_division_month": "SELECT value FROM marts.kpi WHERE division_code = %(d)s AND period_type = 'month' "
                              "AND period_start = '2026-10-01' AND kpi = 'complaint_on_time_rate'",
    "kpi_all_counties_year": "SELECT division_code, value FROM marts.kpi WHERE level = 'county' AND "
                             "period_type = 'year' AND period_start = '2026-01-01' AND kpi = 'publicity_rate'",
    "watchlist_count": "SELECT kind, count(*) FROM marts.watchlist GROUP BY 1",
    "drill_down_month": "SELECT count(*) FROM marts.kpi_case WHERE kpi = 'publicity_rate' AND county_code = %(c)s "
                        "AND period_date >= '2026-10-01' AND period_date < '2026-11-01'",
}


def _queries(conn, url: str, province: str, county: str) -> dict:
    out = {}
    run_id = secrets.token_hex(3)
    logins = {"county": (f"bench{run_id}_county", county), "province": (f"bench{run_id}_province", province)}
    for login, code in logins.values():
        create_supervisor(conn, login, code)
    try:
        for who, (login, code) in logins.items():
            parts = urlsplit(url)
            with psycopg.connect(urlunsplit(parts._replace(netloc=login + "@" + parts.netloc.rsplit("@", 1)[-1])),
                                 autocommit=True) as sup:
                for name, q in QUERIES.items():
                    _, secs = _timed(lambda q=q, code=code: sup.execute(q, {"d": code, "c": county}).fetchall())
                    out[f"{who}:{name}"] = secs
    finally:
        for login, _ in logins.values():
            drop_supervisor(conn, login)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m supervision_dev.bench_marts", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--province", default="41")
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--admin-url", default=LOCAL_ADMIN, help="a server where a throw-away database can be created")
    p.add_argument("--keep", action="store_true", help="keep the benchmark database")
    args = p.parse_args(argv)
    name = f"supervision_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = urlunsplit(urlsplit(args.admin_url)._replace(path="/" + name))
    try:
        report = run(url, args.province, args.days, PiiKey(secrets.token_hex(32).encode(), "benchmark"))
        print(json.dumps(report, indent=2, default=str, ensure_ascii=False))
    finally:
        if not args.keep:
            with psycopg.connect(args.admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        else:
            print(f"kept {url}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
