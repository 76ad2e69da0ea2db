-- marts.kpi_case: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_kpi_case.py. Until this file: V103__marts_kpis.sql.
CREATE OR REPLACE VIEW marts.kpi_case WITH (security_invoker = true) AS
SELECT c.kpi, c.record_type, c.county_code, c.township_code, dv.county_name, dv.township_name, dv.city_code,
       dv.city_name, dv.province_code, c.record_id, coalesce(e.case_number, r.case_number, l.court_case_number)::text
           AS case_number,
       coalesce(e.agency_code, r.respondent_agency_code, l.defendant_agency_code, m.target_agency_code)::text
           AS agency_code,
       coalesce(e.agency_name, r.respondent_agency_name, l.defendant_agency_name, a.agency_name, v.agency_name)::text
           AS agency_name,
       c.period_date, c.numerator, c.denominator
FROM marts.kpi_contribution c
LEFT JOIN marts.dim_division dv ON dv.division_code = coalesce(c.township_code, c.county_code::text)
LEFT JOIN marts.fact_enforcement_case e ON c.record_type = 'enforcement_cases' AND e.county_code = c.county_code
     AND e.record_id = c.record_id
LEFT JOIN marts.fact_legal_review_violation v ON c.record_type = 'enforcement_cases' AND e.record_id IS NULL
     AND v.county_code = c.county_code AND v.record_id = c.record_id
LEFT JOIN marts.fact_reconsideration_case r ON c.record_type = 'reconsideration_cases'
     AND r.county_code = c.county_code AND r.record_id = c.record_id
LEFT JOIN marts.fact_litigation_case l ON c.record_type = 'litigation_cases' AND l.county_code = c.county_code
     AND l.record_id = c.record_id
LEFT JOIN marts.fact_complaint m ON c.record_type = 'complaints' AND m.county_code = c.county_code
     AND m.record_id = c.record_id
LEFT JOIN marts.dim_agency a ON a.county_code = m.county_code AND a.agency_code = m.target_agency_code;
COMMENT ON VIEW marts.kpi_case IS
    '指标明细: the records behind every figure (kpi_contribution with case number, agency and division names)';
SELECT marts.expose_view('marts.kpi_case');
