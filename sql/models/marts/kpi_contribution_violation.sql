-- marts.kpi_contribution_violation: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_enforcement.py. Until this file: V103__marts_kpis.sql.
-- Adds to legal_review_rate (declared in kpi_contribution_enforcement.sql) the decided major decisions that
-- were quarantined for want of legal review: each counts in the denominator, never in the numerator.
CREATE OR REPLACE VIEW marts.kpi_contribution_violation WITH (security_invoker = true) AS
SELECT 'legal_review_rate'::text AS kpi, 'enforcement_cases'::text AS record_type, v.county_code,
       v.township_key AS township_code, v.record_id, v.decided_date AS period_date, 0::numeric AS numerator,
       1::numeric AS denominator
FROM marts.fact_legal_review_violation v
WHERE v.decided_date IS NOT NULL;
SELECT marts.expose_view('marts.kpi_contribution_violation');
