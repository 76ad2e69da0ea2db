"""Fault matrix, issue 15: files no reader should choke on, through the real pipeline and a real PostgreSQL.

A county drops a file that kills, floods or confuses a parser (an XLSX whose cells span A1:XFD1048576, NUL bytes,
UTF-16, binary garbage, a 50 MB cell, 10,000 columns, a doubled BOM, CR-only line ends); a writer is SIGKILLed
while landing. Each time: the file gets its verdict with a Chinese reason that names it and says what to send,
the county's other files and the other counties still load, every file has received = loaded + quarantined, and
the ledger reconciles.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pyarrow.parquet as pq
import pytest

from supervision.ingest.outcome import RunContext
from supervision.ingest.run import process_county
from supervision.nightly import run_shard
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.sources.filereader import UnreadableFile, read_file
from supervision_dev.simulator import FaultProfile, simulate_night

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 18)
A, B = "411002", "411003"  # 魏都区 gets the bad file; 建安区 is the other county of the shard


# --- helpers ---------------------------------------------------------------------------------------------------


@pytest.fixture()
def night(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    registry = load_registry()
    drop = tmp_path / "drop"
    simulate_night(registry, DAY, drop, seed=15, faults=FaultProfile.none(), counties=[A, B], scale=2)
    for county in (A, B):
        (drop / county / DAY.isoformat() / "manifest.json").unlink()  # files are replaced below
    ctx = RunContext(DAY, drop.resolve(), tmp_path / "lake", tmp_path / "validation", run_id="faults")
    return {"drop": drop, "registry": registry, "ctx": ctx, "conn": warehouse, "tmp": tmp_path}


def folder(night, county: str = A) -> Path:
    return night["drop"] / county / DAY.isoformat()


def replace(night, record_type: str, name: str, data: bytes, county: str = A) -> Path:
    """Put ``data`` in place of the county's simulated file of ``record_type`` (whatever its format)."""
    for old in folder(night, county).glob(f"{record_type}.*"):
        old.unlink()
    path = folder(night, county) / name
    path.write_bytes(data)
    return path


def simulated_csv(night, record_type: str, county: str = A) -> tuple[list[str], list[list[str]]]:
    """The county's simulated file of ``record_type`` as a header and rows of text (read by the pipeline's reader)."""
    table = read_file(next(folder(night, county).glob(f"{record_type}.*"))).table.drop_columns("_row_number")
    return table.column_names, [["" if v is None else v for v in r.values()] for r in table.to_pylist()]


def csv_bytes(header: list[str], rows: list[list[str]], newline: str = "\n") -> bytes:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(ch in v for ch in ',"\r\n') else v
    return newline.join(",".join(cell(v) for v in r) for r in [header, *rows]).encode("utf-8") + newline.encode()


def ledger(conn, county: str = A) -> dict[str, tuple]:
    rows = conn.execute(
        "SELECT record_type, status, rows_received, rows_loaded, rows_quarantined, reason, source_file"
        " FROM ops.submission_current WHERE county_code = %s AND business_date = %s", (county, DAY)).fetchall()
    return {r[0]: r[1:] for r in rows}


def assert_accounted(conn, counties=(A, B)) -> None:
    """received = loaded + quarantined for every file; quarantine holds the counted rows; nothing unaccounted."""
    for county in counties:
        for rt, (status, received, loaded, quarantined, reason, _) in ledger(conn, county).items():
            assert received == loaded + quarantined, (county, rt, status, reason)
            assert status != "failed", (county, rt, reason)
    rows = conn.execute(
        "SELECT s.submission_id, s.rows_quarantined, count(q.*) FILTER (WHERE q.row_number IS NOT NULL)"
        " FROM ops.submission_current s LEFT JOIN ops.quarantine q USING (submission_id)"
        " WHERE s.business_date = %s GROUP BY 1, 2", (DAY,)).fetchall()
    assert all(counted == kept for _, counted, kept in rows), rows
    assert reconcile(DAY, list(counties)).ok


def process(night, county: str = A):
    return {o.record_type: o for o in process_county(night["registry"].county(county), night["ctx"])}


def assert_rejected(night, record_type: str, name: str, *phrases: str) -> str:
    status, received, loaded, quarantined, reason, source_file = ledger(night["conn"])[record_type]
    assert (status, received, loaded, quarantined) == ("rejected", 0, 0, 0), reason
    assert source_file.endswith(name) and name in reason and A in reason
    for phrase in phrases:
        assert phrase in reason, (phrase, reason)
    assert "\x00" not in reason
    (rules, messages), = night["conn"].execute(
        "SELECT failed_rules, messages FROM ops.quarantine q JOIN ops.submission_current s USING (submission_id)"
        " WHERE s.county_code = %s AND s.record_type = %s AND s.business_date = %s", (A, record_type, DAY)).fetchall()
    assert rules == ["file.readable"] and messages == [reason]
    return reason


def assert_others_loaded(night, bad_type: str | None, counties=(A,)) -> None:
    for county in counties:
        for rt, (status, *_rest) in ledger(night["conn"], county).items():
            if county == A and rt == bad_type:
                continue
            assert status in ("loaded", "loaded_with_quarantine"), (county, rt, status, _rest)


# --- the XLSX bomb ---------------------------------------------------------------------------------------------


def bomb_workbook(far: str = "XFD1048576", far_value: bool = True) -> bytes:
    """1.5 KB: a sheet that declares A1:XFD1048576 with values at A1 and at ``far`` (17 billion cells between)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    pkg = "http://schemas.openxmlformats.org/package/2006/relationships"
    row = int("".join(ch for ch in far if ch.isdigit()))
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
            'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'),
        "_rels/.rels": (f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/officeDocument" '
                        'Target="xl/workbook.xml"/></Relationships>'),
        "xl/workbook.xml": (f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="投诉" sheetId="1" '
                            'r:id="rId1"/></sheets></workbook>'),
        "xl/_rels/workbook.xml.rels": (f'<Relationships xmlns="{pkg}"><Relationship Id="rId1" Type="{rel}/worksheet" '
                                       'Target="worksheets/sheet1.xml"/></Relationships>'),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{main}"><dimension ref="A1:XFD1048576"/><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>record_id</t></is></c></row>'
            f'<row r="{row}">' + (f'<c r="{far}" t="inlineStr"><is><t>x</t></is></c>' if far_value else
                                   f'<c r="{far}" s="1"/>') + '</row></sheetData></worksheet>'),
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(name, '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + text)
    return buf.getvalue()


def as_xlsx(night, record_type: str, county: str) -> None:
    """The county's simulated file of ``record_type`` re-written as a workbook (so a workbook is read after the bomb)."""
    header, rows = simulated_csv(night, record_type, county)
    book = openpyxl.Workbook()
    book.active.append(header)
    for r in rows:
        book.active.append(r)
    buf = io.BytesIO()
    book.save(buf)
    replace(night, record_type, f"{record_type}.xlsx", buf.getvalue(), county)


@pytest.mark.parametrize("defence", ["precheck", "child"])
def test_xlsx_bomb_is_one_rejected_file_and_the_shard_goes_on(night, monkeypatch, defence):
    data = bomb_workbook()
    assert len(data) < 2000
    replace(night, "complaints", "complaints.xlsx", data)
    as_xlsx(night, "enforcement_cases", A)  # workbooks of the same county and of the other county, read after it
    as_xlsx(night, "litigation_cases", B)
    if defence == "child":  # the precheck waved through: calamine really aborts, in its child process
        monkeypatch.setenv("SUPERVISION_MAX_XLSX_CELLS", str(1 << 40))
        monkeypatch.setenv("SUPERVISION_MAX_COLUMNS", str(1 << 20))
    shard = {"registry": str(night["registry"].path), "business_date": DAY.isoformat(),
             "drop_root": str(night["drop"]), "counties": [A, B]}
    outcomes = run_shard(shard, run_id="faults")  # raises if any file ended 'failed'
    assert {(o["county_code"], o["record_type"]) for o in outcomes} == {
        (c, rt) for c in (A, B) for rt in ("enforcement_cases", "reconsideration_cases", "litigation_cases",
                                           "complaints")}
    if defence == "precheck":
        assert_rejected(night, "complaints", "complaints.xlsx", "XFD1048576", "20,000,000 个单元格的上限",
                        "另存为 CSV（UTF-8）后重新报送")
    else:
        assert_rejected(night, "complaints", "complaints.xlsx", "异常终止", "SIGABRT", "另存为 CSV（UTF-8）后重新报送")
    assert_others_loaded(night, "complaints", counties=(A, B))
    assert ledger(night["conn"], A)["enforcement_cases"][1] > 0 and ledger(night["conn"], B)["litigation_cases"][1] > 0
    assert_accounted(night["conn"])


def test_a_far_cell_holding_only_formatting_is_no_bomb(tmp_path):
    """Excel writes <c r="XFD1048576" s="1"/> for a formatted empty cell; calamine skips it, so must the limit."""
    path = tmp_path / "complaints.xlsx"
    path.write_bytes(bomb_workbook(far_value=False))
    raw = read_file(path)
    assert (raw.rows, raw.columns) == (0, ["record_id"])


# --- bad bytes -------------------------------------------------------------------------------------------------


def nul_in_a_late_row(night):
    header, rows = simulated_csv(night, "complaints")
    while len(csv_bytes(header, rows[:-1])) < 5000:  # the NUL lies past the first 4 KiB
        rows.append([f"{rows[0][0]}-{len(rows)}", *rows[0][1:]])
    rows[-1][header.index("summary")] = "投诉内容\x00被截断"
    return csv_bytes(header, rows), len(rows) + 1


def ten_thousand_columns(night):
    header, rows = simulated_csv(night, "complaints")
    extra = [f"c{i}" for i in range(10_000 - len(header))]
    return csv_bytes(header + extra, [r + [""] * len(extra) for r in rows]), None


def fifty_mb_field(night):
    header, rows = simulated_csv(night, "complaints")
    rows[1][header.index("summary")] = "很长" * ((50 << 20) // 6)  # 50 MiB of text in one cell
    return csv_bytes(header, rows), 3


def utf16(encoding: str, bom: bool):
    def make(night):
        header, rows = simulated_csv(night, "complaints")
        text = csv_bytes(header, rows, "\r\n").decode("utf-8")
        return ("\ufeff" if bom else "").encode(encoding) + text.encode(encoding), None
    return make


def binary_garbage(night):
    return bytes((i * 7919 + 13) % 256 for i in range(30_000)), None


def header_without_end(night):
    return b"record_id," + b"x" * (100 << 10), None


BAD = {  # case: (make bytes, file name, phrases the reason holds)
    "nul-byte-past-4-KiB": (nul_in_a_late_row, "complaints.csv", ["NUL 空字符", "“summary”列", "另存为 CSV"]),
    "binary-garbage": (binary_garbage, "complaints.csv", ["不是 CSV 文本", "二进制", "请以 UTF-8 编码另存为 CSV 后重新报送"]),
    "utf-16-le-bom": (utf16("utf-16-le", True), "complaints.csv", ["UTF-16 LE", "带 BOM", "不对 UTF-16 文本转码",
                                                                  "CSV UTF-8（逗号分隔）"]),
    "utf-16-be-bom": (utf16("utf-16-be", True), "complaints.csv", ["UTF-16 BE", "带 BOM", "CSV UTF-8（逗号分隔）"]),
    "utf-16-le-no-bom": (utf16("utf-16-le", False), "complaints.csv", ["UTF-16 LE", "无 BOM", "CSV UTF-8（逗号分隔）"]),
    "50-MB-field": (fifty_mb_field, "complaints.csv", ["“summary”列", "50 MiB", "1 MiB 的上限"]),
    "10000-columns": (ten_thousand_columns, "complaints.csv", ["10,000 列", "1,000 列的上限", "请只报送合同规定的列"]),
    "header-line-without-end": (header_without_end, "complaints.csv", ["第 1 行（表头）超过 64 KiB"]),
}


@pytest.mark.parametrize("make, name, phrases", BAD.values(), ids=BAD.keys())
def test_bad_bytes_reject_the_file_with_a_chinese_reason_naming_it(night, make, name, phrases):
    data, row = make(night)
    replace(night, "complaints", name, data)
    outcomes = process(night)
    assert outcomes["complaints"].status == "rejected"
    reason = assert_rejected(night, "complaints", name, *phrases)
    if row is not None:  # the row as a spreadsheet shows it (header = row 1)
        assert f"第 {row} 行（表头为第 1 行）" in reason
    assert_others_loaded(night, "complaints")
    assert_accounted(night["conn"], counties=(A,))


def test_nul_in_a_json_value_is_named_not_a_copy_crash(night):
    header, rows = simulated_csv(night, "complaints")
    records = [dict(zip(header, r, strict=True)) for r in rows]
    records[2]["summary"] = "a\x00b"
    replace(night, "complaints", "complaints.json", json.dumps(records, ensure_ascii=False).encode())
    process(night)
    assert_rejected(night, "complaints", "complaints.json", "第 3 条记录（数组中的第 3 个对象）的“summary”字段", "NUL 空字符", "a\\x00b")
    assert_accounted(night["conn"], counties=(A,))


@pytest.mark.parametrize("variant", ["doubled-bom", "cr-only", "gbk-cr-only"])
def test_doubled_bom_and_cr_only_line_ends_load_every_row(night, variant):
    header, rows = simulated_csv(night, "complaints")
    if variant == "doubled-bom":
        data = b"\xef\xbb\xbf\xef\xbb\xbf" + csv_bytes(header, rows)
    elif variant == "cr-only":
        data = csv_bytes(header, rows, "\r")
    else:
        data = csv_bytes(header, rows, "\r").decode("utf-8").encode("gbk")
    replace(night, "complaints", "complaints.csv", data)
    outcomes = process(night)
    o = outcomes["complaints"]
    assert (o.status, o.rows_received) == ("loaded", len(rows)), o.reason
    assert night["conn"].execute("SELECT count(*) FROM core.complaint WHERE county_code = %s", (A,)).fetchone()[0] \
        == len(rows)
    assert_accounted(night["conn"], counties=(A,))


def test_a_file_over_its_format_limit_is_rejected_before_parsing(night, monkeypatch):
    replace(night, "complaints", "complaints.json", b"[" + b" " * 5000 + b"]")
    monkeypatch.setenv("SUPERVISION_MAX_JSON_BYTES", "4096")
    process(night)
    assert_rejected(night, "complaints", "complaints.json", "超过 JSON 文件 4 KiB 的上限", "改用 CSV（UTF-8）报送")
    assert_accounted(night["conn"], counties=(A,))


# --- a writer killed while landing -----------------------------------------------------------------------------

WRITER = textwrap.dedent("""
    import sys, time
    from datetime import date
    from pathlib import Path
    from supervision.landing import Lander
    from supervision.sources.filereader import read_file
    lake, path, county = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    raw = read_file(path)
    lander = Lander(lake, raw, "enforcement_cases", date.fromisoformat(sys.argv[4]), county, sys.argv[5])
    lander.write(next(iter(raw.tables(5))))
    lander._last.result()  # the first batch is in the temporary file
    print(lander._tmp, flush=True)
    time.sleep(600)
""")


def test_a_killed_writers_leftover_is_swept_and_the_next_run_lands(night):
    ctx = night["ctx"]
    path = next(folder(night).glob("enforcement_cases.*"))
    rel = str(path.relative_to(ctx.drop_root))
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(ctx.lake_root), str(path), A, DAY.isoformat(), rel],
                             stdout=subprocess.PIPE, text=True, env={**os.environ})
    try:
        tmp = Path(child.stdout.readline().strip())
    finally:
        child.send_signal(signal.SIGKILL)  # really killed mid-write: no finally, no atexit
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert tmp.exists() and tmp.name.endswith(".tmp") and f".{child.pid}." in tmp.name and tmp.stat().st_size > 0
    sha = tmp.name.split(".")[0]
    assert not (tmp.parent / f"{sha}.parquet").exists()

    outcomes = process(night)  # the next run: the leftover is removed, the file lands whole
    assert not tmp.exists()
    assert [p.name for p in tmp.parent.iterdir()] == [f"{sha}.parquet"]
    assert pq.read_table(tmp.parent / f"{sha}.parquet").num_rows == outcomes["enforcement_cases"].rows_received
    assert outcomes["enforcement_cases"].status in ("loaded", "loaded_with_quarantine")
    assert_accounted(night["conn"], counties=(A,))


def test_a_live_writers_temporary_file_is_left_alone_a_dead_ones_removed(tmp_path):
    from supervision.landing import _HOST, sweep_stale

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        tmp = tmp_path / f"{'a' * 64}.parquet.{sleeper.pid}.{_HOST}.tmp"
        old = tmp_path / f"{'b' * 64}.parquet.{sleeper.pid}.tmp"  # the name before the host was part of it
        tmp.write_bytes(b"PAR1")
        old.write_bytes(b"PAR1")
        assert sweep_stale(tmp_path) == [] and tmp.exists() and old.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert sorted(sweep_stale(tmp_path)) == sorted([tmp, old]) and not tmp.exists() and not old.exists()


STREAMED = {  # case: (bytes, phrase) for files read from disk in batches (> SUPERVISION_STREAM_BYTES)
    "nul": ("record_id,name\n" + "".join(f"{i},n{i}\n" for i in range(400)) + "999,x\x00y\n",
            "第 402 行（表头为第 1 行）“name”列含有 NUL 空字符"),
    "3-MiB-field": ("record_id,name\n1,a\n2," + "x" * (3 << 20) + "\n", "第 3 行（表头为第 1 行）“name”列的内容有 3 MiB"),
    "20-MiB-record": ("record_id,name\n1,a\n2," + "x" * (20 << 20) + "\n", "有一条记录超过 4 MiB"),
    "ragged": ("record_id,name\n1,a\n2,b,c\n", "表头 2 列，该行 3 列"),
}


@pytest.mark.parametrize("text, phrase", STREAMED.values(), ids=STREAMED.keys())
def test_streamed_files_meet_the_same_checks_before_loading(tmp_path, monkeypatch, text, phrase):
    monkeypatch.setenv("SUPERVISION_STREAM_BYTES", "0")
    path = tmp_path / "complaints.csv"
    path.write_bytes(text.encode())
    with pytest.raises(UnreadableFile, match=phrase):
        read_file(path)  # the first pass, before any row is loaded
