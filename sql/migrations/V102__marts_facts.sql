-- Fact tables of the supervisor marts, generated from supervision.contract (v1) by
-- supervision.marts.model; do not edit. Personal data is pseudonymized (supervision.marts.pii); the
-- refresh (supervision.marts.refresh) fills them from core. Row-level security: every table is
-- protected by marts.protect_by_division (V100).

-- enforcement_cases: 行政执法案件/行为
CREATE TABLE marts.fact_enforcement_case (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    case_number varchar(100),
    township_code char(9),
    agency_code char(18) not null,
    agency_name varchar(200) not null,
    action_type text not null,
    domain text not null,
    party_type text not null,
    party_id char(18),
    party_id_pseudonym char(32) not null,
    party_name varchar(200),
    party_name_pseudonym char(32) not null,
    filed_date date not null,
    decided_date date,
    closed_date date,
    status text not null,
    fine_amount numeric(14,2),
    confiscated_amount numeric(14,2),
    is_major boolean not null,
    legal_review_done boolean not null,
    full_process_recorded boolean not null,
    publicized_date date,
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_enforcement_case_pk PRIMARY KEY (county_code, record_id)
);
COMMENT ON TABLE marts.fact_enforcement_case IS '行政执法案件/行为: current version of each record (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_enforcement_case.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_enforcement_case.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_enforcement_case.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_enforcement_case.case_number IS '执法文书号';
COMMENT ON COLUMN marts.fact_enforcement_case.township_code IS '乡镇(街道)代码';
COMMENT ON COLUMN marts.fact_enforcement_case.agency_code IS '执法主体统一社会信用代码';
COMMENT ON COLUMN marts.fact_enforcement_case.agency_name IS '执法主体名称';
COMMENT ON COLUMN marts.fact_enforcement_case.action_type IS '执法行为类别';
COMMENT ON COLUMN marts.fact_enforcement_case.domain IS '执法领域';
COMMENT ON COLUMN marts.fact_enforcement_case.party_type IS '当事人类型';
COMMENT ON COLUMN marts.fact_enforcement_case.party_id IS '当事人证件号码: clear only when party_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_enforcement_case.party_id_pseudonym IS '当事人证件号码 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_enforcement_case.party_name IS '当事人名称: clear only when party_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_enforcement_case.party_name_pseudonym IS '当事人名称 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_enforcement_case.filed_date IS '立案日期';
COMMENT ON COLUMN marts.fact_enforcement_case.decided_date IS '决定日期';
COMMENT ON COLUMN marts.fact_enforcement_case.closed_date IS '结案日期';
COMMENT ON COLUMN marts.fact_enforcement_case.status IS '案件状态';
COMMENT ON COLUMN marts.fact_enforcement_case.fine_amount IS '罚款金额(元)';
COMMENT ON COLUMN marts.fact_enforcement_case.confiscated_amount IS '没收金额(元)';
COMMENT ON COLUMN marts.fact_enforcement_case.is_major IS '重大执法决定';
COMMENT ON COLUMN marts.fact_enforcement_case.legal_review_done IS '法制审核';
COMMENT ON COLUMN marts.fact_enforcement_case.full_process_recorded IS '全过程记录';
COMMENT ON COLUMN marts.fact_enforcement_case.publicized_date IS '公示日期';
COMMENT ON COLUMN marts.fact_enforcement_case.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_enforcement_case.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_enforcement_case.refreshed_at IS 'when the marts refresh copied it';

CREATE TABLE marts.fact_enforcement_case_history (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    case_number varchar(100),
    township_code char(9),
    agency_code char(18) not null,
    agency_name varchar(200) not null,
    action_type text not null,
    domain text not null,
    party_type text not null,
    party_id char(18),
    party_id_pseudonym char(32) not null,
    party_name varchar(200),
    party_name_pseudonym char(32) not null,
    filed_date date not null,
    decided_date date,
    closed_date date,
    status text not null,
    fine_amount numeric(14,2),
    confiscated_amount numeric(14,2),
    is_major boolean not null,
    legal_review_done boolean not null,
    full_process_recorded boolean not null,
    publicized_date date,
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_enforcement_case_history_pk PRIMARY KEY (county_code, record_id, updated_at, row_hash)
);
COMMENT ON TABLE marts.fact_enforcement_case_history IS '行政执法案件/行为: every version received (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_enforcement_case_history.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_enforcement_case_history.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_enforcement_case_history.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_enforcement_case_history.case_number IS '执法文书号';
COMMENT ON COLUMN marts.fact_enforcement_case_history.township_code IS '乡镇(街道)代码';
COMMENT ON COLUMN marts.fact_enforcement_case_history.agency_code IS '执法主体统一社会信用代码';
COMMENT ON COLUMN marts.fact_enforcement_case_history.agency_name IS '执法主体名称';
COMMENT ON COLUMN marts.fact_enforcement_case_history.action_type IS '执法行为类别';
COMMENT ON COLUMN marts.fact_enforcement_case_history.domain IS '执法领域';
COMMENT ON COLUMN marts.fact_enforcement_case_history.party_type IS '当事人类型';
COMMENT ON COLUMN marts.fact_enforcement_case_history.party_id IS '当事人证件号码: clear only when party_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_enforcement_case_history.party_id_pseudonym IS '当事人证件号码 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_enforcement_case_history.party_name IS '当事人名称: clear only when party_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_enforcement_case_history.party_name_pseudonym IS '当事人名称 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_enforcement_case_history.filed_date IS '立案日期';
COMMENT ON COLUMN marts.fact_enforcement_case_history.decided_date IS '决定日期';
COMMENT ON COLUMN marts.fact_enforcement_case_history.closed_date IS '结案日期';
COMMENT ON COLUMN marts.fact_enforcement_case_history.status IS '案件状态';
COMMENT ON COLUMN marts.fact_enforcement_case_history.fine_amount IS '罚款金额(元)';
COMMENT ON COLUMN marts.fact_enforcement_case_history.confiscated_amount IS '没收金额(元)';
COMMENT ON COLUMN marts.fact_enforcement_case_history.is_major IS '重大执法决定';
COMMENT ON COLUMN marts.fact_enforcement_case_history.legal_review_done IS '法制审核';
COMMENT ON COLUMN marts.fact_enforcement_case_history.full_process_recorded IS '全过程记录';
COMMENT ON COLUMN marts.fact_enforcement_case_history.publicized_date IS '公示日期';
COMMENT ON COLUMN marts.fact_enforcement_case_history.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_enforcement_case_history.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_enforcement_case_history.refreshed_at IS 'when the marts refresh copied it';

CREATE INDEX fact_enforcement_case_township_idx ON marts.fact_enforcement_case (township_code);
CREATE INDEX fact_enforcement_case_history_loaded_idx ON marts.fact_enforcement_case_history (loaded_at);
SELECT marts.protect_by_division('marts.fact_enforcement_case', 'county_code', 'township_code');
SELECT marts.protect_by_division('marts.fact_enforcement_case_history', 'county_code', 'township_code');

-- reconsideration_cases: 行政复议案件
CREATE TABLE marts.fact_reconsideration_case (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    case_number varchar(100) not null,
    respondent_agency_code char(18) not null,
    respondent_agency_name varchar(200) not null,
    applicant_type text not null,
    applicant_id_pseudonym char(32) not null,
    applicant_name_pseudonym char(32) not null,
    received_date date not null,
    accepted_date date,
    decided_date date,
    procedure text not null,
    extended boolean not null,
    outcome text not null,
    related_enforcement_id varchar(64),
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_reconsideration_case_pk PRIMARY KEY (county_code, record_id)
);
COMMENT ON TABLE marts.fact_reconsideration_case IS '行政复议案件: current version of each record (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_reconsideration_case.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_reconsideration_case.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_reconsideration_case.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_reconsideration_case.case_number IS '复议案号';
COMMENT ON COLUMN marts.fact_reconsideration_case.respondent_agency_code IS '被申请人统一社会信用代码';
COMMENT ON COLUMN marts.fact_reconsideration_case.respondent_agency_name IS '被申请人名称';
COMMENT ON COLUMN marts.fact_reconsideration_case.applicant_type IS '申请人类型';
COMMENT ON COLUMN marts.fact_reconsideration_case.applicant_id_pseudonym IS '申请人证件号码 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_reconsideration_case.applicant_name_pseudonym IS '申请人名称 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_reconsideration_case.received_date IS '收到申请日期';
COMMENT ON COLUMN marts.fact_reconsideration_case.accepted_date IS '受理日期';
COMMENT ON COLUMN marts.fact_reconsideration_case.decided_date IS '决定日期';
COMMENT ON COLUMN marts.fact_reconsideration_case.procedure IS '审理程序';
COMMENT ON COLUMN marts.fact_reconsideration_case.extended IS '延期';
COMMENT ON COLUMN marts.fact_reconsideration_case.outcome IS '复议结果';
COMMENT ON COLUMN marts.fact_reconsideration_case.related_enforcement_id IS '关联执法案件';
COMMENT ON COLUMN marts.fact_reconsideration_case.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_reconsideration_case.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_reconsideration_case.refreshed_at IS 'when the marts refresh copied it';

CREATE TABLE marts.fact_reconsideration_case_history (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    case_number varchar(100) not null,
    respondent_agency_code char(18) not null,
    respondent_agency_name varchar(200) not null,
    applicant_type text not null,
    applicant_id_pseudonym char(32) not null,
    applicant_name_pseudonym char(32) not null,
    received_date date not null,
    accepted_date date,
    decided_date date,
    procedure text not null,
    extended boolean not null,
    outcome text not null,
    related_enforcement_id varchar(64),
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_reconsideration_case_history_pk PRIMARY KEY (county_code, record_id, updated_at, row_hash)
);
COMMENT ON TABLE marts.fact_reconsideration_case_history IS '行政复议案件: every version received (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.case_number IS '复议案号';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.respondent_agency_code IS '被申请人统一社会信用代码';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.respondent_agency_name IS '被申请人名称';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.applicant_type IS '申请人类型';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.applicant_id_pseudonym IS '申请人证件号码 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.applicant_name_pseudonym IS '申请人名称 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.received_date IS '收到申请日期';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.accepted_date IS '受理日期';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.decided_date IS '决定日期';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.procedure IS '审理程序';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.extended IS '延期';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.outcome IS '复议结果';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.related_enforcement_id IS '关联执法案件';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_reconsideration_case_history.refreshed_at IS 'when the marts refresh copied it';

CREATE INDEX fact_reconsideration_case_history_loaded_idx ON marts.fact_reconsideration_case_history (loaded_at);
SELECT marts.protect_by_division('marts.fact_reconsideration_case', 'county_code', NULL);
SELECT marts.protect_by_division('marts.fact_reconsideration_case_history', 'county_code', NULL);

-- litigation_cases: 行政诉讼(应诉)案件
CREATE TABLE marts.fact_litigation_case (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    court_case_number varchar(100) not null,
    defendant_agency_code char(18) not null,
    defendant_agency_name varchar(200) not null,
    plaintiff_type text not null,
    plaintiff_id char(18),
    plaintiff_id_pseudonym char(32) not null,
    plaintiff_name varchar(200),
    plaintiff_name_pseudonym char(32) not null,
    trial_level text not null,
    filed_date date not null,
    hearing_date date,
    head_appearance_required boolean not null,
    head_appeared boolean not null,
    judgment_date date,
    outcome text not null,
    related_reconsideration_id varchar(64),
    related_enforcement_id varchar(64),
    judicial_suggestion boolean not null,
    suggestion_replied_date date,
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_litigation_case_pk PRIMARY KEY (county_code, record_id)
);
COMMENT ON TABLE marts.fact_litigation_case IS '行政诉讼(应诉)案件: current version of each record (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_litigation_case.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_litigation_case.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_litigation_case.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_litigation_case.court_case_number IS '案号';
COMMENT ON COLUMN marts.fact_litigation_case.defendant_agency_code IS '被告统一社会信用代码';
COMMENT ON COLUMN marts.fact_litigation_case.defendant_agency_name IS '被告名称';
COMMENT ON COLUMN marts.fact_litigation_case.plaintiff_type IS '原告类型';
COMMENT ON COLUMN marts.fact_litigation_case.plaintiff_id IS '原告证件号码: clear only when plaintiff_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_litigation_case.plaintiff_id_pseudonym IS '原告证件号码 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_litigation_case.plaintiff_name IS '原告名称: clear only when plaintiff_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_litigation_case.plaintiff_name_pseudonym IS '原告名称 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_litigation_case.trial_level IS '审级';
COMMENT ON COLUMN marts.fact_litigation_case.filed_date IS '立案日期';
COMMENT ON COLUMN marts.fact_litigation_case.hearing_date IS '开庭日期';
COMMENT ON COLUMN marts.fact_litigation_case.head_appearance_required IS '通知负责人出庭';
COMMENT ON COLUMN marts.fact_litigation_case.head_appeared IS '负责人出庭';
COMMENT ON COLUMN marts.fact_litigation_case.judgment_date IS '裁判日期';
COMMENT ON COLUMN marts.fact_litigation_case.outcome IS '诉讼结果';
COMMENT ON COLUMN marts.fact_litigation_case.related_reconsideration_id IS '关联复议案件';
COMMENT ON COLUMN marts.fact_litigation_case.related_enforcement_id IS '关联执法案件';
COMMENT ON COLUMN marts.fact_litigation_case.judicial_suggestion IS '司法建议/检察建议';
COMMENT ON COLUMN marts.fact_litigation_case.suggestion_replied_date IS '建议回复日期';
COMMENT ON COLUMN marts.fact_litigation_case.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_litigation_case.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_litigation_case.refreshed_at IS 'when the marts refresh copied it';

CREATE TABLE marts.fact_litigation_case_history (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    court_case_number varchar(100) not null,
    defendant_agency_code char(18) not null,
    defendant_agency_name varchar(200) not null,
    plaintiff_type text not null,
    plaintiff_id char(18),
    plaintiff_id_pseudonym char(32) not null,
    plaintiff_name varchar(200),
    plaintiff_name_pseudonym char(32) not null,
    trial_level text not null,
    filed_date date not null,
    hearing_date date,
    head_appearance_required boolean not null,
    head_appeared boolean not null,
    judgment_date date,
    outcome text not null,
    related_reconsideration_id varchar(64),
    related_enforcement_id varchar(64),
    judicial_suggestion boolean not null,
    suggestion_replied_date date,
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_litigation_case_history_pk PRIMARY KEY (county_code, record_id, updated_at, row_hash)
);
COMMENT ON TABLE marts.fact_litigation_case_history IS '行政诉讼(应诉)案件: every version received (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_litigation_case_history.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_litigation_case_history.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_litigation_case_history.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_litigation_case_history.court_case_number IS '案号';
COMMENT ON COLUMN marts.fact_litigation_case_history.defendant_agency_code IS '被告统一社会信用代码';
COMMENT ON COLUMN marts.fact_litigation_case_history.defendant_agency_name IS '被告名称';
COMMENT ON COLUMN marts.fact_litigation_case_history.plaintiff_type IS '原告类型';
COMMENT ON COLUMN marts.fact_litigation_case_history.plaintiff_id IS '原告证件号码: clear only when plaintiff_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_litigation_case_history.plaintiff_id_pseudonym IS '原告证件号码 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_litigation_case_history.plaintiff_name IS '原告名称: clear only when plaintiff_type = organization; NULL for a person (personal data)';
COMMENT ON COLUMN marts.fact_litigation_case_history.plaintiff_name_pseudonym IS '原告名称 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_litigation_case_history.trial_level IS '审级';
COMMENT ON COLUMN marts.fact_litigation_case_history.filed_date IS '立案日期';
COMMENT ON COLUMN marts.fact_litigation_case_history.hearing_date IS '开庭日期';
COMMENT ON COLUMN marts.fact_litigation_case_history.head_appearance_required IS '通知负责人出庭';
COMMENT ON COLUMN marts.fact_litigation_case_history.head_appeared IS '负责人出庭';
COMMENT ON COLUMN marts.fact_litigation_case_history.judgment_date IS '裁判日期';
COMMENT ON COLUMN marts.fact_litigation_case_history.outcome IS '诉讼结果';
COMMENT ON COLUMN marts.fact_litigation_case_history.related_reconsideration_id IS '关联复议案件';
COMMENT ON COLUMN marts.fact_litigation_case_history.related_enforcement_id IS '关联执法案件';
COMMENT ON COLUMN marts.fact_litigation_case_history.judicial_suggestion IS '司法建议/检察建议';
COMMENT ON COLUMN marts.fact_litigation_case_history.suggestion_replied_date IS '建议回复日期';
COMMENT ON COLUMN marts.fact_litigation_case_history.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_litigation_case_history.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_litigation_case_history.refreshed_at IS 'when the marts refresh copied it';

CREATE INDEX fact_litigation_case_history_loaded_idx ON marts.fact_litigation_case_history (loaded_at);
SELECT marts.protect_by_division('marts.fact_litigation_case', 'county_code', NULL);
SELECT marts.protect_by_division('marts.fact_litigation_case_history', 'county_code', NULL);

-- complaints: 行政执法投诉举报
CREATE TABLE marts.fact_complaint (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    township_code char(9),
    target_agency_code char(18) not null,
    channel text not null,
    complainant_name_pseudonym char(32),
    complainant_id_pseudonym char(32),
    received_date date not null,
    handled_date date,
    result text not null,
    replied boolean not null,
    summary_pseudonym char(32),
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_complaint_pk PRIMARY KEY (county_code, record_id)
);
COMMENT ON TABLE marts.fact_complaint IS '行政执法投诉举报: current version of each record (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_complaint.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_complaint.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_complaint.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_complaint.township_code IS '乡镇(街道)代码';
COMMENT ON COLUMN marts.fact_complaint.target_agency_code IS '被投诉单位统一社会信用代码';
COMMENT ON COLUMN marts.fact_complaint.channel IS '投诉渠道';
COMMENT ON COLUMN marts.fact_complaint.complainant_name_pseudonym IS '投诉人姓名 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_complaint.complainant_id_pseudonym IS '投诉人身份证号 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_complaint.received_date IS '收到日期';
COMMENT ON COLUMN marts.fact_complaint.handled_date IS '办结日期';
COMMENT ON COLUMN marts.fact_complaint.result IS '办理结果';
COMMENT ON COLUMN marts.fact_complaint.replied IS '书面答复';
COMMENT ON COLUMN marts.fact_complaint.summary_pseudonym IS '内容摘要 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_complaint.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_complaint.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_complaint.refreshed_at IS 'when the marts refresh copied it';

CREATE TABLE marts.fact_complaint_history (
    record_id varchar(64) not null,
    county_code char(6) not null,
    updated_at timestamptz not null,
    township_code char(9),
    target_agency_code char(18) not null,
    channel text not null,
    complainant_name_pseudonym char(32),
    complainant_id_pseudonym char(32),
    received_date date not null,
    handled_date date,
    result text not null,
    replied boolean not null,
    summary_pseudonym char(32),
    row_hash text not null,
    loaded_at timestamptz not null,
    refreshed_at timestamptz not null default now(),
    CONSTRAINT fact_complaint_history_pk PRIMARY KEY (county_code, record_id, updated_at, row_hash)
);
COMMENT ON TABLE marts.fact_complaint_history IS '行政执法投诉举报: every version received (personal data pseudonymized)';
COMMENT ON COLUMN marts.fact_complaint_history.record_id IS '记录标识';
COMMENT ON COLUMN marts.fact_complaint_history.county_code IS '报送县级区划代码';
COMMENT ON COLUMN marts.fact_complaint_history.updated_at IS '更新时间';
COMMENT ON COLUMN marts.fact_complaint_history.township_code IS '乡镇(街道)代码';
COMMENT ON COLUMN marts.fact_complaint_history.target_agency_code IS '被投诉单位统一社会信用代码';
COMMENT ON COLUMN marts.fact_complaint_history.channel IS '投诉渠道';
COMMENT ON COLUMN marts.fact_complaint_history.complainant_name_pseudonym IS '投诉人姓名 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_complaint_history.complainant_id_pseudonym IS '投诉人身份证号 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_complaint_history.received_date IS '收到日期';
COMMENT ON COLUMN marts.fact_complaint_history.handled_date IS '办结日期';
COMMENT ON COLUMN marts.fact_complaint_history.result IS '办理结果';
COMMENT ON COLUMN marts.fact_complaint_history.replied IS '书面答复';
COMMENT ON COLUMN marts.fact_complaint_history.summary_pseudonym IS '内容摘要 (假名化): HMAC-SHA256 pseudonym of the value, 128 bits hex';
COMMENT ON COLUMN marts.fact_complaint_history.row_hash IS 'md5 of the record''s contract fields (as in core)';
COMMENT ON COLUMN marts.fact_complaint_history.loaded_at IS 'when this version reached core';
COMMENT ON COLUMN marts.fact_complaint_history.refreshed_at IS 'when the marts refresh copied it';

CREATE INDEX fact_complaint_township_idx ON marts.fact_complaint (township_code);
CREATE INDEX fact_complaint_history_loaded_idx ON marts.fact_complaint_history (loaded_at);
SELECT marts.protect_by_division('marts.fact_complaint', 'county_code', 'township_code');
SELECT marts.protect_by_division('marts.fact_complaint_history', 'county_code', 'township_code');
