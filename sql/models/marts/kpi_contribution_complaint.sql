-- marts.kpi_contribution_complaint: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_complaint.py. Until this file: V501__complaint_period.sql.
-- The measures this view defines: the one home of their metadata (supervision.marts.kpis reads
-- this block; docs/kpis.md is generated from it). Each measure's SQL is its row of the VALUES below.
/* kpis:
- kpi: complaints_received
  name_zh: 投诉举报收件数
  name_en: Complaints received
  unit: count
  period_by: received_date
  numerator: complaints received in the period
- kpi: complaints_handled
  name_zh: 投诉举报办结数
  name_en: Complaints handled
  unit: count
  period_by: handled_date
  numerator: complaints handled in the period
- kpi: complaint_on_time_rate
  name_zh: 投诉举报按期办结率
  name_en: Complaints handled on time
  unit: ratio
  period_by: handled_date, else due_date
  numerator: complaints handled within 60 days of receipt
  denominator: complaints handled in the period (on time or late), and complaints still open whose 60 days ran out in
    the period (overdue, never on time); withdrawn complaints never handled are left out
*/
CREATE OR REPLACE VIEW marts.kpi_contribution_complaint WITH (security_invoker = true) AS
SELECT k.kpi, 'complaints'::text AS record_type, c.county_code, c.township_key AS township_code, c.record_id,
       k.period_date, k.numerator, k.denominator
FROM marts.complaint_derived c
CROSS JOIN marts.refresh_state r
CROSS JOIN LATERAL (VALUES
    ('complaints_received', c.received_date, 1::numeric, NULL::numeric),
    ('complaints_handled', c.handled_date, 1, NULL),
    ('complaint_on_time_rate',
     CASE WHEN c.withdrawn_unhandled THEN NULL
          WHEN c.handled_date IS NOT NULL THEN c.handled_date
          WHEN c.due_date < r.as_of_date THEN c.due_date END,
     coalesce(c.handled_on_time, false)::int, 1)
) k(kpi, period_date, numerator, denominator)
WHERE k.period_date IS NOT NULL;
SELECT marts.expose_view('marts.kpi_contribution_complaint');
