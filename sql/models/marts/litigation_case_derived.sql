-- marts.litigation_case_derived: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_contribution_litigation.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.litigation_case_derived WITH (security_invoker = true) AS
SELECT f.*,
       (f.outcome <> 'pending' AND f.judgment_date IS NOT NULL) AS is_concluded,
       s.start AS suggestion_from,
       s.start + 60 AS suggestion_due_date,
       (f.suggestion_replied_date <= s.start + 60) AS suggestion_replied_on_time
FROM marts.fact_litigation_case f
CROSS JOIN LATERAL (
    SELECT CASE WHEN f.judicial_suggestion THEN coalesce(f.judgment_date, f.hearing_date, f.filed_date) END AS start) s;
COMMENT ON VIEW marts.litigation_case_derived IS
    'Lawsuits: concluded = outcome not pending with a judgment date; a judicial suggestion is due 60 days after the '
    'judgment (else the hearing, else the filing: the contract carries no date of the suggestion itself)';
SELECT marts.expose_view('marts.litigation_case_derived');
