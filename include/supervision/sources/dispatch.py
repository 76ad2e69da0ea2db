"""Pull sources per county: plan the window, pull it, hand the batch to ``pipeline.ingest``, move the watermark.

``pipeline.process_county`` sends every county whose registry transport is not ``file_drop`` here. For each
record type, on its own (one failing type never stops the others):

1. plan (``state.plan``): replay a loaded pull of the date, or pull ``[watermark, end of date)``;
2. pull (``http_api`` / ``database``) into a :class:`RawBatch` of strings with the contract's names;
3. ``ingest``: raw Parquet, validation, quarantine, load and ledger, exactly as for file drops;
4. record the pull (``ops.extraction``) and, only if the batch was loaded, advance the watermark.

A pull that fails records the ledger status the fault deserves (docs/sources.md): ``source_error`` when the
county system could not be read (unreachable, timeouts, 5xx after retries, rate limited, token refused,
database down): a county-side fault that does not fail the Airflow task; ``rejected`` when it answered
with something unusable (malformed JSON, a vanished page or an inconsistent page sequence, a missing table or
column), with a whole-batch quarantine entry and the bytes kept in the lake; ``failed`` for our own faults
(registry entry or Airflow connection missing or wrong, pipeline bugs), which turn the task red. In every
case the watermark stays, so the next run catches up.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import traceback
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from supervision import county_text as txt
from supervision.contract import RECORD_TYPES, RecordType
from supervision.landing import land_rejected_bytes
from supervision.pipeline import FileOutcome, RunContext, ingest
from supervision.registry import County
from supervision.sources import RawBatch
from supervision.sources import state as st
from supervision.sources.common import (
    SourceAuthError,
    SourceConfigError,
    SourceError,
    SourceRateLimited,
    SourceUnavailable,
    batch_sha256,
    source_config,
    strings_frame,
)
from supervision.warehouse.connection import connect
from supervision.warehouse.ledger import record_submission, write_quarantine

log = logging.getLogger(__name__)
PULL_TRANSPORTS = ("http_api", "database")
# After one of these, the county system is not asked again for its other record types this run.
_COUNTY_WIDE = (SourceUnavailable, SourceAuthError, SourceRateLimited)


def make_source(county: County):
    if county.transport == "http_api":
        from supervision.sources.http_api import HttpApiSource

        return HttpApiSource(county)
    if county.transport == "database":
        from supervision.sources.database import DatabaseSource

        return DatabaseSource(county)
    raise SourceConfigError(f"county {county.code}: transport {county.transport!r} is not a pull source")


def _label(county: County) -> str:
    return f"county {county.code} {county.name} ({county.city_name})"


def _timing(county: County) -> dict:
    src = source_config(county, county.transport)  # settle, lookback, initial_watermark: checked at registry load
    initial = src.initial_watermark
    return {"settle": timedelta(seconds=src.settle), "lookback": timedelta(seconds=src.lookback),
            "initial": initial if initial is None or initial.tzinfo else initial.replace(tzinfo=st.TZ)}


def pull_county(county: County, ctx: RunContext) -> list[FileOutcome]:
    """Every record type of a county with an API or database source, for ``ctx.business_date``."""
    try:
        source = make_source(county)
        timing = _timing(county)
    except SourceConfigError as e:
        return [_record_failed(county, rt, ctx, txt.reason_our_config(
            county, f"{_label(county)}: registry entry: {e}. Engineers: fix the registry entry, then re-run the date."))
            for rt in RECORD_TYPES]
    outcomes: list[FileOutcome] = []
    down: SourceError | None = None
    try:
        for rt in RECORD_TYPES.values():
            try:
                outcome, error = pull_record_type(county, rt, source, ctx, timing, down)
                if down is None and isinstance(error, _COUNTY_WIDE):
                    down = error
            except SourceConfigError as e:
                outcome = _record_failed(county, rt.name, ctx, txt.reason_our_config(county, (
                    f"{_label(county)}: {rt.name}: {e}. Engineers: fix it, then re-run the date "
                    f"(supervision run --date {ctx.business_date} --counties {county.code}). Nothing was loaded.")))
            except Exception as e:  # a pipeline bug: the county's other record types still go through
                log.exception("%s %s failed", county.code, rt.name)
                outcome = _record_failed(county, rt.name, ctx, txt.reason_pipeline_error(
                    county, rt, f"{type(e).__name__}: {e}") + ". The watermark stays.",
                    detail=traceback.format_exc(limit=3))
            outcomes.append(outcome)
    finally:
        source.close()
    return outcomes


def pull_record_type(county: County, rt: RecordType, source, ctx: RunContext, timing: dict,
                     down: SourceError | None = None) -> tuple[FileOutcome, SourceError | None]:
    kind = source.kind
    day = ctx.business_date
    with connect(ctx.warehouse_url, autocommit=True) as lock_conn:
        st.lock(lock_conn, county.code, rt.name)  # one pull per county and type at a time; released on close
        with connect(ctx.warehouse_url) as conn:
            plan = st.plan(conn, county.code, rt.name, day, now=st.utcnow(), **timing)
        now = datetime.now(st.TZ)
        # received_at of a pull = the end of its window: by then the county system held every change in it (the
        # county is on time if its system answers); when we fetched is ops.extraction.first_fetched_at.
        arrival = min(plan.high, st.end_of_day(day))
        notes = [plan.note] if plan.note else []
        pages = 0
        if plan.mode == "replay":
            ref = plan.previous.source_ref
            raw = _replay(plan.previous, min(plan.previous.window_to, st.end_of_day(day)))
            pages = plan.previous.pages
            log.info("%s %s %s: replaying the loaded pull of that date (%s)", county.code, rt.name, day, ref)
        elif plan.mode == "empty":
            ref = source.describe(rt.name, plan.low, plan.high)
            frame = strings_frame([], rt.field_names)
            raw = RawBatch(kind, None, batch_sha256(frame), st.end_of_day(day), frame)
        else:
            ref = source.describe(rt.name, plan.low, plan.high)
            if down is not None:
                error = type(down)(f"not asked: the county system failed a moment ago ({down})", todo=down.todo)
                return _record_source_error(county, rt, ctx, source, plan, ref, error), error
            try:
                fetched = source.fetch(rt, plan.low, plan.high)
            except SourceError as e:
                log.warning("%s %s %s: %s", county.code, rt.name, day, e)
                return _record_source_error(county, rt, ctx, source, plan, ref, e), e
            raw = RawBatch(kind, None, batch_sha256(fetched.frame), arrival, fetched.frame)
            pages = fetched.pages
            notes += fetched.notes + _window_notes(plan, day, kind)
        outcome = ingest(county, rt, raw, ctx, source_kind=kind, source_ref=ref, notes=notes)
        with connect(ctx.warehouse_url) as conn, conn.transaction():
            (lake_path,) = conn.execute("SELECT lake_path FROM ops.submission WHERE submission_id = %s",
                                        (outcome.submission_id,)).fetchone()
            st.record_extraction(
                conn, county_code=county.code, record_type=rt.name, business_date=day, source_kind=kind,
                source_ref=ref, window_from=plan.low, window_to=plan.high, status=outcome.status,
                rows_received=raw.rows, pages=pages, batch_sha256=raw.sha256, lake_path=lake_path,
                submission_id=outcome.submission_id, detail="; ".join(notes) or None, fetched_at=now)
            if outcome.status in st.LOADED and plan.mode != "empty":
                st.advance(conn, county_code=county.code, record_type=rt.name, to=plan.high, business_date=day,
                           source_kind=kind, submission_id=outcome.submission_id)
    return outcome, None


def _window_notes(plan: st.Plan, day, kind: str) -> list[str]:
    if plan.previous and plan.previous.status in st.LOADED:
        return []
    wm = plan.watermark
    if plan.start == "watermark" and wm.watermark < st.end_of_day(day - timedelta(days=1)):
        return [f"catch-up: the window starts at {wm.watermark.astimezone(st.TZ):%Y-%m-%d %H:%M} (loaded up to "
                f"business date {wm.business_date}), so it also holds changes of the nights since"]
    if plan.start == "history":
        return [f"first {kind} pull of this county: continues from the newest record the warehouse already holds "
                f"({plan.low.astimezone(st.TZ):%Y-%m-%d %H:%M})"]
    return []


def _replay(prev: st.Extraction, received_at: datetime) -> RawBatch:
    df = pq.read_table(prev.lake_path).to_pandas()
    rows = df.pop("_row_number").to_numpy() if "_row_number" in df else range(1, len(df) + 1)
    frame = pd.DataFrame({c: df[c].astype("string") for c in df.columns}, index=pd.RangeIndex(len(df)))
    frame.insert(0, "_row_number", pd.array(rows, dtype="int64"))
    return RawBatch(prev.source_kind, None, prev.batch_sha256, received_at, frame)


def _record_source_error(county: County, rt: RecordType, ctx: RunContext, source, plan: st.Plan, ref: str,
                         error: SourceError) -> FileOutcome:
    kind = source.kind
    wm = plan.watermark
    since = (f"the watermark stays at {wm.watermark.astimezone(st.TZ):%Y-%m-%d %H:%M} (loaded up to business date "
             f"{wm.business_date})" if wm else "no watermark yet")
    day = ctx.business_date
    lake_path = sha = None
    with connect(ctx.warehouse_url) as conn, conn.transaction():
        if error.status == "rejected":
            evidence = error.evidence or str(error).encode()
            sha = hashlib.sha256(evidence).hexdigest()
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / ("response.json" if error.evidence else "error.txt")
                path.write_bytes(evidence)
                lake_path = str(land_rejected_bytes(ctx.lake_root, path, sha, rt.name, day, county.code))
        reason = txt.reason_source_error(county, rt, source.target(rt.name), error.status, str(error), error.todo,
                                         since, lake_path, getattr(error, "kind", None))
        sid = record_submission(
            conn, county_code=county.code, record_type=rt.name, business_date=day, source_kind=kind,
            source_file=ref, file_sha256=sha, file_format=kind, encoding=None, received_at=None, manifest_rows=None,
            manifest_status=None, rows_received=0, rows_loaded=0, rows_quarantined=0, status=error.status,
            reason=reason, lake_path=lake_path, validation_ref=None, run_id=ctx.run_id)
        if error.status == "rejected":
            write_quarantine(conn, sid, [dict(
                county_code=county.code, record_type=rt.name, business_date=day, source_file=ref, row_number=None,
                record_id=None, raw_row={"kept_at": lake_path, "error": str(error)}, failed_rules=[error.rule],
                messages=[reason])])
        if not (plan.previous and plan.previous.status in st.LOADED):  # keep a loaded pull's record (re-pull failed)
            st.record_extraction(
                conn, county_code=county.code, record_type=rt.name, business_date=day, source_kind=kind,
                source_ref=ref, window_from=plan.low, window_to=plan.high, status=error.status, rows_received=0,
                pages=None, batch_sha256=sha, lake_path=lake_path, submission_id=sid, detail=str(error), fetched_at=None)
    return FileOutcome(county.code, rt.name, error.status, reason=reason, source_file=ref, submission_id=sid)


def _record_failed(county: County, record_type: str, ctx: RunContext, reason: str, detail: str | None = None
                   ) -> FileOutcome:
    if detail:
        log.error("%s", detail)
    kind = county.transport if county.transport in PULL_TRANSPORTS else "http_api"
    with connect(ctx.warehouse_url) as conn:
        sid = record_submission(
            conn, county_code=county.code, record_type=record_type, business_date=ctx.business_date,
            source_kind=kind, source_file=None, file_sha256=None, file_format=None, encoding=None, received_at=None,
            manifest_rows=None, manifest_status=None, rows_received=0, rows_loaded=0, rows_quarantined=0,
            status="failed", reason=reason, lake_path=None, validation_ref=None, run_id=ctx.run_id)
    return FileOutcome(county.code, record_type, "failed", reason=reason, submission_id=sid)
