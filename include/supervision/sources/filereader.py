"""Reading one dropped file (CSV, JSON, XLSX, Parquet) into a :class:`~supervision.sources.RawBatch` of strings.

Every format comes out in one shape: strings (null for empty cells) with the file's own column names plus
``_row_number`` (1-based data row, header excluded; the same for CSV, XLSX and JSON), so that validation and
quarantine speak of rows the way the county sees them. Big CSV files are streamed (memory stays bounded);
every format is held to :class:`~supervision.sources.limits.Limits`. Which file to read, and whether it may be
opened at all, is :mod:`supervision.sources.filedrop`'s business.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from supervision import resources
from supervision.identifiers import record_keys
from supervision.settings import TIMEZONE
from supervision.sources import (  # noqa: F401 - RawFile kept for callers
    ROW_NUMBER,
    RawBatch,
    RawFile,
    Stream,
    frame_to_table,
    normalise_strings,
)
from supervision.sources.fileformats import (
    ReadAgain,
    UnreadableFile,
    _check_cells,
    _check_columns,
    _read_json,
    _read_parquet,
    _read_xlsx,
    _refuse_reserved,
    _unparsable,
)
from supervision.sources.limits import INVISIBLE_EDGES, Limits, size_text, visible

ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030",
             "gb18030": "gb18030"}

def read_file(path: Path, encoding_hint: str | None = None, overlap: bool = True) -> RawFile:
    """Parse one county file into strings. Raises UnreadableFile with the reason (Chinese first: what is wrong,
    where, what to send instead; the parser's own words after it).

    CSV files are read by pyarrow: whole when small; from memory, parsed batch by batch while they load, after a
    first pass over the record ids, when bigger (``SUPERVISION_OVERLAP_BYTES``, default 32 MiB; ``overlap=False``
    reads them whole: see :class:`ReadAgain`); from disk as a :class:`Stream` of record batches after a first pass
    (sha256, row count, duplicate record ids) when too big to hold, so memory stays bounded whatever the file's
    size (``SUPERVISION_STREAM_BYTES``, default 512 MiB). Every format is held to :class:`Limits` (file size,
    columns, field size, XLSX cells) before or while it is parsed; XLSX is parsed in a child process
    (``supervision.sources.xlsx``) so a workbook that kills its reader is one rejected file.
    """
    fmt = path.name.partition(".")[2].lower()
    stat = path.stat()
    received_at = datetime.fromtimestamp(stat.st_mtime, tz=ZoneInfo(TIMEZONE))
    limits = Limits.from_env()
    cap = limits.file_bytes(fmt)
    if cap is not None and stat.st_size > cap:
        raise UnreadableFile(
            f"文件 {path.name} 有 {size_text(stat.st_size)}，超过 {fmt.upper()} 文件 {size_text(cap)} 的上限。"
            + ("请拆分为多个较小的文件，或改用 CSV（UTF-8）报送" if fmt != "csv" else "请与省级平台联系分批报送")
            + f"。 (file of {stat.st_size} bytes over the {fmt} limit {cap})")
    letters = None
    try:
        if fmt == "csv":
            return _read_csv_file(path, encoding_hint, received_at, overlap, limits)
        data = path.read_bytes()
        if fmt == "xlsx":
            table, letters = _read_xlsx(data, path.name, limits)
        else:
            if fmt == "json":
                frame = _read_json(data)
            elif fmt == "parquet":
                frame = _read_parquet(data, path.name, limits)
            else:
                raise UnreadableFile(f"unsupported format {fmt!r}")
            _refuse_reserved(list(frame.columns))
            _check_columns(path.name, list(frame.columns), limits)
            table = frame_to_table(frame)
    except UnreadableFile:
        raise
    except Exception as e:  # every parser has its own exception types; all mean the same here
        raise UnreadableFile(_unparsable(path.name, fmt, e)) from e
    _check_cells(path.name, table, limits, letters, records=fmt == "json")
    return RawBatch(fmt, None, hashlib.sha256(data).hexdigest(), received_at, path=path, table=table)


def stream_threshold() -> int:
    """Files above this many bytes are read in batches (bounded memory) instead of whole."""
    return resources.variables().stream_bytes


def overlap_threshold() -> int:
    """CSV files above this many bytes (up to :func:`stream_threshold`) are parsed while they load."""
    return resources.variables().overlap_bytes


def detect_encoding(data: bytes, hint: str | None) -> str:
    if hint:
        enc = ENCODINGS.get(hint.lower())
        if enc is None:
            raise UnreadableFile(f"manifest encoding {hint!r} is not one of utf-8, utf-8-sig, gbk, gb18030")
        return "utf-8-sig" if enc == "utf-8" and data.startswith(b"\xef\xbb\xbf") else enc
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "gb18030"  # superset of GBK / GB2312


_BINARY_MAGIC = {b"\x1f\x8b": ("gzip 压缩文件", "gzip"), b"PK\x03\x04": ("zip 压缩包或 Excel 工作簿（.xlsx）", "zip/xlsx"),
                 b"%PDF": ("PDF 文件", "PDF"), b"\xd0\xcf\x11\xe0": ("旧版 Excel 工作簿（.xls）", "old Excel (xls)"),
                 b"Rar!": ("RAR 压缩包", "rar"), b"7z\xbc\xaf": ("7z 压缩包", "7z")}
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32 LE"), (b"\x00\x00\xfe\xff", "UTF-32 BE"), (b"\xff\xfe", "UTF-16 LE"),
              (b"\xfe\xff", "UTF-16 BE"))
_CONTROL = bytes([*range(0, 9), *range(14, 27), *range(28, 32), 127])  # no text holds these
SEND_CSV = "请以 UTF-8 编码另存为 CSV 后重新报送"
_WIDE = ("本系统只接收 UTF-8 或 GB18030（GBK）编码、逗号分隔的 CSV，不对 UTF-16 文本转码（Excel 的“Unicode 文本”即此格式，"
         "且以制表符分隔）：请在 Excel 中选择“另存为 → CSV UTF-8（逗号分隔）”后重新报送")


class _NotUtf8(Exception):
    """pyarrow found bytes that are not UTF-8 (then an undeclared file is read as GB18030)."""


def _sniff(head: bytes, name: str) -> None:
    """Refuse, from its first bytes, a file that is no CSV text in an encoding read here. UTF-16/32 (with or
    without BOM) is refused with an instruction rather than transcoded: Excel writes it as tab-separated
    "Unicode text", which transcoding would turn into one-column rows."""
    for bom, encoding in _WIDE_BOMS:
        if head.startswith(bom):
            raise UnreadableFile(f"文件 {name} 是 {encoding} 编码的文本（带 BOM）。{_WIDE}。 "
                                 f"({encoding} text with BOM: rejected, not transcoded; send a UTF-8 CSV)")
    kind = next((k for magic, k in _BINARY_MAGIC.items() if head.startswith(magic)), None)
    if kind:
        raise UnreadableFile(f"文件 {name} 不是 CSV 文本，而是{kind[0]}。{SEND_CSV}。 "
                             f"(binary content ({kind[1]}), not CSV text)")
    sample = head[:4096]
    zeros = sample.count(0)
    if zeros and zeros * 10 > len(sample):  # ASCII in UTF-16: every other byte is zero
        odd = sample[1::2].count(0)
        encoding = "UTF-16 LE" if odd * 10 >= zeros * 9 else "UTF-16 BE" if (zeros - odd) * 10 >= zeros * 9 else None
        if encoding:
            raise UnreadableFile(f"文件 {name} 看起来是 {encoding} 编码的文本（无 BOM）。{_WIDE}。 "
                                 f"({encoding} text without BOM: rejected; send a UTF-8 CSV)")
    control = len(sample) - len(sample.translate(None, _CONTROL))
    if control >= 8 and control * 20 > len(sample):
        raise UnreadableFile(f"文件 {name} 不是 CSV 文本：开头 {len(sample):,} 个字节中有 {control:,} 个控制字符或 NUL "
                             f"空字节，像是二进制文件（或已损坏）。文件应为 UTF-8 或 GB18030 编码的 CSV 文本，{SEND_CSV}。 "
                             f"(binary content (NUL bytes / control characters), not CSV text)")


def _read_csv_file(path: Path, hint: str | None, received_at: datetime, overlap: bool = True,
                   limits: Limits | None = None) -> RawBatch:
    limits = limits or Limits.from_env()
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(max(1 << 16, limits.header_bytes + 8))
    _sniff(head, path.name)
    bom = head.startswith(b"\xef\xbb\xbf")
    declared = detect_encoding(head, hint) if hint else None
    if declared is None and not bom and not _utf8_prefix(head):
        declared = "gb18030"  # undeclared and not UTF-8 from the first bytes on: read as GBK (GB18030)
    if size > stream_threshold():
        return _stream_csv(path, head, bom, declared, received_at, limits)
    data = path.read_bytes()
    nul = b"\x00" in data  # memchr: a few ms per 100 MB; only then are the cells searched for it
    if overlap and size > overlap_threshold() and not nul:
        try:
            return _buffered_stream(path, data, bom, declared, received_at, limits)
        except ReadAgain:
            pass  # the first pass met what the whole read judges (a ragged row, a byte that is not UTF-8)
    with ThreadPoolExecutor(1) as pool:  # hashlib releases the GIL: the hash runs beside the parse
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        encoding = declared or ("utf-8-sig" if bom else "utf-8")
        try:
            table = _parse_csv_bytes(data, encoding, strict=hint is not None or bom, name=path.name, limits=limits,
                                     nul=nul)
        except _NotUtf8:
            encoding = "gb18030"
            table = _parse_csv_bytes(data, encoding, strict=True, name=path.name, limits=limits, nul=nul)
        sha = digest.result()
    return RawBatch("csv", _reported(encoding), sha, received_at, path=path, table=table)


def _utf8_prefix(head: bytes) -> bool:
    """The first bytes are UTF-8 (a character cut at the end of the sample does not count against it)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return True
    except UnicodeDecodeError:
        return False


def _reported(encoding: str) -> str:
    return "gbk" if encoding == "gb18030" else encoding


_LINE_END = re.compile(rb"\r\n|\r|\n")  # CR-only line ends (old Mac exports) are line ends too


def _header(first: bytes, name: str = "", limits: Limits | None = None, more: bool = False) -> list[str]:
    """The column names from the first line of ``first`` (UTF-8; ``more``: the file goes on after it)."""
    limits = limits or Limits()
    end = _LINE_END.search(first, 0, limits.header_bytes + 2)
    if end is None and (more or len(first) > limits.header_bytes):
        raise UnreadableFile(
            f"文件 {name} 的第 1 行（表头）超过 {size_text(limits.header_bytes)} 仍未结束，不是合同 v1 的表头（列名）行"
            f"（合同 v1 的表头不到 1 KiB）。请以 UTF-8 编码另存为 CSV（第 1 行为列名，每行一条记录）后重新报送。"
            f" (header line longer than SUPERVISION_MAX_HEADER_BYTES={limits.header_bytes})")
    first_line = (first[:end.start()] if end else first).decode("utf-8", errors="replace").strip()
    if not first_line:
        raise UnreadableFile(f"文件 {name} 是空的或第 1 行为空：第 1 行必须是表头（列名）；当天没有数据时，也请报送只有"
                             f"表头一行的文件。 (empty file: no header line)")
    # a doubled BOM or a zero-width mark is invisible in every editor: never part of a column name
    columns = [c.strip().strip(INVISIBLE_EDGES).strip() for c in next(csv.reader([first_line]))]
    _check_columns(name, columns, limits)
    if len(set(columns)) != len(columns):
        twice = sorted({c for c in columns if columns.count(c) > 1})
        raise UnreadableFile(f"文件 {name} 的表头（第 1 行）有重复的列名 {'、'.join(map(visible, twice))}：请每列只用一个"
                             f"合同 v1 列名。 (duplicate column names in header: {[visible(c) for c in columns]})")
    _refuse_reserved(columns)
    return columns


def _csv_options(columns: list[str], block_size: int = 1 << 24, include: list[str] | None = None):
    return dict(
        read_options=pacsv.ReadOptions(column_names=columns, skip_rows=1, block_size=block_size),
        # quoted cells may hold newlines: without this, a block boundary inside one silently splits it
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in columns},
                                             strings_can_be_null=False, include_columns=include),
    )


def _utf8_error(e: Exception) -> bool:
    return "UTF8" in str(e) or "utf8" in str(e).lower()


def _line_of(data: bytes, pos: int) -> int:
    """The text line (1-based, as an editor counts) of byte ``pos``."""
    breaks = data.count(b"\n", 0, pos)
    return (breaks if breaks else data.count(b"\r", 0, pos)) + 1


def _not_decodable(name: str, data: bytes, pos: int) -> UnreadableFile:
    return UnreadableFile(
        f"文件 {name} 不是 UTF-8 或 GB18030（GBK）编码的 CSV 文本：第 {pos:,} 个字节（约第 {_line_of(data, pos)} 行）起"
        f"无法解码，可能是二进制文件、已损坏或用了其他编码。{SEND_CSV}。"
        f" (not valid GBK/GB18030 at byte {pos}: check the manifest encoding)")


def _not_utf8(name: str, e: Exception) -> UnreadableFile:
    return UnreadableFile(
        f"文件 {name} 声明（在 manifest.json 中或以 BOM）为 UTF-8 编码，但其中有不是 UTF-8 的字节。{SEND_CSV}；如果文件"
        f"是 GBK 编码，请在 manifest.json 中写明 \"encoding\": \"gbk\"。"
        f" (not valid UTF-8 ({e}); declare \"encoding\": \"gbk\" in the manifest if it is GBK)")


_RAGGED = re.compile(r"Expected (\d+) columns, got (\d+): (.*)", re.S)


def _parse_error(name: str, e: Exception, data: bytes | None, limits: Limits, block: int) -> UnreadableFile:
    """pyarrow's CSV errors in the county's words."""
    text = str(e)
    if m := _RAGGED.search(text):
        expected, got, row = m.groups()
        pos = data.find(row[:200].encode("utf-8", errors="replace")) if data is not None else -1
        where = f"（约在文件第 {_line_of(data, pos)} 行）" if pos >= 0 else ""
        return UnreadableFile(
            f"文件 {name} 有一行的列数与表头不符{where}：表头 {expected} 列，该行 {got} 列，内容为 “{visible(row)}”。通常是单元格"
            f"里的逗号、引号或换行没有按 CSV 规则加引号：请用 Excel 另存为 CSV（UTF-8）后重新报送。 (ArrowInvalid: {text})"[:900])
    if "straddl" in text:
        return UnreadableFile(
            f"文件 {name} 中有一条记录超过 {size_text(block)}（单个单元格上限为 {size_text(limits.field_bytes)}），"
            f"不是正常的报送内容，常见原因是引号没有闭合，使后面的许多行并成了一格。请检查后以 UTF-8 编码另存为 CSV 重新报送。"
            f" (ArrowInvalid: {text})")
    return UnreadableFile(f"文件 {name} 无法按 CSV 解析：{SEND_CSV}。 (ArrowInvalid: {text})"[:900])


def _parse_csv_bytes(data: bytes, encoding: str, strict: bool, name: str = "", limits: Limits | None = None,
                     nul: bool = True) -> pa.Table:
    limits = limits or Limits.from_env()
    if encoding == "gb18030":
        try:
            data = data.decode(encoding).encode("utf-8")  # pyarrow parses UTF-8 only
        except UnicodeDecodeError as e:
            raise _not_decodable(name, data, e.start) from e
    elif data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    sample = limits.header_bytes + 8
    columns = _header(data[:sample], name, limits, more=len(data) > sample)
    if not data.endswith(b"\n"):
        data += b"\n"  # a header-only file without a final newline is still "nothing today"
    block = 1 << 24
    try:
        try:
            table = pacsv.read_csv(pa.BufferReader(data), **_csv_options(columns))
        except pa.ArrowInvalid as e:
            if "straddl" not in str(e):
                raise
            # a record longer than a parse block: read in one block, so the cell over the limit can be named
            block = len(data) + 1
            table = pacsv.read_csv(pa.BufferReader(data), **_csv_options(columns, block_size=block))
    except pa.ArrowInvalid as e:
        if _utf8_error(e):
            if not strict:
                raise _NotUtf8() from e
            raise _not_utf8(name, e) from e
        raise _parse_error(name, e, data, limits, block) from e
    table = _with_row_numbers(normalise_strings(table), 1)
    _check_cells(name, table, limits, nul=nul)
    return table


def _ids(column) -> pa.Array:
    """Record ids as validation reads them: trimmed, empty = null, in key form (NFKC)."""
    a = pc.utf8_trim_whitespace(column)
    return record_keys(pc.if_else(pc.equal(a, ""), pa.scalar(None, a.type), a))


def _with_row_numbers(table: pa.Table, first: int) -> pa.Table:
    numbers = pa.array(np.arange(first, first + table.num_rows, dtype=np.int64))
    return table.add_column(0, ROW_NUMBER, numbers)


STREAM_BLOCK = 4 << 20  # bytes pyarrow parses at a time when streaming (a few blocks are read ahead)


def file_sha256(path: Path) -> str:
    """sha256 of a file, read in 4 MiB chunks (a file rejected for its size is never held in memory)."""
    return _file_sha256(path)


def _file_sha256(path: Path, nul: list | None = None) -> str:
    """sha256 of the file; with ``nul``, appends True to it if the file holds a NUL byte."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)  # releases the GIL: runs beside the parse
            if nul is not None and not nul and b"\x00" in chunk:
                nul.append(True)
    return digest.hexdigest()


def _open_csv(path: Path, encoding: str, columns: list[str], block_size: int | None = None):
    """pyarrow's streaming CSV reader over the file, on an Arrow-native stream (no Python bytes objects; memory
    from Arrow's pool), BOM skipped, GB18030 transcoded by pyarrow."""
    src = pa.OSFile(str(path), "r")
    if encoding == "utf-8-sig":
        src.seek(3)
    opts = _csv_options(columns, block_size or STREAM_BLOCK)
    opts["read_options"].encoding = "gb18030" if encoding == "gb18030" else "utf8"
    try:
        return src, pacsv.open_csv(src, **opts)
    except BaseException:
        src.close()
        raise


def _stream_csv(path: Path, head: bytes, bom: bool, declared: str | None, received_at: datetime,
                limits: Limits) -> RawBatch:
    """First pass: sha256 of the bytes, rows, record ids (duplicates across the whole file), limits; then a
    Stream."""
    encoding = declared or ("utf-8-sig" if bom else "utf-8")
    try:
        return _stream_pass(path, head, encoding, received_at, limits)
    except _NotUtf8:
        if declared or bom:
            raise _not_utf8(path.name, ValueError("invalid UTF-8")) from None
        return _stream_pass(path, head, "gb18030", received_at, limits)


def _stream_pass(path: Path, head: bytes, encoding: str, received_at: datetime, limits: Limits) -> RawBatch:
    text_head = head[3:] if encoding == "utf-8-sig" else head
    if encoding == "gb18030":
        text_head = text_head.decode("gb18030", errors="replace").encode("utf-8")
    columns = _header(text_head, path.name, limits, more=True)
    from supervision.arrow_text import duplicate_ids, fingerprints

    has_ids = "record_id" in columns
    prints: list[np.ndarray] = []
    rows = 0
    src = None
    pool = ThreadPoolExecutor(1)
    nul: list[bool] = []
    digest = pool.submit(_file_sha256, path, nul)
    try:
        # every column is converted (and dropped) here, so a bad byte, a ragged row or a cell over the limit is
        # found before loading; of the record ids only 64-bit fingerprints are kept (10M ids: 80 MB, not ~400 MB)
        src, reader = _open_csv(path, encoding, columns)
        for batch in reader:
            _check_cells(path.name, _with_row_numbers(pa.Table.from_batches([batch]), rows + 1), limits, nul=False)
            rows += batch.num_rows
            if has_ids:
                prints.append(fingerprints(_ids(batch.column(columns.index("record_id")))))
    except pa.ArrowInvalid as e:
        if _utf8_error(e):
            raise _NotUtf8() from e
        raise _parse_error(path.name, e, None, limits, STREAM_BLOCK) from e
    except UnicodeDecodeError as e:
        raise _not_decodable(path.name, b"", e.start) from e
    finally:
        if src is not None:
            src.close()
        sha = digest.result()
        pool.shutdown()
    if nul:  # rare: a second pass names the first cell holding it
        src, reader = _open_csv(path, encoding, columns)
        try:
            first = 1
            for batch in reader:
                _check_cells(path.name, _with_row_numbers(pa.Table.from_batches([batch]), first), limits)
                first += batch.num_rows
        finally:
            src.close()
        raise UnreadableFile(f"文件 {path.name} 含有 NUL 空字符（\\x00）。{SEND_CSV}。 (NUL byte)")
    fps = np.concatenate(prints) if prints else np.zeros(0, np.uint64)
    duplicates = pa.array([], pa.string())
    repeated = _repeated(fps)
    if repeated.size:  # some ids may repeat: read the ids again, keep those candidates, check them exactly
        src, reader = _open_csv(path, encoding, columns)
        try:
            cands = [_candidates(_ids(b.column(columns.index("record_id"))), repeated) for b in reader]
        finally:
            src.close()
        duplicates = duplicate_ids(*cands)
    def open_batches(batch_rows: int, first_rows: int | None = None):
        src, reader = _open_csv(path, encoding, columns)
        try:
            yield from _gathered(reader, batch_rows, first_rows)
        finally:
            src.close()

    stream = Stream(columns, rows, duplicates, fps, open_batches)
    return RawBatch("csv", _reported(encoding), sha, received_at, path=path, stream=stream)


def _repeated(fps: np.ndarray) -> np.ndarray:
    """The fingerprints that occur more than once (their ids are duplicate candidates, checked exactly)."""
    from supervision.arrow_text import sorted_unique

    ordered = np.sort(fps)
    return sorted_unique(ordered[1:][ordered[1:] == ordered[:-1]])


def _candidates(ids, repeated: np.ndarray):
    """The non-null ids whose fingerprint is among ``repeated``."""
    from supervision.arrow_text import fingerprints

    present = ids.drop_null() if ids.null_count else ids
    return present.filter(pa.array(np.isin(fingerprints(present), repeated)))


def _gathered(reader, batch_rows: int, first_rows: int | None = None):
    """pyarrow's small record batches gathered into normalised tables of ``batch_rows`` rows (the first one
    ``first_rows``), numbered."""
    first, pending, held = 1, [], 0
    want = min(batch_rows, first_rows or batch_rows)
    for batch in reader:
        pending.append(batch)
        held += batch.num_rows
        if held >= want:
            table = _with_row_numbers(normalise_strings(pa.Table.from_batches(pending)), first)
            first, pending, held, want = first + table.num_rows, [], 0, batch_rows
            yield table
    if pending or first == 1:
        yield _with_row_numbers(normalise_strings(pa.Table.from_batches(pending, schema=reader.schema)), first)


def _buffered_stream(path: Path, data: bytes, bom: bool, declared: str | None, received_at: datetime,
                     limits: Limits) -> RawBatch:
    """A file held in memory, parsed while it loads: a first pass converts only the record ids (row count, ragged
    rows, duplicate ids, fingerprints; a fraction of a full parse), then every column is parsed batch by batch
    beside the warehouse COPY instead of before it. A late parse error raises :class:`ReadAgain`."""
    from supervision.arrow_text import duplicate_ids, fingerprints

    encoding = declared or ("utf-8-sig" if bom else "utf-8")
    with ThreadPoolExecutor(1) as pool:  # hashlib releases the GIL
        digest = pool.submit(lambda: hashlib.sha256(data).hexdigest())
        if encoding == "gb18030":  # pyarrow parses UTF-8 only; transcoded once, up front
            try:
                text = pa.py_buffer(data.decode(encoding).encode("utf-8"))
            except UnicodeDecodeError as e:
                raise _not_decodable(path.name, data, e.start) from e
        else:
            text = pa.py_buffer(data)[3:] if bom else pa.py_buffer(data)
        sample = limits.header_bytes + 8
        columns = _header(text[:sample].to_pybytes(), path.name, limits, more=len(text) > sample)
        if not text[-1:].to_pybytes().endswith(b"\n"):
            raise ReadAgain("no final newline")  # rare; the whole read appends one
        has_ids = "record_id" in columns
        try:
            first = pacsv.read_csv(pa.BufferReader(text), **_csv_options(
                columns, include=["record_id" if has_ids else columns[0]]))
        except pa.ArrowInvalid as e:  # the whole read words it (and falls back from UTF-8 to GBK where it may)
            raise ReadAgain(str(e)) from e
        sha = digest.result()
    fps = np.zeros(0, np.uint64)
    duplicates = pa.array([], pa.string())
    if has_ids:
        ids = _ids(first.column("record_id"))
        fps = fingerprints(ids)
        if (repeated := _repeated(fps)).size:
            duplicates = duplicate_ids(_candidates(ids, repeated))
    rows = first.num_rows
    del first

    def open_batches(batch_rows: int, first_rows: int | None = None):
        opts = _csv_options(columns, STREAM_BLOCK)
        try:
            for table in _gathered(pacsv.open_csv(pa.BufferReader(text), **opts), batch_rows, first_rows):
                _check_cells(path.name, table, limits, nul=False)  # no NUL: checked before this read
                yield table
        except (pa.ArrowInvalid, UnreadableFile) as e:  # the whole read names it
            raise ReadAgain(f"{path.name}: {e}"[:500]) from e

    stream = Stream(columns, rows, duplicates, fps, open_batches)
    return RawBatch("csv", _reported(encoding), sha, received_at, path=path, stream=stream)
