"""One county's night: discover → read → land raw Parquet → validate (GX) → split → load / quarantine → ledger.

Airflow calls :func:`process_county` from a mapped task; tests call it directly. Each record type is
processed in its own try block and its own transaction, so one bad file never stops the county's other
files, and one county never stops another (each is its own task instance).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from supervision import county_text as txt
from supervision import settings
from supervision.contract import RECORD_TYPES, RecordType, rule_fields
from supervision.errors import is_deterministic
from supervision.identifiers import record_key, record_keys
from supervision.landing import Lander, land_rejected_bytes
from supervision.registry import County
from supervision.settings import TIMEZONE
from supervision.sources import ROW_NUMBER, RawBatch
from supervision.sources.filedrop import (
    NOT_A_COUNTY,
    DayDrop,
    Oddity,
    ReadAgain,
    Unexpected,
    UnreadableFile,
    UnsafePath,
    discover,
    file_sha256,
    oddity,
    read_file,
    shown,
    stat_signature,
    unknown_submitters,
)
from supervision.validation import (
    SchemaDrift,
    check_batch,
    check_schema,
    fingerprints,
    rule_specs,
    run_gx_rules,
    sorted_unique,
)
from supervision.warehouse.connection import connect
from supervision.warehouse.ledger import (
    observe_arrival,
    record_submission,
    resolve_quarantine,
    write_quarantine,
    write_warnings,
)
from supervision.warehouse.load import RecordLoader

log = logging.getLogger(__name__)


@dataclass
class FileOutcome:
    county_code: str
    record_type: str
    status: str  # loaded | loaded_with_quarantine | rejected | missing | late | failed | unexpected
    rows_received: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    reason: str | None = None
    source_file: str | None = None
    submission_id: int | None = None
    retry: bool = False  # status 'failed' only: a retry may fix it (e.g. the warehouse was down)

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
    # record ids seen this night per (county, record type), valid or not: cross-record checks accept them.
    # Kept as sorted 64-bit fingerprints (validation.fingerprints): 8 bytes an id, whatever the file's size.
    night_ids: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)
    # When this run observes files (arrival time, ops.file_arrival): None = the warehouse server's clock. Only
    # replays and tests pass one, and it can only make an observation earlier than the server's now().
    clock: datetime | None = None

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
    if day.unexpected:  # links, pipes, odd names, stray files: in the ledger, and the engineers are alerted
        outcomes.append(_record_unexpected(county.code, ctx, day.unexpected, _zh_label(county)))
    for rt in RECORD_TYPES.values():
        try:
            outcomes.append(process_file(county, rt, day, ctx))
        except Exception as e:  # the county's other files still go through; the ledger says what broke
            log.exception("%s %s failed", county.code, rt.name)
            outcomes.append(_record_failure(county, rt.name, day, ctx, e))
    return outcomes


UNEXPECTED = "*"  # record_type of 'unexpected' ledger rows: the whole county folder of the day


def _record_unexpected(county_code: str, ctx: RunContext, entries: list[Unexpected], who: str) -> FileOutcome:
    """One 'unexpected' ledger row for a county folder and business date, naming every entry (escaped) that is
    no contract file or was not read; nothing of them was read, so nothing is received."""
    listed = "；".join(f"{u.path}（{u.zh}）" for u in entries)
    listed_en = "; ".join(f"{u.path} ({u.en})" for u in entries)
    reason = (f"{who}：投递目录中有非约定内容，未读取：{listed}。请删除，或按约定放入普通文件 "
              f"<县代码>/<日期>/<记录类型>.<csv|json|xlsx|parquet> 与 manifest.json（不得使用链接、管道或其他特殊文件）；"
              f"已告知数据工程值班。 / The drop folder holds entries that are no contract file and were not read: "
              f"{listed_en}. Remove them or send plain files named as the contract says; the engineers are alerted.")
    log.warning("drop folder: %s %s: unexpected entries, not read: %s", county_code, ctx.business_date, listed_en)
    with connect(ctx.warehouse_url) as conn:
        sid = record_submission(
            conn, county_code=county_code, record_type=UNEXPECTED, business_date=ctx.business_date,
            source_kind="file_drop", source_file=None, file_sha256=None, file_format=None, encoding=None,
            received_at=None, manifest_rows=None, manifest_status=None, rows_received=0, rows_loaded=0,
            rows_quarantined=0, status="unexpected", reason=reason, lake_path=None, validation_ref=None,
            run_id=ctx.run_id)
    return FileOutcome(county_code, UNEXPECTED, "unexpected", reason=reason, submission_id=sid)


def record_unknown_submitters(known_codes: set[str] | frozenset[str], ctx: RunContext) -> list[FileOutcome]:
    """Folders (and anything else) at the top of the drop folder that belong to no registered county: one
    'unexpected' ledger row each (by its six-digit name, else under filedrop.NOT_A_COUNTY); nothing in them is
    read. Called once per full nightly run."""
    if not ctx.drop_root.is_dir():
        return []
    out = []
    for code, entries in unknown_submitters(ctx.drop_root, known_codes).items():
        who = f"未登记的县 {code}" if code != NOT_A_COUNTY else "投递目录顶层"
        out.append(_record_unexpected(code, ctx, entries, who))
    return out


def _record_failure(county: County, record_type: str, day: DayDrop, ctx: RunContext, e: Exception) -> FileOutcome:
    """A file that failed in the pipeline: the ledger names the file and counts what was received (rows when
    they were counted before the failure), so reconciliation stays red until a re-run loads or quarantines it.
    Recorded as the file's own attempt (its sha256): a re-run of the same file replaces this row, and an earlier
    loaded file of the day cannot hide it."""
    path = day.files.get(record_type)
    rel, sha, rows = getattr(e, "supervision_received", (None, None, None))
    if path is not None and rel is None:
        rel = str(path.relative_to(ctx.drop_root))
        try:
            sha = file_sha256(path)
        except OSError:
            sha = None
    what = f"文件 {rel}" + (f"（{rows} 行）" if rows else "") if rel else "当日数据"
    reason = (f"{_label(county)}: {what}处理失败（系统内部错误），既未入库也未隔离；数据工程师已收到通知，修复后将重跑该日期，"
              f"县里无需重新报送。 Pipeline error on {rel or record_type} ({type(e).__name__}: {str(e)[:300]}): "
              "nothing loaded or quarantined; the engineers are told; re-run the date after the fix.")
    retry = not is_deterministic(e)
    with connect(ctx.warehouse_url) as conn:
        sid = record_submission(
            conn, county_code=county.code, record_type=record_type, business_date=ctx.business_date,
            source_kind="file_drop", source_file=rel, file_sha256=sha, file_format=path.suffix.lstrip(".") if path
            else None, encoding=day.encoding, received_at=None, manifest_rows=None, manifest_status=None,
            rows_received=rows or 0, rows_loaded=0, rows_quarantined=0, status="failed", reason=reason,
            lake_path=None, validation_ref=None, run_id=ctx.run_id)
    return FileOutcome(county.code, record_type, "failed", rows or 0, reason=reason, source_file=rel,
                       submission_id=sid, retry=retry)


def _label(county: County) -> str:
    return f"county {county.code} {county.name} ({county.city_name})"


def _zh_label(county: County) -> str:
    return f"{county.name}（{county.code}，{county.city_name}）"


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


def process_file(county: County, rt: RecordType, day: DayDrop, ctx: RunContext, _whole: bool = False) -> FileOutcome:
    where = _label(county)
    if day.refused:  # the county or day folder is a link (or no folder): nothing behind it is read
        return _record_nothing(county, rt.name, ctx, "rejected", (
            f"{_zh_label(county)}：{day.refused}。请把当日文件作为普通文件直接放入本县自己的文件夹 "
            f"{county.code}/{ctx.business_date}/，然后重新运行该日期。 / {where}: {rt.name} not read: "
            f"{day.refused_en}. Send the day's files as plain files in the county's own folder, then re-run the date."))
    if not day.exists:
        return _record_nothing(county, rt.name, ctx, "late", txt.reason_late(
            county, rt, ctx.business_date, county.deadline_at(ctx.business_date)))
    if rt.name in day.problems:
        return _record_nothing(county, rt.name, ctx, "rejected",
                               f"{_zh_label(county)}：{rt.name}：{day.problems[rt.name]} / {where}")
    path = day.files.get(rt.name)
    if path is None:
        listed = day.manifest is not None and rt.name in day.manifest
        near = day.near_misses(rt.name)
        if not near:
            return _record_nothing(county, rt.name, ctx, "missing",
                                   txt.reason_missing(county, rt, ctx.business_date, listed))
        return _record_nothing(county, rt.name, ctx, "missing", (
            f"{_zh_label(county)}：{rt.name} 文件名不符合约定，未读取：{'、'.join(near)}；请改名为 "
            f"{rt.name}.<csv|json|xlsx|parquet> 后重新发送。 / "
            + f"{where}: no {rt.name} file for {ctx.business_date}"
            + (" although the manifest lists one" if listed else "")
            + f" (not read, the name is not {rt.name}.<format>: {', '.join(near)})"
            + ". A day with nothing to report still needs a file with just the header line."))
    rel = str(path.relative_to(ctx.drop_root))
    seen = day.stats.get(rt.name)
    swapped = _still_plain(path, seen)
    if swapped is not None:  # became a link or a pipe since discovery: refused, never opened
        return _record_nothing(county, rt.name, ctx, "rejected", (
            f"{_zh_label(county)}：{shown(rel)} 是{swapped.zh}，未读取；请放入普通文件。 / {where}: {shown(rel)} is "
            f"{swapped.en}; not read: send a plain file."))
    try:
        raw = read_file(path, day.encoding, overlap=not _whole)
    except UnreadableFile as e:
        return _reject_unreadable(county, rt, day, ctx, path, rel, str(e))
    raw.file_mtime = datetime.fromtimestamp(seen.st_mtime, tz=UTC) if seen else None
    raw.received_at = _observe(ctx, county.code, rel, raw.sha256, seen)
    manifest_status, manifest_rows, manifest_problem = _check_manifest(day, rt.name, raw)
    notes = []
    if manifest_status == "no_manifest":
        notes.append("no manifest.json (file read anyway)" + (f": {day.manifest_error}" if day.manifest_error else ""))
    elif manifest_status == "not_listed":
        notes.append(f"{rt.name} is not listed in manifest.json")
    key = (county.code, rt.name)
    ids_before = len(ctx.night_ids.get(key, ()))  # ingest adds the file's ids; a re-read must not add them twice
    try:
        return ingest(county, rt, raw, ctx, source_kind="file_drop", source_ref=rel, manifest_status=manifest_status,
                      manifest_rows=manifest_rows, batch_problem=manifest_problem, notes=notes)
    except ReadAgain as e:
        if _whole:
            raise
        # the file's transaction was rolled back and its Parquet never landed: the whole read decides
        log.warning("%s: %s: parsing while loading stopped (%s); reading the file again whole", where, rel, e)
        if key in ctx.night_ids:
            del ctx.night_ids[key][ids_before:]
        return process_file(county, rt, day, ctx, _whole=True)
    except Exception as e:  # what was received, for the failure's ledger row (process_county)
        e.supervision_received = (rel, raw.sha256, raw.rows)
        raise


def _still_plain(path: Path, seen: os.stat_result | None) -> Oddity | None:
    """None if ``path`` is still the plain file discovery found (same device and inode), else why it is not."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        st = None
    if st is not None and (odd := oddity(st)) is not None:
        return odd
    if st is None or seen is None or (st.st_dev, st.st_ino) != (seen.st_dev, seen.st_ino):
        return Oddity("读取前被替换或删除的文件", "replaced or removed before it was read")
    return None


def _observe(ctx: RunContext, county_code: str, rel: str, sha: str, st: os.stat_result | None) -> datetime:
    """When these bytes were first seen in the county's day folder: this run, or an earlier scan (nightly run or
    alert monitor). Its own transaction: the sighting stays even if loading the file fails."""
    with connect(ctx.warehouse_url) as conn:
        first = observe_arrival(
            conn, county_code=county_code, business_date=ctx.business_date, rel_path=rel, sha256=sha, by="pipeline",
            file_mtime=datetime.fromtimestamp(st.st_mtime, tz=UTC) if st else None,
            size=st.st_size if st else None, stat_sig=stat_signature(st) if st else None, clock=ctx.clock)
    return first.astimezone(ZoneInfo(TIMEZONE))


def batch_rows() -> int:
    """Rows per batch: validation of batch k+1 runs while the warehouse loads batch k; memory stays bounded."""
    return int(os.environ.get("SUPERVISION_BATCH_ROWS", 200_000))


FIRST_BATCH_ROWS = 25_000  # a small first batch: the warehouse COPY, the longest stage, starts sooner


def gx_part_rows() -> int:
    """Rows per Great Expectations validation run: one run (one Data Docs page) per file up to this size."""
    return int(os.environ.get("SUPERVISION_GX_PART_ROWS", 1_000_000))


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
    where = _label(county)
    run_name = f"{county.code}-{ctx.business_date}-{rt.name}-{raw.sha256[:16]}"
    run_time = raw.received_at.astimezone(UTC)
    duplicate_ids = raw.duplicate_ids()
    too_many = county.reject_threshold * raw.rows  # more failing rows than this: the whole file is rejected
    failures: list[tuple[int, list[str]]] = []  # (position in file, error rules)
    quarantine: list[tuple[pa.Table, list]] = []  # failing rows as received (Arrow) and their rules, per batch
    warning_rows: list[dict] = []
    warning_hits: list[tuple[int, list[str]]] = []
    gx = _GxParts(rt, run_name, run_time, raw.rows, meta=dict(
        county_code=county.code, record_type=rt.name, business_date=str(ctx.business_date), source_file=rel,
        file_sha256=raw.sha256, rows_received=raw.rows))
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
                    gx.add(checked.rules, _gx_rows(batch, rel))
                    offset += batch.num_rows
                lander.finish()
                gx.meta.update(rows_quarantined=raw.rows if rejected else len(failures),
                               rows_loaded=0 if rejected else raw.rows - len(failures))  # as the ledger's
                gx_result = gx.finish()  # the last Great Expectations run overlaps the last COPY
                if not rejected:
                    result = loader.finish()
            except BaseException:
                loader.abort()
                raise
            if rejected:
                raise psycopg.Rollback(load_tx)
        _write_validation(ctx, county.code, rt.name, raw.sha256, rel, gx_result)
        validation_ref = gx_result["data_docs_page"]
        if rejected:
            share = len(failures) / raw.rows
            reason = txt.reason_threshold(county, rt, rel, len(failures), raw.rows, _rule_counts(failures))
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
    if resolved:
        log.info("%s %s: %d earlier quarantined row(s) resolved by this file", county.code, rt.name, resolved)
    log.info("%s %s: %d received, %d loaded (%d new, %d updated, %d unchanged), %d quarantined",
             county.code, rt.name, raw.rows, result.rows_in, result.inserted, result.updated, result.unchanged,
             len(failures))
    return FileOutcome(county.code, rt.name, status, raw.rows, raw.rows - len(failures), len(failures),
                       reason, rel, sid)


class _GxParts:
    """Great Expectations over the rule columns: one validation run per file, or per part of a file bigger than
    ``SUPERVISION_GX_PART_ROWS`` (run names ``…-part2of5``), so memory stays bounded."""

    def __init__(self, rt: RecordType, run_name: str, run_time, total_rows: int, meta: dict | None = None):
        self.rt, self.run_name, self.run_time = rt, run_name, run_time
        self.part_rows = gx_part_rows()
        self.parts = max(1, -(-total_rows // self.part_rows))
        self.pending: list[np.ndarray] = []
        self.pending_rows: list[pd.DataFrame] = []
        self.results: list[dict] = []
        self.meta = dict(meta or {})  # the file and its counts, on its Data Docs page (counts known at finish)

    def add(self, rules: np.ndarray, rows: pd.DataFrame | None = None) -> None:
        self.pending.append(rules)
        if rows is not None:
            self.pending_rows.append(rows)
        if self.parts > 1 and sum(len(r) for r in self.pending) >= self.part_rows:
            self._run()

    def _run(self) -> None:
        rules = np.concatenate(self.pending) if len(self.pending) != 1 else self.pending[0]
        rows = pd.concat(self.pending_rows, ignore_index=True) if len(self.pending) == len(self.pending_rows) \
            and self.pending_rows else None
        self.pending, self.pending_rows = [], []
        part = len(self.results) + 1
        name = self.run_name if self.parts == 1 else f"{self.run_name}-part{part}of{self.parts}"
        meta = self.meta if self.parts == 1 else {**self.meta, "part": f"{part}/{self.parts}"}
        self.results.append(run_gx_rules(rules, self.rt, run_name=name, run_time=self.run_time, rows=rows,
                                         meta=meta or None))

    def finish(self) -> dict:
        if self.pending or not self.results:
            self._run()
        return merge_gx_results(self.results)


def _gx_rows(batch: pa.Table, source: str) -> pd.DataFrame:
    """The rows as GX lists a broken rule's failing rows: the row a spreadsheet shows, the record_id (as stored)."""
    rows = batch.column(ROW_NUMBER).to_numpy().astype(np.int64) if ROW_NUMBER in batch.column_names \
        else np.arange(1, batch.num_rows + 1, dtype=np.int64)
    ids = record_keys(batch.column("record_id")) if "record_id" in batch.column_names else pa.nulls(len(rows), pa.string())
    return pd.DataFrame({"row_number": rows + 1 if txt.is_spreadsheet(source) else rows,
                         "record_id": pd.arrays.ArrowExtensionArray(ids)})


def merge_gx_results(results: list[dict]) -> dict:
    """One result for the file: counts summed over its parts, the first part's Data Docs page."""
    if len(results) == 1:
        return results[0]
    rules: dict[str, dict] = {}
    for res in results:
        for rule, r in res["rules"].items():
            acc = rules.setdefault(rule, {**r, "unexpected_count": 0, "element_count": 0, "not_applicable": 0})
            for k in ("unexpected_count", "element_count", "not_applicable"):
                acc[k] += int(r.get(k) or 0)
            acc["success"] = acc["success"] and r["success"]
    stats: dict[str, float | None] = {}
    for res in results:
        for k, v in res["statistics"].items():
            stats[k] = None if v is None or stats.get(k, 0) is None else (stats.get(k) or 0) + v
    if stats.get("evaluated_expectations"):
        stats = {**stats, "evaluated_expectations": results[0]["statistics"].get("evaluated_expectations")}
    failing = sum(1 for r in rules.values() if not r["success"])
    stats.update(successful_expectations=len(rules) - failing, unsuccessful_expectations=failing,
                 success_percent=100.0 * (len(rules) - failing) / len(rules) if rules else None)
    return {"suite": results[0]["suite"], "success": all(r["success"] for r in results),
            "data_docs_page": results[0]["data_docs_page"], "statistics": stats, "rules": rules,
            "parts": [r["data_docs_page"] for r in results]}


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
    sha = file_sha256(path)  # streamed: a file refused for its size is never read into memory
    seen = day.stats.get(rt.name)
    received_at = _observe(ctx, county.code, rel, sha, seen)  # an unreadable file arrived all the same
    kept = land_rejected_bytes(ctx.lake_root, path, sha, rt.name, ctx.business_date, county.code)
    reason = txt.reason_unreadable(county, rt, rel, path.suffix.lstrip("."), error, kept)
    entry = day.manifest.get(rt.name) if day.manifest else None
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        sid = record_submission(
            conn, county_code=county.code, record_type=rt.name, business_date=ctx.business_date,
            source_kind="file_drop", source_file=rel, file_sha256=sha, file_format=path.suffix.lstrip("."),
            encoding=day.encoding, received_at=received_at, manifest_rows=entry.rows if entry else None,
            manifest_status=None, rows_received=0, rows_loaded=0, rows_quarantined=0, status="rejected",
            reason=reason, lake_path=str(kept), validation_ref=None, run_id=ctx.run_id,
            file_mtime=datetime.fromtimestamp(seen.st_mtime, tz=UTC) if seen else None)
        write_quarantine(conn, sid, [dict(
            county_code=county.code, record_type=rt.name, business_date=ctx.business_date, source_file=rel,
            row_number=None, record_id=None, raw_row={"kept_at": str(kept), "error": error},
            failed_rules=["file.readable"], messages=[reason])])
    return FileOutcome(county.code, rt.name, "rejected", reason=reason, source_file=rel, submission_id=sid)


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


def _write_validation(ctx: RunContext, county_code: str, record_type: str, sha: str, rel: str, result: dict) -> str:
    path = (ctx.validation_root / ctx.business_date.isoformat() / county_code / f"{record_type}-{sha[:16]}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"source_file": rel, "sha256": sha, **result}, ensure_ascii=False, indent=1),
                    encoding="utf-8")
    return str(path)
