"""The submission ledger (``ops.submission``) and the quarantine (``ops.quarantine``).

An attempt is one received file (keyed by its sha256) or ``'none'`` when nothing arrived. Recording the
same attempt again updates it in place (re-runs are idempotent); a new attempt supersedes every earlier one
for the same county, record type and business day, so ``ops.submission_current`` shows one row each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import date, datetime

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

LEDGER_FIELDS = ("county_code", "record_type", "business_date", "source_kind", "source_file", "file_sha256",
                 "file_format", "encoding", "received_at", "manifest_rows", "manifest_status", "rows_received",
                 "rows_loaded", "rows_quarantined", "status", "reason", "lake_path", "validation_ref", "run_id",
                 "file_mtime")
# Identity of an attempt: never updated; everything else reflects the latest processing.
_KEY = ("county_code", "record_type", "business_date", "file_sha256")

_UPSERT = sql.SQL("""
INSERT INTO ops.submission ({cols}, first_processed_at, last_processed_at)
VALUES ({vals}, now(), now())
ON CONFLICT (county_code, record_type, business_date, attempt_key) DO UPDATE SET
    ({updates}, last_processed_at) = ({excluded}, now())
RETURNING submission_id""").format(
    cols=sql.SQL(", ").join(map(sql.Identifier, LEDGER_FIELDS)),
    vals=sql.SQL(", ").join(map(sql.Placeholder, LEDGER_FIELDS)),
    updates=sql.SQL(", ").join(sql.Identifier(c) for c in LEDGER_FIELDS if c not in _KEY),
    excluded=sql.SQL(", ").join(sql.Identifier("excluded", c) for c in LEDGER_FIELDS if c not in _KEY),
)

# The file received last is current: recording a file (again) reinstates it, even if it had been superseded
# (a county reverting to an earlier file), and supersedes whatever was current.
_REINSTATE = """
UPDATE ops.submission SET superseded_by = NULL
WHERE submission_id = %(id)s AND %(file_sha256)s::text IS NOT NULL AND superseded_by IS NOT NULL"""
# 'Nothing received' never supersedes a received file, only earlier 'nothing received' rows.
_SUPERSEDE = """
UPDATE ops.submission SET superseded_by = %(id)s
WHERE county_code = %(county_code)s AND record_type = %(record_type)s AND business_date = %(business_date)s
  AND submission_id <> %(id)s AND superseded_by IS NULL
  AND (%(file_sha256)s::text IS NOT NULL OR (attempt_key = 'none' AND submission_id < %(id)s))"""
# ... and a 'nothing received' row recorded while a file is current is superseded by that file at once.
_SUPERSEDED_BY_FILE = """
UPDATE ops.submission SET superseded_by = f.id
FROM (SELECT max(submission_id) AS id FROM ops.submission
      WHERE county_code = %(county_code)s AND record_type = %(record_type)s AND business_date = %(business_date)s
        AND attempt_key <> 'none' AND superseded_by IS NULL) f
WHERE submission_id = %(id)s AND attempt_key = 'none' AND superseded_by IS NULL AND f.id IS NOT NULL"""

QUARANTINE_COLUMNS = ("submission_id", "county_code", "record_type", "business_date", "source_file", "row_number",
                      "record_id", "raw_row", "failed_rules", "messages")
_COPY_QUARANTINE = sql.SQL("COPY ops.quarantine ({}) FROM STDIN").format(
    sql.SQL(", ").join(map(sql.Identifier, QUARANTINE_COLUMNS)))


def record_submission(
    conn: psycopg.Connection, *, county_code: str, record_type: str, business_date: date, source_kind: str,
    source_file: str | None, file_sha256: str | None, file_format: str | None, encoding: str | None,
    received_at: datetime | None, manifest_rows: int | None, manifest_status: str | None, rows_received: int,
    rows_loaded: int, rows_quarantined: int, status: str, reason: str | None, lake_path: str | None,
    validation_ref: str | None, run_id: str | None, file_mtime: datetime | None = None,
) -> int:
    """Upsert one attempt and return its ``submission_id``.

    Earlier attempts (smaller ids, i.e. first processed before this one) for the same county, type and day
    that are still current get ``superseded_by`` = this id: a file arriving after a 'late' or 'missing' row
    replaces it, a corrected file replaces the first one. The file received last is current: recording a file
    that had been superseded (a county reverting to its earlier file) makes it current again. 'Nothing
    received' never supersedes a received file (a re-run after the file was cleaned away from the drop
    folder must not hide the load that happened).

    ``received_at`` is when the pipeline first saw the file (:func:`observe_arrival`); ``file_mtime`` what the
    file's modification time said (the county sets it: information only).
    """
    params = {k: v for k, v in locals().items() if k in LEDGER_FIELDS}
    with conn.transaction():
        (sid,) = conn.execute(_UPSERT, params).fetchone()
        conn.execute(_REINSTATE, params | {"id": sid})
        conn.execute(_SUPERSEDE, params | {"id": sid})
        conn.execute(_SUPERSEDED_BY_FILE, params | {"id": sid})
    return sid


def write_quarantine(conn: psycopg.Connection, submission_id: int, rows: list[dict] | pd.DataFrame, *,
                     append: bool = False) -> int:
    """Replace the quarantined rows of ``submission_id`` with ``rows`` (``append``: add them) and return how many
    were written.

    Each row: ``row_number`` (1-based data row; None = the whole file), ``record_id``, ``raw_row`` (dict of
    the values as received), ``failed_rules`` and ``messages`` (lists of str), and optionally
    ``county_code``, ``record_type``, ``business_date``, ``source_file`` (default: the submission's).
    """
    records = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else list(rows)
    with conn.transaction():
        found = conn.execute(
            "SELECT county_code, record_type, business_date, source_file FROM ops.submission WHERE submission_id = %s",
            (submission_id,)).fetchone()
        if found is None:
            raise ValueError(f"no submission {submission_id} in ops.submission")
        defaults = dict(zip(("county_code", "record_type", "business_date", "source_file"), found, strict=True))
        if not append:
            conn.execute("DELETE FROM ops.quarantine WHERE submission_id = %s", (submission_id,))
        if not records:
            return 0
        with conn.cursor().copy(_COPY_QUARANTINE) as copy:
            for r in records:
                row = {k: _none(r.get(k)) for k in QUARANTINE_COLUMNS} | {"submission_id": submission_id}
                for k, v in defaults.items():
                    if row[k] is None:
                        row[k] = v
                row["raw_row"] = Jsonb(_raw(row["raw_row"])) if row["raw_row"] is not None else None
                row["row_number"] = None if row["row_number"] is None else int(row["row_number"])
                if isinstance(row["business_date"], datetime):
                    row["business_date"] = row["business_date"].date()
                row["failed_rules"] = _strings(r.get("failed_rules"))
                row["messages"] = _strings(r.get("messages"))
                copy.write_row([row[k] for k in QUARANTINE_COLUMNS])
    return len(records)


def _none(v):
    """pandas' missing values (NA, NaN, NaT) as None; lists and dicts pass through."""
    if v is None or isinstance(v, list | dict | tuple):
        return v
    try:
        return None if pd.isna(v) else v
    except (TypeError, ValueError):
        return v


def _strings(v) -> list[str]:
    """A list of str from a list, tuple, numpy array (DataFrame cells) or a single string."""
    if v is None:
        return []
    return [v] if isinstance(v, str) else [str(x) for x in v]


def _raw(raw) -> dict:
    if isinstance(raw, str):
        raw = json.loads(raw)
    return {str(k): None if _none(v) is None else str(v) for k, v in dict(raw).items()}


def write_warnings(conn: psycopg.Connection, submission_id: int, rows: list[dict]) -> int:
    """Replace the warnings of ``submission_id``: dicts with row_number, record_id, rule, message."""
    with conn.transaction():
        conn.execute("DELETE FROM ops.validation_warning WHERE submission_id = %s", (submission_id,))
        if rows:
            with conn.cursor().copy(
                    "COPY ops.validation_warning (submission_id, county_code, record_type, business_date, row_number,"
                    " record_id, rule, message) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row((submission_id, r["county_code"], r["record_type"], r["business_date"],
                                    r.get("row_number"), r.get("record_id"), r["rule"], r["message"]))
    return len(rows)


def resolve_quarantine(conn: psycopg.Connection, submission_id: int,
                       loaded_record_ids: list[str] | Callable[[], list[str]], *,
                       loaded_rows: Callable[[list[str]], Iterable[tuple]] | None = None,
                       fields_of: Callable[[str], Iterable[str]] | None = None) -> int:
    """Mark as resolved the open quarantine rows of earlier submissions of the same county, type and date that
    this submission fixes: a row whose record_id it loaded, or a whole-file entry (row_number NULL) now that a
    readable file arrived. Rows are never deleted; re-running is a no-op (only open rows are touched).

    A quarantined row without a record_id (it broke ``record_id.required``) cannot be matched by id: with
    ``loaded_rows`` (the loaded rows' values of the given columns) it is resolved when a loaded row carries the
    same values in every column the row filled and that no rule it broke looks at (``fields_of(rule)``), and
    ``updated_at`` (a corrected record gets a new one): the same row, corrected."""
    # The common case (nothing open for this county, type and date) must not pay for matching every loaded id.
    if not conn.execute(
            """SELECT EXISTS (SELECT 1 FROM ops.quarantine q JOIN ops.submission s USING (submission_id)
                 JOIN ops.submission me ON me.submission_id = %(sid)s
                WHERE s.county_code = me.county_code AND s.record_type = me.record_type
                  AND s.business_date = me.business_date AND s.submission_id < me.submission_id
                  AND q.resolved_at IS NULL)""", {"sid": submission_id}).fetchone()[0]:
        return 0
    cur = conn.execute(
        """UPDATE ops.quarantine q SET resolved_at = now(), resolved_by_submission = %(sid)s
             FROM ops.submission s, ops.submission me
            WHERE me.submission_id = %(sid)s AND q.submission_id = s.submission_id
              AND s.county_code = me.county_code AND s.record_type = me.record_type
              AND s.business_date = me.business_date AND s.submission_id < me.submission_id
              AND q.resolved_at IS NULL
              AND (q.row_number IS NULL OR q.record_id = ANY(%(ids)s))""",
        {"sid": submission_id, "ids": loaded_record_ids() if callable(loaded_record_ids) else loaded_record_ids})
    resolved = cur.rowcount
    if loaded_rows is not None:
        resolved += _resolve_by_content(conn, submission_id, loaded_rows, fields_of or (lambda rule: ()))
    return resolved


_NOT_COMPARED = ("record_id", "updated_at")


def _resolve_by_content(conn: psycopg.Connection, submission_id: int,
                        loaded_rows: Callable[[list[str]], Iterable[tuple]],
                        fields_of: Callable[[str], Iterable[str]]) -> int:
    open_rows = conn.execute(
        """SELECT q.quarantine_id, q.raw_row, q.failed_rules
             FROM ops.quarantine q JOIN ops.submission s USING (submission_id)
             JOIN ops.submission me ON me.submission_id = %(sid)s
            WHERE s.county_code = me.county_code AND s.record_type = me.record_type
              AND s.business_date = me.business_date AND s.submission_id < me.submission_id
              AND q.resolved_at IS NULL AND q.row_number IS NOT NULL AND q.record_id IS NULL""",
        {"sid": submission_id}).fetchall()
    # one pass over the loaded rows per set of compared columns (a file's id-less rows share few patterns)
    wanted: dict[tuple[str, ...], dict[tuple, list[int]]] = {}
    for qid, raw, rules in open_rows:
        broken = {f for r in rules for f in fields_of(r)}
        cols = tuple(sorted(k for k, v in (raw or {}).items()
                            if v is not None and k not in broken and k not in _NOT_COMPARED and not k.startswith("_")))
        if cols:  # a row with nothing left to compare cannot be recognised: it stays open
            wanted.setdefault(cols, {}).setdefault(tuple(raw[c] for c in cols), []).append(qid)
    matched: list[int] = []
    for cols, by_values in wanted.items():
        for values in loaded_rows(list(cols)):
            key = tuple(None if v is None else str(v) for v in values)
            if key in by_values:
                matched += by_values.pop(key)
                if not by_values:
                    break
    if not matched:
        return 0
    return conn.execute(
        "UPDATE ops.quarantine SET resolved_at = now(), resolved_by_submission = %s"
        " WHERE quarantine_id = ANY(%s) AND resolved_at IS NULL", (submission_id, matched)).rowcount


# First sighting of a file content: the first scan's row stays (ON CONFLICT DO NOTHING). The clock is the
# server's; a replay under an earlier controlled clock (tests, re-judging the past) may only claim earlier.
_OBSERVE = """
INSERT INTO ops.file_arrival (county_code, business_date, rel_path, sha256, first_seen_at, first_seen_by, file_mtime,
                              size, stat_sig, pipeline_seen_at)
VALUES (%(county_code)s, %(business_date)s, %(rel_path)s, %(sha256)s,
        least(now(), coalesce(%(clock)s::timestamptz, now())), %(by)s, %(file_mtime)s, %(size)s, %(stat_sig)s,
        CASE WHEN %(by)s = 'pipeline' THEN clock_timestamp() END)
ON CONFLICT (county_code, business_date, rel_path, sha256) DO UPDATE
    SET pipeline_seen_at = greatest(ops.file_arrival.pipeline_seen_at, excluded.pipeline_seen_at)
    WHERE excluded.pipeline_seen_at IS NOT NULL"""
_FIRST_SEEN = """
SELECT min(first_seen_at) FROM ops.file_arrival
WHERE county_code = %(county_code)s AND business_date = %(business_date)s AND sha256 = %(sha256)s"""


def observe_arrival(conn: psycopg.Connection, *, county_code: str, business_date: date, rel_path: str, sha256: str,
                    by: str, file_mtime: datetime | None = None, size: int | None = None,
                    stat_sig: str | None = None, clock: datetime | None = None) -> datetime:
    """Record that a scan (``by``: 'pipeline' or 'monitor') sees these bytes at ``rel_path`` now, unless an earlier
    scan did, and return when these bytes were first seen in the county's day folder (under any name)."""
    params = dict(county_code=county_code, business_date=business_date, rel_path=rel_path, sha256=sha256, by=by,
                  file_mtime=file_mtime, size=size, stat_sig=stat_sig, clock=clock)
    with conn.transaction():
        conn.execute(_OBSERVE, params)
        (first,) = conn.execute(_FIRST_SEEN, params).fetchone()
    return first
