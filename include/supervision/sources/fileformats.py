"""What every dropped file is held to, and the readers of the formats read whole (JSON, XLSX, Parquet).

:mod:`supervision.sources.filereader` reads CSV itself (streamed when big) and calls these for the other formats;
the refusals (:class:`UnreadableFile`) name the cell or column the way the county finds it.
"""

from __future__ import annotations

import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from supervision.errors import UnreadableFile
from supervision.sources import (  # noqa: F401 - RawFile kept for callers
    ROW_NUMBER,
    RawBatch,
    RawFile,
    Stream,
    frame_to_table,
    normalise_strings,
)
from supervision.sources.limits import INVISIBLE_EDGES, Limits, size_text, visible


class ReadAgain(Exception):
    """An overlapped read (:func:`overlap_threshold`) met, while the file was loading, what only a whole read can
    judge: bytes that are not UTF-8 in a column the first pass did not convert. The caller rolls back everything
    of that attempt and reads the file again with ``read_file(..., overlap=False)``."""


_WHAT = {"json": "JSON 文件（UTF-8 编码的对象数组）", "xlsx": "Excel 工作簿（.xlsx）", "parquet": "Parquet 文件"}


def _unparsable(name: str, fmt: str, e: Exception) -> str:
    """A parser's error as the county reads it: what the file should have been, then the parser's words."""
    send = {"xlsx": "请用 Excel 打开后重新另存为 .xlsx，或另存为 CSV（UTF-8）后重新报送",
            "json": "请以 UTF-8 编码重新导出 JSON（对象数组），或改用 CSV（UTF-8）报送"}.get(
        fmt, "请重新导出该文件，或改用 CSV（UTF-8）报送")
    from supervision.sources.xlsx import ReaderError

    said = str(e) if isinstance(e, ReaderError) else f"{type(e).__name__}: {e}"
    return f"文件 {name} 不是可以读取的{_WHAT.get(fmt, fmt)}：{send}。 ({said})".strip()[:700]


def _check_columns(name: str, columns: list[str], limits: Limits) -> None:
    if len(columns) > limits.columns:
        raise UnreadableFile(
            f"文件 {name} 有 {len(columns):,} 列，超过 {limits.columns:,} 列的上限（合同 v1 的表格最多 22 列）："
            f"请只报送合同规定的列。 ({len(columns)} columns over SUPERVISION_MAX_COLUMNS={limits.columns})")
    for c in columns:
        if "\x00" in c:
            raise UnreadableFile(f"文件 {name} 的表头（第 1 行）含有 NUL 空字符（\\x00）：列名 “{visible(c)}”。"
                                 "请以 UTF-8 编码另存为 CSV 后重新报送。 (NUL byte in the header)")


def _where(table: pa.Table, index: int, column: str, letters: dict[str, str] | None, records: bool = False) -> str:
    """A cell as the county finds it: the spreadsheet row (header = row 1) and the column; for JSON the record
    (the n-th object of the array) and its field."""
    if records:
        return f"第 {table[ROW_NUMBER][index].as_py()} 条记录（数组中的第 {index + 1} 个对象）的“{visible(column, 40)}”字段"
    row = table[ROW_NUMBER][index].as_py() + 1
    letter = f"（{letters[column]} 列）" if letters and column in letters else ""
    return f"第 {row} 行（表头为第 1 行）“{visible(column, 40)}”列{letter}"


def _check_cells(name: str, table: pa.Table, limits: Limits, letters: list[str] | None = None,
                 nul: bool = True, records: bool = False) -> None:
    """No cell over ``SUPERVISION_MAX_FIELD_BYTES`` and (``nul``) none holding a NUL character, which no
    PostgreSQL text can store: the first such cell is named, the file is rejected."""
    by_name = dict(zip(table.column_names[1:], letters, strict=False)) if letters else None
    for column in table.column_names:
        if column == ROW_NUMBER:
            continue
        values = table[column]
        if not len(values) or values.null_count == len(values):
            continue
        longest = pc.max(pc.binary_length(values)).as_py()
        if longest is not None and longest > limits.field_bytes:
            index = pc.index(pc.greater(pc.binary_length(values), limits.field_bytes), True).as_py()
            raise UnreadableFile(
                f"文件 {name} {_where(table, index, column, by_name, records)}的内容有 {size_text(longest)}，超过单个单元格 "
                f"{size_text(limits.field_bytes)} 的上限（合同 v1 最长的字段为 2,000 个字符），不是正常的报送内容。"
                f"请检查该行（例如引号未闭合使多行并成了一格）后重新报送。"
                f" (a field of {longest} bytes over SUPERVISION_MAX_FIELD_BYTES={limits.field_bytes})")
        if nul:
            hits = pc.match_substring(values, "\x00")
            if pc.any(hits).as_py():
                index = pc.index(hits, True).as_py()
                value = table[column][index].as_py()
                raise UnreadableFile(
                    f"文件 {name} {_where(table, index, column, by_name, records)}含有 NUL 空字符（\\x00，二进制零字节），"
                    f"值为 “{visible(value)}”：这不是正常的文本，数据库也无法保存它，整个文件未入库。请检查导出程序，"
                    f"删除该字符后以 UTF-8 编码另存为 CSV 重新报送。 (NUL byte in a field)")


def _refuse_reserved(columns: list[str]) -> None:
    if ROW_NUMBER in columns:
        raise UnreadableFile("文件中有名为 _row_number 的列，这是本系统保留的列名：请删除该列后重新报送。"
                             " (the file has a column named _row_number, a name the pipeline reserves)")


def _read_json(data: bytes) -> pd.DataFrame:
    doc = json.loads(data.decode("utf-8-sig"))
    if isinstance(doc, dict) and isinstance(doc.get("records"), list):
        doc = doc["records"]
    if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
        raise UnreadableFile("JSON must be an array of objects (or {\"records\": [...]})")
    # Text per value before pandas infers dtypes: an int column with a null would become float ("411002.0").
    frame = pd.DataFrame.from_records([{k: None if v is None else _json_text(v) for k, v in r.items()} for r in doc])
    return _strings(frame)


def _json_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (dict, list)):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _read_xlsx(data: bytes, name: str, limits: Limits) -> tuple[pa.Table, list[str]]:
    """The first sheet's cached cell values (formulas as last computed), one text per cell, ``_row_number`` the
    sheet row - 1 (blank rows skipped, numbers kept). Read with calamine (Rust; a national night's ~1,000-row
    workbooks took 0.14 s each with openpyxl, 2 ms with it) in a child process, after the checks of
    :func:`supervision.sources.xlsx.precheck`."""
    from supervision.sources.xlsx import XlsxRefused, read_xlsx_table

    try:
        table, letters = read_xlsx_table(data, name, limits)
    except XlsxRefused as e:
        raise UnreadableFile(str(e)) from e
    columns = table.column_names[1:]
    if any(not c for c in columns):
        blank = ", ".join(letter for c, letter in zip(columns, letters, strict=True) if not c)
        raise UnreadableFile(f"工作簿 {name} 第 1 行（表头）的 {blank} 列没有列名，但该列有内容：请在第 1 行填写"
                             f"合同 v1 的列名，或删除该列后重新报送。 (no column name in header cell(s) {blank})")
    named = [c.strip(INVISIBLE_EDGES) for c in columns]
    if len(set(named)) != len(named):
        raise UnreadableFile(f"工作簿 {name} 第 1 行（表头）有重复的列名：请每列只用一个合同 v1 列名。"
                             f" (duplicate column names in header: {named})")
    _refuse_reserved(named)
    _check_columns(name, named, limits)
    table = normalise_strings(table.rename_columns([ROW_NUMBER, *named]))
    return table, letters


def _read_parquet(data: bytes, name: str, limits: Limits) -> pd.DataFrame:
    """Columns and their uncompressed size checked from the footer before any column is read."""
    meta = pq.ParquetFile(io.BytesIO(data)).metadata
    if meta.num_columns > limits.columns:
        raise UnreadableFile(f"文件 {name} 有 {meta.num_columns:,} 列，超过 {limits.columns:,} 列的上限：请只报送合同 v1 "
                             f"规定的列。 ({meta.num_columns} columns over SUPERVISION_MAX_COLUMNS)")
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if unpacked > limits.parquet_bytes:
        raise UnreadableFile(f"文件 {name} 解压后有 {size_text(unpacked)}，超过 Parquet 文件 "
                             f"{size_text(limits.parquet_bytes)} 的上限：请拆分后重新报送，或改用 CSV（UTF-8）。"
                             f" (uncompressed {unpacked} bytes over SUPERVISION_MAX_PARQUET_BYTES)")
    return _strings(pq.read_table(io.BytesIO(data)).to_pandas(integer_object_nulls=True))


def _strings(frame: pd.DataFrame) -> pd.DataFrame:
    """All columns as pandas string dtype, values stripped, empty cells as NA."""
    out = {}
    for col in frame.columns:
        s = frame[col].astype("string").str.strip()
        out[str(col)] = s.mask(s == "")
    return pd.DataFrame(out, index=pd.RangeIndex(len(frame)))
