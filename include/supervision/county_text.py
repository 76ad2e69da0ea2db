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

from collections.abc import Iterable
from datetime import date
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


def is_spreadsheet(source: str | None) -> bool:
    return bool(source) and PurePosixPath(source).suffix.lower() in SPREADSHEET


def sheet_row(source: str | None, row_number: int) -> int:
    """The row a spreadsheet shows for a stored data row (header = row 1); the same number elsewhere."""
    return row_number + 1 if is_spreadsheet(source) else row_number


def row_zh(source: str | None, row_number: int | None) -> str:
    if row_number is None:
        return "整个文件"
    if is_spreadsheet(source):
        return f"第 {row_number + 1} 行"
    if source and PurePosixPath(source).suffix.lower() == ".json":
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
    fields = rule_fields(rt, rule)
    what = whole_file or rule_zh(rt, rule)
    got = ""
    if show_value:
        got = "，收到的值为空" if value is None else f"，收到的值为“{value}”"
    where = f"{county_zh(county)} {source_zh(county, source)} {row_zh(source, row_number)}"
    field_zh = f"字段 {field_list_zh(rt, fields)}：" if fields and not whole_file else ""
    en_got = f" (got {value!r})" if show_value else ""
    fix = fix_resend_file(county, source, rt) if whole_file else fix_rows(county, source)
    return (f"{where}：{field_zh}{what}（规则 {rule}）{got}。{fix}。"
            f"{GLOSS}{county_en(county)} file {source} {row_en(source, row_number)}: {rule}: {english}{en_got}")


def warning_message(county: County, rt: RecordType, source: str | None, row_number: int, rule: str, english: str,
                    value: object) -> str:
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
            f"请在报送目录中只保留一个该类数据文件后重新报送（规则 file.discover）。"
            f"{GLOSS}{county_en(county)}: {rt.name}: {problem}")


def reason_unreadable(county: County, rt: RecordType, source: str, fmt: str, error: str, kept) -> str:
    return (f"{county_zh(county)}：文件 {source} 被拒收：无法按 {fmt} 格式读取（规则 file.readable，原因：{error}）。"
            f"请导出有效的 {fmt} 文件（CSV 用 UTF-8 或 GBK 编码，GBK 须在 manifest.json 中写明 \"encoding\": \"gbk\"）"
            f"后重新报送 {source}。"
            f"{GLOSS}{county_en(county)}: file {source} rejected: unreadable as {fmt}: {error}. The bytes received are "
            f"kept at {kept}. Re-send a valid file.")


def reason_damaged(county: County, rt: RecordType, source: str, rule: str, english: str) -> str:
    return (f"{county_zh(county)}：{source_zh(county, source)}被拒收：{rule_zh(rt, rule)}（规则 {rule}）。"
            f"{fix_resend_file(county, source, rt)}。"
            f"{GLOSS}{county_en(county)}: {source} rejected: {english}. Re-send the file and its manifest line.")


def schema_zh(county: County, rt: RecordType, drift) -> str:
    """Schema drift explained: which header the contract needs, and what differs (with Chinese labels)."""
    head = {"file_drop": "第一行（表头）必须是这些字段名", "http_api": "接口返回的每条记录必须使用这些字段名",
            "database": "数据库中约定的列必须对应这些字段"}.get(county.transport, "字段名必须是")
    parts = []
    if drift.renamed:
        parts.append("疑似改名：" + "、".join(f"“{new}”应为 {rt.field(old).label}" for old, new in drift.renamed.items()))
    if drift.missing:
        parts.append("缺少：" + field_list_zh(rt, drift.missing))
    if drift.added:
        parts.append("多出（规范中没有）：" + "、".join(drift.added))
    return f"{head}（报送规范 v1，{record_zh(rt)}，顺序不限）：{field_list_zh(rt)}。" + "；".join(parts)


def reason_schema(county: County, rt: RecordType, source: str, drift) -> str:
    return (f"{county_zh(county)}：{source_zh(county, source)}被拒收：表头与报送规范不一致（规则 file.schema）。"
            f"{schema_zh(county, rt, drift)}。{fix_schema(county, source, rt)}。"
            f"{GLOSS}{county_en(county)}: {source} rejected: {drift}. Send the columns of contract v1 ({rt.name}).")


def reason_threshold(county: County, rt: RecordType, source: str, bad: int, rows: int,
                     counts: list[tuple[str, int]]) -> str:
    share = bad / rows if rows else 0.0
    top = rule_counts_zh(rt, counts[:5])
    return (f"{county_zh(county)}：{source_zh(county, source)}被拒收：{rows} 行中有 {bad} 行（{share:.0%}）不符合规则，"
            f"超过本县的拒收阈值 {county.reject_threshold:.0%}（规则 file.reject_threshold），整份文件未入库。"
            f"主要问题：{top}。{fix_rows(county, source)}，每一行的问题见隔离记录和数据中心的通知。"
            f"{GLOSS}{county_en(county)}: {source} rejected: {bad} of {rows} rows ({share:.0%}) break rules, over "
            f"the county's threshold of {county.reject_threshold:.0%}. Fix the rows and re-send the whole file.")


def reason_loaded(county: County, rt: RecordType, source: str, notes: list[str], quarantined: int,
                  counts: list[tuple[str, int]], warnings: int, warning_counts: list[tuple[str, int]],
                  english: str) -> str | None:
    """A loaded file: what was not loaded and why (None when everything loaded cleanly)."""
    if not (notes or quarantined or warnings):
        return None
    parts = []
    for n in notes:
        parts.append("未附 manifest.json（文件仍已读取）" if n.startswith("no manifest.json")
                      else "该文件未在 manifest.json 中登记" if n.endswith("is not listed in manifest.json") else n)
    if quarantined:
        parts.append(f"{quarantined} 行不符合规则，已隔离（未入库），其余行已入库：{rule_counts_zh(rt, counts)}。"
                     f"{fix_rows(county, source)}")
    if warnings:
        parts.append(f"{warnings} 条提示（相关行已入库）：{rule_counts_zh(rt, warning_counts)}")
    return f"{county_zh(county)}：{source_zh(county, source)}：" + "；".join(parts) + f"。{GLOSS}{english}"


def reason_pipeline_error(county: County, rt: RecordType, error: str) -> str:
    return (f"{county_zh(county)}：{record_zh(rt)}：数据中心处理出错（不是本县的问题），工程人员已收到通知，修复后会重新处理该日期，"
            f"本县无需操作。{GLOSS}pipeline error ({error}); the engineers are told; re-run the date after the fix")


def reason_being_loaded(county: County, source: str) -> str:
    return f"{county_zh(county)}：{source_zh(county, source)}：正在入库{GLOSS}{county_en(county)}: {source}: being loaded"


def reason_source_error(county: County, rt: RecordType, target: str, status: str, error: str, todo: str,
                        since: str, kept: str | None) -> str:
    """A pull that could not be done (``source_error``) or brought back something unusable (``rejected``)."""
    system = TRANSPORT_ZH.get(county.transport, county.transport)
    if status == "rejected":
        zh = (f"本县{system}返回的{record_zh(rt)}数据无法使用（{target}）：{error}。"
              f"{fix_resend_file(county, target, rt)}。本次未入库任何数据，上次成功的位置不变，不会丢数据")
    else:
        zh = (f"无法读取本县{system}的{record_zh(rt)}数据（{target}）：{error}。"
              f"{fix_nothing_received(county)}。上次成功的位置不变，不会丢数据")
    en = f"{county_en(county)}: {rt.name} from {target}: {error}. {todo} ({since})"
    if kept:
        en += f". What was received is kept at {kept}"
    return f"{county_zh(county)}：{zh}。{GLOSS}{en}"
