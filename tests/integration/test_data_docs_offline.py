"""Great Expectations Data Docs of a real night, read in Chromium with no way off the machine (issue 18, item 4).

A small night runs through the pipeline (simulator files, three rows of one file broken on purpose), its Data
Docs are built as the nightly run builds them, and Chromium opens the index and that file's page from file://
with every other request refused. The pages must be styled by the local Bootstrap, list the night's files, show
the ledger's received / loaded / quarantined counts, and list the failing rows of the broken rule by record_id.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date
from pathlib import Path

import pytest
import yaml

from supervision.contract import RECORD_TYPES

pytestmark = pytest.mark.integration

DAY = date(2026, 11, 20)
COUNTY = "411002"
BROKEN = "enforcement_cases"
RULE = "status.enum"
# what a reference to another host looks like in HTML or CSS (comments, xmlns and licence texts are not fetched)
REMOTE = re.compile(r"""(?:\b(?:src|href|action|data)\s*=\s*["']?|url\(\s*["']?|@import\s+["'])\s*(?:https?:)?//""",
                    re.IGNORECASE)


@pytest.fixture
def night(warehouse, tmp_path, monkeypatch):
    """One county's night through the pipeline (no Airflow), three rows of one file broken; its Data Docs built."""
    from supervision.nightly import prepare_run, run_shard
    from supervision.registry import load_registry
    from supervision.sources import ROW_NUMBER
    from supervision.sources.filereader import read_file
    from supervision.validation import build_data_docs, render_data_docs_pages
    from supervision.validation.gx_suite import _gx_context
    from supervision_dev.simulator import FaultProfile, simulate_night

    data, drop = tmp_path / "data", tmp_path / "drop"
    data.mkdir()
    drop.mkdir()
    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(data))
    for var in ("SUPERVISION_DROP_ROOT", "SUPERVISION_LAKE_ROOT", "SUPERVISION_REGISTRY"):
        monkeypatch.delenv(var, raising=False)
    _gx_context.cache_clear()
    registry_path = tmp_path / "registry.yaml"
    registry_path.write_text(yaml.safe_dump({
        "name": "docs", "defaults": {"deadline": "06:00", "transport": "file_drop", "reject_threshold": 0.2},
        "counties": [{"code": COUNTY, "contact": {"name": "数据管理员", "email": "data@county.example"}}]},
        allow_unicode=True), encoding="utf-8")
    registry = load_registry(registry_path)
    simulate_night(registry, DAY, drop, seed=7, faults=FaultProfile.none(), counties=[COUNTY])
    folder = drop / COUNTY / DAY.isoformat()
    manifest = {"county_code": COUNTY, "business_date": DAY.isoformat(), "encoding": "utf-8", "files": {}}
    for path in sorted(folder.iterdir()):  # every file as UTF-8 CSV (the pipeline's own reader reads it back)
        stem = path.name.partition(".")[0]
        if stem not in RECORD_TYPES:
            continue
        frame = read_file(path).frame.drop(columns=[ROW_NUMBER])
        path.unlink()
        if stem == BROKEN:
            frame.loc[[2, 5, 9], "status"] = "不存在的状态"  # breaks the enum rule: quarantined
        out = folder / f"{stem}.csv"
        frame.to_csv(out, index=False, encoding="utf-8")
        manifest["files"][stem] = {"rows": len(frame), "sha256": hashlib.sha256(out.read_bytes()).hexdigest()}
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")

    for shard in prepare_run(DAY, str(registry_path), str(drop), counties=[COUNTY]):
        run_shard(shard)
        render_data_docs_pages(DAY, [COUNTY])  # the county's pages of the date (load_shard renders the keys it stored, tests/unit/test_gx_shard.py)
    index = build_data_docs(DAY, [COUNTY])  # as summarize does
    cur = warehouse.execute("SELECT * FROM ops.submission_current WHERE business_date = %s AND county_code = %s",
                            (DAY, COUNTY))
    names = [d.name for d in cur.description]
    ledger = {row["record_type"]: row for row in (dict(zip(names, r, strict=True)) for r in cur)}
    quarantine = warehouse.execute(
        "SELECT q.row_number, q.record_id, q.failed_rules FROM ops.quarantine q "
        "WHERE q.submission_id = %s ORDER BY q.row_number", (ledger[BROKEN]["submission_id"],)).fetchall()
    return index, ledger, quarantine


def _offline_page(browser):
    """A browser context in which only file:// loads: every other request is refused and recorded."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    refused: list[str] = []

    def route(r):
        if r.request.url.startswith("file://"):
            r.continue_()
        else:
            refused.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    return context, context.new_page(), refused


def test_data_docs_are_usable_offline_and_agree_with_the_ledger(night, browser):
    index, ledger, quarantine = night
    site = index.parent
    assert {row["status"] for row in ledger.values()} <= {"loaded", "loaded_with_quarantine"}
    broken = ledger[BROKEN]
    assert (broken["status"], broken["rows_quarantined"]) == ("loaded_with_quarantine", 3)
    failing = [(row_number, record_id) for row_number, record_id, rules in quarantine if RULE in rules]
    assert len(failing) == 3

    # nothing in the built site points to another host (what the browser below would have fetched)
    remote = {str(p.relative_to(site)): REMOTE.findall(p.read_text(encoding="utf-8", errors="replace"))
              for p in site.rglob("*") if p.suffix in {".html", ".css"}}
    assert not {k: v for k, v in remote.items() if v}

    context, page, refused = _offline_page(browser)
    try:
        page.goto(index.as_uri(), wait_until="load")
        page.evaluate("document.fonts.ready")
        # styled by the local Bootstrap and Font Awesome; jQuery and bootstrap-table ran (they fill the index)
        assert page.evaluate("getComputedStyle(document.querySelector('.sticky-top')).position") == "sticky"
        assert page.evaluate("typeof jQuery === 'function' && typeof jQuery.fn.bootstrapTable === 'function'")
        links = set(page.eval_on_selector_all(  # bootstrap-table's rows, filled by its script from the page's data
            "tr.clickable-row[data-href]", "els => els.map(e => new URL(e.dataset.href, document.baseURI).href)"))
        # the index lists every file of the night, each linking to the page its ledger row names
        assert {Path(row["validation_ref"]).as_uri() for row in ledger.values()} <= links
        assert len(ledger) == len(RECORD_TYPES)

        page.goto(Path(broken["validation_ref"]).as_uri(), wait_until="load")
        page.evaluate("document.fonts.ready")
        # Bootstrap 4's own values (Chromium's defaults would be Times and transparent)
        assert page.evaluate("getComputedStyle(document.body).fontFamily").startswith("-apple-system")
        assert page.evaluate("getComputedStyle(document.querySelector('.alert-secondary')).backgroundColor") \
            == "rgb(226, 227, 229)"
        assert page.evaluate("""document.fonts.check('900 16px "Font Awesome 6 Free"')""")
        assert page.evaluate("getComputedStyle(document.querySelector('.fas')).fontFamily").find("Font Awesome") >= 0
        text = page.inner_text("body")
        received, loaded, quarantined = broken["rows_received"], broken["rows_loaded"], broken["rows_quarantined"]
        assert f"收到 {received} 行，入库 {loaded} 行，隔离 {quarantined} 行" in text
        assert f"received {received}, loaded {loaded}, quarantined {quarantined}" in text
        assert broken["source_file"] in text and "规则检查" in text and "Success Percent" not in text
        # the broken rule's section lists its failing rows: spreadsheet row (header = row 1) and record_id
        section = page.locator(".ge-section", has_text=RULE).filter(has=page.locator(".sv-failing-rows"))
        cells = section.locator(".sv-failing-rows tbody tr").evaluate_all(
            "rows => rows.map(r => Array.from(r.cells, c => c.innerText.trim()))")
        assert [(int(r), i) for r, i in cells] == [(row_number + 1, record_id) for row_number, record_id in failing]
        assert not refused, f"requests left the machine: {refused}"
    finally:
        context.close()


def test_the_offline_site_is_configured_through_gx_and_ships_its_assets(tmp_path, monkeypatch):
    """The site's configuration is GX's public one (great_expectations.yml), and every asset a page references is
    inside the package (the wheel ships views/ and static/)."""
    from supervision import data_docs_site
    from supervision.validation import gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    gx_suite._gx_context.cache_clear()
    ctx = gx_suite._gx_context(str(tmp_path))
    stored = yaml.safe_load((tmp_path / "gx" / "great_expectations.yml").read_text(encoding="utf-8"))
    assert stored["data_docs_sites"] == data_docs_site.site_config() == ctx.variables.data_docs_sites
    assert data_docs_site.configure(ctx) is False  # idempotent: a second process changes nothing
    head = (data_docs_site.VIEWS / "supervision_head.j2").read_text(encoding="utf-8")
    referenced = re.findall(r'static/(vendor/[^"]+)"', head)
    assert len(referenced) >= 6 and all((data_docs_site.STATIC / r).is_file() for r in referenced)
    sources = (data_docs_site.STATIC / "vendor" / "SOURCES.md").read_text(encoding="utf-8")
    for folder in {r.split("/")[1] for r in referenced}:
        assert f"`{folder}/`" in sources and list((data_docs_site.STATIC / "vendor" / folder).glob("LICENSE*"))
    # shipped: tests/integration/test_wheel.py finds every file of the package (these too) in the wheel


def test_a_full_build_points_nowhere_off_the_machine_either(tmp_path, monkeypatch):
    """Every page kind of the site (index, validation results, expectation suites) and every stylesheet copied
    into it reference only the site's own files."""
    import numpy as np

    from supervision import validation
    from supervision.validation import gx_suite

    monkeypatch.setenv("SUPERVISION_DATA_DIR", str(tmp_path))
    gx_suite._gx_context.cache_clear()
    rt = RECORD_TYPES["complaints"]
    matrix = np.ones((4, len(validation.rule_specs(rt))), dtype=np.int8)
    matrix[1, 0] = 0
    validation.run_gx_rules(matrix, rt, run_name="411002-2026-11-20-complaints-ab")
    site = validation.build_data_docs().parent  # everything: also the expectation suites' pages
    kinds = {p.relative_to(site).parts[0] for p in site.rglob("*.html")}
    assert kinds == {"index.html", "validations", "expectations"}
    remote = {str(p.relative_to(site)): REMOTE.findall(p.read_text(encoding="utf-8", errors="replace"))
              for p in site.rglob("*") if p.suffix in {".html", ".css"}}
    assert not {k: v for k, v in remote.items() if v}
    # the one-file helper's result carries its rows in meta (validation.gx_run), GX's figures labelled as rule checks
    page = next(site.glob("validations/**/*.html")).read_text(encoding="utf-8")
    assert "规则检查" in page and "文件 | File" in page and "收到 4 行" in page
