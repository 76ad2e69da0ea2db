-- marts.enforcement_case_derived: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_enforcement.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.enforcement_case_derived WITH (security_invoker = true) AS
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
SELECT marts.expose_view('marts.enforcement_case_derived');
