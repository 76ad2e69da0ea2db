"""The raw landing zone: what a county sent, kept immutable as Parquet before anything is judged.

Layout: <lake>/raw/record_type=<rt>/business_date=<d>/county_code=<c>/<sha256 of the source file>.parquet.
Named by the source file's hash, a landed file is never overwritten: re-running a day finds it already
there, and a corrected re-submission lands beside it. Unreadable files are kept byte for byte under
<lake>/rejected/ so the county and the engineers can look at exactly what arrived.

Both are written under a temporary name (``<final name>.<pid>.<host>.tmp``) and renamed when complete. A writer
killed on the way (SIGKILL, OOM killer, a lost worker) leaves that temporary file behind: the next writer into
the same partition (the retry, the re-run of the day) removes it when its process is gone (same host) or it is
older than ``SUPERVISION_TMP_STALE_SECONDS`` (default 6 h; another host's writer), and logs what it removed.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from supervision.sources import RawBatch

log = logging.getLogger(__name__)
_HOST = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname()) or "host"
# <final name>.<pid>.<host>.tmp, and <final name>.<pid>.tmp as written before the host was part of it
_TMP = re.compile(r"^(?P<final>.+?)\.(?P<pid>\d+)(?:\.(?P<host>[A-Za-z0-9-]+))?\.tmp$")


def _tmp_name(target: Path) -> Path:
    return target.with_name(f"{target.name}.{os.getpid()}.{_HOST}.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def sweep_stale(folder: Path, stale_seconds: float | None = None) -> list[Path]:
    """Remove the temporary files of dead writers in one partition folder; returns what was removed. A file of
    a live writer of this host is left alone; another host's only when older than ``stale_seconds``."""
    if stale_seconds is None:
        from supervision import resources

        stale_seconds = resources.variables().tmp_stale_seconds
    removed = []
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return removed
    for entry in entries:
        m = _TMP.match(entry.name)
        if m is None:
            continue
        pid, host = int(m["pid"]), m["host"]
        try:
            age = time.time() - entry.stat().st_mtime
        except FileNotFoundError:
            continue
        if host in (None, _HOST) and pid == os.getpid():
            continue  # this process's own writer
        dead = host in (None, _HOST) and not _alive(pid)
        if dead or age > stale_seconds:
            entry.unlink(missing_ok=True)
            removed.append(entry)
            log.warning("removed %s: left by a writer (pid %s on %s) that %s %.0f s ago", entry, pid, host or _HOST,
                        "died" if dead else "stopped writing", age)
        else:
            log.info("left %s in place: its writer (pid %s on %s) may still be running", entry, pid, host or _HOST)
    return removed


def _partition(lake: Path, zone: str, record_type: str, business_date: date, county_code: str) -> Path:
    return lake / zone / f"record_type={record_type}" / f"business_date={business_date.isoformat()}" / (
        f"county_code={county_code}")


class Lander:
    """Writes what arrived to ``<partition>/<sha256>.parquet`` batch by batch, in a background thread (the
    Parquet encoder releases the GIL), while the same batches are validated. Nothing to do when that file is
    already there (a re-run): landed files are immutable. The file appears under its final name only when
    complete (:meth:`finish`); a failed run leaves no partial file behind."""

    def __init__(self, lake: Path, raw: RawBatch, record_type: str, business_date: date, county_code: str,
                 source_file: str):
        self.raw, self.source_file = raw, source_file
        self.target = _partition(lake, "raw", record_type, business_date, county_code) / f"{raw.sha256}.parquet"
        sweep_stale(self.target.parent)  # a killed writer's leftovers (this partition is being written again)
        self.done = self.target.exists()
        self._tmp = _tmp_name(self.target)
        self._writer: pq.ParquetWriter | None = None
        self._pool = None if self.done else ThreadPoolExecutor(1, thread_name_prefix="land")
        self._last = None

    def _metadata(self, schema: pa.Schema) -> pa.Schema:
        return schema.with_metadata({
            **(schema.metadata or {}),
            b"source_file": self.source_file.encode(), b"source_sha256": self.raw.sha256.encode(),
            b"source_format": self.raw.format.encode(), b"source_encoding": (self.raw.encoding or "").encode(),
        })

    def _write(self, table: pa.Table) -> None:
        if self._writer is None:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(self._tmp, self._metadata(table.schema), compression="zstd")
        self._writer.write_table(table.replace_schema_metadata(self._writer.schema.metadata))

    def write(self, table: pa.Table) -> None:
        """Hand one batch (in file order) to the writer thread."""
        if self.done:
            return
        if self._last is not None:
            self._last.result()  # at most one batch in flight: memory stays bounded, errors surface here
        self._last = self._pool.submit(self._write, table)

    def land_all(self, batch_rows: int) -> Path:
        """Land the whole batch now (files rejected before validation)."""
        if not self.done:
            for table in self.raw.tables(batch_rows):
                self.write(table)
        return self.finish()

    def finish(self) -> Path:
        if self.done:
            return self.target
        if self._last is not None:
            self._last.result()
        if self._writer is None:  # nothing was written: an empty batch still lands, with its columns
            self._write(pa.table({c: pa.array([], pa.string()) for c in ["_row_number", *self.raw.columns]}))
        self._writer.close()
        os.replace(self._tmp, self.target)  # atomic: a crashed run never leaves half a file under the final name
        self.done = True
        return self.target

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if not self.done:
            if self._writer is not None:
                self._writer.close()
            self._tmp.unlink(missing_ok=True)


def land_raw(lake: Path, raw: RawBatch, record_type: str, business_date: date, county_code: str,
             source_file: str, batch_rows: int = 200_000) -> Path:
    """Land a whole batch at once (see :class:`Lander`)."""
    lander = Lander(lake, raw, record_type, business_date, county_code, source_file)
    try:
        return lander.land_all(batch_rows)
    finally:
        lander.close()


def land_rejected_bytes(lake: Path, path: Path, sha256: str, record_type: str, business_date: date,
                        county_code: str) -> Path:
    target = _partition(lake, "rejected", record_type, business_date, county_code) / f"{sha256}{''.join(path.suffixes)}"
    sweep_stale(target.parent)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(target)
        try:
            shutil.copyfile(path, tmp)
            os.replace(tmp, target)  # a killed copy never leaves a cut file under the final name
        finally:
            tmp.unlink(missing_ok=True)
    return target


def read_landed(path: Path, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(path, columns=columns)
