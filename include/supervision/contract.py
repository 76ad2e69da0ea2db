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
        Field(f"{prefix}_type", ENUM, f"{zh}类型", required=required, enum=PARTY_TYPES),
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

ENFORCEMENT = RecordType(
    name="enforcement_cases", table="enforcement_case", zh="行政执法案件/行为",
    fields=_common() + (
        Field("case_number", TEXT, "执法文书号", max_length=100,
              doc="Required unless action_type is inspection."),
        Field("township_code", CODE9, "乡镇(街道)代码", doc="Must lie inside county_code."),
        Field("agency_code", USCC, "执法主体统一社会信用代码", required=True),
        Field("agency_name", TEXT, "执法主体名称", required=True, max_length=200),
        Field("action_type", ENUM, "执法行为类别", required=True, enum=ACTION_TYPES),
        Field("domain", ENUM, "执法领域", required=True, enum=DOMAINS),
        *_party("party", "当事人"),
        Field("filed_date", DATE, "立案日期", required=True),
        Field("decided_date", DATE, "决定日期"),
        Field("closed_date", DATE, "结案日期"),
        Field("status", ENUM, "案件状态", required=True, enum=ENFORCEMENT_STATUSES),
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
             "inspection"), "case_number is required unless action_type is inspection"),
        Rule("decided_not_before_filed", "date_order", ("filed_date", "decided_date"),
             "decided_date must not be before filed_date"),
        Rule("closed_not_before_decided", "date_order", ("decided_date", "closed_date"),
             "closed_date must not be before decided_date"),
        Rule("amounts_only_for_penalty", "amount_only_for", ("action_type", "penalty", "fine_amount",
             "confiscated_amount"), "fine_amount and confiscated_amount are only allowed on a penalty"),
        Rule("major_decision_needs_legal_review", "major_needs_review", ("is_major", "decided_date",
             "legal_review_done"), "a decided major decision (重大执法决定) needs legal review (法制审核)"),
    ),
)

RECONSIDERATION = RecordType(
    name="reconsideration_cases", table="reconsideration_case", zh="行政复议案件",
    fields=_common() + (
        Field("case_number", TEXT, "复议案号", required=True, max_length=100),
        Field("respondent_agency_code", USCC, "被申请人统一社会信用代码", required=True),
        Field("respondent_agency_name", TEXT, "被申请人名称", required=True, max_length=200),
        Field("applicant_type", ENUM, "申请人类型", required=True, enum=PARTY_TYPES),
        Field("applicant_id", PARTY_ID, "申请人证件号码", required=True, pii=True, kind_field="applicant_type"),
        Field("applicant_name", TEXT, "申请人名称", required=True, pii=True, max_length=200),
        Field("received_date", DATE, "收到申请日期", required=True),
        Field("accepted_date", DATE, "受理日期"),
        Field("decided_date", DATE, "决定日期"),
        Field("procedure", ENUM, "审理程序", required=True, enum=("normal", "simplified")),
        Field("extended", BOOL, "延期", required=True),
        Field("outcome", ENUM, "复议结果", required=True, enum=RECONSIDERATION_OUTCOMES),
        Field("related_enforcement_id", TEXT, "关联执法案件", max_length=64, references="enforcement_cases"),
    ),
    rules=(
        Rule("accepted_not_before_received", "date_order", ("received_date", "accepted_date"),
             "accepted_date must not be before received_date"),
        Rule("decided_not_before_accepted", "date_order", ("accepted_date", "decided_date"),
             "decided_date must not be before accepted_date"),
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
        Field("trial_level", ENUM, "审级", required=True, enum=("first", "second", "retrial")),
        Field("filed_date", DATE, "立案日期", required=True),
        Field("hearing_date", DATE, "开庭日期"),
        Field("head_appearance_required", BOOL, "通知负责人出庭", required=True),
        Field("head_appeared", BOOL, "负责人出庭", required=True),
        Field("judgment_date", DATE, "裁判日期"),
        Field("outcome", ENUM, "诉讼结果", required=True, enum=LITIGATION_OUTCOMES),
        Field("related_reconsideration_id", TEXT, "关联复议案件", max_length=64, references="reconsideration_cases"),
        Field("related_enforcement_id", TEXT, "关联执法案件", max_length=64, references="enforcement_cases"),
        Field("judicial_suggestion", BOOL, "司法建议/检察建议", required=True),
        Field("suggestion_replied_date", DATE, "建议回复日期"),
    ),
    rules=(
        Rule("court_case_number_format", "court_case_number", ("court_case_number",),
             "court_case_number must read （year）+ court code of the county's province + 行初/行终/... + serial + 号"),
        Rule("hearing_not_before_filed", "date_order", ("filed_date", "hearing_date"),
             "hearing_date must not be before filed_date"),
        Rule("judgment_not_before_filed", "date_order", ("filed_date", "judgment_date"),
             "judgment_date must not be before filed_date"),
    ),
)

COMPLAINT = RecordType(
    name="complaints", table="complaint", zh="行政执法投诉举报",
    fields=_common() + (
        Field("township_code", CODE9, "乡镇(街道)代码", doc="Must lie inside county_code."),
        Field("target_agency_code", USCC, "被投诉单位统一社会信用代码", required=True),
        Field("channel", ENUM, "投诉渠道", required=True, enum=COMPLAINT_CHANNELS),
        Field("complainant_name", TEXT, "投诉人姓名", pii=True, max_length=200),
        Field("complainant_id", RIC, "投诉人身份证号", pii=True),
        Field("received_date", DATE, "收到日期", required=True),
        Field("handled_date", DATE, "办结日期"),
        Field("result", ENUM, "办理结果", required=True, enum=COMPLAINT_RESULTS),
        Field("replied", BOOL, "书面答复", required=True),
        Field("summary", TEXT, "内容摘要", pii=True, max_length=2000, doc="Free text; may hold personal data."),
    ),
    rules=(
        Rule("handled_not_before_received", "date_order", ("received_date", "handled_date"),
             "handled_date must not be before received_date"),
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
