"""The county submission contract (v1): the one place where record types, fields, types and rules live.

Everything else derives from this module: the Great Expectations suite (``validation``), the loader's
typing (``typing``), the warehouse DDL check (tests compare ``core.*`` columns to :func:`sql_type`), the
simulator and the data dictionary in ``docs/``. Changing a field is one edit here (plus a migration).
"""

from __future__ import annotations

from dataclasses import dataclass, field

CONTRACT_VERSION = "v1"

# Field types of the contract (domain reference, "Contract v1: fields").
TEXT, CODE6, CODE9, USCC, RIC, PARTY_ID, DATE, TIMESTAMP, MONEY, BOOL, ENUM = (
    "text", "code6", "code9", "uscc", "ric", "party_id", "date", "timestamp", "money", "bool", "enum",
)

_SQL_TYPES = {
    TEXT: "text", CODE6: "char(6)", CODE9: "char(9)", USCC: "char(18)", RIC: "char(18)",
    PARTY_ID: "char(18)", DATE: "date", TIMESTAMP: "timestamptz", MONEY: "numeric(14,2)",
    BOOL: "boolean", ENUM: "text",
}


@dataclass(frozen=True)
class Field:
    name: str
    type: str
    zh: str
    required: bool = False
    enum: tuple[str, ...] = ()
    # PII: True = always personal data; "person" = personal data when the party is a person.
    pii: bool | str = False
    max_length: int | None = None
    # For PARTY_ID: the enum field that says whether the id is a ric (person) or uscc (organization).
    kind_field: str | None = None
    # For a related_* id: the record type it points to (same county); a dangling id is a warning.
    references: str | None = None
    doc: str = ""
    # Chinese label of each enum value, in the order of ``enum`` (what county staff and supervisors read).
    enum_zh: tuple[str, ...] = ()

    def __post_init__(self):
        if self.enum and len(self.enum_zh) != len(self.enum):
            raise ValueError(f"field {self.name}: one Chinese label per enum value ({len(self.enum)} values)")

    @property
    def label(self) -> str:
        """``中文名（name）``: how county-facing texts name the field."""
        return f"{self.zh}（{self.name}）"

    def value_zh(self, value: str) -> str | None:
        """The Chinese label of an enum value (None if it is not one)."""
        return dict(zip(self.enum, self.enum_zh, strict=True)).get(value)

    def enum_text(self) -> str:
        """The allowed values with their labels: ``person（自然人）、organization（法人或其他组织）``."""
        return "、".join(f"{v}（{z}）" for v, z in zip(self.enum, self.enum_zh, strict=True))

    @property
    def is_key(self) -> bool:
        """A record key: ``record_id`` or an id naming another record. Keys are validated, loaded and matched in
        their NFKC form (``identifiers.record_key``), so a full-width re-send names the same record."""
        return self.name == "record_id" or self.references is not None

    @property
    def sql_type(self) -> str:
        if self.type == TEXT and self.max_length:
            return f"varchar({self.max_length})"
        return _SQL_TYPES[self.type]

    @property
    def arrow_type(self):
        """The Arrow type of the field's typed value (after validation), as the loader sends it."""
        import pyarrow as pa

        return {DATE: pa.date32(), TIMESTAMP: pa.timestamp("us", tz="UTC"), MONEY: pa.decimal128(14, 2),
                BOOL: pa.bool_()}.get(self.type, pa.string())


@dataclass(frozen=True)
class Rule:
    """A cross-field rule. ``kind`` names the vectorised check in ``validation.rules``; ``args`` its fields."""

    id: str
    kind: str
    args: tuple[str, ...]
    description: str
    zh: str = ""  # the description in Chinese, for county-facing messages


@dataclass(frozen=True)
class RecordType:
    name: str  # as counties name the file: enforcement_cases
    table: str  # warehouse table in the domain's singular: enforcement_case
    zh: str
    fields: tuple[Field, ...]
    rules: tuple[Rule, ...] = field(default=())

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.name} has no field {name!r}")

    @property
    def key_fields(self) -> list[Field]:
        return [f for f in self.fields if f.is_key]

    def fields_of_type(self, *types: str) -> list[Field]:
        return [f for f in self.fields if f.type in types]

    def typed_schema(self):
        """Arrow schema of validated rows: every contract field in its Arrow type, plus ``_source_row``
        (the 1-based row of the file the value came from)."""
        import pyarrow as pa

        return pa.schema([pa.field(f.name, f.arrow_type) for f in self.fields] + [pa.field(SOURCE_ROW, pa.int32())])


PARTY_TYPES = ("person", "organization")
PARTY_TYPES_ZH = ("自然人", "法人或其他组织")
SOURCE_ROW = "_source_row"  # typed rows carry the file row they came from


def _common() -> tuple[Field, ...]:
    return (
        Field("record_id", TEXT, "记录标识", required=True, max_length=64,
              doc="Identifier of the record in the county system; unique within the county. Compared and stored in "
                  "Unicode NFKC form: full-width ＥＮＦ－００１ is the same record as ENF-001."),
        Field("county_code", CODE6, "报送县级区划代码", required=True,
              doc="GB/T 2260 code of the submitting county; must equal the submitting county."),
        Field("updated_at", TIMESTAMP, "更新时间", required=True,
              doc="Last change in the county system (ISO 8601 with offset); the newest version wins."),
    )


def _party(prefix: str, zh: str, required: bool = True) -> tuple[Field, ...]:
    return (
        Field(f"{prefix}_type", ENUM, f"{zh}类型", required=required, enum=PARTY_TYPES,
              enum_zh=PARTY_TYPES_ZH),
        Field(f"{prefix}_id", PARTY_ID, f"{zh}证件号码", required=required, pii="person",
              kind_field=f"{prefix}_type",
              doc="Resident ID (GB 11643) for a person, USCC (GB 32100) for an organization."),
        Field(f"{prefix}_name", TEXT, f"{zh}名称", required=required, pii="person", max_length=200),
    )


ACTION_TYPES = ("licensing", "penalty", "coercion", "inspection", "levy", "payment", "confirmation",
                "adjudication", "other")
DOMAINS = ("market_regulation", "ecology_environment", "transport", "emergency_management", "agriculture",
           "culture_tourism", "urban_management", "health", "natural_resources", "public_security", "other")
ENFORCEMENT_STATUSES = ("open", "decided", "closed", "withdrawn")
RECONSIDERATION_OUTCOMES = ("pending", "upheld", "rejected", "revoked", "altered", "confirmed_illegal",
                            "ordered_performance", "confirmed_invalid", "mediated", "settled", "terminated")
LITIGATION_OUTCOMES = ("pending", "won", "lost", "withdrawn", "mediated", "dismissed", "other")
COMPLAINT_CHANNELS = ("hotline_12345", "online", "letter", "visit", "other")
COMPLAINT_RESULTS = ("pending", "substantiated", "partially_substantiated", "unsubstantiated", "referred",
                     "withdrawn")
# Chinese labels of the enum values, in the same order (Field.enum_zh).
ACTION_TYPES_ZH = ("行政许可", "行政处罚", "行政强制", "行政检查", "行政征收征用", "行政给付", "行政确认", "行政裁决", "其他")
DOMAINS_ZH = ("市场监管", "生态环境", "交通运输", "应急管理", "农业农村", "文化旅游", "城市管理", "卫生健康", "自然资源",
              "公安", "其他")
ENFORCEMENT_STATUSES_ZH = ("办理中", "已作出决定", "已结案", "已撤销")
RECONSIDERATION_OUTCOMES_ZH = ("审理中", "维持", "驳回", "撤销", "变更", "确认违法", "责令履行", "确认无效", "调解", "和解",
                               "终止")
LITIGATION_OUTCOMES_ZH = ("审理中", "胜诉", "败诉", "撤诉", "调解", "驳回起诉", "其他")
COMPLAINT_CHANNELS_ZH = ("12345热线", "网上", "来信", "来访", "其他")
COMPLAINT_RESULTS_ZH = ("办理中", "属实", "部分属实", "不属实", "转办", "撤回")

ENFORCEMENT = RecordType(
    name="enforcement_cases", table="enforcement_case", zh="行政执法案件/行为",
    fields=_common() + (
        Field("case_number", TEXT, "执法文书号", max_length=100,
              doc="Required unless action_type is inspection."),
        Field("township_code", CODE9, "乡镇(街道)代码", doc="Must lie inside county_code."),
        Field("agency_code", USCC, "执法主体统一社会信用代码", required=True),
        Field("agency_name", TEXT, "执法主体名称", required=True, max_length=200),
        Field("action_type", ENUM, "执法行为类别", required=True, enum=ACTION_TYPES, enum_zh=ACTION_TYPES_ZH),
        Field("domain", ENUM, "执法领域", required=True, enum=DOMAINS, enum_zh=DOMAINS_ZH),
        *_party("party", "当事人"),
        Field("filed_date", DATE, "立案日期", required=True),
        Field("decided_date", DATE, "决定日期"),
        Field("closed_date", DATE, "结案日期"),
        Field("status", ENUM, "案件状态", required=True, enum=ENFORCEMENT_STATUSES,
              enum_zh=ENFORCEMENT_STATUSES_ZH),
        Field("fine_amount", MONEY, "罚款金额(元)", doc="Only for penalty."),
        Field("confiscated_amount", MONEY, "没收金额(元)", doc="Only for penalty."),
        Field("is_major", BOOL, "重大执法决定", required=True),
        Field("legal_review_done", BOOL, "法制审核", required=True,
              doc="Must be true for a decided major decision."),
        Field("full_process_recorded", BOOL, "全过程记录", required=True),
        Field("publicized_date", DATE, "公示日期"),
    ),
    rules=(
        Rule("case_number_required_unless_inspection", "required_unless", ("case_number", "action_type",
             "inspection"), "case_number is required unless action_type is inspection",
             zh="执法行为类别（action_type）不是行政检查（inspection）时，执法文书号（case_number）必填"),
        Rule("decided_not_before_filed", "date_order", ("filed_date", "decided_date"),
             "decided_date must not be before filed_date",
             zh="决定日期（decided_date）不得早于立案日期（filed_date）"),
        Rule("closed_not_before_decided", "date_order", ("decided_date", "closed_date"),
             "closed_date must not be before decided_date",
             zh="结案日期（closed_date）不得早于决定日期（decided_date）"),
        Rule("amounts_only_for_penalty", "amount_only_for", ("action_type", "penalty", "fine_amount",
             "confiscated_amount"), "fine_amount and confiscated_amount are only allowed on a penalty",
             zh="只有执法行为类别（action_type）为行政处罚（penalty）时才能填写罚款金额（fine_amount）和没收金额（confiscated_amount）"),
        Rule("major_decision_needs_legal_review", "major_needs_review", ("is_major", "decided_date",
             "legal_review_done"), "a decided major decision (重大执法决定) needs legal review (法制审核)",
             zh="已作出决定（决定日期 decided_date 已填）的重大执法决定（is_major 为 是）必须经过法制审核（legal_review_done 为 是）"),
    ),
)

RECONSIDERATION = RecordType(
    name="reconsideration_cases", table="reconsideration_case", zh="行政复议案件",
    fields=_common() + (
        Field("case_number", TEXT, "复议案号", required=True, max_length=100),
        Field("respondent_agency_code", USCC, "被申请人统一社会信用代码", required=True),
        Field("respondent_agency_name", TEXT, "被申请人名称", required=True, max_length=200),
        Field("applicant_type", ENUM, "申请人类型", required=True, enum=PARTY_TYPES,
              enum_zh=PARTY_TYPES_ZH),
        Field("applicant_id", PARTY_ID, "申请人证件号码", required=True, pii=True, kind_field="applicant_type"),
        Field("applicant_name", TEXT, "申请人名称", required=True, pii=True, max_length=200),
        Field("received_date", DATE, "收到申请日期", required=True),
        Field("accepted_date", DATE, "受理日期"),
        Field("decided_date", DATE, "决定日期"),
        Field("procedure", ENUM, "审理程序", required=True, enum=("normal", "simplified"),
              enum_zh=("普通程序", "简易程序")),
        Field("extended", BOOL, "延期", required=True),
        Field("outcome", ENUM, "复议结果", required=True, enum=RECONSIDERATION_OUTCOMES,
              enum_zh=RECONSIDERATION_OUTCOMES_ZH),
        Field("related_enforcement_id", TEXT, "关联执法案件", max_length=64, references="enforcement_cases"),
    ),
    rules=(
        Rule("accepted_not_before_received", "date_order", ("received_date", "accepted_date"),
             "accepted_date must not be before received_date",
             zh="受理日期（accepted_date）不得早于收到申请日期（received_date）"),
        Rule("decided_not_before_accepted", "date_order", ("accepted_date", "decided_date"),
             "decided_date must not be before accepted_date",
             zh="决定日期（decided_date）不得早于受理日期（accepted_date）"),
    ),
)

LITIGATION = RecordType(
    name="litigation_cases", table="litigation_case", zh="行政诉讼(应诉)案件",
    fields=_common() + (
        Field("court_case_number", TEXT, "案号", required=True, max_length=100,
              doc="（年份）+ court code (province abbreviation + digits) + 行初/行终/... + serial + 号"),
        Field("defendant_agency_code", USCC, "被告统一社会信用代码", required=True),
        Field("defendant_agency_name", TEXT, "被告名称", required=True, max_length=200),
        *_party("plaintiff", "原告"),
        Field("trial_level", ENUM, "审级", required=True, enum=("first", "second", "retrial"),
              enum_zh=("一审", "二审", "再审")),
        Field("filed_date", DATE, "立案日期", required=True),
        Field("hearing_date", DATE, "开庭日期"),
        Field("head_appearance_required", BOOL, "通知负责人出庭", required=True),
        Field("head_appeared", BOOL, "负责人出庭", required=True),
        Field("judgment_date", DATE, "裁判日期"),
        Field("outcome", ENUM, "诉讼结果", required=True, enum=LITIGATION_OUTCOMES,
              enum_zh=LITIGATION_OUTCOMES_ZH),
        Field("related_reconsideration_id", TEXT, "关联复议案件", max_length=64, references="reconsideration_cases"),
        Field("related_enforcement_id", TEXT, "关联执法案件", max_length=64, references="enforcement_cases"),
        Field("judicial_suggestion", BOOL, "司法建议/检察建议", required=True),
        Field("suggestion_replied_date", DATE, "建议回复日期"),
    ),
    rules=(
        Rule("court_case_number_format", "court_case_number", ("court_case_number",),
             "court_case_number must read （year）+ court code of the county's province + 行初/行终/... + serial + 号",
             zh="案号（court_case_number）须为（年份）+ 本省法院代字 + 行初/行终等 + 序号 + 号，如（2026）豫1002行初15号"),
        Rule("hearing_not_before_filed", "date_order", ("filed_date", "hearing_date"),
             "hearing_date must not be before filed_date",
             zh="开庭日期（hearing_date）不得早于立案日期（filed_date）"),
        Rule("judgment_not_before_filed", "date_order", ("filed_date", "judgment_date"),
             "judgment_date must not be before filed_date",
             zh="裁判日期（judgment_date）不得早于立案日期（filed_date）"),
    ),
)

COMPLAINT = RecordType(
    name="complaints", table="complaint", zh="行政执法投诉举报",
    fields=_common() + (
        Field("township_code", CODE9, "乡镇(街道)代码", doc="Must lie inside county_code."),
        Field("target_agency_code", USCC, "被投诉单位统一社会信用代码", required=True),
        Field("channel", ENUM, "投诉渠道", required=True, enum=COMPLAINT_CHANNELS,
              enum_zh=COMPLAINT_CHANNELS_ZH),
        Field("complainant_name", TEXT, "投诉人姓名", pii=True, max_length=200),
        Field("complainant_id", RIC, "投诉人身份证号", pii=True),
        Field("received_date", DATE, "收到日期", required=True),
        Field("handled_date", DATE, "办结日期"),
        Field("result", ENUM, "办理结果", required=True, enum=COMPLAINT_RESULTS,
              enum_zh=COMPLAINT_RESULTS_ZH),
        Field("replied", BOOL, "书面答复", required=True),
        Field("summary", TEXT, "内容摘要", pii=True, max_length=2000, doc="Free text; may hold personal data."),
    ),
    rules=(
        Rule("handled_not_before_received", "date_order", ("received_date", "handled_date"),
             "handled_date must not be before received_date",
             zh="办结日期（handled_date）不得早于收到日期（received_date）"),
    ),
)

RECORD_TYPES: dict[str, RecordType] = {rt.name: rt for rt in (ENFORCEMENT, RECONSIDERATION, LITIGATION, COMPLAINT)}

# Values accepted for booleans in CSV/XLSX/JSON (domain: true/false, 1/0, 是/否).
BOOL_TRUE = frozenset({"true", "1", "是", "True", "TRUE"})
BOOL_FALSE = frozenset({"false", "0", "否", "False", "FALSE"})

# Province abbreviations used in court case numbers (案号), keyed on the two-digit province code.
PROVINCE_ABBREVIATIONS = {
    "11": "京", "12": "津", "13": "冀", "14": "晋", "15": "蒙", "21": "辽", "22": "吉", "23": "黑", "31": "沪",
    "32": "苏", "33": "浙", "34": "皖", "35": "闽", "36": "赣", "37": "鲁", "41": "豫", "42": "鄂", "43": "湘",
    "44": "粤", "45": "桂", "46": "琼", "50": "渝", "51": "川", "52": "贵", "53": "云", "54": "藏", "61": "陕",
    "62": "甘", "63": "青", "64": "宁", "65": "新",
}
COURT_CASE_TYPES = ("行初", "行终", "行申", "行再", "行赔初", "行赔终", "行赔申", "行赔再", "行审", "行他", "行辖")


def record_type(name: str) -> RecordType:
    try:
        return RECORD_TYPES[name]
    except KeyError:
        raise KeyError(f"unknown record type {name!r}; the contract knows {', '.join(RECORD_TYPES)}") from None


# Whole-file (and whole-pull) rules, in Chinese: what county-facing messages say about them.
FILE_RULES_ZH = {
    "file.readable": "文件无法按其格式读取（CSV 须为 UTF-8 或 GBK 编码、JSON 须为对象数组、XLSX 读取第一个工作表）",
    "file.schema": "表头（字段名）与报送规范 v1 不一致",
    "file.manifest_rows": "数据行数与 manifest.json 中登记的行数不符（传输不完整）",
    "file.manifest_sha256": "文件校验值（sha256）与 manifest.json 中登记的不符（传输中损坏）",
    "file.reject_threshold": "不合格行占比超过本县的拒收阈值，整份文件被拒收",
    "file.discover": "报送目录中的文件有问题（同一类数据只能有一个文件，且须为普通文件）",
    "source.malformed_response": "接口返回的内容无法解析（不是规定格式的 JSON）",
    "source.page_sequence": "接口分页不完整或前后不一致（缺页、总数变化、重复页）",
    "source.schema": "数据库中约定的表或字段不存在",
}
# checks whose text is the field's label and a fixed phrase
_CHECKS_ZH = {"not_future": "不得晚于业务日期", "non_negative": "不得为负数", "unique_in_file": "在同一文件中只能出现一次",
              "matches_submitter": "须为本县（报送单位）的代码", "in_county": "须为本县所辖的乡镇（街道）"}


def rule_zh(rt: RecordType, rule_id: str) -> str:
    """The Chinese description of a rule id (field rules, cross-field rules, whole-file rules), naming each field
    as ``中文名（name）``; the rule id itself if it is unknown. One place for every county-facing text and portal."""
    if rule_id in FILE_RULES_ZH:
        return FILE_RULES_ZH[rule_id]
    for r in rt.rules:
        if r.id == rule_id:
            return r.zh or r.description
    name, _, check = rule_id.partition(".")
    try:
        f = rt.field(name)
    except KeyError:
        return rule_id
    if check == "required":
        return f"{f.label}必填"
    if check == "max_length":
        return f"{f.label}不超过 {f.max_length} 个字符"
    if check == "enum":
        return f"{f.label}只能填以下值之一：{f.enum_text()}"
    if check in _CHECKS_ZH:
        return f"{f.label}{_CHECKS_ZH[check]}"
    if check == "exists":
        target = RECORD_TYPES[f.references].zh if f.references in RECORD_TYPES else f.references
        return f"{f.label}须是本县已报送的{target}记录标识（仓库中已有或当晚同时报送）"
    if check == "identifier":
        if f.type == USCC:
            return f"{f.label}须为有效的统一社会信用代码（18 位，校验码符合 GB 32100）"
        if f.type == RIC:
            return f"{f.label}须为有效的公民身份号码（18 位，出生日期和校验码符合 GB 11643）"
        kind = rt.field(f.kind_field) if f.kind_field else None
        which = kind.label if kind else "当事人类型"
        return (f"{f.label}：{which}为自然人（person）时须为有效的公民身份号码，"
                "为法人或其他组织（organization）时须为有效的统一社会信用代码")
    if check == "format":
        return f.label + {
            CODE6: "须为 6 位行政区划代码", CODE9: "须为 9 位乡镇（街道）区划代码",
            DATE: "须为真实日期，格式 YYYY-MM-DD（如 2026-11-22）",
            TIMESTAMP: "须为带时区的 ISO 8601 时间（如 2026-11-22T10:30:00+08:00）",
            MONEY: "须为以元为单位的金额，最多两位小数", BOOL: "须填 是/否（也可写 true/false 或 1/0）",
        }.get(f.type, "格式不正确")
    return rule_id


def rule_fields(rt: RecordType, rule_id: str) -> tuple[str, ...]:
    """The contract fields a rule looks at (none for whole-file rules)."""
    for r in rt.rules:
        if r.id == rule_id:
            return tuple(a for a in r.args if a in rt.field_names)
    name = rule_id.partition(".")[0]
    return (name,) if name in rt.field_names else ()
