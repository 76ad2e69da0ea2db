-- marts.kpi_contribution_litigation: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_litigation.py. Until this file: V103__marts_kpis.sql.
-- The measures this view defines: the one home of their metadata (supervision.marts.kpis reads
-- this block; docs/kpis.md is generated from it). Each measure's SQL is its row of the VALUES below.
/* kpis:
- kpi: litigation_filed
  name_zh: 行政应诉收案数
  name_en: Lawsuits filed
  unit: count
  period_by: filed_date
  numerator: lawsuits filed in the period
- kpi: litigation_concluded
  name_zh: 行政应诉审结数
  name_en: Lawsuits concluded
  unit: count
  period_by: judgment_date
  numerator: cases concluded in the period (outcome not pending; period of judgment_date), all concluded outcomes
- kpi: litigation_loss_rate
  name_zh: 行政诉讼败诉率
  name_en: Litigation loss rate
  unit: ratio
  period_by: judgment_date
  numerator: concluded cases with outcome lost
  denominator: cases concluded in the period (outcome not pending; period of judgment_date), all concluded outcomes
- kpi: head_appearance_rate
  name_zh: 负责人出庭应诉率
  name_en: Head appearance rate
  unit: ratio
  period_by: hearing_date
  numerator: heard cases where the agency head appeared
  denominator: cases heard in the period (hearing_date); the plans demand at least 1/3
- kpi: head_appearance_rate_required
  name_zh: 负责人出庭应诉率(通知出庭)
  name_en: Head appearance where required
  unit: ratio
  period_by: hearing_date
  numerator: heard cases with head_appearance_required where the head appeared
  denominator: cases heard in the period where the court required the head to appear; the plans demand 100%
- kpi: judicial_suggestion_reply_rate
  name_zh: 司法建议按期办复率
  name_en: Judicial suggestions answered on time
  unit: ratio
  period_by: suggestion_due_date
  numerator: suggestions replied within 60 days (suggestion_replied_date <= due)
  denominator: suggestions whose 60 days end in the period (from judgment_date, else hearing_date, else filed_date),
    counted once replied or once the 60 days have passed
*/
CREATE OR REPLACE VIEW marts.kpi_contribution_litigation WITH (security_invoker = true) AS
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
SELECT marts.expose_view('marts.kpi_contribution_litigation');
