"""A small hand-checked world in Xuchang (4110) plus one Zhengzhou county, and helpers to load it.

Every figure the tests expect is computed by hand in the comments of test_kpis.py from the rows below.
As-of date of the marts: 2026-11-23 (a Monday).
"""

from __future__ import annotations

import secrets
from datetime import date
from decimal import Decimal
from urllib.parse import quote, urlsplit, urlunsplit

import pandas as pd
import psycopg
from psycopg.types.json import Jsonb

from supervision.contract import BOOL, DATE, MONEY, RECORD_TYPES, TIMESTAMP, RecordType
from supervision.marts.pii import PiiKey
from supervision.warehouse.load import load_records

AS_OF = date(2026, 11, 23)
UPDATED = "2026-11-22T10:00:00+08:00"
AGENCY = {  # USCC-shaped codes (content checks are the validator's job, not the marts')
    "411002": ("11411002MB0000001A", "许昌市魏都区市场监督管理局"),
    "411003": ("11411003MB0000002B", "许昌市建安区交通运输局"),
    "411024": ("11411024MB0000003C", "鄢陵县应急管理局"),
    "410102": ("11410102MB0000004D", "郑州市中原区城市管理局"),
}
PERSON_ID, PERSON_NAME = "411002198001010019", "欧阳测甲"
ORG_ID, ORG_NAME = "91411002MA40000001", "许昌某某商贸有限公司"

MARTS_TABLES = ("fact_enforcement_case", "fact_enforcement_case_history", "fact_reconsideration_case",
                "fact_reconsideration_case_history", "fact_litigation_case", "fact_litigation_case_history",
                "fact_complaint", "fact_complaint_history", "fact_legal_review_violation", "kpi_value", "dim_agency",
                "dim_agency_name")


def enforcement(record_id, county, *, township=None, action="penalty", filed, decided=None, publicized=None,
                status=None, fine=None, major=False, review=False, full_process=True, person=True, domain=None,
                updated_at=UPDATED):
    code, name = AGENCY[county]
    return {
        "record_id": record_id, "county_code": county, "updated_at": updated_at,
        "case_number": f"许{county[-2:]}罚〔2026〕{record_id}号", "township_code": township,
        "agency_code": code, "agency_name": name, "action_type": action, "domain": domain or "market_regulation",
        "party_type": "person" if person else "organization", "party_id": PERSON_ID if person else ORG_ID,
        "party_name": PERSON_NAME if person else ORG_NAME,
        "filed_date": filed, "decided_date": decided, "closed_date": None,
        "status": status or ("decided" if decided else "open"),
        "fine_amount": fine, "confiscated_amount": 0.0 if fine is not None else None,
        "is_major": major, "legal_review_done": review, "full_process_recorded": full_process,
        "publicized_date": publicized,
    }


def reconsideration(record_id, county, *, received, accepted, decided=None, outcome="pending", procedure="normal",
                    extended=False, updated_at=UPDATED):
    code, name = AGENCY[county]
    return {
        "record_id": record_id, "county_code": county, "updated_at": updated_at,
        "case_number": f"许{county[-2:]}复〔2026〕{record_id}号", "respondent_agency_code": code,
        "respondent_agency_name": name, "applicant_type": "person", "applicant_id": PERSON_ID,
        "applicant_name": PERSON_NAME, "received_date": received, "accepted_date": accepted, "decided_date": decided,
        "procedure": procedure, "extended": extended, "outcome": outcome, "related_enforcement_id": None,
    }


def litigation(record_id, county, *, filed, hearing=None, appeared=False, required=False, judgment=None,
               outcome="pending", suggestion=False, replied=None, updated_at=UPDATED):
    code, name = AGENCY[county]
    return {
        "record_id": record_id, "county_code": county, "updated_at": updated_at,
        "court_case_number": f"（2026）豫{county[2:]}行初{record_id[1:]}号", "defendant_agency_code": code,
        "defendant_agency_name": name, "plaintiff_type": "organization", "plaintiff_id": ORG_ID,
        "plaintiff_name": ORG_NAME, "trial_level": "first", "filed_date": filed, "hearing_date": hearing,
        "head_appearance_required": required, "head_appeared": appeared, "judgment_date": judgment,
        "outcome": outcome, "related_reconsideration_id": None, "related_enforcement_id": None,
        "judicial_suggestion": suggestion, "suggestion_replied_date": replied,
    }


def complaint(record_id, county, *, township=None, received, handled=None, result=None, updated_at=UPDATED):
    return {
        "record_id": record_id, "county_code": county, "updated_at": updated_at, "township_code": township,
        "target_agency_code": AGENCY[county][0], "channel": "hotline_12345", "complainant_name": PERSON_NAME,
        "complainant_id": PERSON_ID, "received_date": received, "handled_date": handled,
        "result": result or ("substantiated" if handled else "pending"), "replied": handled is not None,
        "summary": f"{PERSON_NAME}反映执法人员态度问题",
    }


WORLD = {
    "enforcement_cases": [
        # 魏都区: two penalties decided 2026-02-12 (Thu); 7 working days later is 2026-02-28 (Feb 13, the 调休
        # Saturday Feb 14, then Feb 24-27 after the Spring Festival, then the 调休 Saturday Feb 28).
        enforcement("E1", "411002", township="411002001", filed="2026-02-01", decided="2026-02-12",
                    publicized="2026-02-28", fine=500.0, full_process=True, person=True),
        enforcement("E2", "411002", township="411002001", filed="2026-02-02", decided="2026-02-12",
                    publicized="2026-03-02", fine=300.5, full_process=False, person=False),
        # A licensing decision on Saturday 2026-10-31: due 2026-11-10, still not publicized.
        enforcement("E3", "411002", township="411002002", action="licensing", filed="2026-10-31",
                    decided="2026-10-31", full_process=True, domain="transport"),
        # An inspection without township (bucket 411002999), open.
        enforcement("E4", "411002", action="inspection", filed="2026-11-01", full_process=True),
        # A major coercive decision (20 working days: due 2026-11-02 across the National Day holiday), reviewed.
        enforcement("E5", "411002", township="411002002", action="coercion", filed="2026-09-20", decided="2026-09-29",
                    publicized="2026-11-02", major=True, review=True, full_process=True, domain="transport"),
        # 建安区: decided on New Year's Eve 2025 (fine in 2025), due 2026-01-12 (Jan 4 was a 调休 Sunday).
        enforcement("E7", "411003", township="411003100", filed="2025-12-20", decided="2025-12-31",
                    publicized="2026-01-05", fine=1000.0),
        # 郑州市中原区 (another city): must be invisible to Xuchang supervisors.
        enforcement("E9", "410102", township="410102001", filed="2026-02-10", decided="2026-02-12", fine=9999.0),
    ],
    "reconsideration_cases": [
        # accepted 2026-07-03 + 60 + 30 (extended) = 2026-10-01, a holiday: deadline 2026-10-08.
        reconsideration("R1", "411002", received="2026-07-01", accepted="2026-07-03", decided="2026-10-08",
                        outcome="revoked", extended=True),
        # accepted 2026-08-02 + 60 = 2026-10-01 -> 2026-10-08; decided 10-09: late.
        reconsideration("R2", "411002", received="2026-08-01", accepted="2026-08-02", decided="2026-10-09",
                        outcome="upheld"),
        # simplified: 2026-09-01 + 30 = 2026-10-01 -> 2026-10-08; decided 09-30.
        reconsideration("R3", "411002", received="2026-08-30", accepted="2026-09-01", decided="2026-09-30",
                        outcome="altered", procedure="simplified"),
        # pending: 2026-09-01 + 60 = 2026-10-31 (Saturday) -> 2026-11-02; overdue 21 days on 2026-11-23.
        reconsideration("R4", "411002", received="2026-08-31", accepted="2026-09-01"),
        # 建安区: accepted 2026-09-15 + 60 = 2026-11-14 (Saturday) -> 2026-11-16.
        reconsideration("R5", "411003", received="2026-09-14", accepted="2026-09-15", decided="2026-10-31",
                        outcome="confirmed_illegal"),
        reconsideration("R6", "411003", received="2026-09-14", accepted="2026-09-15", decided="2026-11-01",
                        outcome="rejected"),
        reconsideration("R9", "410102", received="2026-01-05", accepted="2026-01-06", decided="2026-02-01",
                        outcome="revoked"),
    ],
    "litigation_cases": [
        litigation("L1", "411002", filed="2026-03-01", hearing="2026-04-10", appeared=True, required=True,
                   judgment="2026-06-30", outcome="lost", suggestion=True, replied="2026-08-20"),
        litigation("L2", "411002", filed="2026-03-05", hearing="2026-04-20", appeared=False, required=False,
                   judgment="2026-07-01", outcome="won", suggestion=True),
        litigation("L3", "411002", filed="2026-05-01", hearing="2026-06-01", appeared=False, required=True),
        litigation("L4", "411003", filed="2026-01-10", hearing="2026-02-10", appeared=True, required=False,
                   judgment="2026-06-15", outcome="withdrawn"),
        litigation("L9", "410102", filed="2026-01-10", hearing="2026-02-10", appeared=True, judgment="2026-03-01",
                   outcome="lost"),
    ],
    "complaints": [
        complaint("C1", "411002", township="411002001", received="2026-09-01", handled="2026-10-30"),
        complaint("C2", "411002", township="411002001", received="2026-09-02", handled="2026-11-02"),
        complaint("C3", "411002", received="2026-09-10"),
        complaint("C4", "411002", received="2026-11-01"),
        complaint("C5", "411003", township="411003100", received="2026-08-01", handled="2026-08-15"),
        complaint("C9", "410102", township="410102001", received="2026-01-01"),
    ],
}

# A decided major decision without legal review, quarantined by the contract rule (raw values as received).
VIOLATION = enforcement("E6", "411002", township="411002002", action="penalty", filed="2026-11-01",
                        decided="2026-11-05", fine=2000.0, major=True, review=False)


def typed(rt: RecordType, rows: list[dict]) -> pd.DataFrame:
    cols = {}
    for f in rt.fields:
        vals = [r.get(f.name) for r in rows]
        if f.type == DATE:
            cols[f.name] = pd.to_datetime(pd.Series(vals, dtype="object"))
        elif f.type == TIMESTAMP:
            cols[f.name] = pd.to_datetime(pd.Series(vals, dtype="object"), utc=True)
        elif f.type == BOOL:
            cols[f.name] = pd.array(vals, dtype="boolean")
        elif f.type == MONEY:
            cols[f.name] = pd.Series(vals, dtype="float64")
        else:
            cols[f.name] = pd.array(vals, dtype="str")
    frame = pd.DataFrame(cols)
    frame["_source_row"] = list(range(1, len(rows) + 1))
    return frame


def submission(conn, county: str, record_type: str, day: str = "2026-11-22", sha: str | None = None) -> int:
    return conn.execute(
        "INSERT INTO ops.submission (county_code, record_type, business_date, source_kind, file_sha256, status) "
        "VALUES (%s, %s, %s, 'file_drop', %s, 'loaded') RETURNING submission_id",
        (county, record_type, day, sha or secrets.token_hex(8))).fetchone()[0]


def load(conn, record_type: str, rows: list[dict]) -> None:
    rt = RECORD_TYPES[record_type]
    for county in sorted({r["county_code"] for r in rows}):
        part = [r for r in rows if r["county_code"] == county]
        load_records(conn, rt, typed(rt, part), submission(conn, county, record_type))


def quarantine(conn, row: dict, rule: str = "major_decision_needs_legal_review") -> None:
    sid = submission(conn, row["county_code"], "enforcement_cases")
    raw = {k: ("" if v is None else str(v).lower() if isinstance(v, bool) else str(v)) for k, v in row.items()}
    conn.execute(
        "INSERT INTO ops.quarantine (submission_id, county_code, record_type, business_date, source_file, row_number, "
        "record_id, raw_row, failed_rules, messages) VALUES (%s, %s, 'enforcement_cases', '2026-11-22', %s, 1, %s, %s, "
        "%s, %s)",
        (sid, row["county_code"], f"{row['county_code']}/2026-11-22/enforcement_cases.csv", row["record_id"],
         Jsonb(raw), [rule], [f"{rule}: a decided major decision needs legal review"]))


def scorecards(conn) -> None:
    """Submission verdicts, alerts and an exemption (the issue-6 scorecards) for each county of the world, plus a
    pipeline alert (no county) that only the engineers may see."""
    for county, on_time in (("411002", True), ("411003", False), ("410102", True)):
        for day in ("2026-11-20", "2026-11-21"):
            conn.execute(
                "INSERT INTO ops.submission_verdict (county_code, record_type, business_date, due_at, "
                "first_received_at, on_time, status, valid, judged_at) VALUES (%s, 'enforcement_cases', %s, "
                "%s::date + time '09:00', %s::date + time '08:00', %s, 'loaded', true, now())",
                (county, day, day, day, on_time))
        conn.execute(
            "INSERT INTO ops.alert (kind, county_code, business_date, evidence, summary, fix, opened_at, last_seen_at) "
            "VALUES ('late', %s, '2026-11-21', 'test', %s, 'send the file', now(), now())", (county, f"{county} late"))
    conn.execute("INSERT INTO ops.alert (kind, county_code, business_date, evidence, summary, fix, opened_at, last_seen_at) "
                 "VALUES ('pipeline_late', NULL, '2026-11-21', 'test', 'nightly run late', 'see the runbook', now(), now())")
    conn.execute(
        "INSERT INTO ops.submission_exception (kind, county_code, date_from, date_to, extra_hours, approved_by, "
        "reason, granted_by, granted_at) VALUES ('extension', '411003', '2026-11-20', '2026-11-21', 24, "
        "'city office', 'network outage', 'test', now())")


def load_world(conn) -> None:
    for record_type, rows in WORLD.items():
        load(conn, record_type, rows)
    quarantine(conn, VIOLATION)
    scorecards(conn)


def clean(conn) -> None:
    tables = [("marts", t) for t in MARTS_TABLES] + [("ops", "marts_refresh"), ("ops", "quarantine"),
                                                       ("ops", "submission"), ("ops", "submission_verdict"),
                                                       ("ops", "alert"), ("ops", "submission_exception")]
    tables += [("core", rt.table) for rt in RECORD_TYPES.values()]
    tables += [("core", rt.table + "_superseded") for rt in RECORD_TYPES.values()]
    conn.execute(psycopg.sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(
        psycopg.sql.SQL(", ").join(psycopg.sql.Identifier(*t) for t in tables)))


def make_key() -> PiiKey:
    return PiiKey(secrets.token_hex(32).encode(), "generated by the test")


# The embedded server demands SCRAM of every role but the superuser (connection.HBA_CONF): test logins get a password.
TEST_PASSWORD = secrets.token_urlsafe(12)


def login_url(url: str, login: str) -> str:
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{quote(login, safe='')}:{quote(TEST_PASSWORD, safe='')}@{host}"))


# --- reading the figures (the model tests) ----------------------------------------------------------------------

D = Decimal


def kpi(conn, division: str, period_type: str, period_start: str, name: str):
    """(numerator, denominator, value) of a measure from marts.kpi, or None."""
    row = conn.execute("SELECT numerator, denominator, value FROM marts.kpi WHERE division_code = %s AND "
                       "period_type = %s AND period_start = %s AND kpi = %s",
                       (division, period_type, period_start, name)).fetchone()
    return None if row is None else tuple(None if v is None else D(v) for v in row)


def ratio(num, den, value=None):
    return (D(num), D(den), D(value) if value is not None else round(D(num) / D(den), 4))


def count(n):
    return (D(n), None, D(n))
