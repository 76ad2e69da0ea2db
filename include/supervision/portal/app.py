"""The portal's web application: routes, sign-in, and the pages (templates/, static/)."""

from __future__ import annotations

import calendar
import logging
import secrets
import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from supervision import labels, resources
from supervision.portal import charts, queries, xlsx
from supervision.portal.db import Database, InsecureServer
from supervision.portal.sessions import Session, SessionStore, Throttle

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
COOKIE = "sv_session"
PRE_COOKIE = "sv_signin"
KEY_RATIOS = ("head_appearance_rate", "head_appearance_rate_required", "judicial_suggestion_reply_rate",
              "legal_review_rate", "publicity_rate", "full_process_record_rate", "reconsideration_on_time_rate",
              "reconsideration_correction_rate", "litigation_loss_rate", "complaint_on_time_rate")
SORTS = {"name": "division_code", "value": "value", "numerator": "numerator", "denominator": "denominator"}
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


class Denied(Exception):
    """The supervisor's role may not see what was asked for (row-level security returned nothing)."""


def fmt(value, unit: str | None) -> str:
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{Decimal(value) * 100:.1f}%"
    if unit == "yuan":
        return f"{Decimal(value):,.2f}"
    return f"{Decimal(value):,.0f}"


def num(value) -> str:
    return "—" if value is None else f"{Decimal(value):,.0f}"


def create_app(db: Database, *, secret: bytes | None = None, idle_seconds: int = 1800, secure_cookies: bool = False,
               throttle: Throttle | None = None) -> FastAPI:
    app = FastAPI(title="行政执法监督平台", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.db = db
    store = SessionStore(secret or secrets.token_bytes(32), idle_seconds)
    app.state.sessions = store
    throttle = throttle or Throttle()
    app.state.throttle = throttle
    templates = Jinja2Templates(directory=str(HERE / "templates"))  # autoescape on for .html
    env = templates.env
    env.filters.update(fmt=fmt, num=num, label=lambda code, field: labels.value(field, code), col=labels.column)
    env.globals.update(urlencode=urlencode, labels=labels)
    env.tests["percent"] = lambda v: isinstance(v, xlsx.Percent)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def cookie_args(max_age: int | None = None) -> dict:
        return dict(httponly=True, samesite="strict", secure=secure_cookies, path="/", max_age=max_age)

    @app.middleware("http")
    async def headers(request: Request, call_next):
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers["X-Frame-Options"] = "DENY"
        if not request.url.path.startswith("/static"):
            response.headers["Cache-Control"] = "no-store"
        return response

    def render(request: Request, name: str, session: Session | None, status: int = 200, **ctx) -> HTMLResponse:
        ctx.update(request=request, session=session, scope=session.scope if session else None,
                   csrf=session.csrf if session else "", nav=request.url.path)
        return templates.TemplateResponse(request, name, ctx, status_code=status)

    def current(request: Request) -> Session | None:
        return store.get(request.cookies.get(COOKIE))

    def to_login() -> RedirectResponse:
        r = RedirectResponse("/login", status_code=303)
        r.delete_cookie(COOKIE, path="/")
        return r

    def page(handler):
        """Signed-in pages: the session, then the handler inside a transaction as the supervisor's role."""
        def wrapper(request: Request):  # sync: FastAPI runs it in its thread pool (blocking psycopg)
            session = current(request)
            if session is None:
                return to_login()
            try:
                with db.as_role(session.scope.login) as conn:
                    return handler(request, session, conn)
            except Denied as e:
                return render(request, "error.html", session, status=403, message=str(e) or "无权查看该区划的数据。")
            except ValueError as e:
                return render(request, "error.html", session, status=400, message=f"请求参数有误：{e}")
            except psycopg.errors.InsufficientPrivilege:
                store.drop(request.cookies.get(COOKIE))  # the login was dropped or lost its grant
                return to_login()
        wrapper.__name__ = handler.__name__
        return wrapper

    # ---------------------------------------------------------------- sign-in / sign-out
    @app.get("/login", response_class=HTMLResponse)
    async def login_form(request: Request):
        token = secrets.token_urlsafe(24)
        r = render(request, "login.html", None, signin_csrf=token, error=None)
        r.set_cookie(PRE_COOKIE, store.sign(token), **cookie_args(900))
        return r

    @app.post("/login")
    def login(request: Request, login: str = Form(""), password: str = Form(""), csrf: str = Form("")):
        # sync on purpose: the password check opens a connection; FastAPI runs it in its thread pool
        expected = store.unsign(request.cookies.get(PRE_COOKIE))
        if not expected or not secrets.compare_digest(expected, csrf):
            return render(request, "error.html", None, status=400, message="页面已过期，请重新打开登录页。")
        login = login.strip().lower()
        client = "ip:" + (request.client.host if request.client else "?")
        token = secrets.token_urlsafe(24)

        def again(msg: str, status: int):
            r = render(request, "login.html", None, status=status, signin_csrf=token, error=msg, login=login)
            r.set_cookie(PRE_COOKIE, store.sign(token), **cookie_args(900))
            return r

        if throttle.blocked("login:" + login, client):
            return again("登录失败次数过多，请15分钟后再试。", 429)
        try:
            scope = db.check_password(login, password)
        except InsecureServer:
            log.error("sign-in refused: the database does not check passwords for %s", login, exc_info=True)
            return again("数据库未校验口令，已拒绝登录，请联系系统管理员（docs/security.md）。", 503)
        if scope is None:
            throttle.fail("login:" + login, client)
            time.sleep(0.2)  # a little cost per wrong guess, on top of the limit
            return again("用户名或口令错误，或该账号不是本库的监督账号。", 401)
        throttle.clear("login:" + login)
        cookie, _ = store.create(scope)
        r = RedirectResponse("/", status_code=303)
        r.set_cookie(COOKIE, cookie, **cookie_args())
        r.delete_cookie(PRE_COOKIE, path="/")
        return r

    @app.post("/logout")
    def logout(request: Request, csrf: str = Form("")):
        session = current(request)
        if session and secrets.compare_digest(session.csrf, csrf):
            store.drop(request.cookies.get(COOKIE))
        elif session:
            return render(request, "error.html", session, status=400, message="页面已过期，请刷新后再退出。")
        return to_login()

    # ---------------------------------------------------------------- helpers shared by the pages
    def month_arg(request: Request, conn) -> tuple[date, date]:
        as_of = queries.as_of(conn)
        raw = request.query_params.get("month", "")
        if raw:
            try:
                y, m = (int(x) for x in raw.split("-"))
                return date(y, m, 1), as_of
            except (ValueError, TypeError):
                raise ValueError("month 应为 YYYY-MM") from None
        return as_of.replace(day=1), as_of

    def division_arg(request: Request, session: Session, conn) -> queries.Division:
        code = request.query_params.get("division") or session.scope.division_code
        d = queries.division(conn, code)
        if d is None:
            raise Denied(f"无权查看区划 {code} 的数据（不在本账号的辖区内），或该区划不存在。")
        return d

    def kpi_arg(request: Request, defs: list[dict], default: str) -> dict:
        kpi = request.query_params.get("kpi") or default
        for k in defs:
            if k["kpi"] == kpi:
                return k
        raise ValueError(f"未知指标 {kpi}")

    def period_arg(request: Request, month: date) -> tuple[str, date, date]:
        p = request.query_params.get("period", "month")
        if p == "year":
            return "year", month.replace(month=1), date(month.year + 1, 1, 1)
        if p != "month":
            raise ValueError("period 应为 month 或 year")
        return "month", month, queries.add_months(month, 1)

    def page_arg(request: Request) -> int:
        try:
            return max(1, int(request.query_params.get("page", "1")))
        except ValueError:
            raise ValueError("page 应为正整数") from None

    def overview_rows(conn, d: queries.Division, month: date) -> tuple[list[dict], list[dict]]:
        defs = queries.kpi_definitions(conn)
        figs = queries.figures(conn, d.code, month)
        tgts = queries.targets(conn)
        main, breakdown = [], []
        for k in defs:
            row = {"kpi": k["kpi"], "name": k["name_zh"], "unit": k["unit"], "family": k["family"]}
            for p in ("month", "year"):
                f = figs.get((k["kpi"], p)) or {}
                row[p] = {"numerator": f.get("numerator", 0 if k["unit"] != "ratio" else None),
                          "denominator": f.get("denominator"), "value": f.get("value"),
                          "met": f.get("target_met")}
            t = tgts.get(k["kpi"]) or {}
            tl = next((f.get("target_label") for f in (figs.get((k["kpi"], "month")), figs.get((k["kpi"], "year")))
                       if f and f.get("target_label")), t.get("target_label"))
            row["target"] = tl
            row["source"] = t.get("source")
            (breakdown if "." in k["family"] else main).append(row)
        return main, breakdown

    # ---------------------------------------------------------------- pages
    def figure_args(request: Request, session: Session, conn):
        """What a figure page (drill-down, detail) is asked about: month, division, KPI and period."""
        month, as_of = month_arg(request, conn)
        d = division_arg(request, session, conn)
        defs = queries.kpi_definitions(conn)
        k = kpi_arg(request, defs, "head_appearance_rate")
        return month, as_of, d, defs, k, period_arg(request, month)

    @app.get("/", response_class=HTMLResponse)
    @page
    def overview(request: Request, session: Session, conn):
        month, as_of = month_arg(request, conn)
        d = division_arg(request, session, conn)
        main, breakdown = overview_rows(conn, d, month)
        defs = queries.kpi_definitions(conn)
        k = kpi_arg(request, defs, "head_appearance_rate")
        series = queries.trend(conn, d.code, k["kpi"], month)
        ratio = k["unit"] == "ratio"
        target = next((float(s["target"]) for s in series if s.get("target") is not None), None)
        chart = charts.bar_chart([(f"{s['period_start']:%y-%m}", None if s["value"] is None else float(s["value"]))
                                  for s in series], ratio=ratio, target=target, title=k["name_zh"] + " 月度趋势")
        return render(request, "overview.html", session, d=d, month=month, as_of=as_of, main=main,
                      breakdown=breakdown, kpi=k, series=series, chart=chart, defs=defs,
                      crumbs=queries.breadcrumbs(conn, d))

    @app.get("/drill", response_class=HTMLResponse)
    @page
    def drill(request: Request, session: Session, conn):
        month, as_of, d, defs, k, (period, start, end) = figure_args(request, session, conn)
        rows = queries.children(conn, d.code, k["kpi"], period, start)
        sort = request.query_params.get("sort", "name")
        if sort not in SORTS:
            raise ValueError("sort 应为 name、value、numerator 或 denominator")
        desc = request.query_params.get("order") == "desc"
        key = SORTS[sort]
        rows.sort(key=lambda r: (r[key] is None, r[key] if r[key] is not None else 0), reverse=False)
        if desc:
            rows = [r for r in rows if r[key] is not None][::-1] + [r for r in rows if r[key] is None]
        mine = queries.figures(conn, d.code, month).get((k["kpi"], period))
        return render(request, "drill.html", session, d=d, month=month, as_of=as_of, kpi=k, defs=defs,
                      period=period, rows=rows, sort=sort, desc=desc, mine=mine, crumbs=queries.breadcrumbs(conn, d))

    @app.get("/detail", response_class=HTMLResponse)
    @page
    def detail(request: Request, session: Session, conn):
        month, as_of, d, defs, k, (period, start, end) = figure_args(request, session, conn)
        agency = request.query_params.get("agency", "").strip()[:100]
        dfrom = _date(request.query_params.get("date_from"))
        dto = _date(request.query_params.get("date_to"))
        pg = page_arg(request)
        if d.level in ("province", "city"):
            # A province's or city's records are every county's: listed county by county (a record list over a
            # province-year takes tens of seconds to compute, docs/benchmarks.md); the parts sum to the figure.
            parts = queries.children(conn, d.code, k["kpi"], period, start)
            mine = queries.figures(conn, d.code, month).get((k["kpi"], period))
            return render(request, "detail_parts.html", session, d=d, month=month, as_of=as_of, kpi=k, defs=defs,
                          period=period, parts=parts, mine=mine, agency=agency, date_from=dfrom, date_to=dto,
                          crumbs=queries.breadcrumbs(conn, d))
        total, rows = queries.cases(conn, d, k["kpi"], k["record_type"], start, end, agency=agency, date_from=dfrom,
                                    date_to=dto, page=pg)
        pages = max(1, -(-total // queries.PAGE_SIZE))
        return render(request, "detail.html", session, d=d, month=month, as_of=as_of, kpi=k, defs=defs,
                      period=period, rows=rows, total=total, page=pg, pages=pages, agency=agency, date_from=dfrom,
                      date_to=dto, crumbs=queries.breadcrumbs(conn, d))

    @app.get("/watch", response_class=HTMLResponse)
    @page
    def watch(request: Request, session: Session, conn):
        kind = request.query_params.get("kind", "")
        if kind and kind not in labels.VALUES["watch_kind"]:
            raise ValueError("未知预警类型")
        pg = page_arg(request)
        counts, total, rows = queries.watchlist(conn, kind, pg)
        pages = max(1, -(-total // queries.PAGE_SIZE))
        return render(request, "watch.html", session, as_of=queries.as_of(conn), counts=counts, total=total,
                      rows=rows, kind=kind, page=pg, pages=pages)

    @app.get("/submissions", response_class=HTMLResponse)
    @page
    def submissions(request: Request, session: Session, conn):
        month, as_of = month_arg(request, conn)
        counties, cells = queries.submission_days(conn, month)
        days = [date(month.year, month.month, i) for i in range(1, calendar.monthrange(month.year, month.month)[1] + 1)]
        return render(request, "submissions.html", session, month=month, as_of=as_of, counties=counties,
                      cells=cells, days=days, alerts=queries.open_alerts(conn), cards=queries.scorecards(conn, month),
                      prev=queries.add_months(month, -1), next=queries.add_months(month, 1))

    def report_tables(conn, session: Session, month: date) -> dict:
        d = queries.division(conn, session.scope.division_code)
        if d is None:
            raise Denied()
        main, _ = overview_rows(conn, d, month)
        kids = []
        below = {}
        if d.level != "township":
            for r in queries.children_many(conn, d.code, KEY_RATIOS, "month", month):
                c = below.setdefault(r["division_code"], {"name": r["division_name"]})
                if r["kpi"]:
                    c[r["kpi"]] = r
            kids = sorted(below.items())
        counts = queries.watch_counts(conn)
        return {"d": d, "main": main, "children": kids, "watch": counts, "cards": queries.scorecards(conn, month)}

    def report_sheets(t: dict, month: date) -> list[tuple[str, list[str], list[list]]]:
        names = {r["kpi"]: r["name"] for r in t["main"]}
        overview = [[r["name"], r["target"],
                     _cell(r["month"]["numerator"]), _cell(r["month"]["denominator"]),
                     _cell(r["month"]["value"], r["unit"] == "ratio"), _met(r["month"]["met"]),
                     _cell(r["year"]["numerator"]), _cell(r["year"]["denominator"]),
                     _cell(r["year"]["value"], r["unit"] == "ratio"), _met(r["year"]["met"])] for r in t["main"]]
        kids = [[code, c["name"]] + [_cell((c.get(k) or {}).get("value"), True) for k in KEY_RATIOS]
                for code, c in t["children"]]
        watch = [[labels.value("watch_kind", k), n] for k, n in sorted(t["watch"].items())]
        cards = [[c["county_code"], c["county_name"], c["business_days"], c["on_time_days"], c["valid_days"],
                  c["late_days"], _cell(c["on_time_valid_share"], True), c["alerts_unresolved"]] for c in t["cards"]]
        return [
            ("指标与目标", ["指标", "目标", "本月分子", "本月分母", "本月数值", "本月达标", "本年分子", "本年分母",
                        "本年数值", "本年达标"], overview),
            ("下级区划", ["区划代码", "区划"] + [names.get(k, k) for k in KEY_RATIOS], kids),
            ("预警", ["预警类型", "件数"], watch),
            ("报送", ["县级区划代码", "县（市、区）", "应报天数", "按时天数", "合格天数", "迟报天数", "按时合格率",
                    "未解决预警"], cards),
        ]

    @app.get("/report", response_class=HTMLResponse)
    @page
    def report(request: Request, session: Session, conn):
        month, as_of = month_arg(request, conn)
        t = report_tables(conn, session, month)
        return render(request, "report.html", session, month=month, as_of=as_of, sheets=report_sheets(t, month),
                      d=t["d"])

    @app.get("/report.xlsx")
    @page
    def report_xlsx(request: Request, session: Session, conn):
        month, as_of = month_arg(request, conn)
        t = report_tables(conn, session, month)
        title = f"{t['d'].name} {month:%Y年%m月} 行政执法监督月报（数据截至 {as_of}）"
        body = xlsx.workbook(title, report_sheets(t, month))
        fname = f"monthly-report-{t['d'].code}-{month:%Y-%m}.xlsx"
        return Response(body, media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{fname}"'})

    @app.get("/healthz")
    async def healthz():
        return {"ok": True}

    return app


def _date(raw: str | None) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError("日期应为 YYYY-MM-DD") from None


def _cell(v, ratio: bool = False):
    """Numbers stay numbers in the workbook; a ratio is a fraction formatted as a percentage."""
    if v is None:
        return None
    if ratio:
        return xlsx.Percent(v)
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def _met(v) -> str:
    return labels.value("target_met", "none" if v is None else str(bool(v)).lower())


def app_from_env() -> FastAPI:
    """For ``uvicorn supervision.portal.app:app_from_env --factory``: the same set-up as ``supervision portal``."""
    from supervision.portal.run import build_database

    return create_app(build_database(), secret=_secret(),
                      secure_cookies=resources.variables().portal_secure_cookies)


def _secret() -> bytes | None:
    raw = resources.variables().portal_secret
    return raw.get_secret_value().encode() if raw else None
