"""Compare what the warehouse says about a business date with what the simulator injected (its truth file)."""

from __future__ import annotations

import json
from pathlib import Path

EXPECTED_STATUS = {"loaded": {"loaded", "loaded_with_quarantine"}, "rejected": {"rejected"}, "missing": {"missing"},
                   "late": {"late"}}


def load_truth(drop_root: Path, business_date: str) -> dict:
    return json.loads((drop_root / "_simulation" / f"{business_date}.json").read_text(encoding="utf-8"))


def snapshot(conn, business_date: str) -> dict:
    """Everything a re-run must leave unchanged: ledger counts, quarantine contents, core and history sizes."""
    ledger = conn.execute(
        "SELECT county_code, record_type, status, rows_received, rows_loaded, rows_quarantined, submission_id"
        " FROM ops.submission_current WHERE business_date = %s ORDER BY 1, 2", (business_date,)).fetchall()
    quarantine = conn.execute(
        "SELECT county_code, record_type, row_number, failed_rules FROM ops.quarantine WHERE business_date = %s"
        " ORDER BY 1, 2, 3", (business_date,)).fetchall()
    tables = {}
    for t in ("enforcement_case", "reconsideration_case", "litigation_case", "complaint"):
        for suffix in ("", "_history"):
            tables[t + suffix] = conn.execute(f"SELECT count(*) FROM core.{t}{suffix}").fetchone()[0]  # noqa: S608
    return {"ledger": ledger, "quarantine": quarantine, "tables": tables}


def mismatches(conn, truth: dict) -> list[str]:
    """Every difference between the truth and the warehouse, as readable lines (empty = all as injected)."""
    day = truth["business_date"]
    problems: list[str] = []
    ledger = {(r[0], r[1]): r for r in conn.execute(
        "SELECT county_code, record_type, status, rows_received, rows_loaded, rows_quarantined, submission_id"
        " FROM ops.submission_current WHERE business_date = %s", (day,)).fetchall()}
    quarantine: dict[tuple, dict[int, set]] = {}
    for county, rtype, row, rules in conn.execute(
            "SELECT q.county_code, q.record_type, q.row_number, q.failed_rules FROM ops.quarantine q"
            " JOIN ops.submission_current s USING (submission_id) WHERE s.business_date = %s", (day,)).fetchall():
        quarantine.setdefault((county, rtype), {})[row] = set(rules)
    for code, county in truth["counties"].items():
        for rtype, f in county["files"].items():
            got = ledger.get((code, rtype))
            where = f"{code} {rtype} (fault {county['fault']})"
            if got is None:
                problems.append(f"{where}: no ledger row")
                continue
            status, received, loaded, quarantined = got[2:6]
            if status not in EXPECTED_STATUS[f["expected_outcome"]]:
                problems.append(f"{where}: status {status}, expected {f['expected_outcome']}")
            if received != loaded + quarantined:
                problems.append(f"{where}: received {received} != loaded {loaded} + quarantined {quarantined}")
            if f["expected_outcome"] == "loaded":
                expected_bad = {int(k): set(v) for k, v in (f.get("expected_bad_rows") or {}).items()}
                got_bad = quarantine.get((code, rtype), {})
                if received != f["rows"]:
                    problems.append(f"{where}: received {received}, the file has {f['rows']}")
                for row in sorted(set(expected_bad) | set(got_bad)):
                    if expected_bad.get(row) != got_bad.get(row):
                        problems.append(f"{where} row {row}: quarantined with {sorted(got_bad.get(row, []))}, "
                                        f"expected {sorted(expected_bad.get(row, []))}")
                if loaded != f["rows"] - len(expected_bad):
                    problems.append(f"{where}: loaded {loaded}, expected {f['rows'] - len(expected_bad)}")
            elif f["expected_outcome"] == "rejected" and loaded != 0:
                problems.append(f"{where}: a rejected file loaded {loaded} rows")
    return problems
