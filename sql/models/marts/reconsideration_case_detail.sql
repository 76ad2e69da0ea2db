-- marts.reconsideration_case_detail: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_reconsideration.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.reconsideration_case_detail WITH (security_invoker = true) AS
SELECT r.*, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name
FROM marts.reconsideration_case_derived r LEFT JOIN marts.dim_division dv ON dv.division_code = r.county_code;
COMMENT ON VIEW marts.reconsideration_case_detail IS '行政复议案件明细: cases, deadlines and division names';
SELECT marts.expose_view('marts.reconsideration_case_detail');
