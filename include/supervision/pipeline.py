"""One county's night: discover → read → land raw Parquet → validate (GX) → split → load / quarantine → ledger.

Airflow calls :func:`process_county` from a mapped task; tests call it directly. Each record type is
processed in its own try block and its own transaction, so one bad file never stops the county's other
files, and one county never stops another (each is its own task instance).
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from dataclasses import asdict, dataclass, field
from datetime import UTC, date
from pathlib import Path

import pandas as pd
from psycopg import sql

from supervision import settings
from supervision.contract import RECORD_TYPES, RecordType
from supervision.landing import land_raw, land_rejected_bytes
from supervision.registry import County
from supervision.sources import RawBatch
from supervision.sources.filedrop import DayDrop, UnreadableFile, UnsafePath, discover, read_file
from supervision.validation import SchemaDrift, compute_rules, rule_specs, run_gx
from supervision.warehouse.connection import connect
from supervision.warehouse.ledger import (
    record_submission,
    resolve_quarantine,
    write_quarantine,
    write_warnings,
)
from supervision.warehouse.load import load_records

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    county_code: str
    record_type: str
    status: str  # loaded | loaded_with_quarantine | rejected | missing | late | failed
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    source_file: str | None = None
    submission_id: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunContext:
    business_date: date
    drop_root: Path
    lake_root: Path
    validation_root: Path
    warehouse_url: str | None = None
    run_id: str | None = None
    # record ids seen this night per (county, record type), valid or not: cross-record checks accept them
    night_ids: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    @classmethod
    def default(cls, business_date: date, drop_root: Path | None = None, run_id: str | None = None,
                warehouse_url: str | None = None) -> RunContext:
        return cls(business_date, Path(drop_root or settings.drop_root()).resolve(), settings.lake_root(),
                   settings.data_dir() / "validation", warehouse_url, run_id)


def process_county(county: County, ctx: RunContext) -> list[FileOutcome]:
    if county.transport != "file_drop":  # HTTP API and database counties: pull, then ingest() (docs/sources.md)
        from supervision.sources.dispatch import pull_county

        return pull_county(county, ctx)
    outcomes = []
    try:
        day = discover(ctx.drop_root, county.code, ctx.business_date)
    except UnsafePath as e:
        return [_record_nothing(county, rt, ctx, "failed", str(e)) for rt in RECORD_TYPES]
    for rt in RECORD_TYPES.values():
        try:
            outcomes.append(process_file(county, rt, day, ctx))
        except Exception as e:  # the county's other files still go through; the ledger says what broke
            log.exception("%s %s failed", county.code, rt.name)
            outcomes.append(_record_nothing(
                county, rt.name, ctx, "failed",
                f"pipeline error ({type(e).__name__}: {e}); the engineers are told; re-run the date after the fix",
                detail=traceback.format_exc(limit=3)))
    return outcomes


def _label(county: County) -> str:
    return f"county {county.code} {county.name} ({county.city_name})"


def _record_nothing(county: County, record_type: str, ctx: RunContext, status: str, reason: str,
                    source_file: str | None = None, detail: str | None = None) -> FileOutcome:
    if detail:
        log.error("%s", detail)
    with connect(ctx.warehouse_url) as conn:
        sid = record_submission(
            conn, county_code=county.code, record_type=record_type, business_date=ctx.business_date,
            source_kind="file_drop", source_file=source_file, file_sha256=None, file_format=None, encoding=None,
            received_at=None, manifest_rows=None, manifest_status=None, rows_received=0, rows_loaded=0,
            rows_quarantined=0, status=status, reason=reason, lake_path=None, validation_ref=None,
            run_id=ctx.run_id)
    return FileOutcome(county.code, record_type, status, reason=reason, source_file=source_file, submission_id=sid)


def process_file(county: County, rt: RecordType, day: DayDrop, ctx: RunContext) -> FileOutcome:
    where = _label(county)
    if not day.exists:
        return _record_nothing(county, rt.name, ctx, "late", (
            f"{where}: nothing received for {ctx.business_date} (folder {county.code}/{ctx.business_date} absent; "
            f"deadline {county.deadline_at(ctx.business_date):%Y-%m-%d %H:%M} Asia/Shanghai). "
            "Ask the county to drop its files, then re-run the date."))
    if rt.name in day.problems:
        return _record_nothing(county, rt.name, ctx, "rejected", f"{where}: {rt.name}: {day.problems[rt.name]}")
    path = day.files.get(rt.name)
    if path is None:
        listed = day.manifest is not None and rt.name in day.manifest
        return _record_nothing(county, rt.name, ctx, "missing", (
            f"{where}: no {rt.name} file for {ctx.business_date}"
            + (" although the manifest lists one" if listed else "")
            + ". A day with nothing to report still needs a file with just the header line."))
    rel = str(path.relative_to(ctx.drop_root))
    try:
        raw = read_file(path, day.encoding)
    except UnreadableFile as e:
        return _reject_unreadable(county, rt, day, ctx, path, rel, str(e))
    manifest_status, manifest_rows, manifest_problem = _check_manifest(day, rt.name, raw)
    notes = []
    if manifest_status == "no_manifest":
        notes.append("no manifest.json (file read anyway)" + (f": {day.manifest_error}" if day.manifest_error else ""))
    elif manifest_status == "not_listed":
        notes.append(f"{rt.name} is not listed in manifest.json")
    return ingest(county, rt, raw, ctx, source_kind="file_drop", source_ref=rel, manifest_status=manifest_status,
                  manifest_rows=manifest_rows, batch_problem=manifest_problem, notes=notes)


def ingest(county: County, rt: RecordType, raw: RawBatch, ctx: RunContext, *, source_kind: str, source_ref: str,
           manifest_status: str | None = None, manifest_rows: int | None = None,
           batch_problem: tuple[str, str] | None = None, notes: list[str] | None = None) -> FileOutcome:
    """The same for every transport: land raw Parquet → schema → rules + GX → split → load / quarantine → ledger.

    ``batch_problem`` = (rule id, text) rejects the whole batch before validation (e.g. a damaged transfer).
    """
    where, rel, notes = _label(county), source_ref, list(notes or [])
    if "record_id" in raw.frame:
        ctx.night_ids.setdefault((county.code, rt.name), set()).update(raw.frame["record_id"].dropna())
    lake_path = land_raw(ctx.lake_root, raw, rt.name, ctx.business_date, county.code, rel)
    base = dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                source_kind=source_kind, source_file=rel, file_sha256=raw.sha256, file_format=raw.format,
                encoding=raw.encoding, received_at=raw.received_at, manifest_rows=manifest_rows,
                manifest_status=manifest_status, rows_received=raw.rows, lake_path=str(lake_path), run_id=ctx.run_id)

    if batch_problem:
        rule, text = batch_problem
        reason = f"{where}: {rel} rejected: {text}. Re-send the file and its manifest line."
        return _reject_whole(county, rt, ctx, raw, rel, base, reason, {rule: text}, validation_ref=None)
    try:
        checked = compute_rules(raw.frame, rt, county.code, ctx.business_date, _known_ids(county, rt, raw, ctx))
    except SchemaDrift as e:
        reason = f"{where}: {rel} rejected: {e}. Send the columns of contract v1 ({rt.name})."
        return _reject_whole(county, rt, ctx, raw, rel, base, reason, {"file.schema": str(e)}, validation_ref=None)

    # One GX run per received file (run name = county, date, type, content hash): a re-run rewrites the same result.
    gx_result = run_gx(checked, rt, run_name=f"{county.code}-{ctx.business_date}-{rt.name}-{raw.sha256[:16]}",
                       run_time=raw.received_at.astimezone(UTC))
    _write_validation(ctx, county.code, rt.name, raw.sha256, rel, gx_result)
    validation_ref = gx_result["data_docs_page"]
    failures = checked.failures()
    share = len(failures) / raw.rows if raw.rows else 0.0
    if failures and share > county.reject_threshold:
        reason = (f"{where}: {rel} rejected: {len(failures)} of {raw.rows} rows ({share:.0%}) break rules, "
                  f"over the county's threshold of {county.reject_threshold:.0%}. Fix the rows listed in "
                  f"ops.quarantine and re-send the whole file.")
        return _reject_whole(county, rt, ctx, raw, rel, base, reason, {
            "file.reject_threshold": f"the file's rejected share {share:.0%} is over {county.reject_threshold:.0%}"},
            validation_ref=validation_ref, row_failures=failures)

    quarantine = _quarantine_rows(county, rt, ctx, raw, rel, failures)
    status = "loaded_with_quarantine" if failures else "loaded"
    warnings = checked.warnings()
    findings = notes + ([f"{len(failures)} row(s) quarantined: " + _rule_summary(failures)] if failures else [])
    findings += [f"{len(warnings)} warning(s): " + _rule_summary(warnings)] if warnings else []
    reason = f"{where}: {rel}: " + "; ".join(findings) if findings else None
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        sid = record_submission(conn, **base, rows_loaded=raw.rows - len(failures), rows_quarantined=len(failures),
                                status=status, reason=reason, validation_ref=validation_ref)
        write_quarantine(conn, sid, quarantine)
        write_warnings(conn, sid, _warning_rows(county, rt, ctx, raw, rel, warnings))
        result = load_records(conn, rt, checked.valid_rows, sid)
        resolved = resolve_quarantine(conn, sid, checked.valid_rows["record_id"].dropna().tolist())
    if resolved:
        log.info("%s %s: %d earlier quarantined row(s) resolved by this file", county.code, rt.name, resolved)
    log.info("%s %s: %d received, %d loaded (%d new, %d updated, %d unchanged), %d quarantined",
             county.code, rt.name, raw.rows, result.rows_in, result.inserted, result.updated, result.unchanged,
             len(failures))
    return FileOutcome(county.code, rt.name, status, raw.rows, raw.rows - len(failures), len(failures),
                       reason, rel, sid)


def _check_manifest(day: DayDrop, record_type: str, raw: RawBatch):
    if day.manifest is None:
        return "no_manifest", None, None
    entry = day.manifest.get(record_type)
    if entry is None:
        return "not_listed", None, None
    if entry.sha256 and entry.sha256 != raw.sha256:
        return "mismatch", entry.rows, ("file.manifest_sha256", (
            f"damaged transfer: sha256 {raw.sha256[:12]}… differs from the manifest's {entry.sha256[:12]}…"))
    if entry.rows is not None and entry.rows != raw.rows:
        return "mismatch", entry.rows, ("file.manifest_rows", (
            f"damaged transfer: {raw.rows} data rows, the manifest says {entry.rows}"))
    return "ok", entry.rows, None


def _reject_unreadable(county, rt, day, ctx, path, rel, error) -> FileOutcome:
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    kept = land_rejected_bytes(ctx.lake_root, path, sha, rt.name, ctx.business_date, county.code)
    reason = (f"{_label(county)}: file {rel} rejected: unreadable as {path.suffix.lstrip('.')}: {error}. "
              f"The bytes received are kept at {kept}. Re-send a valid file.")
    entry = day.manifest.get(rt.name) if day.manifest else None
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        sid = record_submission(
            conn, county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
            source_kind="file_drop", source_file=rel, file_sha256=sha, file_format=path.suffix.lstrip("."),
            encoding=day.encoding, received_at=None, manifest_rows=entry.rows if entry else None,
            manifest_status=None, rows_received=0, rows_loaded=0, rows_quarantined=0, status="rejected",
            reason=reason, lake_path=str(kept), validation_ref=None, run_id=ctx.run_id)
        write_quarantine(conn, sid, [dict(
            county_code=county.code, record_type=rt.name, business_date=ctx.business_date, source_file=rel,
            row_number=None, record_id=None, raw_row={"kept_at": str(kept), "error": error},
            failed_rules=["file.readable"], messages=[reason])])
    return FileOutcome(county.code, rt.name, "rejected", reason=reason, source_file=rel, submission_id=sid)


def _reject_whole(county, rt, ctx, raw, rel, base, reason, file_rules: dict[str, str], validation_ref,
                  row_failures=None) -> FileOutcome:
    """Every row of the file goes to quarantine, each with the file-level rule and its own row rules."""
    own = dict(row_failures or [])
    rows = _raw_records(raw.frame)
    quarantine = []
    if not rows:  # an empty file rejected whole still leaves one whole-file entry, so every rejection is traceable
        quarantine.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                               source_file=rel, row_number=None, record_id=None, raw_row={},
                               failed_rules=list(file_rules), messages=[reason]))
    for pos, rec in enumerate(rows):
        rules = list(file_rules) + own.get(pos, [])
        messages = [f"{_label(county)} file {rel} row {rec['_row_number']}: {r}: {file_rules.get(r) or _describe(rt, r)}"
                    for r in rules]
        quarantine.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                               source_file=rel, row_number=rec.pop("_row_number"), record_id=rec.get("record_id"),
                               raw_row=rec, failed_rules=rules, messages=messages))
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        sid = record_submission(conn, **base, rows_loaded=0, rows_quarantined=raw.rows, status="rejected",
                                reason=reason, validation_ref=validation_ref)
        write_quarantine(conn, sid, quarantine)
    return FileOutcome(county.code, rt.name, "rejected", raw.rows, 0, raw.rows, reason, rel, sid)


def _quarantine_rows(county, rt, ctx, raw: RawBatch, rel: str, failures) -> list[dict]:
    if not failures:
        return []
    positions = [pos for pos, _ in failures]
    records = _raw_records(raw.frame.iloc[positions])
    out = []
    for (_, rules), rec in zip(failures, records, strict=True):
        row = rec.pop("_row_number")
        messages = []
        for r in rules:
            spec_field = r.split(".")[0] if "." in r else None
            got = f" (got {rec.get(spec_field)!r})" if spec_field in rec else ""
            messages.append(f"{_label(county)} file {rel} row {row}: {r}: {_describe(rt, r)}{got}")
        out.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                        source_file=rel, row_number=row, record_id=rec.get("record_id"), raw_row=rec,
                        failed_rules=rules, messages=messages))
    return out


def _warning_rows(county, rt, ctx, raw: RawBatch, rel: str, warnings) -> list[dict]:
    out = []
    for pos, rules in warnings:
        row = int(raw.frame["_row_number"].iat[pos])
        for r in rules:
            value = raw.frame[r.split(".")[0]].iat[pos]
            record_id = raw.frame["record_id"].iat[pos]
            out.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                            row_number=row, record_id=None if pd.isna(record_id) else str(record_id), rule=r,
                            message=f"{_label(county)} file {rel} row {row}: {r}: {_describe(rt, r)} (got {value!r})"))
    return out


def _known_ids(county: County, rt: RecordType, raw: RawBatch, ctx: RunContext) -> dict[str, set[str]]:
    """For each record type this one references: the referenced ids that exist this night or in the warehouse."""
    known: dict[str, set[str]] = {}
    for f in rt.fields:
        if not f.references or f.name not in raw.frame:
            continue
        wanted = set(raw.frame[f.name].dropna())
        night = wanted & ctx.night_ids.get((county.code, f.references), set())
        found: set[str] = set()
        if wanted - night:
            with connect(ctx.warehouse_url) as conn:
                found = {r for (r,) in conn.execute(
                    sql.SQL("SELECT record_id FROM {} WHERE county_code = %s AND record_id = ANY(%s)").format(
                        sql.Identifier("core", RECORD_TYPES[f.references].table)),
                    (county.code, list(wanted - night))).fetchall()}
        known[f.references] = known.get(f.references, set()) | night | found
    return known


def _raw_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if pd.isna(v) else (int(v) if k == "_row_number" else str(v))) for k, v in rec.items()}
            for rec in frame.to_dict("records")]


def _describe(rt: RecordType, rule: str) -> str:
    return _descriptions(rt).get(rule, rule)


def _descriptions(rt: RecordType, _cache: dict = {}) -> dict[str, str]:  # noqa: B006 - per-process memo
    if rt.name not in _cache:
        _cache[rt.name] = {s.id: s.description for s in rule_specs(rt)}
    return _cache[rt.name]


def _rule_summary(failures) -> str:
    counts: dict[str, int] = {}
    for _, rules in failures:
        for r in rules:
            counts[r] = counts.get(r, 0) + 1
    return ", ".join(f"{r} ×{n}" for r, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _write_validation(ctx: RunContext, county_code: str, record_type: str, sha: str, rel: str, result: dict) -> str:
    path = (ctx.validation_root / ctx.business_date.isoformat() / county_code / f"{record_type}-{sha[:16]}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"source_file": rel, "sha256": sha, **result}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return str(path)
