"""The county board's pages (supervision.board) without Airflow: what a cell shows and links to, escaping of what
counties sent, the sign-in gate, and the Data Docs route refusing anything outside the GX site. The board inside
Airflow's api-server, in Chromium, is tested in test_celery_stack.py."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest
from fastapi.testclient import TestClient

from supervision.board import create_app

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 22)
COUNTY = "411002"


@pytest.fixture
def ledger(warehouse, tmp_path, monkeypatch):
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    site = tmp_path / "gx" / "uncommitted" / "data_docs" / "local_site" / "validations"
    site.mkdir(parents=True)
    page = site / "complaints.html"
    page.write_text("<html>gx page</html>", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("not for the web", encoding="utf-8")
    sid = warehouse.execute(
        "INSERT INTO ops.submission (county_code, record_type, business_date, source_kind, source_file, file_sha256,"
        " rows_received, rows_loaded, rows_quarantined, status, reason, validation_ref, run_id)"
        " VALUES (%s, 'complaints', %s, 'file_drop', %s, 'ab', 3, 2, 1, 'loaded_with_quarantine',"
        " '<script>alert(1)</script>', %s, 'manual__2026-11-22__x') RETURNING submission_id",
        (COUNTY, DAY, f"{COUNTY}/{DAY}/complaints.csv", str(page))).fetchone()[0]
    warehouse.execute(
        "INSERT INTO ops.quarantine (submission_id, county_code, record_type, business_date, source_file, row_number,"
        " record_id, raw_row, failed_rules, messages) VALUES (%s, %s, 'complaints', %s, %s, 4, '<b>r1</b>', '{}',"
        " ARRAY['received_at.required'], ARRAY['第 5 行：缺少受理时间'])",
        (sid, COUNTY, DAY, f"{COUNTY}/{DAY}/complaints.csv"))
    return {"run_id": "manual__2026-11-22__x"}


def test_cells_link_to_run_log_quarantine_and_data_docs(ledger):
    app = create_app(locate_logs=lambda runs: {(r, COUNTY): 7 for r in runs})
    html = TestClient(app).get(f"/?date={DAY}").text
    assert "411002 魏都区" in html and "许昌市" in html
    assert "data-status='loaded_with_quarantine'" in html and "收 3 · 入 2 · 隔 1" in html
    assert "href='/dags/supervision_nightly/runs/manual__2026-11-22__x'" in html
    assert "/runs/manual__2026-11-22__x/tasks/load_shard/mapped/7'" in html
    assert "/county-board/data-docs/validations/complaints.html" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html, "the ledger reason is escaped"
    assert "https://" not in html and "<script" not in html, "no CDN, no JavaScript"


def test_quarantine_page_and_data_docs(ledger):
    client = TestClient(create_app())
    page = client.get("/quarantine", params={"date": DAY.isoformat(), "county": COUNTY, "type": "complaints"}).text
    assert "共 1 行未解决" in page and "第 5 行" in page and "received_at.required" in page
    assert "<b>r1</b>" not in page and "&lt;b&gt;r1&lt;/b&gt;" in page
    assert client.get("/data-docs/validations/complaints.html").text == "<html>gx page</html>"
    for evil in ("/data-docs/../../../../secret.txt", "/data-docs/%2e%2e/%2e%2e/%2e%2e/%2e%2e/secret.txt",
                 "/data-docs/validations"):
        assert client.get(evil).status_code == 404, evil
    assert client.get("/quarantine", params={"date": DAY.isoformat(), "county": "x' OR 1=1", "type": "complaints"}
                      ).status_code == 422


def test_without_a_sign_in_the_board_sends_to_airflows_login(ledger):
    async def nobody(request) -> bool:
        return False

    client = TestClient(create_app(authorize=nobody), follow_redirects=False)
    r = client.get(f"/?date={DAY}")
    assert r.status_code == 303 and r.headers["location"].startswith("/auth/login?next=")
    assert client.get("/data-docs/validations/complaints.html").status_code == 303
    assert asyncio.run(nobody(None)) is False
