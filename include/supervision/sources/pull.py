"""Pull sources (HTTP API, database) per county: plan the window, pull it, yield the batch, move the watermark.

``ingest.run.source_for`` gives every county whose registry transport is not ``file_drop`` a
:class:`PullSource`. For each record type, on its own (one failing type never stops the others):

1. plan (``state.plan``): replay a loaded pull of the date, or pull ``[watermark, end of date)``;
2. pull (``http_api`` / ``database``) into a :class:`RawBatch` of strings with the contract's names;
3. yield it as a :class:`~supervision.ingest.batch.Batch`: the consumer lands, validates, quarantines, loads
   and records it exactly as a dropped file (the county's lock for the record type is held meanwhile);
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
from collections.abc import Generator
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from supervision import county_text as txt
from supervision.contract import RECORD_TYPES, RecordType
from supervision.ingest.batch import Batch, Item, NoBatch
from supervision.ingest.outcome import FileOutcome, RunContext
from supervision.landing import land_rejected_bytes
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


class PullSource:
    """A county whose system is asked (HTTP API or database): per record type, the pulled window as a
    :class:`Batch`, or a :class:`NoBatch` when the system could not be read or the registry entry is wrong."""

    def __init__(self, county: County):
        self.county = county

    def batches(self, ctx: RunContext) -> Generator[Item, FileOutcome, None]:
        """Every record type of the county, for ``ctx.business_date``."""
        county = self.county
        try:
            source = make_source(county)
            timing = _timing(county)
        except SourceConfigError as e:
            for rt in RECORD_TYPES:
                yield _failed(county, rt, txt.reason_our_config(county, (
                    f"{_label(county)}: registry entry: {e}. Engineers: fix the registry entry, then re-run the date.")))
            return
        down: SourceError | None = None
        try:
            for rt in RECORD_TYPES.values():
                try:
                    error = yield from pull_record_type(county, rt, source, ctx, timing, down)
                    if down is None and isinstance(error, _COUNTY_WIDE):
                        down = error
                except SourceConfigError as e:
                    yield _failed(county, rt.name, txt.reason_our_config(county, (
                        f"{_label(county)}: {rt.name}: {e}. Engineers: fix it, then re-run the date "
                        f"(supervision run --date {ctx.business_date} --counties {county.code}). Nothing was loaded.")))
                except Exception as e:  # a pipeline bug: the county's other record types still go through
                    log.exception("%s %s failed", county.code, rt.name)
                    log.error("%s", traceback.format_exc(limit=3))
                    yield _failed(county, rt.name, txt.reason_pipeline_error(
                        county, rt, f"{type(e).__name__}: {e}") + ". The watermark stays.")
        finally:
            source.close()


def pull_record_type(county: County, rt: RecordType, source, ctx: RunContext, timing: dict,
                     down: SourceError | None = None) -> Generator[Item, FileOutcome, SourceError | None]:
    """One record type's pull: yields its item, then records the extraction; returns the source's error if any."""
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
                yield from _source_error(county, rt, ctx, source, plan, ref, error)
                return error
            try:
                fetched = source.fetch(rt, plan.low, plan.high)
            except SourceError as e:
                log.warning("%s %s %s: %s", county.code, rt.name, day, e)
                yield from _source_error(county, rt, ctx, source, plan, ref, e)
                return e
            raw = RawBatch(kind, None, batch_sha256(fetched.frame), arrival, fetched.frame)
            pages = fetched.pages
            notes += fetched.notes + _window_notes(plan, day, kind)
        outcome = yield Batch(county.code, rt.name, raw, kind, ref, notes=notes)
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
    return None


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


def _source_error(county: County, rt: RecordType, ctx: RunContext, source, plan: st.Plan, ref: str,
                  error: SourceError) -> Generator[Item, FileOutcome, None]:
    """The ledger status the fault deserves (module docstring), with the county system's answer kept in the lake
    when it was unusable; then the failed pull in ``ops.extraction`` (the watermark stays)."""
    kind = source.kind
    wm = plan.watermark
    since = (f"the watermark stays at {wm.watermark.astimezone(st.TZ):%Y-%m-%d %H:%M} (loaded up to business date "
             f"{wm.business_date})" if wm else "no watermark yet")
    day = ctx.business_date
    lake_path = sha = None
    if error.status == "rejected":
        evidence = error.evidence or str(error).encode()
        sha = hashlib.sha256(evidence).hexdigest()
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / ("response.json" if error.evidence else "error.txt")
            path.write_bytes(evidence)
            lake_path = str(land_rejected_bytes(ctx.lake_root, path, sha, rt.name, day, county.code))
    reason = txt.reason_source_error(county, rt, source.target(rt.name), error.status, str(error), error.todo,
                                     since, lake_path, getattr(error, "kind", None))
    outcome = yield NoBatch(
        county.code, rt.name, error.status, reason, kind, source_file=ref, sha256=sha, file_format=kind,
        lake_path=lake_path,
        quarantine=(error.rule, {"kept_at": lake_path, "error": str(error)}) if error.status == "rejected" else None)
    if not (plan.previous and plan.previous.status in st.LOADED):  # keep a loaded pull's record (re-pull failed)
        with connect(ctx.warehouse_url) as conn, conn.transaction():
            st.record_extraction(
                conn, county_code=county.code, record_type=rt.name, business_date=day, source_kind=kind,
                source_ref=ref, window_from=plan.low, window_to=plan.high, status=error.status, rows_received=0,
                pages=None, batch_sha256=sha, lake_path=lake_path, submission_id=outcome.submission_id,
                detail=str(error), fetched_at=None)


def _failed(county: County, record_type: str, reason: str) -> NoBatch:
    kind = county.transport if county.transport in PULL_TRANSPORTS else "http_api"
    return NoBatch(county.code, record_type, "failed", reason, kind)
