-- marts.kpi: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.kpi WITH (security_invoker = true) AS
SELECT v.level, v.division_code, d.name AS division_name, v.period_type, v.period_start, v.kpi,
       v.numerator, v.denominator,
       CASE WHEN v.denominator IS NULL THEN v.numerator ELSE round(v.numerator / nullif(v.denominator, 0), 4) END AS value,
       k.name_zh AS kpi_name, k.unit, d.parent_code, d.county_code, d.city_code, d.province_code, r.as_of_date
FROM marts.kpi_value v
LEFT JOIN marts.kpi_definition k ON k.kpi = v.kpi
LEFT JOIN marts.dim_division d ON d.division_code = v.division_code
CROSS JOIN marts.refresh_state r;
COMMENT ON VIEW marts.kpi IS
    '监督指标 (long format): KPI x for division D in period P = one row (level, division_code, division_name, '
    'period_type, period_start, kpi, numerator, denominator, value); value = numerator / denominator for ratios, '
    'the amount for counts and sums. See docs/kpis.md';
SELECT marts.expose_view('marts.kpi');
