"""One county's night: ask the county's source for its batches, hand each to the consumer, collect outcomes.

Airflow calls :func:`process_county` from a mapped task (``nightly.run_shard``, under the county's lock);
tests call it directly. Every record type is its own item and its own transaction, so one bad file never
stops the county's other files, and one county never stops another (each is its own task instance).
"""

from __future__ import annotations

from collections.abc import Generator

from supervision.contract import RecordType
from supervision.ingest.batch import Item, Source
from supervision.ingest.consume import consume, record
from supervision.ingest.outcome import FileOutcome, RunContext
from supervision.registry import County
from supervision.sources.filedrop import DayDrop, FileDropSource, unknown_submitter_items
from supervision.sources.pull import PullSource


def source_for(county: County) -> Source:
    """The county's transport (registry ``transport``): its drop folder, else its API or database."""
    if county.transport == "file_drop":
        return FileDropSource(county)
    return PullSource(county)  # http_api, database (docs/sources.md); a bad source entry is told per record type


def process_county(county: County, ctx: RunContext) -> list[FileOutcome]:
    return drive(county, source_for(county).batches(ctx), ctx)


def drive(county: County | None, items: Generator[Item, FileOutcome, None], ctx: RunContext) -> list[FileOutcome]:
    """Consume every item of a source; each outcome goes back to the source, each failure is thrown into it
    (see :mod:`supervision.ingest.batch`). What the source does not handle propagates."""
    outcomes: list[FileOutcome] = []
    try:
        item = next(items)
        while True:
            try:
                outcome = consume(county, item, ctx)
            except Exception as e:  # the source says what it means: a re-read, or a 'failed' row for its file
                item = items.throw(e)
                continue
            outcomes.append(outcome)
            item = items.send(outcome)
    except StopIteration:
        pass
    return outcomes


def record_unknown_submitters(known_codes: set[str] | frozenset[str], ctx: RunContext) -> list[FileOutcome]:
    """Folders (and anything else) at the top of the drop folder that belong to no registered county: one
    'unexpected' ledger row each (see ``filedrop.unknown_submitter_items``). Called once per full nightly run."""
    return [record(item, ctx) for item in unknown_submitter_items(known_codes, ctx)]


def process_file(county: County, rt: RecordType, day: DayDrop, ctx: RunContext) -> FileOutcome:
    """One record type of a discovered drop day, without the county's other files (``make bench``, re-runs of
    one file): read, then the same consumer."""
    (outcome,) = drive(county, FileDropSource(county).file(rt, day, ctx), ctx)
    return outcome
