"""HTTP API source against the simulator's real local HTTP server: paging styles, mapping, window, every fault."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
import requests

from supervision.contract import RECORD_TYPES
from supervision.registry import RegistryError
from supervision.sources.common import (
    MalformedResponse,
    PageSequenceError,
    SourceAuthError,
    SourceConfigError,
    SourceRateLimited,
    SourceRequestError,
    SourceUnavailable,
    connection_env,
    parse_connection,
)
from supervision.sources.http_api import ApiConfig, HttpApiSource, _retry_after
from supervision_dev.simulator.api_server import CountyApiServer

from .pull_support import Sleeps, api_entry, at, records, registry

ENF = RECORD_TYPES["enforcement_cases"]
PAGE, CURSOR, OFFSET = "411002", "411003", "411024"


@pytest.fixture
def api(tmp_path, monkeypatch):
    reg = registry(tmp_path, [
        api_entry(PAGE, fields={"record_id": "id", "updated_at": "modified"}),
        api_entry(CURSOR, paging="cursor", params={"updated_from": "from", "updated_to": "to", "cursor": "after"},
                  response={"records": "items", "total": "count", "next_cursor": "next"},
                  auth={"header": "X-Api-Key", "scheme": ""}),
        api_entry(OFFSET, paging="offset", response={"records": "results", "total": None},
                  endpoints={"enforcement_cases": "enforcement"}),
    ])
    with CountyApiServer(list(reg.counties)) as server:
        for code in (PAGE, CURSOR, OFFSET):
            server.store.upsert(code, "enforcement_cases", records(code, 12, at(20, 9)))
        for k, v in server.env().items():
            monkeypatch.setenv(k, v)
        server.reg = reg
        yield server


def source(api, code, sleeps=None, **kw) -> HttpApiSource:
    return HttpApiSource(api.reg.county(code), sleep=sleeps or Sleeps(), **kw)


def ids(frame: pd.DataFrame) -> list[str]:
    return frame["record_id"].tolist()


@pytest.mark.parametrize("code, pages", [(PAGE, 3), (CURSOR, 3), (OFFSET, 3)])
def test_every_paging_style_reads_the_whole_window_in_order(api, code, pages):
    got = source(api, code).fetch(ENF, at(20, 0), at(21, 0))
    assert got.pages == pages
    assert ids(got.frame) == [f"ENF-{code}-{i:04d}" for i in range(12)]
    assert got.frame["_row_number"].tolist() == list(range(1, 13))
    assert set(ENF.field_names) <= set(got.frame.columns)  # API names mapped back, omitted nulls are empty


def test_values_become_contract_text(api):
    frame = source(api, PAGE).fetch(ENF, None, at(21, 0)).frame
    first = frame.iloc[0]
    assert first["is_major"] == "true" and frame.iloc[1]["is_major"] == "false"
    assert first["fine_amount"] == "1200.5" and pd.isna(frame.iloc[1]["fine_amount"])
    assert first["updated_at"] == "2026-10-20T09:00:00+08:00"
    assert pd.isna(first["case_number"]) and frame.iloc[1]["case_number"] == "许罚〔2026〕2号"


def test_window_is_half_open_on_updated_at(api):
    got = source(api, PAGE).fetch(ENF, at(20, 9, 7), at(20, 9, 28))  # records every 7 minutes from 09:00
    assert ids(got.frame) == [f"ENF-{PAGE}-{i:04d}" for i in (1, 2, 3)]
    assert source(api, PAGE).fetch(ENF, at(22, 0), at(23, 0)).frame.empty


def test_empty_window_is_an_empty_batch_with_contract_columns(api):
    got = source(api, CURSOR).fetch(ENF, at(1, 0), at(2, 0))
    assert got.frame.empty and got.pages == 1
    assert list(got.frame.columns) == ["_row_number", *ENF.field_names]


def test_token_comes_from_the_airflow_connection(api, monkeypatch):
    monkeypatch.setenv(connection_env(f"county_{PAGE}_api"), api.connection(PAGE, token="not-the-token"))
    with pytest.raises(SourceAuthError) as e:
        source(api, PAGE).fetch(ENF, None, at(21, 0))
    assert "not-the-token" not in str(e.value) and "county_411002_api" in e.value.todo
    monkeypatch.delenv(connection_env(f"county_{PAGE}_api"))
    with pytest.raises(SourceConfigError, match="AIRFLOW_CONN_COUNTY_411002_API"):
        source(api, PAGE).fetch(ENF, None, at(21, 0))


# --- faults -------------------------------------------------------------------------------------------------


def test_flaky_5xx_are_retried_with_backoff(api):
    api.set_fault(PAGE, "flaky_500", times=2)
    sleeps = Sleeps()
    got = source(api, PAGE, sleeps).fetch(ENF, None, at(21, 0))
    assert len(got.frame) == 12
    statuses = [s for _, _, s in api.requests_of(PAGE)]
    assert statuses.count(200) == 3 and statuses.count(500) + statuses.count(502) + statuses.count(503) == 6
    assert len(sleeps.waits) == 6 and all(0 < w <= 0.05 for w in sleeps.waits)


def test_persistent_500_ends_as_unavailable_after_the_retries(api):
    api.set_fault(CURSOR, "error_500")
    with pytest.raises(SourceUnavailable, match="HTTP 500.*3 attempt"):
        source(api, CURSOR).fetch(ENF, None, at(21, 0))
    assert len(api.requests_of(CURSOR)) == 3  # 1 + retries: 2


def test_slow_responses_time_out_and_end_as_unavailable(api, tmp_path):
    reg = registry(tmp_path, [api_entry(PAGE, timeout={"connect": 1, "read": 0.2}, retries=1)])
    api.set_fault(PAGE, "slow", delay=0.6)
    with pytest.raises(SourceUnavailable, match="timeout.*0.2s read.*2 attempt"):
        HttpApiSource(reg.county(PAGE), sleep=Sleeps()).fetch(ENF, None, at(21, 0))


def test_network_error_is_retried_then_unavailable(api, tmp_path, monkeypatch):
    api.stop()  # nothing listens on the port any more
    sleeps = Sleeps()
    with pytest.raises(SourceUnavailable, match="connection error"):
        source(api, PAGE, sleeps).fetch(ENF, None, at(21, 0))
    assert len(sleeps.waits) == 2


def test_429_waits_as_long_as_retry_after_says(api):
    api.set_fault(PAGE, "rate_limit", times=2, retry_after=3)
    sleeps = Sleeps()
    got = source(api, PAGE, sleeps).fetch(ENF, None, at(21, 0))
    assert len(got.frame) == 12 and sleeps.waits == [3.0, 3.0]


def test_429_asking_for_too_long_a_wait_gives_up_at_once(api):
    api.set_fault(CURSOR, "rate_limit_hard")
    sleeps = Sleeps()
    with pytest.raises(SourceRateLimited, match="Retry-After 3600s"):
        source(api, CURSOR, sleeps).fetch(ENF, None, at(21, 0))
    assert sleeps.waits == [] and len(api.requests_of(CURSOR)) == 1


@pytest.mark.parametrize("fault, status", [("auth", 401), ("forbidden", 403)])
def test_401_and_403_fail_clearly_without_retrying(api, fault, status):
    api.set_fault(OFFSET, fault)
    with pytest.raises(SourceAuthError, match=f"HTTP {status}"):
        source(api, OFFSET).fetch(ENF, None, at(21, 0))
    assert len(api.requests_of(OFFSET)) == 1


@pytest.mark.parametrize("code", [PAGE, CURSOR])
def test_malformed_json_is_rejected_with_the_bytes_as_evidence(api, code):
    api.set_fault(code, "malformed_json")
    with pytest.raises(MalformedResponse, match="not valid JSON") as e:
        source(api, code).fetch(ENF, None, at(21, 0))
    assert e.value.status == "rejected" and e.value.rule == "source.malformed_response"
    assert e.value.evidence and not e.value.evidence.rstrip().endswith(b"}")


@pytest.mark.parametrize("code, message", [(PAGE, "page 3: the page vanished .HTTP 404"),
                                           (CURSOR, "the page vanished .HTTP 410"),
                                           (OFFSET, "the page vanished .HTTP 404")])
def test_a_vanished_page_is_an_inconsistent_sequence_read_twice_then_rejected(api, code, message):
    api.set_fault(code, "vanishing_page")
    with pytest.raises(PageSequenceError, match=message):
        source(api, code).fetch(ENF, None, at(21, 0))
    assert [s for _, _, s in api.requests_of(code)].count(200) == 4  # the window was read twice (2 pages each)


def test_a_single_page_that_vanishes_is_a_truncated_sequence(api):
    api.set_fault(PAGE, "vanishing_page")
    with pytest.raises(PageSequenceError, match="truncated.*0 of 3 records"):
        source(api, PAGE).fetch(ENF, at(20, 9), at(20, 9, 20))


def test_the_total_changing_while_paging_is_detected(api):
    calls = []

    class Meddling(requests.Session):  # the county system changes a record between our page requests
        def get(self, *a, **kw):
            calls.append(1)
            if len(calls) == 2:
                api.store.upsert(PAGE, "enforcement_cases", records(PAGE, 1, at(25, 9)))  # ENF-..-0000 leaves
            return super().get(*a, **kw)

    src = source(api, PAGE, session=Meddling())
    src.cfg = ApiConfig.from_county(api.reg.county(PAGE)).__class__(**{**src.cfg.__dict__, "consistency_retries": 0})
    with pytest.raises(PageSequenceError, match="total changed from 12 to 11"):
        src.fetch(ENF, None, at(21, 0))


def test_consistency_retry_reads_the_window_again(api):
    calls = []

    class Meddling(requests.Session):
        def get(self, *a, **kw):
            calls.append(1)
            if len(calls) == 2:
                api.store.upsert(PAGE, "enforcement_cases", records(PAGE, 1, at(25, 9)))
            return super().get(*a, **kw)

    got = source(api, PAGE, session=Meddling()).fetch(ENF, None, at(21, 0))
    assert ids(got.frame) == [f"ENF-{PAGE}-{i:04d}" for i in range(1, 12)]  # a consistent second read


class Canned(requests.Session):
    """Answers from a list of (status, body) regardless of the request."""

    def __init__(self, answers):
        super().__init__()
        self.answers = list(answers)

    def get(self, url, **kw):
        status, body = self.answers.pop(0)
        r = requests.Response()
        r.status_code, r._content, r.url = status, body if isinstance(body, bytes) else json.dumps(body).encode(), url
        r.headers["Content-Type"] = "application/json"
        return r


def canned(api, code, answers) -> HttpApiSource:
    src = source(api, code, session=Canned(answers))
    return src


def rec(i, id_name="record_id", updated_name="updated_at"):
    return {id_name: f"R{i}", "county_code": CURSOR, updated_name: "2026-10-20T09:00:00+08:00"}


def test_a_cursor_that_comes_back_is_a_loop(api):
    page = {"items": [rec(1)], "next": "abc"}
    with pytest.raises(PageSequenceError, match="cursor loops"):
        canned(api, CURSOR, [(200, page), (200, {"items": [rec(2)], "next": "abc"})] * 2).fetch(ENF, None, at(21, 0))


def test_pages_repeating_records_are_inconsistent(api):
    answers = [(200, {"data": [rec(i, "id", "modified") for i in range(5)], "total": 10}),
               (200, {"data": [rec(i, "id", "modified") for i in range(4, 9)], "total": 10})] * 2
    with pytest.raises(PageSequenceError, match="repeats record 'R4'"):
        canned(api, PAGE, answers).fetch(ENF, None, at(21, 0))


@pytest.mark.parametrize("body, message", [
    ({"records": []}, "list under 'data'"), ([1, 2], "expected a JSON object"),
    ({"data": [1, 2]}, "must hold JSON objects"), (b"<html>maintenance</html>", "not valid JSON"),
    ({"data": [], "total": "many"}, "total 'many' is not a number"),
])
def test_answers_that_are_not_the_documented_json_are_malformed(api, body, message):
    with pytest.raises(MalformedResponse, match=message):
        canned(api, PAGE, [(200, body)]).fetch(ENF, None, at(21, 0))


def test_404_on_the_first_page_is_a_request_error_not_a_vanished_page(api):
    with pytest.raises(SourceRequestError, match="HTTP 404"):
        canned(api, PAGE, [(404, {"error": "no such endpoint"})]).fetch(ENF, None, at(21, 0))


def test_short_page_without_total_ends_the_offset_sequence(api):
    got = canned(api, OFFSET, [(200, {"results": [rec(i) for i in range(5)]}),
                               (200, {"results": [rec(i) for i in range(5, 7)]})]).fetch(ENF, None, at(21, 0))
    assert ids(got.frame) == [f"R{i}" for i in range(7)] and got.pages == 2


# --- config and connections --------------------------------------------------------------------------------


def test_retry_after_reads_seconds_and_http_dates():
    assert _retry_after("7") == 7.0 and _retry_after(None) is None and _retry_after("soon") is None
    assert 50 < _retry_after((pd.Timestamp.now(tz="UTC") + timedelta(minutes=1)).strftime(
        "%a, %d %b %Y %H:%M:%S GMT")) <= 60


@pytest.mark.parametrize("source_cfg, message", [
    ({"paging": "pages"}, "source.paging: 'pages' is not one of page, offset, cursor"),
    ({"colour": "red"}, "source: unknown key 'colour' for an http_api source"),
    ({"record_types": {"cases": {}}}, "source.record_types: 'cases' is not a record type"),
    ({"fields": {"record_id": "id", "county_code": "id"}}, "source: fields: enforcement_cases: record_id and "
                                                           "county_code both map to 'id'"),
    ({"record_types": {"complaints": {"fields": {"nope": "x"}}}},
     "source: record_types.complaints.fields: complaints has no field"),
    ({"timeout": {"read": "soon"}}, "source.timeout.read: 'soon' is not a duration"),
    ({"conn_id": None}, "source.conn_id: is required"),
])
def test_config_errors_stop_the_registry_load_naming_the_county_and_the_key(tmp_path, source_cfg, message):
    entry = api_entry(PAGE)
    entry["source"].update(source_cfg)
    if entry["source"].get("conn_id") is None:
        entry["source"].pop("conn_id")
    with pytest.raises(RegistryError, match=r"registry.yaml: counties\[0\] \(code 411002\): " + message):
        registry(tmp_path, [entry])


def test_connections_in_uri_and_json_form():
    c = parse_connection("http://user:s%40cret@api.example.org:8443/v1?__extra__=%7B%22token%22%3A+%22t%22%7D")
    assert (c["host"], c["port"], c["login"], c["password"], c["extra"]) == ("api.example.org", 8443, "user",
                                                                            "s@cret", {"token": "t"})
    c = parse_connection('{"conn_type": "http", "host": "h", "password": "p", "extra": "{\\"base_url\\": \\"x\\"}"}')
    assert c["password"] == "p" and c["extra"] == {"base_url": "x"}
