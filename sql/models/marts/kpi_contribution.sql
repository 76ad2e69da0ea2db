-- marts.kpi_contribution: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.kpi_contribution WITH (security_invoker = true) AS
SELECT * FROM marts.kpi_contribution_enforcement
UNION ALL SELECT * FROM marts.kpi_contribution_violation
UNION ALL SELECT * FROM marts.kpi_contribution_reconsideration
UNION ALL SELECT * FROM marts.kpi_contribution_litigation
UNION ALL SELECT * FROM marts.kpi_contribution_complaint;
COMMENT ON VIEW marts.kpi_contribution IS
    '指标口径: one row per record and measure with its contribution to the numerator and denominator; the '
    'definition of every measure (union of kpi_contribution_<record type>)';
SELECT marts.expose_view('marts.kpi_contribution');
