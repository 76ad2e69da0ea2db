-- marts.watch_major_without_review: a model, re-deployed after the migrations (supervision.warehouse.models, sql/README.md).
-- Tested by tests/integration/marts/models/test_watchlist.py. Until this file: V104__marts_watchlists.sql.
CREATE OR REPLACE VIEW marts.watch_major_without_review WITH (security_invoker = true) AS
SELECT v.county_code, dv.county_name, v.township_key AS township_code, dv.township_name, dv.city_code,
       dv.province_code, v.record_id, v.case_number, v.agency_code, v.agency_name, v.action_type, v.decided_date,
       'quarantine'::text AS reported_as, v.business_date, v.source_file,
       r.as_of_date - v.decided_date AS days_overdue, r.as_of_date
FROM marts.fact_legal_review_violation v
LEFT JOIN marts.dim_division dv ON dv.division_code = v.township_key
CROSS JOIN marts.refresh_state r
UNION ALL
SELECT e.county_code, e.county_name, e.township_key, e.township_name, e.city_code, e.province_code, e.record_id,
       e.case_number, e.agency_code, e.agency_name, e.action_type, e.decided_date, 'warehouse', NULL, NULL,
       r.as_of_date - e.decided_date, r.as_of_date
FROM marts.enforcement_case_detail e CROSS JOIN marts.refresh_state r
WHERE e.is_major AND e.decided_date IS NOT NULL AND e.status <> 'withdrawn' AND NOT e.legal_review_done
  AND NOT e.legal_review_violation_reported;
COMMENT ON VIEW marts.watch_major_without_review IS
    '重大执法决定未经法制审核: decided major decisions without legal review; days_overdue counts from the decision';
SELECT marts.expose_view('marts.watch_major_without_review');
