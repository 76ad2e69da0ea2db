"""The one consumer of every source's batches: land raw Parquet → schema → rules + GX → split → load /
quarantine → ledger (:func:`ingest`), and the ledger row of what a source could not read (:func:`record`).

Knows no transport: a file drop, an API pull and a database pull arrive alike as
:class:`~supervision.ingest.batch.Batch` (rows) or :class:`~supervision.ingest.batch.NoBatch` (no rows). Each
batch is its own transaction, so one bad file never stops the county's other files.
"""

from __future__ import annotations

import logging

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from supervision import county_text as txt
from supervision import resources
from supervision.arrow_text import fingerprints, sorted_unique
from supervision.contract import RECORD_TYPES, RecordType, rule_fields
from supervision.identifiers import record_key, record_keys
from supervision.ingest.batch import Batch, NoBatch
from supervision.ingest.outcome import FileOutcome, RunContext
from supervision.landing import Lander
from supervision.registry import County
from supervision.sources import ROW_NUMBER, RawBatch
from supervision.validation import SchemaDrift, check_batch, check_schema, rule_specs
from supervision.validation.gx_run import ShardValidation
from supervision.warehouse.connection import connect
from supervision.warehouse.ledger import (
    record_submission,
    resolve_quarantine,
    write_quarantine,
    write_warnings,
)
from supervision.warehouse.load import RecordLoader

log = logging.getLogger(__name__)


def consume(county: County | None, item: Batch | NoBatch, ctx: RunContext) -> FileOutcome:
    """One item of a county's source: its rows ingested, or its ledger row when it has none."""
    if isinstance(item, NoBatch):
        return record(item, ctx)
    return ingest(county, RECORD_TYPES[item.record_type], item.raw, ctx, source_kind=item.source_kind,
                  source_ref=item.source_ref, manifest_status=item.manifest_status, manifest_rows=item.manifest_rows,
                  batch_problem=item.problem, notes=item.notes)


def record(item: NoBatch, ctx: RunContext) -> FileOutcome:
    """The ledger row of what a source could not turn into rows (nothing received, nothing loaded), with its one
    whole-batch quarantine entry when the bytes were refused (kept in the lake)."""
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        sid = record_submission(
            conn, county_code=item.county_code, record_type=item.record_type, business_date=ctx.business_date,
            source_kind=item.source_kind, source_file=item.source_file, file_sha256=item.sha256,
            file_format=item.file_format, encoding=item.encoding, received_at=item.received_at,
            manifest_rows=item.manifest_rows, manifest_status=None, rows_received=item.rows_received,
            rows_loaded=0, rows_quarantined=0, status=item.status, reason=item.reason, lake_path=item.lake_path,
            validation_ref=None, run_id=ctx.run_id, file_mtime=item.file_mtime)
        if item.quarantine is not None:
            rule, raw_row = item.quarantine
            write_quarantine(conn, sid, [dict(
                county_code=item.county_code, record_type=item.record_type, business_date=ctx.business_date,
                source_file=item.source_file, row_number=None, record_id=None, raw_row=raw_row, failed_rules=[rule],
                messages=[item.reason])])
    return FileOutcome(item.county_code, item.record_type, item.status, item.rows_received, reason=item.reason,
                       source_file=item.source_file, submission_id=sid, retry=item.retry)


def _label(county: County) -> str:
    return f"county {county.code} {county.name} ({county.city_name})"


def batch_rows() -> int:
    """Rows per batch: validation of batch k+1 runs while the warehouse loads batch k; memory stays bounded."""
    return resources.variables().batch_rows


FIRST_BATCH_ROWS = 25_000  # a small first batch: the warehouse COPY, the longest stage, starts sooner


def _referenced_types() -> frozenset[str]:
    return frozenset(f.references for rt in RECORD_TYPES.values() for f in rt.fields if f.references)


def ingest(county: County, rt: RecordType, raw: RawBatch, ctx: RunContext, *, source_kind: str, source_ref: str,
           manifest_status: str | None = None, manifest_rows: int | None = None,
           batch_problem: tuple[str, str] | None = None, notes: list[str] | None = None) -> FileOutcome:
    """The same for every transport: land raw Parquet → schema → rules + GX → split → load / quarantine → ledger.

    Rows flow in batches (``SUPERVISION_BATCH_ROWS``): the main thread validates batch k+1 while the loader's
    thread COPYs batch k, and memory stays bounded for any file size. Everything for the file (ledger row,
    loaded rows, quarantine, warnings) is one transaction; a file rejected as a whole (over its county's
    threshold) rolls its loaded rows back to a savepoint. ``batch_problem`` = (rule id, text) rejects the whole
    batch before validation (e.g. a damaged transfer).
    """
    rel, notes = source_ref, list(notes or [])
    if rt.name in _referenced_types() and (prints := raw.id_fingerprints()) is not None:
        ctx.night_ids.setdefault((county.code, rt.name), []).append(sorted_unique(prints))
    lander = Lander(ctx.lake_root, raw, rt.name, ctx.business_date, county.code, rel)
    base = dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                source_kind=source_kind, source_file=rel, file_sha256=raw.sha256, file_format=raw.format,
                encoding=raw.encoding, received_at=raw.received_at, file_mtime=raw.file_mtime,
                manifest_rows=manifest_rows,
                manifest_status=manifest_status, rows_received=raw.rows, lake_path=str(lander.target), run_id=ctx.run_id)
    try:
        if batch_problem:
            lander.land_all(batch_rows())
            rule, text = batch_problem
            reason = txt.reason_damaged(county, rt, rel, rule, text)
            return _reject_whole(county, rt, ctx, raw, rel, base, reason, {rule: text}, validation_ref=None)
        try:
            # An empty JSON array carries no columns: nothing today, not schema drift.
            if raw.rows or raw.columns:
                check_schema(raw.columns, rt)
        except SchemaDrift as e:
            lander.land_all(batch_rows())
            reason = txt.reason_schema(county, rt, rel, e)
            return _reject_whole(county, rt, ctx, raw, rel, base, reason, {"file.schema": str(e)}, validation_ref=None)
        return _validate_and_load(county, rt, raw, ctx, rel, base, lander, notes)
    finally:
        lander.close()


def _validate_and_load(county: County, rt: RecordType, raw: RawBatch, ctx: RunContext, rel: str, base: dict,
                       lander: Lander, notes: list[str]) -> FileOutcome:
    if ctx.validation is None:  # not in a shard (one file: CLI, tests): the file's own GX run when it is done
        ctx.validation = ShardValidation(ctx.validation_root)
        try:
            return _validate_and_load(county, rt, raw, ctx, rel, base, lander, notes)
        finally:
            shard, ctx.validation = ctx.validation, None
            shard.flush()
    gx = ctx.validation.file(rt, run_name=f"{county.code}-{ctx.business_date}-{rt.name}-{raw.sha256[:16]}",
                             run_time=raw.received_at, county_code=county.code, business_date=ctx.business_date,
                             source_file=rel, file_sha256=raw.sha256, rows_received=raw.rows)
    try:
        outcome = _validate_and_load_file(county, rt, raw, ctx, rel, base, lander, notes, gx)
    except BaseException:
        gx.discard()  # the file's transaction rolled back: no result is stored for it
        raise
    return outcome


def _validate_and_load_file(county: County, rt: RecordType, raw: RawBatch, ctx: RunContext, rel: str, base: dict,
                            lander: Lander, notes: list[str], gx) -> FileOutcome:
    where = _label(county)
    duplicate_ids = raw.duplicate_ids()
    too_many = county.reject_threshold * raw.rows  # more failing rows than this: the whole file is rejected
    failures: list[tuple[int, list[str]]] = []  # (position in file, error rules)
    quarantine: list[tuple[pa.Table, list]] = []  # failing rows as received (Arrow) and their rules, per batch
    warning_rows: list[dict] = []
    warning_hits: list[tuple[int, list[str]]] = []
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        # provisional ledger row (same transaction): rows need its submission id; the final values come last
        sid = record_submission(conn, **base, rows_loaded=0, rows_quarantined=0, status="failed",
                                reason=txt.reason_being_loaded(county, rel), validation_ref=None)
        result, rejected = None, False
        with conn.transaction() as load_tx:
            loader = RecordLoader(conn, rt, sid)
            try:
                offset = 0
                for batch in raw.tables(batch_rows(), FIRST_BATCH_ROWS):
                    lander.write(batch)
                    checked = check_batch(batch, rt, county.code, ctx.business_date,
                                          known_ids=_known_ids(county, rt, batch, ctx), duplicate_ids=duplicate_ids)
                    if not rejected:
                        loader.add(checked.valid_typed())
                    batch_failures = checked.failures()
                    failures += [(offset + pos, rules) for pos, rules in batch_failures]
                    if len(failures) > too_many and not rejected:
                        rejected = True  # the file will be rejected whatever comes: stop loading it
                        loader.abort()
                    if not rejected:
                        if batch_failures:  # kept as Arrow rows: dicts are built while writing them
                            quarantine.append((batch.take([pos for pos, _ in batch_failures]),
                                               [(i, rules) for i, (_, rules) in enumerate(batch_failures)]))
                        hits = checked.warnings()
                        warning_hits += [(offset + pos, rules) for pos, rules in hits]
                        warning_rows += _warning_rows(county, rt, ctx, batch, rel, hits)
                    gx.add(checked)
                    offset += batch.num_rows
                lander.finish()
                if not rejected:
                    result = loader.finish()
            except BaseException:
                loader.abort()
                raise
            if rejected:
                raise psycopg.Rollback(load_tx)
        validation_ref = gx.ref  # the file's Data Docs page: its result is stored when the shard's GX runs
        if rejected:
            share = len(failures) / raw.rows
            reason = txt.reason_threshold(county, rt, rel, len(failures), raw.rows, _rule_counts(failures))
            gx.finish(rows_loaded=0, rows_quarantined=raw.rows, rows_failing=len(failures), status="rejected")
            return _reject_whole(county, rt, ctx, raw, rel, base, reason, {
                "file.reject_threshold": f"the file's rejected share {share:.0%} is over {county.reject_threshold:.0%}"},
                validation_ref=validation_ref, row_failures=failures, conn=conn, submission_id=sid)
        status = "loaded_with_quarantine" if failures else "loaded"
        findings = notes + ([f"{len(failures)} row(s) quarantined: " + _rule_summary(failures)] if failures else [])
        findings += [f"{len(warning_hits)} warning(s): " + _rule_summary(warning_hits)] if warning_hits else []
        reason = txt.reason_loaded(county, rt, rel, notes, len(failures), _rule_counts(failures), len(warning_hits),
                                   _rule_counts(warning_hits), f"{where}: {rel}: " + "; ".join(findings))
        record_submission(conn, **base, rows_loaded=raw.rows - len(failures), rows_quarantined=len(failures),
                          status=status, reason=reason, validation_ref=validation_ref)
        write_quarantine(conn, sid, [])
        failed_ids: set = set()
        for rows, rules in quarantine:
            entries = _quarantine_rows(county, rt, ctx, rows, rel, rules)
            write_quarantine(conn, sid, entries, append=True)
            failed_ids.update(q["record_id"] for q in entries)
        write_warnings(conn, sid, warning_rows)
        resolved = resolve_quarantine(conn, sid, lambda: _loaded_ids(raw, failed_ids),
                                      loaded_rows=_loaded_rows(raw, failures), fields_of=lambda r: rule_fields(rt, r))
        gx.finish(rows_loaded=raw.rows - len(failures), rows_quarantined=len(failures), status=status)
    if resolved:
        log.info("%s %s: %d earlier quarantined row(s) resolved by this file", county.code, rt.name, resolved)
    log.info("%s %s: %d received, %d loaded (%d new, %d updated, %d unchanged), %d quarantined",
             county.code, rt.name, raw.rows, result.rows_in, result.inserted, result.updated, result.unchanged,
             len(failures))
    return FileOutcome(county.code, rt.name, status, raw.rows, raw.rows - len(failures), len(failures),
                       reason, rel, sid)


def _reject_whole(county, rt, ctx, raw: RawBatch, rel, base, reason, file_rules: dict[str, str], validation_ref,
                  row_failures=None, conn=None, submission_id=None) -> FileOutcome:
    """Every row of the file goes to quarantine, each with the file-level rule and its own row rules.

    With ``conn`` the caller's transaction (and ledger row ``submission_id``) is used; else a new one."""
    if conn is None:
        with connect(ctx.warehouse_url) as own, own.transaction():
            return _reject_whole(county, rt, ctx, raw, rel, base, reason, file_rules, validation_ref, row_failures,
                                 own, None)
    sid = record_submission(conn, **base, rows_loaded=0, rows_quarantined=raw.rows, status="rejected",
                            reason=reason, validation_ref=validation_ref)
    assert submission_id in (None, sid)
    own = dict(row_failures or [])
    write_quarantine(conn, sid, [])
    if raw.rows == 0:  # an empty file rejected whole still leaves one whole-file entry: every rejection is traceable
        write_quarantine(conn, sid, [dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                                          source_file=rel, row_number=None, record_id=None, raw_row={},
                                          failed_rules=list(file_rules), messages=[reason])], append=True)
    offset = 0
    for batch in raw.tables(batch_rows()):  # in batches: a rejected big file never sits in memory whole
        rows = []
        for pos, rec in enumerate(_raw_records(batch), start=offset):
            rules = list(file_rules) + own.get(pos, [])
            number = rec.pop(ROW_NUMBER)
            messages = [txt.row_message(county, rt, rel, number, r, file_rules.get(r) or _describe(rt, r),
                                        whole_file=txt.rule_zh(rt, r) if r in file_rules else None) for r in rules]
            rows.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                             source_file=rel, row_number=number, record_id=record_key(rec.get("record_id")),
                             raw_row=rec, failed_rules=rules, messages=messages))
        write_quarantine(conn, sid, rows, append=True)
        offset += batch.num_rows
    return FileOutcome(county.code, rt.name, "rejected", raw.rows, 0, raw.rows, reason, rel, sid)


def _quarantine_rows(county, rt, ctx, batch: pa.Table, rel: str, failures) -> list[dict]:
    """Quarantine entries for the failing rows of one batch: the row as received, every rule, one message each."""
    if not failures:
        return []
    records = _raw_records(batch.take([pos for pos, _ in failures]))
    out = []
    for (_, rules), rec in zip(failures, records, strict=True):
        row = rec.pop(ROW_NUMBER)
        messages = []
        for r in rules:
            spec_field = r.split(".")[0] if "." in r else None
            messages.append(txt.row_message(county, rt, rel, row, r, _describe(rt, r), rec.get(spec_field),
                                            show_value=spec_field in rec))
        out.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                        source_file=rel, row_number=row, record_id=record_key(rec.get("record_id")), raw_row=rec,
                        failed_rules=rules, messages=messages))
    return out


def _warning_rows(county, rt, ctx, batch: pa.Table, rel: str, warnings) -> list[dict]:
    if not warnings:
        return []
    records = _raw_records(batch.take([pos for pos, _ in warnings]))
    out = []
    for (_, rules), rec in zip(warnings, records, strict=True):
        row = rec[ROW_NUMBER]
        for r in rules:
            value = rec.get(r.split(".")[0])
            out.append(dict(county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
                            row_number=row, record_id=record_key(rec.get("record_id")), rule=r,
                            message=txt.warning_message(county, rt, rel, row, r, _describe(rt, r), value)))
    return out


def _known_ids(county: County, rt: RecordType, batch: pa.Table, ctx: RunContext) -> dict[str, pa.Array]:
    """For each record type this one references: the referenced ids of the batch that exist this night or in
    the warehouse (one indexed look-up per batch, only for ids not seen this night)."""
    known: dict[str, pa.Array] = {}
    for f in rt.fields:
        if not f.references or f.name not in batch.column_names:
            continue
        wanted = pc.unique(record_keys(batch[f.name]).drop_null())  # keys: NFKC, as core holds them
        in_night = np.zeros(len(wanted), bool)
        if len(wanted):
            prints = fingerprints(wanted)
            for night in ctx.night_ids.get((county.code, f.references), []):
                in_night |= np.isin(prints, night, assume_unique=False)
        seen = wanted.filter(pa.array(in_night))
        rest = pc.filter(wanted, pc.invert(pc.is_in(wanted, value_set=seen))).to_pylist()
        if rest:
            with connect(ctx.warehouse_url) as conn:
                db = [r for (r,) in conn.execute(
                    sql.SQL("SELECT record_id FROM {} WHERE county_code = %s AND record_id = ANY(%s)").format(
                        sql.Identifier("core", RECORD_TYPES[f.references].table)),
                    (county.code, rest)).fetchall()]
            seen = pa.concat_arrays([seen, pa.array(db, pa.string())])
        prior = known.get(f.references)
        known[f.references] = seen if prior is None else pa.concat_arrays([prior, seen])
    return known


def _loaded_ids(raw: RawBatch, failed_ids: set) -> list[str]:
    ids = raw.record_ids()
    return [] if ids is None else [i for i in ids.drop_null().to_pylist() if i not in failed_ids]


def _loaded_rows(raw: RawBatch, failures):
    """The loaded rows' values of some columns, as received (text): for recognising corrected id-less rows."""
    failed = {pos for pos, _ in failures}

    def rows(columns: list[str]):
        offset = 0
        for batch in raw.tables(batch_rows()):
            cols = [batch[c].to_pylist() if c in batch.column_names else [None] * batch.num_rows for c in columns]
            for i, values in enumerate(zip(*cols, strict=True)):
                if offset + i not in failed:
                    yield values
            offset += batch.num_rows

    return rows


def _raw_records(table: pa.Table) -> list[dict]:
    """Rows as received: every value as text (None = empty), ``_row_number`` as int."""
    return [{k: (v if k == ROW_NUMBER or v is None else str(v)) for k, v in rec.items()} for rec in table.to_pylist()]


def _describe(rt: RecordType, rule: str) -> str:
    return _descriptions(rt).get(rule, rule)


def _descriptions(rt: RecordType, _cache: dict = {}) -> dict[str, str]:  # noqa: B006 - per-process memo
    if rt.name not in _cache:
        _cache[rt.name] = {s.id: s.description for s in rule_specs(rt)}
    return _cache[rt.name]


def _rule_counts(failures) -> list[tuple[str, int]]:
    """(rule id, rows) over the failing rows, most frequent first."""
    counts: dict[str, int] = {}
    for _, rules in failures:
        for r in rules:
            counts[r] = counts.get(r, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def _rule_summary(failures) -> str:
    return ", ".join(f"{r} ×{n}" for r, n in _rule_counts(failures))
