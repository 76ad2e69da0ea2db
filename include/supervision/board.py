"""The engineers' county board (县区看板) inside the Airflow UI: a night as counties × record types.

Mounted in Airflow's api-server by plugins/supervision_board.py (``fastapi_apps``, at /county-board, with a link
in the UI's navigation). Each cell: the ledger's verdict as a colour, rows received / loaded / quarantined, and
links to the Airflow DAG run, the task log of the county's load_shard, its quarantined rows (a page of this app)
and its Great Expectations Data Docs page (served from the GX site by this app). Open alerts per county. Server
rendered, no JavaScript, no CDN. Reads the warehouse (SUPERVISION_WAREHOUSE_URL / the Airflow connection).

Access: Airflow's own sign-in. The plugin passes ``authorize`` (the Airflow UI's JWT cookie checked by Airflow's
auth manager); without a valid one the board redirects to Airflow's login.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

PREFIX = "/county-board"
DAG_ID = "supervision_nightly"
STATUS_ZH = {"loaded": "已入库", "loaded_with_quarantine": "部分隔离", "rejected": "拒收", "missing": "未报送",
             "late": "迟报", "source_error": "源系统错误", "failed": "处理失败", "unexpected": "异常文件"}
COLOURS = {"loaded": "#2e7d32", "loaded_with_quarantine": "#f9a825", "rejected": "#c62828", "missing": "#6d4c41",
           "late": "#ef6c00", "source_error": "#ad1457", "failed": "#b71c1c", "unexpected": "#5e35b1"}
STYLE = """
body{font-family:"Noto Sans CJK SC","WenQuanYi Micro Hei",sans-serif;margin:16px;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 6px;vertical-align:top}
th{background:#f3f3f3}td.cell{min-width:130px;border-left:6px solid var(--c)}.st{font-weight:bold;color:var(--c)}
.n{font-variant-numeric:tabular-nums}a{margin-right:6px}.alert{color:#c62828}.legend span{margin-right:12px}
"""

Authorize = Callable[[Request], Awaitable[bool]]
LocateLogs = Callable[[set[str]], dict[tuple[str, str], int]]


def _e(v) -> str:
    return html.escape("" if v is None else str(v))


def _page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{_e(title)}</title>"
                        f"<style>{STYLE}</style></head><body>{body}</body></html>")


def _site() -> Path:
    from supervision.validation import gx_root

    return (gx_root() / "gx" / "uncommitted" / "data_docs" / "local_site").resolve()


def create_app(authorize: Authorize | None = None, locate_logs: LocateLogs | None = None,
               airflow_base: str = "") -> FastAPI:
    """``authorize``: None only in tests of the pages; ``locate_logs``: {run_id} -> {(run_id, county): map_index}
    of the load_shard that processed the county (from Airflow's metadata); ``airflow_base``: the UI's URL prefix."""
    from supervision.contract import RECORD_TYPES
    from supervision.warehouse.connection import connect

    app = FastAPI(title="县区看板 county board", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def signed_in(request: Request, call_next):
        if authorize is not None and not await authorize(request):
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            back = urllib.parse.quote(here, safe="")
            return RedirectResponse(f"{airflow_base}/auth/login?next={back}", status_code=303)
        return await call_next(request)

    def run_link(run_id: str | None) -> str:
        return f"{airflow_base}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}" if run_id else ""

    @app.get("/", response_class=HTMLResponse)
    def board(day: Annotated[date | None, Query(alias="date")] = None):
        with connect() as conn:
            if day is None:
                day = conn.execute("SELECT max(business_date) FROM ops.submission").fetchone()[0]
            if day is None:
                return _page("县区看板", "<h1>县区看板</h1><p>尚无报送记录（no night loaded yet）。</p>")
            rows = conn.execute(
                "SELECT s.county_code, coalesce(d.name, s.county_code), coalesce(c.name, ''), s.record_type, s.status,"
                " s.rows_received, s.rows_loaded, s.rows_quarantined, s.run_id, s.validation_ref, s.reason"
                " FROM ops.submission_current s LEFT JOIN ref.division d ON d.code = s.county_code"
                " LEFT JOIN ref.division c ON c.code = d.city_code AND c.level = 'city'"
                " WHERE s.business_date = %s AND s.status <> 'unexpected'"
                " ORDER BY s.county_code, s.record_type", (day,)).fetchall()
            alerts = dict(conn.execute(
                "SELECT county_code, string_agg(DISTINCT kind, ', ') FROM ops.alert WHERE business_date = %s"
                " AND state <> 'resolved' AND county_code IS NOT NULL GROUP BY county_code", (day,)).fetchall())
            dates = [r[0] for r in conn.execute("SELECT DISTINCT business_date FROM ops.submission"
                                                " ORDER BY 1 DESC LIMIT 14").fetchall()]
        counties: dict[str, dict] = {}
        for code, name, city, rt, status, rec, loaded, quar, run_id, ref, reason in rows:
            c = counties.setdefault(code.strip(), {"name": name, "city": city, "cells": {}})
            c["cells"][rt] = (status, rec, loaded, quar, run_id, ref, reason)
        logs = locate_logs({cell[4] for c in counties.values() for cell in c["cells"].values() if cell[4]}) \
            if locate_logs else {}
        site = _site()
        head = "".join(f"<th>{_e(rt.zh)}<br><small>{_e(name)}</small></th>" for name, rt in RECORD_TYPES.items())
        body_rows = []
        for code, c in counties.items():
            cells = []
            for rt in RECORD_TYPES:
                cell = c["cells"].get(rt)
                if cell is None:
                    cells.append("<td class='cell' style='--c:#999'>—</td>")
                    continue
                status, rec, loaded, quar, run_id, ref, reason = cell
                links = []
                if run_id:
                    links.append(f"<a href='{_e(run_link(run_id))}'>运行</a>")
                    if (run_id, code) in logs:
                        links.append(f"<a href='{_e(run_link(run_id))}/tasks/load_shard/mapped/{logs[(run_id, code)]}'>"
                                     "日志</a>")
                if quar:
                    q = urllib.parse.urlencode({"date": day.isoformat(), "county": code, "type": rt})
                    links.append(f"<a href='{airflow_base}{PREFIX}/quarantine?{_e(q)}'>隔离行</a>")
                if ref:
                    try:
                        rel = Path(ref).resolve().relative_to(site).as_posix()
                        links.append(f"<a href='{airflow_base}{PREFIX}/data-docs/{_e(urllib.parse.quote(rel))}'>"
                                     "Data Docs</a>")
                    except ValueError:
                        pass
                colour = COLOURS.get(status, "#999")
                cells.append(f"<td class='cell' style='--c:{colour}' title='{_e(reason)}' data-status='{_e(status)}'>"
                             f"<span class='st'>{_e(STATUS_ZH.get(status, status))}</span><br>"
                             f"<span class='n'>收 {rec:,} · 入 {loaded:,} · 隔 {quar:,}</span><br>{''.join(links)}</td>")
            alert = alerts.get(code)
            body_rows.append(f"<tr data-county='{_e(code)}'><th>{_e(code)} {_e(c['name'])}<br><small>{_e(c['city'])}"
                             f"</small></th>{''.join(cells)}<td class='alert'>{_e(alert or '')}</td></tr>")
        picker = " ".join(f"<a href='{airflow_base}{PREFIX}/?date={d}'>{d}</a>" for d in dates)
        legend = "".join(f"<span style='color:{COLOURS[s]}'>■ {z}</span>" for s, z in STATUS_ZH.items())
        return _page(f"县区看板 {day}",
                     f"<h1>县区看板 · 业务日期 {day}</h1><p>{len(counties)} 个县区。其他日期：{picker}</p>"
                     f"<p class='legend'>{legend}</p><table><tr><th>县区</th>{head}<th>未关闭预警</th></tr>"
                     f"{''.join(body_rows)}</table>")

    @app.get("/quarantine", response_class=HTMLResponse)
    def quarantine(day: Annotated[date, Query(alias="date")], county: Annotated[str, Query(pattern=r"^\d{6}$")],
                   record_type: Annotated[str, Query(alias="type")], limit: Annotated[int, Query(le=1000)] = 200):
        if record_type not in RECORD_TYPES:
            raise HTTPException(404, "unknown record type")
        with connect() as conn:
            name = conn.execute("SELECT name FROM ref.division WHERE code = %s", (county,)).fetchone()
            total = conn.execute("SELECT count(*) FROM ops.quarantine WHERE business_date = %s AND county_code = %s"
                                 " AND record_type = %s AND resolved_at IS NULL", (day, county, record_type)).fetchone()[0]
            rows = conn.execute(
                "SELECT source_file, row_number, record_id, failed_rules, messages FROM ops.quarantine"
                " WHERE business_date = %s AND county_code = %s AND record_type = %s AND resolved_at IS NULL"
                " ORDER BY source_file, row_number NULLS FIRST LIMIT %s", (day, county, record_type, limit)).fetchall()
        trs = "".join(
            f"<tr><td>{_e(f)}</td><td class='n'>{'' if n is None else n + 1}</td><td>{_e(rid)}</td>"
            f"<td>{_e(', '.join(rules))}</td><td>{'<br>'.join(_e(m) for m in msgs)}</td></tr>"
            for f, n, rid, rules, msgs in rows)
        title = f"{county} {name[0] if name else ''} {RECORD_TYPES[record_type].zh} {day} 隔离行"
        return _page(title, f"<h1>{_e(title)}</h1><p><a href='{airflow_base}{PREFIX}/?date={day}'>← 看板</a> "
                            f"共 {total} 行未解决，显示前 {len(rows)} 行。行号按表格显示（表头为第 1 行）。</p>"
                            "<table><tr><th>文件</th><th>行</th><th>记录编号</th><th>规则</th><th>说明</th></tr>"
                            f"{trs}</table>")

    @app.get("/data-docs/{path:path}")
    def data_docs(path: str):
        site = _site()
        target = (site / path).resolve()
        if not target.is_relative_to(site) or not target.is_file():
            raise HTTPException(404, "not a Data Docs file")
        return FileResponse(target)

    return app
