-- marts.litigation_case_detail: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_litigation.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.litigation_case_detail WITH (security_invoker = true) AS
SELECT l.*, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name
FROM marts.litigation_case_derived l LEFT JOIN marts.dim_division dv ON dv.division_code = l.county_code;
COMMENT ON VIEW marts.litigation_case_detail IS '行政诉讼案件明细: lawsuits, deadlines and division names';
SELECT marts.expose_view('marts.litigation_case_detail');
