-- marts.complaint_derived: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_complaint.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.complaint_derived WITH (security_invoker = true) AS
SELECT f.*,
       coalesce(f.township_code::text, f.county_code || '999') AS township_key,
       f.received_date + 60 AS due_date,
       (f.handled_date <= f.received_date + 60) AS handled_on_time,
       (f.handled_date IS NULL AND f.result = 'withdrawn') AS withdrawn_unhandled
FROM marts.fact_complaint f;
COMMENT ON VIEW marts.complaint_derived IS 'Complaints: due 60 days after receipt';
SELECT marts.expose_view('marts.complaint_derived');
