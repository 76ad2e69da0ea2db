"""What one county's night returns per file, and the run-wide context every step reads."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from supervision import settings

if TYPE_CHECKING:  # sources import this module: it must not load the validation package (GX) for them
    from supervision.validation.gx_run import ShardValidation


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
    # Kept as sorted 64-bit fingerprints (arrow_text.fingerprints): 8 bytes an id, whatever the file's size.
    night_ids: dict[tuple[str, str], list[np.ndarray]] = field(default_factory=dict)
    # When this run observes files (arrival time, ops.file_arrival): None = the warehouse server's clock. Only
    # replays and tests pass one, and it can only make an observation earlier than the server's now().
    clock: datetime | None = None
    # Great Expectations for the files of this run: a shard's collector (nightly.run_shard flushes it: one GX
    # run per record type); None = each file gets its own, flushed when the file is done.
    validation: ShardValidation | None = None

    @classmethod
    def default(cls, business_date: date, drop_root: Path | None = None, run_id: str | None = None,
                warehouse_url: str | None = None) -> RunContext:
        return cls(business_date, Path(drop_root or settings.drop_root()).resolve(), settings.lake_root(),
                   settings.data_dir() / "validation", warehouse_url, run_id)
