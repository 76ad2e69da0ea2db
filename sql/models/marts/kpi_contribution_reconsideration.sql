-- marts.kpi_contribution_reconsideration: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_reconsideration.py. Until this file: V103__marts_kpis.sql.
-- The measures this view defines: the one home of their metadata (supervision.marts.kpis reads
-- this block; docs/kpis.md is generated from it). Each measure's SQL is its row of the VALUES below.
/* kpis:
- kpi: reconsideration_received
  name_zh: 行政复议收案数
  name_en: Reconsideration applications
  unit: count
  period_by: received_date
  numerator: applications received in the period
- kpi: reconsideration_decided
  name_zh: 行政复议审结数
  name_en: Reconsideration cases decided
  unit: count
  period_by: decided_date
  numerator: cases decided in the period (outcome not pending, decided_date set)
- kpi: reconsideration_correction_rate
  name_zh: 行政复议直接纠错率
  name_en: Reconsideration correction rate
  unit: ratio
  period_by: decided_date
  numerator: decided cases with outcome revoked, altered, confirmed_illegal, ordered_performance or confirmed_invalid
  denominator: cases decided in the period (outcome not pending, decided_date set)
- kpi: reconsideration_on_time_rate
  name_zh: 行政复议按期审结率
  name_en: Reconsideration decided on time
  unit: ratio
  period_by: decided_date
  numerator: 'decided cases with decided_date <= deadline: accepted_date (else received_date) + 60 days (30 for the simplified
    procedure), +30 when extended, moved to the next working day if it falls on a rest day'
  denominator: cases decided in the period (outcome not pending, decided_date set)
*/
CREATE OR REPLACE VIEW marts.kpi_contribution_reconsideration WITH (security_invoker = true) AS
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
SELECT marts.expose_view('marts.kpi_contribution_reconsideration');
