-- Supervision measures (issue 5): case-level detail views with the deadlines the measures need, one row per
-- record and measure (marts.kpi_case: the definitions, in SQL), the materialized figures (marts.kpi_value) at
-- every level and period, and the long-format view supervisors query (marts.kpi). See docs/kpis.md.

-- Decided major decisions reported WITHOUT legal review (法制审核). The contract rejects such rows, so they
-- reach the warehouse only as quarantined rows; the refresh copies the otherwise valid ones here (no personal
-- data) so that the watchlist and the 法制审核 rate can count them.
CREATE TABLE marts.fact_legal_review_violation (
    county_code   char(6) NOT NULL,
    record_id     varchar(64) NOT NULL,
    township_code char(9),
    township_key  text NOT NULL,
    case_number   text,
    agency_code   text,
    agency_name   text,
    action_type   text,
    domain        text,
    filed_date    date,
    decided_date  date,
    updated_at    timestamptz,
    business_date date NOT NULL,
    source_file   text,
    submission_id bigint NOT NULL,
    quarantine_id bigint NOT NULL,
    PRIMARY KEY (county_code, record_id)
);
COMMENT ON TABLE marts.fact_legal_review_violation IS
    '重大执法决定未经法制审核: decided major decisions a county reported without legal review (quarantined by rule '
    'major_decision_needs_legal_review, not corrected since); no personal data';
SELECT marts.protect_by_division('marts.fact_legal_review_violation', 'county_code', 'township_code');

-- Derived views: the facts with the deadlines of domain.md (one definition, used by the measures, the
-- drill-down and the watchlists). *_detail adds the division names.
CREATE VIEW marts.enforcement_case_derived WITH (security_invoker = true) AS
SELECT f.*,
       coalesce(f.township_code::text, f.county_code || '999') AS township_key,
       w.limit_days AS publicity_limit_working_days,
       due.date AS publicity_due_date,
       (f.publicized_date <= due.date) AS publicized_on_time,
       (v.record_id IS NOT NULL) AS legal_review_violation_reported
FROM marts.fact_enforcement_case f
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.decided_date IS NULL OR f.status = 'withdrawn' THEN NULL
                WHEN f.action_type IN ('licensing', 'penalty') THEN 7 ELSE 20 END AS limit_days) w
LEFT JOIN marts.dim_date d0 ON d0.date = f.decided_date
LEFT JOIN marts.dim_date due ON due.is_working_day AND due.working_day_seq = d0.working_day_seq + w.limit_days
LEFT JOIN marts.fact_legal_review_violation v ON v.county_code = f.county_code AND v.record_id = f.record_id;
COMMENT ON VIEW marts.enforcement_case_derived IS
    'Enforcement acts with the 公示 deadline: 7 working days after the decision for licensing and penalty, 20 for '
    'other decisions (withdrawn acts have none)';

CREATE VIEW marts.reconsideration_case_derived WITH (security_invoker = true) AS
SELECT f.*,
       dl.days AS deadline_days,
       coalesce(f.accepted_date, f.received_date) AS deadline_from,
       coalesce(dn.next_working_day, dl.nominal) AS deadline_date,
       (f.outcome <> 'pending' AND f.decided_date IS NOT NULL) AS is_decided,
       (f.decided_date <= coalesce(dn.next_working_day, dl.nominal)) AS decided_on_time,
       (f.outcome IN ('revoked', 'altered', 'confirmed_illegal', 'ordered_performance', 'confirmed_invalid'))
           AS is_corrected
FROM marts.fact_reconsideration_case f
CROSS JOIN LATERAL (
    SELECT x.days, coalesce(f.accepted_date, f.received_date) + x.days AS nominal
    FROM (SELECT CASE WHEN f.procedure = 'simplified' THEN 30 ELSE 60 END
                 + CASE WHEN f.extended THEN 30 ELSE 0 END AS days) x) dl
LEFT JOIN marts.dim_date dn ON dn.date = dl.nominal;
COMMENT ON VIEW marts.reconsideration_case_derived IS
    'Reconsideration cases with their deadline: accepted (else received) + 60 days (30 simplified, +30 extended), '
    'moved to the next working day when it falls on a rest day';

CREATE VIEW marts.litigation_case_derived WITH (security_invoker = true) AS
SELECT f.*,
       (f.outcome <> 'pending' AND f.judgment_date IS NOT NULL) AS is_concluded,
       s.start AS suggestion_from,
       s.start + 60 AS suggestion_due_date,
       (f.suggestion_replied_date <= s.start + 60) AS suggestion_replied_on_time
FROM marts.fact_litigation_case f
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.judicial_suggestion THEN coalesce(f.judgment_date, f.hearing_date, f.filed_date) END AS start) s;
COMMENT ON VIEW marts.litigation_case_derived IS
    'Lawsuits: concluded = outcome not pending with a judgment date; a judicial suggestion is due 60 days after the '
    'judgment (else the hearing, else the filing: the contract carries no date of the suggestion itself)';

CREATE VIEW marts.complaint_derived WITH (security_invoker = true) AS
SELECT f.*,
       coalesce(f.township_code::text, f.county_code || '999') AS township_key,
       f.received_date + 60 AS due_date,
       (f.handled_date <= f.received_date + 60) AS handled_on_time,
       (f.handled_date IS NULL AND f.result = 'withdrawn') AS withdrawn_unhandled
FROM marts.fact_complaint f;
COMMENT ON VIEW marts.complaint_derived IS 'Complaints: due 60 days after receipt';

CREATE VIEW marts.enforcement_case_detail WITH (security_invoker = true) AS
SELECT e.*, dv.township_name, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name
FROM marts.enforcement_case_derived e LEFT JOIN marts.dim_division dv ON dv.division_code = e.township_key;
COMMENT ON VIEW marts.enforcement_case_detail IS '行政执法案件明细: enforcement acts, deadlines and division names';

CREATE VIEW marts.reconsideration_case_detail WITH (security_invoker = true) AS
SELECT r.*, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name
FROM marts.reconsideration_case_derived r LEFT JOIN marts.dim_division dv ON dv.division_code = r.county_code;
COMMENT ON VIEW marts.reconsideration_case_detail IS '行政复议案件明细: cases, deadlines and division names';

CREATE VIEW marts.litigation_case_detail WITH (security_invoker = true) AS
SELECT l.*, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name
FROM marts.litigation_case_derived l LEFT JOIN marts.dim_division dv ON dv.division_code = l.county_code;
COMMENT ON VIEW marts.litigation_case_detail IS '行政诉讼案件明细: lawsuits, deadlines and division names';

CREATE VIEW marts.complaint_detail WITH (security_invoker = true) AS
SELECT c.*, dv.township_name, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name,
       a.agency_name AS target_agency_name
FROM marts.complaint_derived c
LEFT JOIN marts.dim_division dv ON dv.division_code = c.township_key
LEFT JOIN marts.dim_agency a ON a.county_code = c.county_code AND a.agency_code = c.target_agency_code;
COMMENT ON VIEW marts.complaint_detail IS '投诉举报明细: complaints, due dates, division and agency names';

-- One row per record and measure: the definitions of every measure (docs/kpis.md quotes them). numerator and
-- denominator are the record's contribution; period_date puts it in a day (and so a month and a year).
-- Deadline measures count a record once its outcome is known: done, or the deadline passed before as_of_date.
-- township_code: the record's township, '<county>999' when it names none, NULL for record types without one.
-- One view per record type (the refresh maintains the figures record by record through them), and their union.
CREATE VIEW marts.kpi_contribution_enforcement WITH (security_invoker = true) AS
SELECT k.kpi, 'enforcement_cases'::text AS record_type, e.county_code, e.township_key AS township_code, e.record_id,
       k.period_date, k.numerator, k.denominator
FROM marts.enforcement_case_derived e
CROSS JOIN marts.refresh_state r
CROSS JOIN LATERAL (VALUES
    ('enforcement_acts', e.filed_date, 1::numeric, NULL::numeric),
    ('enforcement_acts.action.' || e.action_type, e.filed_date, 1, NULL),
    ('enforcement_acts.domain.' || e.domain, e.filed_date, 1, NULL),
    ('full_process_record_rate', e.filed_date, e.full_process_recorded::int, 1),
    ('publicity_rate',
     CASE WHEN e.publicized_date IS NOT NULL OR e.publicity_due_date < r.as_of_date THEN e.publicity_due_date END,
     coalesce(e.publicized_on_time, false)::int, 1),
    ('legal_review_rate',
     CASE WHEN e.is_major AND e.status <> 'withdrawn' AND NOT e.legal_review_violation_reported THEN e.decided_date END,
     e.legal_review_done::int, 1),
    ('penalty_decisions', CASE WHEN e.action_type = 'penalty' AND e.status <> 'withdrawn' THEN e.decided_date END,
     1, NULL),
    ('fine_amount', CASE WHEN e.action_type = 'penalty' AND e.status <> 'withdrawn' THEN e.decided_date END,
     coalesce(e.fine_amount, 0), NULL),
    ('confiscated_amount', CASE WHEN e.action_type = 'penalty' AND e.status <> 'withdrawn' THEN e.decided_date END,
     coalesce(e.confiscated_amount, 0), NULL)
) k(kpi, period_date, numerator, denominator)
WHERE k.period_date IS NOT NULL;

CREATE VIEW marts.kpi_contribution_violation WITH (security_invoker = true) AS
SELECT 'legal_review_rate'::text AS kpi, 'enforcement_cases'::text AS record_type, v.county_code,
       v.township_key AS township_code, v.record_id, v.decided_date AS period_date, 0::numeric AS numerator,
       1::numeric AS denominator
FROM marts.fact_legal_review_violation v
WHERE v.decided_date IS NOT NULL;

CREATE VIEW marts.kpi_contribution_reconsideration WITH (security_invoker = true) AS
SELECT k.kpi, 'reconsideration_cases'::text AS record_type, c.county_code, NULL::text AS township_code, c.record_id,
       k.period_date, k.numerator, k.denominator
FROM marts.reconsideration_case_derived c
CROSS JOIN LATERAL (VALUES
    ('reconsideration_received', c.received_date, 1::numeric, NULL::numeric),
    ('reconsideration_decided', CASE WHEN c.is_decided THEN c.decided_date END, 1, NULL),
    ('reconsideration_correction_rate', CASE WHEN c.is_decided THEN c.decided_date END, c.is_corrected::int, 1),
    ('reconsideration_on_time_rate', CASE WHEN c.is_decided THEN c.decided_date END,
     coalesce(c.decided_on_time, false)::int, 1)
) k(kpi, period_date, numerator, denominator)
WHERE k.period_date IS NOT NULL;

CREATE VIEW marts.kpi_contribution_litigation WITH (security_invoker = true) AS
SELECT k.kpi, 'litigation_cases'::text AS record_type, l.county_code, NULL::text AS township_code, l.record_id,
       k.period_date, k.numerator, k.denominator
FROM marts.litigation_case_derived l
CROSS JOIN marts.refresh_state r
CROSS JOIN LATERAL (VALUES
    ('litigation_filed', l.filed_date, 1::numeric, NULL::numeric),
    ('litigation_concluded', CASE WHEN l.is_concluded THEN l.judgment_date END, 1, NULL),
    ('litigation_loss_rate', CASE WHEN l.is_concluded THEN l.judgment_date END, (l.outcome = 'lost')::int, 1),
    ('head_appearance_rate', l.hearing_date, l.head_appeared::int, 1),
    ('head_appearance_rate_required', CASE WHEN l.head_appearance_required THEN l.hearing_date END,
     l.head_appeared::int, 1),
    ('judicial_suggestion_reply_rate',
     CASE WHEN l.suggestion_replied_date IS NOT NULL OR l.suggestion_due_date < r.as_of_date
          THEN l.suggestion_due_date END,
     coalesce(l.suggestion_replied_on_time, false)::int, 1)
) k(kpi, period_date, numerator, denominator)
WHERE k.period_date IS NOT NULL;

CREATE VIEW marts.kpi_contribution_complaint WITH (security_invoker = true) AS
SELECT k.kpi, 'complaints'::text AS record_type, c.county_code, c.township_key AS township_code, c.record_id,
       k.period_date, k.numerator, k.denominator
FROM marts.complaint_derived c
CROSS JOIN marts.refresh_state r
CROSS JOIN LATERAL (VALUES
    ('complaints_received', c.received_date, 1::numeric, NULL::numeric),
    ('complaints_handled', c.handled_date, 1, NULL),
    ('complaint_on_time_rate',
     CASE WHEN NOT c.withdrawn_unhandled AND (c.handled_date IS NOT NULL OR c.due_date < r.as_of_date)
          THEN c.due_date END,
     coalesce(c.handled_on_time, false)::int, 1)
) k(kpi, period_date, numerator, denominator)
WHERE k.period_date IS NOT NULL;

CREATE VIEW marts.kpi_contribution WITH (security_invoker = true) AS
SELECT * FROM marts.kpi_contribution_enforcement
UNION ALL SELECT * FROM marts.kpi_contribution_violation
UNION ALL SELECT * FROM marts.kpi_contribution_reconsideration
UNION ALL SELECT * FROM marts.kpi_contribution_litigation
UNION ALL SELECT * FROM marts.kpi_contribution_complaint;
COMMENT ON VIEW marts.kpi_contribution IS
    '指标口径: one row per record and measure with its contribution to the numerator and denominator; the '
    'definition of every measure (union of kpi_contribution_<record type>)';

-- Drill-down: the contributions with the record's agency, case number and division names.
CREATE VIEW marts.kpi_case WITH (security_invoker = true) AS
SELECT c.kpi, c.record_type, c.county_code, c.township_code, dv.county_name, dv.township_name, dv.city_code,
       dv.city_name, dv.province_code, c.record_id, coalesce(e.case_number, r.case_number, l.court_case_number)::text
           AS case_number,
       coalesce(e.agency_code, r.respondent_agency_code, l.defendant_agency_code, m.target_agency_code)::text
           AS agency_code,
       coalesce(e.agency_name, r.respondent_agency_name, l.defendant_agency_name, a.agency_name, v.agency_name)::text
           AS agency_name,
       c.period_date, c.numerator, c.denominator
FROM marts.kpi_contribution c
LEFT JOIN marts.dim_division dv ON dv.division_code = coalesce(c.township_code, c.county_code::text)
LEFT JOIN marts.fact_enforcement_case e ON c.record_type = 'enforcement_cases' AND e.county_code = c.county_code
     AND e.record_id = c.record_id
LEFT JOIN marts.fact_legal_review_violation v ON c.record_type = 'enforcement_cases' AND e.record_id IS NULL
     AND v.county_code = c.county_code AND v.record_id = c.record_id
LEFT JOIN marts.fact_reconsideration_case r ON c.record_type = 'reconsideration_cases'
     AND r.county_code = c.county_code AND r.record_id = c.record_id
LEFT JOIN marts.fact_litigation_case l ON c.record_type = 'litigation_cases' AND l.county_code = c.county_code
     AND l.record_id = c.record_id
LEFT JOIN marts.fact_complaint m ON c.record_type = 'complaints' AND m.county_code = c.county_code
     AND m.record_id = c.record_id
LEFT JOIN marts.dim_agency a ON a.county_code = m.county_code AND a.agency_code = m.target_agency_code;
COMMENT ON VIEW marts.kpi_case IS
    '指标明细: the records behind every figure (kpi_contribution with case number, agency and division names)';

-- The measures supervisors can ask for (filled by the refresh from supervision.marts.kpis).
CREATE TABLE marts.kpi_definition (
    kpi           text PRIMARY KEY,
    family        text NOT NULL,
    name_zh       text NOT NULL,
    name_en       text NOT NULL,
    unit          text NOT NULL CHECK (unit IN ('ratio', 'count', 'yuan')),
    record_type   text NOT NULL,
    period_by     text NOT NULL,
    numerator     text NOT NULL,
    denominator   text,
    township_level boolean NOT NULL,
    sort          int NOT NULL
);
COMMENT ON TABLE marts.kpi_definition IS '指标定义: every measure of marts.kpi, what it counts and which date puts it in a period';
GRANT SELECT ON marts.kpi_definition TO supervision_supervisor, supervision_pipeline;

-- The figures: sums of marts.kpi_case by division (every level) and period (day, month, year). A level is the sum
-- of its parts: township (incl. the <county>999 bucket) -> county -> city -> province.
CREATE TABLE marts.kpi_value (
    division_code text NOT NULL,
    period_type   text NOT NULL CHECK (period_type IN ('day', 'month', 'year')),
    period_start  date NOT NULL,
    kpi           text NOT NULL,
    level         text NOT NULL CHECK (level IN ('province', 'city', 'county', 'township')),
    county_code   text,
    numerator     numeric NOT NULL,
    denominator   numeric,
    records       bigint NOT NULL,
    PRIMARY KEY (division_code, period_type, period_start, kpi)
);
-- Comparisons across divisions ("every county's rate for 2026") read months and years by measure.
CREATE INDEX kpi_value_kpi_period_idx ON marts.kpi_value (kpi, period_type, period_start, level)
    WHERE period_type <> 'day';
COMMENT ON TABLE marts.kpi_value IS '指标值: numerator and denominator of every measure by division and period (materialized)';
COMMENT ON COLUMN marts.kpi_value.records IS 'Contributions (record x measure) summed in the row; the refresh maintains it';
SELECT marts.protect_by_division_code('marts.kpi_value', 'division_code');

CREATE VIEW marts.kpi WITH (security_invoker = true) AS
SELECT v.level, v.division_code, d.name AS division_name, v.period_type, v.period_start, v.kpi,
       v.numerator, v.denominator,
       CASE WHEN v.denominator IS NULL THEN v.numerator ELSE round(v.numerator / nullif(v.denominator, 0), 4) END AS value,
       k.name_zh AS kpi_name, k.unit, d.parent_code, d.county_code, d.city_code, d.province_code, r.as_of_date
FROM marts.kpi_value v
LEFT JOIN marts.kpi_definition k ON k.kpi = v.kpi
LEFT JOIN marts.dim_division d ON d.division_code = v.division_code
CROSS JOIN marts.refresh_state r;
COMMENT ON VIEW marts.kpi IS
    '监督指标 (long format): KPI x for division D in period P = one row (level, division_code, division_name, '
    'period_type, period_start, kpi, numerator, denominator, value); value = numerator / denominator for ratios, '
    'the amount for counts and sums. See docs/kpis.md';

SELECT marts.expose_view(v) FROM unnest(ARRAY['marts.enforcement_case_derived', 'marts.reconsideration_case_derived',
    'marts.litigation_case_derived', 'marts.complaint_derived', 'marts.enforcement_case_detail',
    'marts.reconsideration_case_detail', 'marts.litigation_case_detail', 'marts.complaint_detail',
    'marts.kpi_contribution_enforcement', 'marts.kpi_contribution_violation', 'marts.kpi_contribution_reconsideration',
    'marts.kpi_contribution_litigation', 'marts.kpi_contribution_complaint', 'marts.kpi_contribution',
    'marts.kpi_case', 'marts.kpi']::regclass[]) v;
