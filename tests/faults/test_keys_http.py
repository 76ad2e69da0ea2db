"""Faults 9 and 10 of issue 15: full-width record keys, and HTTP pages that drip or never end.

9. A county system writes its keys in full-width characters one night (ＥＮＦ－４１１００２－…, as Chinese IMEs and
   Excel exports do) and the ASCII form the next: both name the same record. Keys (record_id, related_*_id) are
   validated, loaded, quarantined and matched in NFKC form; the landed raw Parquet keeps what arrived.
10. An API that drips one byte every half second, or answers a 100 MB page: the pull gives up at the request's
    wall-clock limit (plus a small margin) or past the page byte cap, without reading the page whole, and ends
    as source_error naming the county, the URL (no secrets) and the limit; the watermark stays; other counties
    load; reconcile is exact.

Everything runs against the real local PostgreSQL and a real local HTTP server (the simulator's, with two extra
fault answers defined here).
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import resource
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from supervision.arrow_text import fingerprints
from supervision.contract import RECORD_TYPES
from supervision.identifiers import make_uscc
from supervision.nightly import prepare_run, run_shard, summarize
from supervision.reconcile import reconcile
from supervision.registry import load_registry
from supervision.sources.common import SourceUnavailable
from supervision.sources.filereader import read_file
from supervision.sources.http_api import DEFAULT_MAX_PAGE_MIB, MAX_PAGE_MIB_ENV, HttpApiSource, PageTooLarge
from supervision.warehouse.connection import connect
from supervision_dev.simulator import FaultProfile, simulate_night
from supervision_dev.simulator.api_server import CountyApiServer

pytestmark = pytest.mark.integration
TZ = ZoneInfo("Asia/Shanghai")
ENF = RECORD_TYPES["enforcement_cases"]


# ------------------------------------------------------------------------------------------- 9: full-width keys

D1 = date(2026, 11, 20)
D2 = D1 + timedelta(days=1)
KEY_COUNTY = "411002"


def wide(text: str) -> str:
    """The full-width form of printable ASCII (what a county system on a Chinese IME writes)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _night(registry, drop: Path, day: date) -> tuple[Path, pd.DataFrame]:
    """Simulate the county's night; its enforcement file as a UTF-8 CSV (path, frame of strings)."""
    simulate_night(registry, day, drop, seed=11, faults=FaultProfile.none(), counties=[KEY_COUNTY], scale=2)
    folder = drop / KEY_COUNTY / day.isoformat()
    (folder / "manifest.json").unlink()  # the files are edited below; a day without manifest is still read
    path = next(folder.glob("enforcement_cases.*"))
    if path.suffix == ".json":
        frame = pd.read_json(path, dtype=str)
    elif path.suffix == ".xlsx":
        frame = pd.read_excel(path, dtype=str)
    else:
        raw = path.read_bytes()
        enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=enc)
        except UnicodeDecodeError:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    path.unlink()
    return folder / "enforcement_cases.csv", frame.fillna("")


def _send(path: Path, frame: pd.DataFrame) -> None:
    frame.to_csv(path, index=False, encoding="utf-8")
    os.utime(path)


def _run(registry, drop: Path, day: date) -> None:
    shards = prepare_run(day, str(registry.path), str(drop), counties=[KEY_COUNTY])
    for shard in shards:
        run_shard(shard)
    summarize(shards)


def _enf_ledger(conn, day):
    return conn.execute(
        "SELECT submission_id, status, rows_received, rows_loaded, rows_quarantined, lake_path FROM"
        " ops.submission_current WHERE county_code = %s AND business_date = %s AND record_type = 'enforcement_cases'",
        (KEY_COUNTY, day)).fetchone()


def test_full_width_keys_then_ascii_correction_are_one_case(warehouse, warehouse_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    registry = load_registry()
    drop = tmp_path / "drop"

    # Night 1: every key full-width; row 2 (spreadsheet row 3) also has a broken agency code
    path, ascii_night = _night(registry, drop, D1)
    n = len(ascii_night)
    assert n >= 5 and ascii_night.record_id.is_unique
    sent = ascii_night.copy()
    sent["record_id"] = sent.record_id.map(wide)
    good_agency = sent.loc[1, "agency_code"]
    sent.loc[1, "agency_code"] = good_agency[:-1] + ("0" if good_agency[-1] != "0" else "1")
    _send(path, sent)
    _run(registry, drop, D1)
    with connect() as conn:
        first, status, received, loaded, quarantined, lake = _enf_ledger(conn, D1)
        assert (status, received, loaded, quarantined) == ("loaded_with_quarantine", n, n - 1, 1)
        keys = [r for (r,) in conn.execute("SELECT record_id FROM core.enforcement_case WHERE county_code = %s"
                                           " ORDER BY record_id", (KEY_COUNTY,)).fetchall()]
        assert keys == sorted(set(ascii_night.record_id) - {ascii_night.record_id[1]})  # stored in ASCII form
        q_key, q_raw = conn.execute("SELECT record_id, raw_row->>'record_id' FROM ops.quarantine WHERE"
                                    " submission_id = %s", (first,)).fetchone()
        assert (q_key, q_raw) == (ascii_night.record_id[1], wide(ascii_night.record_id[1]))
    landed = pq.read_table(lake).column("record_id").to_pylist()
    assert landed == sent.record_id.tolist(), "the raw Parquet keeps the keys exactly as they arrived"

    # The same night, re-sent in ASCII with the row fixed: supersedes, resolves the quarantined row, no new case
    _send(path, ascii_night)
    _run(registry, drop, D1)
    with connect() as conn:
        second, status, received, loaded, quarantined, _ = _enf_ledger(conn, D1)
        assert second != first and (status, received, loaded, quarantined) == ("loaded", n, n, 0)
        assert conn.execute("SELECT count(resolved_at), min(resolved_by_submission) FROM ops.quarantine WHERE"
                            " submission_id = %s", (first,)).fetchone() == (1, second)
        assert conn.execute("SELECT count(*) FROM core.enforcement_case WHERE county_code = %s",
                            (KEY_COUNTY,)).fetchone()[0] == n

    # Night 2: the correction, ASCII keys and a later updated_at: one case each in core, two versions in history
    path2, _ = _night(registry, drop, D2)
    corrected = ascii_night.copy()
    later = pd.to_datetime(corrected.updated_at, format="ISO8601") + pd.Timedelta(hours=30)
    corrected["updated_at"] = later.map(lambda t: t.isoformat())
    _send(path2, corrected)
    _run(registry, drop, D2)
    with connect() as conn:
        _, status, received, loaded, quarantined, _ = _enf_ledger(conn, D2)
        assert (status, received, loaded, quarantined) == ("loaded", n, n, 0)
        core = conn.execute("SELECT count(*), count(DISTINCT record_id) FROM core.enforcement_case WHERE"
                            " county_code = %s", (KEY_COUNTY,)).fetchone()
        assert core == (n, n), "the ASCII correction updated the full-width night's cases, no second case"
        versions = dict(conn.execute("SELECT record_id, count(*) FROM core.enforcement_case_history WHERE"
                                     " county_code = %s GROUP BY record_id", (KEY_COUNTY,)).fetchall())
        assert versions == dict.fromkeys(ascii_night.record_id, 2)
        assert not conn.execute("SELECT count(*) FROM core.enforcement_case_history WHERE county_code = %s AND"
                                " record_id <> normalize(record_id, NFKC)", (KEY_COUNTY,)).fetchone()[0]
    for day in (D1, D2):
        report = reconcile(day, [KEY_COUNTY])
        assert report.ok, report.problems


@pytest.mark.parametrize("mode", ["whole", "overlapped", "streamed"])
def test_every_csv_read_path_gives_keys_in_nfkc_form(tmp_path, monkeypatch, mode):
    """The file-wide key views (duplicates, the night's fingerprints, loaded ids) come from three read paths."""
    if mode == "overlapped":
        monkeypatch.setenv("SUPERVISION_OVERLAP_BYTES", "0")
    if mode == "streamed":
        monkeypatch.setenv("SUPERVISION_STREAM_BYTES", "0")
    path = tmp_path / "enforcement_cases.csv"
    ids = [wide("ENF-411002-0001"), "ENF-411002-0001", wide("ENF-411002-0002"), "ENF-411002-0003"]
    path.write_text("record_id,county_code\n" + "".join(f"{i},411002\n" for i in ids), encoding="utf-8")
    raw = read_file(path)
    assert (raw.stream is not None) == (mode != "whole")
    assert raw.duplicate_ids().to_pylist() == ["ENF-411002-0001"]
    assert raw.record_ids().to_pylist() == ["ENF-411002-0001", "ENF-411002-0001", "ENF-411002-0002",
                                            "ENF-411002-0003"]
    keys = pa.array(["ENF-411002-0001", "ENF-411002-0001", "ENF-411002-0002", "ENF-411002-0003"])
    assert sorted(raw.id_fingerprints().tolist()) == sorted(fingerprints(keys).tolist())
    landed = next(raw.tables(100))
    assert landed.column("record_id").to_pylist() == ids  # what lands in the lake: as received


# --------------------------------------------------------------------------- 10: dripping and oversized pages

DRIP, DRIP_GZIP, HUGE, HUGE_CHUNKED, CLEAN = "410311", "410325", "410323", "410324", "410303"
HUGE_BYTES = 100 * 2**20
DRIP_EVERY = 0.5
REQUEST_LIMIT = 2.0  # timeout.total of the dripping county
PULL_LIMIT = 3.0  # the pull deadline of the test that retries
MARGIN = 1.0  # "the deadline plus a small margin"


class FaultyApi(CountyApiServer):
    """The simulator's server, with two more county misbehaviours: a page that drips one byte every
    ``DRIP_EVERY`` seconds (each byte well within the read timeout), and a 100 MB page of enforcement cases
    (announced with Content-Length, or chunked without a length)."""

    def __init__(self, counties, drip=(), huge=(), chunked=(), gzip=()):
        super().__init__(counties)
        self.drip, self.huge, self.chunked, self.gzip = set(drip) | set(gzip), set(huge), set(chunked), set(gzip)
        self.drip_log: list[tuple[str, float, int]] = []  # (county, seconds the drip lasted, bytes sent)

    def _handle(self, h):
        route = self.routes.get(urlsplit(h.path).path.rstrip("/"))
        code, rt = route if route else (None, None)
        if code in self.drip:
            return self._drip(h, code)
        if code in self.huge | self.chunked and rt == ENF.name:
            return self._huge(h, code in self.chunked)
        return super()._handle(h)

    def _drip(self, h, code):
        body = json.dumps({"data": [{"record_id": f"X-{i}"} for i in range(50)], "total": 50}).encode()
        if code in self.gzip:  # the client's decoder waits for whole blocks: only the watchdog stops it in time
            body = gzip.compress(body)
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        if code in self.gzip:
            h.send_header("Content-Encoding", "gzip")
        h.end_headers()
        start, sent = time.monotonic(), 0
        try:
            for b in body:
                h.wfile.write(bytes([b]))
                h.wfile.flush()
                sent += 1
                time.sleep(DRIP_EVERY)
        except OSError:
            pass  # the client gave up
        self.drip_log.append((code, time.monotonic() - start, sent))

    def _huge(self, h, chunked: bool):
        record = json.dumps({"record_id": "ENF-X", "county_code": "410323", "summary": "x" * 900}).encode() + b","
        block = record * (2**20 // len(record))  # ~1 MiB, written again and again: the server holds no more
        blocks = HUGE_BYTES // len(block)
        head, tail = b'{"data":[', b'{"record_id":"END"}],"total":0}'
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        else:
            h.send_header("Content-Length", str(len(head) + blocks * len(block) + len(tail)))
        h.end_headers()
        try:
            for part in [head] + [block] * blocks + [tail]:
                h.wfile.write(b"%x\r\n%s\r\n" % (len(part), part) if chunked else part)
            if chunked:
                h.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped reading


def _report(line: str) -> None:
    """Measurements for the fault report: shown with ``pytest -s``, and always in the log."""
    logging.getLogger(__name__).warning("%s", line)
    print(line)


def _api_entry(code: str, **source) -> dict:
    return {"code": code, "transport": "http_api", "contact": {"name": f"data {code}", "email": f"d{code}@example.org"},
            "source": {"conn_id": f"county_{code}_api", "base_path": f"/county/{code}/v1", "page_size": 10,
                       "timeout": {"connect": 2, "read": 5}, "retries": 2, "backoff": "20ms", "backoff_max": "100ms",
                       "deadline": 60, **source}}


def _registry(tmp_path: Path, entries: list[dict]):
    path = tmp_path / "registry.yaml"
    path.write_text(yaml.safe_dump({"name": "keys-http", "counties": entries}, allow_unicode=True), encoding="utf-8")
    return load_registry(path)


def _records(code: str, n: int, start: datetime) -> list[tuple[datetime, dict]]:
    """n valid enforcement cases of county ``code``, modified every 7 minutes from ``start``."""
    agency = make_uscc("11", code, "00000001")
    out = []
    for i in range(n):
        ts = start + i * timedelta(minutes=7)
        out.append((ts, {"record_id": f"ENF-{code}-{i:04d}", "county_code": code, "updated_at": ts.isoformat(),
                         "case_number": f"许罚〔2026〕{i + 1}号", "agency_code": agency, "agency_name": "市场监督管理局",
                         "action_type": "penalty", "domain": "market_regulation", "party_type": "organization",
                         "party_id": make_uscc("91", code, f"{i + 10:08d}"), "party_name": f"公司{i}",
                         "filed_date": "2026-10-01", "status": "open", "is_major": False,
                         "legal_review_done": False, "full_process_recorded": True}))
    return out


@pytest.fixture
def api(tmp_path, monkeypatch):
    reg = _registry(tmp_path, [
        _api_entry(DRIP, timeout={"connect": 2, "read": 5, "total": REQUEST_LIMIT}, retries=0),
        _api_entry(DRIP_GZIP, timeout={"connect": 2, "read": 5, "total": REQUEST_LIMIT}, retries=0),
        _api_entry(HUGE), _api_entry(HUGE_CHUNKED), _api_entry(CLEAN)])
    with FaultyApi(list(reg.counties), drip=[DRIP], huge=[HUGE], chunked=[HUGE_CHUNKED], gzip=[DRIP_GZIP]) as server:
        for code in (DRIP, DRIP_GZIP, HUGE, HUGE_CHUNKED, CLEAN):
            server.store.upsert(code, ENF.name, _records(code, 12, datetime(2026, 10, 20, 9, tzinfo=TZ)))
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        server.reg = reg
        yield server


def _fetch(api, code, **cfg):
    src = HttpApiSource(api.reg.county(code))
    if cfg:
        src.cfg = src.cfg.__class__(**{**src.cfg.__dict__, **cfg})
    try:
        return src.fetch(ENF, None, datetime(2026, 10, 21, tzinfo=TZ))
    finally:
        src.close()


@pytest.mark.parametrize("code", [DRIP, DRIP_GZIP], ids=["plain", "gzip"])
def test_dripping_page_gives_up_at_the_request_limit(api, code):
    start = time.monotonic()
    with pytest.raises(SourceUnavailable) as err:
        _fetch(api, code)
    took = time.monotonic() - start
    assert REQUEST_LIMIT <= took < REQUEST_LIMIT + MARGIN, took
    _report(f"dripping page ({'gzip' if code == DRIP_GZIP else 'plain'}), timeout.total {REQUEST_LIMIT:g}s: gave up "
            f"after {took:.2f}s")
    text = str(err.value)
    assert text.startswith(f"县 {code} 接口 {api.base_url}/county/{code}/v1/enforcement_cases page 1")
    assert f"单次请求时限 {REQUEST_LIMIT:g} 秒" in text and f"{REQUEST_LIMIT:g}s limit per request" in text
    assert "token" not in text.lower() and api.tokens[code] not in text
    assert "水位线保持不变" in err.value.todo


def test_dripping_page_with_retries_gives_up_at_the_pull_deadline(api):
    start = time.monotonic()
    with pytest.raises(SourceUnavailable, match=f"整次拉取时限 {PULL_LIMIT:g} 秒") as err:
        _fetch(api, DRIP, deadline=PULL_LIMIT, retries=5)  # 2 s per try, but the pull has 3 s in all
    took = time.monotonic() - start
    assert PULL_LIMIT <= took < PULL_LIMIT + MARGIN, took
    _report(f"dripping page with retries, pull deadline {PULL_LIMIT:g}s: gave up after {took:.2f}s")
    assert f"the pull's deadline of {PULL_LIMIT:g}s" in str(err.value)


@pytest.mark.parametrize("code", [HUGE, HUGE_CHUNKED], ids=["content-length", "chunked"])
def test_oversized_page_is_refused_without_reading_it_whole(api, code):
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    start = time.monotonic()
    try:
        with pytest.raises(PageTooLarge) as err:
            _fetch(api, code)
        took = time.monotonic() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    cap = DEFAULT_MAX_PAGE_MIB * 2**20
    assert f"单页超过 {DEFAULT_MAX_PAGE_MIB:g} MiB" in str(err.value) and "其余内容未读取" in str(err.value)
    assert f"page over {DEFAULT_MAX_PAGE_MIB:g} MiB" in str(err.value)
    assert err.value.status == "source_error"
    if code == HUGE:  # announced: refused on the header, nothing of the body read
        assert "服务器声明" in str(err.value) and "Content-Length" in str(err.value) and peak < 4 * 2**20
    else:  # read up to the cap, never the 100 MB
        assert peak < cap * 1.5, peak
    _report(f"100 MiB page ({'chunked' if code == HUGE_CHUNKED else 'Content-Length'}): refused after {took:.2f}s, "
            f"traced peak {peak / 2**20:.1f} MiB (cap {DEFAULT_MAX_PAGE_MIB:g} MiB), process max RSS "
            f"{rss_before / 1024:.0f} -> {rss_after / 1024:.0f} MiB")


def test_page_cap_comes_from_the_environment_and_the_registry(api, monkeypatch, tmp_path):
    monkeypatch.setenv(MAX_PAGE_MIB_ENV, "2")
    with pytest.raises(PageTooLarge, match="page over 2 MiB"):
        _fetch(api, HUGE_CHUNKED)
    reg = _registry(tmp_path, [_api_entry(HUGE_CHUNKED, max_page_mib=1.5)])
    assert HttpApiSource(reg.county(HUGE_CHUNKED)).cfg.max_page_bytes == int(1.5 * 2**20)
    assert len(_fetch(api, CLEAN).frame) == 12  # a normal page is well within any of these


DAY = date(2026, 10, 20)


def test_dripping_and_oversized_pages_end_as_source_error_in_a_night(api, warehouse, warehouse_url, tmp_path,
                                                                      monkeypatch):
    """Through the nightly steps: the two faulty counties end source_error for enforcement cases with the county,
    the URL and the limit in the reason; their watermark stays; the clean county and the other record types
    load; reconcile is exact and the shard does not fail."""
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(MAX_PAGE_MIB_ENV, "4")
    codes = [DRIP, HUGE_CHUNKED, CLEAN]
    drop = tmp_path / "drop"
    drop.mkdir()
    start = time.monotonic()
    outcomes = []
    for shard in prepare_run(DAY, str(api.reg.path), str(drop), counties=codes):
        outcomes += run_shard(shard, run_id="keys-http")  # raises if anything ended 'failed'
    took = time.monotonic() - start
    status = {(o["county_code"], o["record_type"]): o["status"] for o in outcomes}
    with connect() as conn:
        ledger = {(c, rt): (s, rec, ld, q, reason) for c, rt, s, rec, ld, q, reason in conn.execute(
            "SELECT county_code, record_type, status, rows_received, rows_loaded, rows_quarantined, reason FROM"
            " ops.submission_current WHERE business_date = %s", (DAY,)).fetchall()}
        marks = {(c, rt) for c, rt in conn.execute("SELECT county_code, record_type FROM ops.extraction_watermark"
                                                   " WHERE county_code = ANY(%s)", (codes,)).fetchall()}
    for code, needle in ((DRIP, f"单次请求时限 {REQUEST_LIMIT:g} 秒"), (HUGE_CHUNKED, "单页超过 4 MiB")):
        s, rec, ld, q, reason = ledger[(code, ENF.name)]
        assert (s, rec, ld, q) == ("source_error", 0, 0, 0), reason
        assert f"county {code}" in reason and f"{api.base_url}/county/{code}/v1/enforcement_cases" in reason
        assert needle in reason and "watermark stays" in reason, reason
        _report(f"ledger reason: {reason}")
        assert (code, ENF.name) not in marks
    for rt in RECORD_TYPES:  # the dripping county is not asked again that night (county-wide unavailability)
        if rt != ENF.name:
            assert ledger[(DRIP, rt)][0] == "source_error" and (DRIP, rt) not in marks
            assert ledger[(HUGE_CHUNKED, rt)][0] == "loaded" and (HUGE_CHUNKED, rt) in marks  # an empty window
        assert ledger[(CLEAN, rt)][0] == "loaded" and (CLEAN, rt) in marks
    assert ledger[(CLEAN, ENF.name)][:3] == ("loaded", 12, 12)
    assert status[(CLEAN, ENF.name)] == "loaded"
    # the drip was cut off at the request limit, not after the ~900 bytes (7+ minutes) it would have taken
    for _ in range(40):  # the server notices the client is gone at its next write or two
        if api.drip_log:
            break
        time.sleep(0.1)
    assert [c for c, _, _ in api.drip_log] == [DRIP] and api.drip_log[0][1] < REQUEST_LIMIT + 3 * DRIP_EVERY
    assert took < 60, took
    report = reconcile(DAY, codes)
    assert report.ok, report.problems
    with connect() as conn:
        for code in (DRIP, HUGE_CHUNKED):
            ext = conn.execute("SELECT status FROM ops.extraction WHERE county_code = %s AND record_type = %s AND"
                               " business_date = %s", (code, ENF.name, DAY)).fetchone()
            assert ext == ("source_error",)
