"""County sources. Each transport produces the same thing: a :class:`RawBatch` of strings.

From there on (landing, validation, quarantine, load, ledger) every source is treated alike by
``supervision.pipeline.ingest``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd


@dataclass
class RawBatch:
    """What one county sent for one record type: all values as strings (NA = empty) plus ``_row_number``."""

    format: str  # csv | json | xlsx | parquet | http_api | database
    encoding: str | None
    sha256: str  # of the bytes received (files) or of the canonical batch content (API, database)
    received_at: datetime
    frame: pd.DataFrame
    path: Path | None = None  # the file, for file drops

    @property
    def rows(self) -> int:
        return len(self.frame)


RawFile = RawBatch  # file drops call their batches files
