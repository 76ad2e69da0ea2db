-- marts.complaint_detail: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_complaint.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.complaint_detail WITH (security_invoker = true) AS
SELECT c.*, dv.township_name, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name,
       a.agency_name AS target_agency_name
FROM marts.complaint_derived c
LEFT JOIN marts.dim_division dv ON dv.division_code = c.township_key
LEFT JOIN marts.dim_agency a ON a.county_code = c.county_code AND a.agency_code = c.target_agency_code;
COMMENT ON VIEW marts.complaint_detail IS '投诉举报明细: complaints, due dates, division and agency names';
SELECT marts.expose_view('marts.complaint_detail');
