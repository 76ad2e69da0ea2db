"""Compliance scorecards: per county, city and province and month, the share of business days on time and valid
and the alert counts, from the monitor's verdicts; higher levels are sums of their parts; exempt days excluded."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from psycopg.rows import dict_row

from supervision.alerting import lifecycle
from supervision.alerting.monitor import run_monitor

from .alerting_support import at, registry_file, submit, submit_day

pytestmark = pytest.mark.integration
CODES = ["411002", "410102"]
LATE_DAY, BAD_DAY = date(2026, 11, 3), date(2026, 11, 5)
EXEMPT = (date(2026, 11, 7), date(2026, 11, 8))


def _at(d: date, hh: int, mm: int = 0):
    return at(d.year, d.month, d.day, hh, mm)


@pytest.fixture
def month(alert_db, sinks, tmp_path):
    """Ten business dates as the monitor sees them morning after morning (Oct 31 - Nov 9)."""
    smtp, hook = sinks
    reg = registry_file(tmp_path, smtp, hook, CODES, extra="  stale_days: {default: 60}")
    lifecycle.grant_exception(alert_db, kind="exemption", county_code="410102", record_type=None, date_from=EXEMPT[0],
                              date_to=EXEMPT[1], approved_by="郑州市 刘科长", reason="system migration",
                              granted_by="ops", now=_at(date(2026, 11, 6), 9))
    d = date(2026, 10, 31)
    while d <= date(2026, 11, 9):
        morning = d + timedelta(days=1)
        on_time = _at(morning, 2)
        if d != LATE_DAY:
            submit_day(alert_db, "411002", d, on_time,
                       types=("enforcement_cases", "reconsideration_cases", "litigation_cases")
                       if d == BAD_DAY else ("enforcement_cases", "reconsideration_cases", "litigation_cases",
                                             "complaints"))
        else:
            submit_day(alert_db, "411002", d, None, status="late")  # the nightly found nothing at 06:00
        if d == BAD_DAY:
            submit(alert_db, "411002", d, "complaints", "rejected", received=on_time, rules=("file.manifest_rows",))
        if not EXEMPT[0] <= d <= EXEMPT[1]:
            submit_day(alert_db, "410102", d, on_time)
        else:  # the nightly does not know about exemptions: it records that nothing came
            submit_day(alert_db, "410102", d, None, status="late")
        run_monitor(_at(morning, 6, 30), reg, CODES, tmp_path / "none", send=False)
        if d == LATE_DAY:  # arrives at 07:00, after the deadline
            submit_day(alert_db, "411002", d, _at(morning, 7))
            run_monitor(_at(morning, 7, 30), reg, CODES, tmp_path / "none", send=False)
        d = morning
    with alert_db.cursor(row_factory=dict_row) as cur:
        yield {level: cur.execute(f"SELECT * FROM marts.compliance_{level}_month ORDER BY 1, month").fetchall()  # noqa: S608
               for level in ("county", "city", "province")}


def test_county_month(month):
    rows = {(r["county_code"], str(r["month"])): r for r in month["county"]}
    xc = rows[("411002", "2026-11-01")]
    assert (xc["county_name"], xc["city_code"], xc["province_code"]) == ("魏都区", "4110", "41")
    assert (xc["business_days"], xc["on_time_days"], xc["valid_days"], xc["on_time_valid_days"], xc["late_days"]) == (
        9, 8, 8, 7, 1)
    assert float(xc["on_time_valid_share"]) == pytest.approx(7 / 9, abs=1e-4)
    assert (xc["alerts_late"], xc["alerts_rejected"], xc["alerts_missing"], xc["alerts_total"],
            xc["alerts_unresolved"]) == (1, 1, 0, 2, 1)
    zz = rows[("410102", "2026-11-01")]
    assert (zz["business_days"], zz["exempt_days"], zz["on_time_valid_days"], zz["alerts_total"]) == (7, 2, 7, 0)
    assert float(zz["on_time_valid_share"]) == 1.0
    october = rows[("411002", "2026-10-01")]
    assert (october["business_days"], october["on_time_valid_days"]) == (1, 1)


def test_city_and_province_are_sums_of_their_parts(month):
    city = {(r["city_code"], str(r["month"])): r for r in month["city"]}
    assert city[("4110", "2026-11-01")]["city_name"] == "许昌市"
    assert city[("4110", "2026-11-01")]["on_time_valid_days"] == 7
    (nov,) = [r for r in month["province"] if str(r["month"]) == "2026-11-01"]
    assert (nov["province_name"], nov["counties"], nov["business_days"], nov["on_time_valid_days"]) == (
        "河南省", 2, 16, 14)
    assert float(nov["on_time_valid_share"]) == pytest.approx(14 / 16)  # not the average of 7/9 and 7/7
    assert (nov["alerts_late"], nov["alerts_rejected"]) == (1, 1)


def test_views_run_with_the_callers_rights(alert_db):
    options = dict(alert_db.execute(
        "SELECT c.relname, array_to_string(c.reloptions, ',') FROM pg_class c JOIN pg_namespace n ON n.oid ="
        " c.relnamespace WHERE n.nspname = 'marts' AND c.relname LIKE ANY (ARRAY['compliance_%', 'submission_%'])"))
    assert set(options) == {"submission_compliance_day", "compliance_county_month", "compliance_city_month",
                            "compliance_province_month"}
    assert all(o == "security_invoker=true" for o in options.values())
