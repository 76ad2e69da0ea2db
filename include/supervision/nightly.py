"""The nightly run's steps, as plain functions the DAG's tasks call (and tests call without Airflow).

prepare_run → run_shard (mapped, one per shard of counties) → summarize (all_done): the summary reconciles
the date and fails the run if any received row is unaccounted for, or any file failed or was never processed.
Faults a retry cannot fix raise supervision.errors.DeterministicError (the DAG fails them without retrying).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from supervision import resources, settings
from supervision.errors import DeterministicError, DropRootError, FilesFailed, is_deterministic
from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county, record_unknown_submitters
from supervision.registry import load_registry
from supervision.validation.gx_run import ShardValidation
from supervision.warehouse.connection import connect
from supervision.warehouse.locks import advisory_lock, county_lock_name
from supervision.warehouse.migrate import require_current_schema

log = logging.getLogger(__name__)
# Mapped load_shard tasks per night when shard_size is not given: one county per task up to this many counties,
# else as many counties per task as keep the night at this many tasks (national registry: 10 per task).
# Each task instance costs ~2.3 s of process start-up and set-up here, and Airflow refuses more than
# [core] max_map_length (1024) mapped tasks: see docs/benchmarks.md, "National scale".
MAX_AUTO_SHARDS = 300
MAX_MAP_LENGTH = 1024  # Airflow's default [core] max_map_length


class ShardingError(DeterministicError, ValueError):
    """The shard size asked for makes more mapped tasks than Airflow accepts."""


class SelectionError(DeterministicError, ValueError):
    """The counties asked for are not in the registry, or there are none."""


def shard_size_for(counties: int, shard_size: int | None = None) -> int:
    """Counties per mapped task: the one given, else one per county up to MAX_AUTO_SHARDS tasks."""
    if shard_size:
        return max(1, int(shard_size))
    return max(1, -(-counties // MAX_AUTO_SHARDS))


def business_date_for(run_after: datetime | None, override: str | None = None) -> date:
    """The business date a run covers: the given one, else the Asia/Shanghai day before the run."""
    if override:
        return date.fromisoformat(str(override))
    local = (run_after or datetime.now(ZoneInfo(settings.TIMEZONE))).astimezone(ZoneInfo(settings.TIMEZONE))
    return local.date() - timedelta(days=1)


def cut_shards(codes: list[str], shard_size: int | None = None) -> list[list[str]]:
    """The counties of each mapped task, in registry order (a city's counties stay together)."""
    size = shard_size_for(len(codes), shard_size)
    shards = [codes[i:i + size] for i in range(0, len(codes), size)]
    if len(shards) > MAX_MAP_LENGTH:
        raise ShardingError(f"{len(codes)} counties in shards of {size} make {len(shards)} mapped tasks, more than "
                         f"Airflow's max_map_length {MAX_MAP_LENGTH}: leave shard_size empty (automatic) or use at "
                         f"least {-(-len(codes) // MAX_MAP_LENGTH)}")
    return shards


def check_drop_root(drop_root: str | Path | None = None) -> Path:
    """The drop folder, resolved; a missing one is a fault no retry fixes."""
    given = Path(drop_root or settings.drop_root())
    root = given.resolve()
    if not root.is_dir():
        raise DropRootError(f"drop folder {given} ({root}) " + ("is not a folder" if root.exists() else "does not exist")
                            + " (set SUPERVISION_DROP_ROOT, --drop-root or the drop_root param)")
    return root


def prepare_run(business_date: date, registry: str | None = None, drop_root: str | None = None,
                shard_size: int | None = None, counties: list[str] | None = None) -> list[dict]:
    """Check the registry and drop folder, bring the warehouse schema up to date, and cut the shards.

    Each shard carries the run's settings, so the mapped task needs nothing else.
    """
    reg = load_registry(registry)
    root = check_drop_root(drop_root)
    unknown = sorted(set(counties or ()) - set(reg.codes))
    if unknown:
        raise SelectionError(f"counties not in registry {reg.path}: {', '.join(unknown)}")
    counties = counties or settings.default_counties()  # the remembered counties (the demo's), else all
    codes = [c for c in reg.codes if not counties or c in counties]
    if not codes:  # summarize reads "no shards" as "prepare did not finish": a run never succeeds doing nothing
        raise SelectionError(f"no county to process: registry {reg.path} lists none")
    shards = cut_shards(codes, shard_size)
    with connect() as conn:  # migrations are a deploy step (supervision db migrate): here only checked
        require_current_schema(conn)
    if not counties:  # a full run also records what in the drop folder belongs to no registered county
        record_unknown_submitters(set(reg.codes), RunContext.default(business_date, root))
    log.info("business date %s: %d counties from %s in %d shard(s)", business_date, len(codes), reg.path,
             len(shards))
    base = {"business_date": business_date.isoformat(), "registry": str(reg.path), "drop_root": str(root)}
    return [{**base, "counties": shard} for shard in shards]


def run_shard(run: dict, run_id: str | None = None) -> list[dict]:
    """Process every county of the shard; a county that crashes does not stop the others.

    Raises at the end if any file ended 'failed' (a pipeline fault, not a county fault), and the engineers see
    a red task: RuntimeError when a retry may help (Airflow retries the shard, idempotently), FilesFailed (a
    DeterministicError: no retry) when every failure would fail the same way again.
    """
    with resources.pooled():  # the shard's files share one warehouse pool in this task's process
        return _run_shard(run, run_id)


PRELOADED = "preloaded by the worker"  # tests look for it in load_shard's task logs


def _run_shard(run: dict, run_id: str | None) -> list[dict]:
    # Engineers (and the stack tests) read here whether the worker forked this task with Great Expectations
    # already imported (supervision.task_preload) or each shard pays ~4.5 s importing it.
    log.info("task start-up: Great Expectations %s", PRELOADED if "great_expectations" in sys.modules else
             "imported by this task (the worker does not preload supervision.task_preload: see docs/deployment.md)")
    reg = load_registry(run["registry"], only=list(run["counties"]))  # prepare checked the whole file
    ctx = RunContext.default(date.fromisoformat(run["business_date"]), Path(run["drop_root"]), run_id=run_id)
    # Great Expectations once per record type over the whole shard (validation.gx_run), flushed below
    ctx.validation = ShardValidation(ctx.validation_root)
    outcomes: list[dict] = []
    for code in run["counties"]:
        county = reg.county(code)
        try:
            # One run at a time per county and date (the UI and the CLI may start the same date): the second
            # waits, then repeats the county idempotently instead of racing it (doubled quarantine rows).
            with advisory_lock(county_lock_name(code, ctx.business_date), run_id or f"pid {os.getpid()}"):
                results = process_county(county, ctx)
        except Exception as e:  # e.g. the warehouse is down: record nothing, keep going, fail at the end
            log.exception("county %s failed", code)
            outcomes.append({"county_code": code, "record_type": "*", "status": "failed",
                             "reason": f"{type(e).__name__}: {e}", "retry": not is_deterministic(e)})
            continue
        for o in results:
            outcomes.append(o.to_dict())
        log.info("%s %s: %s", code, county.name,
                 ", ".join(f"{o.record_type}={o.status}({o.rows_loaded}/{o.rows_quarantined})" for o in results))
        for o in results:  # per file: received / loaded / quarantined / verdict (engineers read task logs)
            log.log(logging.INFO if o.status in ("loaded", "loaded_with_quarantine") else logging.WARNING,
                    "%s %s %s %s: received %s, loaded %s, quarantined %s -> %s%s", code, county.name, o.record_type,
                    getattr(o, "source_file", None) or "-", o.rows_received, o.rows_loaded, o.rows_quarantined,
                    o.status.upper(), f" ({o.reason})" if getattr(o, "reason", None) else "")
    t = time.perf_counter()
    try:  # the results every ledger row of the shard links to: without them the shard fails (its retry redoes it)
        stored = ctx.validation.flush()
    except Exception as e:
        log.exception("Great Expectations over the shard failed")
        raise RuntimeError(f"Great Expectations over the shard failed ({type(e).__name__}: {e}): the retry "
                           "re-runs its files") from e
    log.info("Great Expectations: %d run(s), %d file result(s) stored in %.1f s", len(ctx.validation.runs),
             len(stored), time.perf_counter() - t)
    try:  # this shard's Data Docs pages, in parallel with the other shards; summarize builds the index
        from supervision.validation.data_docs import render_keys

        t = time.perf_counter()
        # exactly the results this try stored: no walk of the store (11,912 results a national night), and an
        # earlier try's pages are not rendered again (summarize renders any page still missing)
        pages = render_keys([f.key for f in stored if f.key is not None])
        log.info("Data Docs: %d page(s) rendered in %.1f s", pages, time.perf_counter() - t)
    except Exception:  # docs are for reading: summarize renders whatever is missing
        log.exception("rendering this shard's Data Docs pages failed")
    failed = [o for o in outcomes if o["status"] == "failed"]
    if failed:
        text = (f"{len(failed)} file(s) failed in the pipeline itself: "
                + "; ".join(f"{o['county_code']} {o['record_type']}: {o['reason']}" for o in failed))
        if any(o.get("retry") for o in failed):
            raise RuntimeError(text)  # e.g. the warehouse was down: Airflow retries the shard (idempotent)
        raise FilesFailed(text + " (a retry cannot fix this: fix the cause, then re-run the date)")
    return outcomes


def shard_label(counties: list[str], outcomes: list[dict] | None) -> str:
    """The mapped task's label in the UI: its counties, each with its worst verdict when it is not 'loaded'."""
    if outcomes is None:
        return ",".join(counties) + " (pipeline failure)"
    worst: dict[str, set[str]] = {}
    for o in outcomes:
        worst.setdefault(o["county_code"], set()).add(o["status"])
    parts = []
    for c in counties:
        bad = sorted(worst.get(c, set()) - {"loaded", "loaded_with_quarantine"})
        parts.append(c + (" " + "/".join(s.upper() for s in bad) if bad else ""))
    return ",".join(parts)


def summarize(shards: list[dict]) -> dict:
    """Per-county table and reconciliation of the date; raises if anything is unaccounted for."""
    from supervision.reconcile import reconcile, render_report

    if not shards:  # prepare never returns no shards: it failed (the task has all_done, it runs anyway)
        raise DeterministicError("prepare did not finish (see its log: e.g. an invalid registry or drop folder): "
                                 "no county was processed; fix the cause, then re-run the date")
    day = shards[0]["business_date"]
    # this run's counties only: another registry's run of the same date may be loading its own at the same time
    counties = [c for s in shards for c in s["counties"]]
    report = reconcile(date.fromisoformat(day), counties)
    table = render_report(report)
    print(table)
    log.info("business date %s, per county:\n%s", day, table)  # the task log tells the night, not only stdout
    not_loaded = sorted({r.county_code for r in report.ledger.itertuples()
                         if r.status not in ("loaded", "loaded_with_quarantine")})
    if not_loaded:
        log.warning("business date %s: %d county(ies) not fully loaded (rejected, late, missing or failed): %s",
                    day, len(not_loaded), ", ".join(not_loaded))
    try:  # the ledger's validation_ref links point into these pages
        from supervision.validation import build_data_docs

        print(f"Great Expectations Data Docs: {build_data_docs(day, counties)}")
    except Exception:  # docs are for reading; a rendering problem must not fail a reconciled night
        log.exception("building Data Docs failed")
    if not report.ok:
        raise RuntimeError(f"reconciliation failed for {day}: {len(report.problems)} problem(s); "
                           "see the table above and `supervision reconcile --date` for details")
    return report.totals
