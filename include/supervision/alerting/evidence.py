"""Gathering what the judge needs: the ledger, its quarantine, grants, history, and the drop folder right now.

A handful of set-based queries per monitor run (not per county), all parameterized.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql

from supervision.alerting.judge import Attempt, DropProbe, Evidence, Grant
from supervision.alerting.kinds import KINDS
from supervision.alerting.settings import AlertSettings
from supervision.contract import RECORD_TYPES
from supervision.registry import County
from supervision.settings import TIMEZONE
from supervision.sources.filedrop import FORMATS, oddity, stat_signature
from supervision.warehouse.ddl import history_table
from supervision.warehouse.ledger import observe_arrival

log = logging.getLogger(__name__)
TZ = ZoneInfo(TIMEZONE)
ONGOING = [k for k, v in KINDS.items() if v.ongoing]

_ATTEMPTS = """
SELECT s.submission_id, s.county_code, s.record_type, s.business_date, s.status, s.file_sha256 IS NOT NULL,
       s.superseded_by IS NULL, s.received_at, s.first_processed_at, s.source_file, s.rows_received, s.rows_loaded,
       s.rows_quarantined, s.reason, s.validation_ref
FROM ops.submission s
WHERE s.county_code = ANY(%(codes)s) AND s.business_date = ANY(%(dates)s)"""
# Drop-root entries of no registered county ('unexpected' rows under a code not in the registry).
_STRAYS = _ATTEMPTS.replace("s.county_code = ANY(%(codes)s)", "NOT (s.county_code = ANY(%(codes)s))") + """
  AND s.status = 'unexpected' AND s.superseded_by IS NULL"""
# What earlier scans saw: the monitor re-hashes only files whose stat signature it has not seen.
_SEEN = """
SELECT county_code, business_date, rel_path, sha256, stat_sig, first_seen_at FROM ops.file_arrival
WHERE county_code = ANY(%(codes)s) AND business_date = ANY(%(dates)s)"""

# Per quarantined submission: rows that break a row rule, and rows per rule (whole-file rules included).
_QUARANTINE = """
WITH q AS (
    SELECT submission_id, failed_rules FROM ops.quarantine WHERE submission_id = ANY(%(ids)s)
)
SELECT submission_id, NULL::text AS rule,
       count(*) FILTER (WHERE EXISTS (SELECT 1 FROM unnest(failed_rules) r WHERE NOT starts_with(r, 'file.')))
FROM q GROUP BY submission_id
UNION ALL
SELECT submission_id, r, count(*) FROM q CROSS JOIN LATERAL unnest(q.failed_rules) AS r GROUP BY submission_id, r"""

_GRANTS = """
SELECT exception_id, kind, county_code, record_type, date_from, date_to, deadline_until, extra_hours, approved_by,
       reason
FROM ops.submission_exception
WHERE county_code = ANY(%(codes)s) AND granted_at <= %(now)s AND (revoked_at IS NULL OR revoked_at > %(now)s)
  AND date_to >= %(lo)s AND date_from <= %(hi)s
ORDER BY exception_id"""

_VOLUMES = """
SELECT county_code, record_type, business_date, rows_received FROM ops.submission_current
WHERE county_code = ANY(%(codes)s) AND status IN ('loaded', 'loaded_with_quarantine')
  AND business_date BETWEEN %(lo)s AND %(hi)s"""

# Business dates on which a county's submission of this type brought at least one new version of a record.
_CHANGES = sql.SQL("""
SELECT s.county_code, s.business_date FROM ops.submission s
WHERE s.county_code = ANY(%(codes)s) AND s.record_type = %(rt)s AND s.business_date BETWEEN %(lo)s AND %(hi)s
  AND s.status IN ('loaded', 'loaded_with_quarantine')
  AND EXISTS (SELECT 1 FROM {hist} h WHERE h.submission_id = s.submission_id)
GROUP BY 1, 2""")


def local_today(now: datetime) -> date:
    return now.astimezone(TZ).date()


def gather(conn: psycopg.Connection, counties: list[County], settings: AlertSettings, now: datetime, *,
           drop_root: Path | None, full_registry: bool = True, since: date | None = None) -> Evidence:
    """Everything the judge looks at, as of ``now``. ``since`` widens the verdict window (back-fills scorecards)."""
    codes = [c.code for c in counties]
    today = local_today(now)
    open_dates = {d for (d,) in conn.execute(
        "SELECT DISTINCT business_date FROM ops.alert WHERE state <> 'resolved' AND NOT (kind = ANY(%s))"
        " AND (county_code = ANY(%s) OR county_code IS NULL)", (ONGOING, codes))}
    # Deadlines are at most a few days after their date (more with deadline_on_rest_days over a long holiday).
    span = max(settings.chronic_n, settings.lookback_days) + 10
    start = min([today - timedelta(days=span), *([since] if since else [])])
    dates = sorted({start + timedelta(days=i) for i in range((today - start).days + 1)} | open_dates)
    first_seen = dict(conn.execute(
        "SELECT county_code, min(business_date) FROM ops.submission WHERE county_code = ANY(%s) GROUP BY 1",
        (codes,)).fetchall())
    (system_start,) = conn.execute("SELECT min(business_date) FROM ops.submission").fetchone()
    ev = Evidence(now=now, dates=dates, alert_dates=open_dates, first_seen=first_seen, system_start=system_start,
                  full_registry=full_registry, lookback=timedelta(days=settings.lookback_days))
    ev.attempts = _attempts(conn, codes, dates)
    ev.grants = [Grant(*row[:7], float(row[7]) if row[7] is not None else None, *row[8:]) for row in conn.execute(
        _GRANTS, {"codes": codes, "now": now, "lo": dates[0], "hi": dates[-1]})]
    stale_span = max(settings.stale_days.values())
    lo = min(dates[0] - timedelta(days=settings.volume.history_days), today - timedelta(days=stale_span))
    volumes: dict = defaultdict(dict)
    for county, rt, d, rows in conn.execute(_VOLUMES, {"codes": codes, "lo": lo, "hi": today}):
        volumes[(county, rt)][d] = rows
    ev.volumes = dict(volumes)
    changes: dict = defaultdict(dict)
    for rt, spec in RECORD_TYPES.items():
        query = _CHANGES.format(hist=sql.Identifier("core", history_table(spec)))
        for county, d in conn.execute(query, {"codes": codes, "rt": rt, "lo": lo, "hi": today}):
            changes[(county, rt)][d] = 1
    ev.changes = dict(changes)
    if full_registry:
        ev.strays = [Attempt(*r) for r in conn.execute(_STRAYS, {"codes": codes, "dates": dates})]
    if drop_root is not None:
        ev.probes = probe_drop_folder(drop_root, [c for c in counties if c.transport == "file_drop"], dates, conn, now)
    return ev


def _attempts(conn: psycopg.Connection, codes: list[str], dates: list[date]) -> dict[tuple[str, date], list[Attempt]]:
    rows = conn.execute(_ATTEMPTS, {"codes": codes, "dates": dates}).fetchall()
    quarantined = [r[0] for r in rows if r[4] in ("rejected", "loaded_with_quarantine")]
    bad: dict[int, int] = {}
    rules: dict[int, list[tuple[str, int]]] = defaultdict(list)
    if quarantined:
        for sid, rule, n in conn.execute(_QUARANTINE, {"ids": quarantined}):
            if rule is None:
                bad[sid] = n
            else:
                rules[sid].append((rule, n))
    out: dict[tuple[str, date], list[Attempt]] = defaultdict(list)
    for r in rows:
        sid = r[0]
        ranked = tuple(sorted(rules.get(sid, []), key=lambda x: (-x[1], x[0])))
        out[(r[1], r[3])].append(Attempt(*r, bad_rows=bad.get(sid, 0), rules=ranked))
    return dict(out)


def probe_drop_folder(drop_root: Path, counties: list[County], dates: list[date], conn: psycopg.Connection,
                      now: datetime) -> dict[tuple[str, date], DropProbe]:
    """For each file-drop county and date: does the day folder exist, and which record-type files are in it, each
    with when a scan first saw its bytes there (this scan records the first sighting of what it sees anew).

    Nothing is trusted: folders and files are looked at with ``lstat``; a link, a pipe or any other special file
    is not a submission (never followed or opened); the modification time is not the arrival time."""
    root = Path(drop_root)
    if not root.is_dir():
        log.warning("drop folder %s does not exist: lateness of file-drop counties is judged from the ledger only",
                    root)
        return {}
    seen: dict[tuple[str, date, str], dict[str, str]] = defaultdict(dict)  # (county, date, path) -> sig -> sha
    first: dict[tuple[str, date, str], datetime] = {}  # (county, date, sha) -> first seen (any path)
    for code, d, rel, sha, sig, at in conn.execute(_SEEN, {"codes": [c.code for c in counties], "dates": dates}):
        if sig:
            seen[(code, d, rel)][sig] = sha
        first[(code, d, sha)] = min(first.get((code, d, sha), at), at)
    out = {}
    for county in counties:
        if not _real_dir(root / county.code):
            out.update({(county.code, d): DropProbe(False) for d in dates})
            continue
        for d in dates:
            folder = root / county.code / d.isoformat()
            if not _real_dir(folder):
                out[(county.code, d)] = DropProbe(False)
                continue
            files: dict[str, datetime] = {}
            with os.scandir(folder) as it:
                entries = list(it)
            for entry in entries:
                stem, _, ext = entry.name.partition(".")
                if stem not in RECORD_TYPES or ext.lower() not in FORMATS:
                    continue
                st = entry.stat(follow_symlinks=False)
                if oddity(st) is not None:
                    continue  # a link, a pipe, a hard link: not a submission (the nightly run says why)
                rel = f"{county.code}/{d.isoformat()}/{entry.name}"
                sig = stat_signature(st)
                sha = seen.get((county.code, d, rel), {}).get(sig)
                if sha is None or (county.code, d, sha) not in first:
                    sha = _sha256(Path(entry.path), st)
                    if sha is None:
                        continue  # replaced while looking: the next scan sees what is there
                    first[(county.code, d, sha)] = observe_arrival(
                        conn, county_code=county.code, business_date=d, rel_path=rel, sha256=sha, by="monitor",
                        file_mtime=datetime.fromtimestamp(st.st_mtime, tz=TZ), size=st.st_size, stat_sig=sig,
                        clock=now)
                ts = first[(county.code, d, sha)].astimezone(TZ)
                files[stem] = min(files.get(stem, ts), ts)
            out[(county.code, d)] = DropProbe(True, files)
    return out


def _real_dir(path: Path) -> bool:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return oddity(st, want_dir=True) is None


def _sha256(path: Path, st: os.stat_result) -> str | None:
    """The file's sha256, opened without following links and without blocking (a pipe swapped in is refused),
    only if it is still the file ``st`` describes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
            return None
        digest = hashlib.sha256()
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return digest.hexdigest()
