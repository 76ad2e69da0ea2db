"""Refresh of the supervisor marts after a nightly load (the ``supervision_marts`` DAG, or
``supervision marts refresh``).

One REPEATABLE READ transaction, so supervisors see either the previous marts or the new ones, never a mix.

**Incremental (every night).** Only what changed is touched:

1. *candidates*: the ``core`` rows loaded since the previous refresh's watermark whose content differs from
   the fact (new or changed records), plus the enforcement records whose quarantined legal-review violation
   appeared, changed or went away;
2. their *old* contributions to the measures (``marts.kpi_contribution_<type>``, read before anything moves)
   are subtracted, the facts (pseudonymized) and the violations are replaced, and their *new* contributions
   added; history gets the new versions;
3. *as-of window*: a deadline measure counts a record once its deadline has passed; when the as-of date moves
   from A to B, the records still open whose deadline lies between A and B are recounted the same way
   (subtract under A, add under B);
4. the summed differences are applied to ``marts.kpi_value`` at every level (township, county, city,
   province) and period (day, month, year); a row whose last contribution went away is deleted. Agencies are
   rebuilt for the counties concerned.

Because every figure is a sum, adding the differences gives exactly what a full recomputation would (a test
compares them after many incremental runs); a negative contribution count would betray an inconsistency, and
the refresh then recomputes all figures.

**Full** (first run, ``full=True``, a new PII key, a changed calendar or division edition): facts and history
rebuilt, every figure recomputed from ``marts.kpi_contribution`` (days first, then months and years, counties,
cities, provinces: each level the sum of the one below).

Watermark: the refresh's snapshot time, moved back to the start of the oldest transaction still open at that
moment (a load that commits later carries an older ``loaded_at``), so no row is skipped; rows seen twice are
harmless (unchanged content is not a candidate).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from supervision import calendar, settings
from supervision.contract import RECORD_TYPES, USCC, RecordType
from supervision.marts import kpis
from supervision.marts.model import (
    column_list,
    fact_columns,
    fact_history_table,
    fact_table,
    has_township,
    select_list,
)
from supervision.marts.pii import PiiKey, load_key

log = logging.getLogger(__name__)

LOCK_KEY = 0x5355_5056_4D41_5254  # "SUPVMART": one refresh at a time
WORK_MEM = "512MB"  # the full recomputation aggregates ~10 million contributions per province-year
M = "marts"
LEGAL_REVIEW_RULE_KIND = "major_needs_review"


@dataclass
class RefreshResult:
    mode: str  # full | incremental (facts)
    reason: str
    as_of_date: date
    kpi_scope: str  # all | <n> counties | none
    counties: int
    facts_changed: int
    history_added: int
    kpi_rows: int
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["as_of_date"] = self.as_of_date.isoformat()
        return d

    def summary(self) -> str:
        return (f"marts refreshed ({self.mode}: {self.reason}) as of {self.as_of_date} in {self.seconds:.1f}s: "
                f"{self.facts_changed} fact rows changed, {self.history_added} versions added, KPIs for "
                f"{self.kpi_scope} ({self.kpi_rows} rows)")


def today() -> date:
    return datetime.now(ZoneInfo(settings.TIMEZONE)).date()


def agency_fields(rt: RecordType) -> list[tuple[str, str | None]]:
    """(code field, name field or None) of each agency the record type names (USCC fields ``*agency_code``)."""
    out = []
    for f in rt.fields_of_type(USCC):
        if f.name.endswith("agency_code"):
            name = f.name[: -len("code")] + "name"
            out.append((f.name, name if name in rt.field_names else None))
    return out


def legal_review_rule() -> str:
    rt = RECORD_TYPES["enforcement_cases"]
    return next(r.id for r in rt.rules if r.kind == LEGAL_REVIEW_RULE_KIND)


class _Steps:
    def __init__(self):
        self.times: dict[str, float] = {}
        self._t = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name] = round(now - self._t, 3)
        self._t = now


def refresh_marts(conn: psycopg.Connection | None = None, *, full: bool = False, as_of: date | None = None,
                  key: PiiKey | None = None, migrate: bool = False) -> RefreshResult:
    """Refresh the marts (see the module docstring). Opens its own connection unless given one."""
    if conn is None:
        from supervision.warehouse.connection import connect

        with connect(autocommit=True) as own:
            return refresh_marts(own, full=full, as_of=as_of, key=key, migrate=migrate)
    if not conn.autocommit:
        raise ValueError("refresh_marts needs an autocommit connection (it runs its own transaction)")
    key = key or load_key()
    as_of = as_of or today()
    from supervision.warehouse.migrate import deploy_warehouse, require_current_schema

    if migrate:  # development only: migrations are a deploy step (supervision db migrate)
        deploy_warehouse(conn)
    else:
        require_current_schema(conn)
    started = time.perf_counter()
    started_at = conn.execute("SELECT clock_timestamp()").fetchone()[0]
    conn.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        with conn.transaction():
            result = _refresh(conn, full, as_of, key, started, started_at)
    finally:
        conn.isolation_level = None
        conn.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
    log.info(result.summary())
    return result


def _refresh(conn, full, as_of, key, started, started_at) -> RefreshResult:
    steps = _Steps()
    # First statement: takes the snapshot. Rows of transactions open now get loaded_at >= their start.
    watermark = conn.execute(
        "SELECT least(statement_timestamp(), (SELECT min(xact_start) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL))").fetchone()[0]
    last = conn.execute(
        "SELECT watermark, pii_key_fingerprint, calendar_fingerprint, division_edition, as_of_date "
        "FROM ops.marts_refresh ORDER BY refresh_id DESC LIMIT 1").fetchone()
    conn.execute("SELECT set_config('work_mem', %s, true), set_config('jit', 'off', true)", (WORK_MEM,))

    cal_rows = calendar.dim_date_rows()
    cal_fp = calendar.fingerprint(cal_rows)
    calendar_changed = last is None or last[2] != cal_fp or not _has_rows(conn, "dim_date")
    if calendar_changed:
        _load_dim_date(conn, cal_rows)
    edition = conn.execute("SELECT min(edition) FROM ref.division").fetchone()[0]
    divisions_changed = last is None or last[3] != edition or not _has_rows(conn, "dim_division")
    if divisions_changed:
        _load_dim_division(conn)
    _load_kpi_definitions(conn)
    steps.done("dimensions")

    if full:
        mode, reason = "full", "requested"
    elif last is None:
        mode, reason = "full", "first refresh"
    elif last[1] != key.fingerprint:
        mode, reason = "full", "the PII key changed"
    elif calendar_changed:
        mode, reason = "full", "the working-day calendar changed"
    elif divisions_changed:
        mode, reason = "full", "the division reference changed"
    else:
        mode, reason = "incremental", f"rows loaded since {last[0].isoformat()}"

    if mode == "full":
        facts_changed = history_added = 0
        for rt in RECORD_TYPES.values():
            facts_changed += _rebuild_facts(conn, rt, key)
            history_added += _load_history(conn, rt, None, key)
        conn.execute("DELETE FROM marts.fact_legal_review_violation")
        conn.execute(_VIOLATIONS_INSERT.format(target="marts.fact_legal_review_violation"), _violation_params())
        steps.done("facts")
        _load_agencies(conn, None)
        steps.done("agencies")
        _set_state(conn, as_of, mode)
        kpi_rows = _load_kpis(conn)
        kpi_scope = "all"
        counties = conn.execute("SELECT count(DISTINCT county_code) FROM marts.kpi_value "
                                "WHERE level = 'county'").fetchone()[0]
        steps.done("kpis")
        for t in [fact_table(rt) for rt in RECORD_TYPES.values()] + ["kpi_value", "dim_agency"]:
            conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(M, t)))
        steps.done("analyze")
        since = None
    else:
        since = last[0]
        old_as_of = conn.execute("SELECT as_of_date FROM marts.refresh_state").fetchone()[0]
        counties_touched = _candidates(conn, since)
        _window(conn, old_as_of, as_of)
        steps.done("candidates")
        conn.execute("CREATE TEMP TABLE _delta (kpi text, county_code text, township_code text, day date, "
                     "numerator numeric, denominator numeric, records bigint) ON COMMIT DROP")
        _contributions(conn, "_cand", -1)
        _contributions(conn, "_win", -1)
        facts_changed = 0
        for rt in RECORD_TYPES.values():
            facts_changed += _upsert_facts(conn, rt, key)
        history_added = sum(_load_history(conn, rt, since, key) for rt in RECORD_TYPES.values())
        conn.execute("DELETE FROM marts.fact_legal_review_violation")
        conn.execute("INSERT INTO marts.fact_legal_review_violation SELECT * FROM _viol_new")
        _set_state(conn, as_of, mode)
        _contributions(conn, "_win", +1)
        _contributions(conn, "_cand", +1)
        steps.done("facts")
        _load_agencies(conn, sorted(counties_touched))
        steps.done("agencies")
        kpi_rows, consistent = _apply_delta(conn)
        kpi_scope = f"{kpi_rows} rows adjusted"
        if not consistent:
            log.warning("marts.kpi_value disagreed with the contributions (a negative count): recomputing all figures")
            kpi_rows, kpi_scope = _load_kpis(conn), "all (recomputed after an inconsistency)"
        counties = len(counties_touched)
        steps.done("kpis")

    _load_watchlist(conn)
    steps.done("watchlist")
    seconds = round(time.perf_counter() - started, 3)
    result = RefreshResult(mode, reason, as_of, kpi_scope, counties, facts_changed, history_added, kpi_rows,
                           seconds, steps.times)
    conn.execute(
        "INSERT INTO ops.marts_refresh (started_at, finished_at, mode, reason, as_of_date, since, watermark, counties, "
        "facts_changed, history_added, kpi_rows, seconds, pii_key_fingerprint, calendar_fingerprint, "
        "division_edition, steps) VALUES (%s, clock_timestamp(), %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, "
        "%s, %s)",
        (started_at, mode, reason, as_of, since, watermark, counties, facts_changed, history_added, kpi_rows,
         seconds, key.fingerprint, cal_fp, edition, json.dumps({"kpi_scope": kpi_scope, **steps.times})))
    return result


def _load_watchlist(conn) -> None:
    """marts.watchlist_item (V503): the watchlist as of this refresh, so that the portal lists it by days overdue
    without computing its five views again; DELETE, not TRUNCATE, so that readers are not locked out meanwhile."""
    conn.execute("DELETE FROM marts.watchlist_item")
    conn.execute("INSERT INTO marts.watchlist_item SELECT * FROM marts.watchlist")


def _set_state(conn, as_of: date, mode: str) -> None:
    conn.execute("UPDATE marts.refresh_state SET as_of_date = %s, refreshed_at = now(), mode = %s", (as_of, mode))


def _has_rows(conn, table: str) -> bool:
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(sql.Identifier(M, table))).fetchone()[0]


def _load_dim_date(conn, rows: list[tuple]) -> None:
    conn.execute("DELETE FROM marts.dim_date")
    cols = sql.SQL(", ").join(map(sql.Identifier, calendar.DIM_DATE_COLUMNS))
    with conn.cursor().copy(sql.SQL("COPY marts.dim_date ({}) FROM STDIN").format(cols)) as copy:
        for r in rows:
            copy.write_row(r)


def _load_dim_division(conn) -> None:
    conn.execute("DELETE FROM marts.dim_division")
    conn.execute("""
        INSERT INTO marts.dim_division (division_code, level, name, full_name, parent_code, township_code,
            township_name, county_code, county_name, city_code, city_name, province_code, province_name,
            is_unassigned, edition)
        SELECT d.code, d.level, d.name,
               concat_ws(' / ', p.name, c.name, k.name, CASE WHEN d.level = 'township' THEN d.name END),
               d.parent_code,
               CASE WHEN d.level = 'township' THEN d.code END, CASE WHEN d.level = 'township' THEN d.name END,
               d.county_code, k.name, d.city_code, c.name, d.province_code, p.name, false, d.edition
        FROM ref.division d
        LEFT JOIN ref.division p ON p.code = d.province_code
        LEFT JOIN ref.division c ON c.code = d.city_code
        LEFT JOIN ref.division k ON k.code = d.county_code
        UNION ALL
        SELECT k.code || '999', 'township', '（未指定乡镇）', concat_ws(' / ', p.name, c.name, k.name, '（未指定乡镇）'),
               k.code, k.code || '999', '（未指定乡镇）', k.code, k.name, k.city_code, c.name, k.province_code, p.name,
               true, k.edition
        FROM ref.division k
        LEFT JOIN ref.division p ON p.code = k.province_code
        LEFT JOIN ref.division c ON c.code = k.city_code
        WHERE k.level = 'county'""")


def _rebuild_facts(conn, rt: RecordType, key: PiiKey) -> int:
    target = sql.Identifier(M, fact_table(rt))
    conn.execute(sql.SQL("TRUNCATE {}").format(target))
    return conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} c ORDER BY c.county_code, c.record_id").format(
        target, column_list(rt), select_list(rt, "c"), sql.Identifier("core", rt.table)), key.params).rowcount


def _candidates(conn, since: datetime) -> set[str]:
    """Fill _cand (record_type, county_code, record_id): records loaded since the watermark whose content differs
    from the fact, and enforcement records whose legal-review violation changed (_viol_new: the new set).
    Returns the counties of changed facts."""
    conn.execute("CREATE TEMP TABLE _cand (record_type text, county_code char(6), record_id varchar(64)) "
                 "ON COMMIT DROP")
    for rt in RECORD_TYPES.values():
        conn.execute(sql.SQL(
            "INSERT INTO _cand SELECT {rt}, c.county_code, c.record_id FROM {core} c "
            "LEFT JOIN {fact} f ON f.county_code = c.county_code AND f.record_id = c.record_id "
            "WHERE c.loaded_at >= %(since)s AND f.row_hash IS DISTINCT FROM c.row_hash").format(
            rt=sql.Literal(rt.name), core=sql.Identifier("core", rt.table), fact=sql.Identifier(M, fact_table(rt))),
            {"since": since})
    counties = {r[0] for r in conn.execute("SELECT DISTINCT county_code::text FROM _cand")}
    conn.execute("CREATE TEMP TABLE _viol_new (LIKE marts.fact_legal_review_violation) ON COMMIT DROP")
    conn.execute(_VIOLATIONS_INSERT.format(target="_viol_new"), _violation_params())
    conn.execute("""
        INSERT INTO _cand
        SELECT 'enforcement_cases', county_code, record_id FROM (
            (SELECT county_code, record_id, decided_date, township_key FROM marts.fact_legal_review_violation
             EXCEPT SELECT county_code, record_id, decided_date, township_key FROM _viol_new)
            UNION
            (SELECT county_code, record_id, decided_date, township_key FROM _viol_new
             EXCEPT SELECT county_code, record_id, decided_date, township_key FROM marts.fact_legal_review_violation)
        ) changed
        EXCEPT SELECT record_type, county_code, record_id FROM _cand""")
    conn.execute("CREATE INDEX ON _cand (record_type, county_code, record_id)")
    conn.execute("ANALYZE _cand")
    return counties


def _window(conn, old: date, new: date) -> None:
    """Fill _win: records (not candidates) whose deadline measures may count differently under the new as-of date:
    still open, with a deadline between the old and the new one. Wide on purpose (a superset is harmless)."""
    conn.execute("CREATE TEMP TABLE _win (record_type text, county_code char(6), record_id varchar(64)) ON COMMIT DROP")
    if old != new:
        lo, hi = min(old, new), max(old, new)
        conn.execute("""
            INSERT INTO _win
            SELECT 'enforcement_cases', county_code, record_id FROM marts.fact_enforcement_case
            WHERE publicized_date IS NULL AND decided_date >= %(lo)s::date - 120 AND decided_date < %(hi)s
            UNION ALL
            SELECT 'complaints', county_code, record_id FROM marts.fact_complaint
            WHERE handled_date IS NULL AND received_date >= %(lo)s::date - 60 AND received_date < %(hi)s::date - 60
            UNION ALL
            SELECT 'litigation_cases', county_code, record_id FROM marts.fact_litigation_case
            WHERE judicial_suggestion AND suggestion_replied_date IS NULL
            EXCEPT SELECT record_type, county_code, record_id FROM _cand""", {"lo": lo, "hi": hi})
    conn.execute("ANALYZE _win")


# The per-record-type definitions of the measures, and the record type whose keys select them.
CONTRIBUTION_VIEWS = (("kpi_contribution_enforcement", "enforcement_cases"),
                      ("kpi_contribution_violation", "enforcement_cases"),
                      ("kpi_contribution_reconsideration", "reconsideration_cases"),
                      ("kpi_contribution_litigation", "litigation_cases"),
                      ("kpi_contribution_complaint", "complaints"))


def _contributions(conn, keys: str, sign: int) -> None:
    """Add sign x the current contributions of the records listed in the temp table ``keys`` to _delta."""
    for view, record_type in CONTRIBUTION_VIEWS:
        conn.execute(sql.SQL("""
            INSERT INTO _delta (kpi, county_code, township_code, day, numerator, denominator, records)
            SELECT c.kpi, c.county_code::text, c.township_code, c.period_date, %(sign)s * c.numerator,
                   %(sign)s * c.denominator, %(sign)s
            FROM {keys} k JOIN {view} c ON c.county_code = k.county_code AND c.record_id = k.record_id
            WHERE k.record_type = %(record_type)s""").format(
            keys=sql.Identifier(keys), view=sql.Identifier(M, view)), {"sign": sign, "record_type": record_type})


def _upsert_facts(conn, rt: RecordType, key: PiiKey) -> int:
    """Replace the candidate facts of the record type by their pseudonymized core rows."""
    excluded = sql.SQL(", ").join(sql.SQL("excluded.{}").format(sql.Identifier(c.name)) for c in fact_columns(rt))
    return conn.execute(sql.SQL("""
        INSERT INTO {target} AS f ({cols})
        SELECT {select} FROM _cand k JOIN {core} c ON c.county_code = k.county_code AND c.record_id = k.record_id
        WHERE k.record_type = {rt}
        ON CONFLICT (county_code, record_id) DO UPDATE SET ({cols}) = ({excluded})
        WHERE f.row_hash IS DISTINCT FROM excluded.row_hash""").format(
        target=sql.Identifier(M, fact_table(rt)), cols=column_list(rt), select=select_list(rt, "c"),
        core=sql.Identifier("core", rt.table), rt=sql.Literal(rt.name), excluded=excluded), key.params).rowcount


def _apply_delta(conn) -> tuple[int, bool]:
    """Add the summed contribution differences to marts.kpi_value at every level and period; drop emptied rows.
    Returns (rows adjusted, consistent)."""
    conn.execute("""
        CREATE TEMP TABLE _dexp ON COMMIT DROP AS
        SELECT x.division_code, p.period_type, p.period_start, d.kpi, x.level, x.county_code,
               sum(d.numerator) AS numerator, sum(d.denominator) AS denominator, sum(d.records) AS records
        FROM _delta d
        LEFT JOIN marts.dim_division dv ON dv.division_code = d.county_code
        CROSS JOIN LATERAL (VALUES ('township', d.township_code, d.county_code), ('county', d.county_code, d.county_code),
                                   ('city', dv.city_code, NULL), ('province', dv.province_code, NULL))
            x(level, division_code, county_code)
        CROSS JOIN LATERAL (VALUES ('day', d.day), ('month', date_trunc('month', d.day)::date),
                                   ('year', date_trunc('year', d.day)::date)) p(period_type, period_start)
        WHERE x.division_code IS NOT NULL
        GROUP BY 1, 2, 3, 4, 5, 6
        HAVING sum(d.records) <> 0 OR sum(d.numerator) <> 0 OR coalesce(sum(d.denominator), 0) <> 0""")
    n = conn.execute("""
        INSERT INTO marts.kpi_value AS v (division_code, period_type, period_start, kpi, level, county_code, numerator,
                                          denominator, records)
        SELECT division_code, period_type, period_start, kpi, level, county_code, numerator, denominator, records
        FROM _dexp ORDER BY 1, 2, 3, 4
        ON CONFLICT (division_code, period_type, period_start, kpi) DO UPDATE SET
            numerator = v.numerator + excluded.numerator,
            denominator = CASE WHEN v.denominator IS NULL AND excluded.denominator IS NULL THEN NULL
                               ELSE coalesce(v.denominator, 0) + coalesce(excluded.denominator, 0) END,
            records = v.records + excluded.records""").rowcount
    negative = conn.execute("SELECT count(*) FROM marts.kpi_value v JOIN _dexp e USING (division_code, period_type, "
                            "period_start, kpi) WHERE v.records < 0").fetchone()[0]
    conn.execute("DELETE FROM marts.kpi_value v USING _dexp e WHERE (v.division_code, v.period_type, v.period_start, "
                 "v.kpi) = (e.division_code, e.period_type, e.period_start, e.kpi) AND v.records = 0")
    return n, negative == 0


def _load_history(conn, rt: RecordType, since: datetime | None, key: PiiKey) -> int:
    target = sql.Identifier(M, fact_history_table(rt))
    if since is None:
        conn.execute(sql.SQL("TRUNCATE {}").format(target))
    stmt = sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} c {} ORDER BY c.county_code, c.record_id, c.updated_at "
                   "ON CONFLICT DO NOTHING").format(
        target, column_list(rt), select_list(rt, "c"), sql.Identifier("core", rt.table + "_history"),
        sql.SQL("") if since is None else sql.SQL("WHERE c.loaded_at >= %(since)s"))
    return conn.execute(stmt, {**key.params, "since": since}).rowcount


# Decided major decisions without legal review, from the quarantine: the latest otherwise valid report of each
# record not corrected since (no later version in core).
_VIOLATIONS_INSERT = """
    INSERT INTO {target} (county_code, record_id, township_code, township_key, case_number, agency_code, agency_name,
        action_type, domain, filed_date, decided_date, updated_at, business_date, source_file, submission_id,
        quarantine_id)
    SELECT v.county_code, v.record_id, v.township_code, coalesce(v.township_code::text, v.county_code || '999'),
           v.case_number, v.agency_code, v.agency_name, v.action_type, v.domain, v.filed_date, v.decided_date,
           v.updated_at, v.business_date, v.source_file, v.submission_id, v.quarantine_id
    FROM (
        SELECT DISTINCT ON (q.county_code, q.record_id)
               q.county_code, q.record_id::varchar(64) AS record_id,
               nullif(btrim(q.raw_row->>'township_code'), '')::char(9) AS township_code,
               q.raw_row->>'case_number' AS case_number, q.raw_row->>'agency_code' AS agency_code,
               q.raw_row->>'agency_name' AS agency_name, q.raw_row->>'action_type' AS action_type,
               q.raw_row->>'domain' AS domain, marts.try_date(q.raw_row->>'filed_date') AS filed_date,
               marts.try_date(q.raw_row->>'decided_date') AS decided_date,
               marts.try_timestamptz(q.raw_row->>'updated_at') AS updated_at, q.business_date, q.source_file,
               q.submission_id, q.quarantine_id
        FROM ops.quarantine q JOIN ops.submission s ON s.submission_id = q.submission_id
        WHERE q.record_type = %(record_type)s AND q.failed_rules = ARRAY[%(rule)s]::text[]
          AND q.resolved_at IS NULL AND s.superseded_by IS NULL AND q.record_id IS NOT NULL
          AND q.raw_row IS NOT NULL
        ORDER BY q.county_code, q.record_id, marts.try_timestamptz(q.raw_row->>'updated_at') DESC NULLS LAST,
                 q.quarantine_id DESC
    ) v
    LEFT JOIN core.enforcement_case c ON c.county_code = v.county_code AND c.record_id = v.record_id
    WHERE c.record_id IS NULL OR c.updated_at < v.updated_at"""


def _violation_params() -> dict:
    return {"record_type": "enforcement_cases", "rule": legal_review_rule()}


def _agency_union(current: bool) -> sql.Composed:
    """county_code, agency_code, agency_name, updated_at, record_type of every agency mention."""
    parts = []
    for rt in RECORD_TYPES.values():
        table = fact_table(rt) if current else fact_history_table(rt)
        for code, name in agency_fields(rt):
            parts.append(sql.SQL("SELECT county_code, {code}::char(18) AS agency_code, {name} AS agency_name, "
                                 "updated_at, {rt} AS record_type FROM {table}").format(
                code=sql.Identifier(code), name=sql.Identifier(name) if name else sql.SQL("NULL::text"),
                rt=sql.Literal(rt.name), table=sql.Identifier(M, table)))
    return sql.SQL(" UNION ALL ").join(parts)


def _load_agencies(conn, counties: list[str] | None) -> None:
    if counties is not None and not counties:
        return
    params = {"counties": counties}
    where = sql.SQL("") if counties is None else sql.SQL("WHERE county_code = ANY(%(counties)s::bpchar[])")
    for t in ("dim_agency", "dim_agency_name"):
        if counties is None:
            conn.execute(sql.SQL("TRUNCATE {}").format(sql.Identifier(M, t)))
        else:
            conn.execute(sql.SQL("DELETE FROM {} WHERE county_code = ANY(%(counties)s::bpchar[])").format(
                sql.Identifier(M, t)), params)
    conn.execute(sql.SQL("""
        INSERT INTO marts.dim_agency_name (county_code, agency_code, agency_name, valid_from, valid_to, last_seen, is_current)
        SELECT county_code, agency_code, agency_name, first_seen,
               lead(first_seen) OVER (PARTITION BY county_code, agency_code ORDER BY first_seen, agency_name),
               last_seen,
               row_number() OVER (PARTITION BY county_code, agency_code ORDER BY last_seen DESC, first_seen DESC,
                                  agency_name) = 1
        FROM (SELECT county_code, agency_code, agency_name, min(updated_at) AS first_seen, max(updated_at) AS last_seen
              FROM ({union}) s {where} AND agency_name IS NOT NULL
              GROUP BY 1, 2, 3) n""").format(
        union=_agency_union(current=False), where=where if counties is not None else sql.SQL("WHERE true")), params)
    count_cols = sql.SQL(", ").join(sql.Identifier(rt.name) for rt in RECORD_TYPES.values())
    count_vals = sql.SQL(", ").join(sql.SQL("coalesce(k.{}, 0)").format(sql.Identifier(rt.name))
                                    for rt in RECORD_TYPES.values())
    count_names = sql.SQL(", ").join(
        sql.SQL("count(*) FILTER (WHERE record_type = {}) AS {}").format(sql.Literal(rt.name), sql.Identifier(rt.name))
        for rt in RECORD_TYPES.values())
    conn.execute(sql.SQL("""
        INSERT INTO marts.dim_agency (county_code, agency_code, agency_name, registered_division, first_seen, last_seen,
                                      names, {count_cols})
        SELECT a.county_code, a.agency_code, n.agency_name, substr(a.agency_code, 3, 6), a.first_seen, a.last_seen,
               coalesce(n.names, 0), {count_vals}
        FROM (SELECT county_code, agency_code, min(updated_at) AS first_seen, max(updated_at) AS last_seen
              FROM ({hist}) s {where} GROUP BY 1, 2) a
        LEFT JOIN (SELECT county_code, agency_code, count(*) AS names,
                          (array_agg(agency_name ORDER BY is_current DESC))[1] AS agency_name
                   FROM marts.dim_agency_name {where} GROUP BY 1, 2) n USING (county_code, agency_code)
        LEFT JOIN (SELECT county_code, agency_code, {count_names} FROM ({cur}) s {where} GROUP BY 1, 2) k
               USING (county_code, agency_code)""").format(
        count_cols=count_cols, count_vals=count_vals, count_names=count_names, hist=_agency_union(current=False),
        cur=_agency_union(current=True), where=where), params)


def _load_kpi_definitions(conn) -> None:
    conn.execute("DELETE FROM marts.kpi_definition")
    cols = sql.SQL(", ").join(map(sql.Identifier, kpis.DEFINITION_COLUMNS))
    with conn.cursor().copy(sql.SQL("COPY marts.kpi_definition ({}) FROM STDIN").format(cols)) as copy:
        for r in kpis.definition_rows():
            copy.write_row(r)


_INSERT_KPI = sql.SQL("INSERT INTO marts.kpi_value (division_code, period_type, period_start, kpi, level, county_code, "
                      "numerator, denominator, records) ")


def _load_kpis(conn) -> int:
    """Recompute all of marts.kpi_value from marts.kpi_contribution.

    Days first (one pass over the contributions), then months and years summed from the days, counties from
    their day rows, cities from counties, provinces from cities: each level is the sum of the one below.
    """
    conn.execute("TRUNCATE marts.kpi_value")
    for t in ("_kpi_day", "_kpi_county_day"):
        conn.execute(sql.SQL("DROP TABLE IF EXISTS pg_temp.{}").format(sql.Identifier(t)))
    # (kpi, county, township or NULL, day): the finest grain.
    conn.execute("""
        CREATE TEMP TABLE _kpi_day ON COMMIT DROP AS
        SELECT kpi, county_code::text AS county_code, township_code, period_date AS day, sum(numerator) AS numerator,
               sum(denominator) AS denominator, count(*) AS records
        FROM marts.kpi_contribution
        GROUP BY 1, 2, 3, 4""")
    conn.execute("""
        CREATE TEMP TABLE _kpi_county_day ON COMMIT DROP AS
        SELECT kpi, county_code, day, sum(numerator) AS numerator, sum(denominator) AS denominator,
               sum(records) AS records
        FROM _kpi_day GROUP BY 1, 2, 3""")
    inserted = 0
    statements = [
        # townships (and each county's '999' bucket): days as they are, months and years summed
        """SELECT township_code, 'day', day, kpi, 'township', county_code, numerator, denominator, records
           FROM _kpi_day WHERE township_code IS NOT NULL""",
        """SELECT township_code, 'month', date_trunc('month', day)::date, kpi, 'township', county_code, sum(numerator),
                  sum(denominator), sum(records)
           FROM _kpi_day WHERE township_code IS NOT NULL GROUP BY 1, 3, 4, 6""",
        """SELECT township_code, 'year', date_trunc('year', day)::date, kpi, 'township', county_code, sum(numerator),
                  sum(denominator), sum(records)
           FROM _kpi_day WHERE township_code IS NOT NULL GROUP BY 1, 3, 4, 6""",
        # counties
        """SELECT county_code, 'day', day, kpi, 'county', county_code, numerator, denominator, records
           FROM _kpi_county_day""",
        """SELECT county_code, 'month', date_trunc('month', day)::date, kpi, 'county', county_code, sum(numerator),
                  sum(denominator), sum(records)
           FROM _kpi_county_day GROUP BY 1, 3, 4""",
        """SELECT county_code, 'year', date_trunc('year', day)::date, kpi, 'county', county_code, sum(numerator),
                  sum(denominator), sum(records)
           FROM _kpi_county_day GROUP BY 1, 3, 4""",
    ]
    for select in statements:  # in key order: the primary key index grows at its end instead of all over
        inserted += conn.execute(_INSERT_KPI + sql.SQL(select + " ORDER BY 1, 3, 4")).rowcount
    for level, code, part in (("city", "city_code", "county"), ("province", "province_code", "city")):
        inserted += conn.execute(_INSERT_KPI + sql.SQL("""
            SELECT dv.{code}, v.period_type, v.period_start, v.kpi, {level}, NULL, sum(v.numerator), sum(v.denominator),
                   sum(v.records)
            FROM marts.kpi_value v JOIN marts.dim_division dv ON dv.division_code = v.division_code
            WHERE v.level = {part} AND dv.{code} IS NOT NULL
            GROUP BY dv.{code}, v.period_type, v.period_start, v.kpi ORDER BY 1, 2, 3, 4""").format(
            code=sql.Identifier(code), level=sql.Literal(level), part=sql.Literal(part))).rowcount
    return inserted


def last_refresh(conn) -> dict | None:
    row = conn.execute(
        "SELECT refresh_id, started_at, finished_at, mode, reason, as_of_date, counties, facts_changed, history_added, "
        "kpi_rows, seconds, steps FROM ops.marts_refresh ORDER BY refresh_id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    keys = ("refresh_id", "started_at", "finished_at", "mode", "reason", "as_of_date", "counties", "facts_changed",
            "history_added", "kpi_rows", "seconds", "steps")
    return dict(zip(keys, row, strict=True))


__all__ = ["RefreshResult", "refresh_marts", "last_refresh", "agency_fields", "has_township"]
