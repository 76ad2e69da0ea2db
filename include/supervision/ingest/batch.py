"""What every source yields, whatever its transport: the same two kinds of item, per county and record type.

* :class:`Batch`: rows as received (a :class:`~supervision.sources.RawBatch`: Arrow, pandas or a re-readable
  stream of strings, with format, encoding, sha256, received_at and file_mtime) plus where they came from.
* :class:`NoBatch`: what could not be read, recorded as it is: nothing dropped yet (``late``), no file
  (``missing``), bytes refused or unreadable (``rejected``, kept in the lake), the county system did not answer
  (``source_error``), our own fault (``failed``), entries that are no contract file (``unexpected``).

A source is a generator of these items (``Source.batches(ctx)``). :mod:`supervision.ingest.run` sends each
item's :class:`~supervision.ingest.outcome.FileOutcome` back into the generator (``outcome = yield item``), so a
pull can record its extraction and move its watermark; if consuming an item raises, the exception is thrown
into the generator at that ``yield``, so the source decides what it means (a file re-read whole, a 'failed'
ledger row naming the file) and the county's other record types still go through.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from supervision.ingest.outcome import FileOutcome, RunContext
from supervision.sources import RawBatch


@dataclass
class Batch:
    county_code: str
    record_type: str
    raw: RawBatch
    source_kind: str  # file_drop | http_api | database
    source_ref: str  # the file (relative to the drop root) or the pull's request / query and window
    manifest_status: str | None = None  # file drops: ok | mismatch | not_listed | no_manifest
    manifest_rows: int | None = None
    problem: tuple[str, str] | None = None  # (rule id, text): the whole batch is rejected before validation
    notes: list[str] = field(default_factory=list)  # said in the ledger's reason (no manifest, catch-up window...)


@dataclass
class NoBatch:
    county_code: str
    record_type: str  # '*' for 'unexpected' (the whole county folder of the day)
    status: str  # late | missing | rejected | source_error | failed | unexpected
    reason: str
    source_kind: str
    source_file: str | None = None
    sha256: str | None = None
    file_format: str | None = None
    encoding: str | None = None
    received_at: datetime | None = None
    file_mtime: datetime | None = None
    manifest_rows: int | None = None
    rows_received: int = 0  # 'failed' after the rows were counted
    lake_path: str | None = None  # the refused bytes, kept under <lake>/rejected/
    quarantine: tuple[str, dict] | None = None  # (rule, raw_row): one whole-batch quarantine entry
    retry: bool = False  # 'failed' only: a retry may fix it


Item = Batch | NoBatch


class Source(Protocol):
    """One county's transport. ``batches`` yields one item per record type (and any 'unexpected' item)."""

    def batches(self, ctx: RunContext) -> Generator[Item, FileOutcome, None]: ...
