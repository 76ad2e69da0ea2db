-- marts.enforcement_case_detail: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_enforcement.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.enforcement_case_detail WITH (security_invoker = true) AS
SELECT e.*, dv.township_name, dv.county_name, dv.city_code, dv.city_name, dv.province_code, dv.province_name
FROM marts.enforcement_case_derived e LEFT JOIN marts.dim_division dv ON dv.division_code = e.township_key;
COMMENT ON VIEW marts.enforcement_case_detail IS '行政执法案件明细: enforcement acts, deadlines and division names';
SELECT marts.expose_view('marts.enforcement_case_detail');
