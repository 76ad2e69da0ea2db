-- marts.kpi_contribution_enforcement: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_enforcement.py. Until this file: V103__marts_kpis.sql.
-- The measures this view defines: the one home of their metadata (supervision.marts.kpis reads
-- this block; docs/kpis.md is generated from it). Each measure's SQL is its row of the VALUES below.
/* kpis:
- kpi: enforcement_acts
  name_zh: 行政执法行为数
  name_en: Enforcement acts
  unit: count
  period_by: filed_date
  numerator: enforcement acts filed in the period (any status)
- kpi: enforcement_acts.action.{value}
  family: enforcement_acts.action
  each: action_type
  name_zh: '行政执法行为数: {zh}'
  name_en: 'Enforcement acts: {value}'
  unit: count
  period_by: filed_date
  numerator: acts with action_type {value} filed in the period
- kpi: enforcement_acts.domain.{value}
  family: enforcement_acts.domain
  each: domain
  name_zh: '行政执法行为数: {zh}领域'
  name_en: 'Enforcement acts: {value}'
  unit: count
  period_by: filed_date
  numerator: acts in domain {value} filed in the period
- kpi: full_process_record_rate
  name_zh: 全过程记录率
  name_en: Full-process recording rate
  unit: ratio
  period_by: filed_date
  numerator: acts with full_process_recorded
  denominator: enforcement acts filed in the period
- kpi: publicity_rate
  name_zh: 执法决定公示率(按期)
  name_en: Decisions publicized on time
  unit: ratio
  period_by: publicity_due_date
  numerator: decisions publicized on or before their deadline (7 working days after decided_date for licensing and penalty,
    20 for other decisions)
  denominator: decisions (not withdrawn) whose publicity deadline falls in the period, counted once publicized or once
    the deadline has passed (before as_of_date)
- kpi: legal_review_rate
  name_zh: 重大执法决定法制审核率
  name_en: Legal review of major decisions
  unit: ratio
  period_by: decided_date
  numerator: decided major decisions with legal_review_done
  denominator: major decisions (is_major, not withdrawn) decided in the period, including those reported without legal
    review and quarantined for it
- kpi: penalty_decisions
  name_zh: 行政处罚决定数
  name_en: Penalty decisions
  unit: count
  period_by: decided_date
  numerator: penalty decisions (action_type penalty, not withdrawn) by decided_date
- kpi: fine_amount
  name_zh: 罚款金额(元)
  name_en: Fines (yuan)
  unit: yuan
  period_by: decided_date
  numerator: sum of fine_amount of penalty decisions (action_type penalty, not withdrawn) by decided_date
- kpi: confiscated_amount
  name_zh: 没收金额(元)
  name_en: Confiscations (yuan)
  unit: yuan
  period_by: decided_date
  numerator: sum of confiscated_amount of penalty decisions (action_type penalty, not withdrawn) by decided_date
*/
CREATE OR REPLACE VIEW marts.kpi_contribution_enforcement WITH (security_invoker = true) AS
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
SELECT marts.expose_view('marts.kpi_contribution_enforcement');
