"""XLSX workbooks, read so that no workbook can take the shard down.

calamine (Rust) allocates one cell for every position between the first and the last filled cell of the sheet: a
1.5 KB workbook with values at A1 and XFD1048576 asks for 17 billion cells (512 GiB) and the allocation failure
aborts the process (SIGABRT, no exception). Two defences:

1. :func:`precheck` reads the zip in Python before any native reader sees it: parts uncompressed (zip bomb),
   the first sheet's declared ``<dimension>`` and the cells that hold a value (from their ``r="XFD1048576"``
   references) against ``SUPERVISION_MAX_XLSX_CELLS`` and ``SUPERVISION_MAX_COLUMNS``; over a limit, the file is
   rejected with the cell named and what to do.
2. calamine itself runs in a child process (``xlsx_child.py``, one per worker process, reused) with a bounded
   address space (``SUPERVISION_XLSX_MEMORY_BYTES``) and a time limit; if it dies anyway, the file is rejected
   with the signal and the reader's last words, and the next workbook gets a new child.
"""

from __future__ import annotations

import atexit
import io
import logging
import os
import pickle
import posixpath
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from supervision.sources.limits import Limits, size_text

log = logging.getLogger(__name__)

CHILD = Path(__file__).with_name("xlsx_child.py")
SEND_CSV = "请在 Excel 中打开，删除数据区以外的内容后另存为 .xlsx，或另存为 CSV（UTF-8）后重新报送"


class XlsxRefused(ValueError):
    """The workbook breaks a limit or killed its reader: the message is for the county (Chinese first)."""


# --- 1. the zip, read in Python ------------------------------------------------------------------------------

_SHEET = re.compile(rb"<(?:[\w.-]+:)?sheet\b([^>]*)>")
_REL = re.compile(rb"<(?:[\w.-]+:)?Relationship\b([^>]*)>")
_ATTR = re.compile(rb'([\w.:-]+)\s*=\s*"([^"]*)"')
_DIMENSION = re.compile(rb'<(?:[\w.-]+:)?dimension\b[^>]*\bref="([^"]*)"')
# a cell start tag with its reference; group 3 is "/" for a self-closing (empty) cell, which calamine skips
_CELL = re.compile(rb'<(?:[\w.-]+:)?c\b[^>]*?\sr="([A-Z]{1,4})([0-9]{1,8})"[^>]*?(/?)>')
_REFS = re.compile(rb'\sr="([A-Z]{1,4})([0-9]{1,8})"')  # any cell reference (a <row r="7"> has no letters)


@dataclass
class Extent:
    sheet: str
    declared: str | None  # <dimension ref="..."> as the sheet declares it
    rows: int = 0  # the last sheet row holding a value
    columns: int = 0  # the last sheet column holding a value (1 = A)
    last_cell: str = ""

    @property
    def cells(self) -> int:
        return self.rows * self.columns


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def column_letters(number: int) -> str:
    out = ""
    while number:
        number, rem = divmod(number - 1, 26)
        out = chr(65 + rem) + out
    return out


def _head(book: zipfile.ZipFile, member: str, size: int = 4 << 20) -> bytes:
    """The first bytes of a part (a workbook.xml of gigabytes is never unpacked whole)."""
    with book.open(member) as fh:
        return fh.read(size)


def _first_sheet(book: zipfile.ZipFile) -> tuple[str, str] | None:
    """(name, zip member) of the workbook's first sheet, the one the reader reads; None if not found."""
    names = set(book.namelist())
    workbook = "xl/workbook.xml"
    if workbook not in names:
        return None
    match = _SHEET.search(_head(book, workbook))
    rels_name = "xl/_rels/workbook.xml.rels"
    if match is None or rels_name not in names:
        return None
    sheet = dict(_ATTR.findall(match.group(1)))
    rid = next((v for k, v in sheet.items() if k.endswith(b":id")), None)
    for rel in _REL.finditer(_head(book, rels_name)):
        attrs = dict(_ATTR.findall(rel.group(1)))
        if attrs.get(b"Id") == rid and b"Target" in attrs:
            target = attrs[b"Target"].decode()
            member = target.lstrip("/") if target.startswith("/") else posixpath.normpath(f"xl/{target}")
            return sheet.get(b"name", b"").decode(), member if member in names else None
    return None


def precheck(data: bytes, name: str, limits: Limits) -> Extent | None:
    """Refuse (:class:`XlsxRefused`) a workbook over a limit, without a native reader. None when it is no zip
    (the reader says what it is) or its first sheet cannot be found (the child's limits still hold)."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        parts = book.infolist()
    except (zipfile.BadZipFile, ValueError, EOFError):
        return None
    unzipped = sum(p.file_size for p in parts)
    if unzipped > limits.xlsx_unzipped_bytes:
        raise XlsxRefused(
            f"工作簿 {name} 解压后有 {size_text(unzipped)}（文件本身 {size_text(len(data))}），超过上限 "
            f"{size_text(limits.xlsx_unzipped_bytes)}，不是正常的报送表格。{SEND_CSV}。"
            f" (unzipped parts {unzipped} bytes over SUPERVISION_MAX_XLSX_UNZIPPED_BYTES)")
    try:
        found = _first_sheet(book)
        if not found or found[1] is None:
            return None
        extent = _scan(book, *found)
        if extent.cells > limits.xlsx_cells or extent.columns > limits.columns:
            extent = _scan(book, *found, exact=True)  # rare: only cells with a value count
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError, zlib.error):
        return None  # a damaged zip: the reader (in its child) says what is wrong with it
    dims = f"工作表声明的范围为 {extent.declared}；" if extent.declared else ""
    if extent.cells > limits.xlsx_cells:
        raise XlsxRefused(
            f"工作簿 {name} 的第一个工作表“{extent.sheet}”中，有内容的单元格一直延伸到 {extent.last_cell}"
            f"（{extent.rows:,} 行 × {extent.columns:,} 列 = {extent.cells:,} 个单元格；{dims}读取时要为其中每个单元格"
            f"分配内存，约 {size_text(extent.cells * 32)}），超过每个文件 {limits.xlsx_cells:,} 个单元格的上限。"
            f"这通常是远离数据区的误输入或格式残留。{SEND_CSV}。"
            f" (sheet extent {extent.rows}x{extent.columns} cells over SUPERVISION_MAX_XLSX_CELLS)")
    if extent.columns > limits.columns:
        raise XlsxRefused(
            f"工作簿 {name} 的第一个工作表“{extent.sheet}”有内容的单元格延伸到第 {extent.columns:,} 列"
            f"（{column_letters(extent.columns)} 列，单元格 {extent.last_cell}），超过 {limits.columns:,} 列的上限；"
            f"合同 v1 的表格最多 22 列。{SEND_CSV}。 ({extent.columns} columns over SUPERVISION_MAX_COLUMNS)")
    return extent


def _scan(book: zipfile.ZipFile, sheet: str, member: str, exact: bool = False) -> Extent:
    """The last row and column of the sheet's cells, from their ``r="XFD1048576"`` references (the XML streamed).
    First cheaply, counting every reference (an upper bound: a self-closing ``<c r="Z9" s="1"/>`` holds only
    formatting and calamine skips it); only when that bound is over a limit, ``exact``: cells with a value only."""
    extent = Extent(sheet, None)
    carry = b""
    first = True
    with book.open(member) as fh:
        while chunk := fh.read(1 << 20):
            text = carry + chunk
            cut = text.rfind(b">") + 1  # whole tags only; the rest waits for the next chunk
            text, carry = text[:cut], text[cut:]
            if first:
                first = False
                if m := _DIMENSION.search(text):
                    extent.declared = m.group(1).decode(errors="replace")
            # cells without an r="" reference take the next position: a sheet made of them is not measured
            # here (it would have to be parsed); the child's address-space limit still holds for it
            refs = [(c, r) for c, r, empty in _CELL.findall(text) if not empty] if exact else _REFS.findall(text)
            if refs:
                letters, numbers = zip(*refs, strict=True)
                extent.rows = max(extent.rows, max(map(int, numbers)))
                extent.columns = max(extent.columns, max(column_number(c.decode()) for c in set(letters)))
    if extent.rows or extent.columns:
        extent.last_cell = f"{column_letters(extent.columns)}{extent.rows}"
    return extent


# --- 2. calamine in a child process --------------------------------------------------------------------------


class _Child:
    def __init__(self, limits: Limits):
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-P", str(CHILD), str(limits.xlsx_memory_bytes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, close_fds=True)
        self.memory = limits.xlsx_memory_bytes

    def alive(self) -> bool:
        return self.proc.poll() is None

    def ask(self, data: bytes, timeout: float):
        self.stderr.seek(0)
        self.stderr.truncate()
        deadline = time.monotonic() + timeout
        try:
            self.proc.stdin.write(struct.pack(">Q", len(data)))
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            return None
        head = self._read(8, deadline)
        if head is None:
            return None
        blob = self._read(struct.unpack(">Q", head)[0], deadline)
        return None if blob is None else pickle.loads(blob)  # noqa: S301 - our own child's answer

    def _read(self, size: int, deadline: float) -> bytes | None:
        fd = self.proc.stdout.fileno()
        parts, left = [], size
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
            chunk = os.read(fd, min(left, 1 << 22))
            if not chunk:
                return None  # the child died
            parts.append(chunk)
            left -= len(chunk)
        return b"".join(parts)

    def last_words(self) -> str:
        self.stderr.seek(0)
        text = self.stderr.read()[-4000:].decode("utf-8", errors="replace")
        lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.startswith(" ")]
        return next((ln for ln in lines if "memory allocation" in ln or "panicked" in ln), lines[0] if lines else "")

    def close(self, kill: bool = False) -> None:
        if kill and self.alive():
            self.proc.kill()
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()
        self.stderr.close()


_lock = threading.Lock()
_child: _Child | None = None


def _shutdown() -> None:
    global _child
    if _child is not None:
        _child.close()
        _child = None


atexit.register(_shutdown)


def read_isolated(data: bytes, name: str, limits: Limits):
    """The child's answer for one workbook; :class:`XlsxRefused` if the reader died or ran out of time."""
    global _child
    with _lock:
        if _child is None or not _child.alive() or _child.memory != limits.xlsx_memory_bytes:
            if _child is not None:
                _child.close(kill=True)
            _child = _Child(limits)
        child = _child
        try:
            answer = child.ask(data, limits.xlsx_timeout_seconds)
        except TimeoutError:
            _child = None
            child.close(kill=True)
            raise XlsxRefused(
                f"工作簿 {name} 在 {limits.xlsx_timeout_seconds:.0f} 秒内没有读完（表格过大或结构异常）。{SEND_CSV}。"
                f" (the XLSX reader took longer than SUPERVISION_XLSX_TIMEOUT_SECONDS)") from None
        if answer is not None:
            return answer
        _child = None
        code = child.proc.wait()
        words = child.last_words()
        child.close()
    killed = code < 0 and -code in signal.Signals._value2member_map_
    how = f"信号 {signal.Signals(-code).name}" if killed else f"退出码 {code}"
    how_en = f"signal {signal.Signals(-code).name}" if killed else f"exit code {code}"
    log.error("XLSX reader died on %s (%s): %s", name, how_en, words)
    memory = "读取它需要的内存超过上限，" if "memory allocation" in words else ""
    raise XlsxRefused(
        f"工作簿 {name} 无法读取：Excel 读取程序在解析它时异常终止（{how}），{memory}通常是表格中远离数据区的单元格"
        f"或损坏的文件结构。{SEND_CSV}。 (the XLSX reader died: {how_en}: {words[:200]})")


def read_xlsx_table(data: bytes, name: str, limits: Limits) -> tuple[pa.Table, list[str]]:
    """The first sheet as an Arrow table of strings (``_row_number`` = sheet row - 1, the header being row 1)
    plus the column letters of each column. Raises :class:`XlsxRefused` or ValueError (reader errors)."""
    precheck(data, name, limits)
    answer = read_isolated(data, name, limits)
    if answer[0] == "error":
        _, kind, message = answer
        if kind == "MemoryError":
            raise XlsxRefused(f"工作簿 {name} 读取时所需内存超过上限（{size_text(limits.xlsx_memory_bytes)}）。"
                              f"{SEND_CSV}。 (MemoryError in the XLSX reader)")
        raise ReaderError(kind, message)
    _, header, columns, numbers, sheet_columns = answer
    letters = [column_letters(c + 1) for c in sheet_columns]
    arrays = [pa.array([n - 1 for n in numbers], pa.int64())]
    arrays += [pa.array(c, pa.string()) for c in columns]
    return pa.table(arrays, names=["_row_number", *header]), letters


class ReaderError(ValueError):
    """calamine's own error (not a workbook, damaged zip or XML), as ``<type>: <message>``."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
