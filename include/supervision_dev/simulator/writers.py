"""Serialise a county's tables the way its system exports them: CSV (UTF-8, UTF-8 with BOM or GBK), XLSX, JSON."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
from datetime import UTC, datetime

from supervision.contract import BOOL, MONEY
from supervision_dev.simulator.county import CountyCtx
from supervision_dev.simulator.records import Table
from supervision_dev.simulator.xlsx import xlsx_bytes

EXTENSIONS = {"csv": "csv", "xlsx": "xlsx", "json": "json"}
_BOOL_WORDS = {"true/false": ("true", "false"), "1/0": ("1", "0"), "是/否": ("是", "否"), "json": ("true", "false")}
_PYTHON_CODECS = {"utf-8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gbk"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _text_column(values: list, ftype: str, bool_style: str) -> list[str]:
    """Logical values as cell text; strings (including deliberately malformed ones) pass through."""
    if ftype == BOOL:
        t, f = _BOOL_WORDS[bool_style]
        return [t if v is True else f if v is False else "" if v is None else str(v) for v in values]
    if ftype == MONEY:
        return ["" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v) for v in values]
    return ["" if v is None else v for v in values]


def _text_rows(table: Table, bool_style: str) -> tuple[list[str], list[tuple]]:
    rt = table.record_type
    cols = [_text_column(table.columns[f.name], f.type, bool_style) for f in rt.fields]
    return rt.field_names, list(zip(*cols, strict=True)) if cols else []


def csv_bytes(table: Table, ctx: CountyCtx) -> bytes:
    header, rows = _text_rows(table, ctx.bool_style)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=ctx.line_terminator,
                   quoting=csv.QUOTE_ALL if ctx.quote_all else csv.QUOTE_MINIMAL)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(_PYTHON_CODECS[ctx.encoding])


def _json_value(v, ftype: str):
    if v is None or isinstance(v, bool):
        return v
    if ftype == MONEY and isinstance(v, float):
        return round(v, 2)
    return v


def json_bytes(table: Table) -> bytes:
    rt = table.record_type
    types = [(f.name, f.type) for f in rt.fields]
    cols = [(name, [_json_value(v, ftype) for v in table.columns[name]]) for name, ftype in types]
    # One record per line: readable, and json's C encoder (indent= would fall back to pure Python).
    lines = [json.dumps({name: col[i] for name, col in cols}, ensure_ascii=False) for i in range(len(table))]
    return ("[\n" + ",\n".join(lines) + "\n]\n").encode("utf-8")


def file_bytes(table: Table, ctx: CountyCtx, when: datetime) -> bytes:
    if ctx.format == "csv":
        return csv_bytes(table, ctx)
    if ctx.format == "json":
        return json_bytes(table)
    header, rows = _text_rows(table, ctx.bool_style)
    utc = when.astimezone(UTC).replace(tzinfo=None)
    return xlsx_bytes(header, [list(r) for r in rows], table.record_type.name, utc)


def unreadable_bytes(table: Table, ctx: CountyCtx, good: bytes) -> tuple[bytes, str]:
    """Bytes that no reader can parse, as county systems really send them, and how they were broken."""
    if ctx.format == "xlsx":  # an HTML table saved under an Excel name, a classic of report exports
        header, rows = _text_rows(table, ctx.bool_style)
        cells = "".join(f"<tr>{''.join(f'<td>{v}</td>' for v in r)}</tr>" for r in [header, *rows])
        return f"<html><body><table>{cells}</table></body></html>".encode(), "HTML table named .xlsx (not a zip)"
    if ctx.format == "json":
        return good[: max(1, len(good) * 3 // 5)], "JSON cut off mid-way"
    return gzip.compress(good, mtime=0), "gzip-compressed CSV named .csv"


def manifest_bytes(county_code: str, business_date: str, generated_at: str, encoding: str,
                   files: dict[str, dict]) -> bytes:
    doc = {"county_code": county_code, "business_date": business_date, "generated_at": generated_at,
           "encoding": encoding, "files": files}
    return (json.dumps(doc, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
