"""Reconciliation of a business date: every received row is loaded or quarantined, per county, type and file.

Independent checks, each from a different source of truth:
1. the ledger: every registry county has an entry for every record type; received = loaded + quarantined;
2. the quarantine: its rows per submission equal the ledger's quarantined count (a file rejected as
   unreadable has exactly one whole-file entry);
3. the warehouse: every landed row (re-read from the immutable Parquet) that is not in quarantine exists in
   core history under the same (county_code, record_id, updated_at) (counted once per landed row);
4. no file of the date is ``failed`` (a pipeline fault): such a file is unreconciled until a re-run loads or
   quarantines it;
5. the drop folder as the run saw it: the newest content a nightly run saw at each path (ops.file_arrival)
   has a ledger row (a run killed mid-file cannot hide behind an earlier file of the day).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date

import pandas as pd
from psycopg import sql

from supervision import divisions
from supervision.contract import RECORD_TYPES
from supervision.identifiers import record_keys
from supervision.landing import read_landed
from supervision.warehouse.connection import connect

STATUS_LABELS = {"loaded": "ok", "loaded_with_quarantine": "ok+q", "rejected": "REJECTED", "missing": "missing",
                 "late": "late", "failed": "FAILED", "source_error": "SRC-ERR", "unexpected": "UNEXP", None: "-"}
# 'unexpected' rows (record type '*': drop-folder entries that are no contract file, nothing read from them) are
# shown and counted, never a reconciliation problem: they carry no rows, and an unknown county owes no types.
UNEXPECTED = "unexpected"


@dataclass
class Report:
    business_date: date
    ledger: pd.DataFrame
    problems: list[str] = field(default_factory=list)
    rows_checked: bool = True  # False: ledger checks only (statuses, counts), no re-read of the landed rows

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def totals(self) -> dict:
        lg = self.ledger
        count = lambda s: int((lg.status == s).sum()) if len(lg) else 0  # noqa: E731
        files = lg[lg.status != UNEXPECTED] if len(lg) else lg
        return {"business_date": self.business_date.isoformat(),
                "counties": int(files.county_code.nunique()) if len(files) else 0, "files": len(files), "rows_received": int(lg.rows_received.sum()) if len(lg) else 0,
                "rows_loaded": int(lg.rows_loaded.sum()) if len(lg) else 0,
                "rows_quarantined": int(lg.rows_quarantined.sum()) if len(lg) else 0,
                "loaded": count("loaded") + count("loaded_with_quarantine"), "late": count("late"),
                "missing": count("missing"), "rejected": count("rejected"), "source_error": count("source_error"),
                "failed": count("failed"), "unexpected": count(UNEXPECTED),
                "reconciled": self.ok, "problems": len(self.problems)}


def reconcile(business_date: date, counties: list[str] | None = None, url: str | None = None,
              rows: bool = True) -> Report:
    """The checks above (``rows=False``: all but the third, which re-reads every landed file)."""
    with connect(url) as conn:
        ledger = pd.DataFrame(conn.execute(
            "SELECT submission_id, county_code, record_type, status, rows_received, rows_loaded, rows_quarantined,"
            " source_file, lake_path, reason FROM ops.submission_current WHERE business_date = %s"
            " AND (%s::text[] IS NULL OR county_code = ANY(%s::text[]) OR status = %s)"
            " ORDER BY county_code, record_type",
            (business_date, counties, counties, UNEXPECTED)).fetchall(),
            columns=["submission_id", "county_code", "record_type", "status", "rows_received", "rows_loaded",
                     "rows_quarantined", "source_file", "lake_path", "reason"])
        report = Report(business_date, ledger, rows_checked=rows)
        have = set(zip(ledger.county_code, ledger.record_type, strict=True))
        owing = ledger.county_code[ledger.status != UNEXPECTED].unique()  # counties with a contract file row
        for code in counties or sorted(owing):
            for rt in RECORD_TYPES:
                if (code, rt) not in have:
                    report.problems.append(
                        f"{code} {rt}: no ledger entry for {business_date} (never processed: the run stopped before"
                        f" this county); re-run: supervision run --date {business_date} --counties {code}")
        _check_seen_files(conn, business_date, counties, report)
        if ledger.empty:
            return report
        # A file that failed in the pipeline is neither loaded nor quarantined, whatever its counts say
        # (rows unknown when it failed before they were counted): it stays unreconciled until a re-run settles it.
        for r in ledger[ledger.status == "failed"].itertuples():
            what = r.source_file or "(no file recorded)"
            rows = f"{r.rows_received} row(s) received, none" if r.rows_received else "rows unknown, nothing"
            report.problems.append(
                f"{r.county_code} {r.record_type} {what}: failed in the pipeline, {rows} loaded or quarantined"
                f" ({r.reason}); fix the cause, then re-run: supervision run --date {business_date}"
                f" --counties {r.county_code}")
        bad = ledger[(ledger.rows_received != ledger.rows_loaded + ledger.rows_quarantined) & (ledger.status != 'failed')]
        for r in bad.itertuples():
            report.problems.append(f"{r.county_code} {r.record_type} {r.source_file}: received {r.rows_received} "
                                   f"!= loaded {r.rows_loaded} + quarantined {r.rows_quarantined}")
        q = dict(conn.execute("SELECT submission_id, count(*) FROM ops.quarantine WHERE submission_id = ANY(%s)"
                              " GROUP BY submission_id", (ledger.submission_id.tolist(),)).fetchall())
        for r in ledger[ledger.status != "failed"].itertuples():  # a failed file is reported above
            # A rejected file with no readable rows (unreadable, or empty and rejected) has one whole-file entry.
            # (A file refused unread, e.g. a link or a pipe, has no source file and no entry: NaN is not a file.)
            has_file = isinstance(r.source_file, str) and bool(r.source_file)
            expected = 1 if (r.status == "rejected" and r.rows_quarantined == 0 and has_file) else r.rows_quarantined
            if q.get(r.submission_id, 0) != expected:
                report.problems.append(f"{r.county_code} {r.record_type} {r.source_file}: {q.get(r.submission_id, 0)} "
                                       f"quarantine rows, the ledger expects {expected}")
        if rows:
            _check_loaded_rows(conn, ledger, report)
    return report


# The newest content a nightly run saw at each path of the day (ops.file_arrival.pipeline_seen_at) must have a
# ledger row: a run that stopped while processing it (killed, or the warehouse down mid-merge) rolled its ledger
# row back, and an earlier file of the day being current must not hide that a newer one is still waiting.
_SEEN_NOT_RECORDED = """
SELECT DISTINCT ON (a.county_code, a.rel_path) a.county_code, a.rel_path, a.sha256, a.pipeline_seen_at,
       EXISTS (SELECT 1 FROM ops.submission s WHERE s.county_code = a.county_code
               AND s.business_date = a.business_date AND s.file_sha256 = a.sha256) AS recorded
FROM ops.file_arrival a
WHERE a.business_date = %(day)s AND a.pipeline_seen_at IS NOT NULL
  AND (%(codes)s::text[] IS NULL OR a.county_code = ANY(%(codes)s::text[]))
ORDER BY a.county_code, a.rel_path, a.pipeline_seen_at DESC"""


def _check_seen_files(conn, business_date: date, counties: list[str] | None, report: Report) -> None:
    for code, rel, sha, seen, recorded in conn.execute(_SEEN_NOT_RECORDED, {"day": business_date, "codes": counties}):
        if not recorded:
            report.problems.append(
                f"{code} {rel}: seen by the nightly run at {seen:%Y-%m-%d %H:%M:%S%z} (sha256 {sha[:12]}…) but never"
                f" recorded in the ledger: the run stopped while processing it; re-run: supervision run --date"
                f" {business_date} --counties {code}")


def _check_loaded_rows(conn, ledger: pd.DataFrame, report: Report) -> None:
    loaded = ledger[(ledger.rows_loaded > 0) & ledger.lake_path.notna()]
    for rt_name, group in loaded.groupby("record_type"):
        rt = RECORD_TYPES[rt_name]
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS reconcile_rows (submission_id bigint, county_code text,"
                     " record_id text, updated_at timestamptz) ON COMMIT DELETE ROWS")
        quarantined: dict[int, set[int]] = {}
        for sid, n in conn.execute("SELECT submission_id, row_number FROM ops.quarantine WHERE submission_id = ANY(%s)"
                                   " AND row_number IS NOT NULL", (group.submission_id.tolist(),)).fetchall():
            quarantined.setdefault(sid, set()).add(n)
        with conn.transaction():
            with conn.cursor().copy("COPY reconcile_rows FROM STDIN") as copy:
                for r in group.itertuples():
                    landed = read_landed(r.lake_path, ["_row_number", "record_id", "updated_at"])
                    # the lake keeps keys as received; core holds them in key form (NFKC)
                    keys = record_keys(landed["record_id"])
                    landed = landed.set_column(landed.column_names.index("record_id"), "record_id", keys).to_pandas()
                    landed = landed[~landed._row_number.isin(quarantined.get(r.submission_id, set()))]
                    stamps = pd.to_datetime(landed.updated_at, utc=True, format="ISO8601")
                    for rid, ts in zip(landed.record_id, stamps, strict=True):
                        copy.write_row((r.submission_id, r.county_code, rid, ts))
            conn.execute("ANALYZE reconcile_rows")  # a temp table has no statistics: the planner would guess
            # Landed rows found, not join matches: a correction that keeps updated_at leaves two stored versions
            # with the same (county, record id, updated_at), the current one and the superseded one. A semi-join
            # (WHERE EXISTS), not a per-row sub-plan (count(*) FILTER (WHERE EXISTS …)): on a national night the
            # sub-plan probed core once per landed row through an index it could use only by record_id (core's
            # county_code is char(6)): > 10 min for 1.9 M complaints, the semi-join's hash join 4 s.
            found = dict(conn.execute(sql.SQL(
                "SELECT t.submission_id, count(*) FROM reconcile_rows t WHERE EXISTS (SELECT FROM {} h"
                " WHERE h.county_code = t.county_code AND h.record_id = t.record_id AND h.updated_at = t.updated_at)"
                " GROUP BY t.submission_id").format(sql.Identifier("core", f"{rt.table}_history"))).fetchall())
        for r in group.itertuples():
            if found.get(r.submission_id, 0) != r.rows_loaded:
                report.problems.append(f"{r.county_code} {r.record_type} {r.source_file}: {found.get(r.submission_id, 0)}"
                                       f" of {r.rows_loaded} loaded rows found in core.{rt.table}_history")


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)


def _pad(s: str, w: int, right: bool = False) -> str:
    fill = " " * max(0, w - _width(s))
    return fill + s if right else s + fill


def render_report(report: Report) -> str:
    lg = report.ledger
    types = list(RECORD_TYPES)
    short = {"enforcement_cases": "enforce", "reconsideration_cases": "reconsid", "litigation_cases": "litig",
             "complaints": "complaint"}
    head = ["county", "name", "city"] + [short[t] for t in types] + ["received", "loaded", "quarant."]
    widths = [6, 14, 10, 9, 9, 9, 9, 9, 9, 9]
    lines = [f"Business date {report.business_date}: per-county results", "  ".join(
        _pad(h, w, i >= 7) for i, (h, w) in enumerate(zip(head, widths, strict=True)))]
    for code, g in lg.groupby("county_code", sort=True):
        d = divisions.division(code) or {"name": "?", "city_code": None}
        city = (divisions.division(d["city_code"]) or {"name": "-"})["name"] if d.get("city_code") else "-"
        status = dict(zip(g.record_type, g.status, strict=True))
        cells = [code, d["name"], city] + [STATUS_LABELS.get(status.get(t), status.get(t)) for t in types] + [
            str(int(g.rows_received.sum())), str(int(g.rows_loaded.sum())), str(int(g.rows_quarantined.sum()))]
        lines.append("  ".join(_pad(c, w, i >= 7) for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    t = report.totals
    lines.append(f"Total: {t['counties']} counties, {t['files']} files; rows received {t['rows_received']}, loaded "
                 f"{t['rows_loaded']}, quarantined {t['rows_quarantined']}; files late {t['late']}, missing "
                 f"{t['missing']}, rejected {t['rejected']}, source errors {t['source_error']}, failed {t['failed']}"
                 + (f"; unexpected drop-folder entries (engineers alerted) in {t['unexpected']} folder(s)"
                    if t["unexpected"] else ""))
    notes = lg[lg.status.isin(["rejected", "missing", "late", "source_error", "failed", UNEXPECTED]) | lg.reason.notna()]
    if len(notes):
        lines.append("Findings:")
        lines += [f"  - {reason}" for reason in dict.fromkeys(r.reason for r in notes.itertuples() if r.reason)]
    ok = ("OK, every received row is loaded or quarantined" if report.rows_checked else
          "OK by the ledger (statuses and counts; `supervision reconcile` also checks every loaded row)")
    lines.append("Reconciliation: " + (ok if report.ok else "FAILED\n  " + "\n  ".join(report.problems)))
    return "\n".join(lines)
