"""What a county data owner reads: ledger reasons, quarantine messages, alert notifications and the daily notice
of quarantined rows. Chinese first (an English gloss for engineers may follow after `` | EN: ``), naming the
county, the file, the row as a spreadsheet shows it, the field with its Chinese label and the rule id, and what
to send, matched to the county's transport (file drop, HTTP API, database: docs/sources.md). Never SQL or CLI:
those are for the engineers' messages.

Row numbers: the warehouse stores the 1-based *data* row (``ops.quarantine.row_number`` = the landed
``_row_number`` = ``core.*._source_row``, header excluded), because reconcile and resolve_quarantine compare them
and JSON and API batches have no header. Only the text turns it into what the county sees: in a CSV or XLSX
file the header is row 1, so data row n is spreadsheet row n + 1; in JSON it is the n-th object of the array;
in an API or database pull the n-th record of the pull.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from functools import lru_cache
from pathlib import PurePosixPath

from supervision.contract import RECORD_TYPES, RecordType, rule_fields, rule_zh
from supervision.registry import County

GLOSS = " | EN: "  # what follows is the English gloss for engineers
SPREADSHEET = (".csv", ".xlsx", ".xls", ".txt")
TRANSPORT_ZH = {"file_drop": "文件报送目录", "http_api": "HTTP 接口", "database": "数据库直连"}


# ---------------------------------------------------------------------------------------------- names


def county_zh(county: County) -> str:
    return f"{county.code} {county.name}（{county.city_name}）"


def county_en(county: County) -> str:
    return f"county {county.code} {county.name} ({county.city_name})"


def record_zh(rt: RecordType | str) -> str:
    rt = RECORD_TYPES[rt] if isinstance(rt, str) else rt
    return f"{rt.zh}（{rt.name}）"


def shown(source: str | None) -> str | None:
    """A source reference as a county reads it: a database pull is described as ``SELECT <table> (<conn>) <window>``
    in the ledger; the county is shown ``table <table> ...`` (no SQL in what it receives)."""
    return "table " + source[len("SELECT "):] if source and source.startswith("SELECT ") else source


@lru_cache(maxsize=4096)
def _suffix(source: str | None) -> str:
    return PurePosixPath(source).suffix.lower() if source else ""


def is_spreadsheet(source: str | None) -> bool:
    return _suffix(source) in SPREADSHEET


def sheet_row(source: str | None, row_number: int) -> int:
    """The row a spreadsheet shows for a stored data row (header = row 1); the same number elsewhere."""
    return row_number + 1 if is_spreadsheet(source) else row_number


def row_zh(source: str | None, row_number: int | None) -> str:
    if row_number is None:
        return "整个文件"
    if is_spreadsheet(source):
        return f"第 {row_number + 1} 行"
    if _suffix(source) == ".json":
        return f"第 {row_number} 条记录（数组中的第 {row_number} 个对象）"
    return f"第 {row_number} 条记录"


def row_en(source: str | None, row_number: int | None) -> str:
    if row_number is None:
        return "the whole file"
    if is_spreadsheet(source):
        return f"row {row_number + 1}"
    return f"record {row_number}"


def source_zh(county: County, source: str | None) -> str:
    if county.transport == "file_drop":
        return f"文件 {source}"
    return f"本县{TRANSPORT_ZH.get(county.transport, county.transport)}的数据（{source}）"


def field_list_zh(rt: RecordType, names: Iterable[str] | None = None) -> str:
    names = list(rt.field_names if names is None else names)
    return "、".join(rt.field(n).label if n in rt.field_names else n for n in names)


# ---------------------------------------------------------------------------------------------- what to send


def _whole(county: County) -> str:
    return "整份文件" if county.transport == "file_drop" else "本次拉取的整批数据"


def fix_rows(county: County, source: str | None) -> str:
    """What to do about rows that break rules."""
    if county.transport == "file_drop":
        return (f"请在本县系统中更正这些行，然后重新报送整份文件 {source}（并更新 manifest.json 中该文件的行数和 sha256）；"
                "更正后的行入库后，隔离记录自动标记为已解决")
    return ("请在本县业务系统中更正这些记录并保存（更新时间 updated_at 随之变化），下一次夜间拉取会自动取回更正后的记录，"
            "无需另行报送")


def fix_resend_file(county: County, source: str | None, rt: RecordType) -> str:
    if county.transport == "file_drop":
        return f"请重新报送 {source}，并在 manifest.json 中登记该文件的实际行数和 sha256"
    return (f"请检查本县{TRANSPORT_ZH[county.transport]}返回的{record_zh(rt)}数据并修正，"
            "下一次夜间拉取会自动重新获取，无需另行报送")


def fix_schema(county: County, source: str | None, rt: RecordType) -> str:
    if county.transport == "file_drop":
        return f"请按上述字段名导出后重新报送整份文件 {source}"
    if county.transport == "http_api":
        return "请让接口按上述字段名返回数据，下一次夜间拉取会自动重新获取"
    return "请按上述字段核对数据库中的表和列（及登记的字段映射），修正后下一次夜间拉取会自动重新获取"


def fix_nothing_received(county: County, business_date: date | None = None, record_type: str | None = None) -> str:
    if county.transport == "file_drop":
        folder = f"{county.code}/{business_date.isoformat() if business_date else '<业务日期>'}/"
        if record_type:
            return (f"请把 {folder}{record_type}.csv（或 .json / .xlsx / .parquet）放入报送目录，并在 manifest.json 中登记；"
                    "当天没有数据也要报送只含表头一行的文件")
        return (f"请立即把当天的文件放入报送目录 {folder}：manifest.json，以及每类数据一个文件（"
                + "、".join(record_zh(rt) for rt in RECORD_TYPES) + "）；当天没有数据的类型也要报送只含表头一行的文件。"
                "文件由下一次夜间任务自动入库")
    return (f"请恢复本县{TRANSPORT_ZH[county.transport]}的正常访问（服务、网络、"
            + ("访问令牌" if county.transport == "http_api" else "只读账号") +
            "）；恢复后下一次夜间拉取会从上次成功的位置自动补齐，无需另行报送")


# ---------------------------------------------------------------------------------------------- quarantine rows


def row_message(county: County, rt: RecordType, source: str | None, row_number: int | None, rule: str,
                english: str, value: object = None, show_value: bool = False, whole_file: str | None = None) -> str:
    """One quarantine message: one rule broken by one row (or the whole file)."""
    key = (county.code, county.name, county.city_name, county.transport, rt.name, source, rule, english, whole_file)
    parts = _ROW_PARTS.get(key)
    if parts is None:  # what does not depend on the row, built once per file and rule (a rejected file has millions)
        if len(_ROW_PARTS) > 10_000:
            _ROW_PARTS.clear()
        parts = _ROW_PARTS[key] = _row_parts(county, rt, source, rule, english, whole_file)
    shown_source, where, body, en_where, en_rule = parts
    got = en_got = ""
    if show_value:
        got = "，收到的值为空" if value is None else f"，收到的值为“{value}”"
        en_got = f" (got {value!r})"
    return (f"{where} {row_zh(shown_source, row_number)}：{body[0]}{got}{body[1]}"
            f"{en_where} {row_en(shown_source, row_number)}{en_rule}{en_got}")


_ROW_PARTS: dict[tuple, tuple] = {}


def _row_parts(county: County, rt: RecordType, source: str | None, rule: str, english: str,
               whole_file: str | None) -> tuple:
    source = shown(source)
    what = whole_file or rule_zh(rt, rule)
    labels = [rt.field(f).label for f in rule_fields(rt, rule)]
    field_zh = f"字段 {'、'.join(labels)}：" if labels and not whole_file and not all(x in what for x in labels) else ""
    fix = fix_resend_file(county, source, rt) if whole_file else fix_rows(county, source)
    return (source, f"{county_zh(county)} {source_zh(county, source)}", (f"{field_zh}{what}（规则 {rule}）", f"。{fix}。"),
            f"{GLOSS}{county_en(county)} file {source}", f": {rule}: {english}")


def warning_message(county: County, rt: RecordType, source: str | None, row_number: int, rule: str, english: str,
                    value: object) -> str:
    source = shown(source)
    where = f"{county_zh(county)} {source_zh(county, source)} {row_zh(source, row_number)}"
    return (f"{where}：提示（该行已入库）：{rule_zh(rt, rule)}（规则 {rule}），收到的值为“{value}”。请核对该关联记录是否已报送。"
            f"{GLOSS}{county_en(county)} file {source} {row_en(source, row_number)}: {rule}: {english} (got {value!r})")


def rule_counts_zh(rt: RecordType, counts: Iterable[tuple[str, int]]) -> str:
    return "；".join(f"{rule_zh(rt, r)}（规则 {r}）{n} 行" for r, n in counts)


# ---------------------------------------------------------------------------------------------- ledger reasons


def reason_late(county: County, rt: RecordType, business_date: date, deadline) -> str:
    return (f"{county_zh(county)}：截至报送期限 {deadline:%Y-%m-%d %H:%M}（北京时间），未收到 {business_date} 的数据"
            f"（报送目录 {county.code}/{business_date} 不存在）。{fix_nothing_received(county, business_date)}。"
            f"{GLOSS}{county_en(county)}: nothing received for {business_date} (folder {county.code}/{business_date} "
            f"absent; deadline {deadline:%Y-%m-%d %H:%M} Asia/Shanghai).")


def reason_missing(county: County, rt: RecordType, business_date: date, listed: bool) -> str:
    also = "，虽然 manifest.json 中登记了该文件" if listed else ""
    return (f"{county_zh(county)}：未收到 {business_date} 的{record_zh(rt)}文件{also}。"
            f"{fix_nothing_received(county, business_date, rt.name)}。"
            f"{GLOSS}{county_en(county)}: no {rt.name} file for {business_date}"
            + (" although the manifest lists one" if listed else "")
            + ". A day with nothing to report still needs a file with just the header line.")


def reason_folder_problem(county: County, rt: RecordType, problem: str) -> str:
    return (f"{county_zh(county)}：{record_zh(rt)}：{rule_zh(rt, 'file.discover')}：{problem}。"
            f"请在报送目录中只保留一个该类数据文件（且为普通文件）后重新报送。"
            f"{GLOSS}{county_en(county)}: {rt.name}: {problem}")


def reason_unreadable(county: County, rt: RecordType, source: str, fmt: str, error: str, kept) -> str:
    return (f"{county_zh(county)}：文件 {source} 被拒收：无法按 {fmt} 格式读取（规则 file.readable，原因：{error}）。"
            f"请导出有效的 {fmt} 文件（CSV 用 UTF-8 或 GBK 编码，GBK 须在 manifest.json 中写明 \"encoding\": \"gbk\"）"
            f"后重新报送 {source}。"
            f"{GLOSS}{county_en(county)}: file {source} rejected: unreadable as {fmt}: {error}. The bytes received are "
            f"kept at {kept}. Re-send a valid file.")


def reason_damaged(county: County, rt: RecordType, source: str, rule: str, english: str) -> str:
    source = shown(source)
    return (f"{county_zh(county)}：{source_zh(county, source)}被拒收：{rule_zh(rt, rule)}（规则 {rule}）。"
            f"{fix_resend_file(county, source, rt)}。"
            f"{GLOSS}{county_en(county)}: {source} rejected: {english}. Re-send the file and its manifest line.")


def schema_zh(county: County, rt: RecordType, drift) -> str:
    """Schema drift explained: which header the contract needs, and what differs (with Chinese labels)."""
    head = {"file_drop": "第一行（表头）必须是这些字段名", "http_api": "接口返回的每条记录必须使用这些字段名",
            "database": "数据库中约定的列必须对应这些字段"}.get(county.transport, "字段名必须是")
    def names(fields: Iterable[str]) -> str:  # the name to write first: it is what the header holds
        return "、".join(f"{n}（{rt.field(n).zh}）" for n in fields)

    parts = []
    if drift.renamed:
        parts.append("疑似改名：" + "、".join(f"“{new}”应为 {names([old])}" for old, new in drift.renamed.items()))
    if drift.missing:
        parts.append("缺少：" + names(drift.missing))
    if drift.added:
        parts.append("多出（规范中没有）：" + "、".join(drift.added))
    return f"{head}（报送规范 v1，{record_zh(rt)}，顺序不限）：{names(rt.field_names)}。" + "；".join(parts)


def reason_schema(county: County, rt: RecordType, source: str, drift) -> str:
    source = shown(source)
    return (f"{county_zh(county)}：{source_zh(county, source)}被拒收：表头与报送规范不一致（规则 file.schema）。"
            f"{schema_zh(county, rt, drift)}。{fix_schema(county, source, rt)}。"
            f"{GLOSS}{county_en(county)}: {source} rejected: {drift}. Send the columns of contract v1 ({rt.name}).")


def reason_threshold(county: County, rt: RecordType, source: str, bad: int, rows: int,
                     counts: list[tuple[str, int]]) -> str:
    source = shown(source)
    share = bad / rows if rows else 0.0
    top = rule_counts_zh(rt, counts[:5])
    return (f"{county_zh(county)}：{source_zh(county, source)}被拒收：{rows} 行中有 {bad} 行（{share:.0%}）不符合规则，"
            f"超过本县的拒收阈值 {county.reject_threshold:.0%}（规则 file.reject_threshold），{_whole(county)}未入库。"
            f"主要问题：{top}。{fix_rows(county, source)}，每一行的问题见隔离记录和数据中心的通知。"
            f"{GLOSS}{county_en(county)}: {source} rejected: {bad} of {rows} rows ({share:.0%}) break rules, over "
            f"the county's threshold of {county.reject_threshold:.0%}. Fix the rows and re-send the whole file.")


def reason_loaded(county: County, rt: RecordType, source: str, notes: list[str], quarantined: int,
                  counts: list[tuple[str, int]], warnings: int, warning_counts: list[tuple[str, int]],
                  english: str) -> str | None:
    """A loaded file: what was not loaded and why (None when everything loaded cleanly)."""
    english, source = english.replace(source, shown(source)), shown(source)
    if not (notes or quarantined or warnings):
        return None
    parts = [note_zh(n) for n in notes]
    if quarantined:
        parts.append(f"{quarantined} 行不符合规则，已隔离（未入库），其余行已入库：{rule_counts_zh(rt, counts)}。"
                     f"{fix_rows(county, source)}")
    if warnings:
        parts.append(f"{warnings} 条提示（相关行已入库）：{rule_counts_zh(rt, warning_counts)}")
    return f"{county_zh(county)}：{source_zh(county, source)}：" + "；".join(parts) + f"。{GLOSS}{english}"


_NOTES = (  # the notes the pipeline adds to a loaded file's ledger row, in Chinese (else: see the English gloss)
    (re.compile(r"^no manifest\.json"), "未附 manifest.json（文件仍已读取）"),
    (re.compile(r"is not listed in manifest\.json$"), "该文件未在 manifest.json 中登记"),
    (re.compile(r"^nothing to pull: changes before (.+) were already loaded, with business date (\S+)"),
     r"无需拉取：\1 之前的变化已随业务日期 \2 入库"),
    (re.compile(r"^catch-up: the window starts at (.+) \(loaded up to business date (\S+)\)"),
     r"补拉：本次从 \1 开始（此前已入库到业务日期 \2），也包含其后几天的变化"),
    (re.compile(r"^first \S+ pull of this county: continues from the newest record the warehouse already holds "
                r"\((.+)\)"), r"本县首次拉取：从仓库中已有的最新记录（\1）开始"),
    (re.compile(r"^the landed batch of the earlier pull .* is gone"), "之前拉取的数据已不在，本次重新拉取了同一时间段"),
)


def note_zh(note: str) -> str:
    for pattern, zh in _NOTES:
        if m := pattern.search(note):
            return m.expand(zh)
    return "数据中心另有说明（见英文部分）"


def reason_pipeline_error(county: County, rt: RecordType, error: str) -> str:
    return (f"{county_zh(county)}：{record_zh(rt)}：数据中心处理出错（不是本县的问题），工程人员已收到通知，修复后会重新处理该日期，"
            f"本县无需操作。{GLOSS}pipeline error ({error}); the engineers are told; re-run the date after the fix")


def reason_our_config(county: County, english: str) -> str:
    """Our side is misconfigured (registry entry, Airflow connection): the county need not act."""
    return (f"{county_zh(county)}：数据中心的接入配置有误（不是本县的问题），工程人员修正后会重新拉取该日期，本县无需操作。"
            f"{GLOSS}{english}")


def reason_being_loaded(county: County, source: str) -> str:
    source = shown(source)
    return f"{county_zh(county)}：{source_zh(county, source)}：正在入库{GLOSS}{county_en(county)}: {source}: being loaded"


_PULL_FIX = {  # SourceError.kind -> what the county does (the engineers' part is in the English todo)
    "auth": "本县系统拒绝了数据中心的{cred}：请与数据中心核对{cred}是否过期或被更换",
    "rate_limited": "本县接口限制了访问频率：请放宽对数据中心的限流，或告知数据中心可以拉取的时段",
    "request": "本县系统拒绝了数据中心的请求（地址或参数与约定不符）：请与数据中心核对接口约定是否有变化",
}


def reason_source_error(county: County, rt: RecordType, target: str, status: str, error: str, todo: str,
                        since: str, kept: str | None, kind: str | None = None) -> str:
    """A pull that could not be done (``source_error``) or brought back something unusable (``rejected``)."""
    system = TRANSPORT_ZH.get(county.transport, county.transport)
    if status == "rejected":
        zh = (f"本县{system}返回的{record_zh(rt)}数据无法使用（{target}，规则 {_rejected_rule(kind)}）：{error}。"
              f"{fix_resend_file(county, target, rt)}。本次未入库任何数据，上次成功的位置不变，不会丢数据")
    else:
        cred = "访问令牌" if county.transport == "http_api" else "数据库账号"
        fix = _PULL_FIX[kind].format(cred=cred) if kind in _PULL_FIX else fix_nothing_received(county)
        zh = (f"无法读取本县{system}的{record_zh(rt)}数据（{target}）：{error}。"
              f"{fix}。上次成功的位置不变，恢复后下一次夜间拉取自动补齐，不会丢数据")
    en = f"{county_en(county)}: {rt.name} from {target}: {error}. {todo} ({since})"
    if kept:
        en += f". What was received is kept at {kept}"
    return f"{county_zh(county)}：{zh}。{GLOSS}{en}"


def _rejected_rule(kind: str | None) -> str:
    return {"malformed": "source.malformed_response", "page_sequence": "source.page_sequence",
            "schema": "source.schema"}.get(kind or "", "source.rejected")


# ---------------------------------------------------------------------------------------------- alerts


def _local(ts) -> str:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from supervision.settings import TIMEZONE

    if isinstance(ts, str):
        ts = datetime.fromisoformat(ts)
    return ts.astimezone(ZoneInfo(TIMEZONE)).strftime("%Y-%m-%d %H:%M") if ts else "-"


def _record_type(alert: dict) -> RecordType | None:
    return RECORD_TYPES.get(alert["record_type"])


def alert_problem(alert: dict, county: County) -> str:
    """What is wrong, in Chinese, from the alert's kind and details (alert['summary'] is the English gloss)."""
    d = alert.get("details") or {}
    kind, day, rt = alert["kind"], alert["business_date"], _record_type(alert)
    src = shown(d.get("source_file"))
    deadline = f"报送期限 {_local(d['deadline'])}（北京时间）" if d.get("deadline") else "报送期限"
    if kind == "late":
        why = f"；本县系统无法读取：{d['source_error'].split(GLOSS)[0]}" if d.get("source_error") else ""
        return f"截至{deadline}，未收到业务日期 {day} 的任何数据{why}"
    if kind == "missing":
        why = ""
        if d.get("ledger_status") == "source_error" and d.get("ledger_reason"):
            why = f"；本县系统无法读取：{d['ledger_reason'].split(GLOSS)[0]}"
        return f"截至{deadline}，未收到业务日期 {day} 的{record_zh(rt)}数据（其他类型已收到）{why}"
    if kind == "invalid":
        rows, bad = d.get("rows_received") or 0, d.get("bad_rows") or 0
        share = f"（{bad / rows:.0%}）" if rows else ""
        rules = [(r, n) for r, n in (d.get("rules") or {}).items() if not r.startswith("file.")]
        return (f"{source_zh(county, src)}中 {rows} 行有 {bad} 行{share}不符合规则，超过本县的拒收阈值 "
                f"{county.reject_threshold:.0%}（规则 file.reject_threshold），{_whole(county)}被拒收，未入库。"
                f"各规则不合格行数：{rule_counts_zh(rt, rules) if rt else rules}")
    if kind == "rejected":
        rules = [r for r in (d.get("rules") or {}) if r.startswith(("file.", "source."))]
        what = "；".join(f"{rule_zh(rt, r)}（规则 {r}）" for r in rules) if rt and rules else "被拒收"
        reason = (d.get("ledger_reason") or "").split(GLOSS)[0]
        return f"{source_zh(county, src)}被拒收：{what}。数据中心记录：{reason}" if reason else \
            f"{source_zh(county, src)}被拒收：{what}"
    if kind == "volume_anomaly":
        kind_of_day = "工作日" if d.get("day_type") == "working day" else "休息日"
        more = "明显少于" if (d.get("rows") or 0) < (d.get("median") or 0) else "明显多于"
        return (f"{source_zh(county, src)}共 {d.get('rows')} 行，{more}本县以往{kind_of_day}的通常水平"
                f"（最近 {d.get('history_days')} 个{kind_of_day}的中位数为 {d.get('median'):g} 行）")
    if kind == "stale_source":
        lo, hi = (d.get("window") or ["?", "?"])[:2]
        return (f"{lo} 至 {hi} 期间虽有 {d.get('days_with_files')} 天报送了{record_zh(rt)}，但没有任何新增或修改的记录"
                + (f"（最近一次变化在 {d['last_change']}）" if d.get("last_change") else ""))
    if kind == "chronic_late":
        late = d.get("late_dates") or []
        return f"最近 {len(d.get('window') or [])} 个业务日期中有 {len(late)} 天逾期报送：{'、'.join(late)}"
    return alert["summary"]


def alert_fix(alert: dict, county: County) -> str:
    """What the county should do, matched to its transport; never SQL or CLI."""
    d = alert.get("details") or {}
    kind, day, rt = alert["kind"], alert["business_date"], _record_type(alert)
    src = shown(d.get("source_file"))
    pull = county.transport != "file_drop"
    if kind == "late":
        return fix_nothing_received(county, day)
    if kind == "missing":
        return fix_nothing_received(county, day, alert["record_type"])
    if kind == "invalid":
        return fix_rows(county, src) + "。不合格的行见下文"
    if kind == "rejected":
        rules = set(d.get("rules") or {})
        if "file.schema" in rules and rt:
            return schema_zh(county, rt, _NoDrift()) + "。" + fix_schema(county, src, rt)
        if "file.readable" in rules:
            return (f"请导出有效的文件（CSV 用 UTF-8 或 GBK 编码，GBK 须在 manifest.json 中写明 \"encoding\": \"gbk\"；"
                    f"JSON 为对象数组；XLSX 数据放在第一个工作表）后重新报送 {src}")
        if rt:
            return fix_resend_file(county, src, rt)
    if kind == "volume_anomaly":
        if pull:
            return ("请核对本县系统中该类记录是否都已录入、能被接口或数据库查到；如数量属实，请回复市级监督人员说明情况")
        return (f"请核对导出是否完整（日期范围、筛选条件、分页），如有遗漏请重新报送整份文件 {src}；"
                "如数量属实，请回复市级监督人员说明情况")
    if kind == "stale_source":
        return ("请检查本县系统的导出或接口是否包含新增和修改的记录（更新时间 updated_at、筛选条件），并补报遗漏的变化；"
                "如确实没有变化，请告知监督人员")
    if kind == "chronic_late":
        return "请把本县的导出安排在报送期限之前完成；如确实无法按时，请向省级申请调整报送期限或延期"
    return alert["fix"]


class _NoDrift:
    """Schema text without a known difference (the alert only knows the rule): the header the contract needs."""

    renamed: dict = {}
    missing: list = []
    added: list = []


def closes_zh(kind: str, county: County) -> str:
    return {
        "late": "收到本县当天的数据后", "missing": "收到该类数据后", "stale_source": "收到有变化的记录后",
        "chronic_late": "逾期天数降到阈值以下后",
    }.get(kind, "更正后的数据成功入库后")


def bad_row_lines(rt: RecordType, rows: list[dict], total: int) -> list[str]:
    """The first quarantined rows: spreadsheet row, record id, each rule with its field, Chinese text and value."""
    lines = []
    for q in rows:
        raw = q.get("raw_row") or {}
        rid = f"（记录标识 {q['record_id']}）" if q.get("record_id") else "（无记录标识）"
        parts = []
        for r in q["failed_rules"]:
            if r.startswith("file."):
                continue
            fields = rule_fields(rt, r)
            if len(fields) == 1:  # the rule itself is explained above: here the field and what was sent
                value = raw.get(fields[0])
                got = "为空" if value is None else f"收到的值为“{value}”"
                parts.append(f"{rt.field(fields[0]).label}{got}（规则 {r}）")
            else:
                parts.append(f"{rule_zh(rt, r)}（规则 {r}）")
        lines.append(f"  - {row_zh(q.get('source_file'), q['row_number'])}{rid}：" + "；".join(parts or ["见上"]))
    if total > len(rows):
        lines.append(f"  ……共 {total} 行，以上为前 {len(rows)} 行")
    return lines


def alert_county_body(alert: dict, county: County, rows: list[dict] | None = None, total_rows: int = 0) -> list[str]:
    """The Chinese lines of an alert as the county reads it."""
    from supervision import divisions

    rt = _record_type(alert)
    d = alert.get("details") or {}
    province = (divisions.division(county.province_code) or {}).get("name", county.province_code)
    lines = [f"县（区）：{county.code} {county.name}（{county.city_name}，{province}）",
             f"业务日期：{alert['business_date']}" + (f"　数据类型：{record_zh(rt)}" if rt else ""),
             f"报送方式：{TRANSPORT_ZH.get(county.transport, county.transport)}"]
    if d.get("source_file"):
        lines.append(f"{'文件' if county.transport == 'file_drop' else '数据来源'}：{shown(d['source_file'])}")
    lines += [f"问题：{alert_problem(alert, county)}", f"需要您做的：{alert_fix(alert, county)}"]
    if rows and rt:
        lines.append("不合格的行（表格中的行号，表头为第 1 行）：" if is_spreadsheet(d.get("source_file"))
                     else "不合格的记录：")
        lines += bad_row_lines(rt, rows, total_rows)
    if d.get("deadline") and alert["kind"] in ("late", "missing"):
        lines.append(f"报送期限：{_local(d['deadline'])}（北京时间）")
    lines.append(f"提醒编号 #{alert['alert_id']}，{_local(alert['opened_at'])} 发出；{closes_zh(alert['kind'], county)}自动关闭。")
    return lines


def alert_county_title(alert: dict, county: County | None, kind_zh: str, kind_en: str, prefix: str = "") -> str:
    rt = _record_type(alert)
    who = f"{county.code} {county.name}" if county else str(alert.get("county_code"))
    what = f" {record_zh(rt)}" if rt else ""
    return f"{prefix}[{kind_zh}] {who}{what}，业务日期 {alert['business_date']} | {kind_en}"


# ---------------------------------------------------------------------------------------------- daily notice


def quarantine_notice(county: County, today: date, files: list[dict]) -> tuple[str, str]:
    """The county's daily notice of rows quarantined under the threshold (the rest of each file loaded).

    ``files``: dicts with business_date, record_type, source_file, rows_received, rows_quarantined, rules
    [(rule, rows)], rows (the first quarantined rows: row_number, record_id, raw_row, failed_rules, source_file)."""
    total = sum(f["rows_quarantined"] for f in files)
    title = (f"[数据隔离日报] {county.code} {county.name}：{len(files)} 个文件共 {total} 行未入库，请更正后重新报送"
             f" | daily notice of quarantined rows, {today}")
    lines = [f"县（区）：{county_zh(county)}　报送方式：{TRANSPORT_ZH.get(county.transport, county.transport)}",
             f"以下数据已入库，但其中 {total} 行不符合报送规范，被隔离、未入库（未超过拒收阈值，所以没有单独的提醒）。"]
    for f in files:
        rt = RECORD_TYPES[f["record_type"]]
        lines += ["", f"业务日期 {f['business_date']}　{record_zh(rt)}　{source_zh(county, f['source_file'])}：",
                  f"  共 {f['rows_received']} 行，{f['rows_quarantined']} 行被隔离，"
                  f"{f['rows_received'] - f['rows_quarantined']} 行已入库。",
                  "  各规则不合格行数：" + rule_counts_zh(rt, f["rules"]),
                  "  前几行（" + ("表格中的行号，表头为第 1 行" if is_spreadsheet(f["source_file"]) else "记录序号") + "）："]
        lines += ["  " + x for x in bad_row_lines(rt, f["rows"], f["rows_quarantined"])]
        lines.append(f"  需要您做的：{fix_rows(county, f['source_file'])}。")
    lines += ["", "每天汇总发送一次；已更正并入库的行不再出现。",
              f"{GLOSS}{county_en(county)}: {total} quarantined row(s) in {len(files)} loaded file(s); "
              "correct them and re-send (file drop) or correct them in the county system (API, database)."]
    return title, "\n".join(lines)
