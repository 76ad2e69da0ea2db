"""Every page in Chromium for a city and a county login: figures equal to SQL over marts.kpi as that login,
drill-down bounded by the login's division, another county refused, no personal data, XSS shown as text, the
print view and the .xlsx. One browser for the module; screenshots under data/portal-screenshots/."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest

from supervision.portal.app import fmt, num

from .conftest import XSS, as_login, shot, sign_in, world_data

pytestmark = pytest.mark.integration
MONTH = "2026-11"
PERSONAL = (world_data.PERSON_ID, world_data.PERSON_NAME, "反映执法人员态度问题")


@pytest.fixture(scope="module")
def pages(browser, portal):
    """{scope: signed-in page} for the city and the county login (one context each)."""
    out = {s: sign_in(browser, portal, s) for s in ("city", "county")}
    yield out
    for p in out.values():
        p.context.close()


def sql_as(portal, scope):
    login, password = portal["logins"][scope]
    return as_login(portal["owner_url"], login, password)


def cells(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(selector + " tbody tr",
                                     "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))")


@pytest.mark.parametrize("scope,code", [("city", "4110"), ("county", "411002")])
def test_overview_equals_sql(pages, portal, scope, code):
    page = pages[scope]
    page.goto(f"{portal['base']}/?month={MONTH}")
    with sql_as(portal, scope) as conn:
        rows = conn.execute(
            "SELECT kpi, period_type, numerator, denominator, value, unit FROM marts.kpi WHERE division_code = %s "
            "AND ((period_type = 'month' AND period_start = '2026-11-01') OR "
            "(period_type = 'year' AND period_start = '2026-01-01'))", (code,)).fetchall()
        met = dict(((k, p), m) for k, p, m in conn.execute(
            "SELECT kpi, period_type, target_met FROM marts.kpi_vs_target WHERE division_code = %s "
            "AND period_type IN ('month', 'year') AND period_start IN ('2026-11-01', '2026-01-01')", (code,)))
    assert rows, "the world has figures for the division"
    checked = 0
    for kpi, period, n, d, v, unit in rows:
        tr = page.locator(f'#kpi-table tr[data-kpi="{kpi}"]')
        if tr.count() == 0:
            continue  # breakdowns by action type and domain are in the collapsed table
        assert tr.locator(f'[data-f="{period}-numerator"]').inner_text() == fmt(n, "yuan" if unit == "yuan" else "count")
        assert tr.locator(f'[data-f="{period}-denominator"]').inner_text() == num(d)
        assert tr.locator(f'[data-f="{period}-value"]').inner_text() == fmt(v, unit)
        want = {True: "达标", False: "未达标", None: "—"}[met.get((kpi, period))]
        assert tr.locator(f'[data-f="{period}-met"]').inner_text() == want
        checked += 1
    assert checked >= 15
    assert page.locator("svg.chart").count() == 1 and page.locator("#trend-table").count() == 1
    shot(page, f"01-overview-{scope}")


def test_drill_down_city_to_township_and_back(pages, portal):
    page = pages["city"]
    page.goto(f"{portal['base']}/drill?kpi=enforcement_acts&period=year&month={MONTH}")
    assert page.inner_text("#crumbs") == "许昌市"  # never above the login's division
    with sql_as(portal, "city") as conn:
        want = {c: (num(n) if n is not None else "0") for c, n in conn.execute(
            "SELECT d.division_code, k.numerator FROM marts.dim_division d LEFT JOIN marts.kpi k ON "
            "k.division_code = d.division_code AND k.kpi = 'enforcement_acts' AND k.period_type = 'year' "
            "AND k.period_start = '2026-01-01' WHERE d.parent_code = '4110'")}
    got = {tr.get_attribute("data-division"): tr.locator('[data-f="numerator"]').inner_text()
           for tr in page.locator("#drill-table tbody tr").all()}
    assert got == want and "410102" not in got and len(got) == 7  # Xuchang's seven counties, no Zhengzhou
    page.goto(f"{portal['base']}/drill?kpi=enforcement_acts&period=year&month={MONTH}&sort=numerator&order=desc")
    first = page.locator("#drill-table tbody tr").first.get_attribute("data-division")
    assert first == max(want, key=lambda c: int(want[c].replace(",", "")))
    page.click('#drill-table tr[data-division="411002"] a.down')
    assert page.inner_text("#crumbs") == "许昌市 › 魏都区"
    townships = [tr.get_attribute("data-division") for tr in page.locator("#drill-table tbody tr").all()]
    assert "411002001" in townships and all(t.startswith("411002") for t in townships)
    shot(page, "02-drill-city-weidu")
    page.click("#crumbs a")  # back up to the city
    assert page.inner_text("#crumbs") == "许昌市"


def test_county_cannot_go_up_or_sideways(pages, portal):
    page = pages["county"]
    page.goto(f"{portal['base']}/drill?month={MONTH}")
    assert page.inner_text("#crumbs") == "魏都区"
    shot(page, "02-drill-county")
    for url in ("/drill?division=4110", "/drill?division=41", "/drill?division=411003", "/detail?division=411003",
                "/?division=411003", "/detail?division=410102&kpi=enforcement_acts"):
        resp = page.goto(portal["base"] + url)
        assert resp.status == 403, url
        assert "无权查看" in page.inner_text("#error")
    shot(page, "06-refused-other-county")


def test_detail_records_and_xss_as_text(pages, portal):
    page = pages["county"]
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{portal['base']}/detail?kpi=enforcement_acts&period=year&month={MONTH}")
    with sql_as(portal, "county") as conn:
        total = conn.execute("SELECT count(*) FROM marts.kpi_case WHERE kpi = 'enforcement_acts' AND county_code = "
                             "'411002' AND period_date >= '2026-01-01' AND period_date < '2027-01-01'").fetchone()[0]
    assert f"共 {total} 条" in page.inner_text("#pager")
    ids = [r[1] for r in cells(page, "#detail-table")]
    assert XSS in ids  # shown as text ...
    assert page.locator("#detail-table script").count() == 0 and not dialogs  # ... never run
    page.goto(f"{portal['base']}/detail?kpi=enforcement_acts&period=year&month={MONTH}"
              f"&agency={world_data.AGENCY['411002'][0]}&date_from=2026-10-01&date_to=2026-11-30")
    with sql_as(portal, "county") as conn:
        n = conn.execute("SELECT count(*) FROM marts.kpi_case WHERE kpi = 'enforcement_acts' AND county_code = "
                         "'411002' AND period_date BETWEEN '2026-10-01' AND '2026-11-30'").fetchone()[0]
    assert f"共 {n} 条" in page.inner_text("#pager") and 0 < n < total
    shot(page, "03-detail-county")


def test_watchlist_most_urgent_first(pages, portal):
    for scope in ("city", "county"):
        page = pages[scope]
        page.goto(f"{portal['base']}/watch")
        with sql_as(portal, scope) as conn:
            want = conn.execute("SELECT days_overdue, record_id FROM marts.watchlist "
                                "ORDER BY days_overdue DESC, county_code, record_id").fetchall()
        rows = cells(page, "#watch-table")
        assert [(int(r[0]), r[4]) for r in rows] == want and want
        shot(page, f"04-watch-{scope}")


def test_submissions_calendar_alerts_scorecards(pages, portal):
    page = pages["city"]
    page.goto(f"{portal['base']}/submissions?month={MONTH}")

    def cell(county, day):
        return page.locator(f'#heat tr[data-county="{county}"] td[data-day="2026-11-{day:02d}"]').get_attribute("class")

    assert "late" in cell("411003", 5) and "on_time" in cell("411003", 6)
    assert "missing" in cell("411024", 10) and "invalid" in cell("411002", 7)
    assert page.locator('#heat tr[data-county="410102"]').count() == 0  # Zhengzhou: another city
    assert "鄢陵县" in page.inner_text("#alerts")
    cards = {r[0] for r in cells(page, "#scorecards")}
    assert {"魏都区", "建安区", "鄢陵县"} <= cards and "中原区" not in cards
    shot(page, "05-submissions-city")
    page = pages["county"]
    page.goto(f"{portal['base']}/submissions?month={MONTH}")
    assert [tr.get_attribute("data-county") for tr in page.locator("#heat tbody tr").all()] == ["411002"]
    assert "鄢陵县" not in page.inner_text("#alerts")


def test_report_print_view_and_xlsx(pages, portal):
    page = pages["city"]
    page.goto(f"{portal['base']}/report?month={MONTH}")
    tables = {t.get_attribute("data-sheet"): t for t in page.locator("table.report-table").all()}
    assert set(tables) == {"指标与目标", "下级区划", "预警", "报送"}
    shot(page, "07-report-city")
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible() and not page.locator("#print").is_visible()
    shot(page, "08-report-print-view")  # what the browser prints: no navigation, no buttons
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert pdf.startswith(b"%PDF") and len(pdf) > 2000
    page.emulate_media(media="screen")
    with page.expect_download() as dl:
        page.click("#xlsx")
    assert dl.value.suggested_filename == "monthly-report-4110-2026-11.xlsx"
    with open(dl.value.path(), "rb") as f:
        wb = openpyxl.load_workbook(io.BytesIO(f.read()))
    assert wb.sheetnames == ["指标与目标", "下级区划", "预警", "报送"]
    for name, table in tables.items():
        ws = wb[name]
        header = [c.value for c in ws[2]]
        assert header == table.locator("thead th").all_inner_texts()
        def text(c):  # as the page writes it: ratios as percentages (the cell's format), money with 2 decimals
            if c.value is None:
                return "—"
            if c.number_format == "0.0%":
                return f"{c.value * 100:.1f}%"
            return f"{c.value:.2f}" if isinstance(c.value, float) else str(c.value)

        body = [[text(c) for c in row] for row in ws.iter_rows(min_row=3)]
        page_rows = cells(page, f'table.report-table[data-sheet="{name}"]')
        if body:
            assert body == page_rows, name
        else:
            assert page_rows == [["无"]]


def test_no_personal_data_in_any_page_or_export(pages, portal):
    for scope, page in pages.items():
        for url in (f"/?month={MONTH}", f"/drill?month={MONTH}", "/watch", f"/submissions?month={MONTH}",
                    f"/report?month={MONTH}", *(f"/detail?kpi={k}&period=year&month={MONTH}" for k in
                    ("enforcement_acts", "complaints_received", "reconsideration_received", "litigation_filed"))):
            page.goto(portal["base"] + url)
            html = page.content()
            for value in PERSONAL:
                assert value not in html, (scope, url, value)
        body = page.request.get(f"{portal['base']}/report.xlsx?month={MONTH}").body()
        wb = openpyxl.load_workbook(io.BytesIO(body))
        text = " ".join(str(c) for ws in wb for row in ws.iter_rows(values_only=True) for c in row if c is not None)
        for value in PERSONAL:
            assert value not in text
        assert not re.search(r"4110\d{14}", text)  # no ID number at all


def test_township_and_province_logins(browser, portal):
    page = sign_in(browser, portal, "township")
    page.goto(f"{portal['base']}/drill?kpi=enforcement_acts&period=year&month={MONTH}")
    assert page.inner_text("#crumbs") == "西大街道" and page.locator("#no-children").count() == 1
    with sql_as(portal, "township") as conn:
        n = conn.execute("SELECT numerator FROM marts.kpi WHERE division_code = '411002001' AND kpi = "
                         "'enforcement_acts' AND period_type = 'year' AND period_start = '2026-01-01'").fetchone()[0]
    assert f"分子 {num(n)}" in page.inner_text("#mine")
    assert page.goto(f"{portal['base']}/drill?division=411002").status == 403  # its own county is above it
    page.goto(f"{portal['base']}/submissions?month={MONTH}")
    assert page.locator("#no-counties").count() == 1 and "鄢陵县" not in page.content()
    page.context.close()
    page = sign_in(browser, portal, "province")
    page.goto(f"{portal['base']}/drill?kpi=enforcement_acts&period=year&month={MONTH}")
    assert page.inner_text("#crumbs") == "河南省"
    rows = {tr.get_attribute("data-division"): tr.locator('[data-f="numerator"]').inner_text()
            for tr in page.locator("#drill-table tbody tr").all()}
    with sql_as(portal, "province") as conn:
        want = dict(conn.execute("SELECT division_code, numerator FROM marts.kpi WHERE parent_code = '41' AND kpi = "
                                 "'enforcement_acts' AND period_type = 'year' AND period_start = '2026-01-01'"))
    assert {c: rows[c] for c in want} == {c: num(n) for c, n in want.items()} and {"4110", "4101"} <= set(want)
    assert len(rows) >= 17  # every city of Henan, with or without figures
    page.context.close()


def test_city_detail_goes_county_by_county(pages, portal):
    page = pages["city"]
    page.goto(f"{portal['base']}/detail?kpi=enforcement_acts&period=year&month={MONTH}")
    with sql_as(portal, "city") as conn:
        city, = conn.execute("SELECT numerator FROM marts.kpi WHERE division_code = '4110' AND kpi = 'enforcement_acts' "
                             "AND period_type = 'year' AND period_start = '2026-01-01'").fetchone()
    parts = {tr.get_attribute("data-division"): int(tr.locator('[data-f="numerator"]').inner_text().replace(",", ""))
             for tr in page.locator("#parts-table tbody tr").all()}
    assert sum(parts.values()) == city and len(parts) == 7  # the parts sum to the city's figure
    shot(page, "03-detail-city-by-county")
    page.click('#parts-table tr[data-division="411002"] a.down')
    assert page.inner_text("#crumbs") == "许昌市 › 魏都区"
    assert f"共 {parts['411002']} 条" in page.inner_text("#pager")
