-- marts.kpi_vs_target: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_vs_target.py. Until this file: V500__portal_access.sql.
CREATE OR REPLACE VIEW marts.kpi_vs_target WITH (security_invoker = true) AS
SELECT k.*, t.comparator, t.target, t.target_label, t.source AS target_source,
       CASE WHEN t.target IS NULL OR k.denominator IS NULL OR k.denominator = 0 THEN NULL
            WHEN t.comparator = '>=' THEN k.numerator >= t.target * k.denominator
            ELSE k.numerator <= t.target * k.denominator END AS target_met
FROM marts.kpi k
LEFT JOIN LATERAL (
    SELECT x.comparator, x.target, x.target_label, x.source FROM marts.kpi_target x
    WHERE x.kpi = k.kpi AND x.scope_code IN ('', k.province_code, k.city_code)
    ORDER BY length(x.scope_code) DESC LIMIT 1) t ON true;
COMMENT ON VIEW marts.kpi_vs_target IS
    '指标与目标: marts.kpi with the applicable target (the city''s, else the province''s, else the default) and '
    'target_met (达标) compared on numerator and denominator; NULL without a target or without cases';
SELECT marts.expose_view('marts.kpi_vs_target');
