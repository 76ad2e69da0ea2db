"""What a county file may be, checked before (or instead of) handing it to a parser.

Every limit is an environment variable with a default far above any real county file (a national night's
files are a few hundred rows; the biggest county file benchmarked is 10M rows of CSV), so only a broken or
hostile file meets one. Each refusal is an :class:`~supervision.sources.filereader.UnreadableFile` whose text
says, in Chinese first, what is wrong and what to send instead (docs/runbook.md lists the variables).

| variable | default | what |
|---|---|---|
| ``SUPERVISION_MAX_CSV_BYTES`` | 64 GiB | a CSV file (CSV is streamed, memory stays bounded) |
| ``SUPERVISION_MAX_JSON_BYTES`` | 256 MiB | a JSON file (parsed whole into Python objects) |
| ``SUPERVISION_MAX_XLSX_BYTES`` | 256 MiB | an XLSX file (a full 1,048,576-row sheet is ~100 MB) |
| ``SUPERVISION_MAX_PARQUET_BYTES`` | 2 GiB | a Parquet file, and its columns uncompressed (metadata) |
| ``SUPERVISION_MAX_COLUMNS`` | 1,000 | columns of any file (the widest contract type has 22) |
| ``SUPERVISION_MAX_HEADER_BYTES`` | 64 KiB | a CSV header line |
| ``SUPERVISION_MAX_FIELD_BYTES`` | 1 MiB | one cell's text (the longest contract field allows 2,000 characters) |
| ``SUPERVISION_MAX_XLSX_CELLS`` | 20,000,000 | rows × columns the XLSX reader would allocate (from the sheet XML) |
| ``SUPERVISION_MAX_XLSX_UNZIPPED_BYTES`` | 2 GiB | an XLSX's parts uncompressed (zip bomb) |
| ``SUPERVISION_XLSX_MEMORY_BYTES`` | 6 GiB | address space of the XLSX reader's child process |
| ``SUPERVISION_XLSX_TIMEOUT_SECONDS`` | 900 | one workbook in the XLSX reader's child process |
"""

from __future__ import annotations

from dataclasses import dataclass

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@dataclass(frozen=True)
class Limits:
    csv_bytes: int = 64 * GiB
    json_bytes: int = 256 * MiB
    xlsx_bytes: int = 256 * MiB
    parquet_bytes: int = 2 * GiB
    columns: int = 1000
    header_bytes: int = 64 * KiB
    field_bytes: int = 1 * MiB
    xlsx_cells: int = 20_000_000
    xlsx_unzipped_bytes: int = 2 * GiB
    xlsx_memory_bytes: int = 6 * GiB
    xlsx_timeout_seconds: float = 900.0

    @classmethod
    def from_env(cls) -> Limits:
        from supervision import resources

        v = resources.variables()
        return cls(**{name: getattr(v, var.removeprefix("SUPERVISION_").lower()) for name, var in _ENV.items()})

    def file_bytes(self, fmt: str) -> int | None:
        return {"csv": self.csv_bytes, "json": self.json_bytes, "xlsx": self.xlsx_bytes,
                "parquet": self.parquet_bytes}.get(fmt)


_ENV = {
    "csv_bytes": "SUPERVISION_MAX_CSV_BYTES", "json_bytes": "SUPERVISION_MAX_JSON_BYTES",
    "xlsx_bytes": "SUPERVISION_MAX_XLSX_BYTES", "parquet_bytes": "SUPERVISION_MAX_PARQUET_BYTES",
    "columns": "SUPERVISION_MAX_COLUMNS", "header_bytes": "SUPERVISION_MAX_HEADER_BYTES",
    "field_bytes": "SUPERVISION_MAX_FIELD_BYTES", "xlsx_cells": "SUPERVISION_MAX_XLSX_CELLS",
    "xlsx_unzipped_bytes": "SUPERVISION_MAX_XLSX_UNZIPPED_BYTES", "xlsx_memory_bytes": "SUPERVISION_XLSX_MEMORY_BYTES",
    "xlsx_timeout_seconds": "SUPERVISION_XLSX_TIMEOUT_SECONDS",
}


def size_text(n: float) -> str:
    """Bytes for people: 1.5 KiB, 50 MiB, 512 GiB."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if value >= 10 or value == int(value) else f"{value:.1f} {unit}"
    return f"{int(n)} B"


_INVISIBLE = {"\x00": "\\x00", "\ufeff": "\\ufeff", "\u200b": "\\u200b", "\u200c": "\\u200c", "\u200d": "\\u200d",
              "\u2060": "\\u2060", "\r": "\\r", "\n": "\\n", "\t": "\\t"}


def visible(text: str, limit: int = 60) -> str:
    """A value as it may be shown in a message: invisible characters written out (\\x00, \\ufeff), cut short.
    PostgreSQL text cannot hold NUL, so a message never carries one."""
    out = "".join(_INVISIBLE.get(ch, ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256
                                 else f"\\u{ord(ch):04x}") for ch in text[:limit])
    return out + ("…" if len(text) > limit else "")


INVISIBLE_EDGES = "\ufeff\u200b\u200c\u200d\u2060"  # stripped from column names: a doubled BOM, zero-width marks
