"""County sources. Each transport produces the same thing: a :class:`RawBatch` of strings.

From there on (landing, validation, quarantine, load, ledger) every source is treated alike by
``supervision.ingest`` (each source yields ``ingest.batch`` items that hold one).

A batch holds its rows in one of three shapes, all read the same way through :meth:`RawBatch.tables`:
a pandas frame (API and database pulls, JSON, XLSX), an Arrow table (CSV and Parquet files that fit in
memory) or a :class:`Stream` (big CSV files, read in record batches so memory stays bounded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from supervision.identifiers import record_keys

ROW_NUMBER = "_row_number"


@dataclass
class Stream:
    """A file too big to hold: re-readable record batches of strings, and what a first pass learnt of it."""

    columns: list[str]  # the file's own column names (no _row_number)
    rows: int
    duplicate_ids: pa.Array  # record ids that occur more than once in the whole file
    id_fingerprints: np.ndarray  # 64-bit fingerprints of every record id (not the ids: memory stays small)
    open: Callable[..., Iterator[pa.Table]]  # (batch_rows, first_rows) -> tables with _row_number first


class RawBatch:
    """What one county sent for one record type: all values as strings (null = empty) plus ``_row_number``
    (1-based data row, header excluded)."""

    file_mtime: datetime | None = None  # files: the modification time the county's system set (information only)

    def __init__(self, format: str, encoding: str | None, sha256: str, received_at: datetime,  # noqa: A002
                 frame: pd.DataFrame | None = None, path: Path | None = None, *, table: pa.Table | None = None,
                 stream: Stream | None = None):
        if sum(x is not None for x in (frame, table, stream)) != 1:
            raise ValueError("a RawBatch holds exactly one of frame, table, stream")
        self.format = format  # csv | json | xlsx | parquet | http_api | database
        self.encoding = encoding
        self.sha256 = sha256  # of the bytes received (files) or of the canonical batch content (API, database)
        self.received_at = received_at
        self.path = path  # the file, for file drops
        self._frame, self._table, self.stream = frame, table, stream

    def __repr__(self) -> str:
        return f"RawBatch({self.format}, {self.rows} rows, sha256={self.sha256[:12]}…)"

    @property
    def rows(self) -> int:
        if self.stream is not None:
            return self.stream.rows
        return self._table.num_rows if self._table is not None else len(self._frame)

    @property
    def columns(self) -> list[str]:
        """The batch's own column names, without ``_row_number``."""
        if self.stream is not None:
            return list(self.stream.columns)
        names = self._table.column_names if self._table is not None else [str(c) for c in self._frame.columns]
        return [c for c in names if c != ROW_NUMBER]

    @property
    def table(self) -> pa.Table:
        """The whole batch as one Arrow table (not for streams: use :meth:`tables`)."""
        if self.stream is not None:
            raise ValueError(f"{self.path}: a streamed file is read in batches (RawBatch.tables)")
        if self._table is None:
            self._table = frame_to_table(self._frame)
        return self._table

    @property
    def frame(self) -> pd.DataFrame:
        """The whole batch as a pandas frame of strings (small batches, tests and the API/database pulls)."""
        if self._frame is None:
            self._frame = table_to_frame(self.table)
        return self._frame

    def tables(self, batch_rows: int, first_rows: int | None = None) -> Iterator[pa.Table]:
        """The rows in order, as Arrow tables of at most ``batch_rows`` rows (``_row_number`` first); with
        ``first_rows``, the first table holds at most that many (its rows reach the warehouse sooner)."""
        if self.stream is not None:
            yield from self.stream.open(batch_rows, first_rows)
            return
        table = self.table
        if table.num_rows == 0:
            yield table
            return
        start, size = 0, min(batch_rows, first_rows or batch_rows)
        while start < table.num_rows:
            yield table.slice(start, size)
            start, size = start + size, batch_rows

    def record_ids(self) -> pa.ChunkedArray | None:
        """Every record id as a key (NFKC, see ``identifiers.record_key``; for a stream: read again from the
        file, batch by batch)."""
        if "record_id" not in self.columns:
            return None
        if self.stream is not None:
            return pa.chunked_array([record_keys(t["record_id"]) for t in self.tables(1_000_000)], pa.string())
        return record_keys(self.table["record_id"])

    def id_fingerprints(self) -> np.ndarray | None:
        """64-bit fingerprints of the non-null record ids (see ``validation.fingerprints``)."""
        if "record_id" not in self.columns:
            return None
        if self.stream is not None:
            return self.stream.id_fingerprints
        from supervision.arrow_text import fingerprints

        return fingerprints(self.record_ids())

    def duplicate_ids(self) -> pa.Array | None:
        """Record ids (keys) that occur more than once in the batch (None when it has no record_id column)."""
        if self.stream is not None:
            return self.stream.duplicate_ids if "record_id" in self.columns else None
        ids = self.record_ids()
        return None if ids is None else duplicated_values(ids)


RawFile = RawBatch  # file drops call their batches files


def duplicated_values(values: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Distinct non-null values that occur more than once."""
    counts = pc.value_counts(values.drop_null() if values.null_count else values)
    if len(counts) == len(values) - values.null_count:
        return pa.array([], pa.string())
    dup = counts.filter(pc.greater(counts.field("counts"), 1))
    return dup.field("values").cast(pa.string())


def frame_to_table(frame: pd.DataFrame) -> pa.Table:
    """A strings frame (``_row_number`` + text columns, NA = empty) as an Arrow table of the same shape."""
    arrays, names = [], []
    n = len(frame)
    for c in frame.columns:
        name = str(c)
        if name == ROW_NUMBER:
            arrays.append(pa.array(frame[c].to_numpy(dtype="int64"), pa.int64()))
        else:
            arrays.append(pa.array(frame[c].astype("string"), type=pa.string(), from_pandas=True))
        names.append(name)
    if ROW_NUMBER not in names:
        arrays.insert(0, pa.array(range(1, n + 1), pa.int64()))
        names.insert(0, ROW_NUMBER)
    return pa.table(arrays, names=names)


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of strings as the pandas shape callers knew: string dtype, NA for empty."""
    out = {}
    for name in table.column_names:
        col = table[name]
        if name == ROW_NUMBER:
            out[name] = col.to_numpy()
        else:
            out[name] = pd.array(col.cast(pa.string()).to_pandas(types_mapper=pd.ArrowDtype).astype("string"),
                                 dtype="string")
    return pd.DataFrame(out, index=pd.RangeIndex(table.num_rows))


def normalise_strings(table: pa.Table) -> pa.Table:
    """Every text column trimmed of whitespace, empty cells null (the shape validation reads)."""
    cols = []
    for name, col in zip(table.column_names, table.columns, strict=True):
        if name == ROW_NUMBER:
            cols.append(col)
            continue
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = col.cast(pa.string())
        trimmed = pc.utf8_trim_whitespace(col)
        cols.append(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, trimmed.type), trimmed))
    return pa.table(cols, names=table.column_names)
