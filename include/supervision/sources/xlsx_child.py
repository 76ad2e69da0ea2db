"""The XLSX reader's child process: reads workbooks with calamine (Rust) so that a workbook that makes it abort
(an allocation it cannot make is a process abort, not an exception) ends one file, not the shard.

Run as a script (``python -P xlsx_child.py <address-space bytes>``); imports only the standard library and
python_calamine. Protocol on stdin/stdout: a request is an 8-byte big-endian length and the workbook's bytes;
the answer an 8-byte length and a pickle of ``("ok", header, columns, sheet_rows, sheet_columns)`` or
``("error", type, message)``:

- ``header``: the first row's texts (column names);
- ``columns``: one list of texts (None or "" = empty) per column, for the non-blank rows after the header (a
  column with neither a name nor a value is left out);
- ``sheet_rows``: the 1-based sheet row of each of those rows; ``sheet_columns``: the 0-based sheet column of
  each column.

Values become the contract's text here (dates ISO, whole floats without ".0", booleans true/false), so the parent
does no per-cell Python work. The parent (``supervision.sources.xlsx``) keeps one child per process and starts
another after a crash.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import sys
from datetime import date, datetime


def cell_text(v):
    if v is None:
        return None
    if isinstance(v, datetime):
        return v.date().isoformat() if v.time() == datetime.min.time() and v.tzinfo is None else v.isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def read_workbook(data: bytes):
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    if not book.sheet_names:
        return ("error", "NoSheet", "the workbook has no sheet")
    sheet = book.get_sheet_by_index(0)
    first_column = (sheet.start or (0, 0))[1]
    rows = sheet.iter_rows()  # from sheet row 1, from the first used column
    header = next(rows, None)
    if header is None:
        return ("error", "EmptyWorkbook", "empty workbook: no header row")
    kept, numbers = [], []
    for number, row in enumerate(rows, start=2):
        if any(v is not None and v != "" for v in row):
            kept.append([cell_text(v) for v in row])
            numbers.append(number)
    columns = [list(c) for c in zip(*kept, strict=True)] if kept else [[] for _ in header]
    names = [(cell_text(h) or "").strip() for h in header]
    # a column with neither a name nor a value carries nothing (formatting, a stray empty string): dropped
    keep = [i for i, name in enumerate(names) if name or any(v not in (None, "") for v in columns[i])]
    return ("ok", [names[i] for i in keep], [columns[i] for i in keep], numbers, [first_column + i for i in keep])


def serve(memory_bytes: int) -> None:
    if memory_bytes > 0:  # an allocation over this fails (and aborts) here, never eats the machine's memory
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes to stderr, never into the answers
    inp = sys.stdin.buffer
    while True:
        head = inp.read(8)
        if len(head) < 8:
            return  # the parent closed the pipe (or exited)
        (size,) = struct.unpack(">Q", head)
        data = inp.read(size)
        try:
            answer = read_workbook(data)
        except Exception as e:  # calamine's own errors (not a workbook, damaged zip/XML), MemoryError
            answer = ("error", type(e).__name__, str(e)[:500])
        del data
        blob = pickle.dumps(answer, protocol=5)
        out.write(struct.pack(">Q", len(blob)))
        out.write(blob)
        out.flush()


if __name__ == "__main__":
    serve(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
