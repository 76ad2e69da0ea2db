"""The raw landing zone: what a county sent, kept immutable as Parquet before anything is judged.

Layout: <lake>/raw/record_type=<rt>/business_date=<d>/county_code=<c>/<sha256 of the source file>.parquet.
Named by the source file's hash, a landed file is never overwritten: re-running a day finds it already
there, and a corrected re-submission lands beside it. Unreadable files are kept byte for byte under
<lake>/rejected/ so the county and the engineers can look at exactly what arrived.
"""

from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from supervision.sources import RawBatch


def _partition(lake: Path, zone: str, record_type: str, business_date: date, county_code: str) -> Path:
    return lake / zone / f"record_type={record_type}" / f"business_date={business_date.isoformat()}" / (
        f"county_code={county_code}")


def land_raw(lake: Path, raw: RawBatch, record_type: str, business_date: date, county_code: str,
             source_file: str) -> Path:
    target = _partition(lake, "raw", record_type, business_date, county_code) / f"{raw.sha256}.parquet"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(raw.frame, preserve_index=False)
    table = table.replace_schema_metadata({
        **(table.schema.metadata or {}),
        b"source_file": source_file.encode(), b"source_sha256": raw.sha256.encode(),
        b"source_format": raw.format.encode(), b"source_encoding": (raw.encoding or "").encode(),
    })
    tmp = target.with_suffix(".parquet.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, target)  # atomic: a crashed run never leaves half a file under the final name
    return target


def land_rejected_bytes(lake: Path, path: Path, sha256: str, record_type: str, business_date: date,
                        county_code: str) -> Path:
    target = _partition(lake, "rejected", record_type, business_date, county_code) / f"{sha256}{''.join(path.suffixes)}"
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return target


def read_landed(path: Path, columns: list[str] | None = None) -> pa.Table:
    return pq.read_table(path, columns=columns)
