"""File-drop source (contract v1): every format and encoding into one frame of strings, discovery, safety."""

from __future__ import annotations

import hashlib
import io
import json
import os
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from supervision.sources import filedrop, filereader
from supervision.sources.filedrop import UnsafePath, day_folder, discover
from supervision.sources.filereader import ReadAgain, UnreadableFile, detect_encoding, read_file

DAY = date(2026, 11, 22)
COUNTY = "411002"
ROWS = [  # what every format below carries: Chinese text, leading zeros, an empty cell
    {"record_id": "0001", "county_code": "411002", "township_code": "411002001", "agency_name": "许昌市魏都区市场监督管理局",
     "is_major": "是"},
    {"record_id": "0002", "county_code": "411002", "township_code": None, "agency_name": "魏都区城市管理局",
     "is_major": "否"},
]
HEADER = list(ROWS[0])


def csv_text(rows=ROWS, newline="\n") -> str:
    lines = [",".join(HEADER)] + [",".join(r[h] or "" for h in HEADER) for r in rows]
    return newline.join(lines) + newline


def records(path: Path, hint: str | None = None) -> list[dict]:
    frame = read_file(path, hint).frame
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in frame.to_dict("records")]


def expected(rows=ROWS) -> list[dict]:
    return [{"_row_number": i, **r} for i, r in enumerate(rows, start=1)]


def write(tmp_path: Path, name: str, data: bytes | str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    return path


# --- CSV encodings ------------------------------------------------------------------------------------------

ENCODED = {  # id: (bytes, manifest encoding, reported encoding)
    "utf-8": (csv_text().encode("utf-8"), None, "utf-8"),
    "utf-8-declared": (csv_text().encode("utf-8"), "utf-8", "utf-8"),
    "utf-8-bom": (b"\xef\xbb\xbf" + csv_text().encode("utf-8"), None, "utf-8-sig"),
    "utf-8-bom-declared-utf-8": (b"\xef\xbb\xbf" + csv_text().encode("utf-8"), "utf-8", "utf-8-sig"),
    "utf-8-crlf": (csv_text(newline="\r\n").encode("utf-8"), None, "utf-8"),
    "gbk-declared": (csv_text().encode("gbk"), "gbk", "gbk"),
    "gbk-declared-GB2312": (csv_text().encode("gbk"), "GB2312", "gbk"),
    "gbk-undeclared-detected": (csv_text().encode("gbk"), None, "gbk"),
    "gb18030-declared": (csv_text().encode("gb18030"), "gb18030", "gbk"),
}


@pytest.mark.parametrize("data, hint, reported", ENCODED.values(), ids=ENCODED.keys())
def test_csv_every_encoding_reads_the_same(tmp_path, data, hint, reported):
    path = write(tmp_path, "enforcement_cases.csv", data)
    raw = read_file(path, hint)
    assert raw.format == "csv" and raw.encoding == reported
    assert list(raw.frame.columns) == ["_row_number", *HEADER]  # a BOM never sticks to the first column name
    assert records(path, hint) == expected()
    assert raw.sha256 == hashlib.sha256(data).hexdigest()  # of the bytes received, BOM included
    assert raw.rows == 2 and raw.path == path


def streamed(monkeypatch, path: Path, hint: str | None = None, batch_rows: int = 1):
    """The same file read as a big one: a first pass, then record batches (bounded memory)."""
    monkeypatch.setenv("SUPERVISION_STREAM_BYTES", "0")
    raw = read_file(path, hint)
    assert raw.stream is not None
    return raw, pa.concat_tables(raw.tables(batch_rows))


@pytest.mark.parametrize("data, hint, reported", ENCODED.values(), ids=ENCODED.keys())
def test_big_csv_streams_the_same_rows_in_every_encoding(tmp_path, monkeypatch, data, hint, reported):
    path = write(tmp_path, "enforcement_cases.csv", data)
    whole = read_file(path, hint)
    raw, table = streamed(monkeypatch, path, hint)
    assert (raw.encoding, raw.sha256, raw.rows, raw.columns) == (reported, whole.sha256, 2, HEADER)
    assert table.to_pylist() == whole.table.to_pylist() == expected()


def test_big_csv_batches_keep_row_numbers_quoted_newlines_and_find_duplicates_across_batches(tmp_path, monkeypatch):
    body = "".join(f'r{i % 7},"line one\nline {i}",  {i}  \n' for i in range(40))
    path = write(tmp_path, "complaints.csv", "record_id,summary,n\n" + body)
    raw, table = streamed(monkeypatch, path, batch_rows=3)
    assert raw.rows == 40 and table["_row_number"].to_pylist() == list(range(1, 41))
    assert table["summary"].to_pylist()[5] == "line one\nline 5" and table["n"].to_pylist()[5] == "5"
    assert sorted(raw.duplicate_ids().to_pylist()) == [f"r{i}" for i in range(7)]
    assert len(raw.record_ids()) == 40
    assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_big_csv_without_duplicates_has_none(tmp_path, monkeypatch):
    raw, _ = streamed(monkeypatch, write(tmp_path, "complaints.csv", "record_id\na\nb\n\n"))
    assert raw.rows == 2 and raw.duplicate_ids().to_pylist() == []


def test_big_undeclared_gbk_file_with_gbk_only_after_the_first_bytes(tmp_path, monkeypatch):
    rows = "".join(f"{i},x\n" for i in range(20000)) + "20000,魏都区\n"
    path = write(tmp_path, "complaints.csv", ("record_id,name\n" + rows).encode("gbk"))
    whole = read_file(path)
    raw, table = streamed(monkeypatch, path, batch_rows=5000)
    assert whole.encoding == raw.encoding == "gbk"
    assert table["name"].to_pylist()[-1] == whole.table["name"].to_pylist()[-1] == "魏都区"


def test_big_gbk_declared_utf8_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_STREAM_BYTES", "0")
    path = write(tmp_path, "enforcement_cases.csv", csv_text().encode("gbk"))
    with pytest.raises(UnreadableFile, match="not valid UTF-8"):
        read_file(path, "utf-8")


def test_ragged_big_csv_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_STREAM_BYTES", "0")
    with pytest.raises(UnreadableFile, match="ArrowInvalid"):
        read_file(write(tmp_path, "complaints.csv", b"a,b\n1,2\n1,2,3\n"))


def overlapped(monkeypatch, path: Path, hint: str | None = None):
    """The same file read as a mid-sized one: held in memory, a first pass over the ids, parsed while it loads."""
    monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", "0")
    raw = read_file(path, hint)
    assert raw.stream is not None
    return raw


@pytest.mark.parametrize("data, hint, reported", ENCODED.values(), ids=ENCODED.keys())
def test_overlapped_csv_reads_the_same_rows_in_every_encoding(tmp_path, monkeypatch, data, hint, reported):
    path = write(tmp_path, "enforcement_cases.csv", data)
    whole = read_file(path, hint)
    raw = overlapped(monkeypatch, path, hint)
    assert (raw.encoding, raw.sha256, raw.rows, raw.columns) == (reported, whole.sha256, 2, HEADER)
    assert pa.concat_tables(raw.tables(1)).to_pylist() == whole.table.to_pylist() == expected()
    assert raw.id_fingerprints().tolist() == whole.id_fingerprints().tolist()


@pytest.mark.parametrize("mode", ["whole", "overlapped", "streamed"])
def test_a_smaller_first_batch_then_full_batches_in_every_read_mode(tmp_path, monkeypatch, mode):
    body = "".join(f"r{i},name {i}\n" for i in range(23))
    path = write(tmp_path, "complaints.csv", "record_id,name\n" + body)
    monkeypatch.setattr(filereader, "STREAM_BLOCK", 64)  # pyarrow's record batches smaller than a table
    if mode == "overlapped":
        monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", "0")
    elif mode == "streamed":
        monkeypatch.setenv("SUPERVISION_STREAM_BYTES", "0")
    raw = read_file(path)
    assert (raw.stream is None) == (mode == "whole")
    tables = list(raw.tables(10, first_rows=4))
    sizes = [t.num_rows for t in tables]
    # record batches are gathered until they hold enough rows: a table may overshoot by less than one of them
    assert sum(sizes) == 23 and 4 <= sizes[0] < 10 and all(s >= 10 for s in sizes[1:-1]), sizes
    rows = pa.concat_tables(tables)
    assert rows["_row_number"].to_pylist() == list(range(1, 24))
    assert rows["record_id"].to_pylist() == [f"r{i}" for i in range(23)]
    if mode == "whole":
        assert sizes == [4, 10, 9]
    assert [t.num_rows for t in raw.tables(10, first_rows=50)][0] in (10, 11, 12, 13)  # never above a batch


def test_overlapped_csv_batches_keep_quoted_newlines_and_find_duplicates_across_batches(tmp_path, monkeypatch):
    body = "".join(f'r{i % 7},"line one\nline {i}",  {i}  \n' for i in range(40)) + ',"no id",40\n'
    path = write(tmp_path, "complaints.csv", "record_id,summary,n\n" + body)
    monkeypatch.setattr(filereader, "STREAM_BLOCK", 64)  # many small blocks: boundaries inside quoted cells
    raw = overlapped(monkeypatch, path)
    table = pa.concat_tables(list(raw.tables(3)))
    assert raw.rows == 41 and table["_row_number"].to_pylist() == list(range(1, 42))
    assert table["summary"].to_pylist()[5] == "line one\nline 5" and table["n"].to_pylist()[5] == "5"
    assert sorted(raw.duplicate_ids().to_pylist()) == [f"r{i}" for i in range(7)]
    assert len(raw.id_fingerprints()) == 40  # the empty id has none
    assert raw.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_overlapped_csv_without_record_id_column(tmp_path, monkeypatch):
    raw = overlapped(monkeypatch, write(tmp_path, "complaints.csv", "name,n\na,1\nb,2\n"))
    assert raw.rows == 2 and raw.duplicate_ids() is None and raw.record_ids() is None
    assert pa.concat_tables(raw.tables(10))["name"].to_pylist() == ["a", "b"]


def test_overlapped_undeclared_gbk_found_late_asks_for_the_whole_read(tmp_path, monkeypatch):
    # GBK only in a column the first pass does not convert, after the first bytes: found while loading
    rows = "".join(f"{i},x\n" for i in range(20000)) + "20000,魏都区\n"
    path = write(tmp_path, "complaints.csv", ("record_id,name\n" + rows).encode("gbk"))
    raw = overlapped(monkeypatch, path)
    assert raw.encoding == "utf-8"
    with pytest.raises(ReadAgain):
        list(raw.tables(5000))
    whole = read_file(path, overlap=False)
    assert whole.stream is None and whole.encoding == "gbk" and whole.table["name"].to_pylist()[-1] == "魏都区"


def test_overlapped_non_utf8_ids_are_read_whole_at_once(tmp_path, monkeypatch):
    rows = "".join(f"{i},x\n" for i in range(20000)) + "魏都区,y\n"
    path = write(tmp_path, "complaints.csv", ("record_id,name\n" + rows).encode("gbk"))
    monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", "0")
    raw = read_file(path)  # the first pass meets the bytes: the whole read decides, before anything loads
    assert raw.stream is None and raw.encoding == "gbk" and raw.table["record_id"].to_pylist()[-1] == "魏都区"


def test_overlapped_ragged_csv_is_unreadable(tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", "0")
    with pytest.raises(UnreadableFile, match="ArrowInvalid"):
        read_file(write(tmp_path, "complaints.csv", b"record_id,b\n1,2\n1,2,3\n"))


def test_overlapped_gbk_declared_utf8_found_late_is_unreadable_when_read_whole(tmp_path, monkeypatch):
    rows = "".join(f"{i},x\n" for i in range(20000)) + "20000,魏都区\n"
    path = write(tmp_path, "complaints.csv", ("record_id,name\n" + rows).encode("gbk"))
    raw = overlapped(monkeypatch, path, "utf-8")
    with pytest.raises(ReadAgain):
        list(raw.tables(100_000))
    with pytest.raises(UnreadableFile, match="not valid UTF-8"):
        read_file(path, "utf-8", overlap=False)


def test_unicode_whitespace_is_trimmed_like_python(tmp_path):
    spaces = "\u3000\u00a0\u2002\u2028\u202f\u205f\u1680\x85\t\x0b\x0c"
    path = write(tmp_path, "complaints.csv", f'a,b\n"{spaces}x y{spaces}","{spaces}"\n')
    assert read_file(path).table.to_pylist() == [{"_row_number": 1, "a": f"{spaces}x y{spaces}".strip(), "b": None}]


def test_gbk_bytes_declared_utf8_are_unreadable_with_a_hint(tmp_path):
    path = write(tmp_path, "enforcement_cases.csv", csv_text().encode("gbk"))
    with pytest.raises(UnreadableFile, match=r"not valid UTF-8.*declare \"encoding\": \"gbk\""):
        read_file(path, "utf-8")


def test_unknown_declared_encoding_is_unreadable(tmp_path):
    path = write(tmp_path, "enforcement_cases.csv", csv_text())
    with pytest.raises(UnreadableFile, match="manifest encoding 'latin-1' is not one of"):
        read_file(path, "latin-1")


def test_detect_encoding():
    assert detect_encoding("魏都区".encode(), None) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbfa", None) == "utf-8-sig"
    assert detect_encoding("魏都区".encode("gbk"), None) == "gb18030"
    assert detect_encoding(b"a", "GBK") == "gb18030"


# --- CSV content --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"record_id,county_code\n", b"record_id,county_code\r\n", b"record_id,county_code"],
                         ids=["lf", "crlf", "no-final-newline"])
def test_header_only_csv_is_zero_rows(tmp_path, data):
    raw = read_file(write(tmp_path, "complaints.csv", data))
    assert raw.rows == 0
    assert list(raw.frame.columns) == ["_row_number", "record_id", "county_code"]


def test_header_only_gbk_csv_is_zero_rows(tmp_path):
    raw = read_file(write(tmp_path, "complaints.csv", "记录,县\n".encode("gbk")))
    assert raw.rows == 0 and list(raw.frame.columns) == ["_row_number", "记录", "县"]


def test_quoted_commas_quotes_and_newlines_stay_in_their_cell(tmp_path):
    data = 'record_id,summary,county_code\n1,"一,二","411002"\n2,"第一行\n第二行\r\n第三行",411002\n3,"他说""好""",411002\n'
    assert records(write(tmp_path, "complaints.csv", data)) == [
        {"_row_number": 1, "record_id": "1", "summary": "一,二", "county_code": "411002"},
        {"_row_number": 2, "record_id": "2", "summary": "第一行\n第二行\r\n第三行", "county_code": "411002"},
        {"_row_number": 3, "record_id": "3", "summary": '他说"好"', "county_code": "411002"},
    ]


def test_quoted_newlines_survive_a_pyarrow_block_boundary(tmp_path):
    """> 16 MiB (the reader's block size) of rows whose cells hold newlines: no cell may be cut in two."""
    row = '"' + "甲" * 60 + "\n" + "乙" * 60 + '",411002\n'
    n = (17 << 20) // len(row.encode()) + 1
    raw = read_file(write(tmp_path, "complaints.csv", "summary,county_code\n" + row * n))
    assert raw.rows == n
    assert raw.frame["summary"].str.len().eq(121).all()
    assert raw.frame["county_code"].eq("411002").all()


def test_codes_keep_leading_zeros_and_stay_strings(tmp_path):
    raw = read_file(write(tmp_path, "complaints.csv", "record_id,fine_amount,flag\n007,0500.10,0\n"))
    assert records(raw.path) == [{"_row_number": 1, "record_id": "007", "fine_amount": "0500.10", "flag": "0"}]
    assert all(str(t) == "string" for c, t in raw.frame.dtypes.items() if c != "_row_number")


def test_cells_are_stripped_and_empty_cells_are_na(tmp_path):
    raw = read_file(write(tmp_path, "complaints.csv", "a,b,c\n  x , ,\n"))
    assert raw.frame["a"].tolist() == ["x"]
    assert raw.frame["b"].isna().all() and raw.frame["c"].isna().all()


def test_header_names_are_stripped(tmp_path):
    assert list(read_file(write(tmp_path, "complaints.csv", " a , b\n1,2\n")).frame.columns) == ["_row_number", "a", "b"]


def test_row_number_is_one_based_data_row(tmp_path):
    raw = read_file(write(tmp_path, "complaints.csv", "a\n" + "".join(f"v{i}\n" for i in range(1, 6))))
    assert raw.frame["_row_number"].tolist() == [1, 2, 3, 4, 5]
    assert raw.frame["a"].tolist() == [f"v{i}" for i in range(1, 6)]


UNREADABLE_CSV = {
    "empty-file": (b"", "empty file: no header line"),
    "blank-first-line": (b"\nrecord_id\n1\n", "empty file: no header line"),
    "duplicate-columns": (b"a,b,a\n1,2,3\n", "duplicate column names in header"),
    "ragged-row": (b"a,b\n1,2,3\n", "ArrowInvalid"),
    "reserved-column": (b"_row_number,a\n1,2\n", "_row_number"),
    "bad-gbk": (b"a,b\n\x81\x20,1\n", "not valid GBK/GB18030 at byte"),
}


@pytest.mark.parametrize("data, reason", UNREADABLE_CSV.values(), ids=UNREADABLE_CSV.keys())
def test_unreadable_csv(tmp_path, data, reason):
    with pytest.raises(UnreadableFile, match=reason):
        read_file(write(tmp_path, "complaints.csv", data), "gbk" if "gbk" in reason.lower() else None)


# --- JSON ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrap", [lambda rows: rows, lambda rows: {"records": rows, "count": len(rows)}],
                         ids=["array", "records-object"])
def test_json_array_and_records_object(tmp_path, wrap):
    path = write(tmp_path, "enforcement_cases.json", json.dumps(wrap(ROWS), ensure_ascii=False))
    raw = read_file(path)
    assert raw.format == "json" and raw.encoding is None
    assert records(path) == expected()


def test_json_with_bom(tmp_path):
    path = write(tmp_path, "enforcement_cases.json", b"\xef\xbb\xbf" + json.dumps(ROWS, ensure_ascii=False).encode())
    assert records(path) == expected()


def test_json_values_become_text(tmp_path):
    doc = [
        {"record_id": 1, "county_code": 411002, "township_code": 411002001, "fine_amount": 12.5, "is_major": True,
         "replied": False, "extra": {"a": "甲"}, "tags": [1, 2]},
        {"record_id": 2, "county_code": 411002, "township_code": None, "fine_amount": None, "is_major": None},
    ]
    assert records(write(tmp_path, "complaints.json", json.dumps(doc, ensure_ascii=False))) == [
        {"_row_number": 1, "record_id": "1", "county_code": "411002", "township_code": "411002001",
         "fine_amount": "12.5", "is_major": "true", "replied": "false", "extra": '{"a": "甲"}', "tags": "[1, 2]"},
        # an integer column with a null in another row stays "411002001", not "411002001.0"
        {"_row_number": 2, "record_id": "2", "county_code": "411002", "township_code": None, "fine_amount": None,
         "is_major": None, "replied": None, "extra": None, "tags": None},
    ]


def test_json_int_column_with_null_keeps_integer_text(tmp_path):
    doc = [{"township_code": None}, {"township_code": 411002001}]
    raw = read_file(write(tmp_path, "complaints.json", json.dumps(doc)))
    assert raw.frame["township_code"].tolist()[1] == "411002001"


def test_json_empty_array_is_zero_rows(tmp_path):
    assert read_file(write(tmp_path, "complaints.json", "[]")).rows == 0


UNREADABLE_JSON = {
    "invalid-json": ('[{"a": 1},', "JSONDecodeError"),
    "object-without-records": ('{"a": 1}', r"JSON must be an array of objects \(or \{\"records\": \[...\]\}\)"),
    "array-of-scalars": ("[1, 2]", "JSON must be an array of objects"),
    "not-utf8": ("[{\"a\": \"许昌市魏都区\"}]".encode("gbk"), "UnicodeDecodeError"),
}


@pytest.mark.parametrize("data, reason", UNREADABLE_JSON.values(), ids=UNREADABLE_JSON.keys())
def test_unreadable_json(tmp_path, data, reason):
    with pytest.raises(UnreadableFile, match=reason):
        read_file(write(tmp_path, "complaints.json", data))


# --- XLSX ---------------------------------------------------------------------------------------------------


def xlsx(tmp_path: Path, rows: list[list], name: str = "enforcement_cases.xlsx") -> Path:
    wb = openpyxl.Workbook()
    for r in rows:
        wb.active.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return write(tmp_path, name, buf.getvalue())


def test_xlsx_text_cells(tmp_path):
    path = xlsx(tmp_path, [HEADER] + [[r[h] for h in HEADER] for r in ROWS])
    raw = read_file(path)
    assert raw.format == "xlsx" and raw.encoding is None
    assert records(path) == expected()


def test_xlsx_typed_cells_become_contract_text(tmp_path):
    from datetime import datetime

    path = xlsx(tmp_path, [
        ["county_code", "township_code", "fine_amount", "filed_date", "is_major", "legal_review_done", "note"],
        [411002, 411002001.0, 500.5, date(2026, 11, 1), True, 1, " 魏都 "],
        ["411002", None, 0, datetime(2026, 11, 1), False, 0, None],
    ])
    assert records(path) == [
        {"_row_number": 1, "county_code": "411002", "township_code": "411002001", "fine_amount": "500.5",
         "filed_date": "2026-11-01", "is_major": "true", "legal_review_done": "1", "note": "魏都"},
        {"_row_number": 2, "county_code": "411002", "township_code": None, "fine_amount": "0",
         "filed_date": "2026-11-01", "is_major": "false", "legal_review_done": "0", "note": None},
    ]


def test_xlsx_header_only_is_zero_rows(tmp_path):
    raw = read_file(xlsx(tmp_path, [HEADER]))
    assert raw.rows == 0 and list(raw.frame.columns) == ["_row_number", *HEADER]


UNREADABLE_XLSX = {
    "not-a-zip": (b"PK? this is no workbook", "CalamineError: Cannot detect file format"),
    "csv-named-xlsx": (csv_text().encode(), "CalamineError: Cannot detect file format"),
}


@pytest.mark.parametrize("data, reason", UNREADABLE_XLSX.values(), ids=UNREADABLE_XLSX.keys())
def test_unreadable_xlsx(tmp_path, data, reason):
    with pytest.raises(UnreadableFile, match=reason):
        read_file(write(tmp_path, "enforcement_cases.xlsx", data))


def test_truncated_xlsx_is_unreadable_with_the_readers_reason(tmp_path):
    whole = xlsx(tmp_path, [HEADER] + [[r[h] for h in HEADER] for r in ROWS]).read_bytes()
    # Chinese first (what to send), the reader's own words after it
    with pytest.raises(UnreadableFile, match=r"^文件 complaints.xlsx 不是可以读取的Excel 工作簿.* \((Calamine|Zip|Xml)Error: "):
        read_file(write(tmp_path, "complaints.xlsx", whole[: len(whole) // 2]))


def test_xlsx_empty_workbook_is_unreadable(tmp_path):
    with pytest.raises(UnreadableFile, match="empty workbook: no header row"):
        read_file(xlsx(tmp_path, []))


def test_xlsx_duplicate_columns_are_unreadable_with_a_readable_reason(tmp_path):
    with pytest.raises(UnreadableFile, match=r"duplicate column names in header: \['a', 'b', 'a'\]"):
        read_file(xlsx(tmp_path, [["a", "b", "a"], [1, 2, 3]]))


# --- Parquet ------------------------------------------------------------------------------------------------


def parquet(tmp_path: Path, table: pa.Table) -> Path:
    buf = io.BytesIO()
    pq.write_table(table, buf)
    return write(tmp_path, "enforcement_cases.parquet", buf.getvalue())


def test_parquet_string_columns(tmp_path):
    path = parquet(tmp_path, pa.Table.from_pylist(ROWS))
    assert read_file(path).format == "parquet"
    assert records(path) == expected()


def test_parquet_typed_columns_become_text(tmp_path):
    table = pa.table({
        "township_code": pa.array([411002001, None], pa.int64()),  # an int column with a null
        "fine_amount": pa.array([500.5, None], pa.float64()),
        "filed_date": pa.array([date(2026, 11, 1), None], pa.date32()),
        "is_major": pa.array([True, None], pa.bool_()),
    })
    assert records(parquet(tmp_path, table)) == [
        {"_row_number": 1, "township_code": "411002001", "fine_amount": "500.5", "filed_date": "2026-11-01",
         "is_major": "True"},
        {"_row_number": 2, "township_code": None, "fine_amount": None, "filed_date": None, "is_major": None},
    ]


def test_unreadable_parquet(tmp_path):
    with pytest.raises(UnreadableFile, match="ArrowInvalid"):
        read_file(write(tmp_path, "enforcement_cases.parquet", b"PAR1 not really"))


def test_unsupported_format(tmp_path):
    with pytest.raises(UnreadableFile, match="unsupported format 'txt'"):
        read_file(write(tmp_path, "complaints.txt", "a\n"))


# --- discover -----------------------------------------------------------------------------------------------


def day_dir(root: Path, county: str = COUNTY, day: date = DAY) -> Path:
    folder = root / county / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def manifest(folder: Path, **overrides) -> dict:
    doc = {"county_code": COUNTY, "business_date": DAY.isoformat(), "generated_at": "2026-11-23T01:10:00+08:00",
           "encoding": "gbk", "files": {"enforcement_cases": {"rows": 2, "sha256": "AB" * 32},
                                        "complaints": {"rows": 0}}}
    doc.update(overrides)
    (folder / "manifest.json").write_text(json.dumps(doc), encoding="utf-8")
    return doc


def test_absent_folder_is_an_empty_day(tmp_path):
    day = discover(tmp_path, COUNTY, DAY)
    assert not day.exists
    assert day.folder == (tmp_path / COUNTY / "2026-11-22").resolve()
    assert (day.files, day.problems, day.manifest, day.manifest_error) == ({}, {}, None, None)


def test_one_file_per_type_and_unknown_files_ignored(tmp_path):
    folder = day_dir(tmp_path)
    for name in ("enforcement_cases.csv", "complaints.XLSX", "litigation_cases.json", "notes.txt",
                 "enforcement_cases.csv.bak", "README", "unknown_type.csv"):
        (folder / name).write_text("x")
    (folder / "reconsideration_cases.parquet").mkdir()  # not a regular file
    day = discover(tmp_path, COUNTY, DAY)
    assert day.exists
    assert {rt: p.name for rt, p in day.files.items()} == {
        "enforcement_cases": "enforcement_cases.csv", "complaints": "complaints.XLSX",
        "litigation_cases": "litigation_cases.json"}
    assert sorted(day.ignored) == ["README", "enforcement_cases.csv.bak", "notes.txt", "unknown_type.csv"]
    assert list(day.problems) == ["reconsideration_cases"]  # not a regular file: named, escaped, Chinese first
    assert day.problems["reconsideration_cases"].startswith(
        f"'{COUNTY}/{DAY}/reconsideration_cases.parquet' 是文件夹，未读取")
    assert "is a folder; not read" in day.problems["reconsideration_cases"]
    assert sorted(u.path for u in day.unexpected) == sorted(f"'{COUNTY}/{DAY}/{n}'" for n in (
        "README", "enforcement_cases.csv.bak", "notes.txt", "unknown_type.csv", "reconsideration_cases.parquet"))
    assert day.manifest is None and day.manifest_error is None  # no manifest: read anyway, flagged upstream


def test_two_files_for_one_type_are_ambiguous(tmp_path):
    folder = day_dir(tmp_path)
    (folder / "complaints.csv").write_text("a\n")
    (folder / "complaints.json").write_text("[]")
    day = discover(tmp_path, COUNTY, DAY)
    assert "complaints" not in day.files
    assert "ambiguous: 'complaints.csv', 'complaints.json'" in day.problems["complaints"]
    assert day.problems["complaints"].startswith("同一记录类型有多个文件，未读取")


def test_manifest_is_read(tmp_path):
    folder = day_dir(tmp_path)
    manifest(folder)
    day = discover(tmp_path, COUNTY, DAY)
    assert day.manifest_error is None
    assert day.encoding == "gbk"
    assert day.manifest["enforcement_cases"] == filedrop.ManifestEntry(rows=2, sha256="ab" * 32)
    assert day.manifest["complaints"] == filedrop.ManifestEntry(rows=0, sha256=None)


def test_manifest_with_bom_is_read(tmp_path):
    folder = day_dir(tmp_path)
    doc = manifest(folder)
    (folder / "manifest.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(doc).encode())
    assert discover(tmp_path, COUNTY, DAY).manifest is not None


BAD_MANIFESTS = {
    "wrong-county": ({"county_code": "411003"}, "manifest county_code 411003 is not the folder's 411002"),
    "wrong-date": ({"business_date": "2026-11-21"}, "manifest business_date 2026-11-21 is not the folder's date"),
    "files-not-an-object": ({"files": ["enforcement_cases.csv"]}, "expected an object with a 'files' object"),
    "rows-not-a-number": ({"files": {"complaints": {"rows": "many"}}}, "invalid literal"),
    "entry-not-an-object": ({"files": {"complaints": 3}}, "unreadable"),
}


@pytest.mark.parametrize("overrides, error", BAD_MANIFESTS.values(), ids=BAD_MANIFESTS.keys())
def test_bad_manifest_is_a_manifest_error(tmp_path, overrides, error):
    manifest(day_dir(tmp_path), **overrides)
    day = discover(tmp_path, COUNTY, DAY)
    assert day.manifest is None
    assert day.manifest_error.startswith("manifest.json unreadable: ")
    assert error in day.manifest_error


def test_invalid_json_manifest_is_a_manifest_error(tmp_path):
    (day_dir(tmp_path) / "manifest.json").write_text("{not json")
    day = discover(tmp_path, COUNTY, DAY)
    assert day.manifest is None and "manifest.json unreadable" in day.manifest_error


# --- safety -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("county", ["../x", "..", "411002/../../etc", "/etc", "41100", "4110021", "",
                                    "411002/..", "41100a"])
def test_county_code_that_is_not_six_digits_is_unsafe(tmp_path, county):
    with pytest.raises(UnsafePath, match="is not six digits"):
        day_folder(tmp_path, county, DAY)
    with pytest.raises(UnsafePath):
        discover(tmp_path, county, DAY)


@pytest.fixture
def opened(monkeypatch) -> list[Path]:
    """Every path read through pathlib while the test runs."""
    seen: list[Path] = []
    real_read_bytes, real_read_text = Path.read_bytes, Path.read_text
    monkeypatch.setattr(Path, "read_bytes", lambda self: seen.append(self.resolve()) or real_read_bytes(self))
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: seen.append(self.resolve()) or
                        real_read_text(self, *a, **k))
    return seen


def outside_file(tmp_path: Path, name: str, text: str) -> Path:
    target = tmp_path / "outside" / name
    target.parent.mkdir(exist_ok=True)
    target.write_text(text)
    return target


def test_symlinked_file_pointing_outside_is_a_problem_and_never_read(tmp_path, opened):
    root = tmp_path / "drop"
    folder = day_dir(root)
    secret = outside_file(tmp_path, "secret.csv", "record_id\n1\n")
    (folder / "enforcement_cases.csv").symlink_to(secret)
    (folder / "complaints.csv").write_text("record_id\n")
    day = discover(root, COUNTY, DAY)
    assert "enforcement_cases" not in day.files
    assert "是符号链接，未读取" in day.problems["enforcement_cases"]
    assert "is a symbolic link; not read" in day.problems["enforcement_cases"]
    assert str(secret) not in day.problems["enforcement_cases"]  # the county is not told where the link points
    assert set(day.files) == {"complaints"}  # the county's other files still go through
    for path in day.files.values():
        read_file(path)
    assert secret not in opened


def test_symlink_to_another_county_is_a_problem(tmp_path):
    other = day_dir(tmp_path, "411003") / "complaints.csv"
    other.write_text("record_id\n")
    (day_dir(tmp_path) / "complaints.csv").symlink_to(other)
    assert "is a symbolic link; not read" in discover(tmp_path, COUNTY, DAY).problems["complaints"]


def test_symlinked_manifest_pointing_outside_is_never_read(tmp_path, opened):
    root = tmp_path / "drop"
    folder = day_dir(root)
    secret = outside_file(tmp_path, "manifest.json", json.dumps({"county_code": COUNTY, "files": {}}))
    (folder / "manifest.json").symlink_to(secret)
    day = discover(root, COUNTY, DAY)
    assert day.manifest is None
    assert day.manifest_error.startswith("manifest.json 是符号链接，未读取")
    assert secret not in opened


def test_symlinked_day_folder_pointing_outside_is_refused_unread(tmp_path, opened):
    root = tmp_path / "drop"
    (root / COUNTY).mkdir(parents=True)
    target = tmp_path / "outside" / "day"
    target.mkdir(parents=True)
    (target / "complaints.csv").write_text("record_id\n")
    (root / COUNTY / DAY.isoformat()).symlink_to(target, target_is_directory=True)
    day = discover(root, COUNTY, DAY)
    assert day.refused.startswith(f"日期文件夹 {COUNTY}/{DAY}/是符号链接") and not day.exists
    assert (day.files, day.problems, day.manifest) == ({}, {}, None)
    assert [u.path for u in day.unexpected] == [f"'{COUNTY}/{DAY}'"]
    with pytest.raises(UnsafePath, match="symbolic link"):
        day_folder(root, COUNTY, DAY)
    assert opened == []


def test_symlink_inside_the_day_folder_is_refused_too(tmp_path):
    folder = day_dir(tmp_path)
    real = folder / "export_20261122.csv"
    real.write_text("record_id\n1\n")
    (folder / "complaints.csv").symlink_to(real.name)  # even a link to a file beside it: links are never followed
    day = discover(tmp_path, COUNTY, DAY)
    assert "complaints" not in day.files and "symbolic link" in day.problems["complaints"]
    assert "export_20261122.csv" in day.ignored


def test_drop_root_may_itself_be_a_symlink(tmp_path):
    real = tmp_path / "real_drop"
    (day_dir(real) / "complaints.csv").write_text("record_id\n")
    link = tmp_path / "drop"
    os.symlink(real, link, target_is_directory=True)
    assert set(discover(link, COUNTY, DAY).files) == {"complaints"}
